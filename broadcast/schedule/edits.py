"""Editing a broadcast's series: this airing, this and the following ones, or all to come.

Calendar programs edit a recurring event in three ways (RFC 5545: an instance with a
RECURRENCE-ID, THISANDFUTURE, the whole series); Loa does the same on a broadcast:

- `this` (one airing N): airing N is cancelled, and a one-off broadcast with the
  changes airs in its place (an EXDATE plus an instance of its own);
- `following` (airing N and later): the airings from N on are cancelled, the series is
  cut before N (its rule ends there), and a new broadcast carries the changes on from
  N's time with the same recurrence unless a new one is given (THISANDFUTURE);
- `all`: `following` from the first airing not yet aired.

What has aired keeps its as-run record: only airings still to come are edited, each
cancelled in the one way airings are cancelled (a receiver already sent one gets
`cancel`). The new broadcast names the one it was edited from (`edited_from_id`,
`edited_from_seq`), so reports and the console link the two. A broadcast all of whose
airings were replaced is marked cancelled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic_core import to_jsonable_python
from sqlmodel import Session, col, select

from broadcast.core import audit
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.schedule.blackouts import BlackoutChoice, MovedAiring
from broadcast.schedule.models import Broadcast, BroadcastStatus, Occurrence, OccurrenceState
from broadcast.schedule.service import (
    _cancel_occurrence,
    air_times,
    get_broadcast,
    occurrence_ref,
    scheduled_broadcast,
)
from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.protocol import Priority
from stations.timeutil import as_utc, utcnow

_END = re.compile(r";?\b(COUNT|UNTIL)=[^;]*", re.IGNORECASE)
UNSET: object = object()


class EditScope(StrEnum):
    """Which airings of a series an edit changes."""

    this = "this"
    following = "following"
    all = "all"


@dataclass(frozen=True, slots=True)
class SeriesChanges:
    """What changes; a field left None keeps the series' value."""

    bulletin_ids: Sequence[int] | None = None
    area_codes: Sequence[str] | None = None
    starts_at: datetime | None = None  # the first edited airing's new time
    rrule: str | None | object = UNSET  # None or "": no recurrence from there on
    title: str | None | object = UNSET
    duration_seconds: int | None = None  # a relay's new length, each airing


@dataclass(frozen=True, slots=True)
class SeriesEdit:
    """What an edit did."""

    original: Broadcast
    broadcast: Broadcast  # the new broadcast that airs the edited airings
    replaced: list[int]  # numbers of the original's airings cancelled and replaced
    cancelled_deliveries: int
    moved: list[MovedAiring]


def _until(rule: str, last: datetime) -> str:
    """`rule` ending at `last` (UTC): its COUNT or UNTIL replaced by UNTIL=last."""
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    body = _END.sub("", body).strip(";")
    return f"{body};UNTIL={as_utc(last).strftime('%Y%m%dT%H%M%SZ')}"


def _at_time_of(rule: str, moment: datetime, before: datetime) -> str:
    """`rule` moved from the local time of day of `before` to that of `moment`.

    A single BYHOUR, BYMINUTE or BYSECOND becomes `moment`'s: a series moved to a new
    time airs at it, not at the hour its old rule names. A list of hours (BYHOUR=6,17)
    moves each hour by as much as the airing moved (6:00 to 7:30 makes 7:30 and 18:30),
    when the minutes are not a list themselves (those are left as written).
    """
    fields = {"BYHOUR": moment.hour, "BYMINUTE": moment.minute, "BYSECOND": moment.second}
    names = {p.partition("=")[0].upper(): p.partition("=")[2] for p in rule.split(";")}
    minutes_listed = "," in names.get("BYMINUTE", "")
    moved = (moment.hour * 60 + moment.minute) - (before.hour * 60 + before.minute)
    parts = []
    for part in rule.split(";"):
        name, _, value = part.partition("=")
        key = name.upper()
        if key in fields and value and "," not in value:
            part = f"{name}={fields[key]}"
        elif key == "BYHOUR" and value and not minutes_listed:
            try:
                hours = [int(h) for h in value.split(",")]
            except ValueError:
                hours = []  # not a rule this could parse: left for the parser to refuse
            if hours:
                shifted = sorted({(h * 60 + before.minute + moved) // 60 % 24 for h in hours})
                part = f"{name}={','.join(str(h) for h in shifted)}"
        parts.append(part)
    return ";".join(parts)


def _editable(occ: Occurrence, now: datetime) -> bool:
    return (
        occ.state in (OccurrenceState.pending, OccurrenceState.dispatched)
        and not occ.settled
        and as_utc(occ.air_at) > now
    )


def _window(
    airings: Sequence[Occurrence], scope: EditScope, seq: int | None, now: datetime, ref: str
) -> list[Occurrence]:
    if scope is EditScope.all:
        window = [o for o in airings if _editable(o, now)]
        if not window:
            raise ConflictError(
                f"Broadcast {ref} has no airing left to edit: every airing has aired, "
                "ended or been cancelled",
                code="series.nothing_to_edit",
                broadcast_id=ref,
            )
        return window
    if seq is None:
        raise InvalidInputError(
            f"Name the airing (seq) to edit from with scope {scope.value}",
            code="series.seq_required",
            scope=scope.value,
        )
    chosen = next((o for o in airings if o.seq == seq), None)
    if chosen is None:
        raise NotFoundError(
            f"Broadcast {ref} has no airing {seq}",
            code="broadcast.airing_not_found",
            broadcast_id=ref,
            seq=seq,
        )
    if not _editable(chosen, now):
        airing = f"{ref}.{seq}"
        raise ConflictError(
            f"Airing {airing} has aired, ended or been cancelled ({chosen.state}): "
            "only airings still to come can be edited",
            code="series.airing_not_editable",
            ref=airing,
            state=str(chosen.state),
        )
    if scope is EditScope.this:
        return [chosen]
    return [o for o in airings if o.seq >= seq and _editable(o, now)]


def edit_series(
    *,
    session: Session,
    settings: Settings,
    principal: Principal,
    broadcast_id: int,
    scope: EditScope,
    seq: int | None,
    changes: SeriesChanges,
    now: datetime | None = None,
    wake: Callable[[], None] | None = None,
    blackout: BlackoutChoice = BlackoutChoice.refuse,
) -> SeriesEdit:
    """An editor edits airings still to come of a broadcast; committed and audit-logged."""
    principal.require(Role.editor)
    now = now or utcnow()
    original = get_broadcast(session=session, broadcast_id=broadcast_id, scope=principal.scope)
    ref = str(broadcast_id)
    if original.status == BroadcastStatus.cancelled:
        raise ConflictError(
            f"Broadcast {broadcast_id} is cancelled", code="series.cancelled", broadcast_id=ref
        )
    if Priority(original.priority) is Priority.emergency:
        raise ConflictError(
            f"Broadcast {broadcast_id} is an emergency: cancel it and send a new one",
            code="series.emergency",
            broadcast_id=ref,
        )
    airings = list(
        session.exec(
            select(Occurrence)
            .where(Occurrence.broadcast_id == broadcast_id)
            .order_by(col(Occurrence.seq))
        ).all()
    )
    window = _window(airings, scope, seq, now, ref)
    first = window[0]
    first_at = as_utc(first.air_at)
    starts_at = changes.starts_at or first_at
    if starts_at.tzinfo is None:
        raise InvalidInputError(
            "starts_at needs an offset (RFC 3339)", code="broadcast.start_without_offset"
        )
    shift = as_utc(starts_at) - first_at
    rule: str | None
    if scope is EditScope.this:
        rule = None
    elif changes.rrule is not UNSET:
        rule = str(changes.rrule) if changes.rrule else None
    elif original.rrule:
        # The same recurrence from the edited airing on, ending where the series ended.
        old_times = air_times(
            starts_at=as_utc(original.starts_at), rule=original.rrule, zone=settings.zone
        )
        rule = _until(original.rrule, old_times[-1] + shift)
        if shift:
            rule = _at_time_of(
                rule,
                as_utc(starts_at).astimezone(settings.zone),
                first_at.astimezone(settings.zone),
            )
    else:
        rule = None
    title = original.title if changes.title is UNSET else changes.title
    if title is not None and not isinstance(title, str):
        raise InvalidInputError("title must be text", code="series.invalid_title")
    cancelled = 0
    for occ in window:
        cancelled += _cancel_occurrence(session, occ, now)
    if scope is not EditScope.this and original.rrule and first.seq > 1:
        # The series now ends before the edited airing (for the schedule's wording).
        original.rrule = _until(original.rrule, first_at - timedelta(seconds=1))
    if all(o.state == OccurrenceState.cancelled for o in airings):
        original.status = BroadcastStatus.cancelled
        original.cancelled_at = now
    session.add(original)
    session.flush()
    result = scheduled_broadcast(
        session=session,
        settings=settings,
        actor=principal.user,
        scope=principal.scope,
        bulletin_ids=list(changes.bulletin_ids or original.bulletin_ids),
        area_codes=list(changes.area_codes or original.area_codes),
        starts_at=starts_at,
        rule=rule,
        priority=Priority(original.priority),
        title=title,
        now=now,
        blackout=blackout,
        # A relay stays a relay of the same stream (of a new length if given).
        relay_source_id=original.relay_source_id,
        duration_seconds=changes.duration_seconds or original.duration_seconds,
    )
    edited = result.broadcast
    edited.edited_from_id = broadcast_id
    edited.edited_from_seq = first.seq
    session.add(edited)
    replaced = [o.seq for o in window]
    audit.record(
        session=session,
        actor=principal.user,
        action="broadcast.edit",
        object_type="broadcast",
        object_id=broadcast_id,
        area_id=original.area_id,
        detail={
            "scope": scope.value,
            "from": occurrence_ref(broadcast_id, first.seq),
            "replaced": replaced,
            "new_broadcast_id": edited.id,
            "bulletin_ids": list(edited.bulletin_ids),
            "area_codes": list(edited.area_codes),
            "starts_at": to_jsonable_python(as_utc(starts_at)),
            "rrule": rule,
            "cancelled_deliveries": cancelled,
        },
    )
    session.commit()
    if wake is not None:
        wake()
    return SeriesEdit(original, edited, replaced, cancelled, result.moved)


def replaced_by(session: Session, broadcast_ids: Sequence[int]) -> dict[int, list[int]]:
    """The broadcasts edited from each of `broadcast_ids` (one query)."""
    found: dict[int, list[int]] = {}
    if not broadcast_ids:
        return found
    rows = session.exec(
        select(Broadcast.edited_from_id, Broadcast.id)
        .where(col(Broadcast.edited_from_id).in_(list(broadcast_ids)))
        .order_by(col(Broadcast.id))
    ).all()
    for source, target in rows:
        if source is not None and target is not None:
            found.setdefault(source, []).append(target)
    return found
