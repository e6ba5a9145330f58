"""Every read a province leans on runs the same SQL statements on 10 times the data.

The console home, the broadcast list (REST, and the console's recent broadcasts), a
station's iCalendar feed (REST and console), a broadcast's status (REST, the console's
page and its live block) and the coverage report (REST as JSON and XLSX, the console's
page and download): each is asked on a small province, then again once a province ten
times larger (communes, receivers, airings, deliveries) has been added.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import User
from broadcast.scale import Province, build_province
from tests.broadcasts.test_broadcast_listing import counted
from tests.console.conftest import Login
from tests.utils import Headers

FAILING = {"failed", "missed", "expired"}


def _province(engine: Engine, settings: Settings, code: str, communes: int) -> Province:
    """A province of `communes` communes, ten receivers each, four days of airings."""
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        return build_province(
            session=ses,
            settings=settings,
            author_id=admin.id or 0,
            code=code,
            communes=communes,
            receivers=10 * communes,
            days=4,
            aired_days=2,
        )


def _routes(p: Province) -> dict[str, str]:
    period = f"from={p.first_day}&to={p.last_day}"
    typed = f"from={p.first_day:%d/%m/%Y}&to={p.last_day:%d/%m/%Y}"
    status = f"/broadcasts/{p.province_broadcast_id}"
    return {
        "console home": "/",
        "REST broadcast list": "/api/v1/broadcasts?limit=50",
        "REST station feed": f"/api/v1/stations/{p.station_id}/schedule.ics",
        "console station feed": f"/stations/{p.station_id}/schedule.ics",
        "REST status": f"/api/v1{status}/status",
        "REST status, failing only": f"/api/v1{status}/status?state=failed&state=missed&limit=5",
        "console status": status,
        "console live status": f"{status}/live",
        "REST coverage": f"/api/v1/reports/coverage?{period}",
        "REST coverage xlsx": f"/api/v1/reports/coverage?{period}&format=xlsx",
        "console coverage": f"/reports?{typed}",
        "console coverage xlsx": f"/reports/coverage.xlsx?{typed}",
    }


def _statements(
    client: TestClient, engine: Engine, headers: Headers, p: Province
) -> dict[str, int]:
    seen: dict[str, int] = {}
    for name, url in _routes(p).items():
        with counted(engine) as statements:
            answer = client.get(url, headers=headers if url.startswith("/api/") else None)
        assert answer.status_code == 200, (name, answer.text[:300])
        CHECKS.get(name, lambda _a, _p: None)(answer.text if "xlsx" not in name else "", p)
        seen[name] = len(statements)
    return seen


def _check_status(text: str, p: Province) -> None:
    """Every receiver counted, the failing ones listed first."""
    body = json.loads(text)
    assert body["total"] == p.receivers
    assert sum(body["counts"].values()) == p.receivers
    assert sum(s["total"] for s in body["stations"]) == p.receivers
    assert body["deliveries_total"] == p.receivers == len(body["deliveries"])
    states = [d["state"] for d in body["deliveries"]]
    failing = [s in FAILING for s in states]
    assert failing == sorted(failing, reverse=True), states  # failing first
    assert any(failing) and not all(failing)


def _check_feed(text: str, p: Province) -> None:
    # Four days of two airings for the first commune, and the province's airing.
    assert text.count("BEGIN:VEVENT") == 4 * 2 + 1


def _check_console_status(text: str, p: Province) -> None:
    flat = re.sub(r"\s+", " ", text)
    assert f"/{p.receivers} " in flat
    first = re.search(r'<tr data-state="(\w+)"', text)
    assert first is not None and first[1] in FAILING


CHECKS: dict[str, Callable[[str, Province], None]] = {
    "REST status": _check_status,
    "REST station feed": _check_feed,
    "console station feed": _check_feed,
    "console status": _check_console_status,
    "console live status": _check_console_status,
}


def test_each_read_runs_the_same_statements_on_ten_times_the_data(
    login: Login, engine: Engine, settings: Settings, admin_headers: Headers
) -> None:
    client = login("admin")
    small = _province(engine, settings, "91", 2)
    for url in _routes(small).values():  # the first request of each route warms the app up
        client.get(url, headers=admin_headers if url.startswith("/api/") else None)
    few = _statements(client, engine, admin_headers, small)
    large = _province(engine, settings, "92", 20)
    many = _statements(client, engine, admin_headers, large)
    assert large.deliveries >= 10 * small.deliveries
    listed = client.get("/api/v1/broadcasts?limit=50", headers=admin_headers).json()
    assert listed["total"] == small.broadcasts + large.broadcasts
    assert {b["occurrence_count"] for b in listed["items"] if b["rrule"]} == {8}
    assert many == few
