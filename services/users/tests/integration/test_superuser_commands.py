"""Superusers are made outside any request: ``python -m app.cli create-superuser`` and
``FIRST_SUPERUSER_*`` at start-up. Both commit for real to this worker's database (emptied after)."""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.cli import EXIT_INVALID, EXIT_OK, EXIT_REFUSED, main
from app.models.user import User
from app.utils.password import hash_password, verify_password
from tests.conftest import PASSWORD
from tests.factories import UserFactory, unique_email
from tests.support.auth import login
from tests.support.configured import configured_app
from tests.support.databases import SERVICE_ROOT

OPERATOR_PASSWORD = "Operator-passphrase-9"


async def superusers(engine: AsyncEngine) -> list[User]:
    async with AsyncSession(engine) as session:
        return list((await session.scalars(select(User).where(User.is_superuser).order_by(User.id))).all())


class Terminal(io.StringIO):
    """Standard input that says it is a terminal (the password is prompted, twice)."""

    def isatty(self) -> bool:
        return True


@pytest.mark.integration
class TestCreateSuperuserCommand:
    async def test_a_real_process_creates_a_verified_superuser_who_can_log_in(
        self, test_engine: AsyncEngine, truncate_after_test: None
    ) -> None:
        email = unique_email()

        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "app.cli", "create-superuser", "--email", email, "--username", "operator"],
            cwd=SERVICE_ROOT,
            input=OPERATOR_PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

        assert result.returncode == EXIT_OK, result.stderr
        assert result.stdout == f"superuser {email} created\n"
        assert OPERATOR_PASSWORD not in result.stdout + result.stderr
        [created] = await superusers(test_engine)
        assert (created.email, created.username, created.is_verified) == (email, "operator", True)
        assert verify_password(OPERATOR_PASSWORD, created.hashed_password)

    def test_the_password_is_prompted_twice_on_a_terminal(
        self, truncate_after_test: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        prompts: list[str] = []
        monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or OPERATOR_PASSWORD)

        status = main(["create-superuser", "--email", unique_email()], stdin=Terminal())

        assert status == EXIT_OK
        assert prompts == ["Password: ", "Password again: "]

    def test_two_different_passwords_on_a_terminal_are_refused(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        answers = iter([OPERATOR_PASSWORD, OPERATOR_PASSWORD + "x"])
        monkeypatch.setattr("getpass.getpass", lambda _prompt: next(answers))

        status = main(["create-superuser", "--email", unique_email()], stdin=Terminal())

        assert status == EXIT_INVALID
        assert "the passwords differ" in capsys.readouterr().err

    @pytest.mark.parametrize("password", ["short", "password123"], ids=["too-short", "common"])
    def test_a_password_the_policy_refuses_is_named_never_echoed(
        self, capsys: pytest.CaptureFixture[str], password: str
    ) -> None:
        status = main(["create-superuser", "--email", unique_email()], stdin=io.StringIO(password + "\n"))

        output = capsys.readouterr()
        assert status == EXIT_INVALID
        assert output.err.startswith("refused: password: ")
        assert password not in output.out + output.err

    async def test_an_existing_email_is_refused_without_promote(
        self, test_engine: AsyncEngine, truncate_after_test: None, capsys: pytest.CaptureFixture[str]
    ) -> None:
        async with AsyncSession(test_engine, expire_on_commit=False) as session:
            existing = await UserFactory.create(session)

        status = await asyncio.to_thread(
            main, ["create-superuser", "--email", existing.email], io.StringIO(OPERATOR_PASSWORD)
        )

        assert status == EXIT_REFUSED
        assert "--promote" in capsys.readouterr().err
        assert await superusers(test_engine) == []

    async def test_promote_makes_an_existing_account_a_superuser(
        self, test_engine: AsyncEngine, truncate_after_test: None, capsys: pytest.CaptureFixture[str]
    ) -> None:
        async with AsyncSession(test_engine, expire_on_commit=False) as session:
            existing = await UserFactory.create(session)

        status = await asyncio.to_thread(main, ["create-superuser", "--email", existing.email.upper(), "--promote"])

        assert status == EXIT_OK
        assert capsys.readouterr().out == f"{existing.email} is now a superuser\n"
        assert [user.id for user in await superusers(test_engine)] == [existing.id]

    def test_promote_of_an_unknown_email_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["create-superuser", "--email", unique_email(), "--promote"]) == EXIT_REFUSED
        assert "no account has the email" in capsys.readouterr().err


@pytest.mark.integration
class TestFirstSuperuserAtStartUp:
    async def test_created_when_there_is_none_and_only_once(
        self, test_engine: AsyncEngine, truncate_after_test: None
    ) -> None:
        email = unique_email()
        settings = {"FIRST_SUPERUSER_EMAIL": email, "FIRST_SUPERUSER_PASSWORD": OPERATOR_PASSWORD}

        async with configured_app(**settings) as client:
            logged_in = await login(client, email, OPERATOR_PASSWORD)
        async with configured_app(**settings):
            pass

        assert logged_in.status_code == 200
        [created] = await superusers(test_engine)
        assert (created.email, created.username, created.is_verified) == (email, "admin", True)

    async def test_nothing_when_a_superuser_exists(self, test_engine: AsyncEngine, truncate_after_test: None) -> None:
        async with AsyncSession(test_engine, expire_on_commit=False) as session:
            existing = await UserFactory.create(session, is_superuser=True)

        async with configured_app(FIRST_SUPERUSER_EMAIL=unique_email(), FIRST_SUPERUSER_PASSWORD=OPERATOR_PASSWORD):
            pass

        assert [user.id for user in await superusers(test_engine)] == [existing.id]

    async def test_an_ordinary_account_with_the_email_is_not_promoted(
        self, test_engine: AsyncEngine, truncate_after_test: None, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with AsyncSession(test_engine, expire_on_commit=False) as session:
            squatter = await UserFactory.create(session, hashed_password=hash_password(PASSWORD))

        with caplog.at_level(logging.WARNING, logger="app.cli"):
            async with configured_app(
                FIRST_SUPERUSER_EMAIL=squatter.email, FIRST_SUPERUSER_PASSWORD=OPERATOR_PASSWORD
            ) as client:
                assert (await login(client, squatter.email)).status_code == 200

        assert await superusers(test_engine) == []
        assert "first superuser not created" in caplog.text

    async def test_a_taken_username_is_logged_and_the_service_starts(
        self, test_engine: AsyncEngine, truncate_after_test: None, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with AsyncSession(test_engine, expire_on_commit=False) as session:
            await UserFactory.create(session, username="admin")

        with caplog.at_level(logging.WARNING, logger="app.cli"):
            async with configured_app(FIRST_SUPERUSER_EMAIL=unique_email(), FIRST_SUPERUSER_PASSWORD=OPERATOR_PASSWORD):
                pass

        assert await superusers(test_engine) == []
        assert "its email or username is taken" in caplog.text

    async def test_a_password_the_policy_refuses_stops_the_start_up_without_naming_it(self) -> None:
        with pytest.raises(ValueError, match="password") as refused:
            async with configured_app(FIRST_SUPERUSER_EMAIL=unique_email(), FIRST_SUPERUSER_PASSWORD="password123"):
                pass

        assert "password123" not in str(refused.value)

    async def test_an_email_without_a_password_is_refused_by_the_settings(self) -> None:
        with pytest.raises(ValueError, match="FIRST_SUPERUSER_EMAIL and FIRST_SUPERUSER_PASSWORD"):
            async with configured_app(FIRST_SUPERUSER_EMAIL=unique_email()):
                pass
