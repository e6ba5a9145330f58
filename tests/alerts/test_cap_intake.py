"""A CAP 1.2 warning from the hydro-meteorological centre becomes an emergency broadcast.

Real service end to end: the REST intake with an API token of the `alerts` scope, the
real renderer (eSpeak NG) and recording levelling (ffmpeg), the worker's alert pass on
a controllable clock, and the broadcasts REST API to see what airs where and when.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from broadcast.people.models import Role
from broadcast.runtime.worker import Worker
from tests.alerts.conftest import (
    CAP_TYPE,
    NOW,
    SENDER,
    Clock,
    api_token,
    flood_alert,
    stamp,
)
from tests.utils import Headers, UserFactory

HOUR = timedelta(hours=1)


def _post(app: TestClient, headers: Headers, document: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
    answer = app.post("/api/v1/alerts/cap", content=document, headers={**headers, **CAP_TYPE})
    return answer.status_code, answer.json()


def _air_times(detail: dict) -> list[datetime]:  # type: ignore[type-arg]
    return [datetime.fromisoformat(o["air_at"]) for o in detail["occurrences"]]


def test_trusted_flood_warning_airs_now_and_hourly_in_exactly_its_communes(
    app: TestClient,
    centre: Headers,
    admin_headers: Headers,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
    hmong_recording: str,
) -> None:
    trust(SENDER)
    status, alert = _post(app, centre, flood_alert(hmong_audio=hmong_recording))
    assert status == 201, alert
    assert alert["state"] == "releasing" and alert["released_by"] == "trusted_sender"
    assert alert["priority"] == "emergency"
    assert alert["area_codes"] == ["02680", "02659"] and alert["unmatched_codes"] == []
    assert alert["languages"] == ["vi", "hmn"]

    render()
    assert worker.alert_pass() == 1
    aired = app.get(f"/api/v1/alerts/{alert['id']}", headers=admin_headers).json()
    assert aired["state"] == "aired" and aired["broadcast_id"]

    broadcast = app.get(f"/api/v1/broadcasts/{aired['broadcast_id']}", headers=admin_headers)
    detail = broadcast.json()
    assert detail["priority"] == "emergency"
    assert sorted(detail["area_codes"]) == ["02659", "02680"]
    # Now, then every hour until the alert expires six hours later.
    assert _air_times(detail) == [NOW + n * HOUR for n in range(6)]

    bulletin = app.get(f"/api/v1/bulletins/{aired['bulletin_id']}", headers=admin_headers).json()
    assert bulletin["status"] == "approved" and bulletin["priority"] == "emergency"
    versions = {t["language"]: t for t in bulletin["translations"]}
    assert set(versions) == {"vi", "hmn"}
    assert versions["vi"]["text"].startswith("Cảnh báo lũ quét, sạt lở đất tại huyện Bát Xát")
    assert "không qua suối" in versions["vi"]["text"]
    assert versions["hmn"]["source"] == "recording"
    assert all(t["audio_state"] == "ready" for t in versions.values())

    # The first airing goes out at once to the communes' receivers.
    report = worker.dispatch_pass()
    assert report.occurrences == 1 and report.deliveries > 0


def test_the_same_alert_twice_is_answered_alike_and_changes_nothing(
    app: TestClient,
    centre: Headers,
    admin_headers: Headers,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
) -> None:
    trust(SENDER)
    document = flood_alert()
    status, first = _post(app, centre, document)
    assert status == 201
    render()
    worker.alert_pass()
    status, again = _post(app, centre, document)
    assert status == 200
    stored = app.get(f"/api/v1/alerts/{first['id']}", headers=admin_headers).json()
    assert again == stored
    assert app.get("/api/v1/alerts", headers=admin_headers).json()["total"] == 1
    assert app.get("/api/v1/broadcasts", headers=admin_headers).json()["total"] == 1
    # The same identifier with other content is refused, not silently merged.
    status, clash = _post(app, centre, flood_alert(codes=("02680",)))
    assert status == 409 and clash["reason"] == "cap.identifier_reused"


def test_a_cancel_from_the_sender_cancels_the_broadcast(
    app: TestClient,
    centre: Headers,
    admin_headers: Headers,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
    clock: Clock,
) -> None:
    trust(SENDER)
    _, alert = _post(app, centre, flood_alert())
    render()
    worker.alert_pass()
    broadcast_id = app.get(f"/api/v1/alerts/{alert['id']}", headers=admin_headers).json()[
        "broadcast_id"
    ]
    clock.now = NOW + 20 * timedelta(minutes=1)
    reference = f"{SENDER},KTTV-LCI-20310815-01,{stamp(NOW)}"
    status, cancel = _post(
        app,
        centre,
        flood_alert(
            identifier="KTTV-LCI-20310815-02",
            sent=clock.now,
            msg_type="Cancel",
            references=reference,
        ),
    )
    assert status == 201, cancel
    assert cancel["state"] == "applied" and cancel["ended_alert_ids"] == [alert["id"]]
    ended = app.get(f"/api/v1/alerts/{alert['id']}", headers=admin_headers).json()
    assert ended["state"] == "cancelled"
    broadcast = app.get(f"/api/v1/broadcasts/{broadcast_id}", headers=admin_headers).json()
    assert broadcast["status"] == "cancelled"
    assert all(o["state"] == "cancelled" for o in broadcast["occurrences"][1:])


def test_an_update_replaces_the_alert_and_its_broadcast(
    app: TestClient,
    centre: Headers,
    admin_headers: Headers,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
    clock: Clock,
) -> None:
    trust(SENDER)
    _, alert = _post(app, centre, flood_alert())
    render()
    worker.alert_pass()
    clock.now = NOW + HOUR / 2
    _, update = _post(
        app,
        centre,
        flood_alert(
            identifier="KTTV-LCI-20310815-03",
            sent=clock.now,
            msg_type="Update",
            codes=("02680", "02659", "02743"),
            references=f"{SENDER},KTTV-LCI-20310815-01,{stamp(NOW)}",
        ),
    )
    assert update["ended_alert_ids"] == [alert["id"]]
    assert update["area_codes"] == ["02680", "02659", "02743"]
    render()
    assert worker.alert_pass() == 1
    old = app.get(f"/api/v1/alerts/{alert['id']}", headers=admin_headers).json()
    assert old["state"] == "superseded"
    assert (
        app.get(f"/api/v1/broadcasts/{old['broadcast_id']}", headers=admin_headers).json()["status"]
        == "cancelled"
    )


def test_a_held_alert_airs_after_its_deadline_without_a_click(
    app: TestClient,
    centre: Headers,
    admin_headers: Headers,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
    clock: Clock,
) -> None:
    trust("someone-else@example.vn", hold=10)
    status, alert = _post(app, centre, flood_alert())
    assert status == 201 and alert["state"] == "held"
    assert datetime.fromisoformat(alert["hold_until"]) == NOW + timedelta(minutes=10)
    held = app.get("/api/v1/alerts?state=held", headers=admin_headers).json()
    assert [a["id"] for a in held["items"]] == [alert["id"]]
    render()
    clock.now = NOW + timedelta(minutes=9)
    assert worker.alert_pass() == 0
    assert app.get(f"/api/v1/alerts/{alert['id']}", headers=admin_headers).json()["state"] == "held"
    clock.now = NOW + timedelta(minutes=10)
    assert worker.alert_pass() == 1
    aired = app.get(f"/api/v1/alerts/{alert['id']}", headers=admin_headers).json()
    assert aired["state"] == "aired" and aired["released_by"] == "deadline"
    detail = app.get(f"/api/v1/broadcasts/{aired['broadcast_id']}", headers=admin_headers).json()
    assert _air_times(detail)[0] == clock.now


def test_an_approver_releases_a_held_alert_at_once(
    app: TestClient,
    centre: Headers,
    make_user: UserFactory,
    render: Callable[[], int],
    worker: Worker,
) -> None:
    _, alert = _post(app, centre, flood_alert())
    assert alert["state"] == "held"  # no rule: every sender is held, 10 minutes
    approver = make_user(Role.approver, "082")
    answer = app.post(f"/api/v1/alerts/{alert['id']}/approve", headers=approver)
    assert answer.status_code == 200, answer.text
    assert answer.json()["released_by"] == "approver"
    render()
    assert worker.alert_pass() == 1
    again = app.post(f"/api/v1/alerts/{alert['id']}/approve", headers=approver)
    assert again.status_code == 409 and again.json()["reason"] == "alert.not_held"


def test_unknown_codes_are_reported_and_no_known_code_is_refused(
    app: TestClient, centre: Headers
) -> None:
    status, alert = _post(app, centre, flood_alert(codes=("02680", "99999")))
    assert status == 201 and alert["area_codes"] == ["02680"]
    assert alert["unmatched_codes"] == ["99999"]
    status, error = _post(app, centre, flood_alert(identifier="x-2", codes=("99999",)))
    assert status == 422 and error["reason"] == "cap.no_area"
    assert "99999" in error["detail"]


def test_only_a_token_with_the_alerts_scope_may_deliver(
    app: TestClient, make_user: UserFactory
) -> None:
    editor = make_user(Role.editor, "10")
    for headers in (editor, api_token(app, editor)):
        status, error = _post(app, headers, flood_alert())
        assert status == 403 and error["reason"] == "token.scope_required"
        assert "alerts" in error["detail"]
    status, _ = _post(app, {}, flood_alert())
    assert status == 401


def test_bad_documents_get_a_clear_4xx(app: TestClient, centre: Headers) -> None:
    status, error = _post(app, centre, b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>")
    assert status == 422 and error["reason"] == "cap.malformed"
    assert "not well-formed XML" in error["detail"]

    status, error = _post(app, centre, flood_alert(urgency="Soon"))
    assert status == 422 and error["reason"] == "cap.invalid"
    assert "/alert/info[1]/urgency" in error["detail"] and "Soon" in error["detail"]

    missing = flood_alert().replace(b"<status>Actual</status>", b"")
    status, error = _post(app, centre, missing)
    assert status == 422 and "/alert/msgType" in error["detail"] and "status" in error["detail"]

    expired = flood_alert(expires=NOW - HOUR, sent=NOW - 2 * HOUR)
    status, error = _post(app, centre, expired)
    assert status == 422 and error["reason"] == "cap.expired"

    answer = app.post(
        "/api/v1/alerts/cap",
        content=flood_alert(),
        headers={**centre, "Content-Type": "text/plain"},
    )
    assert answer.status_code == 415


def test_a_billion_laughs_document_is_refused_without_expanding_it(
    app: TestClient, centre: Headers
) -> None:
    entities = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY lol0 "lol">'
        + entities
        + ']><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier>'
        "</alert>"
    ).encode()
    status, error = _post(app, centre, bomb)
    assert status == 422 and error["reason"] == "cap.doctype"
    assert "DTD" in error["detail"]


def test_test_messages_are_kept_but_never_aired(
    app: TestClient, centre: Headers, trust: Callable[..., None], worker: Worker
) -> None:
    trust(SENDER)
    status, alert = _post(app, centre, flood_alert(status="Test"))
    assert status == 201 and alert["state"] == "ignored" and "Test" in alert["reason"]
    assert worker.alert_pass() == 0
    assert alert["broadcast_id"] is None


def test_a_polygon_reaches_the_communes_whose_receivers_lie_inside_it(
    app: TestClient, centre: Headers, admin_headers: Headers
) -> None:
    receivers = app.get("/api/v1/receivers?limit=100", headers=admin_headers).json()["items"]
    y_ty = app.get("/api/v1/stations?area_code=02680", headers=admin_headers).json()["items"]
    for receiver in receivers:
        if receiver["station_id"] == y_ty[0]["id"]:
            answer = app.patch(
                f"/api/v1/receivers/{receiver['id']}",
                json={"latitude": 22.62, "longitude": 103.63},
                headers=admin_headers,
            )
            assert answer.status_code == 200, answer.text
    around_y_ty = "22.5,103.5 22.5,103.8 22.8,103.8 22.8,103.5 22.5,103.5"
    status, alert = _post(app, centre, flood_alert(codes=(), polygon=around_y_ty))
    assert status == 201, alert
    assert alert["area_codes"] == ["02680"]
    elsewhere = "21.0,105.0 21.0,105.2 21.2,105.2 21.0,105.0"
    status, error = _post(app, centre, flood_alert(identifier="x-3", codes=(), polygon=elsewhere))
    assert status == 422 and error["reason"] == "cap.no_area"


def test_a_language_no_engine_speaks_airs_only_in_vietnamese_and_is_reported(
    app: TestClient,
    centre: Headers,
    admin_headers: Headers,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
) -> None:
    trust(SENDER)
    _, alert = _post(app, centre, flood_alert())  # H'Mông as text only: no engine reads it
    render()
    assert worker.alert_pass() == 1
    aired = app.get(f"/api/v1/alerts/{alert['id']}", headers=admin_headers).json()
    assert aired["state"] == "aired" and aired["unvoiced_languages"] == ["hmn"]
    bulletin = app.get(f"/api/v1/bulletins/{aired['bulletin_id']}", headers=admin_headers).json()
    assert [t["language"] for t in bulletin["translations"]] == ["vi"]
