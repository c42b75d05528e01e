from __future__ import annotations

import unicodedata
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body
from pydantic import AfterValidator, Field

from app import tasks
from app.api.deps import SignedIn
from app.api.errors import error_responses
from app.schemas.auth import MessageResponse
from app.schemas.common import RequestModel, TextValue

router = APIRouter(tags=["notifications"])


def _header_safe(value: str) -> str:
    """No control or line-separator characters, and no RFC 2047 encoded words (which the email
    package may decode into a line break: CVE-2024-6923), so the subject cannot add headers."""
    if "=?" in value or any(unicodedata.category(char)[0] in "CZ" and char != " " for char in value):
        msg = "must be a single line of printable text"
        raise ValueError(msg)
    return value


class NotificationRequest(RequestModel):
    subject: Annotated[TextValue, Field(min_length=1, max_length=200), AfterValidator(_header_safe)] = "Notification"
    message: Annotated[TextValue, Field(min_length=1, max_length=10_000)] = "You have a new notification."


@router.post("/send-notification", responses=error_responses(400, 401, 422))
async def send_notification(
    current_user: SignedIn,
    background_tasks: BackgroundTasks,
    notification: Annotated[NotificationRequest | None, Body()] = None,
) -> MessageResponse:
    """Email the caller after the response is sent (``app.tasks.send_email``)."""
    notification = notification or NotificationRequest()
    background_tasks.add_task(tasks.send_email, current_user.email, notification.subject, notification.message)
    return MessageResponse(detail="Notification scheduled")
