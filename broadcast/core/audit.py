"""The append-only audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from broadcast.people.models import AuditEvent, User
from stations.areas import Scope
from stations.models import Area


def record(
    *,
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str | int,
    area_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor=actor.username if actor else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        area_id=area_id,
        detail=detail or {},
    )
    session.add(event)
    return event


def list_events(
    *,
    session: Session,
    scope: Scope,
    object_type: str | None = None,
    object_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[AuditEvent], int]:
    """Events about objects in scope, newest first."""
    stmt = select(AuditEvent)
    if scope.path is not None:
        stmt = stmt.join(Area, col(AuditEvent.area_id) == col(Area.id)).where(scope.clause())
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(AuditEvent.id).desc()).offset(offset).limit(limit)).all()
    return rows, total
