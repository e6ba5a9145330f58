"""The FastAPI application: REST v1 under /api/v1, probes at the root."""

from __future__ import annotations

import gc

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from api import console, errors
from api.latency import RequestLatency
from api.routes import (
    alerts,
    areas,
    audit,
    auth,
    blackouts,
    broadcasts,
    broker_hooks,
    bulletins,
    campaigns,
    dead_letters,
    digests,
    filler,
    health,
    languages,
    lexicon,
    media,
    notifications,
    receivers,
    relays,
    schedule,
    stations,
    templates,
    timeline,
    users,
    webhooks,
)
from api.routes import (
    metrics as metrics_routes,
)
from api.routes import reports as report_routes
from broadcast.core.db import make_engine
from broadcast.core.metrics import Metrics
from broadcast.core.settings import Settings
from broadcast.people.throttle import LoginThrottle

API_PREFIX = "/api/v1"
# Swagger UI's and ReDoc's files, served from the fastapi-offline package (never a CDN).
DOCS_STATIC = "/docs/static"

DESCRIPTION = """
Loa schedules bulletins for grassroots loudspeaker radio, reads them aloud in
Vietnamese and minority languages, and sends each commune's programme to its
receivers over MQTT.

Every route except `/auth/token`, `/healthz` and `/readyz` needs a bearer token,
and every answer is limited to the caller's area and its subtree. Errors always
have the shape `{"detail": "...", "code": "...", "errors": [...]}`.
"""


def api_router() -> APIRouter:
    """All REST v1 routers."""
    router = APIRouter(prefix=API_PREFIX)
    for module in (auth, areas, languages, stations, receivers, users, audit, bulletins, lexicon):
        router.include_router(module.router)
    router.include_router(broadcasts.router)
    router.include_router(broadcasts.station_router)
    router.include_router(report_routes.router)
    router.include_router(dead_letters.router)
    router.include_router(schedule.router)
    router.include_router(alerts.router)
    router.include_router(blackouts.router)
    router.include_router(campaigns.router)
    router.include_router(digests.router)
    router.include_router(notifications.router)
    router.include_router(templates.router)
    router.include_router(webhooks.router)
    router.include_router(timeline.router)
    router.include_router(relays.router)
    router.include_router(filler.router)
    return router


def create_app(
    settings: Settings, *, engine: Engine | None = None, metrics: Metrics | None = None
) -> FastAPI:
    """Build the application around `settings` (and an engine, for tests that share one).

    `metrics` are built here unless given; `loa serve` hands the same to its worker.
    """
    app = FastAPIOffline(
        static_url=DOCS_STATIC,
        # No request leaves the server: Swagger UI's badge would ask validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
        title="Loa",
        summary="Grassroots loudspeaker broadcast scheduling and text-to-speech",
        description=DESCRIPTION,
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.throttle = LoginThrottle.from_settings(settings)
    app.state.metrics = metrics or Metrics()
    app.state.metrics.watch(app.state.engine)
    errors.install(app)
    app.add_middleware(RequestLatency, metrics=app.state.metrics)
    app.include_router(health.router)
    app.include_router(metrics_routes.router)
    app.include_router(broker_hooks.router)
    app.include_router(api_router())
    app.include_router(media.router)
    console.install(app)  # the web console at / (after the API, so /api paths win)
    return app


def settle_heap() -> None:
    """Take what start-up built (modules, the app, its schemas, the ORM's mappings) out of
    the garbage collector's full passes, once a long-running process is ready.

    A full pass otherwise walks that whole heap: measured on the province bench, a pause
    of about 140 ms every few dozen status requests and a quarter of a month's coverage
    report. Only the entry points call it (gc.freeze); the objects stay alive as before.
    """
    gc.collect()
    gc.freeze()


def web_app() -> FastAPI:
    """The web face alone, built from the environment in each `loa serve --workers N` process.

    No worker, broker or renderer runs beside it: `loa worker` dispatches, ingests and
    renders; pages and routes that would wake them leave the work to its next pass.
    """
    from broadcast.core.settings import get_settings

    application = create_app(get_settings())
    settle_heap()
    return application
