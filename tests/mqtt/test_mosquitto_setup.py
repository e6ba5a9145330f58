"""Debian's mosquitto 2 starts from `loa mqtt sync --print-conf` as docs/operations.md says.

Started as root, mosquitto drops to the conf's `user` before writing its pid file and
persistence; the command prepares the folder that user writes them in.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import paho.mqtt.client as pahoc
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine
from sqlmodel import col, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from stations import registry
from stations.models import Station
from tests.mqtt.conftest import MOSQUITTO, SERVICE_PASSWORD, SERVICE_USER, wait_for
from tests.utils import free_port

pytestmark = pytest.mark.mosquitto

LOA = Path(sys.executable).with_name("loa")


@dataclass(frozen=True)
class Layout:
    """The operator's files, as /etc/mosquitto/loa.conf, /etc/mosquitto/loa/, /var/lib/..."""

    conf: Path
    directory: Path
    state: Path


@pytest.fixture
def layout() -> Iterator[Layout]:
    """Folders right under /tmp: pytest's own are closed to the user mosquitto drops to."""
    if not MOSQUITTO.exists():
        pytest.skip("mosquitto is not installed")
    base = Path("/tmp") / f"loa-mosq-setup-{os.getpid()}-{free_port()}"
    base.mkdir(mode=0o755)
    yield Layout(base / "loa.conf", base / "loa", base / "lib" / "loa")
    shutil.rmtree(base, ignore_errors=True)


def run_loa(
    settings: Settings, *args: str, stdout: int | IO[str] = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    """Run the installed `loa` command with the test database and service password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env.update(
        LOA_ENV="test",
        LOA_SECRET_KEY=settings.secret_key,
        LOA_DATABASE_URL=settings.database_url,
        LOA_MQTT_USERNAME=SERVICE_USER,
        LOA_MQTT_PASSWORD=SERVICE_PASSWORD,
    )
    return subprocess.run(
        [str(LOA), *args], env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60
    )


def loa(
    settings: Settings, *args: str, stdout: int | IO[str] = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    """Run `loa`, which must succeed."""
    done = run_loa(settings, *args, stdout=stdout)
    assert done.returncode == 0, done.stderr
    return done


def connack(port: int, username: str, password: str) -> ReasonCode:
    """Connect with paho (MQTT 5, client id = login) and return the broker's answer."""
    client = pahoc.Client(CallbackAPIVersion.VERSION2, client_id=username, protocol=pahoc.MQTTv5)
    client.username_pw_set(username, password)
    answers: list[ReasonCode] = []
    answered = threading.Event()

    def on_connect(_c: pahoc.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        answers.append(rc)
        answered.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert answered.wait(10), f"no CONNACK for {username}"
    finally:
        client.disconnect()
        client.loop_stop()
    return answers[0]


def alive(pid: int) -> bool:
    """Whether process `pid` still runs (and is not a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_mosquitto_starts_from_the_printed_conf_and_enforces_synced_logins(
    engine: Engine, mqtt_settings: Settings, demo: dict[str, str], layout: Layout
) -> None:
    port = free_port()
    # loa mqtt sync --dir /etc/mosquitto/loa --print-conf 1883 > /etc/mosquitto/loa.conf
    with layout.conf.open("w") as conf:
        synced = loa(
            mqtt_settings,
            *("mqtt", "sync", "--dir", str(layout.directory)),
            *("--state-dir", str(layout.state), "--print-conf", str(port)),
            stdout=conf,
        )
    assert f"{len(demo)} receivers written" in synced.stderr
    text = layout.conf.read_text()
    assert text.startswith(f"listener {port} 127.0.0.1\n")
    assert f"pid_file {layout.state / 'mosquitto.pid'}\n" in text
    assert "user mosquitto\n" in text

    # mosquitto -c /etc/mosquitto/loa.conf -d
    started = subprocess.run(
        [str(MOSQUITTO), "-c", str(layout.conf), "-d"], capture_output=True, text=True, timeout=20
    )
    assert started.returncode == 0, started.stderr
    pid_file = layout.state / "mosquitto.pid"
    pid = 0
    try:
        pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip()))
        assert alive(pid)
        if os.geteuid() == 0:
            uids = Path(f"/proc/{pid}/status").read_text().split("\nUid:\t")[1].split()
            assert int(uids[0]) == pwd.getpwnam("mosquitto").pw_uid  # privileges dropped

        receiver, password = sorted(demo.items())[0]
        wait_for(lambda: _accepts(port, receiver, password))
        assert connack(port, SERVICE_USER, SERVICE_PASSWORD).value == 0
        refused = connack(port, receiver, password + "-sai")
        assert refused.is_failure and refused.getName() in {
            "Bad user name or password",
            "Not authorized",
        }

        # A receiver added later: `loa mqtt sync --pid-file ...` makes mosquitto re-read.
        with transaction(engine) as ses:
            station = ses.exec(select(Station).order_by(col(Station.id))).first()
            assert station is not None
            added = registry.create_receiver(session=ses, station=station, name="Loa mới")
        assert connack(port, added.receiver.id, added.password).is_failure
        resynced = loa(
            mqtt_settings,
            *("mqtt", "sync", "--dir", str(layout.directory), "--pid-file", str(pid_file)),
        )
        assert "mosquitto reloaded" in resynced.stdout
        assert alive(pid)
        wait_for(lambda: _accepts(port, added.receiver.id, added.password))
    finally:
        if pid and alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
    assert not alive(pid)
    # Its sessions and queued messages were saved where the dropped user may write.
    assert (layout.state / "mosquitto.db").exists()


def _accepts(port: int, username: str, password: str) -> bool:
    try:
        return connack(port, username, password).value == 0
    except OSError:
        return False  # not listening yet


def test_print_conf_leaves_a_foreign_folder_alone(
    mqtt_settings: Settings, demo: dict[str, str], layout: Layout
) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root hands a folder over to the mosquitto user")
    layout.state.mkdir(parents=True)
    (layout.state / "someone-elses").write_text("")
    done = run_loa(
        mqtt_settings,
        *("mqtt", "sync", "--dir", str(layout.directory)),
        *("--state-dir", str(layout.state), "--print-conf", "1883"),
    )
    assert done.returncode != 0
    assert "is not empty" in done.stderr
    assert layout.state.stat().st_uid == 0
