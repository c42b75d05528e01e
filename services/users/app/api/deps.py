"""Dependency aliases used by every router (``SessionDep``, ``CurrentUser``, services).

Every dependency is ``async def`` although none awaits much: FastAPI runs plain ``def``
dependencies in a worker thread, which costs more than the work they do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.exceptions import AuthenticationError
from app.models.user import User
from app.repositories.post_repository import PostRepository
from app.repositories.token_repository import TokenRepository
from app.repositories.user_repository import UserRepository
from app.services.auth_service import AuthService
from app.services.post_service import PostService
from app.services.profile_service import ProfileService
from app.services.user_service import UserService
from app.unit_of_work import SqlUnitOfWork
from app.utils.jwt import AccessTokenClaims
from servicekit import dependencies

#: The request's session (committed at the request boundary) and the read side: servicekit's.
SessionDep = dependencies.SessionDep
ReadDbDep = dependencies.ReadDbDep


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_user_service(session: SessionDep) -> UserService:
    return UserService(UserRepository(session))


async def get_profile_service(request: Request, session: SessionDep) -> ProfileService:
    return ProfileService(UserRepository(session), TokenRepository(session), request.app.state.login_throttle)


async def get_auth_service(request: Request, session: SessionDep, settings: SettingsDep) -> AuthService:
    throttle = request.app.state.login_throttle
    return AuthService(UserRepository(session), TokenRepository(session), throttle, SqlUnitOfWork(session), settings)


async def get_post_service(session: SessionDep) -> PostService:
    return PostService(PostRepository(session), UserRepository(session))


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
ProfileServiceDep = Annotated[ProfileService, Depends(get_profile_service)]
AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
PostServiceDep = Annotated[PostService, Depends(get_post_service)]


async def _authenticate(credentials: BearerDep, auth: AuthServiceDep) -> tuple[User, AccessTokenClaims] | None:
    """None without credentials; the user and claims for a valid token; 401 for a bad one.

    ``HTTPBearer`` already answers None for a header of any other scheme.
    """
    if credentials is None:
        return None
    return await auth.user_for_access_token(credentials.credentials)


_Authenticated = Annotated[tuple[User, AccessTokenClaims] | None, Depends(_authenticate)]


async def _require(authenticated: _Authenticated) -> tuple[User, AccessTokenClaims]:
    if authenticated is None:
        raise AuthenticationError
    return authenticated


_Required = Annotated[tuple[User, AccessTokenClaims], Depends(_require)]


async def _current_user(authenticated: _Required) -> User:
    return authenticated[0]


async def _current_claims(authenticated: _Required) -> AccessTokenClaims:
    return authenticated[1]


async def _optional_user(authenticated: _Authenticated) -> User | None:
    return authenticated[0] if authenticated is not None else None


async def _client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


CurrentUser = Annotated[User, Depends(_current_user)]
CurrentClaims = Annotated[AccessTokenClaims, Depends(_current_claims)]
OptionalUser = Annotated[User | None, Depends(_optional_user)]
ClientAddress = Annotated[str, Depends(_client_address)]

#: ``openapi_extra`` of a route taking ``OptionalUser``: FastAPI documents every bearer token as
#: required; appending the empty requirement ``{}`` to ``security`` documents it as optional.
OPTIONAL_BEARER_OPENAPI: dict[str, Any] = {"security": [{}]}
