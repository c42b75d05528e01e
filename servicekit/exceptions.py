"""The base of every service's domain exceptions: a stable ``code`` and a message, no HTTP.

Each service derives its own base from :class:`DomainError` in its ``app/exceptions.py`` and maps
its exceptions to statuses in one table (:class:`servicekit.errors.DomainErrorTable`).
"""

from __future__ import annotations


class DomainError(Exception):
    """An error a service reports to its callers on purpose.

    ``code`` is the stable, machine-readable code of the error body; ``default_message`` its
    detail unless one is given.
    """

    code = "domain_error"
    default_message = "The request could not be processed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
