"""Table models of scheduling: broadcasts, their target areas and their airings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Column,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow


class BroadcastStatus(StrEnum):
    """Life of a broadcast as a whole."""

    scheduled = "scheduled"
    cancelled = "cancelled"


class BroadcastKind(StrEnum):
    """What a broadcast airs."""

    bulletin = "bulletin"
    relay = "relay"  # a live stream, relayed from air time for a duration


class BroadcastState(StrEnum):
    """Where a broadcast stands, derived from its airings (never stored).

    `scheduled`: an airing is still to come (sent ahead or not); `airing`: an airing's
    time has come and some of its receivers have not settled yet; `done`: every airing has
    settled (aired, failed, missed, ...); `cancelled`: the broadcast was cancelled.
    """

    scheduled = "scheduled"
    airing = "airing"
    done = "done"
    cancelled = "cancelled"


class OccurrenceState(StrEnum):
    """Life of one airing: waiting, sent to receivers, or cancelled."""

    pending = "pending"
    dispatched = "dispatched"
    cancelled = "cancelled"
    # Dispatch found nothing airable for any station (every delivery is `no_content` or
    # `blocked`): nothing was sent and nothing is counted as aired.
    no_content = "no_content"


class Broadcast(SQLModel, table=True):
    """Bulletins scheduled for areas, once or on an RFC 5545 recurrence."""

    id: int | None = Field(default=None, primary_key=True)
    title: str | None = Field(default=None, max_length=300)
    bulletin_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    area_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    starts_at: datetime = Field(sa_column=UTCDateTime())
    rrule: str | None = Field(default=None, max_length=500)
    timezone: str = Field(max_length=64)
    priority: str = Field(default="normal", sa_type=String(16))
    status: BroadcastStatus = Field(default=BroadcastStatus.scheduled, sa_type=String(16))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    # Lowest area covering every target: the broadcast's home for scoping and the audit log.
    area_id: int = Field(foreign_key="area.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    cancelled_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    # Set on a broadcast made by editing another's airings (broadcast.schedule.edits):
    # that broadcast, and the first of its airings this one replaces.
    edited_from_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    edited_from_seq: int | None = Field(default=None)
    # What it airs: bulletins ("bulletin"), or a live stream ("relay") from a relay source
    # for `duration_seconds` from each airing's time (broadcast.relays).
    kind: str = Field(
        default=BroadcastKind.bulletin,
        sa_type=String(16),
        sa_column_kwargs={"server_default": "bulletin"},
    )
    relay_source_id: int | None = Field(default=None, foreign_key="relay_source.id", index=True)
    duration_seconds: int | None = Field(default=None)


class BroadcastTarget(SQLModel, table=True):
    """One target area of a broadcast (stations are resolved at dispatch time)."""

    __tablename__ = "broadcast_target"

    broadcast_id: int = Field(foreign_key="broadcast.id", primary_key=True)
    area_id: int = Field(foreign_key="area.id", primary_key=True, index=True)


class Occurrence(SQLModel, table=True):
    """One airing of a broadcast, at a UTC time computed in the broadcast's zone."""

    __table_args__ = (UniqueConstraint("broadcast_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id", index=True)
    seq: int  # 1, 2, ... in time order; the protocol's broadcast_id is "<broadcast>.<seq>"
    air_at: datetime = Field(sa_column=UTCDateTime())
    dispatch_at: datetime = Field(sa_column=UTCDateTime())
    expires_at: datetime = Field(sa_column=UTCDateTime())
    state: OccurrenceState = Field(default=OccurrenceState.pending, sa_type=String(16))
    dispatched_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    # Latest moment by which every delivery of it has completed (air + longest + grace).
    deadline_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    settled: bool = Field(default=False, index=True)
    # Set once the cancel commands of a cancelled airing are handed to the broker.
    cancel_sent_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    # Why the airing is as it is, for people (e.g. why it had no content).
    detail: str | None = Field(default=None, max_length=500)
    # Bulletins that did not fit in this airing, per station id: {"12": [3, 4]}; the
    # next airing of the same broadcast at that station carries them first.
    overflow: dict[str, list[int]] | None = Field(default=None, sa_column=Column(JSON))
