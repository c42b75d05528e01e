"""The orders service's declarative base and its two database dependencies.

Engine, per-request session and read side come from :mod:`servicekit.database`; nothing here
connects at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import Request
from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.database import NAMING_CONVENTION, ReadDatabase, request_session

APPLICATION_NAME = "orders-service"


class Base(DeclarativeBase):
    """Declarative base of every model of this service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """``created_at``/``updated_at`` maintained by the database clock."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


async def get_read_db(request: Request) -> ReadDatabase:
    """The application's read side (a plain dependency: no per-request set-up or teardown)."""
    read_db: ReadDatabase = request.app.state.read_db
    return read_db


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: committed before the response when the handler succeeds."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async for session in request_session(factory):
        yield session
