"""The administrative area tree."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api import bulletin_schemas as bs
from api import schemas
from api.convert import area_public
from api.deps import AdminDep, PrincipalDep, SessionDep
from broadcast.bulletins import reviewers, voices
from broadcast.core import audit
from stations import areas
from stations.models import Area, AreaLevel

router = APIRouter(prefix="/areas", tags=["areas"])


@router.get("", response_model=schemas.Page[schemas.AreaPublic], summary="List areas")
def list_areas(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    parent_code: Annotated[str | None, Query(description="Only direct children of")] = None,
    within: Annotated[str | None, Query(description="Only the subtree of this area")] = None,
    level: AreaLevel | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Name or code contains")] = None,
) -> schemas.Page[schemas.AreaPublic]:
    """Areas in the caller's subtree, ordered as a tree."""
    rows, total = areas.list_areas(
        session=session,
        scope=principal.scope,
        parent_code=parent_code,
        within=within,
        level=level,
        q=q,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[area_public(session, a) for a in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=schemas.AreaPublic, status_code=201, summary="Create an area")
def create_area(
    body: schemas.AreaCreate, session: SessionDep, principal: AdminDep
) -> schemas.AreaPublic:
    """Add a province, district, commune or village under `parent_code`."""
    area = areas.create_area(
        session=session,
        code=body.code,
        name=body.name,
        level=body.level,
        parent_code=body.parent_code,
        scope=principal.scope,
        border=body.border,
    )
    voices.set_voice(area, body.model_dump(include=set(voices.VOICE_FIELDS), exclude_unset=True))
    session.add(area)
    audit.record(
        session=session,
        actor=principal.user,
        action="area.create",
        object_type="area",
        object_id=area.code,
        area_id=area.id,
        detail=body.model_dump(mode="json"),
    )
    return area_public(session, area)


@router.get("/{code}", response_model=schemas.AreaPublic, summary="Show an area")
def get_area(code: str, session: SessionDep, principal: PrincipalDep) -> schemas.AreaPublic:
    """One area of the caller's subtree."""
    return area_public(session, areas.get_area(session=session, code=code, scope=principal.scope))


@router.patch("/{code}", response_model=schemas.AreaPublic, summary="Change or move an area")
def update_area(
    code: str, body: schemas.AreaUpdate, session: SessionDep, principal: AdminDep
) -> schemas.AreaPublic:
    """Rename, re-level or move an area; a move that would make a cycle is refused."""
    area = areas.get_area(session=session, code=code, scope=principal.scope)
    areas.update_area(
        session=session,
        area=area,
        scope=principal.scope,
        name=body.name,
        level=body.level,
        parent_code=body.parent_code,
        border=body.border,
    )
    voices.set_voice(area, body.model_dump(include=set(voices.VOICE_FIELDS), exclude_unset=True))
    session.add(area)
    audit.record(
        session=session,
        actor=principal.user,
        action="area.update",
        object_type="area",
        object_id=area.code,
        area_id=area.id,
        detail=body.model_dump(mode="json", exclude_unset=True),
    )
    return area_public(session, area)


def _reviewers_public(session: Session, area: Area) -> bs.LanguageReviewersPublic:
    own = reviewers.own_reviewers(session=session, area=area)
    effective = reviewers.effective_reviewers(session=session, area=area)
    return bs.LanguageReviewersPublic(
        area_code=area.code,
        own={lang: [u.username for u in users] for lang, users in own.items()},
        effective=[
            bs.LanguageReviewersShown(
                language=lang,
                reviewers=[u.username for u in named.users],
                named_by=named.area.code,
                inherited=named.area.id != area.id,
            )
            for lang, named in sorted(effective.items())
        ],
    )


@router.get(
    "/{code}/language-reviewers",
    response_model=bs.LanguageReviewersPublic,
    summary="Show an area's language reviewers",
)
def get_language_reviewers(
    code: str, session: SessionDep, principal: PrincipalDep
) -> bs.LanguageReviewersPublic:
    """The reviewers the area names per language, and those that apply to it (nearest wins)."""
    area = areas.get_area(session=session, code=code, scope=principal.scope)
    return _reviewers_public(session, area)


@router.put(
    "/{code}/language-reviewers",
    response_model=bs.LanguageReviewersPublic,
    summary="Name an area's language reviewers",
)
def put_language_reviewers(
    code: str, body: bs.LanguageReviewersIn, session: SessionDep, principal: AdminDep
) -> bs.LanguageReviewersPublic:
    """Administrators replace the reviewers the area names; languages left out inherit."""
    reviewers.set_reviewers(
        session=session, principal=principal, area_code=code, reviewers=body.languages
    )
    area = areas.get_area(session=session, code=code, scope=principal.scope)
    return _reviewers_public(session, area)
