"""The weekly campaign digest: its content, stored once per area and week, e-mailed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from broadcast.core.settings import Settings
from broadcast.notifications.models import Digest, EmailMessage, MailState
from broadcast.people.models import Role
from broadcast.runtime.worker import Worker
from tests.campaigns.scenario import Aired, air_the_campaign
from tests.notifications.conftest import UNKNOWN, Mailbox
from tests.utils import Headers, UserFactory

# Monday 3 March 2031, 07:00 in Hà Nội: the digest of 24 February - 2 March is due.
DIGEST_AT = datetime(2031, 3, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def editor(make_user: UserFactory, demo: dict[str, str]) -> Headers:
    """An editor of the province."""
    return make_user(Role.editor, "10")


@pytest.fixture
def aired(client: TestClient, engine: Engine, settings: Settings, editor: Headers) -> Aired:
    """The campaign of tests/campaigns/scenario.py aired on 1 and 2 March 2031."""
    return air_the_campaign(client, engine, settings, editor)


def _set_email(client: TestClient, admin: Headers, username: str, address: str) -> None:
    found = client.get("/api/v1/users", params={"limit": 200}, headers=admin).json()["items"]
    user = next(u for u in found if u["username"] == username)
    answer = client.patch(f"/api/v1/users/{user['id']}", json={"email": address}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == address


def _digests(engine: Engine) -> int:
    with Session(engine) as ses:
        return int(ses.exec(select(func.count()).select_from(Digest)).one())


def test_digest_tells_the_district_which_commune_is_behind_in_which_language(
    client: TestClient,
    engine: Engine,
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    aired: Aired,
    make_user: UserFactory,
    admin_headers: Headers,
) -> None:
    mailbox, _ = smtp
    _set_email(client, admin_headers, "bientap.batxat", "bientap.batxat@laocai.example")
    _set_email(client, admin_headers, "duyet.batxat", "duyet.batxat@laocai.example")
    _set_email(client, admin_headers, "bientap.laocai", "bientap.laocai@laocai.example")
    make_user(Role.editor, "082", username="bientap2.batxat")
    _set_email(client, admin_headers, "bientap2.batxat", UNKNOWN)

    # Not yet: Monday 06:59 local still tells the week before, which had no campaign.
    assert (
        Worker(engine, mail_settings, ingest=False)
        .notification_pass(DIGEST_AT - timedelta(minutes=1))
        .digests
        == 0
    )
    report = Worker(engine, mail_settings, ingest=False).notification_pass(DIGEST_AT)
    assert report.digests >= 2  # the province and Bát Xát at least

    batxat = make_user(Role.editor, "082")
    listed = client.get("/api/v1/digests", headers=batxat).json()
    assert [d["area_code"] for d in listed["items"]] == ["082"]
    assert (listed["items"][0]["week_start"], listed["items"][0]["week_end"]) == (
        "2031-02-24", "2031-03-02",
    )  # fmt: skip
    digest = client.get(f"/api/v1/digests/{listed['items'][0]['id']}", headers=batxat).json()
    (campaign,) = digest["campaigns"]
    behind = {c["area_code"]: c for c in campaign["communes_behind"]}
    assert list(behind) == ["02659"]  # A Mú Sung; Y Tý is on track
    # A Mú Sung also airs Dao, which no bulletin of the campaign has a version in.
    dao = behind["02659"]["languages"][-1]
    assert (dao["language"], dao["aired"], dao["target_airings"]) == ("ium", 0, 0.6)
    assert dao["themes_behind"] == ["Pháp luật", "Giao lưu"]
    assert {"language": "ium", "planned": 2, "aired": 0, "missed": 1} in campaign["languages"]
    assert "- Xã A Mú Sung:" in digest["body"]
    assert (
        "Tiếng Dao: phát 0 lượt (cần 0,6); chủ đề thiếu thời lượng: Pháp luật, Giao lưu"
        in (digest["body"])
    )
    assert "Huyện Bát Xát" in digest["title"]

    # Mailed to the district's editor (the approver is not told); the refused address
    # fails alone, and the province's global administrator has no address.
    (mail,) = mailbox.to("bientap.batxat@laocai.example")
    assert mailbox.to("duyet.batxat@laocai.example") == []
    # The province's editor gets the province's digest, not each district's.
    (province,) = mailbox.to("bientap.laocai@laocai.example")
    assert province["Subject"].startswith("Bản tin tuần Tỉnh Lào Cai")
    assert mail["Subject"] == digest["title"]
    text = mail.get_content()
    assert "Tiếng Dao: phát 0 lượt (cần 0,6)" in text
    assert "từ ngày 24/02/2031 đến ngày 02/03/2031" in text
    with Session(engine) as ses:
        states = dict(ses.exec(select(EmailMessage.to_address, EmailMessage.state)).all())
    assert states[UNKNOWN] == MailState.failed
    assert states["bientap.batxat@laocai.example"] == MailState.sent


def test_digest_is_written_and_mailed_once_across_passes_and_restarts(
    client: TestClient,
    engine: Engine,
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    aired: Aired,
    admin_headers: Headers,
) -> None:
    mailbox, _ = smtp
    _set_email(client, admin_headers, "bientap.batxat", "bientap.batxat@laocai.example")
    worker = Worker(engine, mail_settings, ingest=False)
    worker.notification_pass(DIGEST_AT)
    written = _digests(engine)
    assert written >= 2
    worker.notification_pass(DIGEST_AT + timedelta(hours=1))
    # A restarted worker (a new one on the same database) later that week.
    Worker(engine, mail_settings, ingest=False).notification_pass(DIGEST_AT + timedelta(days=2))
    assert _digests(engine) == written
    assert len(mailbox.to("bientap.batxat@laocai.example")) == 1


def test_other_districts_see_no_digest_of_bat_xat(
    client: TestClient,
    engine: Engine,
    mail_settings: Settings,
    aired: Aired,
    make_user: UserFactory,
) -> None:
    Worker(engine, mail_settings, ingest=False).notification_pass(DIGEST_AT)
    batxat = client.get("/api/v1/digests", headers=make_user(Role.editor, "082")).json()
    other = make_user(Role.editor, "083")
    listed = client.get("/api/v1/digests", headers=other).json()
    assert "082" not in [d["area_code"] for d in listed["items"]]
    answer = client.get(f"/api/v1/digests/{batxat['items'][0]['id']}", headers=other)
    assert answer.status_code == 404
    assert answer.json()["reason"] == "digest.not_found"
