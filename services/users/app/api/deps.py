"""Dependency aliases used by every router (``SessionDep``, ``SignedIn``, ``CurrentUser``, services).

Every dependency is ``async def`` although none awaits much: FastAPI runs plain ``def``
dependencies in a worker thread, which costs more than the work they do.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app import tasks
from app.config import Settings
from app.database import transaction_scope
from app.emails import EmailNotifier, OutgoingEmail
from app.exceptions import AuthenticationError, PermissionDeniedError
from app.models.user import User
from app.repositories.account_token_repository import AccountTokenRepository
from app.repositories.post_repository import PostRepository
from app.repositories.token_queries import SignedInUser, TokenQueries
from app.repositories.token_repository import TokenRepository
from app.repositories.user_repository import UserRepository
from app.services.account_service import AccountService
from app.services.account_tokens import EmailVerification
from app.services.admin_service import AdminService
from app.services.auth_service import AuthService
from app.services.authenticator import Authenticator, user_to_change
from app.services.limits import RateLimiter
from app.services.password_reset_service import PasswordResetService
from app.services.post_service import PostService
from app.services.profile_service import ProfileService
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


async def get_notifier(background_tasks: BackgroundTasks, settings: SettingsDep) -> EmailNotifier:
    """Emails go out after the response, so after the commit: a failed request sends nothing."""

    def after_response(email: OutgoingEmail) -> None:
        background_tasks.add_task(tasks.send_email, email.to, email.subject, email.text, email.html)

    return EmailNotifier(settings, after_response)


NotifierDep = Annotated[EmailNotifier, Depends(get_notifier)]


async def get_rate_limits(request: Request) -> RateLimiter:
    limits: RateLimiter = request.app.state.rate_limits
    return limits


RateLimitsDep = Annotated[RateLimiter, Depends(get_rate_limits)]


async def get_email_verification(
    session: SessionDep, notifier: NotifierDep, settings: SettingsDep
) -> EmailVerification:
    lifetime = timedelta(seconds=settings.verification_token_ttl_seconds)
    return EmailVerification(AccountTokenRepository(session), notifier, lifetime)


EmailVerificationDep = Annotated[EmailVerification, Depends(get_email_verification)]


async def get_profile_service(
    request: Request, session: SessionDep, verification: EmailVerificationDep, notifier: NotifierDep
) -> ProfileService:
    throttle = request.app.state.login_throttle
    return ProfileService(UserRepository(session), TokenRepository(session), throttle, verification, notifier)


async def get_transaction_opener(request: Request) -> tasks.TransactionOpener:
    """Transactions of their own, for work done after the response (the request's has ended)."""
    return partial(transaction_scope, request.app.state.session_factory)


TransactionOpenerDep = Annotated[tasks.TransactionOpener, Depends(get_transaction_opener)]


async def get_password_reset_service(
    request: Request,
    session: SessionDep,
    *,
    notifier: NotifierDep,
    limits: RateLimitsDep,
    background_tasks: BackgroundTasks,
    open_transaction: TransactionOpenerDep,
    settings: SettingsDep,
) -> PasswordResetService:
    def send_later(email: str) -> None:
        background_tasks.add_task(tasks.send_password_reset_link, open_transaction, settings, email)

    throttle = request.app.state.login_throttle
    return PasswordResetService(
        UserRepository(session),
        AccountTokenRepository(session),
        TokenRepository(session),
        notifier,
        limits=limits,
        password_attempts=throttle,
        send_later=send_later,
    )


async def get_account_service(
    request: Request,
    session: SessionDep,
    verification: EmailVerificationDep,
    *,
    limits: RateLimitsDep,
    notifier: NotifierDep,
) -> AccountService:
    return AccountService(
        UserRepository(session),
        AccountTokenRepository(session),
        verification,
        limits=limits,
        sessions=TokenRepository(session),
        password_attempts=request.app.state.login_throttle,
        notifier=notifier,
    )


async def get_auth_service(
    request: Request, session: SessionDep, settings: SettingsDep, limits: RateLimitsDep
) -> AuthService:
    throttle = request.app.state.login_throttle
    return AuthService(
        UserRepository(session), TokenRepository(session), throttle, SqlUnitOfWork(session), settings, limits=limits
    )


async def get_admin_service(session: SessionDep) -> AdminService:
    return AdminService(UserRepository(session), TokenRepository(session))


async def get_post_service(session: SessionDep) -> PostService:
    return PostService(PostRepository(session), UserRepository(session))


ProfileServiceDep = Annotated[ProfileService, Depends(get_profile_service)]
AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
PostServiceDep = Annotated[PostService, Depends(get_post_service)]
AccountServiceDep = Annotated[AccountService, Depends(get_account_service)]
PasswordResetServiceDep = Annotated[PasswordResetService, Depends(get_password_reset_service)]
AdminServiceDep = Annotated[AdminService, Depends(get_admin_service)]


async def get_authenticator(read_db: ReadDbDep, settings: SettingsDep) -> Authenticator:
    return Authenticator(TokenQueries(read_db), settings)


AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


async def _authenticate(
    credentials: BearerDep, authenticator: AuthenticatorDep
) -> tuple[SignedInUser, AccessTokenClaims] | None:
    """None without credentials; the user and claims for a valid token; 401 for a bad one.

    ``HTTPBearer`` already answers None for a header of any other scheme. The check runs on the
    read side: a request that changes nothing opens no session and no transaction.
    """
    if credentials is None:
        return None
    return await authenticator.authenticate(credentials.credentials)


_Authenticated = Annotated[tuple[SignedInUser, AccessTokenClaims] | None, Depends(_authenticate)]


async def _require(authenticated: _Authenticated) -> tuple[SignedInUser, AccessTokenClaims]:
    if authenticated is None:
        raise AuthenticationError
    return authenticated


_Required = Annotated[tuple[SignedInUser, AccessTokenClaims], Depends(_require)]


async def _signed_in(authenticated: _Required) -> SignedInUser:
    return authenticated[0]


async def _current_claims(authenticated: _Required) -> AccessTokenClaims:
    return authenticated[1]


async def _current_user(authenticated: _Required, session: SessionDep) -> User:
    return await user_to_change(UserRepository(session), authenticated[0])


async def require_superuser(authenticated: _Required) -> SignedInUser:
    """The signed-in user if a superuser (401 without a valid token, 403 for anyone else)."""
    user = authenticated[0]
    if not user.is_superuser:
        raise PermissionDeniedError
    return user


async def _optional_user(authenticated: _Authenticated) -> SignedInUser | None:
    return authenticated[0] if authenticated is not None else None


async def _client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


#: The caller, as the token check read them: for handlers that only need to know who asks.
SignedIn = Annotated[SignedInUser, Depends(_signed_in)]
#: The caller as an entity of the request's session: for handlers that change the account.
CurrentUser = Annotated[User, Depends(_current_user)]
CurrentClaims = Annotated[AccessTokenClaims, Depends(_current_claims)]
OptionalUser = Annotated[SignedInUser | None, Depends(_optional_user)]
CurrentSuperuser = Annotated[SignedInUser, Depends(require_superuser)]
ClientAddress = Annotated[str, Depends(_client_address)]

#: ``openapi_extra`` of a route taking ``OptionalUser``: FastAPI documents every bearer token as
#: required; appending the empty requirement ``{}`` to ``security`` documents it as optional.
OPTIONAL_BEARER_OPENAPI: dict[str, Any] = {"security": [{}]}
