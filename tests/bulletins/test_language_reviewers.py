"""Language reviewers: an area's H'Mông speaker signs off the H'Mông versions before they air."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins import reviewers
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import ReviewDecision, ReviewState
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.programmes import programme_for_station
from broadcast.people.models import Role, User
from broadcast.people.service import Principal, user_area
from stations.areas import get_area
from stations.models import Station
from tests.utils import Headers, UserFactory

Y_TY = "Đài truyền thanh xã Y Tý"  # commune 02680 of district 082, airs vi and hmn
PHA_LONG = "Đài truyền thanh xã Pha Long"  # commune 02743 of district 083, vi and hmn


@pytest.fixture
def people(demo: dict[str, str], make_user: UserFactory) -> dict[str, Headers]:
    """Editors, approvers and reviewers of district Bát Xát (082) and of the province."""
    return {
        "editor": make_user(Role.editor, "082", "bientap.082"),
        "approver": make_user(Role.approver, "082", "duyet.082"),
        "editor_10": make_user(Role.editor, "10", "bientap.10"),
        "approver_10": make_user(Role.approver, "10", "duyet.10"),
        "admin": make_user(Role.admin, "082", "quantri.082"),
        "admin_083": make_user(Role.admin, "083", "quantri.083"),
        "admin_10": make_user(Role.admin, "10", "quantri.10"),
        "hmong": make_user(Role.editor, "082", "hmong.082"),
        "hmong_10": make_user(Role.approver, "10", "hmong.10"),
        "dao": make_user(Role.editor, "082", "dao.082"),
        "outside": make_user(Role.editor, "083", "hmong.083"),
        "operator": make_user(Role.operator, "02680", "vanhanh.02680"),
    }


def name(client: TestClient, admin: Headers, area: str, languages: dict) -> dict:
    answer = client.put(
        f"/api/v1/areas/{area}/language-reviewers", json={"languages": languages}, headers=admin
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def upload(client: TestClient, who: Headers, bid: int, path: Path) -> dict:
    with path.open("rb") as handle:
        answer = client.post(
            f"/api/v1/bulletins/{bid}/translations/hmn/recording",
            files={"file": (path.name, handle, "audio/mpeg")},
            headers=who,
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def approved_bulletin(
    client: TestClient,
    people: dict[str, Headers],
    render: Callable[[], int],
    recording: Path,
    *,
    area: str = "02680",
    priority: str = "normal",
    translator: str | None = None,
    editor: str = "editor",
    approver: str = "approver",
) -> int:
    """A bulletin in Vietnamese and H'Mông (a recording), approved by the district's approver."""
    answer = client.post(
        "/api/v1/bulletins",
        json={
            "title": "Phòng chống cháy rừng",
            "priority": priority,
            "area_code": area,
            "translations": [{"language": "vi", "text": "Bà con không đốt nương."}],
        },
        headers=people[editor],
    )
    assert answer.status_code == 201, answer.text
    bid = int(answer.json()["id"])
    upload(client, people[translator or editor], bid, recording)
    render()
    submitted = client.post(f"/api/v1/bulletins/{bid}/submit", headers=people[editor])
    assert submitted.status_code == 200, submitted.text
    ok = client.post(f"/api/v1/bulletins/{bid}/approve", headers=people[approver])
    assert ok.status_code == 200, ok.text  # the bulletin's approval happens either way
    return bid


def version(client: TestClient, who: Headers, bid: int, language: str) -> dict:
    answer = client.get(f"/api/v1/bulletins/{bid}", headers=who)
    assert answer.status_code == 200, answer.text
    return next(t for t in answer.json()["translations"] if t["language"] == language)


def review(
    client: TestClient, who: Headers, bid: int, decision: str, note: str | None = None
) -> object:
    return client.post(
        f"/api/v1/bulletins/{bid}/translations/hmn/review",
        json={"decision": decision, "note": note},
        headers=who,
    )


def aired(engine: Engine, settings: Settings, station_name: str) -> list[tuple[int, str]]:
    """What the station's programme of every approved bulletin carries now."""
    with Session(engine) as session:
        station = session.exec(select(Station).where(Station.name == station_name)).one()
        programme = programme_for_station(
            session=session, station=station, bulletin_ids=None, settings=settings
        )
        return [(i.bulletin_id or 0, i.language or "") for i in programme.items]


def test_a_version_waits_for_its_reviewer_and_airs_once_signed_off(
    client: TestClient,
    people: dict[str, Headers],
    engine: Engine,
    settings: Settings,
    render: Callable[[], int],
    tone: Callable[..., Path],
) -> None:
    shown = name(client, people["admin"], "082", {"hmn": ["hmong.082"]})
    assert shown["own"] == {"hmn": ["hmong.082"]}
    assert shown["effective"] == [
        {"language": "hmn", "reviewers": ["hmong.082"], "named_by": "082", "inherited": False}
    ]
    bid = approved_bulletin(client, people, render, tone(1.0, name="hmn.mp3"))

    hmn = version(client, people["editor"], bid, "hmn")
    assert hmn["reviewer_required"] is True
    assert hmn["review_state"] == "unreviewed" and hmn["reviewed_by"] is None
    vi = version(client, people["editor"], bid, "vi")
    assert vi["reviewer_required"] is False and vi["review_state"] == "approved"
    assert aired(engine, settings, Y_TY) == [(bid, "vi")]  # H'Mông waits
    waiting = client.get("/api/v1/bulletins/awaiting-my-review", headers=people["hmong"])
    assert [(w["bulletin_id"], w["language"], w["translator"]) for w in waiting.json()] == [
        (bid, "hmn", "bientap.082")
    ]
    for other in ("editor", "dao", "outside"):
        mine = client.get("/api/v1/bulletins/awaiting-my-review", headers=people[other])
        assert mine.status_code == 200 and mine.json() == []

    # Sending back needs a note; then the version still does not air.
    assert review(client, people["hmong"], bid, "changes_requested").status_code == 422
    back = review(client, people["hmong"], bid, "changes_requested", "Đọc sai tên thôn")
    assert back.status_code == 200, back.text  # type: ignore[attr-defined]
    hmn = version(client, people["editor"], bid, "hmn")
    assert hmn["review_state"] == "changes_requested"
    assert hmn["review_note"] == "Đọc sai tên thôn" and hmn["reviewed_by"] == "hmong.082"
    assert aired(engine, settings, Y_TY) == [(bid, "vi")]

    ok = review(client, people["hmong"], bid, "approved")
    assert ok.status_code == 200, ok.text  # type: ignore[attr-defined]
    hmn = version(client, people["editor"], bid, "hmn")
    assert hmn["review_state"] == "approved" and hmn["reviewed_at"]
    assert hmn["reviewed_by"] == "hmong.082" and hmn["review_note"] is None
    assert aired(engine, settings, Y_TY) == [(bid, "vi"), (bid, "hmn")]
    assert client.get("/api/v1/bulletins/awaiting-my-review", headers=people["hmong"]).json() == []

    events = client.get(
        "/api/v1/audit",
        params={"object_type": "bulletin", "object_id": str(bid)},
        headers=people["admin"],
    ).json()["items"]
    reviews = [e for e in events if e["action"] == "translation.review"]
    assert [(e["actor"], e["detail"]["decision"]) for e in reviews] == [
        ("hmong.082", "approved"),
        ("hmong.082", "changes_requested"),
    ]


def test_a_new_recording_clears_the_sign_off(
    client: TestClient,
    people: dict[str, Headers],
    engine: Engine,
    settings: Settings,
    render: Callable[[], int],
    tone: Callable[..., Path],
) -> None:
    name(client, people["admin"], "082", {"hmn": ["hmong.082"]})
    bid = approved_bulletin(client, people, render, tone(1.0, name="hmn.mp3"))
    assert review(client, people["hmong"], bid, "approved").status_code == 200  # type: ignore[attr-defined]

    again = upload(client, people["editor"], bid, tone(1.4, name="hmn2.mp3", freq=600))
    hmn = next(t for t in again["translations"] if t["language"] == "hmn")
    assert hmn["review_state"] == "unreviewed" and hmn["reviewed_by"] is None
    # The bulletin is approved again; the new recording waits for its own sign-off.
    client.post(f"/api/v1/bulletins/{bid}/submit", headers=people["editor"])
    assert (
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=people["approver"]).status_code
        == 200
    )
    assert aired(engine, settings, Y_TY) == [(bid, "vi")]


def test_reviewers_are_inherited_and_the_nearest_area_wins(
    client: TestClient,
    people: dict[str, Headers],
    render: Callable[[], int],
    tone: Callable[..., Path],
) -> None:
    name(client, people["admin_10"], "10", {"hmn": ["hmong.10"]})
    shown = client.get("/api/v1/areas/02743/language-reviewers", headers=people["admin_083"])
    assert shown.json()["own"] == {}
    assert shown.json()["effective"] == [
        {"language": "hmn", "reviewers": ["hmong.10"], "named_by": "10", "inherited": True}
    ]
    recording = tone(1.0, name="hmn.mp3")
    pha_long = approved_bulletin(
        client, people, render, recording, area="02743", editor="editor_10", approver="approver_10"
    )
    assert version(client, people["admin_10"], pha_long, "hmn")["reviewer_required"] is True
    assert review(client, people["hmong_10"], pha_long, "approved").status_code == 200  # type: ignore[attr-defined]

    # District Bát Xát names its own reviewer: the province's no longer reviews there.
    name(client, people["admin"], "082", {"hmn": ["hmong.082"]})
    y_ty = approved_bulletin(client, people, render, recording)
    refused = review(client, people["hmong_10"], y_ty, "approved")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert refused.json()["reason"] == "language_review.not_reviewer"  # type: ignore[attr-defined]
    assert review(client, people["hmong"], y_ty, "approved").status_code == 200  # type: ignore[attr-defined]
    # Naming nobody gives the district back to the province's reviewer.
    name(client, people["admin"], "082", {"hmn": []})
    assert (
        client.get("/api/v1/areas/02680/language-reviewers", headers=people["editor"]).json()[
            "effective"
        ][0]["named_by"]
        == "10"
    )


def test_not_own_work_and_not_another_language(
    client: TestClient,
    people: dict[str, Headers],
    render: Callable[[], int],
    tone: Callable[..., Path],
) -> None:
    name(client, people["admin"], "082", {"hmn": ["hmong.082"], "ium": ["dao.082"]})
    # The H'Mông reviewer recorded this version themselves: another reviewer must sign it.
    bid = approved_bulletin(client, people, render, tone(1.0, name="hmn.mp3"), translator="hmong")
    own = review(client, people["hmong"], bid, "approved")
    assert own.status_code == 403  # type: ignore[attr-defined]
    assert own.json()["reason"] == "language_review.own_work"  # type: ignore[attr-defined]
    other = review(client, people["dao"], bid, "approved")
    assert other.status_code == 403  # type: ignore[attr-defined]
    assert other.json()["reason"] == "language_review.not_reviewer"  # type: ignore[attr-defined]
    assert version(client, people["editor"], bid, "hmn")["review_state"] == "unreviewed"


def test_emergencies_never_wait_for_a_language_reviewer(
    client: TestClient,
    people: dict[str, Headers],
    engine: Engine,
    settings: Settings,
    render: Callable[[], int],
    tone: Callable[..., Path],
) -> None:
    name(client, people["admin"], "082", {"hmn": ["hmong.082"]})
    bid = approved_bulletin(client, people, render, tone(1.0, name="hmn.mp3"), priority="emergency")
    hmn = version(client, people["editor"], bid, "hmn")
    assert hmn["reviewer_required"] is False and hmn["review_state"] == "approved"
    assert aired(engine, settings, Y_TY) == [(bid, "vi"), (bid, "hmn")]


def test_naming_and_reviewing_stay_inside_the_area(
    client: TestClient,
    people: dict[str, Headers],
    render: Callable[[], int],
    tone: Callable[..., Path],
) -> None:
    body = {"languages": {"hmn": ["hmong.082"]}}
    url = "/api/v1/areas/082/language-reviewers"
    assert client.put(url, json=body, headers=people["editor"]).status_code == 403
    assert client.put(url, json=body, headers=people["admin_083"]).status_code == 404
    assert client.get(url, headers=people["admin_083"]).status_code == 404
    for username, code in (
        ("hmong.083", "language_reviewer.out_of_area"),  # cannot see district 082
        ("vanhanh.02680", "language_reviewer.bad_role"),
        ("nobody", "language_reviewer.unknown_user"),
    ):
        answer = client.put(url, json={"languages": {"hmn": [username]}}, headers=people["admin"])
        assert answer.status_code == 422, answer.text
        assert answer.json()["reason"] == code
    refused = client.put(url, json={"languages": {"xx": ["hmong.082"]}}, headers=people["admin"])
    assert refused.status_code == 422
    # A reviewer of Mường Khương does not see Bát Xát's bulletins at all.
    name(client, people["admin_083"], "083", {"hmn": ["hmong.083"]})
    bid = approved_bulletin(client, people, render, tone(1.0, name="hmn.mp3"))
    assert review(client, people["outside"], bid, "approved").status_code == 404  # type: ignore[attr-defined]
    events = client.get(
        "/api/v1/audit", params={"object_type": "area"}, headers=people["admin_10"]
    ).json()["items"]
    named = [e for e in events if e["action"] == "area.language_reviewers"]
    assert [(e["object_id"], e["detail"]["after"]) for e in named] == [
        ("083", {"hmn": ["hmong.083"]})
    ]


STEPS = st.lists(
    st.sampled_from(["approve", "send_back", "new_recording", "new_title"]), max_size=8
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_the_sign_off_follows_the_last_decision_on_the_current_content(
    engine: Engine, people: dict[str, Headers], steps: list[str]
) -> None:
    """Whatever happens in whatever order, a version is signed off exactly when its
    reviewer's last decision since its last new recording is an approval."""
    with transaction(engine) as ses:
        users = {u.username: u for u in ses.exec(select(User)).all()}

        def principal(username: str) -> Principal:
            user = users[username]
            return Principal(user=user, area=user_area(session=ses, user=user))

        editor, hmong = principal("bientap.082"), principal("hmong.082")
        if not reviewers.own_reviewers(session=ses, area=editor.area):  # type: ignore[arg-type]
            reviewers.set_reviewers(
                session=ses,
                principal=principal("quantri.082"),
                area_code="082",
                reviewers={"hmn": ["hmong.082"]},
            )
        area = get_area(session=ses, code="02680", scope=editor.scope)
        bulletin = bulletins.create_bulletin(
            session=ses, principal=editor, title="Phòng chống cháy rừng", area_code="02680"
        )
        takes = iter(range(1, 100))

        def record() -> None:
            sha = f"{next(takes):064x}"
            bulletins.set_translation_recording(
                session=ses, principal=editor, bulletin=bulletin, area=area, language="hmn",
                upload_sha256=sha, audio_sha256=sha, audio_bytes=1000, duration_ms=1000,
            )  # fmt: skip

        record()
        expected: ReviewDecision | None = None
        for step in steps:
            if step == "approve":
                reviewers.review_version(
                    session=ses, principal=hmong, bulletin=bulletin, area=area,
                    language="hmn", decision=ReviewDecision.approved,
                )  # fmt: skip
                expected = ReviewDecision.approved
            elif step == "send_back":
                reviewers.review_version(
                    session=ses, principal=hmong, bulletin=bulletin, area=area,
                    language="hmn", decision=ReviewDecision.changes_requested, note="Sửa lại",
                )  # fmt: skip
                expected = ReviewDecision.changes_requested
            elif step == "new_recording":
                record()
                expected = None
            else:
                bulletins.update_bulletin(
                    session=ses, principal=editor, bulletin=bulletin, title=f"Tin {step}"
                )
            version = bulletins.get_translation(session=ses, bulletin=bulletin, language="hmn")
            assert reviewers.signed_off(version) is (expected == ReviewDecision.approved)
            assert reviewers.shown_state(version, True) == (
                ReviewState(expected.value) if expected else ReviewState.unreviewed
            )
