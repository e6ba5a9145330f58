"""Dead letters: receiver messages that could not be stored, kept with their raw payload.

The ingestor parks here a message whose storage fails for a reason of its own (not a
database outage) so that it never holds back the others; administrators read and
discard them over REST (`/api/v1/dead-letters`). Codes are stable (docs/protocol.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Engine, func, insert
from sqlmodel import Session, col, select

from broadcast.delivery.models import DeadLetter
from stations.areas import Scope
from stations.errors import NotFoundError
from stations.models import Area, Receiver, Station

# Stable reason codes (Dead letters in docs/protocol.md).
ACK_STORE_FAILED = "ack.store_failed"
STATE_STORE_FAILED = "state.store_failed"
DECODE_FAILED = "decode_failed"  # an unexpected error while reading a payload
MAX_ERROR_CHARS = 1000


class Letter(NamedTuple):
    """One message to park: where it came from, what it held and why it failed."""

    topic: str
    receiver_id: str | None
    payload: bytes
    code: str
    error: str


def park(engine: Engine, letters: Sequence[Letter], now: datetime) -> None:
    """Store `letters` in one transaction."""
    if not letters:
        return
    table = DeadLetter.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            insert(table),
            [
                {
                    "received_at": now,
                    "topic": letter.topic[:300],
                    "receiver_id": letter.receiver_id[:64] if letter.receiver_id else None,
                    "payload": letter.payload,
                    "code": letter.code,
                    "error": letter.error[:MAX_ERROR_CHARS],
                }
                for letter in letters
            ],
        )


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    """Dead letters an administrator of `scope` may see (global: all; else their receivers')."""
    if scope.path is None:
        return col(DeadLetter.id).is_not(None)
    receivers = select(Receiver.id).join(Station).join(Area).where(scope.clause())
    return col(DeadLetter.receiver_id).in_(receivers)


def list_letters(
    *,
    session: Session,
    scope: Scope,
    receiver_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DeadLetter], int]:
    """Dead letters in scope, newest first, and how many there are."""
    where = [_in_scope(scope)]
    if receiver_id is not None:
        where.append(col(DeadLetter.receiver_id) == receiver_id)
    total = session.exec(select(func.count()).select_from(DeadLetter).where(*where)).one()
    rows = session.exec(
        select(DeadLetter)
        .where(*where)
        .order_by(col(DeadLetter.received_at).desc(), col(DeadLetter.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def get_letter(*, session: Session, letter_id: int, scope: Scope) -> DeadLetter:
    """One dead letter, or NotFoundError when absent or out of scope."""
    row = session.exec(
        select(DeadLetter).where(DeadLetter.id == letter_id, _in_scope(scope))
    ).first()
    if row is None:
        raise NotFoundError(
            f"Dead letter {letter_id} not found", code="dead_letter.not_found", letter_id=letter_id
        )
    return row


def discard(*, session: Session, letter: DeadLetter) -> None:
    """Delete a dead letter (in the caller's transaction)."""
    session.delete(letter)
