"""A broker that stops answering mid-batch neither stalls publishing nor delays deadlines.

The broker is a real mosquitto, frozen with SIGSTOP: its TCP connections stay open, so
the dispatcher's real MqttClient still believes it is connected, hands the commands to
the socket and waits for PUBACKs that never come (a broker host that hangs, or a network
path that drops everything, looks the same).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.settings import Settings
from broadcast.delivery import dispatch
from broadcast.runtime.worker import Worker
from broadcast.schedule.models import Occurrence
from stations.protocol import Topics
from stations.timeutil import as_utc, utcnow
from tests.mqtt.conftest import Mosquitto, WorkerFactory, World, wait_for
from tests.mqtt.test_end_to_end import schedule, states

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def frozen(mosquitto: Mosquitto) -> Iterator[Mosquitto]:
    """mosquitto, to be frozen by the test; thawed again before it is stopped."""
    yield mosquitto
    os.kill(mosquitto.process.pid, signal.SIGCONT)


def test_one_deadline_for_a_whole_publish_batch(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    frozen: Mosquitto,
    make_worker: WorkerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch, "PUBLISH_CONFIRM_SECONDS", 1.0)
    worker = make_worker(frozen.address, ingest=False)
    bid = schedule(engine, mqtt_settings, world, ["082"], in_seconds=60)  # five receivers
    now = worker.clock()
    dispatch.dispatch_due(engine=engine, settings=mqtt_settings, builder=worker.builder, now=now)
    os.kill(frozen.process.pid, signal.SIGSTOP)
    assert worker.publisher.connected  # nothing tells the client the broker is gone
    started = time.monotonic()
    published = dispatch.publish_queued(
        engine=engine,
        publisher=worker.publisher,
        topics=Topics(mqtt_settings.mqtt_topic_prefix),
        now=now,
    )
    took = time.monotonic() - started
    # One second for the whole batch, not one second per command.
    assert published == 0 and took < 2.5, took
    assert set(states(engine, bid).values()) == {"queued"}  # published again later
    os.kill(frozen.process.pid, signal.SIGCONT)


def test_deadlines_are_applied_while_publishing_hangs(
    engine: Engine, mqtt_settings: Settings, world: World, frozen: Mosquitto
) -> None:
    start = utcnow()
    clock = [start]
    worker = Worker(
        engine, mqtt_settings, address=frozen.address, clock=lambda: clock[0], ingest=False
    )
    worker.start()  # the scheduler loop and the deadlines, on the test's clock
    try:
        # An airing sent to a receiver that never answers.
        old = schedule(engine, mqtt_settings, world, ["02800"], in_seconds=60)
        worker.wake()
        wait_for(lambda: set(states(engine, old).values()) == {"sent"})
        with Session(engine) as ses:
            occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == old)).one()
            expired_at = as_utc(occ.expires_at) + timedelta(seconds=1)
        # The broker hangs; another airing falls due, and publishing its five commands
        # waits for acknowledgements that never come.
        os.kill(frozen.process.pid, signal.SIGSTOP)
        fresh_air = (expired_at - start).total_seconds() + 60
        fresh = schedule(engine, mqtt_settings, world, ["082"], in_seconds=fresh_air)
        clock[0] = expired_at  # the old airing's expiry has come; the new one is due
        worker.wake()
        began = time.monotonic()
        wait_for(lambda: set(states(engine, old).values()) == {"expired"}, timeout=5)
        assert time.monotonic() - began < dispatch.PUBLISH_CONFIRM_SECONDS / 2
        wait_for(lambda: len(states(engine, fresh)) == 5)
        assert set(states(engine, fresh).values()) == {"queued"}  # not lost: sent later
    finally:
        os.kill(frozen.process.pid, signal.SIGCONT)
        worker.stop()
