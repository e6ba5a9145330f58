"""Ingestion of receivers' acknowledgements and states: batched, idempotent, crash-safe.

The ingestor subscribes with a fixed client id and a persistent session, and takes
QoS 1 messages with manual acknowledgement: a message is PUBACKed only after the
batch holding it is committed, so a service killed mid-batch gets it again from the
broker. Duplicates are harmless: events are unique per (delivery, state) and each ack
goes through the state machine of broadcast.delivery_state (precedence, earliest time
per state, plausibility), so out-of-order acks end right.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    and_,
    bindparam,
    case,
    literal_column,
    not_,
    or_,
    tuple_,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from broadcast.core.db import (
    BulkStatement,
    driver_list,
    driver_time,
    in_list,
    rows_insert,
    rows_update,
)
from broadcast.core.metrics import REJECT_MALFORMED, REJECT_MISMATCHED, REJECT_UNKNOWN, Metrics
from broadcast.delivery.dead_letters import (
    ACK_STORE_FAILED,
    DECODE_FAILED,
    STATE_STORE_FAILED,
    Letter,
    park,
)
from broadcast.delivery.models import EVENT_KEYS, NOT_SENT_STATES
from broadcast.delivery.state import (
    NOT_BELIEVED,
    Event,
    Rules,
    Standing,
    Timing,
    apply_report,
    format_flags,
    parse_flags,
)
from broadcast.delivery.state import TIME_COLUMN as STATE_TIME_COLUMN
from broadcast.delivery.state import TIME_COLUMNS as STATE_TIME_COLUMNS
from broadcast.schedule.service import parse_occurrence_ref
from broadcast.webhooks import events as webhook_events
from broadcast.webhooks.outbox import ActiveSubscriptionCache
from stations import volume
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
from stations.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

INGESTOR_CLIENT_ID = "loa-ingestor"
# After a database error the batch is kept and retried after this pause.
RETRY_SECONDS = 1.0
# How many of the last storage errors IngestStats keeps.
ERRORS_KEPT = 20
# PEP 249 errors of the database itself (locked, gone, out of resources), raised by the
# driver or wrapped by SQLAlchemy: the batch is kept and retried, never parked.
_TRANSIENT_NAMES = frozenset({"OperationalError", "InterfaceError", "DisconnectionError"})

# The column that keeps the time of each reported state (see broadcast.delivery_state).
TIME_COLUMN: dict[AckState, str] = {ack: STATE_TIME_COLUMN[ack.value] for ack in AckState}
# How stale `last_seen_at` may be for a receiver heard from only through its acks (one
# write per receiver per this, not per batch: a burst of acks costs one row each).
SEEN_WRITE = timedelta(seconds=15)
DELIVERY = SQLModel.metadata.tables["delivery"]
OCCURRENCE = SQLModel.metadata.tables["occurrence"]
RECEIVER = SQLModel.metadata.tables["receiver"]
EVENT = SQLModel.metadata.tables["delivery_event"]
_NOT_SENT = frozenset(state.value for state in NOT_SENT_STATES)
_NO_FLAGS: frozenset[str] = frozenset()


def _select_deliveries(dialect: str) -> Any:
    """Per delivery of a batch: where it stands, whole (the rules compare times).

    PostgreSQL locks the rows it returns, in id order (see `_lock_batch`).
    """
    statement = sa_select(
        DELIVERY.c.id,
        DELIVERY.c.occurrence_id,
        DELIVERY.c.target,
        DELIVERY.c.state,
        DELIVERY.c.flags,
        DELIVERY.c.duration_ms,
        DELIVERY.c.attempt,
        *(DELIVERY.c[name] for name in STATE_TIME_COLUMNS),
    ).where(
        in_list(DELIVERY.c.occurrence_id, "occurrences", dialect),
        in_list(DELIVERY.c.target, "targets", dialect),
    )
    if dialect == "postgresql":
        statement = statement.order_by(DELIVERY.c.id).with_for_update()
    return statement


# One query for the batch.
_SELECT_DELIVERIES = BulkStatement(_select_deliveries, ("occurrences", "targets"))


def _lock_batch(connection: Connection) -> None:
    """Make the batch's read of its deliveries and its writes one unit no writer comes between.

    The batch reads where its deliveries stand, folds its reports into them in Python
    and writes the result. A cancel or a deadline verdict committed between that read
    and the write would be overwritten (a cancelled delivery back to `downloaded`, so
    its receiver never gets the cancel). So the write lock is taken before the read:

    - SQLite has one writer at a time anyway, and the batch is a write transaction; but
      the driver begins it only at the first INSERT, so the reads ran outside it.
      BEGIN IMMEDIATE takes the write lock first: nothing can be written between the
      read and the write. Readers are not held up (WAL), and other writers wait for
      the batch (busy_timeout) as they did for its writes.
    - PostgreSQL (READ COMMITTED): the read is SELECT ... FOR UPDATE. It waits for a
      transaction writing those rows, returns them as that one committed them, and
      holds them until the batch commits. A writer after the batch waits for it, and
      since the cancel, the deadlines and the sent-marking are UPDATEs conditional on
      the state, each re-checks its condition on what the batch wrote. Rows are locked
      in id order; a deadlock with another writer all the same is an OperationalError,
      so the batch is retried (is_transient).

    Locking rather than writing each row only if it still stands as read (and folding
    the batch again into rows that changed): the batch writes the state, six time
    columns, the flags and the detail, each of which would need its condition, and a
    retry loop. The lock covers every column against every writer, and the hot path
    stays one read and one write per kind of change.
    """
    if connection.dialect.name != "sqlite":
        return  # PostgreSQL: _SELECT_DELIVERIES ... FOR UPDATE
    driver = connection.connection.driver_connection
    if not getattr(driver, "in_transaction", False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:  # begun (deferred) already: any write statement takes the write lock
        connection.exec_driver_sql("UPDATE delivery SET id = id WHERE 0")


def _events_upsert(dialect: str) -> Any:
    """INSERT of receivers' as-run events; one (delivery, state) keeps the report believed.

    A later report of the same state replaces the recorded one when it is believed and
    the recorded one was not, or when both are believed and it is earlier: the log then
    holds, per state, the earliest believed report (else the first one not believed).
    """
    statement: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EVENT)
    return _keep_believed(statement)


def _keep_believed(statement: Any) -> Any:
    new, old = statement.excluded, EVENT.c
    # Literals, not parameters: BulkStatement binds the rows' values only.
    marked: Any = literal_column(f"'{NOT_BELIEVED}%'")
    receiver: Any = literal_column("'receiver'")
    new_believed = or_(new.detail.is_(None), new.detail.not_like(marked))
    old_believed = or_(old.detail.is_(None), old.detail.not_like(marked))
    return statement.on_conflict_do_update(
        index_elements=["delivery_id", "attempt", "state"],
        set_={"at": new.at, "recorded_at": new.recorded_at, "detail": new.detail},
        where=and_(
            old.source == receiver,
            new.source == receiver,
            new_believed,
            or_(not_(old_believed), new.at < old.at),
        ),
    )


_UPSERT_EVENTS = BulkStatement(
    _events_upsert,
    EVENT_KEYS,
    rows=_keep_believed(rows_insert(EVENT, EVENT_KEYS, skip_conflicts=False)),
)


def _time_reader(dialect: Dialect) -> Callable[[Any], datetime | None]:
    """How a time the driver returns is read back (SQLite: UTC text; others: datetimes)."""
    if dialect.name == "sqlite":
        parse = datetime.fromisoformat  # (the offset appended is faster than .replace())
        return lambda value: None if value is None else parse(value + "+00:00")
    return lambda value: None if value is None else as_utc(value)


def _preferred(event: Event, kept: Event) -> bool:
    """Of two reports of one state in a batch, whether `event` is the one the log keeps."""
    if event.believed != kept.believed:
        return event.believed
    return event.believed and event.at < kept.at


class _Folded(NamedTuple):
    """What storing a batch's acks counted, added to the counters once it is committed."""

    stored: int = 0  # acks matched to a delivery
    unknown: int = 0  # acks that match no delivery
    not_believed: int = 0
    clamped: int = 0


@dataclass
class ClaimStats:
    """Receivers' reports the rules did not take as they were (docs/protocol.md)."""

    not_believed: int = 0  # kept as an as-run event only (implausible or contradictory)
    clamped: int = 0  # a time outside the airing's window, replaced by the receive time


_UPDATE_RECEIVERS = BulkStatement(
    update(RECEIVER).where(RECEIVER.c.id == bindparam("_id")),
    ("online", "last_seen_at", "_id"),
    rows=rows_update(RECEIVER, ("online", "last_seen_at")),
)


@dataclass(slots=True)
class _Row:
    """What a batch knows and changes of one delivery."""

    id: int
    timing: Timing
    before: Standing  # as read
    standing: Standing  # after the batch's reports so far
    detail: str | None = None  # the new detail, when a report changed the state with one
    attempt: int = 1  # the delivery's current attempt: its events are recorded in it
    # A relay's believed completion: seconds lost and reconnects, as the receiver said.
    relay: tuple[float | None, int | None] | None = None


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
    store_failures: int = 0  # storage attempts that failed (retried, or split to park one)
    dead_letters: int = 0  # messages parked in dead_letter
    last_error: str = ""
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=ERRORS_KEPT))


# A decoded message: (message, receiver id, ack as (receiver, broadcast, seq, Ack) or state).
_Item = tuple[Message, str, "tuple[str, int, int, Ack] | ReceiverStatus"]


def is_transient(error: BaseException) -> bool:
    """Whether a storage error is the database's own trouble (retry) or the batch's (park)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError | ConnectionError):
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(error).__mro__)


def describe(error: BaseException) -> str:
    """A short text of a storage error (the driver's own message, without the SQL)."""
    cause = getattr(error, "orig", None) or error
    return f"{type(cause).__name__}: {cause}"


class _Unstored(Exception):
    """Storage stopped on a transient error: what is left, to retry after a pause."""

    def __init__(self, items: list[_Item], letters: list[Letter], error: BaseException) -> None:
        super().__init__(describe(error))
        self.items = items
        self.letters = letters
        self.error = error


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
        rules: Rules | None = None,
        metrics: Metrics | None = None,
        subscribed: ActiveSubscriptionCache | None = None,
    ) -> None:
        self.engine = engine
        # Whether any webhook subscription is active (cached): receiver.online/offline
        # events are looked for only then.
        self.subscribed = subscribed or ActiveSubscriptionCache()
        # Prometheus counters (broadcast.core.metrics), counted beside `stats`.
        self.metrics = metrics
        if metrics is not None:
            metrics.track_lag(self.lag_seconds)
        # What the server believes of receivers' reports (skew, grace; Rules.of(settings)).
        self.rules = rules or Rules()
        self.claims = ClaimStats()
        # Told, after each commit, which receivers said `online: true` in the batch (the
        # worker resends their current commands); it must return at once.
        self.on_online = on_online
        self.topics = topics
        self.batch_size = batch_size
        self.flush_seconds = flush_ms / 1000
        self.clock = clock
        self.stats = IngestStats()
        # (time.monotonic() on arrival, message): the backlog's age is known (lag_seconds).
        self._queue: queue.SimpleQueue[tuple[float, Message]] = queue.SimpleQueue()
        self._queued_since: float | None = None  # arrival of the oldest queued, or earlier
        self._batch_since: float | None = None  # arrival of the oldest of the batch in hand
        self._client: MqttClient | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._unsubscribe: list[Callable[[], None]] = []
        self._updates: dict[tuple[str, ...], BulkStatement] = {}
        # When each receiver's last_seen_at was last written (see SEEN_WRITE).
        self._seen_written: dict[str, datetime] = {}

    # --- wiring ----------------------------------------------------------------

    def attach(self, client: MqttClient, *, shared_group: str = "") -> None:
        """Subscribe on `client` (fixed id, persistent session, manual_ack=True).

        With `shared_group` (LOA_MQTT_SHARED_GROUP) the ingestors of several workers
        share the stream: `$share/<group>/...`, each message to one of them.
        """
        self._client = client
        share = f"$share/{shared_group}/" if shared_group else ""
        self._unsubscribe = [
            client.subscribe(share + self.topics.all_acks, self.offer, qos=1),
            client.subscribe(share + self.topics.all_states, self.offer, qos=1),
        ]

    def offer(self, message: Message) -> None:
        """Queue one message for the next batch (called on the MQTT thread)."""
        now = time.monotonic()
        if not self.stats.first_message_at:
            self.stats.first_message_at = now
        self._queue.put((now, message))
        # After the put: _next_batch clears the mark before it looks at the queue.
        if self._queued_since is None:
            self._queued_since = now

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

    def lag_seconds(self) -> float:
        """How long the oldest message received but not yet stored has waited (0: none)."""
        marks = [mark for mark in (self._batch_since, self._queued_since) if mark is not None]
        return time.monotonic() - min(marks) if marks else 0.0

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
        self._batch_since = first[0]
        # Whatever is still queued arrived after the batch's last message.
        self._queued_since = None
        if not self._queue.empty():
            self._queued_since = batch[-1][0]
        return [message for _, message in batch]

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                if self._stop.is_set():
                    return
                continue
            items, letters = self._decode(batch)
            while True:
                try:
                    self._store(items, letters)
                    break
                except _Unstored as exc:  # the database's trouble: keep what is left, retry
                    items, letters = exc.items, exc.letters
                    log.warning(
                        "Storing %d messages failed (%s); retrying in %g s",
                        len(items) + len(letters),
                        exc,
                        RETRY_SECONDS,
                    )
                except Exception as exc:  # noqa: BLE001 - never let the loop die
                    self._note_error(exc)
                    log.exception("Storing %d messages failed; retrying", len(items))
                if self._stop.wait(RETRY_SECONDS):
                    return  # not acknowledged: the broker delivers them again
            if self._client is not None:
                self._client.ack_many(batch)
            self._batch_since = None

    # --- one batch -------------------------------------------------------------

    def process(self, messages: Sequence[Message]) -> None:
        """Validate, match and store a batch (no acks sent here); raises on database trouble.

        One transaction for the batch. When it fails for a reason of the messages' own,
        the batch is stored in parts until each message that still fails is found and
        parked in dead_letter: the others are stored all the same.
        """
        items, letters = self._decode(messages)
        try:
            self._store(items, letters)
            return
        except _Unstored as exc:
            error = exc.error
        raise error

    def _decode(self, messages: Sequence[Message]) -> tuple[list[_Item], list[Letter]]:
        """Read a batch: what to store, and what could not even be read (to park)."""
        items: list[_Item] = []
        letters: list[Letter] = []
        malformed = mismatched = unknown = 0
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
                        unknown += 1
                        continue
                    items.append((message, receiver_id, (receiver_id, ref[0], ref[1], ack)))
                elif kind is TopicKind.state:
                    if not message.payload:
                        continue  # a retained state being cleared
                    items.append((message, receiver_id, decode_state(message.payload)))
                else:
                    malformed += 1
            except ProtocolError as exc:
                malformed += 1
                log.warning("Malformed payload on %s: %s", message.topic, exc)
            except Exception as exc:  # noqa: BLE001 - a decoder bug: keep the message for a look
                log.exception("Reading the payload on %s failed", message.topic)
                error = describe(exc)
                letters.append(
                    Letter(message.topic, receiver_id, message.payload, DECODE_FAILED, error)
                )
        self.stats.messages += len(messages)
        self.stats.malformed += malformed
        self.stats.mismatched += mismatched
        self.stats.unknown += unknown
        if self.metrics is not None:
            self.metrics.rejected(REJECT_MALFORMED, malformed)
            self.metrics.rejected(REJECT_MISMATCHED, mismatched)
            self.metrics.rejected(REJECT_UNKNOWN, unknown)
        return items, letters

    def _store(self, items: list[_Item], letters: list[Letter]) -> None:
        """Store decoded messages and park `letters`; _Unstored on a transient error.

        The normal path is one commit. A permanent failure splits the part in halves,
        each stored on its own, down to single messages, which are parked: a poisoned
        message among n costs about 2·log2(n) extra transactions.
        """
        now = self.clock()
        letters = list(letters)
        parts: deque[list[_Item]] = deque([items] if items else [])
        while parts:
            part = parts.popleft()
            try:
                self._commit(part, now)
                continue
            except Exception as exc:  # noqa: BLE001 - sorted out below
                self._note_error(exc)
                if is_transient(exc):
                    left = [item for chunk in (part, *parts) for item in chunk]
                    raise _Unstored(left, letters, exc) from exc
                if part is items:
                    log.warning(
                        "Storing %d messages failed (%s); storing them apart to park the bad",
                        len(items),
                        describe(exc),
                        exc_info=not isinstance(exc, sa_exc.DBAPIError),
                    )
                if len(part) > 1:
                    half = len(part) // 2
                    parts.extendleft((part[half:], part[:half]))
                    continue
                message, receiver_id, value = part[0]
                code = STATE_STORE_FAILED if isinstance(value, ReceiverStatus) else ACK_STORE_FAILED
                letters.append(
                    Letter(message.topic, receiver_id, message.payload, code, describe(exc))
                )
        if not letters:
            return
        try:
            park(self.engine, letters, now)
        except Exception as exc:  # noqa: BLE001 - not even parked: keep them and retry
            self._note_error(exc)
            raise _Unstored([], letters, exc) from exc
        self.stats.dead_letters += len(letters)
        if self.metrics is not None:
            self.metrics.dead_lettered.inc(len(letters))
        for letter in letters:
            log.error(
                "Message on %s parked in dead_letter (%s): %s",
                letter.topic,
                letter.code,
                letter.error,
            )

    def _note_error(self, error: BaseException) -> None:
        text = describe(error)
        self.stats.store_failures += 1
        self.stats.last_error = text
        self.stats.errors.append(text)

    def _commit(self, items: list[_Item], now: datetime) -> None:
        """Store decoded messages in one transaction, then tell who came online."""
        acks: list[tuple[str, int, int, Ack]] = []
        states: dict[str, ReceiverStatus] = {}
        seen: set[str] = set()
        for _, receiver_id, value in items:
            if isinstance(value, ReceiverStatus):
                states[receiver_id] = value
            else:
                acks.append(value)
                seen.add(receiver_id)
        with Session(self.engine) as session:
            folded = self._store_acks(session, acks, now)
            online_seen = self._store_receivers(session, states, seen, now)
            session.commit()
        # Counted only once committed: a batch that fails is stored again (retried, or in
        # parts to park a bad message), and its acks would be counted each time.
        self.stats.acks_stored += folded.stored
        self.stats.unknown += folded.unknown
        if self.metrics is not None:
            self.metrics.acks_stored.inc(folded.stored)
            self.metrics.rejected(REJECT_UNKNOWN, folded.unknown)
            self.metrics.ingest_batches.inc()
            if folded.not_believed:
                self.metrics.acks_not_believed.inc(folded.not_believed)
        if folded.not_believed or folded.clamped:
            self.claims.not_believed += folded.not_believed
            self.claims.clamped += folded.clamped
            log.warning(
                "%d receiver reports not believed and %d clocks clamped in a batch of %d "
                "(see the deliveries' flags and the as-run log)",
                folded.not_believed,
                folded.clamped,
                len(acks),
            )
        # Remembered only once committed: a batch retried after an error writes them again.
        for receiver_id, is_online in online_seen.items():
            if is_online:
                self._seen_written[receiver_id] = now
            else:
                self._seen_written.pop(receiver_id, None)
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
    ) -> _Folded:
        """Fold the batch's acks into their deliveries (delivery_state.apply_report).

        Nothing is written between the read of the deliveries and their writes
        (`_lock_batch`). Returns what it counted, for the counters once committed.
        """
        if not acks:
            return _Folded()
        connection = session.connection()
        _lock_batch(connection)
        dialect = connection.dialect
        driver_value = driver_time(dialect)
        converted: dict[datetime, Any] = {}

        def to_db(value: datetime) -> Any:
            # A report's time goes to its event and its column: converted once.
            found = converted.get(value)
            if found is None:
                found = converted[value] = driver_value(value)
            return found

        recorded_at = to_db(now)
        d, o = DELIVERY, OCCURRENCE
        pairs = sorted({(a[1], a[2]) for a in acks})
        occurrences: dict[tuple[int, int], int] = {}
        airings: dict[int, tuple[datetime, datetime, datetime | None]] = {}
        for oid, bid, seq, air_at, expires_at, dispatched_at in connection.execute(
            sa_select(
                o.c.id, o.c.broadcast_id, o.c.seq, o.c.air_at, o.c.expires_at, o.c.dispatched_at
            ).where(tuple_(o.c.broadcast_id, o.c.seq).in_(pairs))
        ):
            occurrences[(bid, seq)] = oid
            airings[oid] = (air_at, expires_at, dispatched_at)
        # Per delivery: where it stands and its airing's timing, read once for the batch;
        # only what the batch changes is written.
        rows: dict[tuple[int, str], _Row] = {}
        if occurrences:
            to_list = driver_list(dialect)
            read = _time_reader(dialect)
            found = _SELECT_DELIVERIES.fetch(
                connection,
                (to_list(sorted(occurrences.values())), to_list(sorted({a[0] for a in acks}))),
            )
            timings: dict[tuple[int, int], Timing] = {}
            for did, oid, target, state, flags, duration_ms, attempt, *times in found:
                if state in _NOT_SENT:
                    continue  # nothing was sent, so nothing can be acknowledged
                sent, received, downloaded, started, completed, finished = map(read, times)
                standing = Standing(
                    state,
                    sent,
                    received,
                    downloaded,
                    started,
                    completed,
                    finished,
                    parse_flags(flags) if flags else _NO_FLAGS,
                )
                timing = timings.get((oid, duration_ms))
                if timing is None:
                    timing = timings[(oid, duration_ms)] = Timing(*airings[oid], duration_ms or 0)
                rows[(oid, target)] = _Row(did, timing, standing, standing, attempt=attempt)
        rules = self.rules
        events: dict[tuple[int, str], Event] = {}
        attempts: dict[int, int] = {}
        stored = unknown = not_believed = clamped = 0
        for receiver_id, bid, seq, ack in acks:
            oid = occurrences.get((bid, seq))
            row = rows.get((oid, receiver_id)) if oid is not None else None
            if row is None:
                unknown += 1
                log.info(
                    "Ack %s/%s from %s matches no delivery: ignored",
                    ack.broadcast_id,
                    ack.state.value,
                    receiver_id,
                )
                continue
            step = apply_report(
                row.standing,
                ack.state.value,
                ack.at,
                ack.detail,
                timing=row.timing,
                rules=rules,
                now=now,
            )
            if (
                ack.state is AckState.completed
                and (ack.lost_seconds is not None or ack.reconnects is not None)
                and step.standing.state == AckState.completed.value
                and row.standing.state != AckState.completed.value
            ):
                row.relay = (ack.lost_seconds, ack.reconnects)
            row.standing = step.standing
            if step.detail is not None:
                row.detail = step.detail
            stored += 1
            not_believed += not step.believed
            clamped += step.clamped
            attempts[row.id] = row.attempt
            for event in step.events:
                key = (row.id, event.state)
                kept = events.get(key)
                if kept is None or _preferred(event, kept):
                    events[key] = event
        _UPSERT_EVENTS.execute(
            connection,
            [
                (did, attempts[did], state, to_db(e.at), recorded_at, e.source, None, e.detail)
                for (did, state), e in events.items()
            ],
        )
        # One executemany per shape of change (usually one per batch).
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for row in rows.values():
            before, after = row.before, row.standing
            if after is before:
                continue
            # Built in the table's column order, so the driver takes the values as they are.
            names: list[str] = []
            values: list[Any] = []
            if after.state != before.state:
                names.append("state")
                values.append(after.state)
            if row.detail is not None:
                names.append("detail")
                values.append(row.detail)
            # Times only ever move earlier, to a reported (not None) time.
            if after.sent_at is not before.sent_at and after.sent_at is not None:
                names.append("sent_at")
                values.append(to_db(after.sent_at))
            if after.received_at is not before.received_at and after.received_at is not None:
                names.append("received_at")
                values.append(to_db(after.received_at))
            if after.downloaded_at is not before.downloaded_at and after.downloaded_at is not None:
                names.append("downloaded_at")
                values.append(to_db(after.downloaded_at))
            if after.started_at is not before.started_at and after.started_at is not None:
                names.append("started_at")
                values.append(to_db(after.started_at))
            if after.completed_at is not before.completed_at and after.completed_at is not None:
                names.append("completed_at")
                values.append(to_db(after.completed_at))
            if after.finished_at is not before.finished_at and after.finished_at is not None:
                names.append("finished_at")
                values.append(to_db(after.finished_at))
            if after.flags != before.flags:
                names.append("flags")
                values.append(format_flags(after.flags))
            if row.relay is not None:
                names.extend(("lost_seconds", "reconnects"))
                values.extend(row.relay)
            if names:
                groups.setdefault(tuple(names), []).append((*values, recorded_at, row.id))
        for keys, params in groups.items():
            statement = self._updates.get(keys)
            if statement is None:
                statement = self._updates[keys] = BulkStatement(
                    update(d).where(d.c.id == bindparam("_id")),
                    (*keys, "updated_at", "_id"),
                    rows=rows_update(d, (*keys, "updated_at")),
                )
            statement.execute(connection, params)
        return _Folded(stored, unknown, not_believed, clamped)

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
        # receiver.online / receiver.offline: from state messages (and Last Wills), on a
        # change of the stored flag only; nothing is read when no subscription is active.
        webhook_events.receivers_changed(
            session,
            {rid: status.online for rid, status in states.items()},
            subscribed=self.subscribed,
            now=now,
        )
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
        # Codecs come with a receiver's `state` on connect: a few rows, written as they are.
        for receiver_id, status in states.items():
            if status.codecs is not None:
                session.connection().execute(
                    update(RECEIVER)
                    .where(RECEIVER.c.id == receiver_id)
                    .values(codecs=sorted({c.lower() for c in status.codecs}))
                )
        # The volume it plays at (extension): kept with when it said so.
        for receiver_id, status in states.items():
            level = volume.reported_volume(status.volume)
            if status.online and level is not None:
                session.connection().execute(
                    update(RECEIVER)
                    .where(RECEIVER.c.id == receiver_id)
                    .values(reported_volume=level, reported_volume_at=now)
                )
            if status.features is not None:
                session.connection().execute(
                    update(RECEIVER)
                    .where(RECEIVER.c.id == receiver_id)
                    .values(features=sorted({f.lower() for f in status.features}))
                )
            if status.online:
                # The filler it holds (extension). A version other than the one last sent
                # to it (it restarted, or never got it) clears that note: the worker's
                # next filler pass sends it again.
                held = status.filler
                session.connection().execute(
                    update(RECEIVER)
                    .where(RECEIVER.c.id == receiver_id)
                    .values(
                        filler_version=held,
                        filler_sent=case(
                            (RECEIVER.c.filler_sent == held, RECEIVER.c.filler_sent),
                            else_=None,
                        ),
                    )
                )
        return written
