"""The operator's page runs the same SQL statements for one airing of the day as for six."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import default_programme_builder, dispatch_due
from broadcast.people.models import Role, User
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.timeutil import utcnow
from tests.audio import approved_bulletin, ensure_user, tone_recording
from tests.broadcasts.test_broadcast_listing import counted
from tests.console.conftest import Login
from tts import Synthesizer


def test_the_operator_page_runs_a_fixed_number_of_statements(
    login: Login,
    engine: Engine,
    settings: Settings,
    demo: dict[str, str],
    offline_speech: Synthesizer,
    tmp_path: Path,
) -> None:
    zone = settings.zone
    now = utcnow()
    last = datetime.combine(now.astimezone(zone).date(), time(23, 50), tzinfo=zone)
    if now + timedelta(minutes=40) > last:
        pytest.skip("too close to midnight for six airings today")
    with transaction(engine) as ses:
        approver = ensure_user(ses, "duyet.tinh", Role.approver, "10")
    bulletin_id = approved_bulletin(
        engine,
        settings,
        offline_speech,
        title="Tiêm phòng cho trẻ",
        area_code="10",
        author="admin",
        approver=approver,
        recordings={"vi": tone_recording(tmp_path / "vi.mp3", 3000)},
    )
    client = login("vanhanh.phalong")
    client.get("/operator")
    statements: dict[int, int] = {}
    made = 0
    for total in (1, 6):
        with transaction(engine) as ses:
            admin = ses.exec(select(User).where(User.username == "admin")).one()
            for k in range(made, total):
                create_broadcast(
                    session=ses,
                    settings=settings,
                    actor=admin,
                    scope=Scope.everything(),
                    bulletin_ids=[bulletin_id],
                    area_codes=["02680", "02743"],
                    starts_at=now + timedelta(minutes=5 + 5 * k),
                    title=f"Lượt {k}",
                )
        made = total
        dispatch_due(
            engine=engine,
            settings=settings,
            builder=default_programme_builder,
            now=now + timedelta(minutes=40),
        )
        with counted(engine) as seen:
            page = client.get("/operator")
        assert page.status_code == 200
        text = re.sub(r"\s+", " ", page.text)
        # Every airing of the day waits for the wired station's confirmation.
        assert text.count("Xác nhận đã phát") >= total, text
        statements[total] = len(seen)
    assert statements[1] == statements[6], statements
