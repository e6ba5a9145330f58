"""The coverage report and the home page run a fixed number of SQL statements."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from broadcast.core.settings import Settings
from broadcast.delivery.models import DeliveryState
from stations.timeutil import utcnow
from tests.broadcasts.test_broadcast_listing import approved_bulletin, counted, schedule
from tests.broadcasts.test_broadcast_state import _air
from tests.utils import Headers


def _month(engine: Engine, settings: Settings, bulletin: int, count: int) -> None:
    """`count` broadcasts of three airings; the first airing of each aired, the second missed."""
    for broadcast_id in schedule(engine, settings, [bulletin], count):
        _air(engine, broadcast_id, 1, DeliveryState.completed)
        _air(engine, broadcast_id, 2, DeliveryState.missed)


def test_the_coverage_report_counts_every_airing_with_the_same_statements(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    demo: dict[str, str],
) -> None:
    bulletin = approved_bulletin(engine, "Bảo vệ chủ quyền biên giới")
    # _air moves the aired airings to the last hours: the report covers these days.
    today = utcnow().date()
    first, last = today - timedelta(days=1), today + timedelta(days=1)
    url = f"/api/v1/reports/coverage?from={first}&to={last}"
    client.get(url, headers=admin_headers)  # first request of the app
    statements: dict[int, int] = {}
    made = 0
    for total in (2, 20):
        _month(engine, settings, bulletin, total - made)
        made = total
        with counted(engine) as seen:
            answer = client.get(url, headers=admin_headers)
        assert answer.status_code == 200, answer.text
        statements[total] = len(seen)
        counts = answer.json()["total"]
        assert (counts["planned"], counts["aired"], counts["missed"]) == (2 * total, total, total)
    assert statements[2] == statements[20], statements
