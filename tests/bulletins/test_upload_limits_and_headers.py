"""Every answer carries the security headers; an oversize upload is a 413, not a 422."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from broadcast.people.models import Role
from tests.bulletins.test_workflow import create
from tests.utils import Headers, UserFactory


@pytest.fixture
def people(demo: dict[str, str], make_user: UserFactory) -> dict[str, Headers]:
    """An editor of district Bát Xát."""
    return {"editor": make_user(Role.editor, "082")}


def test_security_headers_on_api_console_and_errors(client: TestClient) -> None:
    for path in ("/healthz", "/api/v1/bulletins", "/login", "/no-such-page", "/static/console.js"):
        response = client.get(path, follow_redirects=False)
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp, path
        assert response.headers.get("x-frame-options") == "DENY", path
        assert response.headers.get("x-content-type-options") == "nosniff", path
        assert response.headers.get("referrer-policy") == "same-origin", path


def test_oversize_recording_is_413_and_nothing_is_kept(
    client: TestClient, people: dict[str, Headers]
) -> None:
    bid = create(client, people["editor"], area_code="02680")["id"]
    too_big = os.urandom(2_100_000)  # the test settings accept 2 MB
    response = client.post(
        f"/api/v1/bulletins/{bid}/translations/hmn/recording",
        files={"file": ("big.mp3", too_big, "audio/mpeg")},
        headers=people["editor"],
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "too_large"
    assert "2 MB" in response.json()["detail"]
    bulletin = client.get(f"/api/v1/bulletins/{bid}", headers=people["editor"]).json()
    assert all(t["language"] != "hmn" for t in bulletin["translations"])


def test_declared_oversize_body_is_refused_before_reading(
    client: TestClient, people: dict[str, Headers]
) -> None:
    bid = create(client, people["editor"], area_code="02680")["id"]
    response = client.post(
        f"/api/v1/bulletins/{bid}/translations/hmn/recording",
        content=b"x" * 10,
        headers={
            **people["editor"],
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(50_000_000),
        },
    )
    assert response.status_code == 413
