"""Bulletin workflow over REST: every transition and role, audio states, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from broadcast.people.models import Role
from tests.utils import Headers, UserFactory

TEXT_VI = "Ngày 2/9, UBND xã tổ chức họp dân về phòng chống lũ quét."
TEXT_HMN = "Hnub 2/9, tsev haujlwm hu neeg tuaj sib tham txog dej nyab."


@pytest.fixture
def people(demo: dict[str, str], make_user: UserFactory) -> dict[str, Headers]:
    """Users of district 082 (Bát Xát) and a commune editor elsewhere."""
    return {
        "editor": make_user(Role.editor, "082"),
        "approver": make_user(Role.approver, "082"),
        "approver2": make_user(Role.approver, "082"),
        "operator": make_user(Role.operator, "02680"),
        "outsider": make_user(Role.approver, "02743"),
        "admin": make_user(Role.admin, "082"),
    }


def create(client: TestClient, headers: Headers, **extra: object) -> dict:
    body = {
        "title": "Phòng chống lũ quét",
        "priority": "priority",
        "campaign": "Biên giới 2023",
        "translations": [{"language": "vi", "text": TEXT_VI}],
        **extra,
    }
    answer = client.post("/api/v1/bulletins", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_full_workflow_and_audit(
    client: TestClient, people: dict[str, Headers], render: Callable[[], int]
) -> None:
    b = create(client, people["editor"], area_code="02680")
    bid = b["id"]
    assert b["status"] == "draft"
    assert b["translations"][0]["audio_state"] == "pending"
    assert b["missing_languages"] == ["hmn"]
    put = client.put(
        f"/api/v1/bulletins/{bid}/translations/hmn",
        json={"text": TEXT_HMN},
        headers=people["editor"],
    )
    assert put.status_code == 200, put.text
    assert render() == 2
    b = client.get(f"/api/v1/bulletins/{bid}", headers=people["editor"]).json()
    assert {t["language"]: t["audio_state"] for t in b["translations"]} == {
        "vi": "ready",
        "hmn": "failed",  # no engine speaks H'Mông: a recording is needed
    }
    assert "recording" in b["translations"][1]["audio_error"]
    assert (
        client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["editor"]).status_code == 200
    )
    refused = client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"])
    assert refused.status_code == 422
    assert "hmn" in refused.json()["detail"]
    # Reject, fix with a human recording, resubmit, approve.
    rejected = client.post(
        f"/api/v1/bulletins/{bid}/reject",
        json={"reason": "Thiếu bản ghi tiếng Mông"},
        headers=people["approver"],
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Thiếu bản ghi tiếng Mông"
    assert (
        client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["editor"]).status_code == 200
    )
    assert client.delete(f"/api/v1/bulletins/{bid}", headers=people["editor"]).status_code == 405
    approved = client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"])
    assert approved.status_code == 422  # hmn still failed


def test_approve_covers_audio_and_edits_reopen(
    client: TestClient,
    people: dict[str, Headers],
    render: Callable[[], int],
    tone: Callable[..., Path],
) -> None:
    bid = create(client, people["editor"], area_code="02680")["id"]
    with tone(1.5).open("rb") as handle:
        up = client.post(
            f"/api/v1/bulletins/{bid}/translations/hmn/recording",
            files={"file": ("doc-hmn.mp3", handle, "audio/mpeg")},
            headers=people["editor"],
        )
    assert up.status_code == 200, up.text
    hmn = [t for t in up.json()["translations"] if t["language"] == "hmn"][0]
    assert hmn["audio_state"] == "ready" and hmn["source"] == "recording"
    assert abs(hmn["audio_duration_ms"] - 1500) < 150
    # Pending audio cannot be approved yet.
    client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["editor"])
    assert (
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"]).status_code
        == 409
    )
    render()
    # Roles: an editor or an operator cannot approve; an approver outside the area cannot see it.
    assert (
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["editor"]).status_code == 403
    )
    assert (
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["operator"]).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["outsider"]).status_code
        == 404
    )
    ok = client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved" and ok.json()["approval_hash"]
    assert {t["review_state"] for t in ok.json()["translations"]} == {"approved"}
    # Approving twice is a conflict; changing a text withdraws the approval.
    assert (
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"]).status_code
        == 409
    )
    edited = client.put(
        f"/api/v1/bulletins/{bid}/translations/vi",
        json={"text": TEXT_VI + " Mời bà con."},
        headers=people["editor"],
    )
    assert edited.json()["status"] == "draft" and edited.json()["approval_hash"] is None
    audit = client.get(
        "/api/v1/audit",
        params={"object_type": "bulletin", "object_id": str(bid)},
        headers=people["admin"],
    ).json()["items"]
    actions = [e["action"] for e in audit]
    for action in (
        "bulletin.create",
        "translation.recording",
        "bulletin.submit",
        "bulletin.approve",
        "translation.text",
        "bulletin.reopen",
        "translation.rendered",
    ):
        assert action in actions
    archived = client.post(f"/api/v1/bulletins/{bid}/archive", headers=people["approver"])
    assert archived.json()["status"] == "archived"
    again = client.put(
        f"/api/v1/bulletins/{bid}/translations/vi", json={"text": "x"}, headers=people["editor"]
    )
    assert again.status_code == 409


def test_author_cannot_approve_own_bulletin(
    client: TestClient, people: dict[str, Headers], render: Callable[[], int]
) -> None:
    bid = create(client, people["admin"], area_code="082")["id"]
    render()
    client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["admin"])
    own = client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["admin"])
    assert own.status_code == 403
    assert "another approver" in own.json()["detail"]
    assert (
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver2"]).status_code
        == 200
    )


def test_wrong_transitions_are_conflicts(client: TestClient, people: dict[str, Headers]) -> None:
    bid = create(client, people["editor"])["id"]
    assert (
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"]).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/v1/bulletins/{bid}/reject", json={"reason": "x"}, headers=people["approver"]
        ).status_code
        == 409
    )
    assert (
        client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["approver"]).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["editor"]).status_code == 200
    )
    assert (
        client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["editor"]).status_code == 409
    )
    no_reason = client.post(
        f"/api/v1/bulletins/{bid}/reject", json={"reason": ""}, headers=people["approver"]
    )
    assert no_reason.status_code == 422


def test_language_no_station_airs_is_refused(
    client: TestClient, people: dict[str, Headers]
) -> None:
    bid = create(client, people["editor"], area_code="02680")["id"]
    answer = client.put(
        f"/api/v1/bulletins/{bid}/translations/ium", json={"text": "Dao"}, headers=people["editor"]
    )
    assert answer.status_code == 422
    assert "airs 'ium'" in answer.json()["detail"]
    # The district has a Dao-speaking commune (A Mú Sung): there it is accepted.
    bid2 = create(client, people["editor"], area_code="082")["id"]
    ok = client.put(
        f"/api/v1/bulletins/{bid2}/translations/ium", json={"text": "Dao"}, headers=people["editor"]
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("kind", "message"),
    [("corrupt", "cannot be decoded"), ("silent", "silent"), ("long", "longer than")],
)
def test_bad_recordings_are_refused_and_nothing_is_kept(
    client: TestClient,
    people: dict[str, Headers],
    tone: Callable[..., Path],
    tmp_path: Path,
    kind: str,
    message: str,
) -> None:
    bid = create(client, people["editor"], area_code="02680")["id"]
    if kind == "corrupt":
        path = tmp_path / "bad.mp3"
        path.write_bytes(b"ID3\x03\x00not really audio" * 50)
    elif kind == "silent":
        path = tone(2.0, name="silent.mp3", volume=0.0)
    else:
        path = tone(25.0, name="long.mp3")  # the test limit is 20 s
    with path.open("rb") as handle:
        answer = client.post(
            f"/api/v1/bulletins/{bid}/translations/hmn/recording",
            files={"file": (path.name, handle, "audio/mpeg")},
            headers=people["editor"],
        )
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["detail"]
    b = client.get(f"/api/v1/bulletins/{bid}", headers=people["editor"]).json()
    assert [t["language"] for t in b["translations"]] == ["vi"]
    assert (
        client.get(
            "/api/v1/bulletins", params={"language_missing": "hmn"}, headers=people["editor"]
        ).json()["total"]
        == 1
    )


def test_listing_filters_and_scope(
    client: TestClient, people: dict[str, Headers], make_user: UserFactory
) -> None:
    create(client, people["editor"], area_code="02680")
    create(client, people["editor"], area_code="02659", campaign="Khác")
    listed = client.get(
        "/api/v1/bulletins", params={"campaign": "Biên giới 2023"}, headers=people["editor"]
    ).json()
    assert listed["total"] == 1
    assert (
        client.get(
            "/api/v1/bulletins", params={"status": "draft"}, headers=people["editor"]
        ).json()["total"]
        == 2
    )
    commune_editor = make_user(Role.editor, "02743")
    assert client.get("/api/v1/bulletins", headers=commune_editor).json()["total"] == 0
    first = listed["items"][0]["id"]
    assert client.get(f"/api/v1/bulletins/{first}", headers=commune_editor).status_code == 404


def test_preview_audio_and_normalized_text_with_lexicon(
    client: TestClient, people: dict[str, Headers], render: Callable[[], int]
) -> None:
    bid = create(
        client,
        people["editor"],
        area_code="02680",
        translations=[{"language": "vi", "text": "Đồn BP Y Tý thông báo."}],
    )["id"]
    entry = client.post(
        "/api/v1/lexicon",
        json={"term": "BP", "reading": "biên phòng", "area_code": "082"},
        headers=people["editor"],
    )
    assert entry.status_code == 201, entry.text
    norm = client.get(
        f"/api/v1/bulletins/{bid}/translations/vi/normalized", headers=people["editor"]
    ).json()
    assert "biên phòng" in norm["normalized"] and norm["lexicon"] == {"BP": "biên phòng"}
    # A nearer area overrides.
    client.post(
        "/api/v1/lexicon",
        json={"term": "BP", "reading": "bộ đội biên phòng", "area_code": "02680"},
        headers=people["editor"],
    )
    norm = client.get(
        f"/api/v1/bulletins/{bid}/translations/vi/normalized", headers=people["editor"]
    ).json()
    assert "bộ đội biên phòng" in norm["normalized"]
    assert client.get("/api/v1/lexicon", headers=people["editor"]).json()["total"] == 2
    assert (
        client.get(f"/api/v1/bulletins/{bid}/audio/vi", headers=people["editor"]).status_code == 404
    )
    render()
    audio = client.get(f"/api/v1/bulletins/{bid}/audio/vi", headers=people["editor"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert audio.content[:3] == b"ID3" or audio.content[0] == 0xFF
    # Deleting an entry marks the unapproved version for rendering again.
    entry_id = entry.json()["id"]
    assert client.delete(f"/api/v1/lexicon/{entry_id}", headers=people["editor"]).status_code == 204
    b = client.get(f"/api/v1/bulletins/{bid}", headers=people["editor"]).json()
    assert b["translations"][0]["audio_state"] == "pending"


def test_approving_while_the_audio_renders_says_when_to_ask_again(
    client: TestClient, people: dict[str, Headers], render: Callable[[], int]
) -> None:
    b = create(client, people["editor"], area_code="02680")
    bid = b["id"]
    submit = client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["editor"])
    assert submit.status_code == 200, submit.text
    early = client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"])
    assert early.status_code == 409, early.text
    assert early.json()["reason"] == "bulletin.audio_pending"
    assert int(early.headers["Retry-After"]) >= 1
    assert render() >= 1
    later = client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"])
    assert later.status_code == 200, later.text
    assert later.json()["status"] == "approved"
