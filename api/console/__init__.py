"""The web console: server-rendered Vietnamese pages for culture centres and commune operators.

The console calls the same service functions as the REST API (broadcast/, stations/);
it only turns forms into calls and results into HTML.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the console pages at / and its static files at /static."""
    from api.console.routes import console_router

    app.include_router(console_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
