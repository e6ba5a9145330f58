"""The ingestor's direct-to-driver writes store exactly what the ORM stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, insert, select
from sqlmodel import Session, SQLModel

from broadcast.core.db import BulkStatement, driver_list, driver_time, in_list
from stations.models import Area, AreaLevel

AREA = SQLModel.metadata.tables["area"]


def test_bulk_rows_and_times_match_the_orm(engine: Engine) -> None:
    # 13:00:00.123456 in Hà Nội is 06:00:00.123456 UTC, whichever way it is written.
    at = datetime(2031, 3, 1, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=7)))
    with Session(engine) as ses:
        ses.add(Area(code="orm", name="Qua ORM", level=AreaLevel.province, created_at=at))
        ses.commit()
    keys = ("code", "name", "level", "path", "created_at")
    statement = BulkStatement(insert(AREA), keys)
    with engine.begin() as connection:
        to_db = driver_time(connection.dialect)
        rows = [(f"b{i}", "Ghi thẳng", "province", "/", to_db(at)) for i in range(3000)]
        statement.execute(connection, rows)
    with engine.connect() as connection:
        # The same text (SQLite) or instant (PostgreSQL) as the ORM wrote...
        raw = dict(
            connection.exec_driver_sql(
                "SELECT code, created_at FROM area WHERE code IN ('orm', 'b0')"
            ).all()
        )
        assert raw["orm"] == raw["b0"]
        # ...read back as the aware UTC time.
        assert connection.execute(
            select(AREA.c.created_at).where(AREA.c.code == "b2999")
        ).scalar_one() == datetime(2031, 3, 1, 6, 0, 0, 123456, tzinfo=UTC)
        # One parameter, however long the list.
        query = BulkStatement(
            lambda dialect: select(AREA.c.code).where(in_list(AREA.c.code, "codes", dialect)),
            ("codes",),
        )
        wanted = ["orm", "b7", "b2999", *(f"absent-{i}" for i in range(5000))]
        found = query.fetch(connection, (driver_list(connection.dialect)(wanted),))
        assert sorted(row[0] for row in found) == ["b2999", "b7", "orm"]
