"""A station's broadcast hours and the filler that keeps them from falling silent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, UploadFile
from pydantic import BaseModel, Field

from api.deps import (
    AdminDep,
    ClockDep,
    IdPath,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    SynthesizerDep,
)
from api.schemas import Strict
from broadcast.bulletins.media import media_url
from broadcast.core.settings import Settings
from broadcast.filler import service
from broadcast.filler.service import FillerView
from stations.filler import MAX_TITLE, MAX_TRACKS, MAX_WINDOWS

router = APIRouter(prefix="/stations", tags=["stations"])

Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The track's sha256")]


class BroadcastWindowIn(Strict):
    """A window of local time of day (LOA_TIMEZONE) the station broadcasts in."""

    start: str = Field(description='"HH:MM", local time', examples=["05:30"])
    end: str = Field(
        description='"HH:MM" ("24:00": midnight); at or before start: the next day',
        examples=["07:00"],
    )


class FillerIn(Strict):
    """The station's announced broadcast hours, and whether filler fills them."""

    enabled: bool = Field(
        False, description="Fill the hours with the station's tracks (needs windows and tracks)"
    )
    windows: list[BroadcastWindowIn] = Field(
        default_factory=list, description=f"At most {MAX_WINDOWS}; they may not overlap"
    )


class FillerTrackPublic(BaseModel):
    """One filler track, levelled like any recording."""

    sha256: str
    bytes: int
    duration_ms: int
    title: str
    url: str = Field(description="Where receivers (and signed-in users) download it")


class FillerSpanPublic(BaseModel):
    """A span receivers fill when nothing else airs (blackouts already taken out)."""

    start: datetime
    end: datetime
    volume: int | None = Field(description="Percent from the volume schedule; null: none")


class FillerReceiversPublic(BaseModel):
    """How far the station's receivers are in step with the filler."""

    total: int = Field(description="Active receivers of the station")
    capable: int = Field(description='Of them, those that declared "filler" in `features`')
    holding: int = Field(description="Of those, the ones that report holding `version`")


class FillerPublic(BaseModel):
    """A station's broadcast hours and filler, and what its receivers hold."""

    station_id: int
    enabled: bool
    airs: bool = Field(description="On, with windows and tracks: receivers fill the hours")
    windows: list[BroadcastWindowIn]
    tracks: list[FillerTrackPublic] = Field(description=f"At most {MAX_TRACKS}, aired in turn")
    version: str | None = Field(
        description="Version of the filler command receivers should hold (null: none)"
    )
    spans: list[FillerSpanPublic] = Field(
        description="The spans of that command: from local midnight today, for 7 days"
    )
    receivers: FillerReceiversPublic


def _public(view: FillerView, settings: Settings) -> FillerPublic:
    data = view.filler.as_dict()
    command = view.command
    return FillerPublic(
        station_id=view.station.id or 0,
        enabled=view.filler.enabled,
        airs=view.filler.airs,
        windows=[BroadcastWindowIn(**w) for w in data["windows"]],
        tracks=[
            FillerTrackPublic(**t.as_dict(), url=media_url(settings, t.sha256))
            for t in view.filler.tracks
        ],
        version=command.version if command is not None else None,
        spans=[
            FillerSpanPublic(start=s.start, end=s.end, volume=s.volume)
            for s in (command.spans if command is not None else [])
        ],
        receivers=FillerReceiversPublic(
            total=view.receivers, capable=view.capable, holding=view.holding
        ),
    )


def _view(
    station_id: int,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: datetime,
) -> FillerPublic:
    view = service.filler_view(
        session=session, settings=settings, principal=principal, station_id=station_id, now=now
    )
    return _public(view, settings)


@router.get(
    "/{station_id}/filler",
    response_model=FillerPublic,
    summary="The station's broadcast hours and filler",
)
def get_filler(
    station_id: IdPath,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> FillerPublic:
    """Windows, tracks, the spans receivers fill this week, and how many hold them."""
    return _view(station_id, session, principal, settings, clock())


@router.put(
    "/{station_id}/filler",
    response_model=FillerPublic,
    summary="Set the station's broadcast hours; turn filler on or off",
)
def put_filler(
    station_id: IdPath,
    body: FillerIn,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> FillerPublic:
    """Replace the windows and the switch (tracks are kept). Turning filler on needs at
    least one window and one track (422 `filler.no_windows`, `filler.no_tracks`)."""
    service.set_filler(
        session=session,
        principal=principal,
        station_id=station_id,
        enabled=body.enabled,
        windows=[w.model_dump() for w in body.windows],
    )
    session.flush()
    return _view(station_id, session, principal, settings, clock())


@router.post(
    "/{station_id}/filler/tracks",
    response_model=FillerPublic,
    status_code=201,
    summary="Upload a filler track",
)
def add_filler_track(
    station_id: IdPath,
    file: UploadFile,
    title: Annotated[str, Form(min_length=1, max_length=MAX_TITLE)],
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    synthesizer: SynthesizerDep,
    clock: ClockDep,
) -> FillerPublic:
    """Music or the station's identity (multipart `file`, any common audio format, and
    `title`), levelled like any recording; aired after the tracks already there."""
    service.add_track(
        session=session,
        principal=principal,
        settings=settings,
        synthesizer=synthesizer,
        station_id=station_id,
        title=title,
        upload=file.file,
    )
    session.flush()
    return _view(station_id, session, principal, settings, clock())


@router.delete(
    "/{station_id}/filler/tracks/{sha256}",
    response_model=FillerPublic,
    summary="Remove a filler track",
)
def delete_filler_track(
    station_id: IdPath,
    sha256: Sha256Path,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> FillerPublic:
    """The last track cannot go while filler is on (409 `filler.last_track`)."""
    service.remove_track(session=session, principal=principal, station_id=station_id, sha256=sha256)
    session.flush()
    return _view(station_id, session, principal, settings, clock())
