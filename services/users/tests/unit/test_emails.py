"""Account emails rendered from their templates: the link to the frontend, escaping, lifetimes."""

from __future__ import annotations

import pytest
from pydantic import HttpUrl

from app.config import Settings
from app.emails import EmailNotifier, OutgoingEmail, duration
from tests.factories import UserFactory

TOKEN = "tok_EN-123abc"


def notifier(**settings: object) -> tuple[EmailNotifier, list[OutgoingEmail]]:
    sent: list[OutgoingEmail] = []
    return EmailNotifier(Settings(environment="test", **settings), sent.append), sent  # type: ignore[arg-type]


@pytest.mark.unit
class TestVerificationEmail:
    def test_links_to_the_frontend_with_the_token_in_the_fragment(self) -> None:
        email_notifier, sent = notifier(frontend_url=HttpUrl("https://app.example.com/accounts/"))
        user = UserFactory.build(email="alice@example.com", username="alice")

        email_notifier.verification(user, TOKEN)

        [email] = sent
        link = f"https://app.example.com/accounts/verify-email#token={TOKEN}"
        assert email.to == "alice@example.com"
        assert email.subject == "Confirm your email address"
        assert link in email.text
        assert f'href="{link}"' in email.html
        assert "alice" in email.text
        assert "24 hours" in email.text
        assert "24 hours" in email.html

    def test_the_html_body_escapes_what_the_user_chose(self) -> None:
        email_notifier, sent = notifier()
        user = UserFactory.build(email='"<b>x</b>"@example.com', username="alice")

        email_notifier.verification(user, TOKEN)

        assert "<b>x</b>" not in sent[0].html
        assert "&lt;b&gt;x&lt;/b&gt;" in sent[0].html
        assert '"<b>x</b>"@example.com' in sent[0].text  # the plain text is not HTML

    def test_the_lifetime_follows_the_setting(self) -> None:
        email_notifier, sent = notifier(verification_token_ttl_seconds=90 * 60)

        email_notifier.verification(UserFactory.build(), TOKEN)

        assert "1 hour:" in sent[0].text


@pytest.mark.unit
class TestEmailChangedNotice:
    def test_goes_to_the_previous_address_and_names_both(self) -> None:
        email_notifier, sent = notifier()
        user = UserFactory.build(email="new@example.com", username="alice")

        email_notifier.email_changed(user, "old@example.com")

        [email] = sent
        assert email.to == "old@example.com"
        assert email.subject == "The email address of your account was changed"
        assert "old@example.com" in email.text
        assert "new@example.com" in email.text

    def test_carries_no_link_at_all(self) -> None:
        email_notifier, sent = notifier(frontend_url=HttpUrl("https://app.example.com"))

        email_notifier.email_changed(UserFactory.build(email="new@example.com"), "old@example.com")

        assert "http" not in sent[0].text
        assert "<a " not in sent[0].html
        assert "app.example.com" not in sent[0].text + sent[0].html


@pytest.mark.unit
class TestPasswordEmails:
    def test_the_reset_link_has_the_token_in_its_fragment_and_its_lifetime(self) -> None:
        email_notifier, sent = notifier(frontend_url=HttpUrl("https://app.example.com"))

        email_notifier.password_reset(UserFactory.build(email="alice@example.com"), TOKEN)

        [email] = sent
        link = f"https://app.example.com/reset-password#token={TOKEN}"
        assert (email.to, email.subject) == ("alice@example.com", "Reset your password")
        assert link in email.text
        assert f'href="{link}"' in email.html
        assert "30 minutes" in email.text

    def test_the_change_notice_has_no_token(self) -> None:
        email_notifier, sent = notifier(frontend_url=HttpUrl("https://app.example.com"))

        email_notifier.password_changed(UserFactory.build(email="alice@example.com"))

        [email] = sent
        assert (email.to, email.subject) == ("alice@example.com", "Your password was changed")
        assert "#token" not in email.text + email.html
        assert "https://app.example.com/forgot-password" in email.text


@pytest.mark.unit
@pytest.mark.parametrize(
    ("seconds", "readable"),
    [
        (60, "1 minute"),
        (119, "1 minute"),
        (30 * 60, "30 minutes"),
        (3599, "59 minutes"),
        (3600, "1 hour"),
        (86400, "24 hours"),
    ],
)
def test_durations_read_as_people_say_them(seconds: int, readable: str) -> None:
    assert duration(seconds) == readable


@pytest.mark.unit
def test_the_frontend_link_has_one_slash_whatever_the_setting() -> None:
    for url in ("https://app.example.com", "https://app.example.com/"):
        assert (
            Settings(frontend_url=HttpUrl(url)).frontend_link("/verify-email") == "https://app.example.com/verify-email"
        )
