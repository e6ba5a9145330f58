"""Report periods at the edges of the calendar: a clear 422, never a 500 (REST and console)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.console.conftest import Login
from tests.utils import Headers

COVERAGE = "/api/v1/reports/coverage"


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The app, answering a server error as a 500 instead of raising it in the test."""
    return TestClient(client.app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01"},  # the day's start lies before year 1 in UTC
        {"to": "0001-01-03"},  # the default first day would lie before year 1
        {"from": "9999-12-30", "to": "9999-12-31"},  # the day after the last does not exist
        {"from": "1969-12-31", "to": "1970-01-01"},
    ],
)
def test_report_days_outside_the_calendar_are_refused(
    api: TestClient, demo: dict[str, str], admin_headers: Headers, query: dict[str, str]
) -> None:
    answer = api.get(COVERAGE, params=query, headers=admin_headers)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["code"] == "invalid"
    assert "1970-01-01" in answer.json()["detail"] and "9999-12-30" in answer.json()["detail"]


def test_report_days_at_the_edges_of_the_range_are_counted(
    api: TestClient, demo: dict[str, str], admin_headers: Headers
) -> None:
    for query in (
        {"from": "1970-01-01", "to": "1970-01-07"},
        {"from": "9999-12-24", "to": "9999-12-30"},
    ):
        answer = api.get(COVERAGE, params=query, headers=admin_headers)
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["total"]["planned"] == 0


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01&end=0001-01-02",
        "end=0001-01-03",
        "start=9999-12-30&end=9999-12-31",
    ],
)
def test_the_console_report_refuses_days_outside_the_calendar_in_vietnamese(
    login: Login, query: str
) -> None:
    signed_in = login("bientap.batxat")
    client = TestClient(signed_in.app, raise_server_exceptions=False)
    client.cookies = signed_in.cookies
    for url in (f"/reports?{query}", f"/reports/coverage.csv?{query}"):
        answer = client.get(url)
        assert answer.status_code == 422, (url, answer.text[:300])
        assert "Ngày phải từ 01/01/1970 đến 30/12/9999" in answer.text, url
