"""One leader among the workers of a database: taken, kept, handed over when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from broadcast.core.settings import Settings
from broadcast.runtime.background import start_background
from broadcast.runtime.leader import Leadership

CHILD = """
import sys, time
from broadcast.runtime.leader import Leadership
lead = Leadership(sys.argv[1], name="child")
print("leads" if lead.ensure() else "stands by", flush=True)
time.sleep(60)
"""


def test_one_process_leads_and_the_other_takes_over_when_it_steps_down(
    database_url: str,
) -> None:
    first, second = Leadership(database_url, name="a"), Leadership(database_url, name="b")
    try:
        assert first.ensure() is True
        assert second.ensure() is False
        assert first.ensure() is True  # it keeps the lead pass after pass
        assert second.ensure() is False
        first.release()
        assert second.ensure() is True
        assert first.ensure() is False
    finally:
        first.release()
        second.release()


def test_a_killed_leader_hands_over_at_once(database_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, database_url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    here = Leadership(database_url, name="here")
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "leads"
        assert here.ensure() is False
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        # PostgreSQL ends a dead client's session (and its lock) when the socket closes.
        deadline = time.monotonic() + 10
        while not here.ensure():
            assert time.monotonic() < deadline, "the lock of the killed leader was not freed"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait(10)
        here.release()


def test_a_worker_instance_beyond_the_configured_count_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    from api.cli import app

    monkeypatch.setenv("LOA_DATABASE_URL", database_url)
    monkeypatch.setenv("LOA_WORKER_INSTANCES", "2")
    result = CliRunner().invoke(app, ["worker", "--instance", "3"])
    assert result.exit_code != 0
    assert "LOA_WORKER_INSTANCE (3) must not exceed LOA_WORKER_INSTANCES (2)" in result.output


def test_several_workers_need_an_external_broker(settings: Settings) -> None:
    from broadcast.core.db import make_engine

    settings = settings.model_copy(update={"worker_instances": 2})
    engine = make_engine(settings.database_url)
    try:
        with pytest.raises(ValueError, match="need an external broker"):
            start_background(settings, engine)
    finally:
        engine.dispose()
