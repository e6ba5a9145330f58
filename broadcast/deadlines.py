"""Deadlines: deliveries never received become `expired`, those not completed `missed`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from broadcast.broadcast_models import (
    FINAL_STATES,
    Delivery,
    DeliveryState,
    Occurrence,
    OccurrenceState,
    record_events,
)
from broadcast.db import transaction
from broadcast.settings import Settings
from stations.timeutil import as_utc

NOT_RECEIVED = (DeliveryState.queued, DeliveryState.sent)
UNDER_WAY = (DeliveryState.received, DeliveryState.downloaded, DeliveryState.started)


def apply_deadlines(*, engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """Expire and miss what is overdue; settle airings whose every delivery is final."""
    grace = timedelta(seconds=settings.missed_grace_seconds)
    counts = {"expired": 0, "missed": 0, "settled": 0}
    with transaction(engine) as session:
        occs = session.exec(
            select(Occurrence).where(
                Occurrence.state == OccurrenceState.dispatched,
                col(Occurrence.settled).is_(False),
                col(Occurrence.air_at) <= now,
            )
        ).all()
        for occ in occs:
            open_rows = session.exec(
                select(Delivery).where(
                    Delivery.occurrence_id == occ.id,
                    col(Delivery.state).not_in([s.value for s in FINAL_STATES]),
                )
            ).all()
            remaining = 0
            events = []
            air_at, expires_at = as_utc(occ.air_at), as_utc(occ.expires_at)
            for delivery in open_rows:
                verdict: DeliveryState | None = None
                at = now
                is_legacy = delivery.receiver_id is None
                missed_at = air_at + timedelta(milliseconds=delivery.duration_ms) + grace
                if not is_legacy and delivery.state in NOT_RECEIVED and now >= expires_at:
                    verdict, at = DeliveryState.expired, expires_at
                elif (delivery.state in UNDER_WAY or is_legacy) and now >= missed_at:
                    verdict, at = DeliveryState.missed, missed_at
                if verdict is None:
                    remaining += 1
                    continue
                delivery.state = verdict
                delivery.finished_at = at
                delivery.updated_at = now
                session.add(delivery)
                events.append({"delivery_id": delivery.id, "state": verdict.value, "at": at})
                counts[verdict.value] += 1
            session.flush()
            record_events(session, events)
            if remaining == 0:
                occ.settled = True
                session.add(occ)
                counts["settled"] += 1
    return counts
