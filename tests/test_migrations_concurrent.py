"""Processes that start together on a new database migrate it once, in turns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text


def test_three_processes_migrating_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loa.db'}"
    if os.environ.get("LOA_TEST_DATABASE_URL", "").startswith("postgresql"):
        url = os.environ["LOA_TEST_DATABASE_URL"]
    loa = Path(sys.executable).with_name("loa")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env["LOA_DATABASE_URL"] = url
    runs = [
        subprocess.Popen(
            [str(loa), "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], "\n".join(outputs)
    engine = create_engine(url)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert len(versions) == 1
