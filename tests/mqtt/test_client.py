"""The MQTT client wrapper: topic filters, message fields, and acknowledgement after storing."""

from __future__ import annotations

import threading

import paho.mqtt.client as pahoc
import pytest
from sqlalchemy import Engine

from stations.mqtt import BrokerAddress, Message, MqttClient, topic_matches
from tests.mqtt.conftest import Mosquitto, World, wait_for


@pytest.mark.parametrize(
    ("filter_", "topic"),
    [
        ("loa/v1/receivers/+/ack", "loa/v1/receivers/rx-1/ack"),
        ("loa/v1/receivers/+/ack", "loa/v1/receivers/rx-1/state"),
        ("loa/v1/receivers/+/ack", "loa/v1/receivers/ack"),
        ("loa/v1/receivers/+/ack", "loa/v1/receivers/a/b/ack"),
        ("loa/#", "loa"),
        ("loa/#", "loa/v1/receivers/rx-1/cmd"),
        ("loa/+", "loa/"),
        ("#", "loa/v1"),
        ("#", "$SYS/broker/uptime"),
        ("+/broker/uptime", "$SYS/broker/uptime"),
        ("$SYS/#", "$SYS/broker/uptime"),
        ("loa/v1", "loa/v1/"),
        ("a/b", "a/b"),
        ("a/+/+", "a/b"),
    ],
)
def test_topic_filters_match_as_mqtt_says(filter_: str, topic: str) -> None:
    assert topic_matches(filter_, topic) == pahoc.topic_matches_sub(filter_, topic)


class Sink:
    """The ingestor's way of listening: fixed id, persistent session, manual acknowledgement."""

    def __init__(self, address: BrokerAddress) -> None:
        self.address = address
        self.got: list[Message] = []
        self._lock = threading.Lock()

    def _collect(self, message: Message) -> None:
        with self._lock:
            self.got.append(message)

    def connect(self) -> MqttClient:
        client = MqttClient(self.address, client_id="t-sink", clean_session=False, manual_ack=True)
        client.subscribe("loa/v1/receivers/+/ack", self._collect)
        client.start()
        return client

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [m.payload for m in self.got if not m.retain]

    def settle(self, client: MqttClient) -> None:
        """Return once the broker has handled every PUBACK `client` sent so far.

        A broker handles one connection's packets in order, and there is no answer to a
        PUBACK: the answer to a QoS 1 publish sent after them is the proof. Without it a
        new connection with the same client id may take the session over first, and the
        broker then sends again messages whose PUBACK it never read.
        """
        info = client.publish("loa/v1/test/settled", b"", qos=1)
        info.wait_for_publish(5)
        assert info.is_published()

    def take(self) -> list[Message]:
        """Every message collected so far, removed at once: one arriving meanwhile is kept."""
        with self._lock:
            taken, self.got = self.got, []
        return taken


PAYLOADS = [b"one", "hai \u01b0".encode(), bytes(range(256)) * 40]


def test_messages_arrive_whole(engine: Engine, world: World, broker: BrokerAddress) -> None:
    rx = world.receivers_of(engine, "02680")[0]
    ack_topic = f"loa/v1/receivers/{rx}/ack"
    device = MqttClient(broker.with_login(rx, world.receivers[rx]), client_id=rx)
    device.start()
    # Retained before anyone listens: the sink gets it flagged as retained.
    device.publish(ack_topic, b"retained", qos=1, retain=True).wait_for_publish(5)
    sink = Sink(broker)
    client = sink.connect()
    wait_for(lambda: len(sink.got) == 1)
    for payload in PAYLOADS:
        device.publish(ack_topic, payload, qos=1).wait_for_publish(5)
    wait_for(lambda: len(sink.got) == 4)
    client.ack_many(sink.got)
    client.stop()
    device.stop()
    retained, *fresh = sink.got
    assert (retained.topic, retained.payload, retained.retain) == (ack_topic, b"retained", True)
    assert [(m.topic, m.payload, m.qos, m.retain) for m in fresh] == [
        (ack_topic, p, 1, False) for p in PAYLOADS
    ]
    assert len({m.mid for m in sink.got}) == 4


def test_only_acknowledged_messages_are_not_sent_again(
    engine: Engine, world: World, mosquitto: Mosquitto
) -> None:
    # (amqtt drops a message left unacknowledged for 5 s instead of keeping it for the
    # session, so this is mosquitto's behaviour, the production broker's.)
    broker = mosquitto.address
    rx = world.receivers_of(engine, "02680")[0]
    ack_topic = f"loa/v1/receivers/{rx}/ack"
    device = MqttClient(broker.with_login(rx, world.receivers[rx]), client_id=rx)
    device.start()
    sink = Sink(broker)
    first = sink.connect()

    def probe() -> bool:  # published until one arrives: the subscription is in place
        device.publish(ack_topic, b"probe", qos=1).wait_for_publish(5)
        return b"probe" in sink.payloads()

    wait_for(probe, step=0.05)
    # Probes published before this one may still be on their way: each message is
    # acknowledged exactly when it is taken from the sink, so none is dropped unacked.
    first.ack_many(sink.take())
    for payload in PAYLOADS:
        device.publish(ack_topic, payload, qos=1).wait_for_publish(5)
    wait_for(lambda: PAYLOADS[2] in sink.payloads())
    got = sink.take()  # in publishing order: late probes came before the payloads
    first.ack_many([m for m in got if m.payload == b"probe"])
    fresh = [m for m in got if m.payload != b"probe"]
    assert [m.payload for m in fresh] == PAYLOADS
    # The first two are stored and acknowledged; the third is not, as when the service
    # dies mid-batch: the broker sends it again to the same session, and only it.
    first.ack_many(fresh[:2])
    sink.settle(first)
    first.stop()
    assert sink.take() == []
    second = sink.connect()
    wait_for(lambda: PAYLOADS[2] in sink.payloads())
    device.publish(ack_topic, b"last", qos=1).wait_for_publish(5)
    wait_for(lambda: b"last" in sink.payloads())
    second.ack_many(sink.got)
    second.stop()
    device.stop()
    assert sink.payloads() == [PAYLOADS[2], b"last"]
