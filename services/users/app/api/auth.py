from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import AccountServiceDep, AuthServiceDep, ClientAddress, CurrentClaims, CurrentUser
from app.api.errors import error_responses
from app.schemas.auth import (
    LoginRequest,
    LogoutRequest,
    MessageResponse,
    RefreshRequest,
    TokenResponse,
    VerifyEmailRequest,
)
from app.services.auth_service import TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])


def _token_response(pair: TokenPair) -> TokenResponse:
    """Tokens are never cached: ``RequestIdMiddleware`` sends ``Cache-Control: no-store`` on every response."""
    return TokenResponse(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/login", responses=error_responses(400, 401, 403, 422, 429))
async def login(credentials: LoginRequest, client: ClientAddress, auth: AuthServiceDep) -> TokenResponse:
    pair = await auth.login(credentials.email, credentials.password, client)
    return _token_response(pair)


@router.post("/refresh", responses=error_responses(400, 401, 422))
async def refresh(body: RefreshRequest, auth: AuthServiceDep) -> TokenResponse:
    pair = await auth.refresh(body.refresh_token)
    return _token_response(pair)


@router.post("/logout", responses=error_responses(400, 401, 422))
async def logout(claims: CurrentClaims, auth: AuthServiceDep, body: LogoutRequest | None = None) -> MessageResponse:
    await auth.logout(claims, body.refresh_token if body is not None else None)
    return MessageResponse(detail="Logged out")


@router.post("/verify-email", responses=error_responses(400, 422))
async def verify_email(body: VerifyEmailRequest, accounts: AccountServiceDep) -> MessageResponse:
    """Mark the account verified with the token of its verification link (single use, 400 otherwise)."""
    await accounts.verify_email(body.token)
    return MessageResponse(detail="Email address verified")


@router.post("/request-verification", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(401, 409, 429))
async def request_verification(current_user: CurrentUser, accounts: AccountServiceDep) -> MessageResponse:
    """Email a new verification link to the caller's address; the previous link stops working."""
    await accounts.request_verification(current_user)
    return MessageResponse(detail="Verification email sent")
