"""Table rows to public shapes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import Session, col, select

from api import schemas
from broadcast.people.models import ApiToken, AuditEvent, Role, User
from stations import volume
from stations.areas import parent_code_of
from stations.models import Area, AreaLevel, Receiver, Station, StationKind
from stations.timeutil import as_utc


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def area_public(session: Session, area: Area) -> schemas.AreaPublic:
    """An area with its parent's code."""
    return schemas.AreaPublic(
        id=area.id or 0,
        code=area.code,
        name=area.name,
        level=AreaLevel(area.level),
        parent_code=parent_code_of(session=session, area=area),
        border=bool(area.border),
        tts_engine=area.tts_engine,  # type: ignore[arg-type]  # checked when written
        tts_accent=area.tts_accent,  # type: ignore[arg-type]
        tts_speed=area.tts_speed,
    )


def station_public(station: Station, area: Area) -> schemas.StationPublic:
    """A station with its area's code and name."""
    return schemas.StationPublic(
        id=station.id or 0,
        area_code=area.code,
        area_name=area.name,
        name=station.name,
        kind=StationKind(station.kind),
        languages=list(station.languages),
        idents={kind: schemas.IdentPublic(**meta) for kind, meta in (station.idents or {}).items()},
        active=station.active,
        created_at=as_utc(station.created_at),
        tts_engine=station.tts_engine,  # type: ignore[arg-type]  # checked when written
        tts_accent=station.tts_accent,  # type: ignore[arg-type]
        tts_speed=station.tts_speed,
        audio_codec=station.audio_codec,  # type: ignore[arg-type]
        opus_bitrate_kbps=station.opus_bitrate_kbps,
    )


def receiver_public(receiver: Receiver) -> schemas.ReceiverPublic:
    """A receiver without secrets."""
    return schemas.ReceiverPublic(
        id=receiver.id,
        station_id=receiver.station_id,
        name=receiver.name,
        location=receiver.location,
        latitude=receiver.latitude,
        longitude=receiver.longitude,
        mqtt_username=receiver.id,
        active=receiver.active,
        online=receiver.online,
        last_seen_at=_utc(receiver.last_seen_at),
        created_at=as_utc(receiver.created_at),
        codecs=list(receiver.codecs) if receiver.codecs is not None else None,
        reported_volume=receiver.reported_volume,
        reported_volume_at=_utc(receiver.reported_volume_at),
        features=list(receiver.features) if receiver.features is not None else None,
        filler_version=receiver.filler_version,
    )


def receiver_with_volume(
    public: schemas.ReceiverPublic,
    receiver: Receiver,
    station_schedule: dict[str, Any] | None,
    *,
    zone: tzinfo,
    now: datetime,
) -> schemas.ReceiverPublic:
    """The receiver with the volume its schedule sets now, flagged when it reports another."""
    expected = volume.expected_volume(station_schedule, receiver.volume_schedule, now, zone)
    reported = receiver.reported_volume
    return public.model_copy(
        update={
            "expected_volume": expected,
            "volume_mismatch": expected is not None
            and reported is not None
            and reported != expected,
        }
    )


def receivers_with_volume(
    session: Session, receivers: Sequence[Receiver], *, zone: tzinfo, now: datetime
) -> list[schemas.ReceiverPublic]:
    """Public receivers with their expected volume (one query for their stations)."""
    ids = {r.station_id for r in receivers}
    schedules: dict[int, Any] = {}
    if ids:
        schedules = {
            sid or 0: schedule
            for sid, schedule in session.exec(
                select(Station.id, Station.volume_schedule).where(col(Station.id).in_(ids))
            ).all()
        }
    return [
        receiver_with_volume(receiver_public(r), r, schedules.get(r.station_id), zone=zone, now=now)
        for r in receivers
    ]


def user_public(session: Session, user: User) -> schemas.UserPublic:
    """A user without the password hash."""
    area = session.get(Area, user.area_id) if user.area_id is not None else None
    return schemas.UserPublic(
        id=user.id or 0,
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        area_code=area.code if area else None,
        active=user.active,
        created_at=as_utc(user.created_at),
        email=user.email,
    )


def api_token_public(row: ApiToken) -> schemas.ApiTokenPublic:
    """An API token without its secret."""
    return schemas.ApiTokenPublic(
        id=row.id or 0,
        name=row.name,
        prefix=row.prefix,
        created_at=as_utc(row.created_at),
        last_used_at=_utc(row.last_used_at),
        expires_at=_utc(row.expires_at),
        revoked=row.revoked,
        scopes=list(row.scopes or []),
    )


def audit_public(event: AuditEvent) -> schemas.AuditEventPublic:
    """An audit-log entry."""
    return schemas.AuditEventPublic(
        id=event.id or 0,
        at=as_utc(event.at),
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        detail=dict(event.detail or {}),
    )


def volume_schedule_public(
    station_schedule: dict[str, Any] | None,
    receiver_schedule: dict[str, Any] | None,
    *,
    zone: tzinfo,
    now: datetime,
) -> schemas.VolumeSchedulePublic:
    """The schedule in force (a receiver's own, else its station's) and its volume now."""
    schedule, source = volume.effective_schedule(station_schedule, receiver_schedule)
    shown = schedule or volume.VolumeSchedule()
    return schemas.VolumeSchedulePublic(
        windows=[schemas.VolumeWindowIn(**w.as_dict()) for w in shown.windows],
        default_volume=shown.default_volume,
        emergency_volume=shown.emergency_volume,
        source=source,  # type: ignore[arg-type]  # "station" or "receiver"
        current_volume=None if schedule is None else schedule.volume_at(now, zone),
    )
