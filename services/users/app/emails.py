"""Account emails: rendered from Jinja2 templates (plain text and HTML), with links to the frontend.

A token travels only in the link's fragment (``#token=...``): browsers never send a fragment to
any server, so it stays out of the frontend's access logs and ``Referer`` headers. Nothing here
logs a message or a link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.config import Settings
from app.models.user import User

MINUTE = 60
HOUR = 60 * MINUTE


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str


@lru_cache
def _templates() -> Environment:
    # HTML is escaped (an address or a name cannot add markup); the text bodies are not HTML.
    return Environment(
        loader=PackageLoader("app", "templates/email"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, to: str, subject: str, **context: Any) -> OutgoingEmail:
    """``template``.txt and ``template``.html rendered with ``context``."""
    environment = _templates()
    text = environment.get_template(f"{template}.txt").render(subject=subject, **context)
    html = environment.get_template(f"{template}.html").render(subject=subject, **context)
    return OutgoingEmail(to=to, subject=subject, text=text, html=html)


def duration(seconds: int) -> str:
    """A lifetime as people read it: "24 hours", "1 hour", "30 minutes" (rounded down)."""
    if seconds >= HOUR:
        count, unit = seconds // HOUR, "hour"
    else:
        count, unit = max(1, seconds // MINUTE), "minute"
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


class EmailNotifier:
    """The ``Notifier`` of the services: each email is rendered, then handed to ``dispatch``
    (the request's background tasks, or a job's outbox sent after its commit)."""

    def __init__(self, settings: Settings, dispatch: Callable[[OutgoingEmail], None]) -> None:
        self._settings = settings
        self._dispatch = dispatch

    def verification(self, user: User, token: str) -> None:
        self._dispatch(
            render(
                "verify_email",
                user.email,
                "Confirm your email address",
                username=user.username,
                email=user.email,
                link=self._settings.frontend_link(f"verify-email#token={token}"),
                lifetime=duration(self._settings.verification_token_ttl_seconds),
            )
        )

    def password_reset(self, user: User, token: str) -> None:
        self._dispatch(
            render(
                "reset_password",
                user.email,
                "Reset your password",
                username=user.username,
                link=self._settings.frontend_link(f"reset-password#token={token}"),
                lifetime=duration(self._settings.password_reset_token_ttl_seconds),
            )
        )

    def password_changed(self, user: User) -> None:
        self._dispatch(
            render(
                "password_changed",
                user.email,
                "Your password was changed",
                username=user.username,
                forgot_password=self._settings.frontend_link("forgot-password"),
            )
        )

    def email_changed(self, user: User, old_email: str) -> None:
        # No link at all: whoever reads the old mailbox may no longer be the account's owner.
        self._dispatch(
            render(
                "email_changed",
                old_email,
                "The email address of your account was changed",
                username=user.username,
                old_email=old_email,
                new_email=user.email,
            )
        )
