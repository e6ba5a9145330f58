"""Relay sources: the live streams (VOV, the provincial radio) an area's stations relay."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api import relay_schemas as rs
from api.deps import IdPath, PrincipalDep, SessionDep
from broadcast.relays import service as relays
from broadcast.relays.models import RelaySource
from stations.models import Area
from stations.timeutil import as_utc

router = APIRouter(prefix="/relay-sources", tags=["relays"])


def source_public(source: RelaySource, area: Area) -> rs.RelaySourcePublic:
    """A relay source as shown."""
    return rs.RelaySourcePublic(
        id=source.id or 0,
        name=source.name,
        url=source.url,
        area_code=area.code,
        area_name=area.name,
        created_at=as_utc(source.created_at),
        updated_at=as_utc(source.updated_at),
    )


@router.get("", response_model=list[rs.RelaySourcePublic], summary="List relay sources")
def list_sources(session: SessionDep, principal: PrincipalDep) -> list[rs.RelaySourcePublic]:
    """The sources of the caller's subtree and of the areas above it (which it may relay)."""
    return [
        source_public(s, a) for s, a in relays.list_sources(session=session, scope=principal.scope)
    ]


@router.post("", response_model=rs.RelaySourcePublic, status_code=201, summary="Add a relay source")
def create_source(
    body: rs.RelaySourceCreate, session: SessionDep, principal: PrincipalDep
) -> rs.RelaySourcePublic:
    """Editors and administrators name a stream for an area of their subtree."""
    source, area = relays.create_source(
        session=session,
        principal=principal,
        area_code=body.area_code,
        name=body.name,
        url=body.url,
    )
    return source_public(source, area)


@router.get("/{source_id}", response_model=rs.RelaySourcePublic, summary="Get a relay source")
def get_source(
    source_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> rs.RelaySourcePublic:
    """One source the caller may relay."""
    source, area = relays.get_source(session=session, scope=principal.scope, source_id=source_id)
    return source_public(source, area)


@router.patch("/{source_id}", response_model=rs.RelaySourcePublic, summary="Change a relay source")
def update_source(
    source_id: IdPath, body: rs.RelaySourceUpdate, session: SessionDep, principal: PrincipalDep
) -> rs.RelaySourcePublic:
    """Editors and administrators rename a source of their subtree or change its URL;
    airings not sent yet relay the new URL."""
    source, area = relays.update_source(
        session=session, principal=principal, source_id=source_id, name=body.name, url=body.url
    )
    return source_public(source, area)


@router.delete("/{source_id}", status_code=204, summary="Remove a relay source")
def delete_source(source_id: IdPath, session: SessionDep, principal: PrincipalDep) -> Response:
    """Editors and administrators remove a source no broadcast relays (409 otherwise)."""
    relays.delete_source(session=session, principal=principal, source_id=source_id)
    return Response(status_code=204)
