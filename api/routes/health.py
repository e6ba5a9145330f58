"""Liveness and readiness probes (no authentication, no data)."""

import socket
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from broadcast.core.db import ping
from broadcast.core.settings import Settings

router = APIRouter(tags=["health"])

# Short on purpose: a probe must answer quickly even when the broker is gone.
BROKER_PROBE_TIMEOUT = 2.0


def broker_address(settings: Settings) -> tuple[str, int]:
    """Host and port of the MQTT broker the service uses."""
    if settings.mqtt_url:
        parts = urlsplit(settings.mqtt_url)
        return parts.hostname or "127.0.0.1", parts.port or 1883
    return "127.0.0.1", settings.mqtt_embedded_port


def ingest_check(lag: float, limit: float) -> str:
    """The check's value: ok, or an error naming how long the oldest unstored ack waited."""
    if lag <= limit:
        return "ok"
    return (
        f"error: the oldest acknowledgement not yet stored arrived {lag:.1f} s ago "
        f"(LOA_INGEST_MAX_LAG_SECONDS={limit:g})"
    )


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database and broker reachable, acks stored in time")
def readyz(request: Request) -> JSONResponse:
    """200 when the database answers, the MQTT session is up and acks do not lag, else 503."""
    settings: Settings = request.app.state.settings
    checks: dict[str, Any] = {}
    try:
        ping(request.app.state.engine)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    worker = getattr(getattr(request.app.state, "background", None), "worker", None)
    if worker is not None:
        # The service's own MQTT session is the real test (and opens no extra connection).
        publisher_ok = worker.publisher.connected
        checks["broker"] = "ok" if publisher_ok else "error: the service is not connected"
        ingestor = getattr(worker, "ingestor", None)
        if ingestor is not None:
            checks["ingest"] = ingest_check(ingestor.lag_seconds(), settings.ingest_max_lag_seconds)
    else:
        host, port = broker_address(settings)
        try:
            with socket.create_connection((host, port), timeout=BROKER_PROBE_TIMEOUT):
                checks["broker"] = "ok"
        except OSError as exc:
            checks["broker"] = f"error: {exc.strerror or type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
