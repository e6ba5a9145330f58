"""Table models of delivery: per-receiver deliveries, the as-run log, dead letters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    LargeBinary,
    String,
    UniqueConstraint,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from broadcast.core.db import BulkStatement, driver_time, rows_insert
from stations.models import UTCDateTime, UTCTimestamp
from stations.timeutil import utcnow


class DeliveryState(StrEnum):
    """Where one receiver (or legacy station) stands with one airing."""

    queued = "queued"  # rows created, command not yet handed to the broker
    sent = "sent"  # handed to the broker (QoS 1)
    received = "received"
    downloaded = "downloaded"
    started = "started"
    completed = "completed"
    failed = "failed"
    rejected = "rejected"
    cancelled = "cancelled"
    expired = "expired"  # never received before expires_at
    missed = "missed"  # no `completed` by air time + duration + grace
    confirmed = "confirmed"  # legacy station: the operator confirmed by hand
    no_content = "no_content"  # nothing airable for this station: not sent
    blocked = "blocked"  # a language version the station requires is missing: not sent


# Precedence of device reports: a state applies only over a lower rank, so duplicates
# and out-of-order acknowledgements (completed before started) end right. Server
# verdicts (cancelled, expired, missed) sit below `started`: a receiver that did air
# the programme after all is believed, with the time it says.
STATE_RANK: dict[DeliveryState, int] = {
    DeliveryState.queued: 0,
    DeliveryState.sent: 1,
    DeliveryState.received: 2,
    DeliveryState.downloaded: 3,
    DeliveryState.cancelled: 4,
    DeliveryState.expired: 4,
    DeliveryState.missed: 4,
    DeliveryState.no_content: 4,
    DeliveryState.blocked: 4,
    DeliveryState.started: 5,
    DeliveryState.rejected: 6,
    DeliveryState.failed: 6,
    DeliveryState.completed: 7,
    DeliveryState.confirmed: 8,
}

# States that are never left by the server's own deadlines.
AIRED_STATES = frozenset({DeliveryState.completed, DeliveryState.confirmed})
FINAL_STATES = frozenset(
    {
        DeliveryState.completed,
        DeliveryState.confirmed,
        DeliveryState.failed,
        DeliveryState.rejected,
        DeliveryState.cancelled,
        DeliveryState.expired,
        DeliveryState.missed,
        DeliveryState.no_content,
        DeliveryState.blocked,
    }
)
# Verdicts of dispatch itself: nothing was sent, so nothing can be acknowledged.
NOT_SENT_STATES = frozenset({DeliveryState.no_content, DeliveryState.blocked})


class Delivery(SQLModel, table=True):
    """Where one receiver (or one legacy station) stands with one airing."""

    __table_args__ = (UniqueConstraint("occurrence_id", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(foreign_key="occurrence.id", index=True)
    broadcast_id: int = Field(foreign_key="broadcast.id", index=True)
    station_id: int = Field(foreign_key="station.id", index=True)
    receiver_id: str | None = Field(
        default=None, foreign_key="receiver.id", index=True, max_length=64
    )
    target: str = Field(max_length=80)  # the receiver id, or "station:<id>" for legacy
    state: DeliveryState = Field(default=DeliveryState.queued, sa_type=String(16), index=True)
    version: str | None = Field(default=None, max_length=64)
    duration_ms: int = 0
    payload: str | None = Field(default=None, max_length=65536)  # the command, for resends
    detail: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    received_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    downloaded_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    started_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    completed_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    finished_at: datetime | None = Field(default=None, sa_column=UTCDateTime())  # other ends
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    # Plausibility flags set when a receiver's claims were checked, comma-separated
    # (e.g. "clock_clamped"); see docs/protocol.md, "What the server believes".
    flags: str | None = Field(default=None, max_length=200)
    # 1 for the first sending; each resend of a failed delivery starts the next attempt
    # (a new `version` of the command, the times above cleared, its own as-run events).
    attempt: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # Aired again after an emergency interrupted it (broadcast.delivery.reair): the
    # emergency airing that did ("<broadcast>.<seq>", when known), and this attempt's own
    # deadlines, which replace the airing's: received by `reair_expires_at`, else
    # expired; completed by `reair_deadline_at`, else missed.
    interrupted_by: str | None = Field(default=None, max_length=40)
    reair_expires_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    reair_deadline_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    # A relay's completion as the receiver reported it: seconds of the window not aired
    # (cuts, reconnects) and how often it reconnected.
    lost_seconds: float | None = Field(default=None)
    reconnects: int | None = Field(default=None)


class DeliveryEvent(SQLModel, table=True):
    """Every state a delivery went through, with its time: the as-run log.

    One event per state and attempt: a delivery sent again after it failed keeps the
    events of its earlier attempts.
    """

    __tablename__ = "delivery_event"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt", "state", name="uq_delivery_event_attempt"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    attempt: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    state: str = Field(sa_type=String(16))
    at: datetime = Field(sa_column=UTCDateTime())  # when it happened (device clock for acks)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    source: str = Field(default="server", sa_type=String(16))  # server, receiver, operator
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    detail: str | None = Field(default=None, max_length=500)


class DeadLetter(SQLModel, table=True):
    """A receiver message that could not be stored, kept with its raw payload and the error."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    topic: str = Field(max_length=300)
    receiver_id: str | None = Field(default=None, max_length=64, index=True)
    payload: bytes = Field(sa_type=LargeBinary)
    code: str = Field(max_length=64)  # a stable reason code, e.g. "ack.store_failed"
    error: str = Field(max_length=1000)


def events_insert(dialect: str) -> Any:
    """INSERT of as-run events that skips a (delivery, state) already recorded."""
    table = SQLModel.metadata.tables["delivery_event"]
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")


def record_events_of(
    connection: Connection, where: ColumnElement[bool], *, at: Any, now: datetime
) -> None:
    """As-run events for the deliveries matching `where`, in the state they are now in.

    `at` is the event time: a column of `delivery` (such as `finished_at`) or a time.
    One INSERT ... SELECT, in each delivery's current attempt; a (delivery, attempt,
    state) already recorded is skipped.
    """
    delivery = SQLModel.metadata.tables["delivery"]
    if isinstance(at, datetime):
        at = literal(at, UTCTimestamp())
    connection.execute(
        events_insert(connection.dialect.name).from_select(
            ["delivery_id", "attempt", "state", "at", "recorded_at", "source"],
            select(
                delivery.c.id,
                delivery.c.attempt,
                delivery.c.state,
                at,
                literal(now, UTCTimestamp()),
                literal("server"),
            ).where(where),
        )
    )


EVENT_KEYS = (
    "delivery_id",
    "attempt",
    "state",
    "at",
    "recorded_at",
    "source",
    "actor_id",
    "detail",
)
# As-run events in bulk: rows in EVENT_KEYS order, values as the driver takes them.
INSERT_EVENTS = BulkStatement(
    events_insert,
    EVENT_KEYS,
    rows=rows_insert(SQLModel.metadata.tables["delivery_event"], EVENT_KEYS, skip_conflicts=True),
)


def record_events(session: Session, events: list[dict[str, Any]]) -> None:
    """Insert as-run events, ignoring any (delivery, state) already recorded.

    Each event: delivery_id, state, at; optionally attempt (default 1), recorded_at
    (default now), source (default "server"), actor_id and detail.
    """
    if not events:
        return
    connection = session.connection()
    to_db = driver_time(connection.dialect)
    now = to_db(utcnow())
    rows = [
        (
            e["delivery_id"],
            e.get("attempt") or 1,
            str(e["state"]),
            to_db(e["at"]),
            to_db(e["recorded_at"]) if e.get("recorded_at") else now,
            e.get("source") or "server",
            e.get("actor_id"),
            e.get("detail"),
        )
        for e in events
    ]
    INSERT_EVENTS.execute(connection, rows)
