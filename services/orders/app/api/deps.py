"""Dependency aliases of the routers: sessions, the read side, the caller, the order service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.clients.users import RemoteUser, UsersClient
from app.exceptions import NotAuthenticatedError
from app.jobs import PgQueuerJobs
from app.repositories.order_queries import OrderQueries
from app.repositories.order_repository import OrderRepository
from app.services.order_service import OrderService
from servicekit import dependencies
from servicekit.database import ReadDatabase

#: The request's session (committed at the request boundary) and the read side: servicekit's.
SessionDep = dependencies.SessionDep
ReadDbDep = dependencies.ReadDbDep

_bearer = HTTPBearer(auto_error=False, description="An access token of the users service")
_BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _users_client(request: Request) -> UsersClient:
    client: UsersClient = request.app.state.users_client
    return client


UsersClientDep = Annotated[UsersClient, Depends(_users_client)]


async def _current_user(credentials: _BearerDep, users: UsersClientDep) -> RemoteUser:
    """The caller, as the users service identifies the token, asked on every request."""
    if credentials is None:
        raise NotAuthenticatedError
    return await users.current_user(credentials.credentials)


CurrentUser = Annotated[RemoteUser, Depends(_current_user)]


async def _order_service(session: SessionDep) -> OrderService:
    return OrderService(OrderRepository(session), PgQueuerJobs(session))


async def _order_queries(read_db: ReadDbDep) -> OrderQueries:
    return OrderQueries(read_db)


async def _order_queries_in_session(session: SessionDep) -> OrderQueries:
    """Reads inside the request's transaction: what a write just did is seen before it commits."""
    return OrderQueries(ReadDatabase(session=session))


OrderServiceDep = Annotated[OrderService, Depends(_order_service)]
OrderQueriesDep = Annotated[OrderQueries, Depends(_order_queries)]
OrderQueriesInSessionDep = Annotated[OrderQueries, Depends(_order_queries_in_session)]
