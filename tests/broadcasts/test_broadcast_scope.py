"""A broadcast airs only bulletins the caller can read, to areas inside the caller's subtree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins.models import Bulletin, BulletinStatus
from broadcast.core.db import transaction
from broadcast.people.models import Role, User
from broadcast.schedule.models import Broadcast
from stations.models import Area
from tests.utils import Headers, UserFactory

STARTS_AT = (datetime(2031, 3, 1, 6, 0, tzinfo=UTC) - timedelta(hours=7)).isoformat()


def approved_bulletin(engine: Engine, area_code: str, title: str) -> int:
    """An approved bulletin written in `area_code`."""
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        area = ses.exec(select(Area).where(Area.code == area_code)).one()
        row = Bulletin(
            title=title,
            status=BulletinStatus.approved,
            author_id=admin.id or 0,
            area_id=area.id or 0,
        )
        ses.add(row)
        ses.flush()
        return row.id or 0


def broadcast_count(engine: Engine) -> int:
    with Session(engine) as ses:
        return len(ses.exec(select(Broadcast.id)).all())


@pytest.fixture
def editor(make_user: UserFactory, demo: dict[str, str]) -> Headers:
    """An editor of the district Bát Xát (082)."""
    return make_user(Role.editor, "082")


def _schedule(
    client: TestClient, headers: Headers, bulletins: list[int], areas: list[str]
) -> httpx.Response:
    body = {"bulletin_ids": bulletins, "area_codes": areas, "starts_at": STARTS_AT}
    return client.post("/api/v1/broadcasts", json=body, headers=headers)


@pytest.mark.parametrize("other_area", ["083", "02743", "10"])
def test_an_editor_cannot_schedule_a_bulletin_they_cannot_read(
    client: TestClient, engine: Engine, editor: Headers, other_area: str
) -> None:
    own = approved_bulletin(engine, "082", "Phòng chống cháy rừng")
    other = approved_bulletin(engine, other_area, "Bản tin của nơi khác")
    assert client.get(f"/api/v1/bulletins/{other}", headers=editor).status_code == 404
    refused = _schedule(client, editor, [own, other], ["02680"])
    assert refused.status_code == 404, refused.text
    assert refused.json()["code"] == "not_found"
    assert refused.json()["detail"] == f"Bulletin {other} not found"
    # Exactly what a bulletin that does not exist answers: nothing leaks.
    absent = _schedule(client, editor, [own, other + 1000], ["02680"])
    assert absent.status_code == 404
    assert absent.json()["detail"] == f"Bulletin {other + 1000} not found"
    assert broadcast_count(engine) == 0
    assert _schedule(client, editor, [own], ["02680"]).status_code == 201


def test_an_editor_cannot_target_an_area_outside_their_subtree(
    client: TestClient, engine: Engine, editor: Headers
) -> None:
    own = approved_bulletin(engine, "082", "Lịch tiêm phòng")
    for outside in ("02743", "083", "10", "02800"):
        refused = _schedule(client, editor, [own], ["02680", outside])
        assert refused.status_code == 404, (outside, refused.text)
        assert refused.json()["detail"] == f"Area '{outside}' not found"
    assert broadcast_count(engine) == 0


def test_a_province_editor_schedules_a_district_bulletin_anywhere_in_the_province(
    client: TestClient, engine: Engine, make_user: UserFactory, demo: dict[str, str]
) -> None:
    district = approved_bulletin(engine, "082", "Bản tin huyện Bát Xát")
    province_editor = make_user(Role.editor, "10")
    created = _schedule(client, province_editor, [district], ["02680", "02743"])
    assert created.status_code == 201, created.text
    assert created.json()["area_codes"] == ["02680", "02743"]
