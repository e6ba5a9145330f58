"""A station's week as a timeline: airings, blackouts, conflicts, gaps and filler.

On a wide screen each day is a bar from 0:00 to 24:00 with the airings placed on it; on
a phone the same day is a list (console.css switches between them). The figures come
from broadcast.reports.timeline, the module the REST route uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.console.home_pages import broadcast_labels
from api.console.web import ConsoleRoute, UserDep, render
from api.deps import IdPath, SessionDep, SettingsDep
from broadcast.reports import coverage as reports
from broadcast.reports.timeline import Band, Block, Day, monday_of, station_week
from stations import registry
from stations.timeutil import utcnow

router = APIRouter(route_class=ConsoleRoute)

WEEKDAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
DAY_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a span sits on its day's bar, in percent of the day."""

    left: float
    width: float


def placed(day: Day, start: datetime, end: datetime) -> Placed:
    """The span clipped to the day, as the left edge and width of a bar (at least 0.4 %,
    so a short airing stays visible)."""
    begins = max(start, day.start)
    ends = min(max(end, start), day.end)
    left = (begins - day.start).total_seconds() / DAY_SECONDS * 100
    width = max((ends - begins).total_seconds() / DAY_SECONDS * 100, 0.4)
    return Placed(round(left, 3), round(min(width, 100 - left), 3))


def week_of(value: str, today: date) -> date:
    """The Monday of the week holding `value` (yyyy-mm-dd), else of today."""
    try:
        anchor = date.fromisoformat(value) if value else None
    except ValueError:
        anchor = None
    return monday_of(anchor, today)


@router.get("/stations/{station_id}/week", response_class=HTMLResponse)
def station_week_page(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    week: str = "",
) -> HTMLResponse:
    """The week of one station at a glance, Monday first."""
    station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    today = utcnow().astimezone(settings.zone).date()
    monday = week_of(week, today)
    shown = station_week(
        session=session,
        scope=principal.scope,
        station=station,
        area=area,
        monday=monday,
        zone=settings.zone,
    )
    every = [b for d in shown.days for b in d.blocks]
    titles = reports.bulletin_titles(
        session=session, ids=[i for b in every for i in b.broadcast.bulletin_ids]
    )

    def bar(day: Day, item: Block | Band) -> Placed:
        return placed(day, item.start, item.end)

    return render(
        request,
        "station_week.html",
        {
            "station": station,
            "area": area,
            "week": shown,
            "names": WEEKDAY_NAMES,
            "labels": broadcast_labels([b.broadcast for b in every], titles),
            "bar": bar,
            "today": today,
            "prev_week": (monday - timedelta(days=7)).isoformat(),
            "next_week": (monday + timedelta(days=7)).isoformat(),
            "hours": list(range(0, 25, 3)),
        },
        principal=principal,
    )
