"""Relay sources: the live streams an area's editors name, for relay broadcasts to air."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from broadcast.core import audit
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.relays.models import RelaySource
from broadcast.schedule.models import Broadcast
from stations.areas import Scope, get_area
from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.models import Area
from stations.timeutil import utcnow

MAX_NAME = 120
MAX_URL = 2000
# Streams a receiver opens with ffmpeg: Icecast/HTTP (MP3, AAC) and HLS playlists.
URL_SCHEMES = ("http", "https")


def _visible(scope: Scope) -> ColumnElement[bool] | None:
    """Sources of an area inside the scope or above the caller's area (offered to it)."""
    if scope.path is None:
        return None
    above = [int(part) for part in scope.path.strip("/").split("/") if part]
    return or_(scope.clause(), col(RelaySource.area_id).in_(above))


def list_sources(*, session: Session, scope: Scope) -> list[tuple[RelaySource, Area]]:
    """The sources the caller may relay, by owner area (top first) and name."""
    query = select(RelaySource, Area).join(Area, col(RelaySource.area_id) == col(Area.id))
    visible = _visible(scope)
    if visible is not None:
        query = query.where(visible)
    return [
        (source, area)
        for source, area in session.exec(
            query.order_by(col(Area.path), col(RelaySource.name), col(RelaySource.id))
        ).all()
    ]


def get_source(*, session: Session, scope: Scope, source_id: int) -> tuple[RelaySource, Area]:
    """A source the caller may relay, or NotFoundError (also for one of another area)."""
    query = (
        select(RelaySource, Area)
        .join(Area, col(RelaySource.area_id) == col(Area.id))
        .where(RelaySource.id == source_id)
    )
    visible = _visible(scope)
    if visible is not None:
        query = query.where(visible)
    found = session.exec(query).first()
    if found is None:
        raise NotFoundError(
            f"Relay source {source_id} not found",
            code="relay.source_not_found",
            source_id=source_id,
        )
    return found[0], found[1]


def _own(session: Session, principal: Principal, source_id: int) -> tuple[RelaySource, Area]:
    """A source of an area inside the caller's subtree (sources above are only read)."""
    principal.require(Role.editor)
    source, area = get_source(session=session, scope=principal.scope, source_id=source_id)
    if not principal.scope.covers(area):
        raise NotFoundError(
            f"Relay source {source_id} not found",
            code="relay.source_not_found",
            source_id=source_id,
        )
    return source, area


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InvalidInputError("A relay source needs a name", code="relay.no_name")
    if len(name) > MAX_NAME:
        raise InvalidInputError(
            f"The name is longer than {MAX_NAME} characters",
            code="relay.name_too_long",
            limit=MAX_NAME,
        )
    return name


def check_url(text: str) -> str:
    """A stream URL receivers can open: http(s) with a host; InvalidInputError otherwise."""
    url = text.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        raise InvalidInputError(
            f"'{url[:200]}' is not a stream URL. Probable cause: give the http:// or "
            "https:// address of the Icecast stream or HLS playlist",
            code="relay.bad_url",
        )
    return url


def _unique(session: Session, area: Area, name: str, own_id: int | None) -> None:
    clash = session.exec(
        select(RelaySource.id).where(
            RelaySource.area_id == area.id, RelaySource.name == name, RelaySource.id != own_id
        )
    ).first()
    if clash is not None:
        raise ConflictError(
            f"Area {area.code} already has a relay source named '{name}'",
            code="relay.name_taken",
            name=name,
        )


def create_source(
    *, session: Session, principal: Principal, area_code: str, name: str, url: str
) -> tuple[RelaySource, Area]:
    """An editor names a stream for an area of their subtree. Audit-logged; the caller commits."""
    principal.require(Role.editor)
    area = get_area(session=session, code=area_code, scope=principal.scope)
    clean, stream = _name(name), check_url(url)
    _unique(session, area, clean, None)
    source = RelaySource(
        area_id=area.id or 0, name=clean, url=stream, created_by_id=principal.user.id
    )
    session.add(source)
    session.flush()
    _audit(session, principal, "relay_source.create", source, area)
    return source, area


def update_source(
    *,
    session: Session,
    principal: Principal,
    source_id: int,
    name: str | None = None,
    url: str | None = None,
) -> tuple[RelaySource, Area]:
    """An editor renames a source or changes its URL (airings to come relay the new URL)."""
    source, area = _own(session, principal, source_id)
    if name is not None:
        source.name = _name(name)
        _unique(session, area, source.name, source.id)
    if url is not None:
        source.url = check_url(url)
    source.updated_at = utcnow()
    session.add(source)
    session.flush()
    _audit(session, principal, "relay_source.update", source, area)
    return source, area


def delete_source(*, session: Session, principal: Principal, source_id: int) -> None:
    """An editor removes a source no broadcast relays (409 `relay.source_in_use` otherwise)."""
    source, area = _own(session, principal, source_id)
    used = session.exec(
        select(Broadcast.id).where(Broadcast.relay_source_id == source_id).limit(1)
    ).first()
    if used is not None:
        raise ConflictError(
            f"Relay source {source_id} is relayed by broadcast {used}; cancel that first or "
            "keep the source",
            code="relay.source_in_use",
            broadcast_id=used,
        )
    _audit(session, principal, "relay_source.delete", source, area)
    session.delete(source)
    session.flush()


def _audit(
    session: Session, principal: Principal, action: str, source: RelaySource, area: Area
) -> None:
    audit.record(
        session=session,
        actor=principal.user,
        action=action,
        object_type="relay_source",
        object_id=source.id or 0,
        area_id=area.id,
        detail={"area_code": area.code, "name": source.name, "url": source.url},
    )


def usable_source(
    *, session: Session, scope: Scope, source_id: int, areas: Sequence[Area]
) -> RelaySource:
    """The source a relay broadcast airs: visible to the caller, and owned by one of the
    target areas or an area above them all (a commune does not relay another's stream)."""
    source, owner = get_source(session=session, scope=scope, source_id=source_id)
    for area in areas:
        if not area.path.startswith(owner.path):
            raise InvalidInputError(
                f"Relay source {source_id} belongs to area {owner.code}, which does not "
                f"contain area {area.code}",
                code="relay.source_not_for_area",
                source_id=source_id,
                area_code=area.code,
            )
    return source
