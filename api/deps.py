"""Dependencies shared by the routes: settings, database session, the signed-in caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlmodel import Session

from broadcast.bulletins import media
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from broadcast.people.service import (
    Principal,
    resolve_bearer_scopes,
    resolve_feed_token,
    user_area,
)
from stations.timeutil import utcnow
from tts import Synthesizer

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

# The largest value an integer id column holds on every database Loa runs on (PostgreSQL
# INTEGER; SQLite's are 64-bit). No row has a larger id, and the databases refuse to bind
# or compare a larger number, so every id and number that reaches a query is bounded by it.
MAX_ID = 2**31 - 1

# An object's id in a path (every route, REST and console): a number from 1 to MAX_ID.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id")]
# An optional id in a query string.
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def parse_id(text: str) -> int | None:
    """A form field as an id (ASCII digits, 1 to MAX_ID), or None when it cannot be one."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The database engine the app was built with."""
    engine: Engine = request.app.state.engine
    return engine


def get_db(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One session, one transaction per request: committed on success, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_clock(request: Request) -> Callable[[], datetime]:
    """The app's clock: `app.state.clock` when set (tests move it), else the real UTC time."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock or utcnow


def get_synthesizer(request: Request) -> Synthesizer:
    """The app's synthesizer (engine pools and the speech cache), built on first use."""
    synth: Synthesizer | None = getattr(request.app.state, "synthesizer", None)
    if synth is None:
        synth = request.app.state.synthesizer = media.synthesizer(get_settings(request))
    return synth


def _no_worker() -> None:
    """Nothing to wake: no worker runs in this process (tests, `loa serve` starting up)."""


def get_worker_wake(request: Request) -> Callable[[], None]:
    """Let the app's running worker dispatch at once (an emergency must not wait a pass)."""
    handle = getattr(request.app.state, "background", None)
    worker = getattr(handle, "worker", None)
    wake: Callable[[], None] = worker.wake if worker is not None else _no_worker
    return wake


def get_render_wake(request: Request) -> Callable[[], None]:
    """Let the app's render worker render new text at once (else it finds it on its poll)."""
    renderer = getattr(request.app.state, "renderer", None)
    wake: Callable[[], None] = renderer.notify if renderer is not None else _no_worker
    return wake


SettingsDep = Annotated[Settings, Depends(get_settings)]
# Committed when the route returns, before the answer is sent (FastAPI's default "request"
# scope would commit after it: a client could ask again and not find what it created).
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]
WakeDep = Annotated[Callable[[], None], Depends(get_worker_wake)]
RenderWakeDep = Annotated[Callable[[], None], Depends(get_render_wake)]
SynthesizerDep = Annotated[Synthesizer, Depends(get_synthesizer)]


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> Principal:
    """The caller behind the bearer token, or 401."""
    user, scopes = (
        resolve_bearer_scopes(session=session, token=token, secret_key=settings.secret_key)
        if token
        else (None, None)
    )
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Not signed in: send 'Authorization: Bearer <token>' "
            "(POST /api/v1/auth/token gives one)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Principal(user=user, area=user_area(session=session, user=user), token_scopes=scopes)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_feed_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2)],
    feed: Annotated[
        str | None,
        Query(
            max_length=100,
            description="A calendar feed secret (POST /api/v1/auth/feed-token), for calendar "
            "apps that cannot send a bearer header",
        ),
    ] = None,
) -> Principal:
    """The caller of a calendar feed: the bearer token, else the feed secret in the URL."""
    if token or not feed:
        return get_principal(session, settings, token)
    user = resolve_feed_token(session=session, token=feed)
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="This calendar feed address is not valid (revoked or replaced): create a "
            "new one with POST /api/v1/auth/feed-token",
        )
    return Principal(user=user, area=user_area(session=session, user=user))


FeedPrincipalDep = Annotated[Principal, Depends(get_feed_principal)]


def require_roles(*roles: Role) -> object:
    """A dependency that lets through admins and the given roles."""

    def _check(principal: PrincipalDep) -> Principal:
        principal.require(*roles)  # PermissionDeniedError answers 403, like any domain error
        return principal

    return Depends(_check)


AdminDep = Annotated[Principal, require_roles()]
