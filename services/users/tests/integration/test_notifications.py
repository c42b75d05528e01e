"""Background notifications: the seed's patched-task test, and a real email over SMTP."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

import pytest
from httpx import AsyncClient

from app.models.user import User
from tests.support.smtp import RecordingHandler


@pytest.mark.integration
class TestSendNotification:
    async def test_background_task(self, client: AsyncClient, auth_headers: dict[str, str]) -> None:
        """The seed's test: ``app.tasks.send_email`` is patched and must run after the response."""
        task_completed = asyncio.Event()

        async def mock_background_task(*args: Any, **kwargs: Any) -> None:
            task_completed.set()

        with patch("app.tasks.send_email", autospec=True, side_effect=mock_background_task):
            response = await client.post("/api/v1/send-notification", headers=auth_headers)
            assert response.status_code == 200
            await asyncio.wait_for(task_completed.wait(), timeout=1.0)

    async def test_emails_the_caller_through_a_real_smtp_server(
        self, client: AsyncClient, user: User, auth_headers: dict[str, str], mailbox: RecordingHandler
    ) -> None:
        response = await client.post(
            "/api/v1/send-notification",
            json={"subject": "Your order shipped", "message": "It is on its way."},
            headers=auth_headers,
        )

        assert response.status_code == 200
        message = await mailbox.wait_for_message_to(user.email)
        assert message["Subject"] == "Your order shipped"
        assert "It is on its way." in message.get_payload()

    async def test_requires_authentication(self, client: AsyncClient, mailbox: RecordingHandler) -> None:
        response = await client.post("/api/v1/send-notification")

        assert response.status_code == 401
        assert mailbox.messages == []

    @pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@example.com", "", "x" * 201])
    async def test_refuses_a_subject_that_could_inject_headers(
        self, client: AsyncClient, auth_headers: dict[str, str], subject: str
    ) -> None:
        response = await client.post("/api/v1/send-notification", json={"subject": subject}, headers=auth_headers)

        assert response.status_code == 422


@pytest.mark.integration
async def test_send_email_reports_an_unreachable_server_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, closed_port: int
) -> None:
    """The response that scheduled the email is gone: a failure is logged, never raised."""
    from app import tasks  # noqa: PLC0415
    from app.config import get_settings  # noqa: PLC0415

    monkeypatch.setenv("SMTP_PORT", str(closed_port))
    get_settings.cache_clear()
    try:
        delivered = await tasks.send_email("someone@example.com", "Subject", "Body")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    assert delivered is False
    assert "could not send email to someone@example.com" in caplog.text
