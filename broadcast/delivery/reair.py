"""Airing again what an emergency interrupted.

An emergency airs at once: a receiver that was airing another programme stops it and
acks it `failed` with detail `interrupted` (docs/protocol.md, `cmd`: programme). With
`LOA_REAIR_AFTER_EMERGENCY_MINUTES` above 0, the worker sends that receiver the
interrupted programme again, as the next attempt of the same delivery: a new `version`
of the same `broadcast_id`, its `air_at` the moment of the interruption and its
`expires_at` that many minutes later. The receiver holds it while the emergency plays
(other priorities wait for the current programme to end) and airs it right after, or
answers `rejected` if the emergency outlasts the window, which the server records as
`expired`. The delivery keeps which emergency airing interrupted it (`interrupted_by`)
for the status and the reports; the as-run log keeps the interrupted attempt's
`failed` beside the new attempt's events.

Only airings still dispatched (not cancelled) and not settled are aired again (the
deadlines leave an airing unsettled while one of its deliveries may still air again),
never an emergency, and each interruption once: the delivery leaves `failed` when its
next attempt is queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery, DeliveryState, record_events
from broadcast.delivery.resend import next_version
from broadcast.schedule.models import Broadcast, Occurrence, OccurrenceState
from stations.protocol import Priority, ProgrammeCommand, RelayItem, decode_command, encode
from stations.timeutil import as_utc

# The detail a receiver gives a programme an emergency stopped (docs/protocol.md).
INTERRUPTED = "interrupted"
# How far apart the interruption and the emergency's start (or download) may be, as the
# receiver's own clock tells them, for the one to be taken as the cause of the other.
CAUSE_WINDOW = timedelta(minutes=2)


@dataclass
class ReairReport:
    """What one pass did."""

    queued: int = 0  # deliveries sent again
    linked: int = 0  # of those, how many were matched to the emergency that stopped them


def interrupted_clause(*, settings: Settings, now: datetime) -> ColumnElement[bool]:
    """Deliveries an emergency interrupted that are still to be aired again."""
    window = timedelta(minutes=settings.reair_after_emergency_minutes)
    return and_(
        col(Delivery.state) == DeliveryState.failed.value,
        col(Delivery.detail) == INTERRUPTED,
        col(Delivery.receiver_id).is_not(None),
        col(Delivery.payload).is_not(None),
        col(Delivery.finished_at).is_not(None),
        col(Delivery.finished_at) > now - window,
    )


def reair_interrupted(*, engine: Engine, settings: Settings, now: datetime) -> ReairReport:
    """Queue the next attempt of every delivery an emergency interrupted, within the window.

    Three statements whatever the number of receivers: the interrupted deliveries, the
    emergency deliveries of the same receivers, and the as-run events; the publisher
    sends the queued commands on its next pass.
    """
    report = ReairReport()
    if settings.reair_after_emergency_minutes <= 0:
        return report
    window = timedelta(minutes=settings.reair_after_emergency_minutes)
    grace = timedelta(seconds=settings.missed_grace_seconds)
    with transaction(engine) as session:
        found = session.exec(
            select(Delivery, Occurrence)
            .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
            .join(Broadcast, col(Occurrence.broadcast_id) == col(Broadcast.id))
            .where(
                interrupted_clause(settings=settings, now=now),
                col(Occurrence.state) == OccurrenceState.dispatched.value,
                col(Occurrence.settled).is_(False),
                col(Broadcast.priority) != Priority.emergency.value,
            )
            .order_by(col(Delivery.id))
            .with_for_update(of=Delivery, skip_locked=True)
        ).all()
        if not found:
            return report
        causes = _causes(session, [d for d, _ in found])
        events = []
        touched: dict[int, Occurrence] = {}
        for delivery, occ in found:
            interrupted_at = as_utc(delivery.finished_at)  # type: ignore[arg-type]
            expires_at = interrupted_at + window
            cause = causes.get(delivery.id or 0)
            delivery.attempt += 1
            delivery.version = next_version(delivery.version, delivery.attempt)
            delivery.payload = _again(
                delivery.payload or "", delivery.version, interrupted_at, expires_at
            )
            delivery.state = DeliveryState.queued
            delivery.detail = None
            delivery.flags = None
            delivery.sent_at = delivery.received_at = delivery.downloaded_at = None
            delivery.started_at = delivery.completed_at = delivery.finished_at = None
            delivery.updated_at = now
            delivery.interrupted_by = cause
            delivery.reair_expires_at = expires_at
            delivery.reair_deadline_at = (
                expires_at + timedelta(milliseconds=delivery.duration_ms) + grace
            )
            session.add(delivery)
            events.append(
                {
                    "delivery_id": delivery.id,
                    "attempt": delivery.attempt,
                    "state": DeliveryState.queued.value,
                    "at": now,
                    "source": "server",
                    "detail": f"aired again after emergency {cause}"
                    if cause
                    else "aired again after an emergency",
                }
            )
            report.queued += 1
            report.linked += cause is not None
            touched[occ.id or 0] = occ
        for occ in touched.values():
            occ.settled = False
            session.add(occ)
        session.flush()
        record_events(session, events)
    return report


def _again(payload: str, version: str, air_at: datetime, expires_at: datetime) -> str:
    command = decode_command(payload.encode())
    if not isinstance(command, ProgrammeCommand):  # pragma: no cover - stored by dispatch
        raise ValueError("a delivery keeps its programme command")
    zone = command.air_at.tzinfo
    # A relay goes on live until its end: it resumes, and never expires after it.
    ends = [item.until for item in command.items if isinstance(item, RelayItem)]
    if ends:
        expires_at = min(expires_at, *ends)
    update = {
        "version": version,
        "air_at": air_at.astimezone(zone),
        "expires_at": expires_at.astimezone(zone),
    }
    return encode(command.model_copy(update=update)).decode()


def _causes(session: Session, deliveries: list[Delivery]) -> dict[int, str]:
    """For each interrupted delivery, the emergency airing (`"<broadcast>.<seq>"`) that
    the same receiver began nearest the interruption, within CAUSE_WINDOW."""
    receivers = sorted({d.receiver_id for d in deliveries if d.receiver_id})
    earliest = min(as_utc(d.finished_at) for d in deliveries if d.finished_at) - CAUSE_WINDOW
    began = col(Delivery.started_at)
    rows = session.execute(
        sa_select(
            col(Delivery.receiver_id),
            col(Delivery.started_at),
            col(Delivery.downloaded_at),
            col(Occurrence.broadcast_id),
            col(Occurrence.seq),
        )
        .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        .join(Broadcast, col(Occurrence.broadcast_id) == col(Broadcast.id))
        .where(
            col(Broadcast.priority) == Priority.emergency.value,
            col(Delivery.receiver_id).in_(receivers),
            or_(began >= earliest, col(Delivery.downloaded_at) >= earliest),
        )
    ).all()
    by_receiver: dict[str, list[tuple[datetime, str]]] = {}
    for receiver_id, started_at, downloaded_at, broadcast_id, seq in rows:
        moment = started_at or downloaded_at
        if receiver_id and moment is not None:
            by_receiver.setdefault(receiver_id, []).append(
                (as_utc(moment), f"{broadcast_id}.{seq}")
            )
    causes: dict[int, str] = {}
    for d in deliveries:
        if d.finished_at is None or d.receiver_id is None:
            continue
        stopped = as_utc(d.finished_at)
        near = [
            (abs(moment - stopped), ref)
            for moment, ref in by_receiver.get(d.receiver_id, [])
            if abs(moment - stopped) <= CAUSE_WINDOW
        ]
        if near:
            causes[d.id or 0] = min(near)[1]
    return causes
