"""What the server believes of receivers' reports and operators' confirmations.

Real components throughout: airings dispatched and published by a Worker on the embedded
broker, acknowledgements stored by the real ingestor in SQLite, the status read through
REST and the console. Times are fixed (an airing tomorrow at 12:00 in Hà Nội, clocks
passed in), so nothing waits for real time.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.ingest import AckIngestor
from broadcast.delivery.models import Delivery, DeliveryEvent
from broadcast.delivery.state import TIME_COLUMNS, Rules, Timing, parse_flags
from broadcast.people.models import Role
from broadcast.runtime.worker import Worker
from broadcast.schedule.models import Occurrence
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.mqtt import BrokerAddress, Message, MqttClient
from stations.protocol import Priority, Topics
from stations.timeutil import as_utc, utcnow
from tests.broadcasts.test_delivery_state_machine import Model, offset_reports, reference, starts
from tests.console.conftest import csrf_of
from tests.mqtt.conftest import WorkerFactory, World, wait_for
from tests.utils import TEST_PASSWORD, UserFactory

MINUTE = timedelta(minutes=1)


def tomorrow_noon(settings: Settings) -> datetime:
    """12:00 tomorrow on the local wall clock: always ahead, and far from midnight."""
    day = utcnow().astimezone(settings.zone).date() + timedelta(days=1)
    return as_utc(datetime.combine(day, time(12, 0), tzinfo=settings.zone))


@dataclass
class Airing:
    """One dispatched airing and the receivers (or legacy station) it went to."""

    broadcast_id: int
    ref: str
    air_at: datetime
    expires_at: datetime
    receivers: list[str]


def dispatch(engine: Engine, settings: Settings, world: World, worker: Worker, area: str) -> Airing:
    """Schedule one airing tomorrow at noon for `area` and dispatch it 30 minutes before."""
    air_at = tomorrow_noon(settings)
    with transaction(engine) as ses:
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[world.bulletin_id],
            area_codes=[area],
            starts_at=air_at,
            priority=Priority.normal,
        )
        bid = broadcast.id or 0
    worker.tick(now=air_at - 30 * MINUTE)
    with Session(engine) as ses:
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).one()
    return Airing(bid, f"{bid}.1", air_at, as_utc(occ.expires_at), world.receivers_of(engine, area))


@pytest.fixture
def worker(embedded_broker: BrokerAddress, make_worker: WorkerFactory) -> Worker:
    """A dispatcher on the embedded broker (its own ingestor off: the tests drive one)."""
    return make_worker(embedded_broker, ingest=False)


class Ingest:
    """The real ingestor on a clock the test sets: the server's receive time."""

    def __init__(self, engine: Engine, settings: Settings, now: datetime) -> None:
        self.now = now
        self.topics = Topics(settings.mqtt_topic_prefix)
        self.ingestor = AckIngestor(
            engine, self.topics, rules=Rules.of(settings), clock=lambda: self.now
        )

    def __call__(self, *acks: tuple[str, str, str, str]) -> None:
        """Store one batch of (receiver, ref, state, at as RFC 3339) acknowledgements."""
        self.ingestor.process(
            [
                Message(
                    self.topics.ack(rid),
                    json.dumps({"broadcast_id": ref, "state": state, "at": at}).encode(),
                    1,
                    False,
                )
                for rid, ref, state, at in acks
            ]
        )


def delivery_of(engine: Engine, broadcast_id: int, target: str) -> Delivery:
    with Session(engine) as ses:
        return ses.exec(
            select(Delivery).where(Delivery.broadcast_id == broadcast_id, Delivery.target == target)
        ).one()


def events_of(engine: Engine, delivery_id: int | None) -> dict[str, DeliveryEvent]:
    with Session(engine) as ses:
        rows = ses.exec(select(DeliveryEvent).where(DeliveryEvent.delivery_id == delivery_id))
        return {e.state: e for e in rows.all()}


def status_row(status: dict[str, Any], receiver_id: str) -> dict[str, Any]:
    row: dict[str, Any] = next(d for d in status["deliveries"] if d["receiver_id"] == receiver_id)
    return row


def at(moment: datetime) -> str:
    return moment.isoformat()


def sign_in(client: TestClient, username: str) -> None:
    """Sign in to the console through its form."""
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "username": username,
            "password": TEST_PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


# --- A: claims are checked before they are believed -------------------------------------


def test_completion_before_air_time_is_not_an_airing(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    worker: Worker,
    client: TestClient,
    make_user: UserFactory,
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    rx = airing.receivers[0]
    ingest = Ingest(engine, mqtt_settings, airing.air_at - 19 * MINUTE)
    # `completed` 20 minutes before air time, with no received nor downloaded before it.
    ingest((rx, airing.ref, "completed", at(airing.air_at - 20 * MINUTE)))
    delivery = delivery_of(engine, airing.broadcast_id, rx)
    assert delivery.state == "sent" and delivery.completed_at is None
    assert delivery.flags == "implausible"
    completed = events_of(engine, delivery.id)["completed"]
    assert completed.source == "receiver" and as_utc(completed.at) == airing.air_at - 20 * MINUTE
    assert completed.detail is not None
    assert completed.detail.startswith("not believed: started 20.0 min before air time")
    editor = make_user(Role.editor, "10")
    status = client.get(f"/api/v1/broadcasts/{airing.broadcast_id}/status", headers=editor).json()
    assert status["aired"] == 0 and status["late"] == 0
    assert status_row(status, rx)["flags"] == ["implausible"]
    # The receiver airs it after all, at air time: that is believed.
    ingest.now = airing.air_at + 2 * MINUTE
    ingest(
        (rx, airing.ref, "started", at(airing.air_at)),
        (rx, airing.ref, "completed", at(airing.air_at + MINUTE)),
    )
    delivery = delivery_of(engine, airing.broadcast_id, rx)
    assert delivery.state == "completed" and as_utc(delivery.completed_at) == airing.air_at + MINUTE
    completed = events_of(engine, delivery.id)["completed"]
    assert as_utc(completed.at) == airing.air_at + MINUTE and completed.detail is None


def test_times_outside_the_airing_are_clamped_to_the_receive_time(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    worker: Worker,
    client: TestClient,
    make_user: UserFactory,
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    far, early, _third = airing.receivers
    received_at = airing.air_at + 10 * MINUTE
    ingest = Ingest(engine, mqtt_settings, received_at)
    ingest(
        (far, airing.ref, "completed", "2099-01-01T00:00:00+07:00"),
        # Before the programme was even dispatched (30 minutes before air time).
        (early, airing.ref, "received", at(airing.air_at - 3 * 60 * MINUTE)),
    )
    delivery = delivery_of(engine, airing.broadcast_id, far)
    assert delivery.state == "completed"
    assert as_utc(delivery.completed_at) == received_at
    assert delivery.flags == "clock_clamped"
    event = events_of(engine, delivery.id)["completed"]
    assert as_utc(event.at) == received_at
    assert event.detail == "clock clamped: the receiver said 2099-01-01T00:00:00+07:00"
    delivery = delivery_of(engine, airing.broadcast_id, early)
    assert delivery.state == "received" and as_utc(delivery.received_at) == received_at
    assert delivery.flags == "clock_clamped"
    editor = make_user(Role.editor, "10")
    status = client.get(f"/api/v1/broadcasts/{airing.broadcast_id}/status", headers=editor).json()
    row = status_row(status, far)
    # Ten minutes after air time is all the server knows: a late airing.
    assert row["late"] is True and row["flags"] == ["clock_clamped"]
    assert status["aired"] == 1 and status["late"] == 1


def test_a_late_airing_is_reported_apart_from_on_time(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    worker: Worker,
    client: TestClient,
    make_user: UserFactory,
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    on_time, late, ended_only = airing.receivers
    ingest = Ingest(engine, mqtt_settings, airing.air_at + 20 * MINUTE)
    late_after = timedelta(seconds=mqtt_settings.late_after_seconds)
    ingest(
        (on_time, airing.ref, "started", at(airing.air_at + late_after)),  # the limit: on time
        (on_time, airing.ref, "completed", at(airing.air_at + late_after + MINUTE)),
        (late, airing.ref, "started", at(airing.air_at + late_after + timedelta(seconds=1))),
        (late, airing.ref, "completed", at(airing.air_at + late_after + MINUTE)),
        # Only an end: its start is completed_at - duration (2 s), 6 minutes late.
        (ended_only, airing.ref, "completed", at(airing.air_at + 6 * MINUTE)),
    )
    editor = make_user(Role.editor, "10")
    status = client.get(f"/api/v1/broadcasts/{airing.broadcast_id}/status", headers=editor).json()
    assert status["counts"] == {"completed": 3}
    assert status["aired"] == 3 and status["late"] == 2
    assert [status_row(status, r)["late"] for r in airing.receivers] == [False, True, True]
    station = status["stations"][0]
    assert station["aired"] == 3 and station["late"] == 2
    # The console says the same in Vietnamese.
    sign_in(client, "admin")
    page = client.get(f"/broadcasts/{airing.broadcast_id}/live")
    assert page.status_code == 200
    assert page.text.count('data-late="1"') == 2 and 'id="late-count">2<' in page.text


def test_an_end_cannot_be_overwritten_by_a_contradicting_end(
    engine: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    rx = airing.receivers[0]
    ingest = Ingest(engine, mqtt_settings, airing.air_at + 5 * MINUTE)
    ingest((rx, airing.ref, "failed", at(airing.air_at - 10 * MINUTE)))
    ingest(
        (rx, airing.ref, "started", at(airing.air_at)),
        (rx, airing.ref, "completed", at(airing.air_at + MINUTE)),
    )
    delivery = delivery_of(engine, airing.broadcast_id, rx)
    assert delivery.state == "failed" and delivery.completed_at is None
    assert as_utc(delivery.finished_at) == airing.air_at - 10 * MINUTE
    assert as_utc(delivery.started_at) == airing.air_at  # a start is no end: its time is kept
    assert delivery.flags == "contradicted"
    completed = events_of(engine, delivery.id)["completed"]
    assert completed.detail == "not believed: contradicts failed"


def test_the_earliest_report_of_a_state_wins(
    engine: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    rx = airing.receivers[0]
    ingest = Ingest(engine, mqtt_settings, airing.air_at - 10 * MINUTE)
    ingest((rx, airing.ref, "received", at(airing.air_at - 20 * MINUTE)))
    ingest(
        (rx, airing.ref, "received", at(airing.air_at - 25 * MINUTE)),  # earlier, told later
        (rx, airing.ref, "received", at(airing.air_at - 15 * MINUTE)),
    )
    delivery = delivery_of(engine, airing.broadcast_id, rx)
    assert as_utc(delivery.received_at) == airing.air_at - 25 * MINUTE
    assert as_utc(events_of(engine, delivery.id)["received"].at) == airing.air_at - 25 * MINUTE


def test_a_verdict_gives_way_to_a_plausible_airing_but_not_to_a_start(
    engine: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    expired, missed, _third = airing.receivers
    ingest = Ingest(engine, mqtt_settings, airing.air_at - 5 * MINUTE)
    ingest((missed, airing.ref, "received", at(airing.air_at - 6 * MINUTE)))
    worker.tick(now=airing.expires_at)  # never received -> expired; received -> missed
    assert delivery_of(engine, airing.broadcast_id, expired).state == "expired"
    assert delivery_of(engine, airing.broadcast_id, missed).state == "missed"
    ingest.now = airing.expires_at + MINUTE
    ingest(
        (expired, airing.ref, "started", at(airing.air_at)),
        (expired, airing.ref, "completed", at(airing.air_at + MINUTE)),
        (missed, airing.ref, "started", at(airing.air_at + 2 * MINUTE)),
    )
    aired = delivery_of(engine, airing.broadcast_id, expired)
    assert aired.state == "completed" and as_utc(aired.started_at) == airing.air_at
    still = delivery_of(engine, airing.broadcast_id, missed)
    assert still.state == "missed" and as_utc(still.started_at) == airing.air_at + 2 * MINUTE


# --- B: expired after a rejection; `sent` always in the as-run log ---------------------------


def test_a_programme_rejected_after_expiry_ends_expired(
    engine: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    late, cancelled, _third = airing.receivers
    ingest = Ingest(engine, mqtt_settings, airing.expires_at + MINUTE)
    body = {
        "broadcast_id": airing.ref,
        "state": "rejected",
        "at": at(airing.expires_at + timedelta(seconds=30)),
        "detail": "expired before it was received",
    }
    ingest.ingestor.process([Message(ingest.topics.ack(late), json.dumps(body).encode(), 1, False)])
    ingest((cancelled, airing.ref, "rejected", at(airing.air_at - MINUTE)))
    delivery = delivery_of(engine, airing.broadcast_id, late)
    assert delivery.state == "expired" and delivery.detail == "expired before it was received"
    assert as_utc(delivery.finished_at) == airing.expires_at + timedelta(seconds=30)
    events = events_of(engine, delivery.id)
    assert events["rejected"].source == "receiver"
    assert events["expired"].source == "server"
    assert as_utc(events["expired"].at) == airing.expires_at + timedelta(seconds=30)
    # A rejection before expiry (a cancel, say) stays a rejection.
    assert delivery_of(engine, airing.broadcast_id, cancelled).state == "rejected"


def test_an_ack_that_beats_the_sent_marking_still_leaves_sent_in_the_log(
    engine: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    air_at = tomorrow_noon(mqtt_settings)
    with transaction(engine) as ses:
        broadcast = create_broadcast(
            session=ses,
            settings=mqtt_settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[world.bulletin_id],
            area_codes=["02800"],
            starts_at=air_at,
            priority=Priority.normal,
        )
        bid = broadcast.id or 0
    from broadcast.delivery.dispatch import dispatch_due

    dispatched = air_at - 30 * MINUTE
    dispatch_due(engine=engine, settings=mqtt_settings, builder=worker.builder, now=dispatched)
    rx = world.receivers_of(engine, "02800")[0]
    assert delivery_of(engine, bid, rx).state == "queued"  # not yet marked sent
    ingest = Ingest(engine, mqtt_settings, dispatched + timedelta(seconds=2))
    ingest((rx, f"{bid}.1", "received", at(dispatched + timedelta(seconds=1))))
    worker.tick(now=dispatched + timedelta(seconds=3))  # the sent-marking comes too late
    delivery = delivery_of(engine, bid, rx)
    assert delivery.state == "received"
    assert as_utc(delivery.sent_at) == dispatched + timedelta(seconds=1)
    events = events_of(engine, delivery.id)
    assert sorted(events) == ["received", "sent"]
    assert events["sent"].source == "server"
    assert as_utc(events["sent"].at) == dispatched + timedelta(seconds=1)


def test_an_ack_for_a_delivery_that_was_never_sent_is_unknown(
    engine: Engine, mqtt_settings: Settings, world: World, worker: Worker
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02680")
    rx = airing.receivers[0]
    with transaction(engine) as ses:  # dispatch's verdict: nothing airable for it
        delivery = ses.exec(
            select(Delivery).where(
                Delivery.broadcast_id == airing.broadcast_id, Delivery.target == rx
            )
        ).one()
        delivery.state = "no_content"
        ses.add(delivery)
    ingest = Ingest(engine, mqtt_settings, airing.air_at + 2 * MINUTE)
    ingest((rx, airing.ref, "completed", at(airing.air_at + MINUTE)))
    assert ingest.ingestor.stats.unknown == 1 and ingest.ingestor.stats.acks_stored == 0
    delivery = delivery_of(engine, airing.broadcast_id, rx)
    assert delivery.state == "no_content" and delivery.completed_at is None
    assert "completed" not in events_of(engine, delivery.id)


# --- C: a legacy station is confirmed only once it can have aired ---------------------------


def test_a_confirmation_in_the_future_or_before_air_time_is_refused(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    worker: Worker,
    client: TestClient,
    make_user: UserFactory,
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02743")  # Pha Long: legacy
    station = world.stations["02743"]
    operator = make_user(Role.operator, "02743")
    url = f"/api/v1/broadcasts/{airing.broadcast_id}/confirmations"
    client.app.state.clock = lambda: airing.air_at + 30 * MINUTE  # type: ignore[attr-defined]
    future = {"station_id": station, "aired_at": at(airing.air_at + 40 * MINUTE)}
    refused = client.post(url, json=future, headers=operator)
    assert refused.status_code == 422
    assert "is in the future" in refused.json()["detail"]
    early = {"station_id": station, "aired_at": at(airing.air_at - 3 * MINUTE)}
    refused = client.post(url, json=early, headers=operator)
    assert refused.status_code == 422
    assert "is before the air time" in refused.json()["detail"]
    assert "12:00" in refused.json()["detail"]  # shown on the local clock
    assert delivery_of(engine, airing.broadcast_id, f"station:{station}").state == "sent"
    # Within the clock-skew allowance of air time, and started 6 minutes late.
    fine = {"station_id": station, "aired_at": at(airing.air_at - MINUTE)}
    assert client.post(url, json=fine, headers=operator).status_code == 201
    later = {"station_id": station, "aired_at": at(airing.air_at + 6 * MINUTE)}
    confirmed = client.post(url, json=later, headers=operator)
    assert confirmed.status_code == 201
    assert confirmed.json()["state"] == "confirmed" and confirmed.json()["late"] is True


def test_the_console_says_why_a_confirmation_is_refused(
    engine: Engine, mqtt_settings: Settings, world: World, worker: Worker, client: TestClient
) -> None:
    airing = dispatch(engine, mqtt_settings, world, worker, "02743")
    station = world.stations["02743"]
    client.app.state.clock = lambda: airing.air_at + 30 * MINUTE  # type: ignore[attr-defined]
    sign_in(client, "vanhanh.phalong")
    token = csrf_of(client.get("/operator").text)

    def confirm(hhmm: str) -> str:
        answer = client.post(
            "/operator/confirm",
            data={
                "broadcast_id": airing.broadcast_id,
                "station_id": station,
                "aired_time": hhmm,
                "csrf_token": token,
            },
        )
        assert answer.status_code in (200, 422), answer.text
        return re.sub(r"\s+", " ", answer.text)

    assert "Giờ đã phát" in confirm("13:00") and "chưa tới" in confirm("13:00")
    early = confirm("11:00")
    assert "sớm hơn giờ phát theo lịch" in early and "12:00" in early
    assert "Đã xác nhận đài đã phát" in confirm("12:03")


# --- end to end: a receiver's implausible claim over the broker -----------------------------


def test_an_implausible_claim_over_the_embedded_broker_is_logged_not_believed(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
) -> None:
    worker = make_worker(embedded_broker)
    assert worker.ingestor is not None
    airing = dispatch(engine, mqtt_settings, world, worker, "02800")
    rx = airing.receivers[0]
    device = MqttClient(
        embedded_broker.with_login(rx, world.receivers[rx]), client_id=rx, clean_session=True
    )
    device.start()
    try:
        body = {
            "broadcast_id": airing.ref,
            "state": "completed",
            "at": at(airing.air_at - 20 * MINUTE),
        }
        topics = Topics(mqtt_settings.mqtt_topic_prefix)
        device.publish(topics.ack(rx), json.dumps(body).encode(), qos=1).wait_for_publish(5)
        delivery = wait_for(
            lambda: (d := delivery_of(engine, airing.broadcast_id, rx)).flags and d, timeout=10
        )
    finally:
        device.stop()
    assert delivery.state == "sent" and delivery.flags == "implausible"
    event = events_of(engine, delivery.id)["completed"]
    assert event.detail is not None and event.detail.startswith("not believed:")
    assert worker.ingestor.claims.not_believed == 1


# --- the state machine through the real ingestor: any order, any batches -----------------

FAKE_DURATION_MS = 2000  # the conftest's programme
MODEL_COLUMNS = ("sent_at", "received_at", "downloaded_at", "started_at", "completed_at")
MODEL_COLUMNS += ("finished_at",)


@pytest.fixture
def shared_airing(engine: Engine, mqtt_settings: Settings, world: World, worker: Worker) -> Airing:
    """One airing for every example of a property test (its deliveries reset per example)."""
    return dispatch(engine, mqtt_settings, world, worker, "02680")


@hyp_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=starts, reports=offset_reports, data=st.data())
def test_batches_do_not_change_the_end_and_the_end_is_the_documented_one(
    engine: Engine,
    mqtt_settings: Settings,
    shared_airing: Airing,
    start: str,
    reports: list[tuple[str, int]],
    data: st.DataObject,
) -> None:
    airing = shared_airing
    whole, split = airing.receivers[:2]
    d, e = SQLModel.metadata.tables["delivery"], SQLModel.metadata.tables["delivery_event"]
    with transaction(engine) as ses:  # both deliveries back to `start`, with no history
        ids = ses.connection().execute(
            sa_select(d.c.id).where(
                d.c.broadcast_id == airing.broadcast_id, d.c.target.in_([whole, split])
            )
        )
        ids = [i for (i,) in ids]
        ses.connection().execute(e.delete().where(e.c.delivery_id.in_(ids)))
        ses.connection().execute(
            d.update()
            .where(d.c.id.in_(ids))
            .values(state=start, detail=None, flags=None, **dict.fromkeys(TIME_COLUMNS))
        )
    timed = [(state, airing.air_at + timedelta(seconds=s)) for state, s in reports]
    now = airing.air_at + 3 * MINUTE
    ingest = Ingest(engine, mqtt_settings, now)
    ingest(*[(whole, airing.ref, state, at(moment)) for state, moment in timed])
    cuts = sorted(data.draw(st.sets(st.integers(0, len(timed))), label="cuts") | {0, len(timed)})
    for first, last in itertools.pairwise(cuts):
        ingest(*[(split, airing.ref, state, at(moment)) for state, moment in timed[first:last]])

    def end(target: str) -> tuple[Model, dict[str, tuple[Any, ...]]]:
        row = delivery_of(engine, airing.broadcast_id, target)
        model = Model(
            row.state,
            {c: as_utc(v) if (v := getattr(row, c)) else None for c in MODEL_COLUMNS},
            set(parse_flags(row.flags)),
        )
        log = {s: (as_utc(v.at), v.source, v.detail) for s, v in events_of(engine, row.id).items()}
        return model, log

    (model, log), (model_split, log_split) = end(whole), end(split)
    assert (model_split, log_split) == (model, log)
    with Session(engine) as ses:
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == airing.broadcast_id))
        dispatched_at = as_utc(occ.one().dispatched_at)  # type: ignore[arg-type]
    timing = Timing(airing.air_at, airing.expires_at, dispatched_at, FAKE_DURATION_MS)
    assert model == reference(start, timed, timing, Rules.of(mqtt_settings), now)
    # Every report is in the as-run log (believed or not).
    assert {state for state, _ in timed} <= set(log)
