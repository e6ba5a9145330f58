"""Ingestion of receivers' acknowledgements and states: batched, idempotent, crash-safe.

The ingestor subscribes with a fixed client id and a persistent session, and takes
QoS 1 messages with manual acknowledgement: a message is PUBACKed only after the
batch holding it is committed, so a service killed mid-batch gets it again from the
broker. Duplicates are harmless: events are unique per (delivery, state) and a state
only replaces one of lower rank (STATE_RANK), so out-of-order acks end right.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel

from broadcast.broadcast_models import (
    STATE_RANK,
    DeliveryState,
    record_events,
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
DELIVERY = SQLModel.metadata.tables["delivery"]
OCCURRENCE = SQLModel.metadata.tables["occurrence"]
_TIME_FIELDS = ("received_at", "downloaded_at", "started_at", "completed_at", "finished_at")


@dataclass(slots=True)
class _Row:
    """What a batch knows and changes of one delivery."""

    id: int
    rank: int
    empty: set[str]  # time columns still NULL in the database
    state: DeliveryState | None = None  # the new state, when the batch raises it
    detail: str | None = None
    times: dict[str, datetime] = field(default_factory=dict)


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
        self._queue: queue.Queue[Message] = queue.Queue()
        self._client: MqttClient | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._unsubscribe: list[Callable[[], None]] = []

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
                for message in batch:
                    self._client.ack(message.mid, message.qos)

    # --- one batch -------------------------------------------------------------

    def process(self, messages: Sequence[Message]) -> None:
        """Validate, match and store a batch in one transaction (no acks sent here)."""
        now = self.clock()
        acks: list[tuple[str, int, int, Ack]] = []
        states: dict[str, ReceiverStatus] = {}
        seen: dict[str, datetime] = {}
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
                    seen[receiver_id] = now
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
            self._store_receivers(session, states, seen, now)
            session.commit()
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
        bids = sorted({a[1] for a in acks})
        rids = sorted({a[0] for a in acks})
        # Per delivery: id, state, and which time columns are still empty (booleans, so
        # no datetime is parsed back). Only what the batch changes is written.
        rows: dict[tuple[int, int, str], _Row] = {}
        d, o = DELIVERY, OCCURRENCE
        for start in range(0, len(rids), 900):
            chunk = rids[start : start + 900]
            result = session.connection().execute(
                sa_select(
                    d.c.id,
                    d.c.broadcast_id,
                    o.c.seq,
                    d.c.target,
                    d.c.state,
                    *(d.c[name].is_(None) for name in _TIME_FIELDS),
                )
                .join_from(d, o, d.c.occurrence_id == o.c.id)
                .where(d.c.broadcast_id.in_(bids), d.c.target.in_(chunk))
            )
            for r in result:
                empty = {name for name, null in zip(_TIME_FIELDS, r[5:10], strict=True) if null}
                rows[(r[1], r[2], r[3])] = _Row(r[0], STATE_RANK[DeliveryState(r[4])], empty)
        events: list[dict[str, Any]] = []
        stored = 0
        for receiver_id, bid, seq, ack in acks:
            row = rows.get((bid, seq, receiver_id))
            if row is None:
                self.stats.unknown += 1
                log.info(
                    "Ack %s/%s from %s matches no delivery: ignored",
                    ack.broadcast_id,
                    ack.state.value,
                    receiver_id,
                )
                continue
            stored += 1
            events.append(
                {
                    "delivery_id": row.id,
                    "state": ack.state.value,
                    "at": ack.at,
                    "recorded_at": now,
                    "source": "receiver",
                    "actor_id": None,
                    "detail": ack.detail,
                }
            )
            column = TIME_COLUMN[ack.state]
            if column in row.empty:
                row.empty.discard(column)
                row.times[column] = ack.at
            new_state = DeliveryState(ack.state.value)
            rank = STATE_RANK[new_state]
            if rank > row.rank:
                row.rank, row.state = rank, new_state
                if ack.detail:
                    row.detail = ack.detail
        if events:
            record_events(session, events)
        # One executemany per shape of change (usually one per batch).
        groups: dict[tuple[bool, bool, tuple[str, ...]], list[dict[str, Any]]] = {}
        for row in rows.values():
            if row.state is None and not row.times:
                continue
            key = (row.state is not None, row.detail is not None, tuple(sorted(row.times)))
            params: dict[str, Any] = {"_id": row.id, "updated_at": now, **row.times}
            if row.state is not None:
                params["state"] = row.state.value
            if row.detail is not None:
                params["detail"] = row.detail
            groups.setdefault(key, []).append(params)
        for (has_state, has_detail, columns), params_list in groups.items():
            values: dict[str, Any] = {name: bindparam(name) for name in columns}
            values["updated_at"] = bindparam("updated_at")
            if has_state:
                values["state"] = bindparam("state")
            if has_detail:
                values["detail"] = bindparam("detail")
            stmt = update(d).where(d.c.id == bindparam("_id")).values(**values)
            session.connection().execute(stmt, params_list)
        return stored

    def _store_receivers(
        self,
        session: Session,
        states: dict[str, ReceiverStatus],
        seen: dict[str, datetime],
        now: datetime,
    ) -> None:
        # One row per receiver per batch, however many acks it sent. Ids that name no
        # receiver simply match no row.
        params: list[dict[str, Any]] = []
        for receiver_id in set(states) | set(seen):
            status = states.get(receiver_id)
            online = status.online if status is not None else True
            params.append({"_id": receiver_id, "online": online, "last_seen_at": now})
        if not params:
            return
        table = SQLModel.metadata.tables["receiver"]
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(online=bindparam("online"), last_seen_at=bindparam("last_seen_at")),
            params,
        )
