"""Background work run after the response is sent (FastAPI ``BackgroundTasks``).

Routes look ``send_email`` up in this module when they schedule it, so a test can patch
``app.tasks.send_email``.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib

from app.config import get_settings

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
