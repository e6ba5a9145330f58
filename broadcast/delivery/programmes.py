"""A station's programme for one slot, built from approved bulletins (see playlists/)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from broadcast.bulletins import media
from broadcast.bulletins.models import Bulletin, BulletinStatus, Translation
from broadcast.bulletins.service import is_airable, valid_at_clause
from broadcast.core.settings import Settings
from playlists import MediaAsset, Programme, ProgrammeEntry, ProgrammeWarning, SlotRules, assemble
from playlists.render import render_programme
from stations.areas import ancestors
from stations.errors import InvalidInputError
from stations.models import Area, Station
from stations.timeutil import utcnow
from tts.audio import probe_duration_ms


def media_url(settings: Settings, sha256: str) -> str:
    """The URL receivers download a file from: {LOA_PUBLIC_BASE_URL}/media/{sha256}.mp3."""
    return media.media_url(settings, sha256)


@functools.lru_cache(maxsize=32)
def _measure_ident(path: str, size: int, mtime_ns: int) -> tuple[str, int, int]:
    """sha256, bytes and duration of one version of an ident file (size and mtime key it)."""
    data = Path(path).read_bytes()  # a jingle: a few seconds of audio
    return hashlib.sha256(data).hexdigest(), len(data), probe_duration_ms(Path(path))


def _ident(settings: Settings, path: Path | None) -> MediaAsset | None:
    """A settings-wide ident file, published under its hash in this service's media."""
    if path is None:
        return None
    stat = path.stat()
    sha, size, duration = _measure_ident(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    media.publish(settings, path, sha)
    return media.asset(settings, sha, size, duration)


def slot_rules(settings: Settings) -> SlotRules:
    """The slot rules configured by LOA_PROGRAMME_* settings."""
    minutes = settings.programme_max_minutes
    return SlotRules(
        gap_ms=settings.programme_gap_ms,
        max_duration_ms=round(minutes * 60_000) if minutes else None,
        intro=_ident(settings, settings.programme_intro_file),
        outro=_ident(settings, settings.programme_outro_file),
        require_all_languages=settings.programme_require_all_languages,
    )


IDENT_KINDS = ("intro", "outro")


def station_idents(settings: Settings, station: Station) -> dict[str, MediaAsset]:
    """The station's own intro/outro jingles (they replace the settings-wide ones)."""
    found: dict[str, MediaAsset] = {}
    for kind, meta in (station.idents or {}).items():
        if kind in IDENT_KINDS and meta.get("sha256"):
            found[kind] = media.asset(
                settings, meta["sha256"], int(meta["bytes"]), int(meta["duration_ms"])
            )
    return found


def _why_not_airable(bulletin: Bulletin) -> str:
    """Why a scheduled bulletin cannot air (only approved bulletins can be scheduled)."""
    head = f"Bulletin {bulletin.id} '{bulletin.title}'"
    if bulletin.status in (BulletinStatus.draft, BulletinStatus.submitted):
        # Any change to an approved bulletin sends it back to draft.
        return f"{head} was changed after its approval and is {bulletin.status} again: left out"
    if bulletin.status == BulletinStatus.approved:
        return f"{head} changed since its approval: left out"
    return f"{head} is {bulletin.status}, not approved: left out"


def programme_for_station(
    *,
    session: Session,
    station: Station,
    bulletin_ids: Sequence[int] | None,
    settings: Settings,
    at: datetime | None = None,
    rules: SlotRules | None = None,
) -> Programme:
    """The station's programme from approved bulletins of its area and the areas above it.

    `bulletin_ids` are in schedule order; None takes every approved bulletin valid
    at `at` (default now) for the station's area and its ancestors, oldest approval first.
    Bulletins that cannot air (not approved, changed since approval, other area) are
    left out with a warning.
    """
    area = session.get(Area, station.area_id)
    if area is None:
        raise ValueError(f"station {station.id} has no area")
    chain = [a.id for a in ancestors(session=session, area=area)]
    skipped: list[ProgrammeWarning] = []
    if bulletin_ids is None:
        bulletins = list(
            session.exec(
                select(Bulletin)
                .where(
                    Bulletin.status == BulletinStatus.approved,
                    col(Bulletin.area_id).in_(chain),
                    valid_at_clause(at or utcnow()),
                )
                .order_by(col(Bulletin.reviewed_at), col(Bulletin.id))
            ).all()
        )
    else:
        found = {
            b.id: b
            for b in session.exec(
                select(Bulletin).where(col(Bulletin.id).in_(list(bulletin_ids)))
            ).all()
        }
        bulletins = []
        for bid in bulletin_ids:
            b = found.get(bid)
            if b is None or b.area_id not in chain:
                skipped.append(
                    ProgrammeWarning(
                        "not_for_station",
                        f"Bulletin {bid} does not exist or is not for this station's area",
                        bid,
                    )
                )
            else:
                bulletins.append(b)
    entries: list[ProgrammeEntry] = []
    versions_by_bulletin: dict[int, list[Translation]] = {}
    if bulletins:
        for t in session.exec(
            select(Translation).where(col(Translation.bulletin_id).in_([b.id for b in bulletins]))
        ).all():
            versions_by_bulletin.setdefault(t.bulletin_id, []).append(t)
    for order, b in enumerate(bulletins):
        versions = versions_by_bulletin.get(b.id or 0, [])
        if not is_airable(b, versions):
            skipped.append(ProgrammeWarning("not_approved", _why_not_airable(b), b.id))
            continue
        entries.append(
            ProgrammeEntry(
                bulletin_id=b.id or 0,
                title=b.title,
                priority=str(b.priority),
                order=order,
                versions={
                    t.language: media.asset(
                        settings, t.audio_sha256 or "", t.audio_bytes or 0, t.audio_duration_ms or 0
                    )
                    for t in versions
                    if t.audio_sha256
                },
            )
        )
    rules = rules or slot_rules(settings)
    own = station_idents(settings, station)
    if own:
        rules = dataclasses.replace(
            rules, intro=own.get("intro", rules.intro), outro=own.get("outro", rules.outro)
        )
    programme = assemble(entries, list(station.languages or ["vi"]), rules)
    if skipped:
        programme = dataclasses.replace(programme, warnings=(*skipped, *programme.warnings))
    return programme


def programme_audio(
    *, session: Session, settings: Settings, station: Station, bulletin_ids: Sequence[int]
) -> tuple[Path, Programme]:
    """The station's programme of these bulletins as one MP3, for an operator to air by hand.

    Rendered once per programme version under LOA_MEDIA_DIR/programmes/ (a changed
    bulletin makes a new version, so a file is never stale) and written atomically.
    """
    programme = programme_for_station(
        session=session, station=station, bulletin_ids=list(bulletin_ids), settings=settings
    )
    if not programme.items or programme.blocked:
        raise InvalidInputError(
            f"Station {station.id} has nothing to air in this programme",
            code="programme.nothing_to_air",
            station_id=station.id,
        )
    path = settings.media_dir / "programmes" / f"{programme.version}.mp3"
    if not path.is_file():
        render_programme(
            programme, path, sample_rate=settings.tts_sample_rate, bitrate=settings.tts_bitrate
        )
    return path, programme
