"""The audit log."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api import schemas
from api.convert import audit_public
from api.deps import AdminDep, SessionDep
from broadcast.core import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=schemas.Page[schemas.AuditEventPublic], summary="Audit log")
def list_events(
    session: SessionDep,
    principal: AdminDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    object_type: str | None = None,
    object_id: str | None = None,
) -> schemas.Page[schemas.AuditEventPublic]:
    """Who did what to which object in the administrator's subtree, newest first."""
    rows, total = audit.list_events(
        session=session,
        scope=principal.scope,
        object_type=object_type,
        object_id=object_id,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[audit_public(e) for e in rows], total=total, limit=page.limit, offset=page.offset
    )
