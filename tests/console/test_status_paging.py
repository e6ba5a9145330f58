"""A broadcast's status: counts for every receiver, deliveries by page, failing ones first."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.scale import Province, build_province
from tests.console.conftest import Login
from tests.utils import Headers, UserFactory

FAILING = {"failed", "rejected", "missed", "expired"}


@pytest.fixture
def province(engine: Engine, settings: Settings, demo: dict[str, str]) -> Province:
    """Three communes with 150 receivers, and an airing two hours ago to all of them."""
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        return build_province(
            session=ses,
            settings=settings,
            author_id=admin.id or 0,
            code="93",
            communes=3,
            receivers=150,
            days=1,
            aired_days=0,
        )


def _status(client: TestClient, headers: Headers, p: Province, query: str = "") -> dict:
    answer = client.get(
        f"/api/v1/broadcasts/{p.province_broadcast_id}/status{query}", headers=headers
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_every_receiver_is_listed_by_default_failing_first(
    client: TestClient, admin_headers: Headers, province: Province
) -> None:
    body = _status(client, admin_headers, province)
    assert body["total"] == 150 == sum(body["counts"].values())
    assert body["deliveries_total"] == 150 == len(body["deliveries"])
    assert (body["limit"], body["offset"], body["next_offset"]) == (500, 0, None)
    states = [d["state"] for d in body["deliveries"]]
    failing = sum(body["counts"].get(s, 0) for s in FAILING)
    assert failing > 0
    assert set(states[:failing]) <= FAILING and not set(states[failing:]) & FAILING
    assert {s["key"] for s in body["stations"]} == {
        str(d["station_id"]) for d in body["deliveries"]
    }
    assert sum(s["total"] for s in body["stations"]) == 150
    assert body["aired"] == body["counts"]["completed"] and body["late"] > 0


def test_pages_walk_through_every_delivery_once(
    client: TestClient, admin_headers: Headers, province: Province
) -> None:
    whole = _status(client, admin_headers, province)["deliveries"]
    seen: list[dict] = []
    offset: int | None = 0
    while offset is not None:
        page = _status(client, admin_headers, province, f"?limit=40&offset={offset}")
        assert page["deliveries_total"] == 150 and page["total"] == 150
        assert len(page["deliveries"]) <= 40
        seen += page["deliveries"]
        offset = page["next_offset"]
    assert seen == whole
    beyond = _status(client, admin_headers, province, "?offset=150")
    assert beyond["deliveries"] == [] and beyond["next_offset"] is None


def test_deliveries_are_chosen_by_states_and_station(
    client: TestClient, admin_headers: Headers, province: Province
) -> None:
    whole = _status(client, admin_headers, province)
    broken = _status(client, admin_headers, province, "?state=failed&state=missed")
    wanted = whole["counts"]["failed"] + whole["counts"]["missed"]
    assert broken["deliveries_total"] == wanted == len(broken["deliveries"])
    assert {d["state"] for d in broken["deliveries"]} == {"failed", "missed"}
    assert broken["counts"] == whole["counts"]  # the counts still cover every receiver
    station = province.station_id
    one = _status(client, admin_headers, province, f"?station_id={station}")
    assert one["deliveries_total"] == 50
    assert {d["station_id"] for d in one["deliveries"]} == {station}
    both = _status(client, admin_headers, province, f"?station_id={station}&state=completed")
    assert {(d["station_id"], d["state"]) for d in both["deliveries"]} == {(station, "completed")}
    # The old single-state filter reads as before.
    assert (
        _status(client, admin_headers, province, "?state=expired")["deliveries_total"]
        == (whole["counts"]["expired"])
    )


@pytest.mark.parametrize(
    "query", ["?limit=0", "?limit=2001", "?offset=-1", "?state=aired", "?station_id=0"]
)
def test_bad_paging_or_filters_answer_422_naming_the_parameter(
    client: TestClient, admin_headers: Headers, province: Province, query: str
) -> None:
    answer = client.get(
        f"/api/v1/broadcasts/{province.province_broadcast_id}/status{query}",
        headers=admin_headers,
    )
    assert answer.status_code == 422, answer.text
    assert query[1:].split("=")[0] in answer.json()["detail"]


def test_an_operator_counts_and_lists_only_their_commune(
    client: TestClient, make_user: UserFactory, province: Province
) -> None:
    operator = make_user(Role.operator, f"{province.code}C001")
    body = _status(client, operator, province)
    assert body["total"] == 50 == body["deliveries_total"]
    assert len(body["stations"]) == 1


def test_the_console_status_pages_receivers_failing_first(login: Login, province: Province) -> None:
    client = login("admin")
    url = f"/broadcasts/{province.province_broadcast_id}"
    first = client.get(url)
    assert first.status_code == 200
    text = re.sub(r"\s+", " ", first.text)
    assert "Cụm loa 1–100 / 150" in text
    assert re.search(r"<span id=\"failing-count\">\d+</span> lỗi hoặc bỏ lỡ được xếp lên đầu", text)
    states = re.findall(r'<tr data-state="(\w+)"', first.text)
    assert len(states) == 100 and states[0] in FAILING
    assert f'href="{url}?offset=100#deliveries"' in first.text and "Trang sau" in text
    assert "Trang trước" not in text
    second = client.get(f"{url}?offset=100")
    text = re.sub(r"\s+", " ", second.text)
    assert "Cụm loa 101–150 / 150" in text and "Trang trước" in text and "Trang sau" not in text
    # The page polls the same page of receivers.
    assert f'data-poll="{url}/live?offset=100"' in second.text
    live = client.get(f"{url}/live?offset=100")
    assert len(re.findall(r'<tr data-state="', live.text)) == 50
