"""The role-aware home page: today's airings, stations, coverage, alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from api.console.airing_details import vietnamese_detail
from api.console.web import ConsoleRoute, UserDep, render, templates
from api.deps import ClockDep, SessionDep, SettingsDep
from broadcast.bulletins import reviewers
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import BulletinStatus
from broadcast.campaigns import progress as campaign_progress
from broadcast.campaigns import service as campaigns
from broadcast.core.settings import Settings
from broadcast.delivery import status
from broadcast.delivery.models import NOT_SENT_STATES, Delivery
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.reports import coverage as reports
from broadcast.schedule import service as scheduling
from broadcast.schedule.models import Broadcast, Occurrence, OccurrenceState
from stations import registry
from stations.errors import NotFoundError
from stations.models import Area, AreaLevel, Station
from stations.timeutil import as_utc, utcnow

router = APIRouter(route_class=ConsoleRoute)
# Details of airings and deliveries, stored in English, read in Vietnamese.
templates.env.filters["airing_detail"] = vietnamese_detail
UNSENT_DAYS = 7  # how far back the home page lists airings that sent nothing
UNSENT_ROWS = 20


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
    """Every station in scope with its receivers online and in total (three queries)."""
    rows, _total = registry.list_stations(session=session, scope=principal.scope, limit=None)
    receivers = registry.receivers_by_station(session=session, scope=principal.scope)
    empty = registry.StationReceivers()
    out = []
    for station, area in rows:
        found = receivers.get(station.id or 0, empty)
        out.append(
            {
                "station": station,
                "area": area,
                "total": found.total,
                "online": found.online,
                "offline": list(found.offline),
            }
        )
    return out


def broadcast_coverage(
    session: Session, principal: Principal, limit: int = 8
) -> list[dict[str, object]]:
    """Recent broadcasts with their counts by state and coverage share (three queries)."""
    rows, _total = scheduling.list_broadcasts(session=session, scope=principal.scope, limit=limit)
    summaries = scheduling.airing_summaries(
        session=session, broadcast_ids=[b.id or 0 for b in rows]
    )
    counts = status.state_counts(
        session=session, scope=principal.scope, broadcast_ids=[b.id or 0 for b in rows]
    )
    out = []
    for broadcast in rows:
        summary = summaries.get(broadcast.id or 0, scheduling.AiringSummary())
        found = counts.get(broadcast.id or 0, {})
        out.append(
            {
                "broadcast": broadcast,
                "state": summary.state(broadcast.status),
                "counts": found,
                "total": sum(found.values()),
                "coverage": reports.coverage_share(found),
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class UnsentAiring:
    """An airing that sent nothing to one station (or to any, when `station` is None)."""

    occurrence: Occurrence
    broadcast: Broadcast
    station: Station | None
    state: str  # no_content or blocked
    detail: str | None


def unsent_airings(session: Session, principal: Principal, since: datetime) -> list[UnsentAiring]:
    """Recent airings that sent nothing to a station in scope (no content, blocked), newest first.

    One row per airing and station; an airing given up before any delivery was made
    has one row without a station.
    """
    found = session.exec(
        select(Delivery.occurrence_id, Delivery.station_id, Delivery.state, Delivery.detail)
        .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        .join(Station, col(Delivery.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(
            principal.scope.clause(),
            col(Delivery.state).in_([s.value for s in NOT_SENT_STATES]),
            col(Occurrence.air_at) >= since,
        )
        .distinct()
        .order_by(col(Delivery.occurrence_id).desc(), col(Delivery.station_id))
        .limit(UNSENT_ROWS)
    ).all()
    rows: list[tuple[int, int | None, str, str | None]] = [
        (oid, sid, str(state), detail) for oid, sid, state, detail in found
    ]
    bare = session.exec(
        select(Occurrence.id, Occurrence.detail)
        .where(
            Occurrence.state == OccurrenceState.no_content,
            col(Occurrence.air_at) >= since,
            col(Occurrence.id).not_in([r[0] for r in rows]),
        )
        .limit(UNSENT_ROWS)
    ).all()
    rows += [(oid or 0, None, OccurrenceState.no_content.value, detail) for oid, detail in bare]
    out: list[UnsentAiring] = []
    for oid, sid, state, detail in rows:
        occ = session.get(Occurrence, oid)
        if occ is None:
            continue
        if (
            sid is None
            and session.exec(
                select(Delivery.id).where(Delivery.occurrence_id == oid).limit(1)
            ).first()
        ):
            continue  # it has deliveries, none of them in scope
        try:
            broadcast = scheduling.get_broadcast(
                session=session, broadcast_id=occ.broadcast_id, scope=principal.scope
            )
        except NotFoundError:
            continue
        station = session.get(Station, sid) if sid is not None else None
        out.append(UnsentAiring(occ, broadcast, station, state, detail or occ.detail))
    out.sort(key=lambda u: as_utc(u.occurrence.air_at), reverse=True)
    return out[:UNSENT_ROWS]


def campaigns_behind(
    session: Session, settings: Settings, principal: Principal, now: datetime
) -> list[tuple[campaigns.CampaignView, int, int]]:
    """For a province's or district's user (and a global administrator): each campaign
    running today, with how many of its target communes in their area are behind, of
    how many. A fixed number of queries per campaign."""
    if principal.area is not None and principal.area.level not in (
        AreaLevel.province,
        AreaLevel.district,
    ):
        return []
    today = as_utc(now).astimezone(settings.zone).date()
    running = campaigns.list_campaigns(session=session, scope=principal.scope, active_on=today)
    views = [campaigns.view_of(session=session, campaign=c, area=a) for c, a in running]
    counts = campaign_progress.behind_counts(
        session=session, scope=principal.scope, views=views, zone=settings.zone, now=now
    )
    return [(view, behind, total) for view, behind, total in counts if total]


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    clock: ClockDep,
) -> HTMLResponse:
    """What airs today, stations online/offline, coverage of recent broadcasts, alerts."""
    start, end = today_bounds(settings)
    today = reports.airings(session=session, scope=principal.scope, start=start, end=end)
    titles = reports.bulletin_titles(
        session=session, ids=[i for a in today for i in a.broadcast.bulletin_ids]
    )
    stations = station_summaries(session, principal)
    since = utcnow() - timedelta(days=1)
    problems = reports.recent_problems(session=session, scope=principal.scope, since=since)
    problem_count = reports.count_recent_problems(
        session=session, scope=principal.scope, since=since
    )
    unsent = unsent_airings(session, principal, utcnow() - timedelta(days=UNSENT_DAYS))
    to_review, to_review_total = (
        bulletins.list_bulletins(
            session=session, scope=principal.scope, status=BulletinStatus.submitted, limit=10
        )
        if principal.role in (Role.approver, Role.admin)
        else ([], 0)
    )
    rejected, rejected_total = (
        bulletins.list_bulletins(
            session=session,
            scope=principal.scope,
            status=BulletinStatus.rejected,
            author_id=principal.user.id if principal.role is Role.editor else None,
            limit=10,
        )
        if principal.role in (Role.editor, Role.admin)
        else ([], 0)
    )
    my_reviews = reviewers.awaiting_my_review(session=session, principal=principal, limit=20)
    offline = [(s["station"], r) for s in stations for r in s["offline"]]  # type: ignore[attr-defined]
    unsent_titles = reports.bulletin_titles(
        session=session, ids=[i for u in unsent for i in u.broadcast.bulletin_ids]
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
            "unsent": unsent,
            "unsent_labels": broadcast_labels([u.broadcast for u in unsent], unsent_titles),
            "offline": offline,
            "alerts": problem_count + len(offline),
            "problem_count": problem_count,
            "to_review": to_review,
            "to_review_total": to_review_total,
            "my_reviews": my_reviews,
            "language_names": {
                lang.code: lang.name for lang in registry.list_languages(session=session)
            },
            "rejected": rejected,
            "rejected_total": rejected_total,
            "is_operator": principal.role is Role.operator,
            "campaigns_behind": campaigns_behind(session, settings, principal, clock()),
        },
        principal=principal,
    )
