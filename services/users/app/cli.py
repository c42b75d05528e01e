"""Administration from outside any request: ``python -m app.cli create-superuser`` (run from
``services/users/``), and the first superuser created at start-up from ``FIRST_SUPERUSER_*``.

These are the only ways an account becomes a superuser.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings, get_settings
from app.database import APPLICATION_NAME, create_engine, create_session_factory, transaction_scope
from app.exceptions import UserAlreadyExistsError, UserNotFoundError
from app.repositories.token_repository import TokenRepository
from app.repositories.user_repository import UserRepository
from app.schemas.user import UserCreate
from app.services.admin_service import AdminService, FirstSuperuser

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_REFUSED, EXIT_INVALID = 0, 1, 2


def new_superuser(email: str, username: str, password: str) -> UserCreate:
    """The account, checked like a registration; a refusal names the problems, never the input."""
    try:
        return UserCreate(email=email, username=username, password=password)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}" for problem in error.errors(include_input=False)
        )
        raise ValueError(problems) from None


async def _in_transaction(
    factory: async_sessionmaker[AsyncSession], work: Callable[[AdminService], Awaitable[str]]
) -> str:
    async with transaction_scope(factory) as session:
        return await work(AdminService(UserRepository(session), TokenRepository(session)))


async def _run(work: Callable[[AdminService], Awaitable[str]]) -> str:
    engine = create_engine(get_settings(), application_name=APPLICATION_NAME)
    try:
        return await _in_transaction(create_session_factory(engine), work)
    finally:
        await engine.dispose()


def _read_password(stdin: TextIO) -> str:
    """Prompted twice on a terminal (never echoed); otherwise the first line of standard input."""
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        msg = "the passwords differ"
        raise ValueError(msg)
    return password


def _tell(stream: TextIO, message: str) -> None:
    stream.write(message + "\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.cli", description="Administration of the users service.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser(
        "create-superuser",
        help="create a superuser (password prompted, or read from standard input)",
        description="Create a verified superuser; with --promote, make an existing account one instead.",
    )
    create.add_argument("--email", required=True)
    create.add_argument("--username", default="admin")
    create.add_argument("--promote", action="store_true", help="make the existing account with this email a superuser")
    return parser


def main(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.promote:

        async def promote(admin: AdminService) -> str:
            return (await admin.promote(arguments.email)).email

        try:
            _tell(sys.stdout, f"{asyncio.run(_run(promote))} is now a superuser")
        except UserNotFoundError:
            _tell(sys.stderr, f"no account has the email {arguments.email}")
            return EXIT_REFUSED
        return EXIT_OK
    try:
        data = new_superuser(arguments.email, arguments.username, _read_password(stdin))
    except ValueError as error:
        _tell(sys.stderr, f"refused: {error}")
        return EXIT_INVALID

    async def create(admin: AdminService) -> str:
        return (await admin.create_superuser(data)).email

    try:
        _tell(sys.stdout, f"superuser {asyncio.run(_run(create))} created")
    except UserAlreadyExistsError:
        _tell(sys.stderr, "an account with this email or username exists (--promote makes it a superuser)")
        return EXIT_REFUSED
    return EXIT_OK


async def ensure_first_superuser(factory: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """At start-up: create ``FIRST_SUPERUSER_*`` when no superuser exists. A password the policy
    refuses stops the start-up (its problems named, never the password); an existing ordinary
    account with that email is left alone and a warning logged."""
    if settings.first_superuser_email is None or settings.first_superuser_password is None:
        return
    data = new_superuser(
        settings.first_superuser_email,
        settings.first_superuser_username,
        settings.first_superuser_password.get_secret_value(),
    )

    async def ensure(admin: AdminService) -> str:
        return (await admin.ensure_first_superuser(data)).value

    try:
        outcome = await _in_transaction(factory, ensure)
    except UserAlreadyExistsError:  # another instance starting at once, or the username is taken
        logger.warning("first superuser not created: its email or username is taken")
        return
    if outcome == FirstSuperuser.EMAIL_TAKEN.value:
        logger.warning("first superuser not created: %s (it is not promoted)", outcome)
    else:
        logger.info("first superuser: %s", outcome)


if __name__ == "__main__":
    sys.exit(main())
