"""Where broadcast audio lives on disk and under which URL receivers fetch it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sqlalchemy import String, and_, cast, or_
from sqlmodel import Session, SQLModel, col, select

from broadcast.bulletins.models import Bulletin, Translation
from broadcast.core import audit
from broadcast.core.settings import Settings
from broadcast.people.service import Principal
from broadcast.people.throttle import LoginThrottle
from playlists import MediaAsset
from stations.errors import TooManyAttemptsError
from stations.models import Area, Receiver, Station
from stations.security import verify_secret
from tts import Synthesizer, TTSConfig
from tts.audio import write_atomic

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def media_dir(settings: Settings) -> Path:
    """The folder of published audio files, named by content hash."""
    return settings.media_dir / "audio"


# Delivery codecs: the file extension and the Content-Type each is served with.
EXTENSIONS = {"mp3": "mp3", "opus": "opus"}
CONTENT_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg"}


def media_path(settings: Settings, sha256: str, codec: str = "mp3") -> Path:
    """The published file with this sha256 ({sha256}.mp3, or .opus for Opus in Ogg)."""
    if not SHA256_RE.match(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    if codec not in EXTENSIONS:
        raise ValueError(f"not a codec: {codec!r}")
    return media_dir(settings) / f"{sha256}.{EXTENSIONS[codec]}"


def media_url(settings: Settings, sha256: str, codec: str = "mp3") -> str:
    """The URL receivers download the file from: {LOA_PUBLIC_BASE_URL}/media/{sha256}.mp3."""
    return f"{settings.public_base_url.rstrip('/')}/media/{sha256}.{EXTENSIONS[codec]}"


def publish(settings: Settings, source: Path, sha256: str, codec: str = "mp3") -> Path:
    """Make a file available under its content hash (hard link when possible, else copy)."""
    target = media_path(settings, sha256, codec)
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target


def publish_bytes(settings: Settings, data: bytes, sha256: str) -> Path:
    """Write bytes under their content hash, atomically."""
    target = media_path(settings, sha256)
    if not (target.exists() and target.stat().st_size == len(data)):
        write_atomic(target, data)
    return target


def asset(
    settings: Settings, sha256: str, size: int, duration_ms: int, codec: str = "mp3"
) -> MediaAsset:
    """A playlists.MediaAsset pointing at the published file."""
    return MediaAsset(
        sha256=sha256,
        bytes=size,
        duration_ms=duration_ms,
        path=media_path(settings, sha256, codec),
        codec=codec,
    )


def tts_config(settings: Settings) -> TTSConfig:
    """The tts package's configuration, built from LOA_TTS_* settings."""
    config = TTSConfig(
        cache_dir=settings.media_dir / "tts-cache",
        max_recording_seconds=settings.max_recording_seconds,
        gtts_timeout=settings.tts_gtts_timeout,
        loudness_lufs=settings.tts_loudness_lufs,
        sample_rate=settings.tts_sample_rate,
        bitrate=settings.tts_bitrate,
        codec="mp3",
        espeak_voice=settings.tts_accent,  # type: ignore[arg-type]  # validated by pattern
        speed=settings.tts_speed,
    )
    if settings.tts_engine_policy:
        config = replace(config, engine_policy=dict(settings.tts_engine_policy))
    return config


def synthesizer(settings: Settings) -> Synthesizer:
    """A Synthesizer for these settings; online engines are dropped when LOA_TTS_ONLINE=false."""
    config = tts_config(settings)
    synth = Synthesizer(config)
    if not settings.tts_online:
        offline = {name: e for name, e in synth.engines.items() if not e.online}
        policy = {
            lang: [n for n in names if n in offline] for lang, names in config.engine_policy.items()
        }
        synth = Synthesizer(replace(config, engine_policy=policy), engines=offline)
    return synth


# --- who may download which file -------------------------------------------------------

# argon2 is deliberately slow and a receiver fetches many files: successes are
# remembered this long (bound to the stored hash, so a password reset ends them).
VERIFIED_TTL_SECONDS = 600.0
# Entries kept at most in each cache before it is emptied (bounded memory).
CACHE_LIMIT = 50_000


class MediaAccess:
    """Receivers' media logins (throttled, verified once per TTL) and their file rights."""

    def __init__(self, throttle: LoginThrottle, *, clock: Callable[[], float] = time.monotonic):
        self.throttle = throttle
        self.clock = clock
        self._verified: dict[tuple[str, str], tuple[str, float]] = {}
        self._fetchable: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def receiver(
        self, *, session: Session, username: str, password: str, address: str | None
    ) -> Receiver | None:
        """The active receiver (of an active station) with this MQTT password, or None.

        Wrong passwords count towards the same lockout as people's sign-ins
        (TooManyAttemptsError while locked).
        """
        verdict = self.throttle.check(account=username, address=address)
        if not verdict.allowed:
            raise TooManyAttemptsError(
                f"Too many failed logins. Try again in {verdict.retry_after} seconds",
                verdict.retry_after,
                code="auth.locked_out",
            )
        receiver = session.get(Receiver, username)
        station = session.get(Station, receiver.station_id) if receiver is not None else None
        if receiver is None or not receiver.active or station is None or not station.active:
            self._failed(session, username, address, None)
            return None
        key = (username, hashlib.sha256(password.encode()).hexdigest())
        now = self.clock()
        with self._lock:
            hit = self._verified.get(key)
        if (
            hit is not None
            and hit[0] == receiver.secret_hash
            and now - hit[1] < VERIFIED_TTL_SECONDS
        ):
            return receiver
        if not verify_secret(password, receiver.secret_hash):
            self._failed(session, username, address, station.area_id)
            return None
        self.throttle.succeeded(account=username)
        with self._lock:
            if len(self._verified) >= CACHE_LIMIT:
                self._verified.clear()
            self._verified[key] = (receiver.secret_hash, now)
        return receiver

    def _failed(
        self, session: Session, username: str, address: str | None, area_id: int | None
    ) -> None:
        started = self.throttle.failed(account=username, address=address)
        if not started.allowed:
            audit.record(
                session=session,
                actor=None,
                action="receiver.lockout",
                object_type="receiver",
                object_id=username[:64],
                area_id=area_id,
                detail={"locked": started.key, "seconds": started.retry_after, "via": "media"},
            )
            session.commit()  # the request itself fails; its lockout stays on record

    def receiver_may_fetch(self, *, session: Session, receiver: Receiver, sha256: str) -> bool:
        """True when a programme sent to this receiver holds the file, or its station's
        filler does."""
        key = (receiver.id, sha256)
        with self._lock:
            if key in self._fetchable:
                return True
        delivery = SQLModel.metadata.tables["delivery"]
        found = (
            session.connection()
            .execute(
                select(delivery.c.id)
                .where(
                    delivery.c.receiver_id == receiver.id,
                    delivery.c.payload.is_not(None),
                    delivery.c.payload.contains(f'"{sha256}"', autoescape=True),
                )
                .limit(1)
            )
            .first()
        )
        if found is None:
            # A filler track of its own station (broadcast/delivery/filler.py).
            station = SQLModel.metadata.tables["station"]
            found = (
                session.connection()
                .execute(
                    select(station.c.id).where(
                        station.c.id == receiver.station_id,
                        station.c.filler.is_not(None),
                        cast(station.c.filler, String).contains(sha256, autoescape=True),
                    )
                )
                .first()
            )
        if found is None:
            return False
        with self._lock:
            if len(self._fetchable) >= CACHE_LIMIT:
                self._fetchable.clear()
            self._fetchable.add(key)
        return True


def user_may_fetch(*, session: Session, principal: Principal, sha256: str) -> bool:
    """True when the file is audio of a bulletin the user's stations air, or their ident
    or filler track.

    Bulletins of the user's area and below, and of the areas above it (a province's
    bulletin airs at the commune's station); station idents of stations in scope.
    """
    scope = principal.scope
    if scope.path is None:
        return True
    area = principal.area
    above = [int(p) for p in (area.path if area else "").strip("/").split("/") if p]
    bulletin = session.exec(
        select(Translation.id)
        .join(Bulletin, col(Translation.bulletin_id) == col(Bulletin.id))
        .join(Area, col(Bulletin.area_id) == col(Area.id))
        .where(
            Translation.audio_sha256 == sha256,
            or_(scope.clause(), col(Area.id).in_(above)),
        )
        .limit(1)
    ).first()
    if bulletin is not None:
        return True
    station = SQLModel.metadata.tables["station"]
    ident = session.exec(
        select(Station.id)
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(scope.clause())
        .where(
            or_(
                and_(
                    station.c.idents.is_not(None),
                    cast(station.c.idents, String).contains(sha256, autoescape=True),
                ),
                and_(
                    station.c.filler.is_not(None),
                    cast(station.c.filler, String).contains(sha256, autoescape=True),
                ),
            )
        )
        .limit(1)
    ).first()
    return ident is not None
