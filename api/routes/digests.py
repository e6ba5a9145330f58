"""Weekly campaign digests of the caller's area and the districts and provinces below."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends

from api import notification_schemas as ns
from api import schemas
from api.deps import IdPath, PrincipalDep, SessionDep
from broadcast.notifications import digests
from broadcast.notifications.models import Digest
from stations.models import Area
from stations.timeutil import as_utc

router = APIRouter(prefix="/digests", tags=["digests"])


def digest_summary(digest: Digest, area: Area) -> ns.DigestSummary:
    """A digest in a list."""
    return ns.DigestSummary(
        id=digest.id or 0,
        area_code=area.code,
        area_name=area.name,
        week_start=digest.week_start,
        week_end=digest.week_start + timedelta(days=digests.DAYS - 1),
        title=digest.title,
        created_at=as_utc(digest.created_at),
    )


@router.get("", response_model=schemas.Page[ns.DigestSummary], summary="List weekly digests")
def list_digests(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
) -> schemas.Page[ns.DigestSummary]:
    """Digests of the areas in the caller's subtree, newest week first."""
    rows, total = digests.list_digests(
        session=session, scope=principal.scope, limit=page.limit, offset=page.offset
    )
    return schemas.Page(
        items=[digest_summary(d, a) for d, a in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{digest_id}", response_model=ns.DigestPublic, summary="Show a weekly digest")
def get_digest(digest_id: IdPath, session: SessionDep, principal: PrincipalDep) -> ns.DigestPublic:
    """One digest of the caller's subtree, with its text and figures."""
    digest, area = digests.get_digest(session=session, scope=principal.scope, digest_id=digest_id)
    return ns.DigestPublic(
        **digest_summary(digest, area).model_dump(),
        body=digest.body,
        campaigns=[ns.DigestCampaign.model_validate(c) for c in digest.campaigns],
    )
