"""How many acknowledgements per second the ingestor stores: a backlog drained after downtime.

    .venv/bin/python bench/bench_ingest.py [--receivers 5000] [--repeat 3]

One programme is dispatched to N receivers (deliveries `sent`), then the
ingestor's persistent session is made at mosquitto and left offline while a publisher
puts N x 4 acknowledgements (received, downloaded, started, completed) on the receivers'
`ack` topics: what a province's receivers report while the service restarts. The
ingestor then connects and the time from its connect to the commit that holds the last
acknowledgement is measured, with the final state of every delivery checked.

Beside it, in the same run and against the same broker and database file:
  raw paho   - a plain paho subscriber with a persistent session drains the same backlog
               (no parsing, no database: what the wire and paho cost alone);
  raw driver - the same rows (an event and a delivery update per ack) written with the
               DB-API driver itself, 1,000 acks per commit (no MQTT, no validation);
  COPY       - on PostgreSQL, the floor: the same rows and commits through psycopg's
               COPY (events straight into delivery_event, the delivery updates into a
               temporary table joined by one UPDATE per 1,000 acks).

`--database-url postgresql+psycopg://...` runs it on an empty PostgreSQL database.
`--ingestors K` drains the backlog with K ingestors sharing it as the workers of a
scaled-out service do (`$share/loa/...`, each its own login and persistent session;
docs/operations.md, "Several workers"); the rate is that of all of them together.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as pahoc  # noqa: E402
from common import (  # noqa: E402
    MOSQUITTO,
    SERVICE_PASSWORD,
    SERVICE_USER,
    Programme,
    positive,
    schedule_now,
    setup_database,
    start_broker,
)
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from sqlalchemy import inspect  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from broadcast.core.db import driver_time, make_engine  # noqa: E402
from broadcast.core.settings import Settings  # noqa: E402
from broadcast.delivery.ingest import AckIngestor  # noqa: E402
from broadcast.delivery.models import Delivery, DeliveryEvent, DeliveryState  # noqa: E402
from broadcast.runtime.worker import Worker  # noqa: E402
from stations.identities import INGESTOR, service_client  # noqa: E402
from stations.mqtt import BrokerAddress, MqttClient  # noqa: E402
from stations.protocol import Topics  # noqa: E402
from stations.security import mosquitto_hash  # noqa: E402
from stations.timeutil import utcnow  # noqa: E402

STATES = ("received", "downloaded", "started", "completed")
TIME_COLUMNS = ("received_at", "downloaded_at", "started_at", "completed_at")
PUBLISHER, PUBLISHER_PASSWORD = "bench-publisher", "bench-publisher-password"


def allow_publisher(directory: Path) -> None:
    """Let one bench client write every receiver's ack topic (receivers cannot)."""
    with (directory / "passwords").open("a") as fh:
        fh.write(f"{PUBLISHER}:{mosquitto_hash(PUBLISHER_PASSWORD)}\n")
    with (directory / "acl").open("a") as fh:
        fh.write(f"\nuser {PUBLISHER}\ntopic write loa/v1/receivers/+/ack\n")


def ack_payloads(ref: str, receiver_ids: list[str]) -> list[tuple[str, bytes]]:
    """Every receiver's four acknowledgements, step by step as receivers send them."""
    base = datetime.now(UTC)
    out = []
    for step, state in enumerate(STATES):
        at = (base + timedelta(seconds=step)).isoformat()
        body = json.dumps({"broadcast_id": ref, "state": state, "at": at, "detail": None})
        out.extend((f"loa/v1/receivers/{rid}/ack", body.encode()) for rid in receiver_ids)
    return out


def publish_backlog(port: int, messages: list[tuple[str, bytes]]) -> None:
    client = pahoc.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub", clean_session=True)
    client.username_pw_set(PUBLISHER, PUBLISHER_PASSWORD)
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(60)
    client.loop_stop()
    client.disconnect()


def raw_paho_drain(port: int, messages: list[tuple[str, bytes]]) -> float:
    """A plain persistent subscriber drains the same backlog; seconds from connect."""
    expected = len(messages)
    count = [0]
    done = threading.Event()

    def on_message(*_a: Any) -> None:
        count[0] += 1
        if count[0] >= expected:
            done.set()

    def session() -> pahoc.Client:
        client = pahoc.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-raw-sink", clean_session=False
        )
        client.username_pw_set(SERVICE_USER, SERVICE_PASSWORD)
        client.on_message = on_message
        client.max_inflight_messages_set(0)
        return client

    first = session()
    first.connect("127.0.0.1", port)
    first.subscribe("loa/v1/receivers/+/ack", 1)
    first.loop(2)
    first.loop(0.2)
    first.disconnect()
    publish_backlog(port, messages)
    sink = session()
    started = time.perf_counter()
    sink.connect("127.0.0.1", port)
    sink.loop_start()
    done.wait(120)
    elapsed = time.perf_counter() - started
    sink.loop_stop()
    sink.disconnect()
    if count[0] < expected:
        print(f"  raw paho: only {count[0]} of {expected} arrived")
    return elapsed


def raw_driver(engine: Any, broadcast_id: int) -> tuple[float, int]:
    """The same writes straight on the DB-API driver, batch for batch as the ingestor does.

    Per 1,000 acks: one executemany of events, one of delivery updates, one commit; no
    MQTT, no validation, no matching. (seconds, rows written)
    """
    sqlite = engine.dialect.name == "sqlite"
    ph = "?" if sqlite else "%s"
    now = driver_time(engine.dialect)(utcnow())
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT id FROM delivery WHERE broadcast_id = {ph}", (broadcast_id,))
        ids = [row[0] for row in cur.fetchall()]
        conn.commit()
        written = 0
        started = time.perf_counter()
        for state, column in zip(STATES, TIME_COLUMNS, strict=True):
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                cur.executemany(
                    "INSERT INTO delivery_event (delivery_id, state, at, recorded_at, source)"
                    f" VALUES ({ph}, {ph}, {ph}, {ph}, 'receiver') ON CONFLICT DO NOTHING",
                    [(i, state, now, now) for i in chunk],
                )
                cur.executemany(
                    f"UPDATE delivery SET state = {ph}, {column} = {ph}, updated_at = {ph}"
                    f" WHERE id = {ph}",
                    [(state, now, now, i) for i in chunk],
                )
                conn.commit()
                written += 2 * len(chunk)
        return time.perf_counter() - started, written
    finally:
        conn.close()


def copy_floor(engine: Any, broadcast_id: int) -> tuple[float, int]:
    """PostgreSQL only: the same rows as raw_driver, 1,000 acks per commit, through COPY.

    (seconds, rows written)
    """
    now = utcnow()
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT id FROM delivery WHERE broadcast_id = %s", (broadcast_id,))
        ids = [row[0] for row in cur.fetchall()]
        cur.execute(
            "CREATE TEMPORARY TABLE bench_step (id integer, at timestamptz) ON COMMIT DELETE ROWS"
        )
        conn.commit()
        written = 0
        started = time.perf_counter()
        for state, column in zip(STATES, TIME_COLUMNS, strict=True):
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                with cur.copy(
                    "COPY delivery_event (delivery_id, state, at, recorded_at, source) FROM STDIN"
                ) as copy:
                    for i in chunk:
                        copy.write_row((i, state, now, now, "receiver"))
                with cur.copy("COPY bench_step (id, at) FROM STDIN") as copy:
                    for i in chunk:
                        copy.write_row((i, now))
                cur.execute(
                    f"UPDATE delivery SET state = %s, {column} = s.at, updated_at = s.at"
                    " FROM bench_step s WHERE delivery.id = s.id",
                    (state,),
                )
                conn.commit()
                written += 2 * len(chunk)
        return time.perf_counter() - started, written
    finally:
        conn.close()


def dispatch(engine: Any, settings: Settings, address: BrokerAddress, bulletin_id: int) -> int:
    """Schedule and dispatch one programme to every receiver: its deliveries are `sent`."""
    broadcast_id = schedule_now(engine, settings, bulletin_id)
    programme = Programme("http://127.0.0.1:9/media/x.mp3", "0" * 64, 1)
    dispatcher = Worker(
        engine, settings, address=address, builder=lambda *_a: programme, ingest=False
    )
    dispatcher.start(loop=False)
    dispatcher.tick()
    dispatcher.stop()
    return broadcast_id


def run(n: int, database_url: str | None, ingestors: int = 1) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="loa-bench-ingest-"))
    work.chmod(0o755)  # mosquitto drops to its own user and must reach its files
    url = database_url or f"sqlite:///{work}/bench.db"
    specs, bulletin_id = setup_database(url, n)
    settings = Settings(
        env="test",
        secret_key="bench-secret-key-that-is-long-enough-012345",
        database_url=url,
        media_dir=work / "media",
        mqtt_username=SERVICE_USER,
        mqtt_password=SERVICE_PASSWORD,
        worker_instances=ingestors,
        mqtt_shared_group="loa" if ingestors > 1 else "",
    )
    port, stop_broker = start_broker("mosquitto", settings, url, specs, work, allow_publisher)
    address = BrokerAddress("127.0.0.1", port, SERVICE_USER, SERVICE_PASSWORD)
    topics = Topics(settings.mqtt_topic_prefix)
    engine = make_engine(url)
    try:
        ref_id = dispatch(engine, settings, address, bulletin_id)
        messages = ack_payloads(f"{ref_id}.1", [s.receiver_id for s in specs])
        expected = len(messages)

        raw_mqtt = raw_paho_drain(port, messages)

        # The ingestors' sessions exist, they go away, the backlog piles up at the broker
        # (shared among their sessions when there are several).
        pool: list[tuple[AckIngestor, MqttClient]] = []
        for instance in range(1, ingestors + 1):
            ingestor = AckIngestor(engine, topics, batch_size=settings.ingest_batch_size)
            # As the service does: each worker instance under its own login.
            ingest_address, ingest_id = service_client(address, INGESTOR, instance)
            client = MqttClient(ingest_address, client_id=ingest_id, manual_ack=True)
            ingestor.attach(client, shared_group=settings.mqtt_shared_group)
            pool.append((ingestor, client))
        for _ingestor, client in pool:
            client.start()
        time.sleep(0.3)  # let the SUBACKs arrive before leaving
        for _ingestor, client in pool:
            client.stop()
        publish_backlog(port, messages)

        for ingestor, _client in pool:
            ingestor.start()
        started = time.monotonic()
        for _ingestor, client in pool:
            client.start()
        deadline = time.monotonic() + 300
        while sum(i.stats.acks_stored for i, _c in pool) < expected and time.monotonic() < deadline:
            time.sleep(0.005)
        elapsed = max(i.stats.last_commit_at for i, _c in pool) - started
        for ingestor, client in pool:
            client.stop()
            ingestor.stop()
        with Session(engine) as ses:
            completed = ses.exec(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.state == DeliveryState.completed)
            ).one()
            events = ses.exec(
                select(func.count())
                .select_from(DeliveryEvent)
                .where(DeliveryEvent.source == "receiver")
            ).one()
        stored = sum(i.stats.acks_stored for i, _c in pool)
        batches = sum(i.stats.batches for i, _c in pool)
        malformed = sum(i.stats.malformed for i, _c in pool)
        unknown = sum(i.stats.unknown for i, _c in pool)
        # The driver baseline writes the same rows for a second airing's deliveries.
        raw_db, raw_rows = raw_driver(engine, dispatch(engine, settings, address, bulletin_id))
        copy_line, copy_rate = "", float("nan")
        if engine.dialect.name == "postgresql":
            copy_s, copy_rows = copy_floor(engine, dispatch(engine, settings, address, bulletin_id))
            copy_rate = expected / copy_s
            copy_line = (
                f"\n  COPY floor, same rows and commits: {copy_s:.2f}s = {copy_rate:,.0f} acks/s "
                f"({copy_rows} rows); Loa stores at {copy_s / elapsed:.0%} of the floor's rate, "
                f"the raw driver at {copy_s / raw_db:.0%}"
            )
        print(
            f"N={n:>5} receivers, {expected} acks backlogged at mosquitto\n"
            f"  loa ingestor x{ingestors}: {stored}/{expected} stored in {elapsed:.2f}s = "
            f"{stored / elapsed:,.0f} acks/s  (batches={batches}, "
            f"malformed={malformed}, unknown={unknown})\n"
            f"  check: deliveries completed={completed}/{n}  events={events}/{expected}  "
            f"lost={expected - stored}\n"
            f"  raw paho drain:   {raw_mqtt:.2f}s = {expected / raw_mqtt:,.0f} msgs/s\n"
            f"  raw {engine.dialect.name} driver, same rows and commits: {raw_db:.2f}s = "
            f"{expected / raw_db:,.0f} acks/s ({raw_rows} rows)\n"
            f"  ratio to raw paho: {elapsed / raw_mqtt:.2f}x" + copy_line
        )
        return {
            "rate": stored / elapsed,
            "raw": expected / raw_mqtt,
            "raw_db": expected / raw_db,
            "copy": copy_rate,
            "lost": expected - stored + (n - completed),
        }
    finally:
        stop_broker()
        engine.dispose()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receivers", type=positive, nargs="+", default=[5000])
    parser.add_argument("--repeat", type=positive, default=3, help="runs per N (median printed)")
    parser.add_argument(
        "--ingestors", type=positive, default=1, help="ingestors sharing the stream (default 1)"
    )
    parser.add_argument(
        "--database-url",
        help="an EMPTY PostgreSQL database to use instead of a fresh SQLite file (its tables "
        "are created; use one run per database, --repeat 1)",
    )
    args = parser.parse_args()
    if args.database_url:
        engine = make_engine(args.database_url)
        try:
            tables = inspect(engine).get_table_names()
        except Exception as exc:  # noqa: BLE001 - any connection failure is the user's input
            parser.error(f"cannot open --database-url: {str(exc).splitlines()[0]}")
        finally:
            engine.dispose()
        if tables:
            parser.error(
                f"--database-url must name an empty database (it has {len(tables)} tables)"
            )
        if args.repeat != 1 or len(args.receivers) != 1:
            parser.error("--database-url takes one run: --repeat 1 and one --receivers value")
    if not MOSQUITTO.exists():
        print(f"skipped: {MOSQUITTO} is not installed")
        return
    logging.basicConfig(level=logging.ERROR)
    summary = []
    for n in args.receivers:
        runs = [run(n, args.database_url, args.ingestors) for _ in range(args.repeat)]
        rates = sorted(r["rate"] for r in runs)
        summary.append(
            f"N={n:>5}: {statistics.median(rates):,.0f} acks stored/s median (runs: "
            + ", ".join(f"{r:,.0f}" for r in rates)
            + f"); raw paho drain median {statistics.median(r['raw'] for r in runs):,.0f} msgs/s;"
            f" raw driver median {statistics.median(r['raw_db'] for r in runs):,.0f} acks/s;"
            + (
                f" COPY floor median {statistics.median(r['copy'] for r in runs):,.0f} acks/s;"
                if all(r["copy"] == r["copy"] for r in runs)
                else ""
            )
            + f" lost {sum(int(r['lost']) for r in runs)}"
        )
    print("\n".join(["summary (target: >= 10,000 acks stored/s, none lost)", *summary]))


if __name__ == "__main__":
    main()
