"""What the dispatch and ingest benchmarks share: a bench database, a broker, a programme."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from broadcast.broker.mosquitto import mosquitto_conf, sync_files  # noqa: E402
from broadcast.bulletins.models import Bulletin, BulletinStatus  # noqa: E402
from broadcast.core.db import make_engine, transaction, upgrade  # noqa: E402
from broadcast.core.settings import Settings  # noqa: E402
from broadcast.people.models import Role, User  # noqa: E402
from broadcast.schedule.service import create_broadcast  # noqa: E402
from stations.areas import Scope, create_area  # noqa: E402
from stations.broker import EmbeddedBroker, StaticAuthority  # noqa: E402
from stations.models import AreaLevel, StationKind  # noqa: E402
from stations.protocol import Priority  # noqa: E402
from stations.registry import create_station, ensure_default_languages  # noqa: E402
from stations.security import mosquitto_hash  # noqa: E402
from stations.simulate import SimReceiver  # noqa: E402
from stations.timeutil import utcnow  # noqa: E402

SERVICE_USER, SERVICE_PASSWORD = "loa-server", "bench-service-password"
MOSQUITTO = Path("/usr/sbin/mosquitto")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Programme:
    """One 3-minute item: the bench measures transport and storage, not TTS."""

    blocked = False
    overflow_ids: tuple[int, ...] = ()
    warnings: tuple[Any, ...] = ()

    def __init__(self, url: str, sha: str, size: int, bulletin_id: int = 1) -> None:
        self.url, self.sha, self.size = url, sha, size
        self.version = "bench-" + sha[:16]
        self.total_duration_ms = 180_000
        self.bulletin_ids = (bulletin_id,)

    def manifest(self, _media_url: Callable[[str], str]) -> dict[str, Any]:
        item = {
            "url": self.url,
            "sha256": self.sha,
            "bytes": self.size,
            "duration_ms": 180_000,
            "language": "vi",
            "title": "Bản tin thử",
        }
        return {"items": [item]}


def setup_database(url: str, n: int) -> tuple[list[SimReceiver], int]:
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as ses:
        ensure_default_languages(session=ses)
        everything = Scope.everything()
        province = create_area(
            session=ses,
            code="10",
            name="Tỉnh",
            level=AreaLevel.province,
            parent_code=None,
            scope=everything,
        )
        create_area(
            session=ses,
            code="c1",
            name="Xã",
            level=AreaLevel.commune,
            parent_code="10",
            scope=everything,
        )
        station = create_station(
            session=ses,
            area_code="c1",
            name="Đài",
            kind=StationKind.ip,
            languages=["vi"],
            scope=everything,
        )
        user = User(username="bench", password_hash="x", role=Role.admin)
        ses.add(user)
        ses.flush()
        bulletin = Bulletin(
            title="Bench",
            status=BulletinStatus.approved,
            author_id=user.id or 0,
            area_id=province.id or 0,
        )
        ses.add(bulletin)
        ses.flush()
        specs = [SimReceiver(f"rx-{i:05d}", f"pw-{i:05d}-{os.urandom(4).hex()}") for i in range(n)]
        # argon2 for 5,000 receivers would take minutes: the bench uses mosquitto's hash
        # (what mosquitto checks) and a placeholder argon2 column.
        rows = [
            {
                "id": s.receiver_id,
                "station_id": station.id,
                "name": s.receiver_id,
                "secret_hash": "bench",
                "mqtt_hash": mosquitto_hash(s.password),
                "active": True,
                "online": False,
                "created_at": utcnow(),
            }
            for s in specs
        ]
        ses.connection().execute(insert(SQLModel.metadata.tables["receiver"]), rows)
        return specs, bulletin.id or 0


def start_broker(
    kind: str,
    settings: Settings,
    url: str,
    specs: Sequence[SimReceiver],
    work: Path,
    prepare: Callable[[Path], None] | None = None,
):
    """A broker on a free port: (port, stop). `prepare` may add to mosquitto's files."""
    if kind == "mosquitto":
        directory = work / "mosquitto"
        directory.mkdir(mode=0o755)
        if os.geteuid() == 0:
            shutil.chown(directory, "mosquitto")
        sync_files(engine=make_engine(url), settings=settings, directory=directory)
        if prepare is not None:
            prepare(directory)
        port = free_port()
        conf = directory / "mosquitto.conf"
        conf.write_text(
            mosquitto_conf(directory=directory, port=port).replace(
                "persistence true", "persistence false"
            )
            + os.environ.get("LOA_BENCH_MOSQUITTO_EXTRA", "").replace("DIR", str(directory))
        )
        conf.chmod(0o644)
        proc = subprocess.Popen([str(MOSQUITTO), "-c", str(conf)], stderr=subprocess.DEVNULL)
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        return port, lambda: (proc.terminate(), proc.wait(10))
    port = free_port()
    authority = StaticAuthority(
        service_username=SERVICE_USER,
        service_password=SERVICE_PASSWORD,
        receivers={s.receiver_id: s.password for s in specs},
    )
    broker = EmbeddedBroker("127.0.0.1", port, authority)
    broker.start()
    return port, broker.stop


def schedule_now(engine: Any, settings: Settings, bulletin_id: int) -> int:
    """A broadcast of the bench bulletin to the bench commune, airing now; its id."""
    with transaction(engine) as ses:
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[bulletin_id],
            area_codes=["c1"],
            starts_at=utcnow(),
            priority=Priority.normal,
        )
        return broadcast.id or 0


def positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
