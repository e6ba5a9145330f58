"""Listing broadcasts is set-based: a fixed number of queries, the bulletin filter in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import select

from broadcast.bulletins.models import Bulletin, BulletinStatus
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.models import Area
from tests.utils import Headers, UserFactory

FIRST_AIRING = datetime(2031, 3, 1, 6, 0, tzinfo=UTC) - timedelta(hours=7)


def approved_bulletin(engine: Engine, title: str) -> int:
    """An approved bulletin of the district Bát Xát (082)."""
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        area = ses.exec(select(Area).where(Area.code == "082")).one()
        row = Bulletin(
            title=title,
            status=BulletinStatus.approved,
            author_id=admin.id or 0,
            area_id=area.id or 0,
        )
        ses.add(row)
        ses.flush()
        return row.id or 0


def schedule(engine: Engine, settings: Settings, bulletin_ids: list[int], count: int) -> list[int]:
    """`count` broadcasts of the bulletins to Bát Xát, each with three daily airings."""
    ids = []
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        for n in range(count):
            broadcast = create_broadcast(
                session=ses,
                settings=settings,
                actor=admin,
                scope=Scope.everything(),
                bulletin_ids=bulletin_ids,
                area_codes=["082"],
                starts_at=FIRST_AIRING + timedelta(minutes=n),
                rule="FREQ=DAILY;COUNT=3",
            )
            ids.append(broadcast.id or 0)
    return ids


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the block runs."""
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def editor(make_user: UserFactory, demo: dict[str, str]) -> Headers:
    """An editor of the district Bát Xát (082)."""
    return make_user(Role.editor, "082")


def test_listing_runs_the_same_queries_for_5_and_for_50_broadcasts(
    client: TestClient, engine: Engine, settings: Settings, editor: Headers
) -> None:
    bulletin = approved_bulletin(engine, "Phòng chống cháy rừng")
    client.get("/api/v1/broadcasts?limit=50", headers=editor)  # first request of the app
    queries: dict[int, int] = {}
    scheduled = 0
    for total in (5, 50):
        schedule(engine, settings, [bulletin], total - scheduled)
        scheduled = total
        with counted(engine) as statements:
            page = client.get("/api/v1/broadcasts?limit=50", headers=editor)
        assert page.status_code == 200, page.text
        assert page.json()["total"] == total
        assert len(page.json()["items"]) == total
        assert {i["occurrence_count"] for i in page.json()["items"]} == {3}
        assert {i["next_air_at"] for i in page.json()["items"]} != {None}
        queries[total] = len(statements)
    assert queries[5] == queries[50], queries


def test_the_bulletin_filter_is_exact_and_pages_like_any_listing(
    client: TestClient, engine: Engine, settings: Settings, editor: Headers
) -> None:
    # Enough bulletins that some ids are digits of others (1 and 11, 2 and 12...).
    bulletins = [approved_bulletin(engine, f"Bản tin {n}") for n in range(12)]
    one, other, last = bulletins[0], bulletins[1], bulletins[-1]
    alone = schedule(engine, settings, [one], 2)
    shared = schedule(engine, settings, [other, one], 1)
    schedule(engine, settings, [other], 2)
    schedule(engine, settings, [last], 1)
    wanted = sorted(alone + shared, reverse=True)

    with counted(engine) as few:
        answer = client.get(f"/api/v1/broadcasts?bulletin_id={one}", headers=editor).json()
    assert answer["total"] == 3
    assert [i["id"] for i in answer["items"]] == wanted
    assert all(one in i["bulletin_ids"] for i in answer["items"])

    page = client.get(f"/api/v1/broadcasts?bulletin_id={one}&limit=2&offset=1", headers=editor)
    assert page.json()["total"] == 3
    assert [i["id"] for i in page.json()["items"]] == wanted[1:3]

    assert client.get(f"/api/v1/broadcasts?bulletin_id={last}", headers=editor).json()["total"] == 1
    nothing = client.get("/api/v1/broadcasts?bulletin_id=999999", headers=editor).json()
    assert nothing == {"items": [], "total": 0, "limit": 50, "offset": 0}

    schedule(engine, settings, [one], 20)
    with counted(engine) as many:
        answer = client.get(f"/api/v1/broadcasts?bulletin_id={one}", headers=editor).json()
    assert answer["total"] == 23
    assert len(many) == len(few)
