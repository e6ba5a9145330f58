"""Blackout periods of an area: when its stations air no normal or priority airing."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api import blackout_schemas as bls
from api.deps import IdPath, PrincipalDep, SessionDep, SettingsDep
from broadcast.schedule import blackouts
from stations.timeutil import as_utc

router = APIRouter(tags=["blackouts"])


def blackout_public(row: blackouts.Blackout, area_code: str) -> bls.BlackoutPublic:
    """A blackout as shown."""
    return bls.BlackoutPublic(
        id=row.id or 0,
        area_code=area_code,
        kind=row.kind,
        reason=row.reason,
        daily_start=row.daily_start,
        daily_end=row.daily_end,
        timezone=row.timezone,
        starts_at=as_utc(row.starts_at) if row.starts_at else None,
        ends_at=as_utc(row.ends_at) if row.ends_at else None,
        created_at=as_utc(row.created_at),
    )


@router.get(
    "/areas/{code}/blackouts",
    response_model=list[bls.BlackoutPublic],
    summary="List an area's blackouts",
)
def list_blackouts(
    code: str, session: SessionDep, principal: PrincipalDep
) -> list[bls.BlackoutPublic]:
    """The blackouts set on one area of the caller's subtree (not those of areas above it)."""
    rows = blackouts.list_blackouts(session=session, scope=principal.scope, area_code=code)
    return [blackout_public(r, code) for r in rows]


@router.post(
    "/areas/{code}/blackouts",
    response_model=bls.BlackoutPublic,
    status_code=201,
    summary="Add a blackout to an area",
)
def create_blackout(
    code: str,
    body: bls.BlackoutCreate,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> bls.BlackoutPublic:
    """Editors and administrators add a daily window (local times of day in LOA_TIMEZONE,
    e.g. 22:00 to 05:00) or a dated range (instants with an offset) to an area."""
    row = blackouts.create_blackout(
        session=session,
        principal=principal,
        area_code=code,
        reason=body.reason,
        zone_name=settings.timezone,
        daily_start=body.daily_start,
        daily_end=body.daily_end,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    return blackout_public(row, code)


@router.delete("/blackouts/{blackout_id}", status_code=204, summary="Remove a blackout")
def delete_blackout(blackout_id: IdPath, session: SessionDep, principal: PrincipalDep) -> Response:
    """Editors and administrators remove a blackout of their subtree."""
    blackouts.delete_blackout(session=session, principal=principal, blackout_id=blackout_id)
    return Response(status_code=204)
