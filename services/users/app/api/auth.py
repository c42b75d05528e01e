from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import (
    AccountServiceDep,
    AuthServiceDep,
    ClientAddress,
    CurrentClaims,
    CurrentUser,
    PasswordResetServiceDep,
)
from app.api.errors import error_responses
from app.schemas.auth import (
    ForgotPasswordRequest,
    LoginRequest,
    LogoutRequest,
    MessageResponse,
    RefreshRequest,
    ResetPasswordRequest,
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


@router.post("/refresh", responses=error_responses(400, 401, 422, 429))
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


#: The one answer of a forgot-password request, whether or not the account exists.
FORGOT_PASSWORD_ANSWER = "If an account uses this address, a password reset link has been sent to it"  # noqa: S105 - a message


@router.post("/forgot-password", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(400, 422, 429))
async def forgot_password(
    body: ForgotPasswordRequest, client: ClientAddress, resets: PasswordResetServiceDep
) -> MessageResponse:
    """Email a password reset link if an active account uses this address. The answer, and the
    work done before it, are the same either way: the lookup happens after the response."""
    await resets.request_reset(body.email, client)
    return MessageResponse(detail=FORGOT_PASSWORD_ANSWER)


@router.post("/reset-password", responses=error_responses(400, 422, 429))
async def reset_password(
    body: ResetPasswordRequest, client: ClientAddress, resets: PasswordResetServiceDep
) -> MessageResponse:
    """Set a new password with the token of a reset link (single use); every session of the
    account ends, access tokens included."""
    await resets.reset_password(body.token, body.new_password, client)
    return MessageResponse(detail="Password changed; log in with the new password")
