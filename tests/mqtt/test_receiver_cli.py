"""`loa receiver` takes its password from the environment or a file, never only from ps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from api.cli import app
from api.cli_broadcast import (
    RECEIVER_PASSWORD_ENV,
    receiver_codecs,
    receiver_features,
    receiver_password,
)
from stations.mqtt import BrokerAddress
from tests.mqtt.conftest import World, wait_for

runner = CliRunner()


def test_password_from_file_then_environment_then_flag(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    env = {RECEIVER_PASSWORD_ENV: "from-env"}
    assert receiver_password(flag="from-flag", password_file=secret_file, environ=env) == (
        "from-file",
        None,
    )
    assert receiver_password(flag="from-flag", password_file=None, environ=env) == (
        "from-env",
        None,
    )
    secret, warning = receiver_password(flag="from-flag", password_file=None, environ={})
    assert secret == "from-flag"
    assert warning is not None and RECEIVER_PASSWORD_ENV in warning


def test_missing_or_empty_password_is_one_error_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != RECEIVER_PASSWORD_ENV}
    result = runner.invoke(
        app, ["receiver", "--id", "rx-1", "--broker", "mqtt://127.0.0.1:1"], env=env
    )
    assert result.exit_code == 1
    assert "no password given" in result.output
    empty = tmp_path / "empty"
    empty.write_text("")
    result = runner.invoke(
        app,
        [
            "receiver",
            "--id",
            "rx-1",
            "--broker",
            "mqtt://127.0.0.1:1",
            "--password-file",
            str(empty),
        ],
        env=env,
    )
    assert result.exit_code == 1
    assert "is empty" in result.output


def test_unknown_codecs_are_one_error_line() -> None:
    assert receiver_codecs(" MP3, opus ,mp3") == ["mp3", "opus"]
    result = runner.invoke(
        app,
        ["receiver", "--id", "rx-1", "--broker", "mqtt://127.0.0.1:1", "--codecs", "mp3,aac"],
        env={RECEIVER_PASSWORD_ENV: "secret"},
    )
    assert result.exit_code == 1
    assert "Unknown codec aac: use mp3, opus or mp3,opus" in result.output


def test_features_follow_the_relay_and_filler_flags() -> None:
    assert receiver_features(relay=True, filler=True) == ("relay", "relay_volume", "filler")
    assert receiver_features(relay=False, filler=True) == ("filler",)
    assert receiver_features(relay=True, filler=False) == ("relay", "relay_volume")
    assert receiver_features(relay=False, filler=False) == ()


def test_flag_still_works_with_a_warning() -> None:
    env = {k: v for k, v in os.environ.items() if k != RECEIVER_PASSWORD_ENV}
    # A broker URL of the wrong scheme stops the agent right after the password is read.
    result = runner.invoke(
        app, ["receiver", "--id", "rx-1", "--password", "pw", "--broker", "http://x"], env=env
    )
    assert result.exit_code == 1
    assert "--password shows the secret" in result.output
    assert "unsupported broker URL scheme" in result.output


def test_agent_logs_in_with_the_environment_password(
    world: World, embedded_broker: BrokerAddress, tmp_path: Path
) -> None:
    receiver_id, password = sorted(world.receivers.items())[0]
    states: list[dict[str, object]] = []
    watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="test-watcher")
    watcher.username_pw_set(embedded_broker.username, embedded_broker.password)
    watcher.on_message = lambda _c, _u, msg: states.append(json.loads(msg.payload))
    watcher.on_connect = lambda c, *_a: c.subscribe(f"loa/v1/receivers/{receiver_id}/state", 1)
    watcher.connect("127.0.0.1", embedded_broker.port)
    watcher.loop_start()
    env = {**os.environ, RECEIVER_PASSWORD_ENV: password}
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "receiver",
            "--id",
            receiver_id,
            "--broker",
            f"mqtt://127.0.0.1:{embedded_broker.port}",
            "--media-cache",
            str(tmp_path / "cache"),
            "--codecs",
            "mp3",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: any(s.get("online") is True for s in states), timeout=30)
        # A player that reads only MP3: the agent declares just that.
        assert [s.get("codecs") for s in states if s.get("online")] == [["mp3"]]
        # It relays streams and airs filler unless told not to.
        assert [s.get("features") for s in states if s.get("online")] == [
            ["relay", "relay_volume", "filler"]
        ]
        cmdline = Path(f"/proc/{agent.pid}/cmdline").read_bytes()
        assert password.encode() not in cmdline
    finally:
        agent.terminate()
        agent.wait(10)
        watcher.loop_stop()
        watcher.disconnect()
    assert agent.stderr is not None
    assert b"--password shows" not in agent.stderr.read()
