"""Reports: coverage and as-run per commune and language, and a station's iCalendar feed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import FeedPrincipalDep, IdPath, IdQuery, PrincipalDep, SessionDep, SettingsDep
from api.responses import XLSX, calendar_response, export_response, statistics_csv_response
from broadcast.reports import coverage as reports
from broadcast.reports import ical
from broadcast.reports import statistics as station_stats
from stations.timeutil import utcnow

router = APIRouter(tags=["reports"])


class TallyPublic(BaseModel):
    """Station airings planned, aired (on time or late), missed, no content, pending, cancelled."""

    planned: int = Field(description="Station airings not cancelled (every other outcome)")
    aired: int = Field(description="Aired, on time or late: on_time + late")
    on_time: int = Field(description="Aired, started no later than air time + late_after")
    late: int = Field(description="Aired, every aired delivery started late")
    missed: int = Field(description="Sent, and every delivery ended without airing")
    no_content: int = Field(
        description="Nothing airable, nothing sent (neither aired nor missed); includes blocked"
    )
    blocked: int = Field(description="Of no_content: blocked by a missing language version")
    no_version: int = Field(
        description="Per language: the airing had no item in this language (0 in totals)"
    )
    pending: int
    cancelled: int
    reaired: int = Field(
        0,
        description="Of the aired: aired again after an emergency interrupted them "
        "(the status names the emergency: `interrupted_by`); 0 per language",
    )
    minutes_aired: float
    relays: int = Field(
        0, description="Of `aired`: relays of a live stream (broadcasts of kind relay)"
    )
    relay_minutes: float = Field(
        0.0, description="Of `minutes_aired`: minutes relayed, less what receivers lost to cuts"
    )
    deliveries: int
    deliveries_aired: int
    coverage: float | None


class CommuneRow(TallyPublic):
    """One commune's figures."""

    code: str
    name: str
    languages: dict[str, TallyPublic]
    receivers: int
    receivers_online: int
    deliveries_reached: int


class CoveragePublic(BaseModel):
    """The coverage and as-run report of a period and area."""

    start: str
    end: str
    timezone: str
    area_code: str | None
    total: TallyPublic
    languages: dict[str, TallyPublic]
    communes: list[CommuneRow]


def _tally(t: reports.Tally) -> TallyPublic:
    return TallyPublic(
        planned=t.planned,
        aired=t.aired,
        on_time=t.on_time,
        late=t.late,
        missed=t.missed,
        no_content=t.no_content,
        blocked=t.blocked,
        no_version=t.no_version,
        pending=t.pending,
        cancelled=t.cancelled,
        reaired=t.reaired,
        minutes_aired=round(t.minutes_aired, 2),
        relays=t.relays,
        relay_minutes=round(t.relay_minutes, 2),
        deliveries=t.deliveries,
        deliveries_aired=t.deliveries_aired,
        coverage=t.coverage,
    )


def report_public(report: reports.CoverageReport) -> CoveragePublic:
    """The report as JSON."""
    communes = []
    for code in sorted(set(report.communes) | set(report.availability)):
        tally = report.communes.get(code, reports.Tally())
        avail = report.availability.get(code, reports.Availability())
        communes.append(
            CommuneRow(
                **_tally(tally).model_dump(),
                code=code,
                name=report.commune_names.get(code, code),
                languages={
                    lang: _tally(t)
                    for (c, lang), t in report.commune_languages.items()
                    if c == code
                },
                receivers=avail.receivers,
                receivers_online=avail.online,
                deliveries_reached=avail.reached,
            )
        )
    return CoveragePublic(
        start=report.start.isoformat(),
        end=report.end.isoformat(),
        timezone=report.timezone,
        area_code=report.area_code,
        total=_tally(report.total),
        languages={lang: _tally(t) for lang, t in report.languages.items()},
        communes=communes,
    )


@router.get(
    "/reports/coverage",
    response_model=CoveragePublic,
    summary="Coverage and as-run report",
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}},
)
def coverage(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    from_: Annotated[date | None, Query(alias="from", description="First day (local)")] = None,
    to: Annotated[date | None, Query(description="Last day, included (local)")] = None,
    area_code: Annotated[str | None, Query(description="Only this area's subtree")] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",  # noqa: A002
) -> CoveragePublic | Response:
    """Planned vs aired (on time, late) vs missed vs no content per commune and language.

    Also minutes aired and receivers. Days are read in LOA_TIMEZONE; without dates the
    report covers the last 7 days. An airing that started more than
    LOA_LATE_AFTER_SECONDS after air time aired late.
    """
    today = utcnow().astimezone(settings.zone).date()
    last = reports.check_report_day(to or today)
    first = from_ or max(last - timedelta(days=6), reports.FIRST_REPORT_DAY)
    start, end = reports.period_of(first, last, settings.zone)
    report = reports.coverage_report(
        session=session,
        scope=principal.scope,
        start=start,
        end=end,
        zone=settings.zone,
        area_code=area_code,
        late_after_seconds=settings.late_after_seconds,
    )
    if format == "json":
        return report_public(report)
    return export_response(report, format)


class StationDayPublic(BaseModel):
    """One station's figures for one local day (docs/api.md, "Statistics per station and day")."""

    date: str = Field(description="The day, YYYY-MM-DD on the LOA_TIMEZONE clock")
    station_id: int
    station_name: str
    station_kind: str = Field(description="ip or legacy")
    area_code: str
    area_name: str
    airings_planned: int = Field(description="Station airings of the day not cancelled")
    airings_aired: int = Field(description="Aired, on time or late")
    airings_on_time: int
    airings_late: int
    airings_missed: int = Field(description="Sent, and every delivery ended without airing")
    airings_no_content: int = Field(description="Nothing airable: nothing was sent")
    airings_pending: int = Field(description="Not due yet, or still under way")
    airings_cancelled: int
    minutes_aired: float = Field(description="Minutes of what aired, idents included")
    bulletins_normal: int = Field(description="Bulletins of the aired airings, priority normal")
    bulletins_priority: int
    bulletins_emergency: int
    receivers: int = Field(description="Active receivers of the station (legacy: 0)")
    receivers_online: int = Field(description="Of them, heard from that day")
    receivers_offline: int = Field(description="receivers - receivers_online")


class StatisticsPublic(BaseModel):
    """The statistics of a period: one row per station and day."""

    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    timezone: str
    area_code: str | None
    station_id: int | None
    fields: list[str] = Field(description="The row fields, in the CSV's column order")
    rows: list[StationDayPublic]


@router.get(
    "/reports/statistics",
    response_model=StatisticsPublic,
    response_model_by_alias=True,
    summary="Statistics per station and day",
    responses={200: {"content": {"text/csv": {}}}},
)
def statistics(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    from_: Annotated[date | None, Query(alias="from", description="First day (local)")] = None,
    to: Annotated[date | None, Query(description="Last day, included (local)")] = None,
    area_code: Annotated[str | None, Query(description="Only this area's subtree")] = None,
    station_id: IdQuery = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",  # noqa: A002
) -> StatisticsPublic | Response:
    """Per station and local day: airings, minutes aired, bulletins by priority, receivers.

    Days are read in LOA_TIMEZONE; without dates the last 7 days; at most 92 days. The
    figures are the coverage report's, by station and day.
    """
    today = utcnow().astimezone(settings.zone).date()
    last = reports.check_report_day(to or today)
    first = from_ or max(last - timedelta(days=6), reports.FIRST_REPORT_DAY)
    found = station_stats.station_statistics(
        session=session,
        scope=principal.scope,
        first=first,
        last=last,
        zone=settings.zone,
        area_code=area_code,
        station_id=station_id,
        late_after_seconds=settings.late_after_seconds,
    )
    if format == "csv":
        return statistics_csv_response(found)
    return StatisticsPublic(
        **{"from": found.first.isoformat()},
        to=found.last.isoformat(),
        timezone=found.timezone,
        area_code=found.area_code,
        station_id=found.station_id,
        fields=station_stats.FIELDS,
        rows=[StationDayPublic(**row.public()) for row in found.rows],
    )


@router.get(
    "/stations/{station_id}/schedule.ics",
    summary="A station's schedule as iCalendar",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    tags=["stations"],
)
def station_schedule_ics(
    station_id: IdPath, request: Request, session: SessionDep, principal: FeedPrincipalDep
) -> Response:
    """Airings of the last 30 and next 120 days as an RFC 5545 calendar (times in UTC).

    A calendar app subscribes with `?feed=<secret>` (POST /api/v1/auth/feed-token) instead
    of a bearer header.
    """
    body = ical.calendar_of_station(
        session=session,
        scope=principal.scope,
        station_id=station_id,
        host=request.url.hostname or "loa",
    )
    return calendar_response(body, station_id)
