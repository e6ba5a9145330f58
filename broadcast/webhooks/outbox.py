"""The outbox: events written in the same transaction as the change they tell of.

A change that is rolled back takes its events with it, and a committed one always has
them: the sender (broadcast.webhooks.sender) delivers what is committed. An event is
written only when an active subscription follows it (its type, and an area at or above
the event's area); with no subscription nothing is written at all. The ingest hot path
asks `ActiveSubscriptionCache` first, which remembers the answer for a few seconds.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, SQLModel

import stations.models  # noqa: F401 - the area table
from broadcast.webhooks.models import (
    ALL_EVENTS,
    EventType,
    SendState,
    WebhookSubscription,
)
from stations.timeutil import as_utc, utcnow

EVENT = SQLModel.metadata.tables["webhook_event"]
SEND = SQLModel.metadata.tables["webhook_send"]
SUBSCRIPTION = SQLModel.metadata.tables["webhook_subscription"]
AREA = SQLModel.metadata.tables["area"]
# How long ActiveSubscriptionCache trusts its answer: a subscription created or switched on
# receives the hot path's events (receiver online/offline) at most this much later.
SUBSCRIBED_TTL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to write: its type, the area it is about (path and id) and its data."""

    type: EventType
    area_path: str
    area_id: int | None
    data: dict[str, Any]


def iso(value: datetime | None) -> str | None:
    """A UTC time as RFC 3339 with a Z, as event bodies carry them."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def new_event_id() -> str:
    """A fresh public event id."""
    return f"evt_{uuid.uuid4().hex}"


def event_body(event_id: str, event_type: str, created_at: datetime, data: dict[str, Any]) -> str:
    """The JSON body of an event: {"id", "type", "created_at", "data"}."""
    document = {"id": event_id, "type": event_type, "created_at": iso(created_at), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class ActiveSubscriptionCache:
    """Whether any subscription is active, remembered for SUBSCRIBED_TTL_SECONDS.

    Held by the worker's long-lived loops (the ingestor): a batch without any active
    subscription in the database writes no event and reads nothing more.
    """

    def __init__(
        self,
        ttl_seconds: float = SUBSCRIBED_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._known: tuple[float, bool] | None = None

    def any_active(self, session: Session) -> bool:
        """True when some subscription is active (read at most once per TTL)."""
        now = self.clock()
        if self._known is not None and now - self._known[0] < self.ttl_seconds:
            return self._known[1]
        found = session.execute(
            select(SUBSCRIPTION.c.id).where(SUBSCRIPTION.c.active.is_(True)).limit(1)
        ).first()
        self._known = (now, found is not None)
        return found is not None

    def forget(self) -> None:
        """Read again on the next question."""
        self._known = None


def _follows(event_types: Sequence[str], event_type: str) -> bool:
    return ALL_EVENTS in event_types or event_type in event_types


# Active subscriptions as (id, event types, area path or None for the whole tree).
Subscriptions = list[tuple[int, list[str], str | None]]


def active(session: Session) -> Subscriptions:
    """Every active subscription, with the path of its area (one small read)."""
    rows = session.execute(
        select(SUBSCRIPTION.c.id, SUBSCRIPTION.c.event_types, AREA.c.path)
        .select_from(SUBSCRIPTION.outerjoin(AREA, AREA.c.id == SUBSCRIPTION.c.area_id))
        .where(SUBSCRIPTION.c.active.is_(True))
    ).all()
    return [(sid, list(types or []), path) for sid, types, path in rows]


def emit(
    session: Session,
    events: Sequence[NewEvent],
    *,
    now: datetime | None = None,
    subscriptions: Subscriptions | None = None,
) -> int:
    """Write `events` for the active subscriptions that follow them; returns sends written.

    A constant number of statements however many events: one read of the active
    subscriptions (unless given), and (only when some follow an event) one insert of
    the events, one read of their ids and one insert of the sends.
    """
    if not events:
        return 0
    if subscriptions is None:
        subscriptions = active(session)
    if not subscriptions:
        return 0
    now = now or utcnow()
    rows: list[dict[str, Any]] = []
    owed: list[tuple[str, int]] = []
    for event in events:
        followers = [
            sid
            for sid, types, path in subscriptions
            if (path is None or event.area_path.startswith(path))
            and _follows(types, event.type.value)
        ]
        if not followers:
            continue
        uid = new_event_id()
        rows.append(
            {
                "uid": uid,
                "type": event.type.value,
                "area_id": event.area_id,
                "created_at": now,
                "body": event_body(uid, event.type.value, now, event.data),
            }
        )
        owed.extend((uid, sid) for sid in followers)
    return _write(session, rows, owed, now)


def emit_to(
    session: Session,
    subscription: WebhookSubscription,
    event_type: EventType,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
) -> str:
    """Write one event for one subscription (the test ping); returns its public id."""
    now = now or utcnow()
    uid = new_event_id()
    row = {
        "uid": uid,
        "type": event_type.value,
        "area_id": subscription.area_id,
        "created_at": now,
        "body": event_body(uid, event_type.value, now, data),
    }
    _write(session, [row], [(uid, subscription.id or 0)], now)
    return uid


def _write(
    session: Session, rows: list[dict[str, Any]], owed: list[tuple[str, int]], now: datetime
) -> int:
    if not rows:
        return 0
    session.execute(insert(EVENT), rows)
    ids = dict(
        session.execute(
            select(EVENT.c.uid, EVENT.c.id).where(EVENT.c.uid.in_([r["uid"] for r in rows]))
        ).all()
    )
    sends = [
        {
            "event_id": ids[uid],
            "subscription_id": sid,
            "state": SendState.pending.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for uid, sid in owed
    ]
    session.execute(insert(SEND), sends)
    return len(sends)
