"""Table models of CAP alerts: each alert received, and the per-area rules that air them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow


class AlertState(StrEnum):
    """Where a received CAP alert stands."""

    held = "held"  # waiting for an approver's click, or for its deadline
    releasing = "releasing"  # may air: waiting for its audio, then scheduled by the worker
    aired = "aired"  # its emergency (or priority) broadcast is scheduled
    cancelled = "cancelled"  # a CAP Cancel from its sender ended it
    superseded = "superseded"  # a CAP Update from its sender replaced it
    applied = "applied"  # a Cancel or an Update whose work is done on the alerts it names
    ignored = "ignored"  # not for loudspeakers: a Test, Exercise, Draft, Ack or non-public alert
    failed = "failed"  # the Vietnamese version could not be voiced; see `reason`


class ReleasedBy(StrEnum):
    """Why an alert was allowed to air."""

    trusted_sender = "trusted_sender"
    approver = "approver"
    deadline = "deadline"


class AlertRule(SQLModel, table=True):
    """How alerts for an area (and its subtree, unless a lower area has its own) are aired."""

    __tablename__ = "alert_rule"

    area_id: int = Field(foreign_key="area.id", primary_key=True)
    # CAP `sender` values whose alerts air without anyone's click.
    trusted_senders: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # Other senders' alerts wait this long for an approver, then air anyway.
    hold_minutes: int = 10
    # An alert with an `expires` is aired again every this many minutes until then.
    repeat_minutes: int = 60
    # An Atom or RSS feed of CAP alerts the worker polls for this area (None = none).
    feed_url: str | None = Field(default=None, max_length=500)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class Alert(SQLModel, table=True):
    """One CAP message received, and what Loa made of it."""

    __tablename__ = "cap_alert"
    __table_args__ = (UniqueConstraint("sender", "identifier"),)

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(max_length=255)
    sender: str = Field(max_length=255, index=True)
    sent: datetime = Field(sa_column=UTCDateTime())
    # The `sent` exactly as written (with its offset): what `references` triples name.
    sent_text: str = Field(max_length=40)
    msg_type: str = Field(max_length=16)
    cap_status: str = Field(max_length=16)
    event: str = Field(default="", max_length=300)
    headline: str = Field(default="", max_length=300)
    # sha256 of the document as received: a repeat with other content is refused.
    document_sha256: str = Field(max_length=64)
    state: AlertState = Field(sa_type=String(16), index=True)
    reason: str | None = Field(default=None, max_length=500)
    priority: str = Field(default="normal", sa_type=String(16))
    # Lowest area covering every matched area: the alert's home for scoping.
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    area_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    unmatched_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    skipped_languages: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    unvoiced_languages: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # Languages voiced from an area's emergency template: language -> template id.
    templates: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))
    # The hazard its event and category name (broadcast/templates/hazards.py), if known.
    hazard: str | None = Field(default=None, max_length=16)
    starts_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    expires_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    repeat_minutes: int = 60
    hold_until: datetime | None = Field(default=None, sa_column=UTCDateTime())
    released_by: str | None = Field(default=None, max_length=16)
    released_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    approved_by_id: int | None = Field(default=None, foreign_key="user.id")
    received_by_id: int | None = Field(default=None, foreign_key="user.id")
    bulletin_id: int | None = Field(default=None, foreign_key="bulletin.id")
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id")
    # Alerts this Update or Cancel ended (ids).
    ended_alert_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
