"""Dead letters: receiver messages the ingestor could not store (administrators only)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from api import schemas
from api.deps import AdminDep, IdPath, SessionDep
from broadcast.core import audit
from broadcast.delivery import dead_letters
from broadcast.delivery.models import DeadLetter
from stations.timeutil import as_utc

router = APIRouter(prefix="/dead-letters", tags=["dead letters"])


class DeadLetterPublic(BaseModel):
    """A message kept with its raw payload and why it could not be stored."""

    id: int
    received_at: datetime
    topic: str
    receiver_id: str | None
    code: str
    error: str
    payload_text: str  # the payload as UTF-8, undecodable bytes replaced by U+FFFD
    payload_base64: str  # the payload byte for byte


def _public(row: DeadLetter) -> DeadLetterPublic:
    payload = bytes(row.payload)
    return DeadLetterPublic(
        id=row.id or 0,
        received_at=as_utc(row.received_at),
        topic=row.topic,
        receiver_id=row.receiver_id,
        code=row.code,
        error=row.error,
        payload_text=payload.decode("utf-8", errors="replace"),
        payload_base64=base64.b64encode(payload).decode("ascii"),
    )


@router.get("", response_model=schemas.Page[DeadLetterPublic], summary="List dead letters")
def list_dead_letters(
    session: SessionDep,
    principal: AdminDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    receiver_id: Annotated[str | None, Query(max_length=64, description="Only this one's")] = None,
) -> schemas.Page[DeadLetterPublic]:
    """Messages parked by the ingestor, newest first (an area's admin: its receivers')."""
    rows, total = dead_letters.list_letters(
        session=session,
        scope=principal.scope,
        receiver_id=receiver_id,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[_public(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{letter_id}", response_model=DeadLetterPublic, summary="One dead letter")
def get_dead_letter(
    letter_id: IdPath, session: SessionDep, principal: AdminDep
) -> DeadLetterPublic:
    """A parked message with its payload and error."""
    return _public(
        dead_letters.get_letter(session=session, letter_id=letter_id, scope=principal.scope)
    )


@router.delete("/{letter_id}", status_code=204, summary="Discard a dead letter")
def discard_dead_letter(letter_id: IdPath, session: SessionDep, principal: AdminDep) -> Response:
    """Delete a parked message once it has been looked at (recorded in the audit log)."""
    row = dead_letters.get_letter(session=session, letter_id=letter_id, scope=principal.scope)
    audit.record(
        session=session,
        actor=principal.user,
        action="dead_letter.discard",
        object_type="dead_letter",
        object_id=letter_id,
        detail={"topic": row.topic, "receiver_id": row.receiver_id, "code": row.code},
    )
    dead_letters.discard(session=session, letter=row)
    return Response(status_code=204)
