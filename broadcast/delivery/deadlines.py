"""Deadlines: deliveries never received become `expired`, those not completed `missed`.

Each verdict is one UPDATE per airing (and per programme length), decided by the database
on the rows' current state, so an acknowledgement stored in the meantime is never
overwritten; the as-run events follow from the rows themselves. Which states each
verdict takes, and what may later supersede it, is the state machine's
(broadcast.delivery_state).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, exists, or_, select, update
from sqlmodel import SQLModel, col
from sqlmodel import select as sm_select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.models import FINAL_STATES, DeliveryState, record_events_of
from broadcast.delivery.reair import INTERRUPTED
from broadcast.delivery.state import EXPIRABLE, MISSABLE
from broadcast.schedule.models import Broadcast, Occurrence, OccurrenceState
from broadcast.webhooks import events as webhook_events
from stations.timeutil import as_utc

NOT_RECEIVED = tuple(DeliveryState(s) for s in EXPIRABLE)
UNDER_WAY = tuple(DeliveryState(s) for s in MISSABLE)
DELIVERY = SQLModel.metadata.tables["delivery"]
OCCURRENCE = SQLModel.metadata.tables["occurrence"]
_FINAL = [s.value for s in FINAL_STATES]


def apply_deadlines(*, engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """Expire and miss what is overdue; settle airings whose every delivery is final."""
    grace = timedelta(seconds=settings.missed_grace_seconds)
    reair_window = timedelta(minutes=settings.reair_after_emergency_minutes)
    counts = {"expired": 0, "missed": 0, "settled": 0}
    d = DELIVERY
    with transaction(engine) as session:
        connection = session.connection()
        occs = session.exec(
            sm_select(Occurrence, Broadcast.priority)
            .join(Broadcast, col(Occurrence.broadcast_id) == col(Broadcast.id))
            .where(
                or_(
                    col(Occurrence.state) == OccurrenceState.dispatched,
                    # Cancelled after it was sent: settled past its deadline (below).
                    and_(
                        col(Occurrence.state) == OccurrenceState.cancelled,
                        col(Occurrence.cancel_sent_at).is_not(None),
                    ),
                ),
                col(Occurrence.settled).is_(False),
                col(Occurrence.air_at) <= now,
            )
        ).all()
        # Airings with deliveries aired again after an emergency, still under way.
        reaired = set(
            connection.execute(
                select(d.c.occurrence_id)
                .where(
                    d.c.state.in_({*EXPIRABLE, *MISSABLE}),
                    d.c.reair_expires_at.is_not(None),
                )
                .distinct()
            ).scalars()
        )
        settled: list[Occurrence] = []
        for occ, priority in occs:
            air_at, expires_at = as_utc(occ.air_at), as_utc(occ.expires_at)
            mine: ColumnElement[bool] = d.c.occurrence_id == occ.id
            # Deliveries aired again after an emergency have deadlines of their own.
            own = and_(mine, d.c.reair_expires_at.is_not(None))
            mine = and_(mine, d.c.reair_expires_at.is_(None))
            decided: list[str] = []
            if now >= expires_at:  # receivers that never got it (legacy stations excepted)
                result = connection.execute(
                    update(d)
                    .where(
                        mine,
                        d.c.receiver_id.is_not(None),
                        d.c.state.in_(EXPIRABLE),
                    )
                    .values(
                        state=DeliveryState.expired.value, finished_at=expires_at, updated_at=now
                    )
                )
                counts["expired"] += result.rowcount
                decided.append(DeliveryState.expired.value)
            if now >= air_at + grace:  # under way (or legacy) and past air + length + grace
                overdue = or_(
                    d.c.state.in_(MISSABLE),
                    and_(d.c.receiver_id.is_(None), d.c.state.not_in(_FINAL)),
                )
                lengths = connection.execute(
                    select(d.c.duration_ms).where(mine, overdue).distinct()
                ).scalars()
                for length in list(lengths):
                    missed_at = air_at + timedelta(milliseconds=length) + grace
                    if now < missed_at:
                        continue
                    result = connection.execute(
                        update(d)
                        .where(mine, overdue, d.c.duration_ms == length)
                        .values(
                            state=DeliveryState.missed.value, finished_at=missed_at, updated_at=now
                        )
                    )
                    counts["missed"] += result.rowcount
                decided.append(DeliveryState.missed.value)
            if occ.id in reaired:
                counts["expired"] += connection.execute(
                    update(d)
                    .where(own, d.c.state.in_(EXPIRABLE), d.c.reair_expires_at <= now)
                    .values(
                        state=DeliveryState.expired.value,
                        finished_at=d.c.reair_expires_at,
                        updated_at=now,
                    )
                ).rowcount
                counts["missed"] += connection.execute(
                    update(d)
                    .where(own, d.c.state.in_(MISSABLE), d.c.reair_deadline_at <= now)
                    .values(
                        state=DeliveryState.missed.value,
                        finished_at=d.c.reair_deadline_at,
                        updated_at=now,
                    )
                ).rowcount
                decided = list({*decided, DeliveryState.expired.value, DeliveryState.missed.value})
            mine = d.c.occurrence_id == occ.id  # every delivery of the airing, from here on
            if decided:
                # The as-run log: one event per verdict, at the time the verdict names.
                where = and_(mine, d.c.state.in_(decided))
                record_events_of(connection, where, at=d.c.finished_at, now=now)
            unsettled: ColumnElement[bool] = d.c.state.not_in(_FINAL)
            if reair_window and priority != "emergency":
                # An interrupted delivery about to be aired again is not its end yet.
                unsettled = or_(
                    unsettled,
                    and_(
                        d.c.state == DeliveryState.failed.value,
                        d.c.detail == INTERRUPTED,
                        d.c.finished_at > now - reair_window,
                    ),
                )
            # A read first: an airing still under way costs no write (no lock on SQLite).
            if connection.execute(select(exists().where(mine, unsettled))).scalar():
                continue
            # Then settled in one statement that reads the airing's state and deliveries
            # again as they are now: a cancel committed since the airings were read above
            # (its deliveries `cancelled`, its receivers still able to report) is never
            # mistaken for an airing whose every delivery ended.
            o = OCCURRENCE
            state = connection.execute(
                update(o)
                .where(
                    o.c.id == occ.id,
                    o.c.settled.is_(False),
                    or_(
                        o.c.state == OccurrenceState.dispatched.value,
                        and_(
                            o.c.state == OccurrenceState.cancelled.value,
                            o.c.cancel_sent_at.is_not(None),
                            or_(o.c.deadline_at.is_(None), o.c.deadline_at <= now),
                        ),
                    ),
                    ~exists().where(mine, unsettled),
                )
                .values(settled=True)
                .returning(o.c.state)
            ).scalar_one_or_none()
            if state is not None:
                session.expunge(occ)  # written above; the copy tells the events its state
                occ.state, occ.settled = OccurrenceState(state), True
                settled.append(occ)
                counts["settled"] += 1
        # Per station of each settled airing: broadcast.completed or broadcast.missed.
        webhook_events.airings_settled(session, settled, now=now)
    return counts
