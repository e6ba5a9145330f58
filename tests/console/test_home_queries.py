"""The console's home page runs the same SQL statements for 3 stations as for 30."""

from __future__ import annotations

import re

from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from stations.models import Area, Receiver, Station, StationKind
from tests.broadcasts.test_broadcast_listing import counted
from tests.console.conftest import Login


def _add_stations(engine: Engine, first: int, count: int) -> None:
    """`count` stations in the commune Y Tý, each with two receivers, one online."""
    with transaction(engine) as ses:
        area = ses.exec(select(Area).where(Area.code == "02680")).one()
        for n in range(first, first + count):
            station = Station(
                area_id=area.id or 0, name=f"Đài thôn {n}", kind=StationKind.ip, languages=["vi"]
            )
            ses.add(station)
            ses.flush()
            for k, online in enumerate((True, False)):
                ses.add(
                    Receiver(
                        id=f"rx-{n}-{k}",
                        station_id=station.id or 0,
                        name=f"Cụm loa {n}.{k}",
                        secret_hash="-",
                        online=online,
                    )
                )


def test_the_home_page_lists_every_station_with_a_fixed_number_of_statements(
    login: Login, engine: Engine
) -> None:
    client = login("admin")
    client.get("/")
    statements: dict[int, int] = {}
    made = 0
    for total in (3, 30):
        _add_stations(engine, made, total - made)
        made = total
        with counted(engine) as seen:
            page = client.get("/")
        assert page.status_code == 200
        text = re.sub(r"\s+", " ", page.text)
        assert "Đài thôn 0" in text and f"Đài thôn {total - 1}" in text
        assert "Mất kết nối: Cụm loa 0.1 (rx-0-1) – Đài thôn 0 · chưa từng kết nối" in text
        if total > 10:
            assert re.search(r"Và \d+ cụm loa khác mất kết nối", text)
        statements[total] = len(seen)
    assert statements[3] == statements[30], statements
