"""How long registering a province's receivers takes: one CSV file against one by one.

A province of 99 communes (one station each) and 1,650 receivers is registered with
`POST /api/v1/receivers/bulk` (in process, through the whole app). Beside it, in the same
run and on the same database:

- the old path, on a sample: one transaction per receiver whose secret is hashed with
  argon2id at its production cost, as every receiver was before (extrapolated to 1,650);
- `POST /stations/{id}/receivers` one by one today, on a sample (extrapolated);
- `loa mqtt sync` writing mosquitto's password file for every receiver afterwards (it
  copies the stored hashes: no receiver is hashed again).

    .venv/bin/python bench/bench_bulk.py [--receivers 1650] [--communes 99] [--sample 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from api.main import create_app  # noqa: E402
from broadcast.broker.mosquitto import sync_files  # noqa: E402
from broadcast.core.db import make_engine, transaction, upgrade  # noqa: E402
from broadcast.core.settings import Settings  # noqa: E402
from broadcast.people.models import Role  # noqa: E402
from broadcast.people.service import create_user, issue_access_token  # noqa: E402
from stations import registry  # noqa: E402
from stations.areas import Scope, create_area  # noqa: E402
from stations.models import AreaLevel, Receiver, StationKind  # noqa: E402
from stations.security import new_secret  # noqa: E402

SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def province_csv(communes: int, receivers: int) -> str:
    lines = ["area_code,station_name,station_kind,languages,receiver_name,location"]
    for n in range(receivers):
        c = n % communes
        lines.append(f"C{c:05d},Đài truyền thanh xã {c},ip,vi hmn,Cụm loa {n},Thôn {n % 17}")
    return "\n".join(lines) + "\n"


def one_run(root: Path, communes: int, receivers: int, sample: int) -> dict[str, float]:
    url = f"sqlite:///{root / 'bulk.db'}"
    upgrade(url)
    engine = make_engine(url)
    scope = Scope.everything()
    with transaction(engine) as ses:
        registry.ensure_default_languages(session=ses)
        create_area(
            session=ses,
            code="P1",
            name="Tỉnh",
            level=AreaLevel.province,
            parent_code=None,
            scope=scope,
        )
        for c in range(communes):
            create_area(
                session=ses,
                code=f"C{c:05d}",
                name=f"Xã {c}",
                level=AreaLevel.commune,
                parent_code="P1",
                scope=scope,
            )
        # Stations for the one-by-one samples, apart from the province's.
        old = registry.create_station(
            session=ses,
            area_code="C00000",
            name="Mẫu cũ",
            kind=StationKind.ip,
            languages=["vi"],
            scope=scope,
        )
        rest = registry.create_station(
            session=ses,
            area_code="C00001",
            name="Mẫu REST",
            kind=StationKind.ip,
            languages=["vi"],
            scope=scope,
        )
        admin = create_user(
            session=ses,
            username="bench-admin",
            password="bench-password",
            role=Role.admin,
            area_code=None,
            scope=scope,
        )
    token = issue_access_token(user=admin, secret_key=SECRET, minutes=60)
    headers = {"Authorization": f"Bearer {token}"}
    settings = Settings(
        env="test",
        secret_key=SECRET,
        database_url=url,
        media_dir=root / "media",
        mqtt_password="bench-service-password",
    )
    figures: dict[str, float] = {}
    # The old path: argon2id (production cost) and one transaction per receiver.
    started = time.perf_counter()
    for n in range(sample):
        with transaction(engine) as ses:
            registry.create_receiver(
                session=ses, station=old, name=f"Cũ {n}", password=new_secret()
            )
    figures["old_per_receiver"] = (time.perf_counter() - started) / sample
    with TestClient(create_app(settings, engine=engine)) as client:
        started = time.perf_counter()
        for n in range(sample):
            answer = client.post(
                f"/api/v1/stations/{rest.id}/receivers",
                json={"name": f"REST {n}"},
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
        figures["rest_per_receiver"] = (time.perf_counter() - started) / sample
        body = province_csv(communes, receivers).encode()
        started = time.perf_counter()
        answer = client.post(
            "/api/v1/receivers/bulk",
            content=body,
            headers={**headers, "Content-Type": "text/csv"},
        )
        figures["bulk"] = time.perf_counter() - started
        assert answer.status_code == 201, answer.text[:500]
        assert answer.json()["receivers_created"] == receivers
    with Session(engine) as ses:
        total = ses.exec(select(func.count()).select_from(Receiver)).one()
    assert total == receivers + 2 * sample
    started = time.perf_counter()
    report = sync_files(engine=engine, settings=settings, directory=root / "mosquitto", owner=None)
    figures["sync"] = time.perf_counter() - started
    assert report.receivers == total
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--receivers", type=int, default=1650)
    parser.add_argument("--communes", type=int, default=99)
    parser.add_argument("--sample", type=int, default=20, help="receivers per one-by-one path")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            figures = one_run(Path(tmp), args.communes, args.receivers, args.sample)
        runs.append(figures)
        n = args.receivers
        old, rest = figures["old_per_receiver"], figures["rest_per_receiver"]
        print(
            f"run {run + 1}: bulk {n} receivers {figures['bulk']:.2f} s | old one by one "
            f"{old * 1000:.0f} ms/receiver (~{old * n:.0f} s for {n}) | REST one by one now "
            f"{rest * 1000:.0f} ms/receiver (~{rest * n:.1f} s) | mqtt sync {figures['sync']:.2f} s"
        )
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    n = args.receivers
    print(
        f"median of {args.repeat}: bulk {med['bulk']:.2f} s for {n} receivers over "
        f"{args.communes} communes; old path {med['old_per_receiver'] * n:.0f} s "
        f"({med['old_per_receiver'] * n / med['bulk']:.0f}x); REST one by one now "
        f"{med['rest_per_receiver'] * n:.1f} s; mqtt sync {med['sync']:.2f} s"
    )


if __name__ == "__main__":
    main()
