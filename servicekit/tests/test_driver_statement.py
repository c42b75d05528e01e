"""Statements compiled once for the driver: asyncpg's positional parameters, named in order."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select

from servicekit.database import driver_statement

users = Table("users", MetaData(), Column("id", Integer, primary_key=True), Column("email", String))


def test_a_statement_compiles_to_asyncpg_sql_with_its_parameter_names_in_order() -> None:
    statement = select(users.c.id).where(users.c.email == bindparam("email"), users.c.id == bindparam("user_id"))

    compiled = driver_statement(statement)

    assert compiled.sql == "SELECT users.id \nFROM users \nWHERE users.email = $1::VARCHAR AND users.id = $2::INTEGER"
    assert compiled.arguments({"user_id": 7, "email": "a@example.com"}) == ["a@example.com", 7]
