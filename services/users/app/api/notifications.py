from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body
from pydantic import Field

from app import tasks
from app.api.deps import CurrentUser
from app.api.errors import error_responses
from app.schemas.auth import MessageResponse
from app.schemas.common import RequestModel

router = APIRouter(tags=["notifications"])


class NotificationRequest(RequestModel):
    # Header-safe subject: no line breaks, so no header injection.
    subject: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\r\n\x00]+$")] = "Notification"
    message: Annotated[str, Field(min_length=1, max_length=10_000, pattern=r"^[^\x00]+$")] = (
        "You have a new notification."
    )


@router.post("/send-notification", responses=error_responses(401, 422))
async def send_notification(
    current_user: CurrentUser,
    background_tasks: BackgroundTasks,
    notification: Annotated[NotificationRequest | None, Body()] = None,
) -> MessageResponse:
    """Email the caller after the response is sent (``app.tasks.send_email``)."""
    notification = notification or NotificationRequest()
    background_tasks.add_task(tasks.send_email, current_user.email, notification.subject, notification.message)
    return MessageResponse(detail="Notification scheduled")
