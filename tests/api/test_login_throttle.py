"""Password guessing is throttled per account and per address, with audit events."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.settings import Settings
from broadcast.people.models import AuditEvent
from tests.console.conftest import csrf_of
from tests.utils import TEST_PASSWORD


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Five failures lock an account for a minute; eight lock an address."""
    return settings.model_copy(
        update={
            "login_max_failures": 5,
            "login_max_failures_per_address": 8,
            "login_lockout_seconds": 60,
            "login_window_seconds": 600,
        }
    )


@pytest.fixture
def clock(client: TestClient) -> Clock:
    """The throttle's clock, under the test's control."""
    fake = Clock()
    client.app.state.throttle.clock = fake  # type: ignore[attr-defined]
    return fake


def _token(client: TestClient, password: str) -> int:
    return client.post(
        "/api/v1/auth/token", data={"username": "bientap.batxat", "password": password}
    ).status_code


def test_api_lockout_refuses_even_the_right_password(
    client: TestClient, demo: dict[str, str], clock: Clock, engine: Engine
) -> None:
    for _ in range(5):
        assert _token(client, "wrong-password") == 401
    locked = client.post(
        "/api/v1/auth/token", data={"username": "bientap.batxat", "password": TEST_PASSWORD}
    )
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 60
    assert locked.json()["code"] == "too_many_requests"
    with Session(engine) as ses:
        events = ses.exec(select(AuditEvent).where(AuditEvent.action == "auth.lockout")).all()
    assert len(events) == 1 and events[0].detail["via"] == "api"
    clock.now += 61
    assert _token(client, TEST_PASSWORD) == 200
    # A success starts the account afresh: four more failures do not lock it again.
    for _ in range(2):
        assert _token(client, "wrong-password") == 401
    assert _token(client, TEST_PASSWORD) == 200


def test_one_address_guessing_many_accounts_is_locked(
    client: TestClient, demo: dict[str, str], clock: Clock
) -> None:
    for n in range(8):
        answer = client.post(
            "/api/v1/auth/token", data={"username": f"nobody-{n}", "password": "x" * 8}
        )
        assert answer.status_code == 401
    assert _token(client, TEST_PASSWORD) == 429


def test_console_lockout_is_told_in_vietnamese(
    client: TestClient, demo: dict[str, str], clock: Clock
) -> None:
    def attempt(password: str) -> tuple[int, str]:
        page = client.get("/login")
        answer = client.post(
            "/login",
            data={
                "username": "duyet.batxat",
                "password": password,
                "csrf_token": csrf_of(page.text),
                "next": "/",
            },
            follow_redirects=False,
        )
        return answer.status_code, answer.text

    for _ in range(5):
        assert attempt("wrong-password")[0] == 422
    status, text = attempt(TEST_PASSWORD)
    assert status == 429
    assert "Đăng nhập sai quá nhiều lần" in text


def test_media_basic_guessing_is_locked_and_audited(
    client: TestClient, demo: dict[str, str], clock: Clock, engine: Engine
) -> None:
    receiver_id, password = sorted(demo.items())[0]
    url = "/media/" + "a" * 64 + ".mp3"

    def fetch(secret: str) -> int:
        value = base64.b64encode(f"{receiver_id}:{secret}".encode()).decode()
        return client.get(url, headers={"Authorization": f"Basic {value}"}).status_code

    assert fetch(password) == 404  # right password, no such file for it
    for _ in range(5):
        assert fetch("wrong") == 401
    assert fetch(password) == 429
    with Session(engine) as ses:
        events = ses.exec(select(AuditEvent).where(AuditEvent.action == "receiver.lockout")).all()
    assert [e.object_id for e in events] == [receiver_id]
    clock.now += 61
    assert fetch(password) == 404
