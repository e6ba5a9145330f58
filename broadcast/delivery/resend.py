"""Sending a failed delivery again: one receiver, or every failed receiver of an airing.

A receiver whose programme failed (its audio could not be downloaded, it refused the
command, or it never finished airing) can be sent the programme again while its airing
has not expired. The delivery starts its next `attempt`: its command gets a new
`version` (docs/protocol.md: a new version for the same `broadcast_id` replaces the one
the receiver holds, so it downloads and airs again instead of repeating its last
answer), its times and flags are cleared, it goes back to `queued`, and the publisher
sends it. The as-run log keeps every attempt's events apart (`delivery_event.attempt`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from broadcast.core import audit
from broadcast.delivery.models import Delivery, DeliveryState, record_events
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.schedule.models import Occurrence, OccurrenceState
from broadcast.schedule.service import get_broadcast
from stations.areas import Area
from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.models import Station
from stations.protocol import ProgrammeCommand, decode_command, encode
from stations.timeutil import as_utc

# What an operator may send again: the receiver's own failures and the missed airing.
# (`expired` is past its airing's expiry by definition; aired ones need nothing.)
RESENDABLE = (DeliveryState.failed, DeliveryState.rejected, DeliveryState.missed)
MAX_RECEIVERS = 10_000  # receiver ids one request may name


@dataclass
class Resend:
    """What one resend request did."""

    occurrence: Occurrence
    # The deliveries queued again, in their new attempt, with their station and area.
    resent: list[tuple[Delivery, Station, Area]] = field(default_factory=list)
    # Named receivers that were not sent again, with the reason's code.
    skipped: list[tuple[str, str]] = field(default_factory=list)


def next_version(version: str | None, attempt: int) -> str:
    """The command version of an attempt: new for the receiver, derived from the content's."""
    return hashlib.sha256(f"{version or ''}/attempt/{attempt}".encode()).hexdigest()


def _command(payload: str, version: str) -> str:
    command = decode_command(payload.encode())
    if not isinstance(command, ProgrammeCommand):  # pragma: no cover - stored by dispatch
        raise ValueError("a delivery keeps its programme command")
    return encode(command.model_copy(update={"version": version})).decode()


def resend_deliveries(
    *,
    session: Session,
    principal: Principal,
    broadcast_id: int,
    seq: int,
    receiver_ids: Sequence[str] | None = None,
    now: datetime,
    wake: Callable[[], None] | None = None,
) -> Resend:
    """Send an airing's programme again to failed receivers in the caller's area.

    `receiver_ids` names the receivers; None means every receiver of the airing whose
    delivery is `failed`, `rejected` or `missed`. Committed and audit-logged, then the
    publisher is woken. A named receiver that cannot be sent again is reported in
    `skipped` with a reason code; an airing that has expired, was cancelled or was never
    dispatched raises ConflictError.
    """
    principal.require(Role.operator, Role.editor, Role.approver)
    if receiver_ids is not None and len(receiver_ids) > MAX_RECEIVERS:
        raise InvalidInputError(
            f"At most {MAX_RECEIVERS} receivers can be sent again at once",
            code="resend.too_many",
            limit=MAX_RECEIVERS,
        )
    broadcast = get_broadcast(session=session, broadcast_id=broadcast_id, scope=principal.scope)
    occ = session.exec(
        select(Occurrence).where(Occurrence.broadcast_id == broadcast_id, Occurrence.seq == seq)
    ).first()
    if occ is None:
        raise NotFoundError(
            f"Broadcast {broadcast_id} has no airing {seq}",
            code="broadcast.airing_not_found",
            broadcast_id=broadcast_id,
            seq=seq,
        )
    if occ.state != OccurrenceState.dispatched:
        raise ConflictError(
            f"Airing {broadcast_id}.{seq} is {occ.state}: only a dispatched airing "
            "can be sent again",
            code="resend.not_dispatched",
            ref=f"{broadcast_id}.{seq}",
            state=str(occ.state),
        )
    if as_utc(occ.expires_at) <= now:
        raise ConflictError(
            f"Airing {broadcast_id}.{seq} expired at {as_utc(occ.expires_at).isoformat()}: "
            "it can no longer be sent",
            code="resend.expired",
            ref=f"{broadcast_id}.{seq}",
            expires_at=as_utc(occ.expires_at),
        )
    stmt = (
        select(Delivery, Station, Area)
        .join(Station, col(Delivery.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(
            Delivery.occurrence_id == occ.id,
            col(Delivery.receiver_id).is_not(None),
            principal.scope.clause(),
        )
        .order_by(col(Delivery.id))
    )
    if receiver_ids is not None:
        stmt = stmt.where(col(Delivery.receiver_id).in_(sorted(set(receiver_ids))))
    else:
        stmt = stmt.where(col(Delivery.state).in_([s.value for s in RESENDABLE]))
    found = {row[0].receiver_id: row for row in session.exec(stmt).all()}
    result = Resend(occurrence=occ)
    for receiver_id in dict.fromkeys(receiver_ids or []):
        row = found.get(receiver_id)
        if row is None:
            result.skipped.append((receiver_id, "resend.receiver_not_in_airing"))
        elif row[0].state not in RESENDABLE or row[0].payload is None:
            result.skipped.append((receiver_id, "resend.not_failed"))
    events = []
    for delivery, station, area in found.values():
        if delivery.state not in RESENDABLE or delivery.payload is None:
            continue
        delivery.attempt += 1
        delivery.version = next_version(delivery.version, delivery.attempt)
        delivery.payload = _command(delivery.payload, delivery.version)
        delivery.state = DeliveryState.queued
        delivery.detail = None
        delivery.flags = None
        delivery.sent_at = delivery.received_at = delivery.downloaded_at = None
        delivery.started_at = delivery.completed_at = delivery.finished_at = None
        delivery.updated_at = now
        session.add(delivery)
        events.append(
            {
                "delivery_id": delivery.id,
                "attempt": delivery.attempt,
                "state": DeliveryState.queued.value,
                "at": now,
                "source": "operator",
                "actor_id": principal.user.id,
                "detail": "sent again",
            }
        )
        result.resent.append((delivery, station, area))
    if result.resent:
        occ.settled = False
        session.add(occ)
        session.flush()
        record_events(session, events)
        audit.record(
            session=session,
            actor=principal.user,
            action="broadcast.resend",
            object_type="broadcast",
            object_id=broadcast_id,
            area_id=broadcast.area_id,
            detail={
                "occurrence": seq,
                "receivers": [d.receiver_id for d, _, _ in result.resent],
            },
        )
    session.commit()
    if result.resent and wake is not None:
        wake()
    return result
