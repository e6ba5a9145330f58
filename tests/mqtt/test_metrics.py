"""/metrics shows what really happened: a dispatch to real receivers over the embedded
broker, their acknowledgements, the messages refused; and only to a scraper with a token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from api.main import create_app
from broadcast.core.metrics import Metrics
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery
from broadcast.people.models import Role
from stations.models import Receiver
from stations.mqtt import BrokerAddress
from stations.protocol import Ack, AckState, Topics, encode
from stations.timeutil import utcnow
from tests.mqtt.conftest import SimFactory, WorkerFactory, World, wait_for
from tests.mqtt.test_broker_security import Device, connect
from tests.mqtt.test_end_to_end import all_in, schedule
from tests.utils import UserFactory

METRICS_TOKEN = "metrics-token-for-the-scraper-0123"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def devices() -> Iterator[list[Device]]:
    opened: list[Device] = []
    yield opened
    for device in opened:
        device.close()


def test_metrics_count_a_real_dispatch_and_its_acknowledgements(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
    make_user: UserFactory,
    devices: list[Device],
) -> None:
    metrics = Metrics()
    settings = mqtt_settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    yty = world.receivers_of(engine, "02680")
    make_simulation(embedded_broker, yty)
    worker = make_worker(embedded_broker, metrics=metrics)
    bid = schedule(engine, settings, world, ["02680"])
    assert worker.tick().published == 3
    wait_for(lambda: all_in(engine, bid, {"completed"}), timeout=15)

    # A receiver of Bắc Hà sends three messages the ingestor must refuse.
    rid = world.receivers_of(engine, "02800")[0]
    device = connect(embedded_broker, rid, world.receivers[rid], client_id=rid)
    devices.append(device)
    topics = Topics(settings.mqtt_topic_prefix)
    now = utcnow()
    device.client.publish(topics.ack(rid), b"not json", qos=1)
    unknown = Ack(broadcast_id="9999.1", state=AckState.received, at=now)
    device.client.publish(topics.ack(rid), encode(unknown), qos=1)
    other = Ack(broadcast_id=f"{bid}.1", state=AckState.received, at=now, receiver_id=yty[0])
    device.client.publish(topics.ack(rid), encode(other), qos=1)
    ingestor = worker.ingestor
    assert ingestor is not None
    wait_for(
        lambda: (
            (ingestor.stats.malformed, ingestor.stats.unknown, ingestor.stats.mismatched)
            == (1, 1, 1)
        )
    )

    with TestClient(create_app(settings, engine=engine, metrics=metrics)) as client:
        admin = make_user(Role.admin)
        assert client.get(f"/api/v1/receivers/{yty[0]}", headers=admin).status_code == 200
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = samples(answer.text)

    def value(name: str, **labels: str) -> float:
        return found[(name, tuple(sorted(labels.items())))]

    assert value("loa_commands_published_total", kind="programme") == 3
    assert (
        value("loa_commands_published_total", kind="resend_programme")
        == worker.resend_stats.programmes
    )
    # Every receiver acknowledged received, downloaded, started and completed at least.
    stored = value("loa_acks_stored_total")
    assert stored == ingestor.stats.acks_stored and stored >= 3 * 4
    assert value("loa_acks_rejected_total", reason="malformed") == 1
    assert value("loa_acks_rejected_total", reason="unknown_delivery") == 1
    assert value("loa_acks_rejected_total", reason="receiver_mismatch") == 1
    assert value("loa_dead_lettered_total") == 0
    assert value("loa_ingest_lag_seconds") >= 0
    with Session(engine) as ses:
        deliveries = ses.exec(select(func.count()).select_from(Delivery)).one()
        online = ses.exec(
            select(func.count()).where(Receiver.online == True)  # noqa: E712
        ).one()
    assert value("loa_deliveries", state="completed") == 3 == deliveries
    assert value("loa_deliveries", state="sent") == 0
    assert value("loa_receivers_online") == online == 4  # Y Tý's three, and Bắc Hà's device
    # Latency is labelled by the route's template, never by the receiver id itself.
    routes = {dict(labels).get("route") for (name, labels) in found if "duration" in name}
    assert "/api/v1/receivers/{receiver_id}" in routes
    assert not any(yty[0] in (route or "") for route in routes)


def test_metrics_need_the_token_or_a_global_admin(
    engine: Engine, mqtt_settings: Settings, world: World, make_user: UserFactory
) -> None:
    settings = mqtt_settings.model_copy(update={"metrics_token": METRICS_TOKEN})
    with TestClient(create_app(settings, engine=engine)) as client:
        nobody = client.get("/metrics")
        assert nobody.status_code == 401
        assert nobody.headers["www-authenticate"] == "Bearer"
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        district = client.get("/metrics", headers=make_user(Role.admin, "082"))
        assert district.status_code == 403
        editor = client.get("/metrics", headers=make_user(Role.editor, "10"))
        assert editor.status_code == 403
        admin = client.get("/metrics", headers=make_user(Role.admin))
        assert admin.status_code == 200 and "loa_receivers_online" in admin.text
    # Without LOA_METRICS_TOKEN nothing else opens it.
    with TestClient(create_app(mqtt_settings, engine=engine)) as client:
        token = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert token.status_code == 401
