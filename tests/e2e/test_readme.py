"""The README's REST walkthrough, pasted whole into a shell, against a live `loa serve --demo`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
TEST_SECRET = "r" * 40

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the README uses curl")


def rest_block() -> str:
    """The shell block that follows "The same through REST" in the README, as written."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"The same through REST.*?```sh\n(.*?)```", text, re.S)
    assert found, "the README has no REST walkthrough"
    return found.group(1)


def json_documents(output: str) -> list[dict[str, Any]]:
    """The JSON documents curl printed one after the other."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(output, at)) < len(output):
        document, at = decoder.raw_decode(output, at)
        found.append(document)
    return found


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


@dataclass
class Served:
    """A running `loa serve --demo`: its port, the folder it runs in, its environment."""

    port: int
    folder: Path
    env: dict[str, str]
    pid: int


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    # A bound for a loaded 2-core machine (the demo renders its speech at start).
    deadline = time.monotonic() + 150
    while True:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "loa did not become ready:\n" + log.read_text()[-4000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


@contextmanager
def _running(folder: Path, *, web_workers: int = 0) -> Iterator[Served]:
    """`loa serve --demo --port P` in a fresh folder, as `make run PORT=P` starts it.

    With `web_workers`, the scaled-out shape of docs/operations.md: `loa serve --workers
    N` for the web face and `loa worker` beside it for the rest.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")} | {
        "LOA_SECRET_KEY": TEST_SECRET,
        "LOA_MQTT_EMBEDDED_PORT": str(free_port()),
        # Speech from eSpeak NG: no test reaches Google's service.
        "LOA_TTS_ONLINE": "false",
        "LOA_TTS_ENGINE_POLICY": '{"vi": ["espeak"]}',
        "LOA_RENDER_POLL_SECONDS": "0.2",
        "LOA_SCHEDULER_INTERVAL_SECONDS": "0.5",
    }
    loa = Path(sys.executable).with_name("loa")
    command = [str(loa), "serve", "--demo", "--port", str(port)]
    if web_workers:
        command += ["--workers", str(web_workers)]
        # The worker writes the media addresses into its commands: it must be told the
        # web face's address (docs/operations.md, "Scaling out").
        env["LOA_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    started: list[tuple[subprocess.Popen[bytes], Any]] = []
    try:
        log = (folder / "serve.log").open("w")
        process = subprocess.Popen(
            command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT
        )
        started.append((process, log))
        if web_workers:
            # The web face alone is not ready until the worker's broker listens.
            worker_log = (folder / "worker.log").open("w")
            worker = subprocess.Popen(
                [str(loa), "worker"],
                env=env,
                cwd=folder,
                stdout=worker_log,
                stderr=subprocess.STDOUT,
            )
            started.append((worker, worker_log))
        _wait_ready(process, port, folder / "serve.log")
        yield Served(port, folder, env, process.pid)
    finally:
        for running, output in started:
            running.terminate()
            running.wait(30)
            output.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The whole service in one process, as the README starts it."""
    with _running(tmp_path) as service:
        yield service


def test_the_rest_walkthrough_works_pasted_as_one_block(served: Served) -> None:
    the_rest_walkthrough_works(served)


def the_rest_walkthrough_works(served: Served) -> None:
    """The README's REST block, pasted whole, and what the admin sees afterwards."""
    port, folder = served.port, served.folder
    shell = subprocess.run(
        ["bash", "-c", rest_block()],
        cwd=folder,
        env={**os.environ, "PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode == 0, shell.stdout + shell.stderr
    answers = json_documents(shell.stdout)
    # Approving may first answer 409 while the audio renders; curl then asks again.
    waits = [a for a in answers if a.get("reason") == "bulletin.audio_pending"]
    assert all("audio" in a["detail"] for a in waits)
    bulletin, submitted, approved, broadcast, status = [a for a in answers if a not in waits]
    assert bulletin["status"] == "draft"
    assert submitted["status"] == "submitted"
    assert approved["status"] == "approved"
    assert broadcast["state"] == "scheduled"
    assert len(broadcast["occurrences"]) == 20
    first = datetime.fromisoformat(broadcast["occurrences"][0]["air_at"])
    assert first > datetime.now(UTC)
    assert status["broadcast_id"] == broadcast["id"]

    # What the admin sees afterwards, signed in with the login the demo printed.
    base = f"http://127.0.0.1:{port}/api/v1"
    login = json.loads((folder / "var" / "demo-admin.txt").read_text(encoding="utf-8"))
    token = httpx.post(f"{base}/auth/token", data=login).json()["access_token"]
    shown = httpx.get(
        f"{base}/broadcasts/{broadcast['id']}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert shown["bulletin_ids"] == [bulletin["id"]] and shown["area_codes"] == ["02680"]


def test_the_demo_reaches_every_receiver_with_loa_simulate(served: Served) -> None:
    the_demo_reaches_every_receiver(served)


def the_demo_reaches_every_receiver(served: Served) -> None:
    """Steps 4-5: `loa simulate --station-id S` airs on the demo's own receivers, the
    Pha Long operator confirms the wired station, and the broadcast reaches 100 %."""
    port, folder = served.port, served.folder
    base = f"http://127.0.0.1:{port}/api/v1"
    login = json.loads((folder / "var" / "demo-admin.txt").read_text(encoding="utf-8"))

    def headers(username: str) -> dict[str, str]:
        form = {"username": username, "password": login["password"]}
        token = httpx.post(f"{base}/auth/token", data=form).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    editor, approver, operator = (
        headers(u) for u in ("bientap.laocai", "duyet.laocai", "vanhanh.phalong")
    )
    (y_ty,) = httpx.get(f"{base}/stations", headers=editor, params={"area_code": "02680"}).json()[
        "items"
    ]
    (pha_long,) = httpx.get(
        f"{base}/stations", headers=editor, params={"area_code": "02743"}
    ).json()["items"]
    bulletin = httpx.post(
        f"{base}/bulletins",
        headers=editor,
        json={
            "title": "Lịch tiêm phòng",
            "translations": [{"language": "vi", "text": "Sáng mai tiêm phòng cho trâu bò."}],
        },
    ).json()
    httpx.post(f"{base}/bulletins/{bulletin['id']}/submit", headers=editor).raise_for_status()
    deadline = time.monotonic() + 60
    while (
        approved := httpx.post(f"{base}/bulletins/{bulletin['id']}/approve", headers=approver)
    ).status_code == 409:
        assert time.monotonic() < deadline, approved.text
        time.sleep(float(approved.headers["Retry-After"]) / 10)
    approved.raise_for_status()

    simulate = subprocess.Popen(
        [str(Path(sys.executable).with_name("loa")), "simulate", "--station-id", str(y_ty["id"])],
        cwd=folder,
        env=served.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert simulate.stdout is not None
        said = simulate.stdout.readline()
        assert f"3 receivers of station {y_ty['id']} (3 of them the demo's own) online" in said
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
        broadcast = httpx.post(
            f"{base}/broadcasts",
            headers=editor,
            json={
                "bulletin_ids": [bulletin["id"]],
                "area_codes": ["02680", "02743"],
                "starts_at": soon.isoformat(),
            },
        ).json()
        deadline = time.monotonic() + 90
        while True:
            status = httpx.get(f"{base}/broadcasts/{broadcast['id']}/status", headers=editor).json()
            if status["counts"].get("completed") == 3:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        # The wired station has no receiver: its operator confirms it aired.
        confirmed = httpx.post(
            f"{base}/broadcasts/{broadcast['id']}/confirmations",
            headers=operator,
            json={"station_id": pha_long["id"], "aired_at": soon.isoformat()},
        )
        assert confirmed.status_code == 201, confirmed.text
        status = httpx.get(f"{base}/broadcasts/{broadcast['id']}/status", headers=editor).json()
    finally:
        simulate.terminate()
        simulate.wait(30)
    assert status["total"] == 4 and status["aired"] == 4  # Y Tý's three clusters, Pha Long
    assert status["counts"] == {"completed": 3, "confirmed": 1}
    shown = httpx.get(f"{base}/broadcasts/{broadcast['id']}", headers=editor).json()
    assert shown["state"] == "done"


def _children(pid: int) -> list[str]:
    """The command lines of the processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return found


def test_the_story_runs_with_web_processes_and_a_worker_apart(tmp_path: Path) -> None:
    """`loa serve --workers 2` serves, `loa worker` renders, dispatches and ingests."""
    with _running(tmp_path, web_workers=2) as served:
        web = [c for c in _children(served.pid) if "resource_tracker" not in c]
        assert len(web) == 2, web
        the_rest_walkthrough_works(served)
        the_demo_reaches_every_receiver(served)
    said = (tmp_path / "serve.log").read_text()
    assert "in 2 processes" in said and "loa worker" in said
