"""Table models of notifications: digests, alerts, their dismissals and the e-mail outbox."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow

MAX_ADDRESS = 254
MAX_SUBJECT = 300
MAX_ERROR = 500


class MailState(StrEnum):
    """Where one e-mail stands."""

    pending = "pending"  # not yet taken by the SMTP server; tried again at next_attempt_at
    sent = "sent"  # the server took it
    failed = "failed"  # refused for good, or given up after LOA_SMTP_MAX_ATTEMPTS tries


class EmailMessage(SQLModel, table=True):
    """One e-mail to one address: the outbox, written in the transaction of its event."""

    __tablename__ = "email_message"
    __table_args__ = (Index("ix_email_message_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=MAX_ADDRESS)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    subject: str = Field(max_length=MAX_SUBJECT)
    body: str = Field(sa_type=Text)
    state: MailState = Field(default=MailState.pending, sa_type=String(16))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    last_error: str | None = Field(default=None, max_length=MAX_ERROR)
    sent_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class Digest(SQLModel, table=True):
    """The weekly campaign digest of one district or province: stored once per week."""

    __table_args__ = (UniqueConstraint("area_id", "week_start"),)

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    # The seven local days told of: week_start .. week_start + 6.
    week_start: date
    title: str = Field(max_length=MAX_SUBJECT)
    # The digest in Vietnamese, as e-mailed and shown.
    body: str = Field(sa_type=Text)
    # Its figures per campaign (docs/api.md, "Digests").
    campaigns: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class NotificationKind(StrEnum):
    """What a notification tells."""

    language_gap = "language_gap"  # a bulletin of an airing has no ready version in a language


class Notification(SQLModel, table=True):
    """An alert to the editors and administrators of an area, shown in the console."""

    __table_args__ = (UniqueConstraint("kind", "occurrence_id", "bulletin_id", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: NotificationKind = Field(default=NotificationKind.language_gap, sa_type=String(32))
    area_id: int = Field(foreign_key="area.id", index=True)
    occurrence_id: int = Field(foreign_key="occurrence.id", index=True)
    bulletin_id: int = Field(foreign_key="bulletin.id", index=True)
    language: str = Field(max_length=16)
    station_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    air_at: datetime = Field(sa_column=UTCDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    # Set once the version became ready (or the airing was cancelled): no longer shown.
    resolved_at: datetime | None = Field(default=None, sa_column=UTCDateTime())


class NotificationDismissal(SQLModel, table=True):
    """A user who put a notification away."""

    __tablename__ = "notification_dismissal"

    notification_id: int = Field(foreign_key="notification.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    dismissed_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
