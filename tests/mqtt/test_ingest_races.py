"""Writers that race the ingestor: a cancel or a deadline never undone by a batch, nor the reverse.

Each test interrupts one transaction at a chosen statement (an engine event) and runs a
whole transaction of another writer from another session right there, through the real
service: the cancel of broadcast.schedule.service, the deadlines, the ingestor. The other
session never waits for a lock: when the database makes it wait (the interrupted
transaction holds what it needs), it runs as soon as the interrupted one is over, which
is what a waiting writer does. Either way the end must be the one of the order the two
transactions were committed in. Nothing sleeps: the interleaving is fixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Literal

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc

from broadcast.core.db import make_engine, transaction
from broadcast.core.settings import Settings
from broadcast.delivery.deadlines import apply_deadlines
from broadcast.delivery.dispatch import publish_cancels
from broadcast.delivery.ingest import AckIngestor
from broadcast.runtime.worker import Worker
from broadcast.schedule.models import Broadcast
from broadcast.schedule.service import cancel_broadcast
from stations.mqtt import BrokerAddress
from stations.protocol import Topics
from stations.timeutil import as_utc
from tests.mqtt.conftest import WorkerFactory, World
from tests.mqtt.test_delivery_state import (
    FAKE_DURATION_MS,
    MINUTE,
    Ingest,
    at,
    delivery_of,
    dispatch,
    events_of,
)


@pytest.fixture
def worker(embedded_broker: BrokerAddress, make_worker: WorkerFactory) -> Worker:
    """A dispatcher on the embedded broker (its own ingestor off: the tests drive one)."""
    return make_worker(embedded_broker, ingest=False)


@pytest.fixture
def impatient(mqtt_settings: Settings) -> Iterator[Engine]:
    """A second engine on the test's database whose statements never wait for a lock."""
    url = mqtt_settings.database_url
    if url.startswith("sqlite"):
        other = make_engine(url)

        @event.listens_for(other, "connect")
        def _no_wait(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=0")  # after make_engine's 10 s

    else:
        other = create_engine(url, connect_args={"options": "-c lock_timeout=100"})
    yield other
    other.dispose()


def waited(error: BaseException) -> bool:
    """Whether the database refused to go on without waiting for another transaction."""
    if not isinstance(error, sa_exc.OperationalError):
        return False
    text = str(error.orig)
    return "database is locked" in text or "lock timeout" in text


class Meanwhile:
    """Runs `step` once when `engine` is about to run (or has just run) a matching statement.

    `step` is another session's whole transaction. If the database makes it wait for the
    interrupted transaction, it is run once the `with` block is over (`order` "after");
    otherwise it was committed right there, in the middle (`order` "inside").
    """

    def __init__(
        self,
        engine: Engine,
        moment: Literal["before", "after"],
        matches: Callable[[str], bool],
        step: Callable[[], object],
    ) -> None:
        self.engine, self.matches, self.step = engine, matches, step
        self.name = f"{moment}_cursor_execute"
        self.order: Literal["inside", "after"] | None = None

    def _fire(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.order is not None or not self.matches(statement):
            return
        try:
            self.step()
            self.order = "inside"
        except Exception as exc:
            if not waited(exc):
                raise
            self.order = "after"

    def __enter__(self) -> Meanwhile:
        event.listen(self.engine, self.name, self._fire)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        event.remove(self.engine, self.name, self._fire)
        if kind is None:
            assert self.order is not None, "the statement to interrupt never ran"
            if self.order == "after":
                self.step()


def batch_reads_deliveries(statement: str) -> bool:
    """The ingestor's read of where its batch's deliveries stand."""
    text = " ".join(statement.split())
    return text.startswith("SELECT") and "FROM delivery " in text and "delivery.target" in text


def writes_deliveries(statement: str) -> bool:
    return " ".join(statement.split()).startswith("UPDATE delivery ")


class Recorder:
    """A publisher that keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self.sent.append((topic, payload))


def cancel_in(engine: Engine, broadcast_id: int, now: datetime) -> Callable[[], int]:
    """The editors' cancel of a broadcast, as one transaction of its own on `engine`."""

    def cancel() -> int:
        with transaction(engine) as ses:
            broadcast = ses.get(Broadcast, broadcast_id)
            assert broadcast is not None
            return cancel_broadcast(session=ses, broadcast=broadcast, now=now)

    return cancel


# --- a batch must not undo what another writer committed after the batch's read ------------


def test_a_cancel_committed_while_a_batch_is_stored_is_kept(
    engine: Engine, impatient: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    rx = airing.receivers[0]
    ingest = Ingest(engine, mqtt_settings, airing.air_at - 25 * MINUTE)
    ingest((rx, airing.ref, "received", at(airing.air_at - 26 * MINUTE)))
    cancelled_at = airing.air_at - 24 * MINUTE
    ingest.now = cancelled_at
    cancel = cancel_in(impatient, airing.broadcast_id, cancelled_at)
    with Meanwhile(engine, "after", batch_reads_deliveries, cancel) as meanwhile:
        ingest((rx, airing.ref, "downloaded", at(airing.air_at - 25 * MINUTE)))
    # Cancelled either way: `downloaded` does not lift a cancel, and can be cancelled.
    delivery = delivery_of(engine, airing.broadcast_id, rx)
    assert delivery.state == "cancelled", f"cancel committed {meanwhile.order} the batch"
    assert as_utc(delivery.finished_at) == cancelled_at
    assert as_utc(delivery.downloaded_at) == airing.air_at - 25 * MINUTE
    assert as_utc(delivery.received_at) == airing.air_at - 26 * MINUTE
    events = events_of(engine, delivery.id)
    assert events["downloaded"].source == "receiver" and events["downloaded"].detail is None
    assert as_utc(events["downloaded"].at) == airing.air_at - 25 * MINUTE
    assert events["cancelled"].source == "server"
    # So the receiver is told to cancel, with every other receiver of the airing.
    publisher = Recorder()
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    publish_cancels(engine=engine, publisher=publisher, topics=topics, now=cancelled_at)
    assert sorted(topic for topic, _ in publisher.sent) == sorted(
        topics.cmd(r) for r in airing.receivers
    )
    assert {json.loads(body)["type"] for _, body in publisher.sent} == {"cancel"}


def test_a_deadline_committed_while_a_batch_is_stored_is_kept(
    engine: Engine, impatient: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    rx = airing.receivers[0]
    ingest = Ingest(engine, mqtt_settings, airing.air_at - 25 * MINUTE)
    ingest((rx, airing.ref, "received", at(airing.air_at - 26 * MINUTE)))
    # The receiver was offline: its `downloaded` arrives as the deadlines judge it missed.
    later = airing.air_at + 60 * MINUTE
    ingest.now = later

    def deadlines() -> None:
        apply_deadlines(engine=impatient, settings=mqtt_settings, now=later)

    with Meanwhile(engine, "after", batch_reads_deliveries, deadlines) as meanwhile:
        ingest((rx, airing.ref, "downloaded", at(airing.air_at - 25 * MINUTE)))
    # Missed either way: `downloaded` is no end, so it does not lift the verdict.
    delivery = delivery_of(engine, airing.broadcast_id, rx)
    assert delivery.state == "missed", f"deadlines committed {meanwhile.order} the batch"
    grace = timedelta(seconds=mqtt_settings.missed_grace_seconds)
    missed_at = airing.air_at + timedelta(milliseconds=FAKE_DURATION_MS) + grace
    assert as_utc(delivery.finished_at) == missed_at
    assert as_utc(delivery.downloaded_at) == airing.air_at - 25 * MINUTE
    events = events_of(engine, delivery.id)
    assert events["downloaded"].source == "receiver" and events["downloaded"].detail is None
    assert events["missed"].source == "server" and as_utc(events["missed"].at) == missed_at


# --- nor the other way round: a cancel must not undo an ack committed meanwhile -------------


def test_an_ack_committed_while_a_cancel_runs_is_kept(
    engine: Engine, impatient: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    rx, *others = airing.receivers
    now = airing.air_at + timedelta(seconds=10)
    ingest = Ingest(engine, mqtt_settings, now)
    ingest((rx, airing.ref, "received", at(airing.air_at - 26 * MINUTE)))
    late = Ingest(impatient, mqtt_settings, now)  # the ingestor, on the impatient engine

    def started() -> None:
        late((rx, airing.ref, "started", at(airing.air_at)))

    with Meanwhile(engine, "before", writes_deliveries, started) as meanwhile:
        count = cancel_in(engine, airing.broadcast_id, now)()
    delivery = delivery_of(engine, airing.broadcast_id, rx)
    assert as_utc(delivery.started_at) == airing.air_at
    assert events_of(engine, delivery.id)["started"].source == "receiver"
    if meanwhile.order == "inside":  # it had started before the cancel: not cancellable
        assert delivery.state == "started"
        assert delivery.finished_at is None
        assert "cancelled" not in events_of(engine, delivery.id)
        assert count == len(others)
    else:  # cancelled first: a start does not lift a cancel
        assert delivery.state == "cancelled"
        assert count == len(airing.receivers)
    for other in others:
        assert delivery_of(engine, airing.broadcast_id, other).state == "cancelled"


# --- the claims counters count what was committed ---------------------------------------------


def refuse_receiver_update(engine: Engine, receiver_id: str) -> None:
    """A real database fault after the acks are folded in: the receiver's row is refused."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_rx BEFORE UPDATE ON receiver "
                    f"WHEN NEW.id = '{receiver_id}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the refuse_rx trigger'); END"
                )
            )
            return
        connection.execute(
            text(
                "CREATE FUNCTION refuse_rx() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.id = '{receiver_id}' THEN RAISE EXCEPTION "
                "'refused by the refuse_rx trigger' USING ERRCODE = 'check_violation'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER refuse_rx BEFORE UPDATE ON receiver "
                "FOR EACH ROW EXECUTE FUNCTION refuse_rx()"
            )
        )


def test_claims_of_a_batch_split_to_park_a_message_are_counted_once(
    engine: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    implausible, clamped, refused = airing.receivers
    stranger = world.receivers_of(engine, "02800")[0]  # was never sent this airing
    refuse_receiver_update(engine, refused)
    ingest = Ingest(engine, mqtt_settings, airing.air_at - 19 * MINUTE)
    ingestor: AckIngestor = ingest.ingestor
    ingest(
        (implausible, airing.ref, "completed", at(airing.air_at - 20 * MINUTE)),
        (clamped, airing.ref, "received", "2099-01-01T00:00:00+07:00"),
        (refused, airing.ref, "received", at(airing.air_at - 20 * MINUTE)),
        (stranger, airing.ref, "received", at(airing.air_at - 20 * MINUTE)),
    )
    # Failed whole, then [implausible, clamped] stored, [refused, stranger] failed, then
    # [refused] parked and [stranger] stored (matching nothing).
    assert ingestor.stats.store_failures == 3
    assert ingestor.stats.dead_letters == 1 and ingestor.stats.acks_stored == 2
    assert (ingestor.claims.not_believed, ingestor.claims.clamped) == (1, 1)
    assert ingestor.stats.unknown == 1
    assert delivery_of(engine, airing.broadcast_id, refused).state == "sent"
    assert delivery_of(engine, airing.broadcast_id, implausible).flags == "implausible"
