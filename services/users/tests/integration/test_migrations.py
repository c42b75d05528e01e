"""Alembic migrations, each test on its own scratch database: the seed's round trip, a single head,
models == migrations, and the constraints the database enforces."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

import app.models  # noqa: F401 - registers every table on Base.metadata
from app.database import Base
from servicekit.testing.databases import run_sync_on
from tests.support.databases import alembic_config

pytestmark = [pytest.mark.migrations, pytest.mark.integration]

UNIQUE_VIOLATION = "23505"

#: Every object of the public schema by kind and name, with what defines it (DDL from the catalog).
#: The first SELECT fixes the column types of the union: text, never ``name`` (63 characters).
_SCHEMA_OBJECTS = text(
    """
    SELECT 'table', c.relname::text, ''::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
    UNION ALL
    SELECT 'column', c.relname || '.' || a.attname,
           format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT 'constraint', conname, pg_get_constraintdef(o.oid) FROM pg_constraint o
        JOIN pg_namespace n ON n.oid = o.connamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'sequence', sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = 'public'
    """
)


def _schema(connection: Connection) -> set[tuple[str, str, str]]:
    """The service's schema objects; Alembic's own ``alembic_version`` table is left out."""
    return {
        (str(kind), str(name), str(definition))
        for kind, name, definition in connection.execute(_SCHEMA_OBJECTS)
        if not str(name).startswith("alembic_version")
    }


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, Base.metadata))


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _names(schema: set[tuple[str, str, str]], *kinds: str) -> set[str]:
    return {name for kind, name, _ in schema if kind in kinds}


def _model_table_names() -> set[str]:
    return set(Base.metadata.tables)


def _model_index_and_constraint_names() -> set[str]:
    """What the models name (tables' indexes and constraints): the migrations must make each of them."""
    names: set[str] = set()
    for table in Base.metadata.tables.values():
        names |= {str(index.name) for index in table.indexes}
        names |= {str(constraint.name) for constraint in table.constraints}
    return names


def test_migrations_can_run_forward_and_backward(scratch_database_url: str) -> None:
    """Empty to head, one step down and back up, then down to base: each state checked, not only reached."""
    alembic_cfg = alembic_config(scratch_database_url)
    head = ScriptDirectory.from_config(alembic_cfg).get_revision("head")
    assert head is not None
    assert not isinstance(head.down_revision, (tuple, list)), "a merge revision: step down one branch at a time"
    before_head = head.down_revision or "base"
    command.upgrade(alembic_cfg, before_head)
    schema_before_head = run_sync_on(scratch_database_url, _schema)

    command.upgrade(alembic_cfg, "head")
    schema_at_head = run_sync_on(scratch_database_url, _schema)

    assert _names(schema_at_head, "table") == _model_table_names()
    assert _model_index_and_constraint_names() <= _names(schema_at_head, "index", "constraint")
    assert run_sync_on(scratch_database_url, _schema_diff) == [], "models and migrations disagree: autogenerate one"
    assert (
        "constraint",
        "fk_posts_user_id_users",
        "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
    ) in schema_at_head
    assert (
        "index",
        "uq_users_email_lower",
        "CREATE UNIQUE INDEX uq_users_email_lower ON public.users USING btree (lower((email)::text))",
    ) in schema_at_head

    command.downgrade(alembic_cfg, "-1")

    assert run_sync_on(scratch_database_url, _schema) == schema_before_head
    assert run_sync_on(scratch_database_url, _current_revision) == (None if before_head == "base" else before_head)

    command.upgrade(alembic_cfg, "head")

    assert run_sync_on(scratch_database_url, _schema) == schema_at_head
    assert run_sync_on(scratch_database_url, _schema_diff) == []

    command.downgrade(alembic_cfg, "base")

    assert run_sync_on(scratch_database_url, _schema) == set()
    assert run_sync_on(scratch_database_url, _current_revision) is None


def test_offline_mode_writes_the_whole_schema_as_sql(capsys: pytest.CaptureFixture[str]) -> None:
    """``alembic upgrade head --sql``: the script a DBA can review, made without a database."""
    command.upgrade(alembic_config("postgresql://nobody@127.0.0.1:1/none"), "head", sql=True)

    script = capsys.readouterr().out
    assert {f"CREATE TABLE {table} (" for table in _model_table_names()} <= set(script.splitlines())
    assert script.rstrip().endswith("COMMIT;")


def test_there_is_a_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()

    assert len(heads) == 1, f"several migration heads, merge them: {heads}"


def test_every_revision_upgrades_and_downgrades_one_step_at_a_time(scratch_database_url: str) -> None:
    """The stairway: each revision's downgrade undoes exactly its upgrade, in history order."""
    alembic_cfg = alembic_config(scratch_database_url)
    revisions = list(reversed(list(ScriptDirectory.from_config(alembic_cfg).walk_revisions("base", "heads"))))

    for revision in revisions:
        schema_before = run_sync_on(scratch_database_url, _schema)
        command.upgrade(alembic_cfg, revision.revision)
        schema_after = run_sync_on(scratch_database_url, _schema)
        command.downgrade(alembic_cfg, "-1")
        assert run_sync_on(scratch_database_url, _schema) == schema_before, f"{revision.revision} downgrade"
        command.upgrade(alembic_cfg, revision.revision)
        assert run_sync_on(scratch_database_url, _schema) == schema_after, f"{revision.revision} upgrade again"

    assert run_sync_on(scratch_database_url, _current_revision) == revisions[-1].revision


async def _insert_user(connection: AsyncConnection, email: str, username: str) -> int:
    result = await connection.execute(
        text("INSERT INTO users (email, username, hashed_password) VALUES (:email, :username, 'x') RETURNING id"),
        {"email": email, "username": username},
    )
    return int(result.scalar_one())


def _sqlstate(error: IntegrityError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


class TestDatabaseConstraints:
    async def test_email_is_unique_regardless_of_case(self, db_connection: AsyncConnection) -> None:
        await _insert_user(db_connection, "Case.Test@Example.com", "case_one")

        with pytest.raises(IntegrityError) as error:
            async with db_connection.begin_nested():
                await _insert_user(db_connection, "case.test@example.COM", "case_two")

        assert _sqlstate(error.value) == UNIQUE_VIOLATION
        assert "uq_users_email_lower" in str(error.value)

    async def test_username_is_unique_regardless_of_case(self, db_connection: AsyncConnection) -> None:
        await _insert_user(db_connection, "first@example.com", "CaseUser")

        with pytest.raises(IntegrityError) as error:
            async with db_connection.begin_nested():
                await _insert_user(db_connection, "second@example.com", "caseuser")

        assert _sqlstate(error.value) == UNIQUE_VIOLATION
        assert "uq_users_username_lower" in str(error.value)

    async def test_distinct_emails_and_usernames_are_accepted(self, db_connection: AsyncConnection) -> None:
        await _insert_user(db_connection, "one@example.com", "one")
        await _insert_user(db_connection, "two@example.com", "two")

        count = await db_connection.scalar(text("SELECT count(*) FROM users"))

        assert count == 2

    async def test_posts_are_deleted_with_their_user(self, db_connection: AsyncConnection) -> None:
        author = await _insert_user(db_connection, "author@example.com", "author")
        other = await _insert_user(db_connection, "other@example.com", "other")
        for user_id in (author, author, other):
            await db_connection.execute(
                text("INSERT INTO posts (title, content, user_id) VALUES ('t', 'c', :user_id)"), {"user_id": user_id}
            )

        await db_connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": author})

        remaining = (await db_connection.execute(text("SELECT user_id FROM posts"))).scalars().all()
        assert remaining == [other]


async def _insert_account_token(connection: AsyncConnection, user_id: int, purpose: str, token_hash: str) -> None:
    await connection.execute(
        text(
            "INSERT INTO account_tokens (user_id, purpose, token_hash, email, expires_at) "
            "VALUES (:user_id, :purpose, :token_hash, 'a@example.com', now() + interval '1 hour')"
        ),
        {"user_id": user_id, "purpose": purpose, "token_hash": token_hash},
    )


class TestAccountTokenConstraints:
    async def test_an_account_has_one_token_per_purpose(self, db_connection: AsyncConnection) -> None:
        user_id = await _insert_user(db_connection, "tokens@example.com", "tokens")
        await _insert_account_token(db_connection, user_id, "reset_password", "a" * 64)
        await _insert_account_token(db_connection, user_id, "verify_email", "b" * 64)

        with pytest.raises(IntegrityError) as error:
            async with db_connection.begin_nested():
                await _insert_account_token(db_connection, user_id, "reset_password", "c" * 64)

        assert _sqlstate(error.value) == UNIQUE_VIOLATION
        assert "pk_account_tokens" in str(error.value)

    async def test_a_digest_belongs_to_one_token(self, db_connection: AsyncConnection) -> None:
        first = await _insert_user(db_connection, "first@example.com", "first")
        second = await _insert_user(db_connection, "second@example.com", "second")
        await _insert_account_token(db_connection, first, "reset_password", "a" * 64)

        with pytest.raises(IntegrityError) as error:
            async with db_connection.begin_nested():
                await _insert_account_token(db_connection, second, "reset_password", "a" * 64)

        assert "uq_account_tokens_token_hash" in str(error.value)

    async def test_only_known_purposes_are_stored(self, db_connection: AsyncConnection) -> None:
        user_id = await _insert_user(db_connection, "purpose@example.com", "purpose")

        with pytest.raises(IntegrityError) as error:
            async with db_connection.begin_nested():
                await _insert_account_token(db_connection, user_id, "make_superuser", "a" * 64)

        assert _sqlstate(error.value) == "23514"  # check_violation
        assert "ck_account_tokens_purpose" in str(error.value)

    async def test_tokens_are_deleted_with_their_user(self, db_connection: AsyncConnection) -> None:
        user_id = await _insert_user(db_connection, "gone@example.com", "gone")
        await _insert_account_token(db_connection, user_id, "verify_email", "a" * 64)

        await db_connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})

        assert await db_connection.scalar(text("SELECT count(*) FROM account_tokens")) == 0
