"""The read side's statements are compiled once, for asyncpg: positional parameters, in order."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from app.models.user import User
from app.repositories.token_queries import _compiled

pytestmark = pytest.mark.unit


def test_a_statement_compiles_to_asyncpg_sql_with_its_parameter_names_in_order() -> None:
    statement = select(User.id).where(User.email == bindparam("email"), User.id == bindparam("user_id"))

    compiled = _compiled(statement)

    assert compiled.sql == ("SELECT users.id \nFROM users \nWHERE users.email = $1::VARCHAR AND users.id = $2::INTEGER")
    assert compiled.arguments({"user_id": 7, "email": "a@example.com"}) == ["a@example.com", 7]
