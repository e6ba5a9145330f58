"""Commune radio stations and their receivers."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, UploadFile

from api import schemas
from api.convert import (
    receiver_public,
    receivers_with_volume,
    station_public,
    volume_schedule_public,
)
from api.deps import (
    AdminDep,
    ClockDep,
    IdPath,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    SynthesizerDep,
)
from broadcast.bulletins import recordings, voices
from broadcast.core import audit
from broadcast.delivery.programmes import IDENT_KINDS
from stations import registry, volume
from stations.errors import NotFoundError
from stations.models import StationKind

router = APIRouter(prefix="/stations", tags=["stations"])
VOICE_AND_CODEC = {*voices.VOICE_FIELDS, *voices.CODEC_FIELDS}


@router.get("", response_model=schemas.Page[schemas.StationPublic], summary="List stations")
def list_stations(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    area_code: Annotated[str | None, Query(description="Only stations inside this area")] = None,
    kind: StationKind | None = None,
    active: bool | None = None,
    language: Annotated[str | None, Query(description="Only stations airing this language")] = None,
) -> schemas.Page[schemas.StationPublic]:
    """Stations in the caller's subtree."""
    rows, total = registry.list_stations(
        session=session,
        scope=principal.scope,
        area_code=area_code,
        kind=kind,
        active=active,
        language=language,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[station_public(s, a) for s, a in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "", response_model=schemas.StationPublic, status_code=201, summary="Register a station"
)
def create_station(
    body: schemas.StationCreate, session: SessionDep, principal: AdminDep
) -> schemas.StationPublic:
    """A commune's radio station, with the languages it airs in airing order."""
    station = registry.create_station(
        session=session,
        area_code=body.area_code,
        name=body.name,
        kind=body.kind,
        languages=body.languages,
        scope=principal.scope,
    )
    voices.set_voice(station, body.model_dump(include=VOICE_AND_CODEC, exclude_unset=True))
    session.add(station)
    audit.record(
        session=session,
        actor=principal.user,
        action="station.create",
        object_type="station",
        object_id=station.id or 0,
        area_id=station.area_id,
        detail=body.model_dump(mode="json"),
    )
    station, area = registry.get_station(
        session=session, station_id=station.id or 0, scope=principal.scope
    )
    return station_public(station, area)


@router.get("/{station_id}", response_model=schemas.StationPublic, summary="Show a station")
def get_station(
    station_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> schemas.StationPublic:
    """One station of the caller's subtree."""
    station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    return station_public(station, area)


@router.patch("/{station_id}", response_model=schemas.StationPublic, summary="Change a station")
def update_station(
    station_id: IdPath, body: schemas.StationUpdate, session: SessionDep, principal: AdminDep
) -> schemas.StationPublic:
    """Rename, change kind or languages, or (de)activate a station."""
    station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    registry.update_station(
        session=session,
        station=station,
        name=body.name,
        kind=body.kind,
        languages=body.languages,
        active=body.active,
    )
    voices.set_voice(station, body.model_dump(include=VOICE_AND_CODEC, exclude_unset=True))
    session.add(station)
    audit.record(
        session=session,
        actor=principal.user,
        action="station.update",
        object_type="station",
        object_id=station_id,
        area_id=station.area_id,
        detail=body.model_dump(mode="json", exclude_unset=True),
    )
    return station_public(station, area)


@router.get(
    "/{station_id}/voice",
    response_model=schemas.VoicePublic,
    summary="The voice and codec a station's programmes use",
)
def get_station_voice(
    station_id: IdPath, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> schemas.VoicePublic:
    """The station's own fields over its areas' (nearest first), over the service defaults."""
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    voice = voices.station_voice(session=session, station=station, settings=settings)
    return schemas.VoicePublic.model_validate(voice.describe())


@router.get(
    "/{station_id}/receivers",
    response_model=schemas.Page[schemas.ReceiverPublic],
    summary="List a station's receivers",
)
def list_station_receivers(
    station_id: IdPath,
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    settings: SettingsDep,
    clock: ClockDep,
    online: bool | None = None,
) -> schemas.Page[schemas.ReceiverPublic]:
    """The receivers of one station."""
    registry.get_station(session=session, station_id=station_id, scope=principal.scope)
    rows, total = registry.list_receivers(
        session=session,
        scope=principal.scope,
        station_id=station_id,
        online=online,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=receivers_with_volume(session, rows, zone=settings.zone, now=clock()),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/{station_id}/volume-schedule",
    response_model=schemas.VolumeSchedulePublic,
    summary="The station's volume by time of day",
)
def get_station_volume_schedule(
    station_id: IdPath,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> schemas.VolumeSchedulePublic:
    """The station's windows and volumes (source null: it has none) and the volume now."""
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    return volume_schedule_public(station.volume_schedule, None, zone=settings.zone, now=clock())


@router.put(
    "/{station_id}/volume-schedule",
    response_model=schemas.VolumeSchedulePublic,
    summary="Set the station's volume by time of day",
)
def put_station_volume_schedule(
    station_id: IdPath,
    body: schemas.VolumeScheduleIn,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> schemas.VolumeSchedulePublic:
    """Replace the station's schedule; airings dispatched from now on carry its volumes."""
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    station.volume_schedule = volume.parse_schedule(body.model_dump()).as_dict()
    session.add(station)
    audit.record(
        session=session,
        actor=principal.user,
        action="station.volume_schedule",
        object_type="station",
        object_id=station_id,
        area_id=station.area_id,
        detail=station.volume_schedule,
    )
    return volume_schedule_public(station.volume_schedule, None, zone=settings.zone, now=clock())


@router.delete(
    "/{station_id}/volume-schedule",
    response_model=schemas.VolumeSchedulePublic,
    summary="Remove the station's volume by time of day",
)
def delete_station_volume_schedule(
    station_id: IdPath,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> schemas.VolumeSchedulePublic:
    """Items are sent without a volume again (receivers keep their own setting)."""
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    station.volume_schedule = None
    session.add(station)
    audit.record(
        session=session,
        actor=principal.user,
        action="station.volume_schedule",
        object_type="station",
        object_id=station_id,
        area_id=station.area_id,
        detail=None,
    )
    return volume_schedule_public(None, None, zone=settings.zone, now=clock())


@router.post(
    "/{station_id}/receivers",
    response_model=schemas.ReceiverCreated,
    status_code=201,
    summary="Register a receiver",
)
def create_receiver(
    station_id: IdPath, body: schemas.ReceiverCreate, session: SessionDep, principal: AdminDep
) -> schemas.ReceiverCreated:
    """A loudspeaker-cluster receiver; its MQTT password is in this answer only."""
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    created = registry.create_receiver(
        session=session,
        station=station,
        name=body.name,
        location=body.location,
        latitude=body.latitude,
        longitude=body.longitude,
    )
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.create",
        object_type="receiver",
        object_id=created.receiver.id,
        area_id=station.area_id,
        detail={"name": body.name, "station_id": station_id},
    )
    return schemas.ReceiverCreated(
        **receiver_public(created.receiver).model_dump(), mqtt_password=created.password
    )


def _ident_kind(kind: str) -> str:
    if kind not in IDENT_KINDS:
        raise NotFoundError(
            f"Unknown ident '{kind}' (expected one of {', '.join(IDENT_KINDS)})",
            code="ident.unknown_kind",
            kind=kind,
            kinds=", ".join(IDENT_KINDS),
        )
    return kind


@router.put(
    "/{station_id}/idents/{kind}",
    response_model=schemas.StationPublic,
    summary="Upload the station's intro or outro jingle",
)
def upload_ident(
    station_id: IdPath,
    kind: str,
    file: UploadFile,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    synthesizer: SynthesizerDep,
) -> schemas.StationPublic:
    """A short jingle (multipart field `file`, any common audio format) that opens (`intro`)
    or closes (`outro`) every programme of this station; levelled like any recording."""
    _ident_kind(kind)
    station, area = recordings.store_station_ident(
        session=session,
        principal=principal,
        settings=settings,
        synthesizer=synthesizer,
        station_id=station_id,
        kind=kind,
        upload=file.file,
    )
    return station_public(station, area)


@router.delete(
    "/{station_id}/idents/{kind}",
    response_model=schemas.StationPublic,
    summary="Remove the station's intro or outro jingle",
)
def delete_ident(
    station_id: IdPath, kind: str, session: SessionDep, principal: AdminDep
) -> schemas.StationPublic:
    """Programmes of this station go back to the settings-wide jingle (if any)."""
    _ident_kind(kind)
    station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    station.idents = {k: v for k, v in (station.idents or {}).items() if k != kind}
    session.add(station)
    audit.record(
        session=session,
        actor=principal.user,
        action=f"station.ident.{kind}.delete",
        object_type="station",
        object_id=station_id,
        area_id=station.area_id,
    )
    return station_public(station, area)
