"""Per-area pronunciation lexicon read by the text normaliser (no restart needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response

from api import bulletin_schemas as bs
from api import schemas
from api.deps import IdPath, PrincipalDep, RenderWakeDep, SessionDep
from broadcast.bulletins import lexicon
from broadcast.bulletins.models import LexiconEntry
from broadcast.core import audit
from broadcast.people.models import Role
from stations.areas import get_area
from stations.errors import InvalidInputError
from stations.models import Area
from stations.timeutil import as_utc

router = APIRouter(prefix="/lexicon", tags=["lexicon"])


def _public(entry: LexiconEntry, area: Area) -> bs.LexiconEntryPublic:
    return bs.LexiconEntryPublic(
        id=entry.id or 0,
        area_code=area.code,
        term=entry.term,
        reading=entry.reading,
        created_at=as_utc(entry.created_at),
    )


@router.get("", response_model=schemas.Page[bs.LexiconEntryPublic], summary="List entries")
def list_entries(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    area_code: Annotated[str | None, Query(description="Only entries of this area")] = None,
) -> schemas.Page[bs.LexiconEntryPublic]:
    """Lexicon entries of areas in the caller's subtree."""
    rows, total = lexicon.list_entries(
        session=session,
        scope=principal.scope,
        area_code=area_code,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[_public(e, a) for e, a in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", response_model=bs.LexiconEntryPublic, status_code=201, summary="Add an entry")
def create_entry(
    body: bs.LexiconEntryCreate,
    session: SessionDep,
    principal: PrincipalDep,
    background: BackgroundTasks,
    render_wake: RenderWakeDep,
) -> bs.LexiconEntryPublic:
    """How the area reads a term; unapproved versions using it are rendered again."""
    principal.require(Role.editor)
    if body.area_code is not None:
        area = get_area(session=session, code=body.area_code, scope=principal.scope)
    elif principal.area is not None:
        area = principal.area
    else:
        raise InvalidInputError(
            "A global administrator must give the entry's area_code",
            code="lexicon.area_required",
        )
    entry = lexicon.add_reading(
        session=session, principal=principal, area=area, term=body.term, reading=body.reading
    )
    background.add_task(render_wake)
    return _public(entry, area)


@router.delete("/{entry_id}", status_code=204, summary="Remove an entry")
def delete_entry(
    entry_id: IdPath,
    session: SessionDep,
    principal: PrincipalDep,
    background: BackgroundTasks,
    render_wake: RenderWakeDep,
) -> Response:
    """Remove an entry of an area in the caller's subtree."""
    principal.require(Role.editor)
    entry, area = lexicon.get_entry(session=session, entry_id=entry_id, scope=principal.scope)
    lexicon.delete_entry(session=session, entry=entry, area=area)
    audit.record(
        session=session,
        actor=principal.user,
        action="lexicon.delete",
        object_type="lexicon",
        object_id=entry_id,
        area_id=area.id,
        detail={"term": entry.term},
    )
    background.add_task(render_wake)
    return Response(status_code=204)
