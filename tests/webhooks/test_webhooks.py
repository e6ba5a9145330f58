"""Webhook subscriptions over REST, the outbox, and signed, retried sends to a real endpoint."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.schedule.service import create_broadcast
from broadcast.webhooks.models import WebhookEvent
from broadcast.webhooks.sender import WebhookSender
from stations.areas import Scope
from stations.timeutil import utcnow
from tests.audio import approved_bulletin as voiced_bulletin
from tests.broadcasts.test_broadcast_listing import approved_bulletin
from tests.utils import Headers, UserFactory, free_port
from tests.webhooks.hook_receiver import HookReceiver, documented_verifier, hook_receiver
from tts import Synthesizer

verify_webhook = documented_verifier()


def subscribe(client: TestClient, headers: Headers, url: str, **fields: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/webhooks", json={"url": url, **fields}, headers=headers)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def schedule_to(engine: Engine, settings: Settings, bulletin: int, area: str) -> int:
    """A broadcast of `bulletin` to `area` tomorrow, scheduled by the demo admin."""
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=admin,
            scope=Scope.everything(),
            bulletin_ids=[bulletin],
            area_codes=[area],
            starts_at=utcnow() + timedelta(days=1),
        )
        return broadcast.id or 0


def deliveries(client: TestClient, headers: Headers, sub_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def stored_events(engine: Engine) -> int:
    with Session(engine) as ses:
        return int(ses.exec(select(func.count()).select_from(WebhookEvent)).one())


def test_the_secret_is_shown_once_and_signs_the_test_ping(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
) -> None:
    created = subscribe(client, admin_headers, endpoint.url, description="Sở TT&TT")
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["event_types"] == ["*"]
    shown = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin_headers).json()
    listed = client.get("/api/v1/webhooks", headers=admin_headers).json()
    assert "secret" not in shown and all("secret" not in row for row in listed)
    assert [row["id"] for row in listed] == [created["id"]]

    answer = client.post(f"/api/v1/webhooks/{created['id']}/test", headers=admin_headers)
    assert answer.status_code == 202, answer.text
    report = WebhookSender(engine, settings).send_due()
    assert (report.attempted, report.delivered) == (1, 1)

    [request] = endpoint.got()
    assert request.path == "/loa-hook"
    assert request.headers["content-type"] == "application/json"
    assert request.event["id"] == answer.json()["event_id"] == request.headers["webhook-id"]
    assert request.event["type"] == "ping"
    assert request.event["data"]["subscription_id"] == created["id"]
    assert verify_webhook(secret, request.headers, request.body)
    assert not verify_webhook(secret, request.headers, request.body + b" ")
    other = client.post(
        f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=admin_headers
    ).json()
    assert other["secret"] != secret
    assert not verify_webhook(other["secret"], request.headers, request.body)

    [line] = deliveries(client, admin_headers, created["id"])
    assert line["event_id"] == request.event["id"]
    assert (line["state"], line["attempts"], line["last_status_code"]) == ("delivered", 1, 200)
    assert line["delivered_at"] and line["next_retry_at"] is None


def test_a_failed_send_is_retried_after_each_wait_until_a_2xx(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
    demo: dict[str, str],
) -> None:
    created = subscribe(client, admin_headers, endpoint.url, event_types=["broadcast.created"])
    schedule_to(engine, settings, approved_bulletin(engine, "Tiêm chủng"), "082")
    endpoint.answers.extend([500, 500])
    short = settings.model_copy(update={"webhook_retry_seconds": [60, 300]})
    sender = WebhookSender(engine, short)
    t0 = utcnow() + timedelta(seconds=1)
    assert sender.send_due(t0).retrying == 1
    [line] = deliveries(client, admin_headers, created["id"])
    assert (line["state"], line["attempts"], line["last_status_code"]) == ("pending", 1, 500)
    assert datetime.fromisoformat(line["next_retry_at"]) == t0 + timedelta(seconds=60)
    assert sender.send_due(t0 + timedelta(seconds=59)).attempted == 0  # not due yet
    assert sender.send_due(t0 + timedelta(seconds=60)).retrying == 1
    [line] = deliveries(client, admin_headers, created["id"])
    assert line["attempts"] == 2
    assert datetime.fromisoformat(line["next_retry_at"]) == t0 + timedelta(seconds=360)
    assert sender.send_due(t0 + timedelta(seconds=359)).attempted == 0
    assert sender.send_due(t0 + timedelta(seconds=360)).delivered == 1
    sender.close()

    [line] = deliveries(client, admin_headers, created["id"])
    assert (line["state"], line["attempts"], line["last_status_code"]) == ("delivered", 3, 200)
    got = endpoint.got()
    assert len(got) == 3 and len({r.headers["webhook-id"] for r in got}) == 1
    assert all(verify_webhook(created["secret"], r.headers, r.body) for r in got)


def test_a_send_is_given_up_after_the_last_attempt(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
) -> None:
    created = subscribe(client, admin_headers, endpoint.url)
    client.post(f"/api/v1/webhooks/{created['id']}/test", headers=admin_headers)
    endpoint.answers.extend([503, 503, 503])
    sender = WebhookSender(
        engine,
        settings.model_copy(update={"webhook_retry_seconds": [1], "webhook_max_attempts": 3}),
    )
    now = utcnow() + timedelta(seconds=1)
    reports = [sender.send_due(now + timedelta(seconds=n)) for n in range(5)]
    assert [r.attempted for r in reports] == [1, 1, 1, 0, 0]
    assert reports[2].failed == 1
    [line] = deliveries(client, admin_headers, created["id"])
    assert (line["state"], line["attempts"], line["last_status_code"]) == ("failed", 3, 503)
    assert line["next_retry_at"] is None and line["delivered_at"] is None


def test_a_dead_subscriber_does_not_hold_up_another(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
    demo: dict[str, str],
) -> None:
    dead = subscribe(client, admin_headers, f"http://127.0.0.1:{free_port()}/hook")
    alive = subscribe(client, admin_headers, endpoint.url)
    bulletin = approved_bulletin(engine, "Phòng chống lũ")
    for _ in range(3):
        schedule_to(engine, settings, bulletin, "082")
    report = WebhookSender(engine, settings).send_due()
    assert (report.attempted, report.delivered, report.retrying) == (6, 3, 3)
    assert len(endpoint.events("broadcast.created")) == 3
    lines = deliveries(client, admin_headers, dead["id"])
    assert [line["state"] for line in lines] == ["pending"] * 3
    assert all(line["last_status_code"] is None and line["last_error"] for line in lines)
    assert [line["state"] for line in deliveries(client, admin_headers, alive["id"])] == [
        "delivered"
    ] * 3


def test_a_change_rolled_back_sends_nothing(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
    demo: dict[str, str],
) -> None:
    subscribe(client, admin_headers, endpoint.url)
    bulletin = approved_bulletin(engine, "Bầu cử")
    with pytest.raises(RuntimeError), transaction(engine) as ses:
        create_broadcast(
            session=ses,
            settings=settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[bulletin],
            area_codes=["082"],
            starts_at=utcnow() + timedelta(days=1),
        )
        raise RuntimeError("the request failed after scheduling")
    assert stored_events(engine) == 0
    kept = schedule_to(engine, settings, bulletin, "082")
    WebhookSender(engine, settings).send_due()
    [event] = endpoint.events()
    assert event["type"] == "broadcast.created"
    assert event["data"]["broadcast_id"] == kept
    assert event["data"]["area_codes"] == ["082"] and event["data"]["airings"] == 1


def test_nothing_is_written_without_an_active_subscription(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
    demo: dict[str, str],
) -> None:
    bulletin = approved_bulletin(engine, "Lịch cúp điện")
    schedule_to(engine, settings, bulletin, "082")
    assert stored_events(engine) == 0
    created = subscribe(client, admin_headers, endpoint.url)
    answer = client.patch(
        f"/api/v1/webhooks/{created['id']}", json={"active": False}, headers=admin_headers
    )
    assert answer.status_code == 200 and answer.json()["active"] is False
    schedule_to(engine, settings, bulletin, "082")
    assert stored_events(engine) == 0
    client.patch(f"/api/v1/webhooks/{created['id']}", json={"active": True}, headers=admin_headers)
    schedule_to(engine, settings, bulletin, "082")
    assert stored_events(engine) == 1


def test_an_admin_sees_and_gets_only_their_areas_subscriptions_and_events(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    demo: dict[str, str],
) -> None:
    batxat, muongkhuong = make_user(Role.admin, "082"), make_user(Role.admin, "083")
    with hook_receiver() as mine, hook_receiver() as theirs:
        own = subscribe(client, batxat, mine.url)
        assert own["area_code"] == "082"
        subscribe(client, muongkhuong, theirs.url)
        base = f"/api/v1/webhooks/{own['id']}"
        for method, path in [
            ("GET", base),
            ("PATCH", base),
            ("DELETE", base),
            ("POST", f"{base}/rotate-secret"),
            ("POST", f"{base}/test"),
            ("GET", f"{base}/deliveries"),
        ]:
            body = {"active": False} if method == "PATCH" else None
            answer = client.request(method, path, json=body, headers=muongkhuong)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["reason"] == "webhook.not_found"
        listed = client.get("/api/v1/webhooks", headers=muongkhuong).json()
        assert own["id"] not in [row["id"] for row in listed] and len(listed) == 1
        answer = client.post(
            "/api/v1/webhooks", json={"url": mine.url, "area_code": "083"}, headers=batxat
        )
        assert answer.status_code == 404
        editor = make_user(Role.editor, "082")
        assert client.get("/api/v1/webhooks", headers=editor).status_code == 403

        bulletin = approved_bulletin(engine, "Giữ gìn an ninh")
        to_batxat = schedule_to(engine, settings, bulletin, "02680")  # a commune of 082
        WebhookSender(engine, settings).send_due()
        assert [e["data"]["broadcast_id"] for e in mine.events()] == [to_batxat]
        assert theirs.events() == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"url": "ftp://example.org/hook"}, "webhook.bad_url"),
        ({"url": "https:///no-host"}, "webhook.bad_url"),
        (
            {"url": "https://example.org/h", "event_types": ["broadcast.aired"]},
            "webhook.unknown_event",
        ),
        ({"url": "https://example.org/h", "event_types": [" "]}, "webhook.unknown_event"),
    ],
)
def test_bad_subscriptions_are_refused_with_a_reason(
    client: TestClient, admin_headers: Headers, body: dict[str, Any], reason: str
) -> None:
    answer = client.post("/api/v1/webhooks", json=body, headers=admin_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["reason"] == reason


def test_an_approval_is_told_as_broadcast_approved(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
    demo: dict[str, str],
    offline_speech: Synthesizer,
    bulletin_recording: Path,
) -> None:
    subscribe(client, admin_headers, endpoint.url, event_types=["broadcast.approved"])
    bulletin = voiced_bulletin(
        engine,
        settings.model_copy(update={"tts_online": False}),
        offline_speech,
        title="Thu hoạch lúa an toàn",
        area_code="082",
        author="bientap.batxat",
        approver="duyet.batxat",
        recordings={"vi": bulletin_recording},
    )
    WebhookSender(engine, settings).send_due()
    [event] = endpoint.events()
    assert event["type"] == "broadcast.approved"
    data = event["data"]
    assert (data["bulletin_id"], data["approved_by"], data["area_code"]) == (
        bulletin,
        "duyet.batxat",
        "082",
    )
    assert time.time() - datetime.fromisoformat(event["created_at"]).timestamp() < 60


def test_old_lines_leave_the_log_but_pending_ones_stay(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
) -> None:
    kept = subscribe(client, admin_headers, endpoint.url)
    dead = subscribe(client, admin_headers, f"http://127.0.0.1:{free_port()}/hook")
    for sub in (kept, dead):
        client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=admin_headers)
    now = utcnow() + timedelta(seconds=1)
    assert WebhookSender(engine, settings).send_due(now).delivered == 1
    later = WebhookSender(engine, settings.model_copy(update={"webhook_keep_days": 30}))
    assert later.purge(now + timedelta(days=29)) == 0
    assert later.purge(now + timedelta(days=31)) == 1
    assert deliveries(client, admin_headers, kept["id"]) == []
    [waiting] = deliveries(client, admin_headers, dead["id"])
    assert waiting["state"] == "pending" and stored_events(engine) == 1


def test_a_rotation_with_an_overlap_signs_with_both_secrets_until_it_ends(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
) -> None:
    created = subscribe(client, admin_headers, endpoint.url)
    old, sub = created["secret"], created["id"]
    rotate = f"/api/v1/webhooks/{sub}/rotate-secret"
    refused = client.post(rotate, json={"keep_previous_hours": 73}, headers=admin_headers)
    assert refused.status_code == 422
    before = utcnow()
    rotated = client.post(rotate, json={"keep_previous_hours": 24}, headers=admin_headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    until = datetime.fromisoformat(rotated.json()["previous_secret_until"])
    assert timedelta(hours=24) <= until - before < timedelta(hours=24, minutes=1)
    shown = client.get(f"/api/v1/webhooks/{sub}", headers=admin_headers).json()
    assert shown["previous_secret_until"] == rotated.json()["previous_secret_until"]

    # During the overlap a subscriber holding either secret accepts the request.
    sender = WebhookSender(engine, settings)
    client.post(f"/api/v1/webhooks/{sub}/test", headers=admin_headers)
    assert sender.send_due().delivered == 1
    [during] = endpoint.got()
    assert len(during.headers["webhook-signature"].split()) == 2
    assert verify_webhook(new, during.headers, during.body)
    assert verify_webhook(old, during.headers, during.body)

    # Once it ends, only the new secret signs.
    client.post(f"/api/v1/webhooks/{sub}/test", headers=admin_headers)
    assert sender.send_due(until + timedelta(seconds=1)).delivered == 1
    [_, after] = endpoint.got()
    assert verify_webhook(new, after.headers, after.body)
    assert not verify_webhook(old, after.headers, after.body)

    # Rotating again at once ends any overlap: the secret it replaces stops signing.
    again = client.post(rotate, headers=admin_headers).json()
    assert again["previous_secret_until"] is None
    client.post(f"/api/v1/webhooks/{sub}/test", headers=admin_headers)
    assert sender.send_due().delivered == 1
    last = endpoint.got()[-1]
    assert verify_webhook(again["secret"], last.headers, last.body)
    assert not any(verify_webhook(s, last.headers, last.body) for s in (old, new))
