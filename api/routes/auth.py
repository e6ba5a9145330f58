"""Sign-in (OAuth2 password flow), long-lived API tokens and the calendar feed secret."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api import schemas
from api.convert import api_token_public
from api.deps import IdPath, PrincipalDep, SessionDep, SettingsDep, oauth2
from broadcast.core import audit
from broadcast.people.service import (
    create_api_token,
    feed_token_of,
    issue_access_token,
    issue_feed_token,
    list_api_tokens,
    revoke_access_token,
    revoke_api_token,
    revoke_feed_token,
    sign_in,
)
from stations.errors import NotFoundError

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


def feed_url_template(base_url: str, token: str) -> str:
    """The iCalendar feed address of any station, with the feed secret in it."""
    return f"{base_url.rstrip('/')}/api/v1/stations/{{station_id}}/schedule.ics?feed={token}"


@router.get(
    "/feed-token", response_model=schemas.FeedTokenPublic, summary="Show my calendar feed secret"
)
def my_feed_token(session: SessionDep, principal: PrincipalDep) -> schemas.FeedTokenPublic:
    """When the caller's calendar feed secret was made and last used (404 when none)."""
    row = feed_token_of(session=session, user=principal.user)
    if row is None:
        raise NotFoundError("No calendar feed secret: create one", code="feed_token.not_found")
    return schemas.FeedTokenPublic(
        prefix=row.prefix, created_at=row.created_at, last_used_at=row.last_used_at
    )


@router.post(
    "/feed-token",
    response_model=schemas.FeedTokenCreated,
    status_code=201,
    summary="Create my calendar feed secret (replaces the old one)",
)
def new_feed_token(
    session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> schemas.FeedTokenCreated:
    """A secret for subscribing to station calendars by URL; shown once.

    It opens `GET /stations/{id}/schedule.ics?feed=<secret>` for the stations in the
    caller's area, and nothing else. A new one ends the old one's addresses.
    """
    row, token = issue_feed_token(session=session, user=principal.user)
    audit.record(
        session=session,
        actor=principal.user,
        action="feed_token.create",
        object_type="user",
        object_id=principal.user.id or 0,
        area_id=principal.user.area_id,
    )
    return schemas.FeedTokenCreated(
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=None,
        token=token,
        url_template=feed_url_template(settings.public_base_url, token),
    )


@router.delete("/feed-token", status_code=204, summary="Revoke my calendar feed secret")
def revoke_feed(session: SessionDep, principal: PrincipalDep) -> None:
    """Every calendar subscribed with the caller's feed secret stops updating at once."""
    if not revoke_feed_token(session=session, user=principal.user):
        raise NotFoundError("No calendar feed secret to revoke", code="feed_token.not_found")
    audit.record(
        session=session,
        actor=principal.user,
        action="feed_token.revoke",
        object_type="user",
        object_id=principal.user.id or 0,
        area_id=principal.user.area_id,
    )
