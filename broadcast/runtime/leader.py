"""One leader among the worker processes of a database.

Several `loa worker` processes may share a database (docs/operations.md, "Scaling
out"). Every one of them ingests acknowledgements and resends to receivers that come
online; only the leader schedules, dispatches, publishes, cancels, applies deadlines and
reads CAP feeds, so each of those runs once. The others stand by and try to take the
lead on every pass: when the leader dies its lock goes with it (PostgreSQL ends the
session of a closed connection, the kernel drops the file lock of a dead process), so
a standby takes over within one LOA_SCHEDULER_INTERVAL_SECONDS.

- PostgreSQL: a session advisory lock held on a connection of its own;
  `pg_try_advisory_lock` never waits. Before every pass the leader checks that
  connection still answers, and steps down when it does not (its lock is gone then).
- SQLite: an exclusive `flock` on `<database>.leader-lock` (processes on one machine).
"""

from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the leader ("loaL" in ASCII); migrations use another.
LEADER_LOCK_KEY = 0x6C6F614C


class Leadership:
    """Holds, or tries to take, the leader lock of the database at `url`."""

    def __init__(self, url: str, *, name: str = "") -> None:
        self.url = url
        self.name = name or "worker"
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._connection: Connection | None = None
        self._always = False
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if not database or database == ":memory:":
                self._always = True  # one process can reach an in-memory database
            self._path = Path(f"{database}.leader-lock")
        elif parsed.get_backend_name() == "postgresql":
            self._engine = create_engine(url, pool_size=1, max_overflow=0)
        else:
            self._always = True
        self.held = self._always

    def ensure(self) -> bool:
        """True when this process leads now: keeps the lock, or takes it when free."""
        with self._lock:
            was = self.held
            self.held = self._always or (self._still_held() if was else self._acquire())
            if self.held != was:
                if self.held:
                    log.info("%s leads: it schedules, dispatches and applies deadlines", self.name)
                else:
                    log.warning("%s lost the lead; standing by", self.name)
            return self.held

    def release(self) -> None:
        """Give up the lead (at stop), so a standby takes over at once."""
        with self._lock:
            self._drop()
            self.held = self._always

    # --- SQLite ------------------------------------------------------------------

    def _acquire(self) -> bool:
        if hasattr(self, "_path"):
            return self._acquire_file()
        return self._acquire_advisory()

    def _acquire_file(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    # --- PostgreSQL --------------------------------------------------------------

    def _acquire_advisory(self) -> bool:
        try:
            connection = self._engine.connect()
        except Exception:
            log.exception("%s cannot reach the database to take the lead", self.name)
            return False
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
            ).scalar()
            connection.commit()
        except Exception:
            log.exception("%s could not ask for the lead", self.name)
            connection.invalidate()
            connection.close()
            return False
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def _still_held(self) -> bool:
        if self._file is not None:
            return True  # a flock lasts while this process holds the file open
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:
            log.exception("%s lost its database session, and with it the lead", self.name)
            self._connection.invalidate()
            self._drop()
            return False

    def _drop(self) -> None:
        if self._file is not None:
            self._file.close()  # releases the flock
            self._file = None
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY}
                )
                self._connection.commit()
            except Exception:
                log.info("%s: the lead lock went with its session", self.name)
            finally:
                self._connection.close()
                self._connection = None
