"""Request and response shapes of REST v1 for blackout periods."""

from __future__ import annotations

from datetime import datetime, time

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas import Strict
from broadcast.schedule.blackouts import MAX_REASON, BlackoutKind


class BlackoutBase(BaseModel):
    """What a blackout is: a daily window or a dated range, and why."""

    reason: str = Field(
        min_length=1, max_length=MAX_REASON, description="Shown to editors, e.g. 'Giờ nghỉ đêm'"
    )
    daily_start: time | None = Field(
        None,
        description="A daily window's start, a local time of day in LOA_TIMEZONE (e.g. 22:00)",
    )
    daily_end: time | None = Field(
        None, description="A daily window's end; earlier than the start: it crosses midnight"
    )


class BlackoutCreate(BlackoutBase, Strict):
    """A new blackout: `daily_start` and `daily_end`, or `starts_at` and `ends_at`."""

    starts_at: AwareDatetime | None = Field(
        None, description="A dated range's start, RFC 3339 with an offset"
    )
    ends_at: AwareDatetime | None = Field(None, description="A dated range's end (excluded)")


class BlackoutPublic(BlackoutBase):
    """A blackout as shown."""

    id: int
    area_code: str
    kind: BlackoutKind
    timezone: str | None = Field(description="The zone of a daily window's times of day")
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime
