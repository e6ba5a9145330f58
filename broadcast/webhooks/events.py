"""The events other systems follow, built from the changes where they happen.

Each function is called by the service that makes the change, in its transaction, and
writes nothing when no active subscription follows the event (broadcast.webhooks.outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, SQLModel

import stations.models  # noqa: F401 - the station, receiver and area tables
from broadcast.bulletins.models import Bulletin
from broadcast.delivery.models import Delivery
from broadcast.schedule.models import Broadcast, Occurrence, OccurrenceState
from broadcast.webhooks.models import EventType
from broadcast.webhooks.outbox import ActiveSubscriptionCache, NewEvent, active, emit, iso

DELIVERY = Delivery.__table__  # type: ignore[attr-defined]
STATION = SQLModel.metadata.tables["station"]
RECEIVER = SQLModel.metadata.tables["receiver"]
AREA = SQLModel.metadata.tables["area"]
# Deliveries in these states aired (a receiver completed it, or an operator confirmed it).
_AIRED = ("completed", "confirmed")


def _area(session: Session, area_id: int) -> tuple[str, str]:
    """(code, path) of an area."""
    row = session.execute(select(AREA.c.code, AREA.c.path).where(AREA.c.id == area_id)).first()
    return (row[0], row[1]) if row is not None else ("", "/")


def _airing_ref(broadcast_id: int, seq: int) -> str:
    return f"{broadcast_id}.{seq}"


def broadcast_created(
    session: Session, broadcast: Broadcast, air_times: Sequence[datetime], *, now: datetime
) -> None:
    """`broadcast.created`: a broadcast was scheduled (by an editor, a CAP alert, a voice)."""
    followers = active(session)
    if not followers:
        return
    code, path = _area(session, broadcast.area_id)
    data: dict[str, Any] = {
        "broadcast_id": broadcast.id,
        "title": broadcast.title,
        "priority": broadcast.priority,
        "area_code": code,
        "area_codes": list(broadcast.area_codes),
        "bulletin_ids": list(broadcast.bulletin_ids),
        "starts_at": iso(broadcast.starts_at),
        "rrule": broadcast.rrule,
        "airings": len(air_times),
        "first_air_at": iso(min(air_times)) if air_times else None,
    }
    emit(
        session,
        [NewEvent(EventType.broadcast_created, path, broadcast.area_id, data)],
        now=now,
        subscriptions=followers,
    )


def bulletin_approved(
    session: Session,
    bulletin: Bulletin,
    *,
    approved_by: str | None,
    rule: str | None,
    now: datetime,
) -> None:
    """`broadcast.approved`: a bulletin was approved for broadcasting (by a person or a rule)."""
    followers = active(session)
    if not followers:
        return
    code, path = _area(session, bulletin.area_id)
    data: dict[str, Any] = {
        "bulletin_id": bulletin.id,
        "title": bulletin.title,
        "priority": bulletin.priority,
        "area_code": code,
        "approved_by": approved_by,
        "rule": rule,
        "approved_at": iso(bulletin.reviewed_at),
    }
    emit(
        session,
        [NewEvent(EventType.broadcast_approved, path, bulletin.area_id, data)],
        now=now,
        subscriptions=followers,
    )


def airing_dispatched(
    session: Session, broadcast: Broadcast, occurrence: Occurrence, *, now: datetime
) -> None:
    """`broadcast.dispatched`: an airing's deliveries were written and its commands queued."""
    followers = active(session)
    if not followers:
        return
    d = DELIVERY
    counts = dict(
        session.execute(
            select(d.c.state, func.count())
            .where(d.c.occurrence_id == occurrence.id)
            .group_by(d.c.state)
        ).all()
    )
    stations = session.execute(
        select(func.count(func.distinct(d.c.station_id))).where(d.c.occurrence_id == occurrence.id)
    ).scalar_one()
    code, path = _area(session, broadcast.area_id)
    data: dict[str, Any] = {
        "broadcast_id": broadcast.id,
        "airing": _airing_ref(broadcast.id or 0, occurrence.seq),
        "seq": occurrence.seq,
        "air_at": iso(occurrence.air_at),
        "priority": broadcast.priority,
        "area_code": code,
        "stations": stations,
        "deliveries": sum(counts.values()),
        "states": counts,
    }
    event = NewEvent(EventType.broadcast_dispatched, path, broadcast.area_id, data)
    emit(session, [event], now=now, subscriptions=followers)


def airings_settled(session: Session, occurrences: Sequence[Occurrence], *, now: datetime) -> None:
    """`broadcast.completed` or `broadcast.missed`, once per station of each settled airing.

    A station's airing completed when at least one of its receivers aired it (or its
    operator confirmed it), else it was missed. One read for all the airings settled.
    """
    if not occurrences:
        return
    followers = active(session)
    if not followers:
        return
    d, s, a = DELIVERY, STATION, AREA
    ids = [occ.id for occ in occurrences]
    aired = func.sum(case((d.c.state.in_(_AIRED), 1), else_=0))
    rows = session.execute(
        select(
            d.c.occurrence_id,
            d.c.broadcast_id,
            d.c.station_id,
            s.c.name,
            s.c.area_id,
            a.c.code,
            a.c.path,
            func.count(),
            aired,
        )
        .select_from(d.join(s, s.c.id == d.c.station_id).join(a, a.c.id == s.c.area_id))
        .where(d.c.occurrence_id.in_(ids))
        .group_by(d.c.occurrence_id, d.c.broadcast_id, d.c.station_id, s.c.name, s.c.area_id)
        .group_by(a.c.code, a.c.path)
    ).all()
    by_id = {occ.id: occ for occ in occurrences}
    events: list[NewEvent] = []
    for oid, bid, sid, name, area_id, code, path, total, aired_count in rows:
        occ = by_id[oid]
        if occ.state == OccurrenceState.cancelled and not aired_count:
            continue  # cancelled before it aired there: neither completed nor missed
        kind = EventType.broadcast_completed if aired_count else EventType.broadcast_missed
        data: dict[str, Any] = {
            "broadcast_id": bid,
            "airing": _airing_ref(bid, occ.seq),
            "seq": occ.seq,
            "air_at": iso(occ.air_at),
            "station_id": sid,
            "station_name": name,
            "area_code": code,
            "deliveries": int(total),
            "aired": int(aired_count or 0),
        }
        events.append(NewEvent(kind, path, area_id, data))
    emit(session, events, now=now, subscriptions=followers)


def receivers_changed(
    session: Session,
    changes: dict[str, bool],
    *,
    subscribed: ActiveSubscriptionCache | None,
    now: datetime,
) -> dict[str, bool]:
    """`receiver.online` / `receiver.offline` for receivers whose stored state changes.

    `changes` maps receiver ids to the online flag about to be written. Call it before
    the write: it reads the flags stored now, and only a change is an event. With no
    active subscription (asked of `subscribed`, cached) it reads nothing. Returns the
    changes it found.
    """
    if not changes or (subscribed is not None and not subscribed.any_active(session)):
        return {}
    followers = active(session)
    if not followers:
        return {}
    r, s, a = RECEIVER, STATION, AREA
    rows = session.execute(
        select(r.c.id, r.c.online, r.c.station_id, s.c.area_id, a.c.code, a.c.path)
        .select_from(r.join(s, s.c.id == r.c.station_id).join(a, a.c.id == s.c.area_id))
        .where(r.c.id.in_(sorted(changes)))
    ).all()
    found: dict[str, bool] = {}
    events: list[NewEvent] = []
    for rid, was_online, station_id, area_id, code, path in rows:
        online = changes[rid]
        if bool(was_online) == online:
            continue
        found[rid] = online
        kind = EventType.receiver_online if online else EventType.receiver_offline
        data = {
            "receiver_id": rid,
            "station_id": station_id,
            "area_code": code,
            "online": online,
            "at": iso(now),
        }
        events.append(NewEvent(kind, path, area_id, data))
    emit(session, events, now=now, subscriptions=followers)
    return found
