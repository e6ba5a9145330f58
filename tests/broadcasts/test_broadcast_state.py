"""A broadcast's derived state follows its airings: scheduled, airing, done, cancelled."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery, DeliveryState
from broadcast.schedule.models import Occurrence, OccurrenceState
from stations.models import Area, Station
from stations.timeutil import utcnow
from tests.broadcasts.test_broadcast_listing import approved_bulletin, schedule
from tests.utils import Headers


def _air(engine: Engine, broadcast_id: int, seq: int, state: DeliveryState) -> None:
    """Airing `seq` of the broadcast was dispatched an hour ago; its one delivery is `state`."""
    with transaction(engine) as ses:
        occ = ses.exec(
            select(Occurrence).where(Occurrence.broadcast_id == broadcast_id, Occurrence.seq == seq)
        ).one()
        occ.air_at = utcnow() - timedelta(hours=4 - seq)
        occ.state = OccurrenceState.dispatched
        delivery = ses.exec(select(Delivery).where(Delivery.occurrence_id == occ.id)).first()
        if delivery is None:
            station = ses.exec(select(Station).join(Area).where(Area.code == "02743")).one()
            delivery = Delivery(
                occurrence_id=occ.id or 0,
                broadcast_id=broadcast_id,
                station_id=station.id or 0,
                target=f"station:{station.id}",
            )
        delivery.state = state
        ses.add(occ)
        ses.add(delivery)


def _state(client: TestClient, headers: Headers, broadcast_id: int) -> str:
    one = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=headers)
    assert one.status_code == 200, one.text
    listed = client.get("/api/v1/broadcasts", headers=headers).json()["items"]
    assert [b["state"] for b in listed if b["id"] == broadcast_id] == [one.json()["state"]]
    return str(one.json()["state"])


def test_the_state_moves_from_scheduled_to_airing_to_done(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    demo: dict[str, str],
) -> None:
    bulletin = approved_bulletin(engine, "Phòng chống lũ quét")
    (broadcast_id,) = schedule(engine, settings, [bulletin], 1)  # three daily airings
    assert _state(client, admin_headers, broadcast_id) == "scheduled"

    _air(engine, broadcast_id, 1, DeliveryState.sent)
    assert _state(client, admin_headers, broadcast_id) == "airing"
    _air(engine, broadcast_id, 1, DeliveryState.completed)
    assert _state(client, admin_headers, broadcast_id) == "scheduled"  # two still to come

    _air(engine, broadcast_id, 2, DeliveryState.missed)
    _air(engine, broadcast_id, 3, DeliveryState.completed)
    assert _state(client, admin_headers, broadcast_id) == "done"
    # The stored status stays as it was: the derived state is a field of its own.
    assert (
        client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=admin_headers).json()["status"]
        == "scheduled"
    )


def test_a_cancelled_broadcast_says_so(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    demo: dict[str, str],
) -> None:
    bulletin = approved_bulletin(engine, "Tuyên truyền biên giới")
    (broadcast_id,) = schedule(engine, settings, [bulletin], 1)
    answer = client.post(f"/api/v1/broadcasts/{broadcast_id}/cancel", headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["broadcast"]["state"] == "cancelled"
    assert _state(client, admin_headers, broadcast_id) == "cancelled"
