"""Published audio at /media/{sha256}.mp3: for receivers (HTTP Basic) and users (bearer).

Files are streamed from disk in chunks with Range support (206/416), so a receiver on
a flaky 3G link resumes where it stopped and memory stays flat for any file size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from api.deps import SessionDep, SettingsDep
from broadcast.media import SHA256_RE, media_path
from broadcast.users import resolve_bearer
from stations.models import Receiver, Station
from stations.security import verify_secret

router = APIRouter(tags=["media"])

CHUNK = 64 * 1024
# argon2 is deliberately slow and a receiver fetches many files: remember successes.
_VERIFIED_TTL = 600.0
_verified: dict[tuple[str, str], tuple[str, float]] = {}
_verified_lock = threading.Lock()
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _receiver_ok(session: Session, username: str, password: str) -> bool:
    """True for an active receiver of an active station with this MQTT password."""
    receiver = session.get(Receiver, username)
    if receiver is None or not receiver.active:
        return False
    station = session.get(Station, receiver.station_id)
    if station is None or not station.active:
        return False
    digest = hashlib.sha256(password.encode()).hexdigest()
    key = (username, digest)
    now = time.monotonic()
    with _verified_lock:
        hit = _verified.get(key)
    # The cached entry is bound to the stored hash: a password reset invalidates it.
    if hit is not None and hit[0] == receiver.secret_hash and now - hit[1] < _VERIFIED_TTL:
        return True
    if not verify_secret(password, receiver.secret_hash):
        return False
    with _verified_lock:
        if len(_verified) > 50_000:
            _verified.clear()
        _verified[key] = (receiver.secret_hash, now)
    return True


def authorize_media(
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Let through a receiver (HTTP Basic, MQTT credentials) or a signed-in user (bearer)."""
    scheme, _, value = (authorization or "").partition(" ")
    ok = False
    if scheme.lower() == "basic" and value:
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
        ok = bool(username and password) and _receiver_ok(session, username, password)
    elif scheme.lower() == "bearer" and value:
        user = resolve_bearer(session=session, token=value, secret_key=settings.secret_key)
        ok = user is not None
    if not ok:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Media need credentials: receivers use HTTP Basic with their MQTT username and "
            "password, users their bearer token",
            headers={"WWW-Authenticate": 'Basic realm="loa-media", charset="UTF-8"'},
        )


def _iter_file(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def file_response(
    path: Path, *, etag: str, range_header: str | None, if_none_match: str | None = None
) -> Response:
    """Stream a file with ETag and single-range support (206, 416)."""
    size = path.stat().st_size
    quoted = f'"{etag}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": quoted,
        "Cache-Control": "private, max-age=31536000, immutable",
    }
    if if_none_match and quoted in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    if range_header:
        match = _RANGE_RE.match(range_header.strip())
        start: int | None = None
        end = size - 1
        if match and (match.group(1) or match.group(2)):
            first, last = match.group(1), match.group(2)
            if first:
                start = int(first)
                if last:
                    end = min(int(last), size - 1)
            else:  # suffix range: the last N bytes
                start = max(0, size - int(last))
        if start is None or start >= size or start > end:
            return Response(
                status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
            )
        length = end - start + 1
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(length)
        return StreamingResponse(
            _iter_file(path, start, length),
            status_code=206,
            media_type="audio/mpeg",
            headers=headers,
        )
    headers["Content-Length"] = str(size)
    return StreamingResponse(_iter_file(path, 0, size), media_type="audio/mpeg", headers=headers)


@router.get(
    "/media/{sha256}.mp3",
    summary="Download an audio file",
    dependencies=[Depends(authorize_media)],
    response_class=Response,
)
def get_media(
    sha256: str,
    request: Request,
    settings: SettingsDep,
) -> Response:
    """A published audio file by its sha256; supports Range requests to resume downloads."""
    if not SHA256_RE.match(sha256):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such media file")
    path = media_path(settings, sha256)
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such media file")
    return file_response(
        path,
        etag=sha256,
        range_header=request.headers.get("range"),
        if_none_match=request.headers.get("if-none-match"),
    )
