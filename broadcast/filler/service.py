"""A station's broadcast windows and filler: set, tracks uploaded and removed, shown.

Administrators of the station's area (or above) change them; every change is audited.
Receivers pick the change up on the worker's next filler pass (commands.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlmodel import Session, col, select

from broadcast.bulletins import media, recordings
from broadcast.core import audit
from broadcast.core.settings import Settings
from broadcast.filler.commands import FEATURE, station_command
from broadcast.people.service import Principal
from stations import registry
from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.filler import MAX_TITLE, FillerTrack, StationFiller, parse_windows, stored_filler
from stations.models import Area, Receiver, Station
from stations.protocol import IDENT_LANGUAGE, FillerCommand
from tts import Synthesizer


@dataclass(frozen=True, slots=True)
class FillerView:
    """A station's filler as shown: the settings, the command now, its receivers."""

    station: Station
    area: Area
    filler: StationFiller
    command: FillerCommand | None  # what receivers without their own volume schedule hold
    receivers: int  # active receivers of the station
    capable: int  # of them, those that declared "filler"
    holding: int  # of those, the ones that report holding the current command


def _check(filler: StationFiller) -> None:
    if not filler.enabled:
        return
    if not filler.windows:
        raise InvalidInputError(
            "Filler needs the station's broadcast hours: add at least one window",
            code="filler.no_windows",
        )
    if not filler.tracks:
        raise InvalidInputError(
            "Filler needs at least one track: upload one before turning it on",
            code="filler.no_tracks",
        )


def _save(
    session: Session, principal: Principal, station: Station, filler: StationFiller, action: str
) -> None:
    station.filler = filler.as_dict()
    session.add(station)
    detail: dict[str, Any] = {
        "enabled": filler.enabled,
        "windows": station.filler["windows"],
        "tracks": [t.sha256 for t in filler.tracks],
    }
    audit.record(
        session=session,
        actor=principal.user,
        action=action,
        object_type="station",
        object_id=station.id or 0,
        area_id=station.area_id,
        detail=detail,
    )


def filler_view(
    *, session: Session, settings: Settings, principal: Principal, station_id: int, now: datetime
) -> FillerView:
    """The station's filler, the command its receivers should hold, and how many do."""
    station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    filler = stored_filler(station.filler)
    command = station_command(session=session, settings=settings, station=station, now=now)
    # One row per receiver of the station (a JSON column cannot be grouped on PostgreSQL).
    rows = session.exec(
        select(Receiver.features, Receiver.filler_version).where(
            col(Receiver.station_id) == station.id, col(Receiver.active)
        )
    ).all()
    total = capable = holding = 0
    for features, version in rows:
        total += 1
        if FEATURE in (features or ()):
            capable += 1
            if command is not None and version == command.version:
                holding += 1
    return FillerView(station, area, filler, command, total, capable, holding)


def set_filler(
    *,
    session: Session,
    principal: Principal,
    station_id: int,
    enabled: bool,
    windows: Any,
) -> Station:
    """Replace the station's broadcast windows and turn filler on or off."""
    principal.require()
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    current = stored_filler(station.filler)
    changed = StationFiller(enabled=enabled, windows=parse_windows(windows), tracks=current.tracks)
    _check(changed)
    _save(session, principal, station, changed, "station.filler")
    return station


def add_track(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    synthesizer: Synthesizer,
    station_id: int,
    title: str,
    upload: BinaryIO,
) -> FillerTrack:
    """Upload a filler track (any common audio format), levelled like any recording."""
    principal.require()
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInputError(
            f"A track needs a title of 1 to {MAX_TITLE} characters",
            code="filler.bad_title",
            limit=MAX_TITLE,
        )
    current = stored_filler(station.filler)
    current.check_room()  # before the audio work
    result = recordings.level_upload(settings, synthesizer, upload, IDENT_LANGUAGE)
    track = FillerTrack(result.sha256, result.bytes, result.duration_ms, title)
    _save(session, principal, station, current.with_track(track), "station.filler.track")
    return track


def remove_track(
    *, session: Session, principal: Principal, station_id: int, sha256: str
) -> Station:
    """Take a track out of the station's filler (never the last while filler is on)."""
    principal.require()
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    current = stored_filler(station.filler)
    if current.track(sha256) is None:
        raise NotFoundError(
            f"Station {station_id} has no filler track {sha256}",
            code="filler.track_not_found",
            station_id=station_id,
        )
    changed = current.without_track(sha256)
    if changed.enabled and not changed.tracks:
        raise ConflictError(
            "This is the station's last filler track: turn filler off before removing it",
            code="filler.last_track",
        )
    _save(session, principal, station, changed, "station.filler.track.delete")
    return station


def track_file(
    *, session: Session, settings: Settings, principal: Principal, station_id: int, sha256: str
) -> Path:
    """The published file of one of the station's filler tracks, to listen to it."""
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    missing = NotFoundError(
        f"Station {station_id} has no filler track {sha256}",
        code="filler.track_not_found",
        station_id=station_id,
    )
    if stored_filler(station.filler).track(sha256) is None:
        raise missing
    path = media.media_path(settings, sha256)
    if not path.is_file():
        raise missing
    return path
