"""Request and answer shapes of CAP alerts and their per-area rules."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import Strict
from broadcast.alerts.models import AlertState


class AlertPublic(BaseModel):
    """A CAP alert received, and what Loa made of it."""

    id: int
    identifier: str = Field(description="The CAP identifier")
    sender: str = Field(description="The CAP sender")
    sent: datetime
    msg_type: str = Field(description="Alert, Update, Cancel, Ack or Error")
    cap_status: str = Field(description="Actual, Exercise, System, Test or Draft")
    event: str
    headline: str
    state: AlertState
    reason: str | None = Field(description="Why it is ignored, failed or ended")
    priority: str = Field(description="normal, priority or emergency (from urgency/severity)")
    area_codes: list[str] = Field(description="Loa areas it airs in")
    unmatched_codes: list[str] = Field(description="CAP geocodes that matched no area of yours")
    languages: list[str] = Field(description="Languages of its bulletin, Vietnamese first")
    skipped_languages: list[str] = Field(
        description="CAP languages not carried (unknown, or aired by no station of the area)"
    )
    unvoiced_languages: list[str] = Field(
        description="Versions dropped at release: no engine could voice them"
    )
    hazard: str | None = Field(
        None, description="flash_flood, landslide, storm, forest_fire or epidemic, if known"
    )
    templates: dict[str, int] = Field(
        default_factory=dict,
        description="Languages voiced from an emergency template: language -> template id",
    )
    starts_at: datetime | None
    expires_at: datetime | None
    repeat_minutes: int
    hold_until: datetime | None = Field(description="A held alert airs anyway at this time")
    released_by: str | None = Field(description="trusted_sender, approver or deadline")
    released_at: datetime | None
    approved_by_id: int | None
    bulletin_id: int | None
    broadcast_id: int | None
    ended_alert_ids: list[int] = Field(description="Alerts this Update or Cancel ended")
    created_at: datetime


class AlertRuleIn(Strict):
    """How alerts for an area are aired."""

    trusted_senders: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="CAP sender values whose alerts air at once, without an approver",
    )
    hold_minutes: int = Field(
        10, ge=0, le=24 * 60, description="Other senders' alerts wait this long, then air"
    )
    repeat_minutes: int = Field(
        60, ge=5, le=24 * 60, description="Aired again this often until the alert expires"
    )
    feed_url: str | None = Field(
        None,
        max_length=500,
        pattern=r"^https?://",
        description="An Atom or RSS feed of CAP alerts the worker reads for this area",
    )


class AlertRulePublic(BaseModel):
    """The rule that applies to an area: its own, an ancestor's, or the defaults."""

    area_code: str = Field(description="The area asked about")
    rule_area_code: str | None = Field(
        description="The area whose rule applies; null = the LOA_ALERT_* defaults"
    )
    trusted_senders: list[str]
    hold_minutes: int
    repeat_minutes: int
    feed_url: str | None
