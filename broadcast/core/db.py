"""Database engine, sessions and migrations."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    CursorResult,
    Dialect,
    Engine,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    event,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.expression import ClauseElement
from sqlmodel import Session, create_engine

from stations.timeutil import as_utc

MIGRATIONS_DIR = Path(__file__).parents[1] / "migrations"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# pg_advisory_lock key of migrations ("loa" in ASCII).
MIGRATION_LOCK_KEY = 0x6C6F61


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """Let one process at a time migrate the database at `url`.

    `loa serve --workers N` and `loa worker` both migrate at start: on a new database two
    of them would otherwise create the same tables at once. SQLite: an exclusive lock
    on a file beside the database; PostgreSQL: a session advisory lock.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if not path or path == ":memory:":
            yield
            return
        lock = Path(f"{path}.migrate-lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
            yield
        return
    if not url.startswith("postgresql"):
        yield
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (the head by default); processes starting
    together take turns."""
    with _migration_lock(url):
        command.upgrade(alembic_config(url), revision)


def ping(engine: Engine) -> None:
    """Raise when the database cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def driver_time(dialect: Dialect) -> Callable[[datetime], Any]:
    """How a UTC time is handed to the driver by `BulkStatement` (what the column type does).

    SQLite keeps times as text in SQLAlchemy's format ("2026-11-26 06:00:00.000000", UTC);
    PostgreSQL reads RFC 3339 text into `timestamptz` (and JSON rows carry text anyway).
    """
    if dialect.name == "sqlite":
        return lambda value: as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")
    return lambda value: as_utc(value).isoformat()


class BulkStatement:
    """A Core statement run for many rows straight on the driver, for hot paths.

    SQLAlchemy converts every value of every row in Python (type processors, parameter
    dictionaries); for the ingestor's thousands of rows per batch that cost more than the
    database's own work. Here the statement is compiled once per dialect and the rows go
    to the driver as they are: tuples in the order of `keys`, holding what the driver
    takes (str, int, bool, None, and times through `driver_time`).
    """

    def __init__(
        self,
        statement: ClauseElement | Callable[[str], ClauseElement],
        keys: Sequence[str],
        *,
        rows: ClauseElement | None = None,
    ) -> None:
        # A statement, or a function of the dialect's name for dialect-specific SQL.
        self.statement = statement
        self.keys = tuple(keys)
        # PostgreSQL: the same work as ONE statement reading every row from one JSON
        # parameter (`rows_insert`, `rows_update`): one round trip instead of one per row.
        self.rows = rows
        self._compiled: dict[str, tuple[str, list[int] | None]] = {}
        self._rows_sql: str | None = None

    def _compile(self, dialect: Dialect) -> tuple[str, list[int] | None]:
        statement = self.statement
        if not isinstance(statement, ClauseElement):
            statement = statement(dialect.name)
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(self.keys))
        names = list(compiled.positiontup or []) if dialect.positional else None
        if names is not None and sorted(names) != sorted(self.keys):
            raise ValueError(f"statement parameters {names} are not the keys {self.keys}")
        # Positional drivers: where each placeholder's value sits in a row (None: as is).
        order = [self.keys.index(name) for name in names] if names is not None else None
        if order == list(range(len(self.keys))):
            order = None
        self._compiled[dialect.name] = (compiled.string, order)
        return compiled.string, order

    def _params(self, dialect: Dialect, order: list[int] | None, row: Sequence[Any]) -> Any:
        if not dialect.positional:
            return dict(zip(self.keys, row, strict=True))
        return tuple([row[index] for index in order]) if order is not None else tuple(row)

    def run(self, connection: Connection, row: Sequence[Any]) -> CursorResult[Any]:
        """Run the statement once with the values of `row`."""
        sql, order = self._compiled.get(connection.dialect.name) or self._compile(
            connection.dialect
        )
        return connection.exec_driver_sql(sql, self._params(connection.dialect, order, row))

    def fetch(self, connection: Connection, row: Sequence[Any]) -> Sequence[Any]:
        """Run a query once with the values of `row`; every result row."""
        return self.run(connection, row).fetchall()

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run the statement for every row (one executemany, or one JSON-rows statement)."""
        if not rows:
            return
        dialect = connection.dialect
        if self.rows is not None and dialect.name == "postgresql":
            if self._rows_sql is None:
                self._rows_sql = str(self.rows.compile(dialect=dialect))
            data = json.dumps(rows, default=_json_value, separators=(",", ":"))
            connection.exec_driver_sql(self._rows_sql, {"rows": data})
            return
        sql, order = self._compiled.get(dialect.name) or self._compile(dialect)
        params: Any
        if not dialect.positional:
            params = [dict(zip(self.keys, row, strict=True)) for row in rows]
        elif order is not None:
            params = [tuple([row[index] for index in order]) for row in rows]
        else:
            params = rows
        connection.exec_driver_sql(sql, params)


def in_list(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN (values)` with the values bound as ONE parameter (see `driver_list`).

    However long the list, the SQL stays the same and SQLAlchemy does not expand it value
    by value: SQLite reads a JSON array with json_each, PostgreSQL takes an array.
    """
    if dialect == "sqlite":
        each = func.json_each(bindparam(name))
        return column.in_(select(literal_column("value")).select_from(each).scalar_subquery())
    return column == any_(bindparam(name))


def driver_list(dialect: Dialect) -> Callable[[Sequence[Any]], Any]:
    """How `in_list`'s parameter is handed to the driver."""
    if dialect.name == "sqlite":
        return lambda values: json.dumps(list(values))
    return list


def _json_rows(table: Table, columns: dict[str, str]) -> Any:
    """PostgreSQL: the rows of one JSON parameter `rows` (arrays in `columns` order), typed.

    One text parameter is cheap to send; a list per column would be dumped value by value
    by the driver in Python.
    """
    element = func.json_array_elements(cast(bindparam("rows"), JSON)).table_valued("value")
    typed = []
    for index, (key, column) in enumerate(columns.items()):
        # Text stays unbounded here, so a value too long fails on the column, not truncated.
        kind = table.c[column].type
        value = element.c.value.op("->>")(literal_column(str(index)))
        text = isinstance(kind, String) or isinstance(getattr(kind, "impl", None), String)
        typed.append(cast(value, Text() if text else kind).label(key))
    return select(*typed).select_from(element)


def rows_insert(table: Table, keys: Sequence[str], *, skip_conflicts: bool) -> ClauseElement:
    """PostgreSQL: INSERT every row of the JSON parameter (for `BulkStatement(rows=)`)."""
    statement = postgresql.insert(table).from_select(
        list(keys), _json_rows(table, {key: key for key in keys})
    )
    return statement.on_conflict_do_nothing() if skip_conflicts else statement


def rows_update(table: Table, keys: Sequence[str], *, key: str = "_id") -> ClauseElement:
    """PostgreSQL: UPDATE the rows whose id is `key`, setting `keys` (then `key` last)."""
    rows = _json_rows(table, {**{name: name for name in keys}, key: "id"}).subquery()
    return (
        update(table).where(table.c.id == rows.c[key]).values({name: rows.c[name] for name in keys})
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value BulkStatement sends as JSON")
