"""How fast the reads of a province answer: p50/p95 per route, full size beside a tenth.

    .venv/bin/python bench/bench_api.py [--communes 99] [--receivers 1650] [--days 30]
        [--clients 3] [--requests 30] [--workers 1] [--database-url postgresql+psycopg://...]

A synthetic province (broadcast/scale.py: communes with one IP station each, their
receivers, one broadcast per commune airing at 06:00 and 17:00 for `--days` days, the
first `--aired-days` of them aired with a delivery and as-run events per receiver, and one
province-wide airing to every receiver) is written with set-based inserts into a fresh
SQLite file (or the EMPTY PostgreSQL database of `--database-url`). The real app is served
by uvicorn in a child process, and `--clients` concurrent httpx clients ask each route
`--requests` times:

  coverage month (JSON, XLSX), console home, broadcast list (limit=50), status of the
  province-wide airing (first page), a station's iCalendar feed.

The baseline, in the same run and the same database: the same routes on a province a
tenth the size, measured first (before the full-size province is added beside it).
Each route's p95 at full size is marked against its target.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from common import free_port, positive  # noqa: E402
from sqlalchemy import inspect  # noqa: E402

from broadcast.core.db import make_engine, transaction, upgrade  # noqa: E402
from broadcast.core.settings import Settings  # noqa: E402
from broadcast.people.models import Role  # noqa: E402
from broadcast.people.service import create_user, issue_access_token  # noqa: E402
from broadcast.scale import Province, build_province  # noqa: E402
from stations.areas import Scope  # noqa: E402

SECRET = "bench-api-secret-key-0123456789abcdef0123456789"
PASSWORD = "bench-api-password-2026"
# Targets at full size, p95 in ms.
TARGETS = {
    "coverage month json": 1000,
    "coverage month xlsx": 1000,
    "console home": 300,
    "broadcast list limit=50": 100,
    "status, first page": 200,
    "station .ics": None,
}


def routes(p: Province) -> dict[str, str]:
    period = f"from={p.first_day}&to={p.last_day}"
    return {
        "coverage month json": f"/api/v1/reports/coverage?{period}",
        "coverage month xlsx": f"/api/v1/reports/coverage?{period}&format=xlsx",
        "console home": "/",
        "broadcast list limit=50": "/api/v1/broadcasts?limit=50",
        "status, first page": f"/api/v1/broadcasts/{p.province_broadcast_id}/status",
        "station .ics": f"/api/v1/stations/{p.station_id}/schedule.ics",
    }


# The child process: the app of ROOT (this checkout, or --app-root) on 127.0.0.1:PORT.
SERVE = """
import os, sys
url, port, root, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
workers = int(sys.argv[5])
sys.path.insert(0, root)
import uvicorn
if workers > 1:
    # The production web face (`loa serve --workers N`): N processes, nothing else in them.
    os.environ.update(
        LOA_ENV="test", LOA_SECRET_KEY=secret, LOA_DATABASE_URL=url, LOA_TTS_ONLINE="false"
    )
    os.environ["PYTHONPATH"] = root + os.pathsep + os.environ.get("PYTHONPATH", "")
    uvicorn.run("api.main:web_app", factory=True, host="127.0.0.1", port=port,
                workers=workers, log_level="warning", lifespan="off")
else:
    import api.main as main
    from broadcast.core.settings import Settings
    settings = Settings(env="test", secret_key=secret, database_url=url, tts_online=False)
    app = main.create_app(settings)
    getattr(main, "settle_heap", lambda: None)()  # as `loa serve` does (older checkouts: none)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
"""


@dataclass
class Clients:
    base: str
    token: str
    cookies: httpx.Cookies

    def get(self, client: httpx.Client, path: str) -> httpx.Response:
        if path.startswith("/api/"):
            return client.get(self.base + path, headers={"Authorization": f"Bearer {self.token}"})
        return client.get(self.base + path, cookies=self.cookies)


def sign_in(base: str, username: str) -> httpx.Cookies:
    """The console's session cookie, through the login form."""
    with httpx.Client(base_url=base) as client:
        page = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert csrf, "no CSRF token on the login page"
        answer = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf[1], "next": "/"},
        )
        assert answer.status_code in (200, 303), answer.text[:200]
        return client.cookies


def measure(clients: Clients, path: str, count: int, concurrency: int) -> tuple[float, float, int]:
    """(p50 ms, p95 ms, bytes of one answer) of `count` GETs by `concurrency` clients."""
    times: list[float] = []
    failures: list[str] = []
    size = [0]
    lock = threading.Lock()
    todo = iter(range(count))

    def work() -> None:
        with httpx.Client(timeout=120) as client:
            clients.get(client, path)  # each client's connection is open before timing
            while True:
                with lock:
                    if next(todo, None) is None:
                        return
                t0 = time.perf_counter()
                answer = clients.get(client, path)
                elapsed = time.perf_counter() - t0
                with lock:
                    if answer.status_code != 200:
                        failures.append(f"{path}: HTTP {answer.status_code} {answer.text[:200]}")
                        return
                    times.append(elapsed * 1000)
                    size[0] = len(answer.content)

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures or not times:
        raise SystemExit(failures[0] if failures else f"{path}: no answer")
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, size[0]


def build(url: str, settings: Settings, code: str, scale: dict[str, int]) -> Province:
    engine = make_engine(url)
    t0 = time.perf_counter()
    with transaction(engine) as ses:
        from sqlmodel import select

        from broadcast.people.models import User

        admin = ses.exec(select(User).where(User.username == "admin")).one()
        province = build_province(
            session=ses, settings=settings, author_id=admin.id or 0, code=code, **scale
        )
    engine.dispose()
    print(
        f"  province {code}: {scale['communes']} communes, {province.receivers:,} receivers, "
        f"{province.airings:,} airings, {province.deliveries:,} deliveries, "
        f"{province.events:,} events, written in {time.perf_counter() - t0:.1f}s"
    )
    return province


def run_all(
    clients: Clients, p: Province, requests: int, concurrency: int
) -> dict[str, tuple[float, float, int]]:
    out = {}
    for name, path in routes(p).items():
        out[name] = measure(clients, path, requests, concurrency)
        print(f"    {name}: p50 {out[name][0]:.0f} ms, p95 {out[name][1]:.0f} ms", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=positive, default=99)
    parser.add_argument("--receivers", type=positive, default=1650)
    parser.add_argument("--days", type=positive, default=30, help="days of airings")
    parser.add_argument("--aired-days", type=int, default=20, help="of them, days already aired")
    parser.add_argument("--clients", type=positive, default=3, help="concurrent clients")
    parser.add_argument("--requests", type=positive, default=30, help="GETs per route")
    parser.add_argument(
        "--workers",
        type=positive,
        default=1,
        help="web processes: 1 is one process as `loa serve` runs; N is the production "
        "web face, `loa serve --workers N` (the worker runs apart)",
    )
    parser.add_argument(
        "--database-url",
        help="an EMPTY PostgreSQL database to use instead of a fresh SQLite file",
    )
    parser.add_argument(
        "--app-root",
        help="serve the app from this checkout of Loa (same schema), e.g. to compare with "
        "an earlier version; the data are written by this one",
    )
    args = parser.parse_args()
    # Stopped from outside: leave through `finally`, which stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = Path(tempfile.mkdtemp(prefix="loa-bench-api-"))
    url = args.database_url or f"sqlite:///{work / 'loa.db'}"
    if args.database_url:
        engine = make_engine(url)
        try:
            tables = inspect(engine).get_table_names()
        except Exception as exc:  # noqa: BLE001 - any connection failure is the user's input
            parser.error(f"cannot open --database-url: {str(exc).splitlines()[0]}")
        finally:
            engine.dispose()
        if tables:
            parser.error(f"--database-url must name an empty database ({len(tables)} tables)")
    settings = Settings(env="test", secret_key=SECRET, database_url=url)
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as ses:
        admin = create_user(
            session=ses,
            username="admin",
            password=PASSWORD,
            role=Role.admin,
            area_code=None,
            scope=Scope.everything(),
        )
        token = issue_access_token(user=admin, secret_key=SECRET, minutes=600)
    engine.dispose()
    full = {
        "communes": args.communes,
        "receivers": args.receivers,
        "days": args.days,
        "aired_days": args.aired_days,
    }
    tenth = full | {
        "communes": max(1, args.communes // 10),
        "receivers": max(1, args.receivers // 10),
    }
    port = free_port()
    root = str(Path(args.app_root or Path(__file__).resolve().parents[1]).resolve())
    child = [sys.executable, "-c", SERVE, url, str(port), root, SECRET, str(args.workers)]
    server = subprocess.Popen(child, env=os.environ | {"PYTHONUNBUFFERED": "1"}, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(base + "/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        clients = Clients(base, token, sign_in(base, "admin"))
        print(
            f"database: {make_engine(url).dialect.name}; {args.workers} web process(es); "
            f"{args.clients} clients; {args.requests} GETs per route"
        )
        small = build(url, settings, "81", tenth)
        before = run_all(clients, small, args.requests, args.clients)
        large = build(url, settings, "82", full)
        after = run_all(clients, large, args.requests, args.clients)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'route':<26} {'a tenth p50/p95 ms':>19} {'full p50/p95 ms':>17} {'KB':>7}  target")
    verdicts: list[Callable[[], bool]] = []
    for name in routes(large):
        s50, s95, _ = before[name]
        f50, f95, size = after[name]
        target = TARGETS[name]
        mark = (
            "-"
            if target is None
            else (f"p95 < {target} ms " + ("met" if f95 < target else "MISSED"))
        )
        if target is not None:
            verdicts.append(lambda t=target, v=f95: v < t)
        print(
            f"{name:<26} {s50:>9.0f} / {s95:<7.0f} {f50:>7.0f} / {f95:<7.0f} "
            f"{size / 1024:>7.0f}  {mark}"
        )
    met = sum(v() for v in verdicts)
    print(f"targets met: {met} of {len(verdicts)}")


if __name__ == "__main__":
    main()
