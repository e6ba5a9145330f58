"""A station's week at a glance: airings with their lengths, blackouts, conflicts, gaps
and filler."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import IdPath, PrincipalDep, SessionDep, SettingsDep
from broadcast.reports.timeline import monday_of, station_week
from stations import registry
from stations.protocol import Priority
from stations.timeutil import utcnow

router = APIRouter(tags=["stations"])


class WeekAiringPublic(BaseModel):
    """One airing at the station."""

    broadcast_id: int
    occurrence: int
    ref: str = Field(description="`<broadcast>.<seq>`, as in MQTT commands")
    title: str | None = Field(description="The broadcast's title, when it has one")
    bulletin_ids: list[int]
    priority: Priority
    state: str = Field(description="The airing's state (pending, dispatched, cancelled, …)")
    start: datetime
    end: datetime
    estimated: bool = Field(
        description="Length from the bulletins' versions in the station's languages "
        "(not dispatched yet); else the length of the programme sent"
    )
    conflict: bool = Field(description="Overlaps another airing at the station (not cancelled)")


class SpanPublic(BaseModel):
    """A blackout (with its reason), a gap in the announced broadcast hours, or filler."""

    start: datetime
    end: datetime
    reason: str = ""


class WeekDayPublic(BaseModel):
    """One local day."""

    date: date
    airings: list[WeekAiringPublic]
    blackouts: list[SpanPublic]
    gaps: list[SpanPublic] = Field(
        description="The time of the station's broadcast hours (its filler windows) that "
        "no airing covers, cancelled airings aside; blackouts and filler not taken out"
    )
    filler: list[SpanPublic] = Field(
        description="When the station's filler airs: the gaps less the blackouts, which "
        "its receivers fill with its filler tracks; empty when filler is off"
    )
    conflicts: int


class StationWeekPublic(BaseModel):
    """A station's week, Monday first, in LOA_TIMEZONE."""

    station_id: int
    station_name: str
    area_code: str
    timezone: str
    week_start: date
    days: list[WeekDayPublic]


@router.get(
    "/stations/{station_id}/week",
    response_model=StationWeekPublic,
    summary="A station's week: airings, blackouts, conflicts, gaps and filler",
)
def get_station_week(
    station_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    week: Annotated[
        date | None, Query(description="Any day of the week (local); default this week")
    ] = None,
) -> StationWeekPublic:
    """The seven local days from the Monday of `week`, as the console's timeline shows them.

    Airings of every broadcast that reaches the station's commune, cancelled ones
    included; blackouts of the station's area and of the areas above it, clipped to each
    day; airings that overlap marked as conflicts; the gaps in the station's broadcast
    hours and, when its filler airs, the spans filler fills.
    """
    station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    monday = monday_of(week, utcnow().astimezone(settings.zone).date())
    found = station_week(
        session=session,
        scope=principal.scope,
        station=station,
        area=area,
        monday=monday,
        zone=settings.zone,
    )
    return StationWeekPublic(
        station_id=station.id or 0,
        station_name=station.name,
        area_code=area.code,
        timezone=str(settings.zone),
        week_start=monday,
        days=[
            WeekDayPublic(
                date=day.day,
                airings=[
                    WeekAiringPublic(
                        broadcast_id=b.broadcast.id or 0,
                        occurrence=b.occurrence.seq,
                        ref=f"{b.broadcast.id}.{b.occurrence.seq}",
                        title=b.broadcast.title,
                        bulletin_ids=list(b.broadcast.bulletin_ids),
                        priority=Priority(b.broadcast.priority),
                        state=str(b.occurrence.state),
                        start=b.start,
                        end=b.end,
                        estimated=b.estimated,
                        conflict=b.conflict,
                    )
                    for b in day.blocks
                ],
                blackouts=[
                    SpanPublic(start=x.start, end=x.end, reason=x.reason) for x in day.blackouts
                ],
                gaps=[SpanPublic(start=x.start, end=x.end) for x in day.gaps],
                filler=[SpanPublic(start=x.start, end=x.end) for x in day.filler],
                conflicts=day.conflicts,
            )
            for day in found.days
        ],
    )
