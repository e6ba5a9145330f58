"""Acknowledgements cost no more statements with webhook subscriptions than without."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from broadcast.core.settings import Settings
from broadcast.delivery.ingest import AckIngestor
from broadcast.delivery.models import Delivery, DeliveryState
from broadcast.webhooks.models import WebhookEvent
from stations.mqtt import Message
from stations.protocol import Topics
from stations.timeutil import utcnow
from tests.broadcasts.test_broadcast_listing import approved_bulletin, counted
from tests.broadcasts.test_statistics import aired
from tests.utils import Headers
from tests.webhooks.hook_receiver import HookReceiver


def acks(engine: Engine, topics: Topics, broadcast_id: int) -> list[Message]:
    """`received` and `downloaded` from each receiver of the broadcast's first airing."""
    with Session(engine) as ses:
        targets = ses.exec(
            select(Delivery.target).where(Delivery.broadcast_id == broadcast_id)
        ).all()
    at = utcnow().isoformat()
    return [
        Message(
            topics.ack(rid),
            json.dumps({"broadcast_id": f"{broadcast_id}.1", "state": state, "at": at}).encode(),
            1,
            False,
        )
        for rid in targets
        for state in ("received", "downloaded")
    ]


def test_a_batch_of_acks_runs_the_same_statements_with_and_without_subscriptions(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    admin_headers: Headers,
    endpoint: HookReceiver,
    demo: dict[str, str],
) -> None:
    topics = Topics(settings.mqtt_topic_prefix)
    bulletin = approved_bulletin(engine, "Phòng cháy chữa cháy")
    statements = []
    for subscribed in (False, True):
        if subscribed:
            answer = client.post(
                "/api/v1/webhooks", json={"url": endpoint.url}, headers=admin_headers
            )
            assert answer.status_code == 201
        broadcast = aired(
            engine,
            settings,
            bulletins=[bulletin],
            at=utcnow() + timedelta(minutes=10),
            states=[DeliveryState.sent] * 3,
        )
        messages = acks(engine, topics, broadcast)
        # A new ingestor each time: it would not write last_seen_at again so soon.
        ingestor = AckIngestor(engine, topics)
        with Session(engine) as ses:
            before = ses.exec(select(func.count()).select_from(WebhookEvent)).one()
        with counted(engine) as seen:
            ingestor.process(messages)
        statements.append(len(seen))
        assert ingestor.stats.acks_stored == 6
        with Session(engine) as ses:
            after = ses.exec(select(func.count()).select_from(WebhookEvent)).one()
        assert after == before  # acks alone are no event: the airing's settling is
    assert statements[0] == statements[1], statements
