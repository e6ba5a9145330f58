"""The role-aware home page: today's airings, stations, coverage, alerts."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.console.web import ConsoleRoute, UserDep, render
from api.deps import SessionDep, SettingsDep
from broadcast import reports, scheduling, status
from broadcast.broadcast_models import Broadcast
from broadcast.models import Role
from broadcast.settings import Settings
from broadcast.users import Principal
from stations import registry
from stations.timeutil import as_utc, utcnow

router = APIRouter(route_class=ConsoleRoute)


def today_bounds(settings: Settings, day_offset: int = 0) -> tuple[datetime, datetime]:
    """Today's [00:00, 24:00) on the local wall clock, as UTC times."""
    local = utcnow().astimezone(settings.zone).date() + timedelta(days=day_offset)
    start = datetime.combine(local, time.min, tzinfo=settings.zone)
    return as_utc(start), as_utc(start + timedelta(days=1))


def broadcast_labels(broadcasts: list[Broadcast], titles: dict[int, str]) -> dict[int, str]:
    """A readable name per broadcast: its title, else its bulletins' titles."""
    return {
        b.id or 0: b.title or ", ".join(titles.get(i, f"#{i}") for i in b.bulletin_ids)
        for b in broadcasts
    }


def station_summaries(session: Session, principal: Principal) -> list[dict[str, object]]:
    """Every station in scope with its receivers online and in total."""
    rows, _total = registry.list_stations(session=session, scope=principal.scope, limit=500)
    out = []
    for station, area in rows:
        receivers, total = registry.list_receivers(
            session=session, scope=principal.scope, station_id=station.id, limit=1000
        )
        out.append(
            {
                "station": station,
                "area": area,
                "total": total,
                "online": sum(1 for r in receivers if r.online),
                "offline": [r for r in receivers if not r.online and r.active],
            }
        )
    return out


def broadcast_coverage(
    session: Session, principal: Principal, limit: int = 8
) -> list[dict[str, object]]:
    """Recent broadcasts with their counts by state and coverage share."""
    rows, _total = scheduling.list_broadcasts(session=session, scope=principal.scope, limit=limit)
    out = []
    for broadcast in rows:
        report = status.broadcast_status(
            session=session, broadcast=broadcast, scope=principal.scope
        )
        out.append(
            {
                "broadcast": broadcast,
                "counts": report.counts,
                "total": report.total,
                "coverage": reports.coverage_share(report.counts),
            }
        )
    return out


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, session: SessionDep, settings: SettingsDep, principal: UserDep
) -> HTMLResponse:
    """What airs today, stations online/offline, coverage of recent broadcasts, alerts."""
    start, end = today_bounds(settings)
    today = reports.airings(session=session, scope=principal.scope, start=start, end=end)
    titles = reports.bulletin_titles(
        session=session, ids=[i for a in today for i in a.broadcast.bulletin_ids]
    )
    stations = station_summaries(session, principal)
    problems = reports.recent_problems(
        session=session, scope=principal.scope, since=utcnow() - timedelta(days=1)
    )
    return render(
        request,
        "home.html",
        {
            "today": today,
            "labels": broadcast_labels([a.broadcast for a in today], titles),
            "stations": stations,
            "online": sum(int(str(s["online"])) for s in stations),
            "receivers": sum(int(str(s["total"])) for s in stations),
            "broadcasts": broadcast_coverage(session, principal),
            "problems": problems,
            "offline": [(s["station"], r) for s in stations for r in s["offline"]],  # type: ignore[attr-defined]
            "is_operator": principal.role is Role.operator,
        },
        principal=principal,
    )
