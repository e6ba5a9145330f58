"""The statistics export per station and day, checked against the as-run record."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery, DeliveryEvent, DeliveryState
from broadcast.people.models import Role, User
from broadcast.schedule.models import Occurrence, OccurrenceState
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.models import Area, Receiver, Station
from stations.protocol import Priority
from tests.broadcasts.test_broadcast_listing import approved_bulletin, counted
from tests.utils import Headers, UserFactory

# 20/11/2026 on the clock of Asia/Ho_Chi_Minh (UTC+7).
DAY = "2026-11-20"
NEXT_DAY = "2026-11-21"
URL = f"/api/v1/reports/statistics?from={DAY}&to={NEXT_DAY}"


def local(hour: int, minute: int = 0, *, day: int = 20) -> datetime:
    """A time of November 2026 on the Vietnamese clock, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def aired(
    engine: Engine,
    settings: Settings,
    *,
    bulletins: list[int],
    at: datetime,
    states: list[DeliveryState],
    priority: Priority = Priority.normal,
    minutes: float = 2.0,
) -> int:
    """A broadcast to Y Tý at `at`, dispatched, its three receivers' deliveries in `states`."""
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=admin,
            scope=Scope.everything(),
            bulletin_ids=bulletins,
            area_codes=["02680"],
            starts_at=at,
            priority=priority,
            now=at - timedelta(hours=1),
        )
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == broadcast.id)).one()
        occ.air_at = at
        occ.state = OccurrenceState.dispatched
        occ.dispatched_at = at - timedelta(minutes=30)
        ses.add(occ)
        station = ses.exec(select(Station).join(Area).where(Area.code == "02680")).one()
        receivers = ses.exec(
            select(Receiver).where(Receiver.station_id == station.id).order_by(Receiver.id)
        ).all()
        command = json.dumps({"items": [{"duration_ms": int(minutes * 60000), "language": "vi"}]})
        for receiver, state in zip(receivers, states, strict=True):
            delivery = Delivery(
                occurrence_id=occ.id or 0,
                broadcast_id=broadcast.id or 0,
                station_id=station.id or 0,
                receiver_id=receiver.id,
                target=receiver.id,
                state=state,
                payload=command,
                duration_ms=int(minutes * 60000),
            )
            ses.add(delivery)
            ses.flush()
            if state == DeliveryState.completed:  # the receiver's own acknowledgement
                ses.add(
                    DeliveryEvent(
                        delivery_id=delivery.id or 0,
                        state="completed",
                        at=at + timedelta(minutes=minutes),
                        recorded_at=at + timedelta(minutes=minutes, seconds=1),
                        source="receiver",
                    )
                )
        return broadcast.id or 0


def scenario(engine: Engine, settings: Settings) -> None:
    """Y Tý on 20/11: a normal broadcast of two bulletins aired by two receivers of three,
    an emergency nobody aired; on 21/11 at 05:30 (still 20/11 in UTC) a priority one aired.
    """
    done, missed = DeliveryState.completed, DeliveryState.missed
    two = [approved_bulletin(engine, "Tiêm phòng"), approved_bulletin(engine, "Thuế đất")]
    aired(engine, settings, bulletins=two, at=local(6), states=[done, done, missed])
    aired(
        engine,
        settings,
        bulletins=two[:1],
        at=local(17),
        states=[missed] * 3,
        priority=Priority.emergency,
    )
    aired(
        engine,
        settings,
        bulletins=two[1:],
        at=local(5, 30, day=21),
        states=[done, missed, missed],
        priority=Priority.priority,
        minutes=1.5,
    )


def rows_of(answer: Any, station: str = "Đài truyền thanh xã Y Tý") -> dict[str, dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return {r["date"]: r for r in answer.json()["rows"] if r["station_name"] == station}


def test_each_station_day_counts_what_the_as_run_record_holds(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    demo: dict[str, str],
) -> None:
    scenario(engine, settings)
    answer = client.get(URL, headers=admin_headers)
    body = answer.json()
    assert (body["from"], body["to"], body["timezone"]) == (DAY, NEXT_DAY, "Asia/Ho_Chi_Minh")
    yty = rows_of(answer)
    first, second = yty[DAY], yty[NEXT_DAY]
    assert first["area_code"] == "02680" and first["station_kind"] == "ip"
    assert (first["airings_planned"], first["airings_aired"], first["airings_missed"]) == (2, 1, 1)
    assert first["minutes_aired"] == 2.0
    assert (first["bulletins_normal"], first["bulletins_emergency"]) == (2, 0)
    assert (first["receivers"], first["receivers_online"], first["receivers_offline"]) == (3, 2, 1)
    assert (second["airings_planned"], second["airings_aired"], second["minutes_aired"]) == (
        1,
        1,
        1.5,
    )
    assert (second["bulletins_priority"], second["bulletins_normal"]) == (1, 0)
    assert (second["receivers_online"], second["receivers_offline"]) == (1, 2)
    # Every station of the province has a row per day, whether or not it aired anything.
    stations = {r["station_id"] for r in body["rows"]}
    assert len(body["rows"]) == 2 * len(stations) and len(stations) == 4
    quiet = rows_of(answer, "Đài truyền thanh xã Pha Long")[DAY]
    assert quiet["airings_planned"] == 0 and quiet["receivers"] == 0
    # The coverage report of the same days and commune counts the same airings.
    coverage = client.get(
        f"/api/v1/reports/coverage?from={DAY}&to={NEXT_DAY}&area_code=02680",
        headers=admin_headers,
    ).json()["total"]
    assert (coverage["planned"], coverage["aired"], coverage["missed"]) == (3, 2, 1)
    assert coverage["minutes_aired"] == first["minutes_aired"] + second["minutes_aired"]


def test_the_csv_holds_the_same_rows_as_the_json(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    demo: dict[str, str],
) -> None:
    scenario(engine, settings)
    data = client.get(URL, headers=admin_headers).json()
    answer = client.get(URL + "&format=csv", headers=admin_headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"loa-thong-ke-{DAY}-den-{NEXT_DAY}.csv" in answer.headers["content-disposition"]
    reader = csv.DictReader(io.StringIO(answer.text))
    assert reader.fieldnames == data["fields"] == list(data["rows"][0])
    assert list(reader) == [{k: str(v) for k, v in row.items()} for row in data["rows"]]


def test_an_area_sees_only_its_own_stations(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    demo: dict[str, str],
) -> None:
    scenario(engine, settings)
    muongkhuong = make_user(Role.admin, "083")
    answer = client.get(URL, headers=muongkhuong)
    assert {r["area_code"] for r in answer.json()["rows"]} == {"02743"}
    yty = rows_of(client.get(URL, headers=make_user(Role.operator, "02680")))
    assert yty[DAY]["airings_aired"] == 1
    with transaction(engine) as ses:
        station = ses.exec(select(Station).join(Area).where(Area.code == "02680")).one()
    refused = client.get(URL + f"&station_id={station.id}", headers=muongkhuong)
    assert refused.status_code == 404 and refused.json()["reason"] == "station.not_found"
    one = client.get(URL + f"&station_id={station.id}", headers=make_user(Role.admin, "082"))
    assert {r["station_id"] for r in one.json()["rows"]} == {station.id}


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("from=2026-11-21&to=2026-11-20", "report.period_reversed"),
        ("from=2026-01-01&to=2026-12-31", "report.period_too_long"),
    ],
)
def test_a_bad_period_is_refused(
    client: TestClient, admin_headers: Headers, query: str, reason: str
) -> None:
    answer = client.get(f"/api/v1/reports/statistics?{query}", headers=admin_headers)
    assert answer.status_code == 422 and answer.json()["reason"] == reason


def test_the_export_runs_the_same_statements_for_few_and_many_airings(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    demo: dict[str, str],
) -> None:
    client.get(URL, headers=admin_headers)  # first request of the app
    statements: dict[int, int] = {}
    made = 0
    for total in (1, 6):
        for _ in range(total - made):
            scenario(engine, settings)
        made = total
        with counted(engine) as seen:
            answer = client.get(URL, headers=admin_headers)
        statements[total] = len(seen)
        assert answer.status_code == 200
    assert statements[1] == statements[6], statements
    assert rows_of(answer)[DAY]["airings_planned"] == 2 * 6
