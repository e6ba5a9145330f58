"""Sign-in (OAuth2 password flow) and long-lived API tokens."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api import schemas
from api.convert import api_token_public
from api.deps import IdPath, PrincipalDep, SessionDep, SettingsDep, oauth2
from broadcast.core import audit
from broadcast.people.service import (
    create_api_token,
    issue_access_token,
    list_api_tokens,
    revoke_access_token,
    revoke_api_token,
    sign_in,
)

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=schemas.Token, summary="Sign in with a password")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> schemas.Token:
    """Exchange form fields `username` and `password` for a bearer access token.

    After LOA_LOGIN_MAX_FAILURES wrong passwords for an account (or
    LOA_LOGIN_MAX_FAILURES_PER_ADDRESS from one address) sign-in is refused with 429
    and `Retry-After` for LOA_LOGIN_LOCKOUT_SECONDS, even with the right password.
    """
    user = sign_in(
        session=session,
        throttle=request.app.state.throttle,
        username=form.username,
        password=form.password,
        address=request.client.host if request.client else None,
        via="api",
    )
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = issue_access_token(
        user=user, secret_key=settings.secret_key, minutes=settings.access_token_minutes
    )
    return schemas.Token(access_token=token, expires_in=settings.access_token_minutes * 60)


@router.post("/logout", status_code=204, summary="Sign out: end this access token")
def logout(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> None:
    """The access token of this request stops working at once (API tokens: DELETE them)."""
    if token:
        revoke_access_token(session=session, token=token, secret_key=settings.secret_key)
    audit.record(
        session=session,
        actor=principal.user,
        action="auth.logout",
        object_type="user",
        object_id=principal.user.id or 0,
        area_id=principal.user.area_id,
    )


@router.get(
    "/api-tokens", response_model=list[schemas.ApiTokenPublic], summary="List my API tokens"
)
def my_tokens(session: SessionDep, principal: PrincipalDep) -> list[schemas.ApiTokenPublic]:
    """The caller's long-lived tokens (secrets are never shown again)."""
    return [api_token_public(t) for t in list_api_tokens(session=session, user=principal.user)]


@router.post(
    "/api-tokens",
    response_model=schemas.ApiTokenCreated,
    status_code=201,
    summary="Create an API token for an integration",
)
def new_token(
    body: schemas.ApiTokenCreate, session: SessionDep, principal: PrincipalDep
) -> schemas.ApiTokenCreated:
    """A bearer token acting as the caller, for systems integrating over REST; shown once."""
    row, token = create_api_token(
        session=session, user=principal.user, name=body.name, days=body.days, scopes=body.scopes
    )
    audit.record(
        session=session,
        actor=principal.user,
        action="api_token.create",
        object_type="api_token",
        object_id=row.id or 0,
        area_id=principal.user.area_id,
        detail={"name": body.name, "scopes": list(body.scopes)},
    )
    return schemas.ApiTokenCreated(**api_token_public(row).model_dump(), token=token)


@router.delete("/api-tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(token_id: IdPath, session: SessionDep, principal: PrincipalDep) -> None:
    """Revoke one of the caller's tokens; it stops working at once."""
    revoke_api_token(session=session, user=principal.user, token_id=token_id)
    audit.record(
        session=session,
        actor=principal.user,
        action="api_token.revoke",
        object_type="api_token",
        object_id=token_id,
        area_id=principal.user.area_id,
    )
