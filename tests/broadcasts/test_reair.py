"""A programme an emergency interrupted is aired again after it, within a window.

Commands go through the service's publisher to the embedded broker; acknowledgements are
fed to the ingestor as the receivers would send them. The end-to-end test with receivers
that know only the protocol is in tests/e2e/test_chain.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.core.settings import Settings
from broadcast.delivery.deadlines import apply_deadlines
from broadcast.delivery.dispatch import publish_queued
from broadcast.delivery.ingest import AckIngestor
from broadcast.delivery.models import DeliveryEvent
from broadcast.delivery.reair import reair_interrupted
from broadcast.people.models import Role
from broadcast.schedule.models import Occurrence
from stations.protocol import Topics
from stations.timeutil import as_utc
from tests.broadcasts.conftest import Wire
from tests.broadcasts.test_broadcasts import (
    T0,
    _schedule,
    _send,
    ack,
    deliveries,
    receivers_in,
)
from tests.utils import UserFactory

Y_TY = "02680"
STOPPED = T0 + timedelta(seconds=20)  # when the emergency stopped the programme


def _interrupted(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> tuple[int, Topics, list[str]]:
    """Y Tý's three receivers air the one-minute programme at T0: an emergency stops it
    on the first, the second's player breaks, the third airs it to its end."""
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, [Y_TY])
    _send(engine, settings, wire, T0 - timedelta(minutes=30))
    topics = Topics(settings.mqtt_topic_prefix)
    stopped, broken, aired = receivers_in(engine, Y_TY)
    ref = f"{bid}.1"
    ingestor = AckIngestor(engine, topics, clock=lambda: T0 + timedelta(seconds=61))
    ingestor.process(
        [
            *(ack(topics, rid, ref, "started", T0) for rid in (stopped, broken, aired)),
            ack(topics, stopped, ref, "failed", STOPPED, detail="interrupted"),
            ack(topics, broken, ref, "failed", STOPPED, detail="player exited with 1"),
            ack(topics, aired, ref, "completed", T0 + timedelta(seconds=60)),
        ]
    )
    return bid, topics, [stopped, broken, aired]


def test_only_the_interrupted_receiver_is_sent_the_programme_again_once(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    bid, topics, (stopped, broken, aired) = _interrupted(
        client, engine, settings, make_user, bulletin, wire
    )
    first = deliveries(engine, bid)[stopped]
    now = STOPPED + timedelta(seconds=5)
    report = reair_interrupted(engine=engine, settings=settings, now=now)
    assert (report.queued, report.linked) == (1, 0)
    # Once: the delivery has left `failed`.
    assert reair_interrupted(engine=engine, settings=settings, now=now).queued == 0

    shown = deliveries(engine, bid)
    assert {r: d.state for r, d in shown.items()} == {
        stopped: "queued",
        broken: "failed",
        aired: "completed",
    }
    again = shown[stopped]
    window = timedelta(minutes=settings.reair_after_emergency_minutes)
    assert again.attempt == 2 and again.version != first.version
    assert as_utc(again.reair_expires_at) == STOPPED + window  # type: ignore[arg-type]
    assert again.started_at is None and again.detail is None

    publish_queued(engine=engine, publisher=wire.publisher, topics=topics, now=now)
    ((topic, payload),) = wire.sent()
    command = json.loads(payload)
    assert topic == topics.cmd(stopped)
    assert command["broadcast_id"] == f"{bid}.1" and command["version"] == again.version
    assert datetime.fromisoformat(command["air_at"]) == STOPPED
    assert datetime.fromisoformat(command["expires_at"]) == STOPPED + window
    assert command["items"] == json.loads(first.payload or "")["items"]

    with Session(engine) as ses:
        events = ses.exec(
            select(DeliveryEvent.attempt, DeliveryEvent.state, DeliveryEvent.detail)
            .where(DeliveryEvent.delivery_id == first.id)
            .order_by(col(DeliveryEvent.attempt), col(DeliveryEvent.at))
        ).all()
    assert (1, "failed", "interrupted") in events
    assert (2, "queued", "aired again after an emergency") in events


def test_the_airing_waits_for_the_interrupted_receiver_and_it_keeps_its_own_deadlines(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    bid, topics, (stopped, _broken, _aired) = _interrupted(
        client, engine, settings, make_user, bulletin, wire
    )
    with Session(engine) as ses:
        (airing,) = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).all()
        expires_at = as_utc(airing.expires_at)
    # Every delivery has ended, but the interrupted one is to air again: not settled.
    after = T0 + timedelta(minutes=1, seconds=1)
    assert apply_deadlines(engine=engine, settings=settings, now=after)["settled"] == 0
    reair_interrupted(engine=engine, settings=settings, now=after)
    publish_queued(engine=engine, publisher=wire.publisher, topics=topics, now=after)
    wire.sent()
    # Past the airing's own expiry the resent programme is still awaited.
    counts = apply_deadlines(
        engine=engine, settings=settings, now=expires_at + timedelta(1 / 86400)
    )
    assert counts["expired"] == 0 and deliveries(engine, bid)[stopped].state == "sent"
    # The emergency outlasted the window: the receiver never got it in time.
    window_end = STOPPED + timedelta(minutes=settings.reair_after_emergency_minutes)
    counts = apply_deadlines(engine=engine, settings=settings, now=window_end)
    assert counts["expired"] == 1 and counts["settled"] == 1
    ended = deliveries(engine, bid)[stopped]
    assert ended.state == "expired" and as_utc(ended.finished_at) == window_end  # type: ignore[arg-type]


def test_a_receiver_that_began_the_programme_again_and_never_ended_it_missed_it(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    bid, topics, (stopped, _broken, _aired) = _interrupted(
        client, engine, settings, make_user, bulletin, wire
    )
    now = STOPPED + timedelta(seconds=5)
    reair_interrupted(engine=engine, settings=settings, now=now)
    publish_queued(engine=engine, publisher=wire.publisher, topics=topics, now=now)
    wire.sent()
    begun = STOPPED + timedelta(minutes=3)
    AckIngestor(engine, topics, clock=lambda: begun).process(
        [ack(topics, stopped, f"{bid}.1", "started", begun)]
    )
    deadline = as_utc(deliveries(engine, bid)[stopped].reair_deadline_at)  # type: ignore[arg-type]
    window = timedelta(minutes=settings.reair_after_emergency_minutes)
    grace = timedelta(seconds=settings.missed_grace_seconds)
    assert deadline == STOPPED + window + timedelta(minutes=1) + grace
    assert (
        apply_deadlines(engine=engine, settings=settings, now=deadline - timedelta(seconds=1))[
            "missed"
        ]
        == 0
    )
    assert apply_deadlines(engine=engine, settings=settings, now=deadline)["missed"] == 1
    assert deliveries(engine, bid)[stopped].state == "missed"


def test_nothing_airs_again_when_the_window_is_zero(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    bid, _topics, (stopped, _broken, _aired) = _interrupted(
        client, engine, settings, make_user, bulletin, wire
    )
    off = settings.model_copy(update={"reair_after_emergency_minutes": 0})
    assert reair_interrupted(engine=engine, settings=off, now=STOPPED).queued == 0
    # Off: the airing settles as soon as every delivery has ended.
    after = T0 + timedelta(minutes=1, seconds=1)
    assert apply_deadlines(engine=engine, settings=off, now=after)["settled"] == 1

    # Settled: not aired again even if the window is opened afterwards.
    assert reair_interrupted(engine=engine, settings=settings, now=STOPPED).queued == 0
    assert deliveries(engine, bid)[stopped].state == "failed"


def test_nothing_airs_again_past_the_window_or_once_the_airing_was_cancelled(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    bid, _topics, (stopped, _broken, _aired) = _interrupted(
        client, engine, settings, make_user, bulletin, wire
    )
    window = timedelta(minutes=settings.reair_after_emergency_minutes)
    assert reair_interrupted(engine=engine, settings=settings, now=STOPPED + window).queued == 0
    editor = make_user(Role.editor, "10")
    assert client.post(f"/api/v1/broadcasts/{bid}/cancel", headers=editor).status_code == 200
    now = STOPPED + timedelta(seconds=5)
    assert reair_interrupted(engine=engine, settings=settings, now=now).queued == 0
    assert deliveries(engine, bid)[stopped].state == "failed"
