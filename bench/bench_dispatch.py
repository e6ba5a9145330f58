"""Dispatch one programme to N simulated receivers and time the full acknowledgement cycle.

    .venv/bin/python bench/bench_dispatch.py [--receivers 1000 5000] [--repeat 3]
        [--broker mosquitto|embedded]

For each N: a fresh SQLite database with N receivers on one station, a broker (mosquitto
when installed, started here on a free port with files from `loa mqtt sync`), a Worker
(dispatcher + batched ingestor) and N simulated receivers, each its own MQTT client with
its own id, password, persistent session and topics (one selector thread drives all the
sockets; they share one media cache, so the file is fetched once). Every receiver
answers received, downloaded, started and completed.

Printed per N: time from dispatch to the last acknowledgement stored, acknowledgements
stored per second, lost acknowledgements; and, in the same run, a raw paho baseline:
the same N clients, one publish to each cmd topic and 4 replies each on their ack
topics, received by one plain subscriber (no database, no validation); and the floor:
the same messages through bench/mqtt_floor.py, a minimal MQTT 3.1.1 QoS 1 client over raw
non-blocking sockets (one selector for the publisher and the subscriber here, one for
the N receivers in the other process), pipelined. Ratios: Loa to raw paho, Loa to the
floor, raw paho to the floor.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mqtt_floor  # noqa: E402
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
from sqlmodel import Session, func, select  # noqa: E402

from broadcast.core.db import make_engine  # noqa: E402
from broadcast.core.settings import Settings  # noqa: E402
from broadcast.delivery.models import Delivery, DeliveryEvent, DeliveryState  # noqa: E402
from broadcast.runtime.worker import Worker  # noqa: E402
from stations.identities import DISPATCHER, INGESTOR, service_login  # noqa: E402
from stations.mqtt import BrokerAddress  # noqa: E402
from stations.protocol import Topics  # noqa: E402
from stations.simulate import ClientPool, MediaServer, SimReceiver, Simulation  # noqa: E402
from stations.timeutil import as_utc, utcnow  # noqa: E402

ACKS_PER_RECEIVER = 4  # received, downloaded, started, completed


RAW_REPLY = b'{"broadcast_id":"1.1","state":"completed","at":"2026-01-01T00:00:00+00:00"}'


def raw_receivers(port: int, specs: Sequence[SimReceiver], topics: Topics) -> ClientPool:
    """Plain paho clients that answer each cmd with ACKS_PER_RECEIVER replies."""
    pool = ClientPool()
    ready = threading.Semaphore(0)
    for spec in specs:
        client = pahoc.Client(CallbackAPIVersion.VERSION2, client_id="raw-" + spec.receiver_id)
        client.username_pw_set(spec.receiver_id, spec.password)

        def on_connect(c: pahoc.Client, *_a: Any, rid: str = spec.receiver_id) -> None:
            c.subscribe(topics.cmd(rid), 1)

        def on_subscribe(*_a: Any) -> None:
            ready.release()

        def on_message(c: pahoc.Client, _u: Any, msg: Any, rid: str = spec.receiver_id) -> None:
            for _ in range(ACKS_PER_RECEIVER):
                c.publish(topics.ack(rid), RAW_REPLY, qos=1)

        client.on_connect, client.on_subscribe, client.on_message = (
            on_connect,
            on_subscribe,
            on_message,
        )
        client.max_inflight_messages_set(100)
        pool.add(client, "127.0.0.1", port)
    deadline = time.monotonic() + 120
    subscribed = 0
    while subscribed < len(specs) and time.monotonic() < deadline:
        if ready.acquire(timeout=1):
            subscribed += 1
    if subscribed < len(specs):
        print(f"  raw: only {subscribed} of {len(specs)} clients subscribed")
    return pool


def floor_receivers(
    port: int, specs: Sequence[SimReceiver], topics: Topics, stop: Any
) -> mqtt_floor.Loop:
    """Raw-socket clients that answer each cmd with ACKS_PER_RECEIVER QoS 1 replies."""
    loop = mqtt_floor.Loop("127.0.0.1", port)
    replies: dict[int, bytes] = {}

    def on_message(conn: mqtt_floor.Connection, _topic: bytes, _payload: bytes) -> None:
        topic = replies[id(conn)]
        for _ in range(ACKS_PER_RECEIVER):
            conn.publish(topic, RAW_REPLY, qos=1)

    for spec in specs:
        conn = loop.add(
            mqtt_floor.Connection(
                loop, "floor-" + spec.receiver_id, spec.receiver_id, spec.password
            )
        )
        conn.subscribe(topics.cmd(spec.receiver_id), 1)
        conn.on_message = on_message
        replies[id(conn)] = topics.ack(spec.receiver_id).encode()
    if not loop.run(lambda: all(c.subacks for c in loop.connections) or stop.poll(), 180):
        subscribed = sum(1 for c in loop.connections if c.subacks)
        print(f"  floor: only {subscribed} of {len(specs)} clients subscribed")
    return loop


def receivers_process(
    kind: str, port: int, specs: list[SimReceiver], cache: str, conn: Any
) -> None:
    """Child process: run the receivers (raw paho or Loa's simulator) until told to stop."""
    logging.basicConfig(level=logging.ERROR)
    topics = Topics()
    if kind == "raw":
        pool = raw_receivers(port, specs, topics)
        conn.send("ready")
        conn.recv()
        pool.stop()
    elif kind == "floor":
        loop = floor_receivers(port, specs, topics, conn)
        conn.send("ready")
        loop.run(conn.poll, timeout=600)
        conn.recv()
        loop.close()
    else:
        address = BrokerAddress("127.0.0.1", port)
        sim = Simulation(specs, address, cache_dir=Path(cache), time_scale=0.0)
        sim.start(wait=120)
        conn.send("ready")
        conn.recv()
        conn.send(sim.cache.downloads)
        sim.stop()
    conn.close()


def start_receivers(
    kind: str, port: int, specs: Sequence[SimReceiver], cache: Path
) -> tuple[Any, Any]:
    """Start the receivers in another process (so the server side is measured alone)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=receivers_process, args=(kind, port, list(specs), str(cache), child))
    proc.start()
    if not parent.poll(180) or parent.recv() != "ready":
        proc.kill()
        raise RuntimeError(f"{kind} receivers did not start")
    return proc, parent


def raw_round_trip(port: int, specs: Sequence[SimReceiver], topics: Topics) -> tuple[float, int]:
    """Plain paho: one cmd to each client, 4 replies each, one subscriber counts them."""
    payload = b'{"type":"programme"}' + b" " * 600
    expected = len(specs) * ACKS_PER_RECEIVER
    done = threading.Event()
    count = [0]

    def on_reply(*_a: Any) -> None:
        count[0] += 1
        if count[0] >= expected:
            done.set()

    sink = pahoc.Client(CallbackAPIVersion.VERSION2, client_id="raw-sink", clean_session=True)
    sink.on_disconnect = lambda *a: a[3].is_failure and print(f"  raw: sink lost: {a[3]}")
    # Two logins: on mosquitto the client id is the login (use_username_as_clientid).
    sink.username_pw_set(service_login(SERVICE_USER, INGESTOR), SERVICE_PASSWORD)
    sink.on_message = on_reply
    sink.max_inflight_messages_set(0)
    sink.connect("127.0.0.1", port)
    sink.subscribe(topics.all_acks, 1)
    sink.loop_start()
    proc, conn = start_receivers("raw", port, specs, Path("."))
    time.sleep(0.5)
    pub = pahoc.Client(CallbackAPIVersion.VERSION2, client_id="raw-pub")
    pub.on_disconnect = lambda *a: a[3].is_failure and print(f"  raw: publisher lost: {a[3]}")
    pub.username_pw_set(service_login(SERVICE_USER, DISPATCHER), SERVICE_PASSWORD)
    pub.max_inflight_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    started = time.perf_counter()
    for spec in specs:
        pub.publish(topics.cmd(spec.receiver_id), payload, qos=1)
    done.wait(120)
    elapsed = time.perf_counter() - started
    if count[0] < expected:
        print(f"  raw: only {count[0]} of {expected} replies arrived")
    pub.loop_stop()
    pub.disconnect()
    conn.send("stop")
    proc.join(30)
    sink.loop_stop()
    sink.disconnect()
    return elapsed, count[0]


def floor_round_trip(port: int, specs: Sequence[SimReceiver], topics: Topics) -> tuple[float, int]:
    """The same messages as raw_round_trip over bench/mqtt_floor.py's raw sockets."""
    payload = b'{"type":"programme"}' + b" " * 600
    expected = len(specs) * ACKS_PER_RECEIVER
    loop = mqtt_floor.Loop("127.0.0.1", port)
    count = [0]

    def on_reply(*_a: Any) -> None:
        count[0] += 1

    sink = loop.add(
        mqtt_floor.Connection(
            loop, "floor-sink", service_login(SERVICE_USER, INGESTOR), SERVICE_PASSWORD
        )
    )
    sink.on_message = on_reply
    sink.subscribe(topics.all_acks, 1)
    if not loop.run(lambda: sink.subacks > 0, 30):
        raise RuntimeError("floor: the sink could not subscribe")
    proc, conn = start_receivers("floor", port, specs, Path("."))
    pub = loop.add(
        mqtt_floor.Connection(
            loop, "floor-pub", service_login(SERVICE_USER, DISPATCHER), SERVICE_PASSWORD
        )
    )
    if not loop.run(lambda: pub.connack, 30):
        raise RuntimeError("floor: the publisher could not connect")
    cmds = [topics.cmd(spec.receiver_id).encode() for spec in specs]
    started = time.perf_counter()
    for topic in cmds:
        pub.publish(topic, payload, qos=1)
    loop.run(lambda: count[0] >= expected, 120)
    elapsed = time.perf_counter() - started
    if count[0] < expected:
        print(f"  floor: only {count[0]} of {expected} replies arrived")
    conn.send("stop")
    proc.join(30)
    loop.close()
    return elapsed, count[0]


def receiver_events(engine: Any) -> int:
    with Session(engine) as ses:
        return int(
            ses.exec(
                select(func.count())
                .select_from(DeliveryEvent)
                .where(DeliveryEvent.source == "receiver")
            ).one()
        )


def run(n: int, broker_kind: str) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    work.chmod(0o755)  # mosquitto drops to its own user and must reach its files
    url = f"sqlite:///{work}/bench.db"
    specs, bulletin_id = setup_database(url, n)
    settings = Settings(
        env="test",
        secret_key="bench-secret-key-that-is-long-enough-012345",
        database_url=url,
        media_dir=work / "media",
        mqtt_username=SERVICE_USER,
        mqtt_password=SERVICE_PASSWORD,
        ingest_batch_size=2000,
        ingest_flush_ms=20,
    )
    served = work / "served"
    served.mkdir()
    data = os.urandom(256 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    (served / sha).write_bytes(data)
    media = MediaServer(served).start()
    programme = Programme(f"{media.base_url}/media/{sha}.mp3", sha, len(data))
    port, stop_broker = start_broker(broker_kind, settings, url, specs, work)
    address = BrokerAddress("127.0.0.1", port, SERVICE_USER, SERVICE_PASSWORD)
    topics = Topics(settings.mqtt_topic_prefix)
    engine = make_engine(url)
    try:
        # The raw baseline first, on a quiet broker, with its own client ids.
        raw, raw_count = raw_round_trip(port, specs, topics)
        floor, floor_count = floor_round_trip(port, specs, topics)
        worker = Worker(engine, settings, address=address, builder=lambda *_a: programme)
        worker.start(loop=False)
        t_connect = time.perf_counter()
        sim_proc, sim_conn = start_receivers("loa", port, specs, work / "cache")
        connect_s = time.perf_counter() - t_connect
        schedule_now(engine, settings, bulletin_id)
        assert worker.ingestor is not None
        expected = n * ACKS_PER_RECEIVER
        started = time.monotonic()
        started_wall = utcnow()
        report = worker.tick()
        dispatch_s = time.monotonic() - started
        deadline = time.monotonic() + 300
        stored = 0
        while time.monotonic() < deadline:
            # Stored acknowledgements are distinct (delivery, state) events: a receiver that
            # got its command twice (sent again when it said it was online) acks twice.
            if worker.ingestor.stats.acks_stored >= expected:
                stored = receiver_events(engine)
                if stored >= expected:
                    break
            time.sleep(0.01)
        cycle = worker.ingestor.stats.last_commit_at - started
        with Session(engine) as ses:
            completed = ses.exec(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.state == DeliveryState.completed)
            ).one()
            # When the last receiver reported each step (receivers' clocks: this machine).
            steps = ses.exec(
                select(
                    func.max(Delivery.sent_at),
                    func.max(Delivery.received_at),
                    func.max(Delivery.downloaded_at),
                    func.max(Delivery.completed_at),
                )
            ).one()
        last = "  ".join(
            f"{name}=+{(as_utc(at) - started_wall).total_seconds():.2f}s"
            for name, at in zip(("sent", "received", "downloaded", "completed"), steps, strict=True)
            if at is not None
        )
        stats = worker.ingestor.stats
        flowing = max(stats.last_commit_at - max(stats.first_message_at, started), 1e-9)
        sim_conn.send("stop")
        downloads = sim_conn.recv() if sim_conn.poll(30) else "?"
        sim_proc.join(30)
        worker.stop()
        print(
            f"N={n:>5} broker={broker_kind}  "
            f"receivers connected in {connect_s:.2f}s (other process)\n"
            f"  dispatch (materialise + publish {report.published} commands)={dispatch_s:6.2f}s\n"
            f"  dispatch to last ack stored={cycle:6.2f}s  acks stored={stored}/{expected}  "
            f"{stored / cycle:,.0f}/s over the cycle, {stored / flowing:,.0f}/s while flowing  "
            f"batches={stats.batches}\n"
            f"  completed={completed}/{n}  lost={expected - stored}  downloads={downloads}\n"
            f"  last of each step: {last}\n"
            f"  raw paho round trip ({n} cmds, {raw_count}/{expected} replies)={raw:6.2f}s  "
            f"Loa/raw paho={cycle / raw:4.2f}x (target <= 2x)\n"
            f"  raw-socket floor ({n} cmds, {floor_count}/{expected} replies)={floor:6.2f}s  "
            f"Loa/floor={cycle / floor:4.2f}x  raw paho/floor={raw / floor:4.2f}x"
        )
        return {
            "cycle": cycle,
            "raw": raw,
            "floor": floor,
            "ratio": cycle / raw,
            "floor_ratio": cycle / floor,
            "paho_floor": raw / floor,
            "lost": expected - stored,
        }
    finally:
        stop_broker()
        media.stop()
        engine.dispose()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receivers", type=positive, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=positive, default=3, help="runs per N (median printed)")
    parser.add_argument(
        "--broker",
        choices=["mosquitto", "embedded"],
        default="mosquitto" if MOSQUITTO.exists() else "embedded",
    )
    args = parser.parse_args()
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    logging.basicConfig(level=logging.ERROR)
    summary = []
    for n in args.receivers:
        runs = [run(n, args.broker) for _ in range(args.repeat)]

        def median(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        summary.append(
            f"N={n:>5} | {median('cycle'):7.2f}s | {median('raw'):7.2f}s | "
            f"{median('floor'):7.2f}s | {median('ratio'):5.2f}x | {median('floor_ratio'):5.2f}x | "
            f"{median('paho_floor'):5.2f}x | "
            + ", ".join(f"{r['ratio']:.2f}x/{r['floor_ratio']:.2f}x" for r in runs)
            + f" | {sum(int(r['lost']) for r in runs)}"
        )
    print(
        "\n".join(
            [
                f"summary, medians of {args.repeat} runs "
                "(targets: Loa/raw paho <= 2x at 5,000, none lost)",
                "receivers | Loa cycle | raw paho | floor | Loa/paho | Loa/floor | paho/floor "
                "| runs (Loa/paho / Loa/floor) | lost",
                *summary,
            ]
        )
    )


if __name__ == "__main__":
    main()
