"""Sessions and access tokens end on sign-out, password, role or area change and deactivation."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.settings import Settings
from broadcast.people.models import User
from broadcast.people.service import JWT_ALGORITHM
from stations.timeutil import utcnow
from tests.utils import TEST_PASSWORD, Headers, UserFactory


def _token(client: TestClient, username: str) -> Headers:
    answer = client.post(
        "/api/v1/auth/token", data={"username": username, "password": TEST_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_bearer_ends_on_api_logout(client: TestClient, demo: dict[str, str]) -> None:
    headers = _token(client, "bientap.batxat")
    other = _token(client, "bientap.batxat")  # another device's session of the same user
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/bulletins", headers=headers).status_code == 401
    assert client.get("/api/v1/bulletins", headers=other).status_code == 200


@pytest.mark.parametrize(
    "change",
    [{"password": "mat-khau-moi-12345"}, {"role": "approver"}, {"active": False}],
)
def test_bearer_ends_when_the_user_changes(
    client: TestClient,
    demo: dict[str, str],
    admin_headers: Headers,
    engine: Engine,
    change: dict[str, object],
) -> None:
    headers = _token(client, "bientap.batxat")
    assert client.get("/api/v1/bulletins", headers=headers).status_code == 200
    with Session(engine) as ses:
        user_id = ses.exec(select(User.id).where(User.username == "bientap.batxat")).one()
    answer = client.patch(f"/api/v1/users/{user_id}", json=change, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert client.get("/api/v1/bulletins", headers=headers).status_code == 401


def test_a_full_name_change_keeps_sessions(
    client: TestClient, demo: dict[str, str], admin_headers: Headers, engine: Engine
) -> None:
    headers = _token(client, "bientap.batxat")
    with Session(engine) as ses:
        user_id = ses.exec(select(User.id).where(User.username == "bientap.batxat")).one()
    client.patch(f"/api/v1/users/{user_id}", json={"full_name": "Biên tập"}, headers=admin_headers)
    assert client.get("/api/v1/bulletins", headers=headers).status_code == 200


def test_tokens_without_expiry_or_identity_are_refused(
    client: TestClient, settings: Settings, make_user: UserFactory, engine: Engine
) -> None:
    make_user("admin", None, username="ed-claims")
    with Session(engine) as ses:
        user = ses.exec(select(User).where(User.username == "ed-claims")).one()
    now = utcnow()
    full = {
        "sub": str(user.id),
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": "abc",
        "ver": user.token_version,
    }
    good = jwt.encode(full, settings.secret_key, algorithm=JWT_ALGORITHM)
    assert (
        client.get("/api/v1/bulletins", headers={"Authorization": f"Bearer {good}"}).status_code
        == 200
    )
    for missing in ("exp", "jti", "ver"):
        claims = {k: v for k, v in full.items() if k != missing}
        token = jwt.encode(claims, settings.secret_key, algorithm=JWT_ALGORITHM)
        answer = client.get("/api/v1/bulletins", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, missing
