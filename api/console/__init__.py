"""The web console: server-rendered Vietnamese pages for culture centres and commune operators.

The console calls the same service functions as the REST API (broadcast/, stations/);
it only turns forms into calls and results into HTML.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def console_router() -> APIRouter:
    """Every console page."""
    from api.console import (
        auth_pages,
        bulletin_pages,
        home_pages,
        report_pages,
        schedule_pages,
        station_pages,
    )

    router = APIRouter(include_in_schema=False)
    for module in (
        auth_pages,
        home_pages,
        station_pages,
        bulletin_pages,
        schedule_pages,
        report_pages,
    ):
        router.include_router(module.router)
    return router


def install(app: FastAPI) -> None:
    """Mount the console pages at / and its static files at /static."""
    app.include_router(console_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
