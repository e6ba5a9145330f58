"""Receivers across stations."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api import schemas
from api.convert import (
    receiver_public,
    receiver_with_volume,
    receivers_with_volume,
    volume_schedule_public,
)
from api.deps import AdminDep, ClockDep, IdQuery, PrincipalDep, SessionDep, SettingsDep
from broadcast.core import audit
from broadcast.delivery.status import receiver_programme
from stations import fleet, registry, volume

router = APIRouter(prefix="/receivers", tags=["receivers"])


@router.get("", response_model=schemas.Page[schemas.ReceiverPublic], summary="List receivers")
def list_receivers(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    settings: SettingsDep,
    clock: ClockDep,
    station_id: IdQuery = None,
    area_code: Annotated[str | None, Query(description="Only receivers inside this area")] = None,
    online: bool | None = None,
) -> schemas.Page[schemas.ReceiverPublic]:
    """Receivers in the caller's subtree."""
    rows, total = registry.list_receivers(
        session=session,
        scope=principal.scope,
        station_id=station_id,
        area_code=area_code,
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


FLEET_CSV_EXAMPLE = (
    "area_code,station_name,station_kind,languages,receiver_name,location,latitude,longitude\n"
    "02680,Đài xã Y Tý,ip,vi hmn,Cụm loa thôn Mò Phú Chải,Nhà văn hoá,22.6,103.6\n"
)


@router.post(
    "/bulk",
    response_model=schemas.ReceiversImported,
    status_code=201,
    summary="Register many stations and receivers from a CSV file",
    responses={
        201: {"content": {"text/csv": {}}},
        422: {"description": "The file has problems; `errors` lists each (line, column)"},
    },
)
def import_receivers(
    request: Request,
    session: SessionDep,
    principal: AdminDep,
    data: Annotated[
        bytes,
        Body(
            media_type="text/csv",
            description="UTF-8 CSV, header "
            + ",".join(fleet.COLUMNS)
            + " (area_code and station_name required; docs/operations.md)",
            examples=[FLEET_CSV_EXAMPLE],
        ),
    ],
) -> Response:
    """Create a province's stations and receivers from one CSV file, all or nothing.

    Every line is checked first; any problem answers 422 with one `errors` item per
    problem (`line`, `column`, `message`) and nothing is written. The receivers' MQTT
    passwords are in this answer only: as JSON (`credentials_csv`) or, when the request
    says `Accept: text/csv`, as the CSV itself.
    """
    rows = fleet.read_fleet_csv(data)
    result = fleet.import_fleet(session=session, rows=rows, scope=principal.scope)
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.bulk_create",
        object_type="receiver",
        object_id="bulk",
        area_id=principal.user.area_id,
        detail={
            "stations_created": result.stations_created,
            "stations_reused": result.stations_reused,
            "receivers_created": len(result.receivers),
        },
    )
    credentials = fleet.credentials_csv(result.receivers)
    headers = {"Cache-Control": "no-store"}
    if "text/csv" in request.headers.get("accept", ""):
        headers["X-Loa-Stations-Created"] = str(result.stations_created)
        headers["X-Loa-Receivers-Created"] = str(len(result.receivers))
        return PlainTextResponse(
            credentials, status_code=201, media_type="text/csv; charset=utf-8", headers=headers
        )
    answer = schemas.ReceiversImported(
        stations_created=result.stations_created,
        stations_reused=result.stations_reused,
        receivers_created=len(result.receivers),
        credentials_csv=credentials,
    )
    return JSONResponse(answer.model_dump(), status_code=201, headers=headers)


@router.get("/{receiver_id}", response_model=schemas.ReceiverPublic, summary="Show a receiver")
def get_receiver(
    receiver_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> schemas.ReceiverPublic:
    """One receiver: online state, when it was last seen, the programme it holds, its volume."""
    receiver, station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    held = receiver_programme(session=session, receiver_id=receiver_id)
    public = receiver_with_volume(
        receiver_public(receiver),
        receiver,
        station.volume_schedule,
        zone=settings.zone,
        now=clock(),
    )
    return public.model_copy(
        update={
            "programme_version": held.version if held else None,
            "programme_broadcast_id": held.broadcast_id if held else None,
        }
    )


@router.patch("/{receiver_id}", response_model=schemas.ReceiverPublic, summary="Change a receiver")
def update_receiver(
    receiver_id: str, body: schemas.ReceiverUpdate, session: SessionDep, principal: AdminDep
) -> schemas.ReceiverPublic:
    """Rename, relocate or (de)activate a receiver."""
    receiver, station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(receiver, field, value)
    session.add(receiver)
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.update",
        object_type="receiver",
        object_id=receiver_id,
        area_id=station.area_id,
        detail=body.model_dump(exclude_unset=True),
    )
    return receiver_public(receiver)


@router.post(
    "/{receiver_id}/reset-password",
    response_model=schemas.ReceiverCredentials,
    summary="Mint new MQTT credentials",
)
def reset_password(
    receiver_id: str, session: SessionDep, principal: AdminDep
) -> schemas.ReceiverCredentials:
    """Replace a receiver's MQTT password (shown once); the old one stops working."""
    receiver, station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    password = registry.reset_receiver_password(session=session, receiver=receiver)
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.reset_password",
        object_type="receiver",
        object_id=receiver_id,
        area_id=station.area_id,
    )
    return schemas.ReceiverCredentials(mqtt_username=receiver.id, mqtt_password=password)


@router.get(
    "/{receiver_id}/volume-schedule",
    response_model=schemas.VolumeSchedulePublic,
    summary="The volume by time of day a receiver airs at",
)
def get_receiver_volume_schedule(
    receiver_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> schemas.VolumeSchedulePublic:
    """Its own schedule (source "receiver"), else its station's (source "station")."""
    receiver, station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    return volume_schedule_public(
        station.volume_schedule, receiver.volume_schedule, zone=settings.zone, now=clock()
    )


@router.put(
    "/{receiver_id}/volume-schedule",
    response_model=schemas.VolumeSchedulePublic,
    summary="Give a receiver its own volume by time of day",
)
def put_receiver_volume_schedule(
    receiver_id: str,
    body: schemas.VolumeScheduleIn,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> schemas.VolumeSchedulePublic:
    """Replace the receiver's own schedule; it overrides its station's."""
    receiver, station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    receiver.volume_schedule = volume.parse_schedule(body.model_dump()).as_dict()
    session.add(receiver)
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.volume_schedule",
        object_type="receiver",
        object_id=receiver_id,
        area_id=station.area_id,
        detail=receiver.volume_schedule,
    )
    return volume_schedule_public(
        station.volume_schedule, receiver.volume_schedule, zone=settings.zone, now=clock()
    )


@router.delete(
    "/{receiver_id}/volume-schedule",
    response_model=schemas.VolumeSchedulePublic,
    summary="Remove a receiver's own volume schedule",
)
def delete_receiver_volume_schedule(
    receiver_id: str,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> schemas.VolumeSchedulePublic:
    """The receiver follows its station's schedule again."""
    receiver, station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    receiver.volume_schedule = None
    session.add(receiver)
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.volume_schedule",
        object_type="receiver",
        object_id=receiver_id,
        area_id=station.area_id,
        detail=None,
    )
    return volume_schedule_public(station.volume_schedule, None, zone=settings.zone, now=clock())
