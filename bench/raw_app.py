"""Baseline for the read benchmark: the same row served by a raw asyncpg query, nothing else."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException
from sqlalchemy.engine import make_url


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = make_url(os.environ["DATABASE_URL"])
    app.state.pool = await asyncpg.create_pool(
        user=url.username,
        host=url.query.get("host") or url.host,
        port=url.port,
        database=url.database,
        min_size=10,
        max_size=10,
    )
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/api/v1/users/{user_id}")
async def read_user(user_id: int) -> dict[str, Any]:
    row = await app.state.pool.fetchrow("SELECT id, email, username, created_at FROM users WHERE id = $1", user_id)
    if row is None:
        raise HTTPException(status_code=404)
    return dict(row)
