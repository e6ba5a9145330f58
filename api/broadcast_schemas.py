"""Request and response shapes of REST v1 for broadcasts, their status and confirmations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field

from api.notification_schemas import LanguageGapPublic
from api.schemas import Code, Id, Strict
from broadcast.delivery.models import DeliveryState
from broadcast.schedule.blackouts import BlackoutChoice
from broadcast.schedule.edits import EditScope
from broadcast.schedule.models import (
    BroadcastKind,
    BroadcastState,
    BroadcastStatus,
    OccurrenceState,
)
from stations.protocol import Priority


class BroadcastCreate(Strict):
    """Approved bulletins for areas, at `starts_at` and optionally on a recurrence; or,
    with `relay_source_id` and `duration_seconds`, a relay of a live stream."""

    bulletin_ids: list[Id] = Field(
        default_factory=list,
        max_length=100,
        description="In airing order; at least one, except for a relay (none)",
    )
    area_codes: list[Code] = Field(
        min_length=1, max_length=500, description="Target areas; stations resolved at dispatch"
    )
    starts_at: AwareDatetime | None = Field(
        default=None,
        description="First airing, RFC 3339 with offset (optional for an emergency: airs now)",
    )
    rrule: str | None = Field(
        default=None,
        max_length=500,
        description="RFC 5545 RRULE computed in LOA_TIMEZONE, with UNTIL or COUNT, e.g. "
        "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;UNTIL=20261231T235959Z",
    )
    priority: Priority = Priority.normal
    title: str | None = Field(default=None, max_length=300)
    blackout: BlackoutChoice = Field(
        default=BlackoutChoice.refuse,
        description="An airing inside a blackout of a target area (or of an area above it): "
        "`refuse` the broadcast (409, reason `schedule.blackout`), or `move` the airing to "
        "the blackout's end. Emergencies ignore blackouts",
    )
    relay_source_id: Id | None = Field(
        default=None,
        description="A relay: the relay source (GET /relay-sources) whose stream airs, from "
        "each airing's time for `duration_seconds`, to receivers that relay streams",
    )
    duration_seconds: int | None = Field(
        default=None, ge=1, le=24 * 3600, description="A relay's length (with relay_source_id)"
    )


class OccurrencePublic(BaseModel):
    """One airing."""

    seq: int
    ref: str = Field(description="The `broadcast_id` receivers see for this airing")
    air_at: datetime
    dispatch_at: datetime
    expires_at: datetime
    state: OccurrenceState
    dispatched_at: datetime | None
    settled: bool
    detail: str | None = Field(
        None,
        description="Why the airing is as it is, for people: why a station had nothing to "
        "air or was blocked, bulletins that did not fit",
    )
    overflow: dict[str, list[int]] | None = Field(
        None,
        description="Bulletins that did not fit in this airing, by station id; the next "
        "airing of the broadcast at that station airs them first",
    )
    language_gaps: list[LanguageGapPublic] = Field(
        default_factory=list,
        description="Of an airing still to be sent: each bulletin with no ready (rendered, "
        "not rejected) version in a language some of its stations air, with those stations",
    )


class BroadcastPublic(BaseModel):
    """A broadcast as shown."""

    id: int
    title: str | None
    bulletin_ids: list[int]
    area_codes: list[str]
    starts_at: datetime
    rrule: str | None
    schedule_text: str = Field(
        description="The schedule in Vietnamese words, on the wall clock of `timezone`, "
        "e.g. 'Hằng ngày 06:00 và 17:00, từ 03/12/2026 đến 01/01/2027, 60 lượt' or "
        "'Một lần lúc 06:00 ngày 03/12/2026' (read-only)"
    )
    timezone: str
    priority: Priority
    status: BroadcastStatus = Field(
        description="Stored: `scheduled` until the broadcast is `cancelled`"
    )
    state: BroadcastState = Field(
        description="Derived from the airings: `scheduled` (an airing is to come), `airing` "
        "(an airing's time has come and receivers have not all settled), `done` (every "
        "airing settled), `cancelled`"
    )
    created_at: datetime
    cancelled_at: datetime | None
    occurrence_count: int
    next_air_at: datetime | None
    edited_from_id: int | None = Field(
        None, description="Made by editing this broadcast's airings (PATCH /broadcasts/{id})"
    )
    edited_from_seq: int | None = Field(
        None, description="The first airing of `edited_from_id` that this one replaces"
    )
    kind: BroadcastKind = Field(
        BroadcastKind.bulletin,
        description="`bulletin`: it airs bulletins; `relay`: it relays a live stream",
    )
    relay_source_id: int | None = Field(None, description="A relay's source")
    duration_seconds: int | None = Field(None, description="A relay's length, each airing")


class BroadcastDetail(BroadcastPublic):
    """A broadcast with its airings."""

    occurrences: list[OccurrencePublic]
    replaced_by_ids: list[int] = Field(
        default_factory=list,
        description="Broadcasts made by editing airings of this one (they carry them on)",
    )


class MovedAiringPublic(BaseModel):
    """An airing moved out of a blackout."""

    before: datetime = Field(description="The time the schedule gave")
    after: datetime = Field(description="The end of the blackout, where it airs instead")
    reason: str = Field(description="The blackout's reason")


class BroadcastCreated(BroadcastDetail):
    """A broadcast just scheduled, with the airings moved out of blackouts."""

    moved: list[MovedAiringPublic] = Field(
        default_factory=list, description="Airings moved to a blackout's end (`blackout=move`)"
    )


class BroadcastEdit(Strict):
    """Changes to airings still to come of a broadcast (fields left out stay as they are)."""

    scope: EditScope = Field(
        default=EditScope.all,
        description="`this`: airing `seq` only; `following`: airing `seq` and the later "
        "ones; `all`: every airing still to come",
    )
    seq: int | None = Field(
        default=None, ge=1, description="The airing to edit from (`this`, `following`)"
    )
    bulletin_ids: list[Id] | None = Field(default=None, min_length=1, max_length=100)
    area_codes: list[Code] | None = Field(default=None, min_length=1, max_length=500)
    starts_at: AwareDatetime | None = Field(
        default=None,
        description="New time of the first edited airing (RFC 3339 with offset); the "
        "recurrence runs from it. Left out: the airing's own time",
    )
    rrule: str | None = Field(
        default=None,
        max_length=500,
        description="New RFC 5545 RRULE from the first edited airing on; null: no "
        "recurrence (one airing). Left out: the series' rule, ending where it ended",
    )
    title: str | None = Field(default=None, max_length=300)
    blackout: BlackoutChoice = BlackoutChoice.refuse
    duration_seconds: int | None = Field(
        default=None,
        ge=1,
        le=24 * 3600,
        description="A relay's new length, each airing (a broadcast of bulletins refuses it: "
        "`relay.with_bulletins`). Left out: the relay's length",
    )


class BroadcastEdited(BroadcastCreated):
    """The broadcast that now airs the edited airings, and what the edit did."""

    original: BroadcastPublic = Field(description="The broadcast edited (its past is kept)")
    replaced_airings: list[int] = Field(
        description="Numbers of the original's airings cancelled and carried on here"
    )
    cancelled_deliveries: int = Field(
        description="Deliveries of those airings cancelled; receivers that were sent one "
        "get a `cancel`, then this broadcast's programme"
    )


class CancelResult(BaseModel):
    """What a cancel did."""

    broadcast: BroadcastPublic
    cancelled_deliveries: int


class AiringCancelResult(BaseModel):
    """What cancelling one airing did."""

    airing: OccurrencePublic
    cancelled_deliveries: int = Field(
        description="Deliveries cancelled; receivers among them that were sent the programme "
        "get a `cancel`"
    )


class AiringMove(Strict):
    """A new time for one airing not yet sent."""

    air_at: AwareDatetime = Field(
        description="RFC 3339 with an offset; after the airing before it, before the one after"
    )


class RollupPublic(BaseModel):
    """Deliveries of one station or area, counted by state."""

    key: str = Field(description="Station id, or area code")
    name: str
    total: int
    aired: int
    late: int = Field(0, description="Of the aired, those that started late")
    counts: dict[str, int]


class DeliveryPublic(BaseModel):
    """One receiver's (or legacy station's) delivery of one airing, with every time."""

    occurrence: int
    ref: str
    air_at: datetime
    station_id: int
    station_name: str
    area_code: str
    receiver_id: str | None
    state: DeliveryState
    version: str | None
    detail: str | None
    sent_at: datetime | None
    received_at: datetime | None
    downloaded_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    finished_at: datetime | None
    late: bool = Field(
        False,
        description="Aired, but started more than LOA_LATE_AFTER_SECONDS after air_at "
        "(started_at, else completed_at - duration)",
    )
    flags: list[str] = Field(
        default_factory=list,
        description="What the server did not take as reported: clock_clamped, implausible, "
        "contradicted (docs/protocol.md, What the server believes)",
    )
    attempt: int = Field(
        1, description="1 for the first sending; each resend of a failed delivery adds one"
    )
    interrupted_by: str | None = Field(
        None,
        description="Aired again after an emergency interrupted it: the emergency airing "
        "that did, as `<broadcast>.<seq>` (LOA_REAIR_AFTER_EMERGENCY_MINUTES)",
    )
    reaired: bool = Field(
        False, description="This attempt airs again what an emergency interrupted"
    )
    lost_seconds: float | None = Field(
        None, description="A relay: seconds of its window not aired (cuts), as reported"
    )
    reconnects: int | None = Field(
        None, description="A relay: how often the receiver reconnected to the stream"
    )


class BroadcastStatusPublic(BaseModel):
    """Who aired what and who did not."""

    broadcast_id: int
    total: int
    aired: int
    late: int = Field(0, description="Of the aired, those that started late")
    counts: dict[str, int]
    stations: list[RollupPublic]
    areas: list[RollupPublic]
    deliveries: list[DeliveryPublic]
    occurrences: list[OccurrencePublic] = Field(
        default_factory=list,
        description="The airings reported on, with their state (no_content: nothing was "
        "sent) and detail",
    )
    deliveries_total: int = Field(
        0, description="Deliveries matching `state` and `station_id` (all pages)"
    )
    limit: int = Field(500, description="Deliveries per page, as asked")
    offset: int = Field(0, description="Deliveries skipped, as asked")
    next_offset: int | None = Field(
        None, description="The `offset` of the next page of deliveries; null on the last one"
    )


class ConfirmationCreate(Strict):
    """An operator's confirmation that a legacy station aired the broadcast."""

    station_id: Id
    aired_at: AwareDatetime
    note: str | None = Field(default=None, max_length=500)


class ResendCreate(Strict):
    """Which failed receivers of an airing get its programme again."""

    occurrence: Id = Field(description="The airing (seq), as in `occurrence` of a delivery")
    receiver_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None,
        max_length=10_000,
        description="These receivers; omitted: every failed, rejected or missed receiver "
        "of the airing in the caller's area",
    )


class ResendSkipped(BaseModel):
    """A named receiver that was not sent again, and why."""

    receiver_id: str
    reason: str = Field(
        description="resend.receiver_not_in_airing, or resend.not_failed (it is not "
        "failed, rejected or missed)"
    )


class ResendResult(BaseModel):
    """What a resend did: the deliveries now queued again, in their new attempt."""

    ref: str
    resent: list[DeliveryPublic]
    skipped: list[ResendSkipped]


class StationProgrammePublic(BaseModel):
    """What a station airs in the slot around a time."""

    station_id: int
    at: datetime
    air_at: datetime | None
    broadcast_ids: list[int]
    version: str | None
    total_duration_ms: int
    items: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
