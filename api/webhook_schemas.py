"""Request and response shapes of REST v1 for webhook subscriptions and their delivery log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import Strict
from broadcast.webhooks.models import MAX_URL
from broadcast.webhooks.service import MAX_DESCRIPTION, MAX_KEEP_PREVIOUS_HOURS


class WebhookBase(BaseModel):
    """What a subscription receives and where."""

    url: str = Field(
        min_length=1, max_length=MAX_URL, description="http:// or https:// address events go to"
    )
    event_types: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        max_length=20,
        description="Event types to receive (broadcast.created, broadcast.approved, "
        "broadcast.dispatched, broadcast.completed, broadcast.missed, receiver.offline, "
        "receiver.online), or ['*'] for all",
    )
    description: str | None = Field(None, max_length=MAX_DESCRIPTION, description="For people")


class WebhookCreate(WebhookBase, Strict):
    """A new subscription, for the caller's area or an area below it."""

    area_code: str | None = Field(
        None, max_length=32, description="An area of the caller's subtree (default: the caller's)"
    )


class WebhookRotate(Strict):
    """How a secret is replaced (the body may be left out: at once)."""

    keep_previous_hours: int = Field(
        0,
        ge=0,
        le=MAX_KEEP_PREVIOUS_HOURS,
        description="Hours the replaced secret keeps signing beside the new one, so that "
        "subscribers can switch keys without refusing a request (0: it stops at once)",
    )


class WebhookUpdate(Strict):
    """Fields to change; those left out stay as they are."""

    url: str | None = Field(None, min_length=1, max_length=MAX_URL)
    event_types: list[str] | None = Field(None, min_length=1, max_length=20)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    active: bool | None = Field(None, description="false: nothing is written or sent for it")


class WebhookPublic(WebhookBase):
    """A subscription as shown (never its secret)."""

    id: int
    area_code: str | None = Field(description="Its area; null: the whole tree")
    active: bool
    created_by_id: int | None
    created_at: datetime
    secret_rotated_at: datetime | None
    previous_secret_until: datetime | None = Field(
        None,
        description="Until then the secret replaced at the last rotation signs too (a second "
        "signature); null: only the current secret signs",
    )


class WebhookWithSecret(WebhookPublic):
    """A subscription just created or whose secret was just rotated: the secret, this once."""

    secret: str = Field(description="whsec_<base64>: keep it; it is never shown again")


class WebhookSendPublic(BaseModel):
    """One line of the delivery log: one event owed to the subscription."""

    event_id: str = Field(description="The event's id (the body's id, header webhook-id)")
    type: str
    created_at: datetime = Field(description="When the event happened")
    state: str = Field(description="pending, delivered or failed (given up)")
    attempts: int
    last_status_code: int | None = Field(description="The HTTP status of the last try")
    last_error: str | None
    last_attempt_at: datetime | None
    next_retry_at: datetime | None = Field(description="When it is tried again (pending only)")
    delivered_at: datetime | None


class WebhookTestSent(BaseModel):
    """The ping event queued for a subscription."""

    event_id: str
    type: str = "ping"
