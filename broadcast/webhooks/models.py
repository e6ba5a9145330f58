"""Table models of webhooks: subscriptions, the outbox of events, and per-subscription sends."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow

MAX_URL = 2000


class EventType(StrEnum):
    """What a subscription can follow (`*` follows everything)."""

    broadcast_created = "broadcast.created"
    broadcast_approved = "broadcast.approved"
    broadcast_dispatched = "broadcast.dispatched"
    broadcast_completed = "broadcast.completed"
    broadcast_missed = "broadcast.missed"
    receiver_offline = "receiver.offline"
    receiver_online = "receiver.online"
    # Sent only by POST /webhooks/{id}/test, to the one subscription.
    ping = "ping"


ALL_EVENTS = "*"


class SendState(StrEnum):
    """Where one event stands with one subscription."""

    pending = "pending"  # not yet answered with a 2xx; tried again at next_attempt_at
    delivered = "delivered"  # answered with a 2xx
    failed = "failed"  # gave up after LOA_WEBHOOK_MAX_ATTEMPTS attempts


class WebhookSubscription(SQLModel, table=True):
    """An HTTP endpoint that receives the events of an area's subtree, signed with its secret."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    # The subtree whose events it receives; None: the whole tree (a global administrator's).
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    url: str = Field(max_length=MAX_URL)
    event_types: list[str] = Field(default_factory=lambda: [ALL_EVENTS], sa_column=Column(JSON))
    # The signing key, "whsec_" + base64 of 32 random bytes: kept as it is (signing needs it
    # back), never shown again after creation or rotation (docs/api.md, "Webhooks").
    secret: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=300)
    active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    secret_rotated_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    # After a rotation with an overlap, the secret it replaced signs too (a second
    # signature in `webhook-signature`) until `previous_secret_until`, so subscribers can
    # switch keys without refusing a request in between.
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_until: datetime | None = Field(default=None, sa_column=UTCDateTime())


class WebhookEvent(SQLModel, table=True):
    """One event of the outbox, written in the transaction of the change it tells of."""

    __tablename__ = "webhook_event"

    id: int | None = Field(default=None, primary_key=True)
    # The public id: the body's `id` and the `webhook-id` header ("evt_" + 32 hex digits).
    uid: str = Field(max_length=40, unique=True)
    type: str = Field(sa_type=String(40))
    area_id: int | None = Field(default=None, foreign_key="area.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    # The exact JSON body sent (and signed) on every attempt.
    body: str = Field(sa_type=Text)


class WebhookSend(SQLModel, table=True):
    """One event owed to one subscription: the subscription's delivery log."""

    __tablename__ = "webhook_send"
    __table_args__ = (Index("ix_webhook_send_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="webhook_event.id", index=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id", index=True)
    state: SendState = Field(default=SendState.pending, sa_type=String(16))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    last_attempt_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
