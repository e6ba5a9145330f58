"""Deadlines, duplicates and a broker restart, with real receivers and shortened timings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery, DeliveryEvent
from broadcast.schedule.models import Occurrence
from stations.mqtt import BrokerAddress, MqttClient
from stations.protocol import Topics
from stations.timeutil import as_utc
from tests.mqtt.conftest import Mosquitto, SimFactory, WorkerFactory, World, wait_for
from tests.mqtt.test_end_to_end import schedule, states


def test_missed_and_expired_deadlines(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    online, _slow, offline = world.receivers_of(engine, "02680")
    # Plays the bulletin 1000x slower: it starts but does not complete in this test.
    make_simulation(embedded_broker, [online], time_scale=1000)
    worker = make_worker(embedded_broker)
    bid = schedule(engine, mqtt_settings, world, ["02680"], in_seconds=0.2)
    worker.tick()
    wait_for(lambda: states(engine, bid)[online] == "started")
    with Session(engine) as ses:
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).one()
        air_at, expires_at = as_utc(occ.air_at), as_utc(occ.expires_at)
    # Before the deadlines nothing changes; the clock is moved, nobody sleeps.
    missed_at = air_at + timedelta(
        milliseconds=world.duration_ms, seconds=mqtt_settings.missed_grace_seconds
    )
    assert worker.tick(now=missed_at - timedelta(seconds=1)).deadlines["missed"] == 0
    report = worker.tick(now=max(expires_at, missed_at + timedelta(seconds=1)))
    assert report.deadlines["missed"] == 1 and report.deadlines["expired"] == 2
    final = states(engine, bid)
    assert final[online] == "missed" and final[offline] == "expired"


def test_duplicate_command_and_acks_change_nothing(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    rid = world.receivers_of(engine, "02800")[0]
    sim = make_simulation(embedded_broker, [rid])
    worker = make_worker(embedded_broker)
    bid = schedule(engine, mqtt_settings, world, ["02800"], in_seconds=0.2)
    worker.tick()
    wait_for(lambda: states(engine, bid) == {rid: "completed"})
    with Session(engine) as ses:
        delivery = ses.exec(select(Delivery).where(Delivery.broadcast_id == bid)).one()
        events_before = ses.exec(
            select(func.count()).where(DeliveryEvent.delivery_id == delivery.id)
        ).one()
    assert worker.ingestor is not None
    # Its four acks (received, downloaded, started, completed) are counted once the batch
    # holding the last one is committed: wait for the count, not only the stored state.
    wait_for(lambda: worker.ingestor and worker.ingestor.stats.acks_stored >= 4)
    seen = worker.ingestor.stats.acks_stored
    # The same command again (a resend after a crash): the receiver repeats its last ack.
    server = MqttClient(embedded_broker, client_id="svc-dup")
    server.start()
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    assert delivery.payload is not None
    server.publish(topics.cmd(rid), delivery.payload.encode()).wait_for_publish(5)
    wait_for(lambda: sim.agents[rid].acks.count((f"{bid}.1", "completed")) == 2)
    wait_for(lambda: worker.ingestor and worker.ingestor.stats.acks_stored > seen)
    server.stop()
    assert states(engine, bid) == {rid: "completed"}
    with Session(engine) as ses:
        events_after = ses.exec(
            select(func.count()).where(DeliveryEvent.delivery_id == delivery.id)
        ).one()
    assert events_after == events_before


@pytest.mark.mosquitto
def test_broker_restart_during_dispatch(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    mosquitto: Mosquitto,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import stations.simulate

    receivers = world.receivers_of(engine, "02680")
    monkeypatch.setattr(stations.simulate, "RECONNECT_SECONDS", 0.3)
    make_simulation(mosquitto.address, receivers)
    worker = make_worker(mosquitto.address)
    bid = schedule(engine, mqtt_settings, world, ["02680"], in_seconds=0.5)
    mosquitto.process.terminate()
    mosquitto.process.wait(10)
    wait_for(lambda: not worker.publisher.connected)
    report = worker.tick()  # airing materialised; commands wait in `queued`
    assert report.deliveries == 3 and report.published == 0
    assert set(states(engine, bid).values()) == {"queued"}
    mosquitto.restart()
    wait_for(lambda: worker.publisher.connected, timeout=15)
    # A pass records as sent what the broker took within PUBLISH_CONFIRM_SECONDS; on a
    # busy machine the rest is published again by the next pass (receivers deduplicate).
    published = [0]

    def all_sent() -> bool:
        published[0] += worker.tick().published
        return published[0] >= 3

    wait_for(all_sent, timeout=15, step=0.2)
    assert published[0] == 3
    wait_for(
        lambda: set(states(engine, bid).values()) == {"completed"},
        timeout=20,
        show=lambda: states(engine, bid),
    )
