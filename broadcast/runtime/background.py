"""Background services of `loa serve` and `loa worker`: the embedded broker and the Worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from broadcast.broker.auth import DatabaseAuthority
from broadcast.core.metrics import Metrics
from broadcast.core.settings import Settings
from broadcast.runtime.leader import Leadership
from broadcast.runtime.worker import Worker, broker_address
from stations.broker import EmbeddedBroker
from stations.security import new_secret

log = logging.getLogger(__name__)


@dataclass
class BackgroundHandle:
    """What start_background started; `stop()` stops it all, worker first."""

    worker: Worker | None
    broker: EmbeddedBroker | None
    authority: DatabaseAuthority | None

    def stop(self) -> None:
        """Stop the worker, then the embedded broker."""
        if self.worker is not None:
            self.worker.stop()
        if self.broker is not None:
            self.broker.stop()


def start_background(
    settings: Settings,
    engine: Engine,
    *,
    broker: bool = True,
    worker: bool = True,
    metrics: Metrics | None = None,
) -> BackgroundHandle:
    """Start the embedded broker (when LOA_MQTT_URL is unset) and the Worker.

    `metrics` (the web app's, under `loa serve`) counts what the worker publishes and stores.
    """
    embedded: EmbeddedBroker | None = None
    authority: DatabaseAuthority | None = None
    password = settings.mqtt_password
    if not settings.mqtt_url and (settings.mqtt_shared_group or settings.worker_instances > 1):
        raise ValueError(
            "LOA_MQTT_SHARED_GROUP and LOA_WORKER_INSTANCES need an external broker. Probable "
            "cause: LOA_MQTT_URL is unset, so this worker would start a broker of its own"
        )
    if not settings.mqtt_url and broker:
        # In-process broker: the service may mint its own password when none is configured.
        password = password or new_secret()
        authority = DatabaseAuthority(
            engine,
            service_username=settings.mqtt_username,
            service_password=password,
            prefix=settings.mqtt_topic_prefix,
            instances=settings.worker_instances,
        )
        embedded = EmbeddedBroker("127.0.0.1", settings.mqtt_embedded_port, authority)
        embedded.start()
        log.info("Embedded MQTT broker on 127.0.0.1:%d", settings.mqtt_embedded_port)
    running: Worker | None = None
    if worker:
        if password is None:
            if embedded is not None:
                embedded.stop()
            raise ValueError(
                "LOA_MQTT_PASSWORD is not set. Probable cause: with an external broker "
                "(LOA_MQTT_URL) the service needs its own broker password"
            )
        running = Worker(
            engine,
            settings,
            address=broker_address(settings, service_password=password),
            metrics=metrics,
            leadership=Leadership(settings.database_url, name=f"Worker {settings.worker_instance}"),
        )
        try:
            running.start()
        except Exception:
            if embedded is not None:
                embedded.stop()
            raise
    return BackgroundHandle(worker=running, broker=embedded, authority=authority)
