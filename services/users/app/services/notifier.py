"""What the account flows tell users by email. The adapter (``app.emails.EmailNotifier``) renders
the messages and sends them after the response; the services only say what happened."""

from __future__ import annotations

from typing import Protocol

from app.models.user import User


class Notifier(Protocol):
    def verification(self, user: User, token: str) -> None:
        """A link that verifies ``user.email`` (sent to that address)."""
        ...

    def password_reset(self, user: User, token: str) -> None:
        """A link that sets a new password (sent to ``user.email``)."""
        ...

    def password_changed(self, user: User) -> None:
        """A notice that the password changed (by the user, or by a reset), with no link in it."""
        ...

    def email_changed(self, user: User, old_email: str) -> None:
        """A notice to the previous address, without any link that could act on the account."""
        ...
