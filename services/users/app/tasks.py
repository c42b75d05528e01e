"""Background work run after the response is sent (FastAPI ``BackgroundTasks``).

Routes look these functions up in this module when they schedule them, so a test can patch
``app.tasks.send_email``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, get_settings
from app.emails import EmailNotifier, OutgoingEmail
from app.repositories.account_token_repository import AccountTokenRepository
from app.repositories.user_repository import UserRepository
from app.services.password_reset_service import ResetLinkSender

#: Opens a transaction that commits when the block succeeds (``app.database.transaction_scope``).
TransactionOpener = Callable[[], AbstractAsyncContextManager[AsyncSession]]

logger = logging.getLogger(__name__)


async def send_email(to: str, subject: str, body: str, html: str | None = None) -> bool:
    """Send an email through the configured SMTP server: plain text, and ``html`` as its
    alternative when given.

    A failure is logged, not raised: the response that scheduled the email is already sent.
    Returns whether the server accepted the message.
    """
    settings = get_settings()
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError):
        logger.exception("could not send email to %s", to)
        return False
    return True


async def send_password_reset_link(open_transaction: TransactionOpener, settings: Settings, email: str) -> None:
    """The work of a forgot-password request, after its response: in a transaction of its own,
    look the account up and store a reset token; once that is committed, send the link.

    A failure is logged (never the address's account state, never a token), not raised.
    """
    outbox: list[OutgoingEmail] = []
    try:
        async with open_transaction() as session:
            sender = ResetLinkSender(
                UserRepository(session),
                AccountTokenRepository(session),
                EmailNotifier(settings, outbox.append),
                timedelta(seconds=settings.password_reset_token_ttl_seconds),
            )
            await sender.send_reset_link(email)
    except Exception:
        logger.exception("could not prepare a password reset link")
        return
    for message in outbox:
        await send_email(message.to, message.subject, message.text, message.html)
