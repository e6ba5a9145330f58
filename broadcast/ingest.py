"""Ingestion of receivers' acknowledgements and states: batched, idempotent, crash-safe.

The ingestor subscribes with a fixed client id and a persistent session, and takes
QoS 1 messages with manual acknowledgement: a message is PUBACKed only after the
batch holding it is committed, so a service killed mid-batch gets it again from the
broker. Duplicates are harmless: events are unique per (delivery, state) and a state
only replaces one of lower rank (STATE_RANK), so out-of-order acks end right.
"""

from __future__ import annotations

import logging
import operator
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from sqlalchemy import Engine, bindparam, case, literal_column, tuple_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel

from broadcast.broadcast_models import INSERT_EVENTS, STATE_RANK, DeliveryState
from broadcast.db import (
    BulkStatement,
    driver_list,
    driver_time,
    in_list,
    rows_update,
)
from broadcast.scheduling import parse_occurrence_ref
from stations.mqtt import Message, MqttClient
from stations.protocol import (
    Ack,
    AckState,
    ProtocolError,
    ReceiverStatus,
    TopicKind,
    Topics,
    decode_ack,
    decode_state,
)
from stations.timeutil import utcnow

log = logging.getLogger(__name__)

INGESTOR_CLIENT_ID = "loa-ingestor"
# After a database error the batch is kept and retried after this pause.
RETRY_SECONDS = 1.0

# The column that keeps the time of each reported state.
TIME_COLUMN: dict[AckState, str] = {
    AckState.received: "received_at",
    AckState.downloaded: "downloaded_at",
    AckState.started: "started_at",
    AckState.completed: "completed_at",
    AckState.failed: "finished_at",
    AckState.rejected: "finished_at",
}
# How stale `last_seen_at` may be for a receiver heard from only through its acks (one
# write per receiver per this, not per batch: a burst of acks costs one row each).
SEEN_WRITE = timedelta(seconds=15)
DELIVERY = SQLModel.metadata.tables["delivery"]
OCCURRENCE = SQLModel.metadata.tables["occurrence"]
RECEIVER = SQLModel.metadata.tables["receiver"]
_TIME_FIELDS = ("received_at", "downloaded_at", "started_at", "completed_at", "finished_at")
_COLUMN_ORDER = {column.name: index for index, column in enumerate(DELIVERY.columns)}
_EMPTY_BIT = {name: 1 << index for index, name in enumerate(_TIME_FIELDS)}
# What an acknowledged state does to a delivery: (state, time column, its bit, rank).
_EFFECT = {
    ack: (ack.value, TIME_COLUMN[ack], _EMPTY_BIT[TIME_COLUMN[ack]], STATE_RANK[DeliveryState(ack)])
    for ack in AckState
}
_RANK_OF = {state.value: rank for state, rank in STATE_RANK.items()}
# Which of a delivery's time columns are still NULL, as a bitmask of _EMPTY_BIT.
_EMPTY_MASK = reduce(
    operator.add,
    (
        case((DELIVERY.c[name].is_(None), literal_column(str(bit))), else_=literal_column("0"))
        for name, bit in _EMPTY_BIT.items()
    ),
).label("empty")
_SELECT_DELIVERIES = BulkStatement(
    lambda dialect: sa_select(
        DELIVERY.c.id, DELIVERY.c.occurrence_id, DELIVERY.c.target, DELIVERY.c.state, _EMPTY_MASK
    ).where(
        in_list(DELIVERY.c.occurrence_id, "occurrences", dialect),
        in_list(DELIVERY.c.target, "targets", dialect),
    ),
    ("occurrences", "targets"),
)
_UPDATE_RECEIVERS = BulkStatement(
    update(RECEIVER).where(RECEIVER.c.id == bindparam("_id")),
    ("online", "last_seen_at", "_id"),
    rows=rows_update(RECEIVER, ("online", "last_seen_at")),
)


@dataclass(slots=True)
class _Row:
    """What a batch knows and changes of one delivery."""

    id: int
    rank: int
    empty: int  # time columns still NULL in the database (bits of _EMPTY_BIT)
    state: str | None = None  # the new state (a DeliveryState value), when the batch raises it
    detail: str | None = None
    times: dict[str, Any] = field(default_factory=dict)  # column -> time, as the driver takes


@dataclass
class IngestStats:
    """Counters of what the ingestor saw (read by tests, the bench and the logs)."""

    messages: int = 0
    acks_stored: int = 0  # acknowledgements matched to a delivery and committed
    states_stored: int = 0
    malformed: int = 0
    unknown: int = 0  # no such delivery for this receiver (never sent, or unknown id)
    mismatched: int = 0  # payload names another receiver than its topic
    batches: int = 0
    online: int = 0  # receivers seen coming online (state online=true), once per batch
    first_message_at: float = 0.0  # time.monotonic() of the first message offered
    last_commit_at: float = 0.0
    errors: list[str] = field(default_factory=list)


class AckIngestor:
    """Stores acknowledgements and receiver states in batches, one commit per batch."""

    def __init__(
        self,
        engine: Engine,
        topics: Topics,
        *,
        batch_size: int = 1000,
        flush_ms: int = 50,
        clock: Callable[[], datetime] = utcnow,
        on_online: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.engine = engine
        # Told, after each commit, which receivers said `online: true` in the batch (the
        # worker resends their current commands); it must return at once.
        self.on_online = on_online
        self.topics = topics
        self.batch_size = batch_size
        self.flush_seconds = flush_ms / 1000
        self.clock = clock
        self.stats = IngestStats()
        self._queue: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._client: MqttClient | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._unsubscribe: list[Callable[[], None]] = []
        self._updates: dict[tuple[str, ...], BulkStatement] = {}
        # When each receiver's last_seen_at was last written (see SEEN_WRITE).
        self._seen_written: dict[str, datetime] = {}

    # --- wiring ----------------------------------------------------------------

    def attach(self, client: MqttClient) -> None:
        """Subscribe on `client` (fixed id, persistent session, manual_ack=True)."""
        self._client = client
        self._unsubscribe = [
            client.subscribe(self.topics.all_acks, self.offer, qos=1),
            client.subscribe(self.topics.all_states, self.offer, qos=1),
        ]

    def offer(self, message: Message) -> None:
        """Queue one message for the next batch (called on the MQTT thread)."""
        if not self.stats.first_message_at:
            self.stats.first_message_at = time.monotonic()
        self._queue.put(message)

    def start(self) -> None:
        """Run the batching loop in a thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="loa-ingestor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Store what is queued, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self._thread = None

    @property
    def pending(self) -> int:
        """Messages waiting for the next batch."""
        return self._queue.qsize()

    # --- loop ------------------------------------------------------------------

    def _next_batch(self) -> list[Message]:
        try:
            first = self._queue.get(timeout=0.1)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.flush_seconds
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=max(remaining, 0))
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                if self._stop.is_set():
                    return
                continue
            while True:
                try:
                    self.process(batch)
                    break
                except Exception as exc:  # noqa: BLE001 - database trouble: keep and retry
                    self.stats.errors.append(str(exc))
                    log.exception("Storing %d acknowledgements failed; retrying", len(batch))
                    if self._stop.wait(RETRY_SECONDS):
                        return  # not acknowledged: the broker delivers them again
            if self._client is not None:
                self._client.ack_many(batch)

    # --- one batch -------------------------------------------------------------

    def process(self, messages: Sequence[Message]) -> None:
        """Validate, match and store a batch in one transaction (no acks sent here)."""
        now = self.clock()
        acks: list[tuple[str, int, int, Ack]] = []
        states: dict[str, ReceiverStatus] = {}
        seen: set[str] = set()
        malformed = mismatched = 0
        for message in messages:
            parsed = self.topics.parse(message.topic)
            if parsed is None:
                malformed += 1
                continue
            receiver_id, kind = parsed
            try:
                if kind is TopicKind.ack:
                    ack = decode_ack(message.payload)
                    if ack.receiver_id is not None and ack.receiver_id != receiver_id:
                        mismatched += 1
                        log.warning(
                            "Ack on %s names receiver %s: rejected", message.topic, ack.receiver_id
                        )
                        continue
                    ref = parse_occurrence_ref(ack.broadcast_id)
                    if ref is None:
                        self.stats.unknown += 1
                        continue
                    acks.append((receiver_id, ref[0], ref[1], ack))
                    seen.add(receiver_id)
                elif kind is TopicKind.state:
                    if not message.payload:
                        continue  # a retained state being cleared
                    states[receiver_id] = decode_state(message.payload)
                else:
                    malformed += 1
            except ProtocolError as exc:
                malformed += 1
                log.warning("Malformed payload on %s: %s", message.topic, exc)
        with Session(self.engine) as session:
            stored = self._store_acks(session, acks, now)
            online_seen = self._store_receivers(session, states, seen, now)
            session.commit()
        # Remembered only once committed: a batch retried after an error writes them again.
        for receiver_id, is_online in online_seen.items():
            if is_online:
                self._seen_written[receiver_id] = now
            else:
                self._seen_written.pop(receiver_id, None)
        self.stats.messages += len(messages)
        self.stats.malformed += malformed
        self.stats.mismatched += mismatched
        self.stats.acks_stored += stored
        self.stats.states_stored += len(states)
        self.stats.batches += 1
        self.stats.last_commit_at = time.monotonic()
        online = sorted(rid for rid, status in states.items() if status.online)
        self.stats.online += len(online)
        if online and self.on_online is not None:
            try:
                self.on_online(online)
            except Exception:  # noqa: BLE001 - the batch is stored; never retry it for this
                log.exception("Handling %d receivers coming online failed", len(online))

    def _store_acks(
        self, session: Session, acks: list[tuple[str, int, int, Ack]], now: datetime
    ) -> int:
        if not acks:
            return 0
        connection = session.connection()
        to_db = driver_time(connection.dialect)
        recorded_at = to_db(now)
        d, o = DELIVERY, OCCURRENCE
        pairs = sorted({(a[1], a[2]) for a in acks})
        occurrences = {
            (bid, seq): oid
            for oid, bid, seq in connection.execute(
                sa_select(o.c.id, o.c.broadcast_id, o.c.seq).where(
                    tuple_(o.c.broadcast_id, o.c.seq).in_(pairs)
                )
            )
        }
        # Per delivery: id, state, and which time columns are still empty (a bitmask, so
        # no time is read back). Only what the batch changes is written.
        rows: dict[tuple[int, str], _Row] = {}
        if occurrences:
            to_list = driver_list(connection.dialect)
            found = _SELECT_DELIVERIES.fetch(
                connection,
                (to_list(sorted(occurrences.values())), to_list(sorted({a[0] for a in acks}))),
            )
            for did, oid, target, state, empty in found:
                rows[(oid, target)] = _Row(did, _RANK_OF[state], empty)
        events: list[tuple[Any, ...]] = []
        for receiver_id, bid, seq, ack in acks:
            oid = occurrences.get((bid, seq))
            row = rows.get((oid, receiver_id)) if oid is not None else None
            if row is None:
                self.stats.unknown += 1
                log.info(
                    "Ack %s/%s from %s matches no delivery: ignored",
                    ack.broadcast_id,
                    ack.state.value,
                    receiver_id,
                )
                continue
            at = to_db(ack.at)
            state, column, bit, rank = _EFFECT[ack.state]
            events.append((row.id, state, at, recorded_at, "receiver", None, ack.detail))
            if row.empty & bit:
                row.empty &= ~bit
                row.times[column] = at
            if rank > row.rank:
                row.rank, row.state = rank, state
                if ack.detail:
                    row.detail = ack.detail
        INSERT_EVENTS.execute(connection, events)
        # One executemany per shape of change (usually one per batch).
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for row in rows.values():
            if row.state is None and not row.times:
                continue
            changed = dict(row.times)
            if row.state is not None:
                changed["state"] = row.state
            if row.detail is not None:
                changed["detail"] = row.detail
            # In the table's column order, so the driver takes the values as they are.
            keys = tuple(sorted(changed, key=_COLUMN_ORDER.__getitem__))
            groups.setdefault(keys, []).append(
                (*[changed[name] for name in keys], recorded_at, row.id)
            )
        for keys, params in groups.items():
            statement = self._updates.get(keys)
            if statement is None:
                statement = self._updates[keys] = BulkStatement(
                    update(d).where(d.c.id == bindparam("_id")),
                    (*keys, "updated_at", "_id"),
                    rows=rows_update(d, (*keys, "updated_at")),
                )
            statement.execute(connection, params)
        return len(events)

    def _store_receivers(
        self,
        session: Session,
        states: dict[str, ReceiverStatus],
        seen: set[str],
        now: datetime,
    ) -> dict[str, bool]:
        """Write online/last_seen_at; returns what was written (receiver id -> online).

        One row per receiver per batch, however many acks it sent; a receiver heard from
        only through acks is written again once its last write is SEEN_WRITE old. Ids
        that name no receiver simply match no row.
        """
        written: dict[str, bool] = {}
        for receiver_id in seen.union(states):
            status = states.get(receiver_id)
            if status is None:
                last = self._seen_written.get(receiver_id)
                if last is not None and now - last < SEEN_WRITE:
                    continue
            written[receiver_id] = status.online if status is not None else True
        at = driver_time(session.get_bind().dialect)(now)
        _UPDATE_RECEIVERS.execute(
            session.connection(), [(online, at, rid) for rid, online in written.items()]
        )
        return written
