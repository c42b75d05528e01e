"""Emails across real processes: the users service sends them over SMTP to a real server."""

from __future__ import annotations

import io
import re
import smtplib
from email.message import EmailMessage

import pytest

from devtools.mail import local_mail_server, printer
from tests.e2e.flows import Clients, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VERIFICATION_LINK = re.compile(r"/verify-email#token=([A-Za-z0-9_-]+)")


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def send(host: str, port: int, message: EmailMessage) -> None:
    with smtplib.SMTP(host, port) as smtp:
        smtp.send_message(message)


def test_a_registration_emails_a_link_that_verifies_the_account(clients: Clients, mailbox: list[EmailMessage]) -> None:
    account = clients.register_and_login()

    email = wait_for(
        lambda: next((message for message in mailbox if message["To"] == account.email), None),
        within=15.0,
        what=f"the verification email to {account.email}",
    )
    link = VERIFICATION_LINK.search(plain_text(email))
    assert link is not None, plain_text(email)
    verified = clients.users.post("/auth/verify-email", json={"token": link.group(1)})

    assert verified.status_code == 200, verified.text
    assert clients.users.get("/users/me", headers=account.headers).json()["is_verified"] is True


def test_make_runs_mail_server_prints_each_email_as_text() -> None:
    out = io.StringIO()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "users@example.com", "ada@example.com", "Verify"
    message.set_content("Follow https://app.example/verify-email#token=abc\n")
    message.add_alternative("<p>the HTML part</p>", subtype="html")

    with local_mail_server(printer(out)) as settings:
        host, port = settings["SMTP_HOST"], int(settings["SMTP_PORT"])
        send(host, port, message)

    assert out.getvalue() == (
        "\n--- email to ada@example.com: Verify\nFollow https://app.example/verify-email#token=abc\n---\n"
    )
