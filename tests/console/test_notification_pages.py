"""The console's weekly digests ("Bản tin tuần") and notifications ("Thông báo")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.demo import seed_demo_campaign
from broadcast.notifications.digests import write_digests
from broadcast.notifications.gaps import alert_language_gaps
from broadcast.notifications.models import Digest, Notification
from broadcast.people.models import User
from broadcast.people.service import Principal
from broadcast.schedule.service import schedule_broadcast
from stations.models import Area
from tests.console.conftest import LiveServer, Login, csrf_of, phone, readable, sign_in
from tests.notifications.test_language_gaps import AIR_AT, gap_bulletin

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def _gap(engine: Engine, settings: Settings) -> int:
    """A bulletin without Dao scheduled to A Mú Sung, alerted a day before; the broadcast."""
    bulletin_id = gap_bulletin(engine, ["vi", "hmn"])
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        result = schedule_broadcast(
            session=ses,
            settings=settings,
            principal=Principal(user=admin, area=None),
            bulletin_ids=[bulletin_id],
            area_codes=["02659"],
            starts_at=AIR_AT,
        )
        broadcast_id = result.broadcast.id or 0
    with transaction(engine) as ses:
        assert alert_language_gaps(session=ses, settings=settings, now=AIR_AT - timedelta(hours=2))
    return broadcast_id


def test_notifications_are_listed_counted_and_dismissed(
    login: Login, engine: Engine, settings: Settings
) -> None:
    broadcast_id = _gap(engine, settings)
    client = login("bientap.batxat")
    home = client.get("/").text
    assert "🔔 Thông báo" in home and 'aria-label="1 thông báo mới"' in home
    page = client.get("/notifications").text
    assert "Phòng chống cháy rừng" in page
    assert "Tiếng Dao: chưa có bản đã dựng âm thanh, 1 đài sẽ phát tiếng này" in page
    status = client.get(f"/broadcasts/{broadcast_id}").text
    assert "chưa có bản Tiếng Dao đã dựng âm thanh, 1 đài phát tiếng này" in status

    other = login("vanhanh.phalong")  # Pha Long, district Mường Khương
    assert "Phòng chống cháy rừng" not in other.get("/notifications").text

    client = login("bientap.batxat")
    page = client.get("/notifications").text
    with Session(engine) as ses:
        (note,) = ses.exec(select(Notification)).all()
    done = client.post(
        f"/notifications/{note.id}/dismiss",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=True,
    )
    assert "Đã ẩn thông báo" in done.text
    assert "Không có thông báo nào." in done.text
    assert 'thông báo mới"' not in done.text
    # Dismissed for this editor only: the province's editor still sees it.
    assert "Phòng chống cháy rừng" in login("bientap.laocai").get("/notifications").text


def test_digest_pages_list_newest_first_and_show_the_digest(
    login: Login, engine: Engine, settings: Settings
) -> None:
    today = datetime(2031, 3, 12, tzinfo=UTC).date()
    with transaction(engine) as ses:
        seed_demo_campaign(session=ses, today=today)
    for monday in (datetime(2031, 3, 10, 0, tzinfo=UTC), datetime(2031, 3, 17, 0, tzinfo=UTC)):
        with transaction(engine) as ses:
            write_digests(session=ses, settings=settings, now=monday)
    client = login("bientap.batxat")
    page = client.get("/digests").text
    assert page.index("10/03/2031 – 16/03/2031") < page.index("03/03/2031 – 09/03/2031")
    assert "Tỉnh Lào Cai" not in page  # above the district: not its digest
    with Session(engine) as ses:
        digest = ses.exec(
            select(Digest)
            .join(Area, col(Area.id) == col(Digest.area_id))
            .where(Area.code == "082")
            .order_by(col(Digest.week_start).desc())
        ).first()
    assert digest is not None
    shown = client.get(f"/digests/{digest.id}").text
    assert "Bản tin tuần về các chiến dịch truyền thông" in shown
    assert login("vanhanh.phalong").get(f"/digests/{digest.id}").status_code == 404


@pytest.mark.browser
def test_digest_and_notification_pages_read_in_vietnamese_on_a_phone(
    live_server: LiveServer, chromium: Browser
) -> None:
    engine, settings = live_server.engine, live_server.settings
    today = datetime(2031, 3, 12, tzinfo=UTC).date()
    with transaction(engine) as ses:
        seed_demo_campaign(session=ses, today=today)
    with transaction(engine) as ses:
        written = write_digests(
            session=ses, settings=settings, now=datetime(2031, 3, 17, tzinfo=UTC)
        )
        (digest_id,) = [d.id for d in written if "Bát Xát" in d.title]
    _gap(engine, settings)
    page = phone(chromium, live_server.base_url, 360)
    sign_in(page, "bientap.batxat")
    for path in ("/digests", f"/digests/{digest_id}", "/notifications"):
        page.goto(path)
        readable(page)
