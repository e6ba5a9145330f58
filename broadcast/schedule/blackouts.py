"""Blackout periods per area: times when normal and priority airings may not air.

A blackout belongs to an area and covers every station below it. It is either a daily
window of local times of day in a zone (22:00-05:00, which may cross midnight) or a
dated range of UTC instants (an exam day, a funeral in a village). Emergencies ignore
blackouts; scheduling refuses the other airings that fall inside one, or moves them to
its end when the editor asks for that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import String
from sqlmodel import Field, Session, SQLModel, col, select

from broadcast.core import audit
from broadcast.people.models import Role
from broadcast.people.service import Principal
from stations.areas import Scope, get_area
from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.models import Area, UTCDateTime
from stations.timeutil import as_utc, utcnow

# A moved airing may land in another blackout; it moves on at most this many times.
MAX_MOVES = 20
MAX_REASON = 300


class BlackoutKind(StrEnum):
    """A daily window of local times, or a dated range of instants."""

    daily = "daily"
    dated = "dated"


class BlackoutChoice(StrEnum):
    """What scheduling does with an airing inside a blackout."""

    refuse = "refuse"
    move = "move"


class Blackout(SQLModel, table=True):
    """A period in which an area's stations air no normal or priority airing."""

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    kind: BlackoutKind = Field(sa_type=String(16))
    reason: str = Field(max_length=MAX_REASON)
    # A daily window: local times of day on the clock of `timezone`; the end may be
    # earlier than the start (the window crosses midnight).
    daily_start: time | None = None
    daily_end: time | None = None
    timezone: str | None = Field(default=None, max_length=64)
    # A dated range: UTC instants, the end excluded.
    starts_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    ends_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


# --- overlap ---------------------------------------------------------------------------


def _meets(start: datetime, end: datetime, begins: datetime, ends: datetime) -> bool:
    """Whether [start, end) meets [begins, ends); a point (start == end) when inside."""
    if end <= start:
        return begins <= start < ends
    return begins < end and start < ends


def daily_window_hit(
    start: datetime, end: datetime, *, daily_start: time, daily_end: time, zone: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """The first window [daily_start, daily_end) on the clock of `zone` that meets
    [start, end), as UTC instants; None when none does. `end <= start` is one instant."""
    first = as_utc(start).astimezone(zone).date() - timedelta(days=1)
    last = as_utc(max(start, end)).astimezone(zone).date()
    crosses = daily_end <= daily_start
    day: date = first
    while day <= last:
        begins = datetime.combine(day, daily_start, tzinfo=zone)
        ends = datetime.combine(day + timedelta(days=1) if crosses else day, daily_end, tzinfo=zone)
        if _meets(as_utc(start), as_utc(end), as_utc(begins), as_utc(ends)):
            return as_utc(begins), as_utc(ends)
        day += timedelta(days=1)
    return None


def blackout_hit(
    blackout: Blackout, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """The span of `blackout` that [start, end) meets (UTC), or None."""
    if blackout.kind == BlackoutKind.daily:
        if blackout.daily_start is None or blackout.daily_end is None:
            return None
        return daily_window_hit(
            start,
            end,
            daily_start=blackout.daily_start,
            daily_end=blackout.daily_end,
            zone=ZoneInfo(blackout.timezone or "UTC"),
        )
    if blackout.starts_at is None or blackout.ends_at is None:
        return None
    begins, ends = as_utc(blackout.starts_at), as_utc(blackout.ends_at)
    return (begins, ends) if _meets(as_utc(start), as_utc(end), begins, ends) else None


@dataclass(frozen=True, slots=True)
class Hit:
    """An airing inside a blackout, with the span of the blackout it meets."""

    blackout: Blackout
    air_at: datetime
    begins: datetime
    ends: datetime


def first_hit(
    blackouts: Sequence[Blackout], air_at: datetime, duration: timedelta | None
) -> Hit | None:
    """The blackout an airing of `duration` (None: the instant alone) meets, if any."""
    end = air_at + duration if duration else air_at
    hits = []
    for blackout in blackouts:
        span = blackout_hit(blackout, air_at, end)
        if span is not None:
            hits.append(Hit(blackout, air_at, *span))
    # The one that lasts longest: moving past it moves past the others that meet it.
    return max(hits, key=lambda h: h.ends) if hits else None


@dataclass(frozen=True, slots=True)
class MovedAiring:
    """An airing moved out of a blackout: where it was, where it went, and why."""

    before: datetime
    after: datetime
    reason: str


def blackouts_over(*, session: Session, areas: Sequence[Area]) -> list[Blackout]:
    """The blackouts of the areas and of every area above them."""
    ids = {int(p) for a in areas for p in a.path.strip("/").split("/") if p}
    ids |= {a.id for a in areas if a.id is not None}
    if not ids:
        return []
    return list(
        session.exec(
            select(Blackout)
            .where(col(Blackout.area_id).in_(sorted(ids)))
            .order_by(col(Blackout.id))
        ).all()
    )


def resolve_airings(
    *,
    blackouts: Sequence[Blackout],
    times: Sequence[datetime],
    duration: timedelta | None,
    choice: BlackoutChoice,
) -> tuple[list[datetime], list[MovedAiring]]:
    """The air times with the blackouts applied: refused, or each moved to the end of its
    blackout (airings that land on the same time air once). Returns the times in order
    and the airings moved."""
    if not blackouts:
        return list(times), []
    hits = [h for h in (first_hit(blackouts, t, duration) for t in times) if h is not None]
    if not hits:
        return list(times), []
    if choice is BlackoutChoice.refuse:
        first = hits[0]
        raise ConflictError(
            f"{len(hits)} airing(s) fall inside a blackout, the first at "
            f"{first.air_at.isoformat()} ({first.begins.isoformat()} to "
            f"{first.ends.isoformat()}: {first.blackout.reason})",
            code="schedule.blackout",
            count=len(hits),
            air_at=first.air_at,
            begins=first.begins,
            ends=first.ends,
            reason=first.blackout.reason,
        )
    moved: list[MovedAiring] = []
    out: set[datetime] = set()
    for air_at in times:
        hit = first_hit(blackouts, air_at, duration)
        if hit is None:
            out.add(air_at)
            continue
        new, reason = air_at, hit.blackout.reason
        for _ in range(MAX_MOVES):
            if hit is None:
                break
            new, reason = hit.ends, hit.blackout.reason
            hit = first_hit(blackouts, new, duration)
        if hit is not None:
            raise ConflictError(
                f"The airing at {air_at.isoformat()} finds no time outside the blackouts",
                code="schedule.blackout_no_way_out",
                air_at=air_at,
            )
        moved.append(MovedAiring(air_at, new, reason))
        out.add(new)
    return sorted(out), moved


def refuse_in_blackout(
    *, session: Session, areas: Sequence[Area], air_at: datetime, duration: timedelta | None
) -> None:
    """ConflictError when one airing at `air_at` falls inside a blackout of the areas."""
    hit = first_hit(blackouts_over(session=session, areas=areas), air_at, duration)
    if hit is not None:
        raise ConflictError(
            f"The new time {air_at.isoformat()} falls inside a blackout "
            f"({hit.begins.isoformat()} to {hit.ends.isoformat()}: {hit.blackout.reason})",
            code="airing.in_blackout",
            air_at=air_at,
            begins=hit.begins,
            ends=hit.ends,
            reason=hit.blackout.reason,
        )


# --- managing blackouts ----------------------------------------------------------------


def list_blackouts(*, session: Session, scope: Scope, area_code: str) -> list[Blackout]:
    """The blackouts of one area of the caller's subtree, oldest first."""
    area = get_area(session=session, code=area_code, scope=scope)
    return list(
        session.exec(
            select(Blackout).where(Blackout.area_id == area.id).order_by(col(Blackout.id))
        ).all()
    )


def create_blackout(
    *,
    session: Session,
    principal: Principal,
    area_code: str,
    reason: str,
    zone_name: str,
    daily_start: time | None = None,
    daily_end: time | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> Blackout:
    """An editor adds a blackout to an area of their subtree: a daily window (local times
    of day in `zone_name`) or a dated range (instants with an offset). Audit-logged; the
    caller commits."""
    principal.require(Role.editor)
    area = get_area(session=session, code=area_code, scope=principal.scope)
    text = reason.strip()
    if not text:
        raise InvalidInputError("A blackout needs a reason", code="blackout.no_reason")
    if len(text) > MAX_REASON:
        raise InvalidInputError(
            f"The reason is longer than {MAX_REASON} characters",
            code="blackout.reason_too_long",
            limit=MAX_REASON,
        )
    daily = daily_start is not None or daily_end is not None
    dated = starts_at is not None or ends_at is not None
    if daily == dated:
        raise InvalidInputError(
            "Give either a daily window (daily_start, daily_end) or a dated range "
            "(starts_at, ends_at)",
            code="blackout.kind_unclear",
        )
    if daily:
        if daily_start is None or daily_end is None or daily_start == daily_end:
            raise InvalidInputError(
                "A daily window needs a start and a different end",
                code="blackout.bad_window",
            )
        row = Blackout(
            area_id=area.id or 0,
            kind=BlackoutKind.daily,
            reason=text,
            daily_start=daily_start.replace(second=0, microsecond=0, tzinfo=None),
            daily_end=daily_end.replace(second=0, microsecond=0, tzinfo=None),
            timezone=zone_name,
        )
    else:
        if starts_at is None or ends_at is None:
            raise InvalidInputError(
                "A dated range needs a start and an end", code="blackout.bad_range"
            )
        if starts_at.tzinfo is None or ends_at.tzinfo is None:
            raise InvalidInputError(
                "starts_at and ends_at need an offset (RFC 3339)",
                code="blackout.time_without_offset",
            )
        if as_utc(ends_at) <= as_utc(starts_at):
            raise InvalidInputError(
                "The blackout must end after it starts", code="blackout.bad_range"
            )
        row = Blackout(
            area_id=area.id or 0,
            kind=BlackoutKind.dated,
            reason=text,
            starts_at=as_utc(starts_at),
            ends_at=as_utc(ends_at),
        )
    row.created_by_id = principal.user.id
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=principal.user,
        action="blackout.create",
        object_type="blackout",
        object_id=row.id or 0,
        area_id=area.id,
        detail={
            "area_code": area.code,
            "kind": row.kind.value,
            "reason": text,
            "daily": [str(row.daily_start), str(row.daily_end)] if daily else None,
            "range": [row.starts_at.isoformat(), row.ends_at.isoformat()]
            if row.starts_at and row.ends_at
            else None,
        },
    )
    return row


def get_blackout(*, session: Session, scope: Scope, blackout_id: int) -> tuple[Blackout, Area]:
    """A blackout and its area, or NotFoundError when absent or outside the caller's subtree."""
    found = session.exec(
        select(Blackout, Area)
        .join(Area, col(Blackout.area_id) == col(Area.id))
        .where(Blackout.id == blackout_id, scope.clause())
    ).first()
    if found is None:
        raise NotFoundError(
            f"Blackout {blackout_id} not found",
            code="blackout.not_found",
            blackout_id=blackout_id,
        )
    return found[0], found[1]


def delete_blackout(*, session: Session, principal: Principal, blackout_id: int) -> Blackout:
    """An editor removes a blackout of their subtree. Audit-logged; the caller commits."""
    principal.require(Role.editor)
    row, area = get_blackout(session=session, scope=principal.scope, blackout_id=blackout_id)
    session.delete(row)
    audit.record(
        session=session,
        actor=principal.user,
        action="blackout.delete",
        object_type="blackout",
        object_id=blackout_id,
        area_id=area.id,
        detail={"area_code": area.code, "reason": row.reason},
    )
    session.flush()
    return row
