"""Published audio at /media/{sha256}.mp3 (and .opus): receivers (HTTP Basic), users (bearer).

Files are streamed with Range support (api/responses.py), so a receiver on a flaky 3G
link resumes where it stopped.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep
from api.responses import file_response
from broadcast.bulletins.media import (
    CONTENT_TYPES,
    SHA256_RE,
    MediaAccess,
    media_path,
    user_may_fetch,
)
from broadcast.people.service import Principal, resolve_bearer, user_area
from stations.errors import TooManyAttemptsError
from stations.models import Receiver

router = APIRouter(tags=["media"])

NOT_FOUND = "No such media file"


def _lockout(exc: TooManyAttemptsError) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": str(exc.retry_after)}
    )


def media_access(request: Request) -> MediaAccess:
    """The app's receiver-credential cache and media access rules (built once per app)."""
    access: MediaAccess | None = getattr(request.app.state, "media_access", None)
    if access is None:
        access = request.app.state.media_access = MediaAccess(request.app.state.throttle)
    return access


@dataclass(frozen=True, slots=True)
class MediaCaller:
    """Who asks for a file: a receiver (by id) or a signed-in user."""

    receiver: Receiver | None = None
    principal: Principal | None = None


def authorize_media(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> MediaCaller:
    """A receiver (HTTP Basic, MQTT credentials) or a signed-in user (bearer), else 401."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
        if username and password:
            address = request.client.host if request.client else None
            try:
                receiver = media_access(request).receiver(
                    session=session, username=username, password=password, address=address
                )
            except TooManyAttemptsError as exc:
                raise _lockout(exc) from None
            if receiver is not None:
                return MediaCaller(receiver=receiver)
    elif scheme.lower() == "bearer" and value:
        user = resolve_bearer(session=session, token=value, secret_key=settings.secret_key)
        if user is not None:
            return MediaCaller(principal=Principal(user, user_area(session=session, user=user)))
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "Media need credentials: receivers use HTTP Basic with their MQTT username and "
        "password, users their bearer token",
        headers={"WWW-Authenticate": 'Basic realm="loa-media", charset="UTF-8"'},
    )


@router.get("/media/{sha256}.mp3", summary="Download an audio file", response_class=Response)
def get_media(
    sha256: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: Annotated[MediaCaller, Depends(authorize_media)],
) -> Response:
    """A published MP3 file by its sha256; supports Range requests to resume downloads.

    A receiver gets the files of programmes sent to it; a user the files of bulletins
    of their area, of the areas above it (they air at its stations) and the idents of
    its stations. Anything else is 404, like a file that does not exist.
    """
    return _media(sha256, "mp3", request, session, settings, caller)


@router.get("/media/{sha256}.opus", summary="Download an Opus audio file", response_class=Response)
def get_opus_media(
    sha256: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: Annotated[MediaCaller, Depends(authorize_media)],
) -> Response:
    """A published Opus (Ogg) file by its sha256, served as audio/ogg; as for MP3 files.

    Opus files are the programmes of stations that chose Opus, for their receivers
    that declared it.
    """
    return _media(sha256, "opus", request, session, settings, caller)


def _media(
    sha256: str,
    codec: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: MediaCaller,
) -> Response:
    if not SHA256_RE.match(sha256):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    access = media_access(request)
    if caller.receiver is not None:
        allowed = access.receiver_may_fetch(
            session=session, receiver=caller.receiver, sha256=sha256
        )
    else:
        assert caller.principal is not None
        allowed = user_may_fetch(session=session, principal=caller.principal, sha256=sha256)
    path = media_path(settings, sha256, codec)
    if not allowed or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return file_response(
        path,
        etag=sha256,
        range_header=request.headers.get("range"),
        if_none_match=request.headers.get("if-none-match"),
        media_type=CONTENT_TYPES[codec],
    )
