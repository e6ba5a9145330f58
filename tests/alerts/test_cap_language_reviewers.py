"""A CAP alert never waits for a language reviewer, whatever priority it maps to."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.settings import Settings
from broadcast.delivery.programmes import programme_for_station
from broadcast.people.models import Role
from broadcast.runtime.worker import Worker
from stations.models import Station
from tests.alerts.conftest import CAP_TYPE, SENDER, flood_alert
from tests.utils import Headers, UserFactory


def test_a_priority_cap_alert_airs_its_hmong_version_without_a_sign_off(
    app: TestClient,
    centre: Headers,
    admin_headers: Headers,
    make_user: UserFactory,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
    hmong_recording: str,
    engine: Engine,
    settings: Settings,
) -> None:
    make_user(Role.editor, "10", "hmong.laocai")
    named = app.put(
        "/api/v1/areas/10/language-reviewers",
        json={"languages": {"hmn": ["hmong.laocai"]}},
        headers=admin_headers,
    )
    assert named.status_code == 200, named.text
    trust(SENDER)
    document = flood_alert(hmong_audio=hmong_recording, urgency="Expected", severity="Moderate")
    answer = app.post("/api/v1/alerts/cap", content=document, headers={**centre, **CAP_TYPE})
    assert answer.status_code == 201, answer.text
    assert answer.json()["priority"] == "priority"  # not an emergency
    render()
    assert worker.alert_pass() == 1
    alert = app.get(f"/api/v1/alerts/{answer.json()['id']}", headers=admin_headers).json()
    bid = alert["bulletin_id"]
    bulletin = app.get(f"/api/v1/bulletins/{bid}", headers=admin_headers).json()
    hmn = next(t for t in bulletin["translations"] if t["language"] == "hmn")
    assert hmn["reviewer_required"] is False and hmn["review_state"] == "approved"
    with Session(engine) as session:
        station = session.exec(
            select(Station).where(Station.name == "Đài truyền thanh xã Y Tý")
        ).one()
        programme = programme_for_station(
            session=session, station=station, bulletin_ids=[bid], settings=settings
        )
    assert [i.language for i in programme.items] == ["vi", "hmn"]
