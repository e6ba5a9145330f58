"""Readiness includes ingestion: not ready while acknowledgements wait too long to be stored."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app
from broadcast.core.settings import Settings
from stations.mqtt import BrokerAddress, Message
from stations.protocol import Topics
from tests.mqtt.conftest import WorkerFactory, World, wait_for


def test_readyz_is_unavailable_while_the_backlog_is_older_than_the_setting(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
) -> None:
    settings = mqtt_settings.model_copy(update={"ingest_max_lag_seconds": 0.05})
    worker = make_worker(embedded_broker)
    ingestor = worker.ingestor
    assert ingestor is not None
    app = create_app(settings, engine=engine)
    app.state.background = SimpleNamespace(worker=worker)
    rid = world.receivers_of(engine, "02680")[0]
    with TestClient(app) as client:
        wait_for(lambda: worker.publisher.connected)
        assert client.get("/readyz").status_code == 200
        # Nobody stores: what arrives waits in the backlog.
        ingestor.stop()
        topic = Topics(settings.mqtt_topic_prefix).state(rid)
        ingestor.offer(Message(topic, b'{"online": false}', 0, False))
        wait_for(lambda: ingestor.lag_seconds() > 0.05)
        answer = client.get("/readyz")
        assert answer.status_code == 503
        checks = answer.json()["checks"]
        assert checks["database"] == "ok" and checks["broker"] == "ok"
        assert checks["ingest"].startswith("error: the oldest acknowledgement not yet stored")
        assert "LOA_INGEST_MAX_LAG_SECONDS=0.05" in checks["ingest"]
        # Drained: ready again.
        ingestor.start()
        wait_for(lambda: client.get("/readyz").status_code == 200)
        assert ingestor.stats.states_stored == 1
