"""Secrets out of log lines: a logging filter that rewrites what a record would print.

Defence in depth: no code of the services logs a password or a token on purpose, but a driver at
DEBUG, a repr of a request, or an exception message can carry one. The filter rewrites the
rendered message, string and nested values of ``extra`` fields and the formatted traceback of
every record before any formatter sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Final

REDACTED: Final = "[REDACTED]"

#: Field names whose values are secrets, wherever they appear (``password=…``, ``"token": …``).
_SECRET_NAME = r"[\w-]*(?:password|passwd|secret|token|authorization|cookie|api[_-]?key)[\w-]*"  # noqa: S105 - a pattern
_SECRET_KEY = re.compile(rf"^{_SECRET_NAME}$", re.IGNORECASE)
_SECRET_HEADER = r"(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key)"  # noqa: S105 - a pattern

# A header as a (name, value) pair of bytes or strings, as in the repr of an ASGI scope.
_HEADER_PAIR = re.compile(rf"""(b?(["']){_SECRET_HEADER}\2,\s*b?(["']))(.*?)(?<!\\)\3""", re.IGNORECASE)
# A header line: ``Authorization: Basic …`` or ``Cookie: a=b; c=d``, to the end of the value.
_HEADER_LINE = re.compile(rf"""(\b{_SECRET_HEADER}["']?\s*[:=]\s*)(?!\[REDACTED\])([^"'\r\n]+)""", re.IGNORECASE)
# A quoted value of a secret field: ``"password": "a b"``, ``'token': '…'``, ``token='…'``.
_QUOTED_FIELD = re.compile(rf"""(\b{_SECRET_NAME}["']?\s*[:=]\s*b?(["']))(.*?)(?<!\\)\2""", re.IGNORECASE)
# An unquoted value of a secret field: ``password=…&``, ``token: …``.
_BARE_FIELD = re.compile(rf"""(\b{_SECRET_NAME}\s*[:=]\s*)(?!\[REDACTED\])([^\s"',;&)}}\]]+)""", re.IGNORECASE)
# Bearer and Basic credentials anywhere.
_SCHEME_CREDENTIALS = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# A JWT (base64url header, payload and signature; the header starts with ``{"``) anywhere.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (_HEADER_PAIR, rf"\1{REDACTED}\3"),
    (_HEADER_LINE, rf"\1{REDACTED}"),
    (_QUOTED_FIELD, rf"\1{REDACTED}\2"),
    (_BARE_FIELD, rf"\1{REDACTED}"),
    (_SCHEME_CREDENTIALS, rf"\1 {REDACTED}"),
    (_JWT, REDACTED),
)

#: What every record has; anything else on a record came from ``extra=``.
_STANDARD_ATTRIBUTES: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_MAX_DEPTH = 4


# A word every pattern above needs (a superset: it may match where no pattern does). Most log
# text has none, and one search is cheaper than six substitutions: every request's access-log
# record passes through here.
_MAYBE_SECRET = re.compile(r"pass|secret|token|authorization|cookie|api[_-]?key|bearer|basic|eyJ", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every secret the patterns recognise replaced by ``[REDACTED]``."""
    if _MAYBE_SECRET.search(text) is None:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(name: str, value: Any, depth: int = 0) -> Any:
    """A logged value with secrets removed: everything under a secret name, secrets in strings."""
    if _SECRET_KEY.match(name):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {key: redact_value(str(key), item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value("", item, depth + 1) for item in value)
    return value


class RedactionFilter(logging.Filter):
    """Rewrites a record in place so that no handler after it can print a secret.

    Install it on the handler (a filter on a logger does not see records of its child loggers).
    """

    _traceback_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self._traceback_formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRIBUTES:
                setattr(record, name, redact_value(name, value))
        return True
