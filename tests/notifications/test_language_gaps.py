"""Language completeness alerts: a language a station airs that a bulletin of the airing
has no ready version in, alerted LOA_LANGUAGE_GAP_HOURS before, resolved once ready."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins.models import AudioState, Bulletin, BulletinStatus, Translation
from broadcast.bulletins.service import approval_hash
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.notifications.models import Notification
from broadcast.notifications.service import list_notifications, open_count
from broadcast.people.models import Role, User
from broadcast.runtime.worker import Worker
from stations.areas import Scope
from stations.models import Area, Station
from tests.notifications.conftest import Mailbox
from tests.utils import Headers, UserFactory

AIR_AT = datetime(2031, 3, 10, 6, 0, tzinfo=UTC) - timedelta(hours=7)  # 06:00 on 10 March


def gap_bulletin(engine: Engine, languages: list[str]) -> int:
    """An approved district bulletin with rendered versions in `languages`."""
    with transaction(engine) as ses:
        author = ses.exec(select(User).where(User.username == "admin")).one()
        district = ses.exec(select(Area).where(Area.code == "082")).one()
        bulletin = Bulletin(
            title="Phòng chống cháy rừng",
            status=BulletinStatus.approved,
            author_id=author.id or 0,
            area_id=district.id or 0,
            reviewed_at=AIR_AT - timedelta(days=3),
        )
        ses.add(bulletin)
        ses.flush()
        versions = [ready_version(bulletin.id or 0, lang) for lang in languages]
        ses.add_all(versions)
        bulletin.approval_hash = approval_hash(versions)
        ses.add(bulletin)
        return bulletin.id or 0


def ready_version(bulletin_id: int, lang: str) -> Translation:
    return Translation(
        bulletin_id=bulletin_id,
        language=lang,
        text=f"Không đốt nương ({lang})",
        content_hash=f"{lang}-{bulletin_id}",
        audio_state=AudioState.ready,
        audio_sha256=hashlib.sha256(f"{lang}{bulletin_id}".encode()).hexdigest(),
        audio_bytes=1000,
        audio_duration_ms=30_000,
    )


@pytest.fixture
def editor(make_user: UserFactory, demo: dict[str, str]) -> Headers:
    """An editor of district Bát Xát."""
    return make_user(Role.editor, "082", username="bientap2.batxat")


@pytest.fixture
def scheduled(client: TestClient, engine: Engine, editor: Headers) -> tuple[int, int]:
    """A bulletin in Vietnamese and H'Mông only, scheduled to A Mú Sung (which also airs
    Dao) at 06:00 on 10 March 2031; the bulletin's and the broadcast's ids."""
    bulletin_id = gap_bulletin(engine, ["vi", "hmn"])
    client.app.state.clock = lambda: AIR_AT - timedelta(days=3)  # type: ignore[attr-defined]
    answer = client.post(
        "/api/v1/broadcasts",
        json={"bulletin_ids": [bulletin_id], "area_codes": ["02659"],
              "starts_at": AIR_AT.isoformat()},
        headers=editor,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return bulletin_id, int(answer.json()["id"])


def _gaps(engine: Engine) -> list[Notification]:
    with Session(engine) as ses:
        return list(ses.exec(select(Notification)).all())


def test_gap_alerted_at_n_hours_not_before_and_resolved_once_ready(
    client: TestClient,
    engine: Engine,
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    scheduled: tuple[int, int],
    editor: Headers,
    admin_headers: Headers,
) -> None:
    mailbox, _ = smtp
    bulletin_id, broadcast_id = scheduled
    me = client.get("/api/v1/users/me", headers=editor).json()
    client.patch(f"/api/v1/users/{me['id']}", json={"email": "bientap2@laocai.example"},
                 headers=admin_headers)  # fmt: skip
    settings = mail_settings.model_copy(update={"language_gap_hours": 24})
    worker = Worker(engine, settings, ingest=False)

    # The programme view tells the gap at once.
    shown = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=editor).json()
    with Session(engine) as ses:
        amu = ses.exec(select(Station).join(Area).where(Area.code == "02659")).one()
    assert shown["occurrences"][0]["language_gaps"] == [
        {"bulletin_id": bulletin_id, "language": "ium", "station_ids": [amu.id]}
    ]

    assert worker.notification_pass(AIR_AT - timedelta(hours=24, minutes=1)).gaps == 0
    assert _gaps(engine) == []
    assert worker.notification_pass(AIR_AT - timedelta(hours=24)).gaps == 1
    (gap,) = _gaps(engine)
    assert (gap.bulletin_id, gap.language, gap.station_ids) == (bulletin_id, "ium", [amu.id])
    assert worker.notification_pass(AIR_AT - timedelta(hours=23)).gaps == 0  # only once
    (mail,) = mailbox.to("bientap2@laocai.example")
    assert (
        mail["Subject"] == "Thiếu bản Tiếng Dao: «Phòng chống cháy rừng» phát lúc 06:00 10/03/2031"
    )
    assert "Đài truyền thanh xã A Mú Sung" in mail.get_content()

    with Session(engine) as ses:
        user = ses.exec(select(User).where(User.username == "bientap2.batxat")).one()
        district = ses.exec(select(Area).where(Area.code == "082")).one()
        assert open_count(session=ses, user=user, scope=Scope.of(district)) == 1

    # The Dao version is rendered: the next pass resolves the alert.
    with transaction(engine) as ses:
        ses.add(ready_version(bulletin_id, "ium"))
    worker.notification_pass(AIR_AT - timedelta(hours=22))
    (gap,) = _gaps(engine)
    assert gap.resolved_at is not None
    with Session(engine) as ses:
        assert list_notifications(session=ses, user=user, scope=Scope.of(district)) == []
    shown = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=editor).json()
    assert shown["occurrences"][0]["language_gaps"] == []


def test_a_version_waiting_for_its_language_reviewer_is_a_gap_until_signed_off(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    scheduled: tuple[int, int],
    editor: Headers,
    make_user: UserFactory,
) -> None:
    bulletin_id, broadcast_id = scheduled
    district_admin = make_user(Role.admin, "082")
    reviewer = make_user(Role.approver, "082", username="duyet.hmong")
    named = client.put(
        "/api/v1/areas/082/language-reviewers",
        json={"languages": {"hmn": ["duyet.hmong"]}},
        headers=district_admin,
    )
    assert named.status_code == 200, named.text
    worker = Worker(engine, settings.model_copy(update={"language_gap_hours": 24}), ingest=False)

    # The H'Mông version is rendered, but no programme airs it before its sign-off.
    shown = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=editor).json()
    gaps = {g["language"] for g in shown["occurrences"][0]["language_gaps"]}
    assert gaps == {"ium", "hmn"}
    worker.notification_pass(AIR_AT - timedelta(hours=24))
    assert sorted(g.language for g in _gaps(engine)) == ["hmn", "ium"]

    signed = client.post(
        f"/api/v1/bulletins/{bulletin_id}/translations/hmn/review",
        json={"decision": "approved"},
        headers=reviewer,
    )
    assert signed.status_code == 200, signed.text
    worker.notification_pass(AIR_AT - timedelta(hours=23))
    resolved = {g.language: g.resolved_at is not None for g in _gaps(engine)}
    assert resolved == {"hmn": True, "ium": False}
    shown = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=editor).json()
    assert [g["language"] for g in shown["occurrences"][0]["language_gaps"]] == ["ium"]


def test_rest_lists_my_open_notifications_and_puts_one_away(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    scheduled: tuple[int, int],
    editor: Headers,
    admin_headers: Headers,
    make_user: UserFactory,
) -> None:
    bulletin_id, broadcast_id = scheduled
    worker = Worker(engine, settings.model_copy(update={"language_gap_hours": 24}), ingest=False)
    assert worker.notification_pass(AIR_AT - timedelta(hours=24)).gaps == 1
    with Session(engine) as ses:
        amu = ses.exec(select(Station).join(Area).where(Area.code == "02659")).one()

    listed = client.get("/api/v1/notifications", headers=editor)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 1
    (shown,) = page["items"]
    assert {k: shown[k] for k in ("kind", "area_code", "airing", "bulletin_id", "language")} == {
        "kind": "language_gap",
        "area_code": "02659",  # A Mú Sung, the commune of the station
        "airing": f"{broadcast_id}.1",
        "bulletin_id": bulletin_id,
        "language": "ium",
    }
    assert shown["language_name"] == "Tiếng Dao"
    assert shown["bulletin_title"] == "Phòng chống cháy rừng"
    assert shown["station_ids"] == [amu.id]
    assert shown["air_at"].startswith("2031-03-09T23:00:00")

    # Another district's editor is not told, and cannot put it away.
    other = make_user(Role.editor, "083")
    assert client.get("/api/v1/notifications", headers=other).json()["total"] == 0
    away = f"/api/v1/notifications/{shown['id']}/dismiss"
    refused = client.post(away, headers=other)
    assert refused.status_code == 404 and refused.json()["reason"] == "notification.not_found"

    # Put away: gone from the editor's list (twice is no error), still in the admin's.
    assert client.post(away, headers=editor).status_code == 204
    assert client.post(away, headers=editor).status_code == 204
    assert client.get("/api/v1/notifications", headers=editor).json() == {
        "items": [], "total": 0, "limit": 200, "offset": 0
    }  # fmt: skip
    assert client.get("/api/v1/notifications", headers=admin_headers).json()["total"] == 1
    assert client.post("/api/v1/notifications/999999/dismiss", headers=editor).status_code == 404
    assert client.get("/api/v1/notifications").status_code == 401
