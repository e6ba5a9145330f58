"""The delivery state machine: what a report does to a delivery, and what the server believes.

The rules of docs/protocol.md ("Delivery state machine (server side)" and "What the
server believes") live here and nowhere else: the precedence of states, the clamping of
times a receiver's clock cannot have given, the plausibility of a start or a completion,
`expired` for a programme rejected after its expiry, and lateness (derived, never a
state). `apply_report` is pure: the ingestor folds it over every acknowledgement of a
batch, deadlines and operators' confirmations use the same precedence, and reports use
`late_clause` for the same lateness in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Interval,
    and_,
    cast,
    func,
    literal_column,
)

from broadcast.delivery.models import STATE_RANK, DeliveryState

if TYPE_CHECKING:
    from broadcast.core.settings import Settings

S = DeliveryState
RANK: dict[str, int] = {state.value: rank for state, rank in STATE_RANK.items()}
# Plain strings: the ingestor applies reports thousands of times a second.
_QUEUED, _SENT, _STARTED = S.queued.value, S.sent.value, S.started.value
_RECEIVED, _DOWNLOADED, _COMPLETED = S.received.value, S.downloaded.value, S.completed.value
_REJECTED, _EXPIRED, _CONFIRMED = S.rejected.value, S.expired.value, S.confirmed.value

# Receivers' own ends: once one is believed, a different end is a contradiction.
RECEIVER_ENDS = frozenset({S.completed.value, S.failed.value, S.rejected.value})
# The server's verdicts, drawn from silence: a believed receiver end supersedes them.
VERDICTS = frozenset({S.cancelled.value, S.expired.value, S.missed.value})
# Dispatch's verdicts (nothing was sent) and the operator's confirmation: never left.
CLOSED = frozenset({S.no_content.value, S.blocked.value, S.confirmed.value})
AIRED = frozenset({S.completed.value, S.confirmed.value})
# What the deadlines decide on: never received by expires_at -> expired; under way and
# not completed by air_at + duration + grace -> missed.
EXPIRABLE = (S.queued.value, S.sent.value)
MISSABLE = (S.received.value, S.downloaded.value, S.started.value)
# Ends whose time is `finished_at` (completed has `completed_at`).
_FINISHED = frozenset({S.failed.value, S.rejected.value, S.expired.value, S.missed.value})

# The column that keeps the time of each reported state.
TIME_COLUMN: dict[str, str] = {
    S.received.value: "received_at",
    S.downloaded.value: "downloaded_at",
    S.started.value: "started_at",
    S.completed.value: "completed_at",
    S.failed.value: "finished_at",
    S.rejected.value: "finished_at",
}
TIME_COLUMNS = (
    "sent_at",
    "received_at",
    "downloaded_at",
    "started_at",
    "completed_at",
    "finished_at",
)

# Plausibility flags (Delivery.flags, comma-separated).
CLOCK_CLAMPED = "clock_clamped"  # a reported time was outside the airing's window
IMPLAUSIBLE = "implausible"  # a start or completion that cannot have happened
CONTRADICTED = "contradicted"  # a receiver reported an end other than the one it had
NOT_BELIEVED = "not believed: "  # how the as-run log marks a report it did not believe
IMPLIED_SENT = "implied by the receiver's report"
EXPIRED_ON_RECEIVER = "rejected at or after expires_at"


def supersedes(new: str, current: str) -> bool:
    """Whether a believed report (or verdict) of state `new` replaces state `current`.

    Progress only moves forward (by STATE_RANK); a verdict of the server (cancelled,
    expired, missed) gives way only to a receiver's end, since a `started` alone may yet
    fail and no deadline comes back to it; a receiver's end is final; dispatch's
    verdicts and an operator's confirmation are never left, except that a confirmation
    replaces anything but itself.
    """
    if new == current:
        return False
    if new == _CONFIRMED:
        return True
    if current in RECEIVER_ENDS or current in CLOSED:
        return False
    if current in VERDICTS:
        return new in RECEIVER_ENDS
    return RANK[new] > RANK[current]


@dataclass(frozen=True, slots=True)
class Rules:
    """The allowances of the plausibility and lateness rules (from Settings)."""

    skew: timedelta = timedelta(seconds=120)  # LOA_CLOCK_SKEW_SECONDS
    grace: timedelta = timedelta(seconds=300)  # LOA_MISSED_GRACE_SECONDS
    late_after: timedelta = timedelta(seconds=300)  # LOA_LATE_AFTER_SECONDS

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        """The rules the settings ask for."""
        return cls(
            skew=timedelta(seconds=settings.clock_skew_seconds),
            grace=timedelta(seconds=settings.missed_grace_seconds),
            late_after=timedelta(seconds=settings.late_after_seconds),
        )


@dataclass(frozen=True, slots=True)
class Timing:
    """What the rules need of one delivery's airing: its times and programme length."""

    air_at: datetime
    expires_at: datetime
    dispatched_at: datetime | None
    duration_ms: int
    length: timedelta = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "length", timedelta(milliseconds=self.duration_ms))

    def window(self, rules: Rules) -> tuple[datetime, datetime]:
        """The times a report can truthfully carry: [dispatched - skew, expiry + length + grace]."""
        start = self.dispatched_at if self.dispatched_at is not None else self.air_at
        return start - rules.skew, self.expires_at + self.length + rules.grace


# Named tuples, not dataclasses: thousands are made a second, and they compare as values.
class Standing(NamedTuple):
    """Where a delivery stands: its state, the time of each state, its flags."""

    state: str
    sent_at: datetime | None = None
    received_at: datetime | None = None
    downloaded_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    finished_at: datetime | None = None
    flags: frozenset[str] = frozenset()

    def time(self, column: str) -> datetime | None:
        """The time kept in `column`."""
        value: datetime | None = getattr(self, column)
        return value


class Event(NamedTuple):
    """One as-run event a report leaves (delivery_event), believed or not."""

    state: str
    at: datetime
    source: str  # "receiver", or "server" for what the server concludes from it
    detail: str | None
    believed: bool


class Step(NamedTuple):
    """What one report did: the delivery's new standing, its events, its new detail."""

    standing: Standing
    events: tuple[Event, ...]
    detail: str | None = None  # set when the report changed the state and carried one
    believed: bool = True
    clamped: bool = False  # its time was replaced by the receive time


def parse_flags(text: str | None) -> frozenset[str]:
    """Delivery.flags as a set."""
    return frozenset(f for f in text.split(",") if f) if text else frozenset()


def format_flags(flags: frozenset[str]) -> str | None:
    """A set of flags as Delivery.flags stores it (sorted, comma-separated; None if empty)."""
    return ",".join(sorted(flags)) if flags else None


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.1f} min"


def _earliest(kept: datetime | None, new: datetime) -> datetime:
    return new if kept is None or new < kept else kept


def apply_report(
    standing: Standing,
    state: str,
    at: datetime,
    detail: str | None,
    *,
    timing: Timing,
    rules: Rules,
    now: datetime,
) -> Step:
    """What one receiver report (`state` at `at`, its clock) does to a delivery.

    `now` is when the server received it. In order: a time outside the airing's window
    is replaced by `now` (flag clock_clamped); a report for a delivery still `queued`
    implies `sent`; a `rejected` at or after expires_at means `expired`; a start before
    air_at - skew, or a completion whose start (started_at, else completed_at - duration)
    is, is not believed (flag implausible), nor an end other than the receiver's own
    earlier end (flag contradicted): such a report is only an event. A believed report
    keeps the earliest time per state and changes the state when `supersedes` says so.
    """
    flags = standing.flags
    low, high = timing.window(rules)
    clamp_note = None
    if at < low or at > high:
        clamp_note = f"clock clamped: the receiver said {at.isoformat()}"
        at = now
        flags = flags | {CLOCK_CLAMPED}
    current = standing.state
    sent_at = standing.sent_at
    events: list[Event] = []
    if current == _QUEUED:
        # The receiver has the command, so it was sent, whatever the sent-marking says.
        implied = at if at < now else now
        if timing.dispatched_at is not None and implied < timing.dispatched_at:
            implied = timing.dispatched_at
        sent_at = _earliest(sent_at, implied)
        current = _SENT
        events.append(Event(_SENT, sent_at, "server", IMPLIED_SENT, True))
    started_at, completed_at = standing.started_at, standing.completed_at
    why = None
    if state == _STARTED:
        if at < timing.air_at - rules.skew:
            why = f"started {_minutes(timing.air_at - at)} before air time"
        elif completed_at is not None and at > completed_at:
            why = "started after it completed"
    elif state == _COMPLETED:
        start = started_at
        if start is None:
            start = at - timing.length
        if start < timing.air_at - rules.skew:
            why = f"started {_minutes(timing.air_at - start)} before air time"
        elif at < start:
            why = "completed before it started"
    if why is not None:
        flags = flags | {IMPLAUSIBLE}
    elif state != current and state in RECEIVER_ENDS and current in RECEIVER_ENDS:
        why = f"contradicts {current}"
        flags = flags | {CONTRADICTED}
    if clamp_note is None:
        note = detail
    elif detail is None:
        note = clamp_note
    else:
        note = f"{clamp_note}; {detail}"
    if why is not None:
        why = NOT_BELIEVED + why
        events.append(Event(state, at, "receiver", f"{why}; {note}"[:500] if note else why, False))
        new = Standing(
            current,
            sent_at,
            standing.received_at,
            standing.downloaded_at,
            started_at,
            completed_at,
            standing.finished_at,
            flags,
        )
        return Step(new, tuple(events), None, False, clamp_note is not None)
    received_at, downloaded_at = standing.received_at, standing.downloaded_at
    finished_at = standing.finished_at
    if state == _RECEIVED:
        received_at = _earliest(received_at, at)
    elif state == _DOWNLOADED:
        downloaded_at = _earliest(downloaded_at, at)
    elif state == _STARTED:
        started_at = _earliest(started_at, at)
    elif state == _COMPLETED:
        completed_at = _earliest(completed_at, at)
    events.append(Event(state, at, "receiver", note[:500] if note else None, True))
    # A programme rejected at or after its expiry expired on the receiver.
    effect = _EXPIRED if state == _REJECTED and at >= timing.expires_at else state
    new_detail = None
    if supersedes(effect, current):
        current = effect
        new_detail = detail
        if effect in _FINISHED:
            finished_at = at
        if effect != state:  # expired on the receiver: the server's verdict, from its report
            events.append(Event(_EXPIRED, at, "server", EXPIRED_ON_RECEIVER, True))
            new_detail = detail or EXPIRED_ON_RECEIVER
    elif effect == current and effect in _FINISHED:
        finished_at = _earliest(finished_at, at)
    new = Standing(
        current, sent_at, received_at, downloaded_at, started_at, completed_at, finished_at, flags
    )
    return Step(new, tuple(events), new_detail, True, clamp_note is not None)


# --- lateness ----------------------------------------------------------------------------


def airing_start(
    started_at: datetime | None, completed_at: datetime | None, duration_ms: int
) -> datetime | None:
    """When an airing started: started_at, else completed_at - duration, else unknown."""
    if started_at is not None:
        return started_at
    if completed_at is not None:
        return completed_at - timedelta(milliseconds=duration_ms or 0)
    return None


def is_late(
    state: str,
    air_at: datetime,
    started_at: datetime | None,
    completed_at: datetime | None,
    duration_ms: int,
    late_after: timedelta,
) -> bool:
    """Whether an aired delivery started later than air_at + late_after (never for others)."""
    if state not in AIRED:
        return False
    start = airing_start(started_at, completed_at, duration_ms)
    return start is not None and start > air_at + late_after


def _epoch_ms(column: Any) -> ColumnElement[int]:
    # SQLite keeps UTC times as text; whole milliseconds keep the comparison exact.
    return cast(func.round((func.julianday(column) - 2440587.5) * 86_400_000.0), Integer)


def late_clause(
    delivery: FromClause, occurrence: FromClause, *, late_after_seconds: int, dialect: str
) -> ColumnElement[bool]:
    """SQL of `is_late` for rows of `delivery` joined to their `occurrence`.

    For reports: e.g. `func.sum(case((late_clause(d, o, ...), 1), else_=0))`. SQLite
    compares whole milliseconds, PostgreSQL exact times.
    """
    d, o = delivery.c, occurrence.c
    aired = d.state.in_(sorted(AIRED))
    seconds = int(late_after_seconds)
    if dialect == "sqlite":
        start = func.coalesce(_epoch_ms(d.started_at), _epoch_ms(d.completed_at) - d.duration_ms)
        return and_(aired, start > _epoch_ms(o.air_at) + seconds * 1000)
    millisecond = literal_column("INTERVAL '1 millisecond'", Interval())
    start_pg = func.coalesce(d.started_at, d.completed_at - d.duration_ms * millisecond)
    return and_(aired, start_pg > o.air_at + literal_column(f"INTERVAL '{seconds} seconds'"))
