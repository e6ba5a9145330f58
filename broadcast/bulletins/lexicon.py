"""Per-area pronunciation lexicon: how an area reads its abbreviations and names."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlmodel import Session, col, select

from broadcast.bulletins.models import (
    AudioState,
    Bulletin,
    BulletinStatus,
    LexiconEntry,
    SourceKind,
    Translation,
)
from broadcast.core import audit
from broadcast.people.models import Role
from broadcast.people.service import Principal
from stations.areas import Scope, ancestors, get_area
from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.models import Area
from stations.timeutil import utcnow

TERM_RE = re.compile(r"^\S(.{0,98}\S)?$")


def merged_lexicon(*, session: Session, area: Area) -> dict[str, str]:
    """Entries of `area` and its ancestors; the nearest area wins on a shared term."""
    chain = ancestors(session=session, area=area)
    depth = {a.id: i for i, a in enumerate(chain)}
    rows = session.exec(
        select(LexiconEntry).where(col(LexiconEntry.area_id).in_(list(depth)))
    ).all()
    merged: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: depth[r.area_id]):
        merged[row.term] = row.reading
    return merged


def list_entries(
    *,
    session: Session,
    scope: Scope,
    area_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[tuple[LexiconEntry, Area]], int]:
    """Entries of areas in scope (or of one area), ordered by term."""
    stmt = select(LexiconEntry, Area).join(Area, col(LexiconEntry.area_id) == col(Area.id))
    stmt = stmt.where(scope.clause())
    if area_code is not None:
        area = get_area(session=session, code=area_code, scope=scope)
        stmt = stmt.where(LexiconEntry.area_id == area.id)
    rows = session.exec(stmt.order_by(col(LexiconEntry.term), col(Area.path))).all()
    return [(e, a) for e, a in rows][offset : offset + limit], len(rows)


def create_entry(
    *, session: Session, area: Area, term: str, reading: str, user_id: int | None
) -> LexiconEntry:
    """Add how `term` is read in `area`; affected unapproved versions are rendered again."""
    term, reading = term.strip(), " ".join(reading.split())
    if not TERM_RE.match(term):
        raise InvalidInputError(
            "A term has 1-100 characters and no leading or trailing space",
            code="lexicon.bad_term",
        )
    if not reading:
        raise InvalidInputError("A reading cannot be empty", code="lexicon.empty_reading")
    clash = session.exec(
        select(LexiconEntry).where(LexiconEntry.area_id == area.id, LexiconEntry.term == term)
    ).first()
    if clash is not None:
        raise ConflictError(
            f"'{term}' already has a reading in {area.name}: '{clash.reading}'",
            code="lexicon.term_exists",
            term=term,
            area=area.name,
            reading=clash.reading,
        )
    entry = LexiconEntry(area_id=area.id or 0, term=term, reading=reading, created_by_id=user_id)
    session.add(entry)
    session.flush()
    rerender_affected(session=session, area=area, term=term)
    return entry


def add_reading(
    *, session: Session, principal: Principal, area: Area, term: str, reading: str
) -> LexiconEntry:
    """An editor gives how `term` is read in `area` (in their scope); audit-logged."""
    principal.require(Role.editor)
    if not principal.scope.covers(area):
        raise NotFoundError(
            f"Area '{area.code}' not found", code="area.not_found", area_code=area.code
        )
    entry = create_entry(
        session=session, area=area, term=term, reading=reading, user_id=principal.user.id
    )
    audit.record(
        session=session,
        actor=principal.user,
        action="lexicon.create",
        object_type="lexicon",
        object_id=entry.id or 0,
        area_id=area.id,
        detail={"term": entry.term, "reading": entry.reading},
    )
    return entry


def get_entry(*, session: Session, entry_id: int, scope: Scope) -> tuple[LexiconEntry, Area]:
    """One entry in scope, or NotFoundError."""
    row = session.exec(
        select(LexiconEntry, Area)
        .join(Area, col(LexiconEntry.area_id) == col(Area.id))
        .where(LexiconEntry.id == entry_id, scope.clause())
    ).first()
    if row is None:
        raise NotFoundError(
            f"Lexicon entry {entry_id} not found", code="lexicon.not_found", entry_id=entry_id
        )
    return row[0], row[1]


def delete_entry(*, session: Session, entry: LexiconEntry, area: Area) -> None:
    """Remove an entry; affected unapproved versions are rendered again."""
    session.delete(entry)
    session.flush()
    rerender_affected(session=session, area=area, term=entry.term)


def rerender_affected(*, session: Session, area: Area, term: str) -> int:
    """Mark text versions that use `term` in the area's subtree for rendering again.

    Approved and archived bulletins keep their audio: their approval covers it.
    """
    rows = session.exec(
        select(Translation)
        .join(Bulletin, col(Translation.bulletin_id) == col(Bulletin.id))
        .join(Area, col(Bulletin.area_id) == col(Area.id))
        .where(
            col(Area.path).startswith(area.path, autoescape=True),
            col(Bulletin.status).in_(
                [BulletinStatus.draft, BulletinStatus.submitted, BulletinStatus.rejected]
            ),
            Translation.source == SourceKind.text,
            col(Translation.text).contains(term, autoescape=True),
        )
    ).all()
    for row in rows:
        row.audio_state = AudioState.pending
        row.audio_error = None
        row.audio_error_code = None
        row.audio_error_fields = None
        row.updated_at = utcnow()
        session.add(row)
    session.flush()
    return len(rows)
