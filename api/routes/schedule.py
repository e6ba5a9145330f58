"""Schedules in plain Vietnamese: what a phrase means, before a broadcast is created with it."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ClockDep, PrincipalDep, SettingsDep
from api.schemas import Strict
from broadcast.schedule.describe import Span, airing_text, describe_schedule
from broadcast.schedule.recurrence import airings, parse_plain

router = APIRouter(prefix="/schedule", tags=["broadcasts"])

FIRST_AIRINGS = 10


class ScheduleText(Strict):
    """A recurrence in plain words and the days of its campaign."""

    text: str = Field(
        min_length=1,
        max_length=500,
        description="Plain Vietnamese, e.g. 'thứ hai đến thứ sáu lúc 6:00 và 17:30'",
    )
    starts_on: date | None = Field(
        default=None,
        description="First day of the campaign in LOA_TIMEZONE (default today); a date in "
        "the text (ngày 10/12) replaces it",
    )
    until: date | None = Field(
        default=None, description="Last day of the campaign (included); a repetition needs it"
    )


class ScheduleParsed(BaseModel):
    """What the phrase means: the rule to give POST /broadcasts and its first airings."""

    rrule: str | None = Field(description="RFC 5545 RRULE in LOA_TIMEZONE; null: one airing")
    starts_at: datetime = Field(description="The first airing: the broadcast's starts_at")
    times: list[str] = Field(description="Times of day, HH:MM, earliest first")
    weekdays: list[str] = Field(description="BYDAY codes (MO..SU); empty when not by weekday")
    first_airings: list[datetime] = Field(
        description=f"The first {FIRST_AIRINGS} airings, with the offset of LOA_TIMEZONE"
    )
    airing_count: int = Field(description="How many airings the campaign has in all")
    summary: str = Field(
        description="The schedule in Vietnamese words, e.g. 'Hằng ngày 06:00 và 17:00, từ "
        "03/12/2026 đến 01/01/2027, 60 lượt'; the console shows it before saving"
    )
    first_airings_text: list[str] = Field(
        description=f"The first {FIRST_AIRINGS} airings as people read them, dd/mm/yyyy HH:MM "
        "in LOA_TIMEZONE"
    )


@router.post("/parse", response_model=ScheduleParsed, summary="Read a schedule in plain words")
def parse_schedule(
    body: ScheduleText, settings: SettingsDep, clock: ClockDep, principal: PrincipalDep
) -> ScheduleParsed:
    """The RRULE and first airings of a phrase; 422 names the words not understood."""
    zone = settings.zone
    first_day = body.starts_on or clock().astimezone(zone).date()
    plan = parse_plain(body.text, first_day=first_day, until=body.until, zone=zone)
    every = airings(plan, zone=zone)
    return ScheduleParsed(
        rrule=plan.rrule,
        starts_at=plan.starts_at,
        times=[t.strftime("%H:%M") for t in plan.times],
        weekdays=list(plan.weekdays),
        first_airings=every[:FIRST_AIRINGS],
        airing_count=len(every),
        summary=describe_schedule(
            starts_at=plan.starts_at,
            rule=plan.rrule,
            zone=zone,
            span=Span(len(every), every[0], every[-1]),
        ),
        first_airings_text=[airing_text(t, zone) for t in every[:FIRST_AIRINGS]],
    )
