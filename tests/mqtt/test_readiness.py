"""Readiness follows the service's own MQTT session, for either broker."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app
from broadcast.core.settings import Settings
from stations.mqtt import BrokerAddress
from tests.mqtt.conftest import WorkerFactory, wait_for


def test_readyz_reports_the_service_broker_session(
    engine: Engine, mqtt_settings: Settings, broker: BrokerAddress, make_worker: WorkerFactory
) -> None:
    worker = make_worker(broker)
    app = create_app(mqtt_settings, engine=engine)
    app.state.background = SimpleNamespace(worker=worker)
    with TestClient(app) as client:
        wait_for(lambda: worker.publisher.connected)
        answer = client.get("/readyz")
        assert answer.status_code == 200, answer.text
        assert answer.json()["checks"] == {"database": "ok", "broker": "ok", "ingest": "ok"}
        worker.stop()
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["broker"].startswith("error")
