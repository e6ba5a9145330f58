"""The area tree: creation, moves without cycles, subtree scoping and CSV import."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.models import LEVEL_RANK, Area, AreaLevel


@dataclass(frozen=True, slots=True)
class Scope:
    """The part of the area tree a caller may see: a subtree, or everything."""

    path: str | None  # materialised path of the caller's home area; None = whole tree

    @classmethod
    def everything(cls) -> Scope:
        """A scope that covers the whole tree (global administrators, workers)."""
        return cls(path=None)

    @classmethod
    def of(cls, area: Area | None) -> Scope:
        """The subtree rooted at `area` (everything when `area` is None)."""
        return cls(path=area.path if area is not None else None)

    def covers(self, area: Area) -> bool:
        """True when `area` lies inside this scope."""
        return self.path is None or area.path.startswith(self.path)

    def clause(self) -> ColumnElement[bool]:
        """A WHERE clause restricting `Area` rows to this scope."""
        if self.path is None:
            return col(Area.id).is_not(None)
        return col(Area.path).startswith(self.path, autoescape=True)


def get_area(*, session: Session, code: str, scope: Scope) -> Area:
    """The area with `code`, or NotFoundError when absent or out of scope."""
    area = session.exec(select(Area).where(Area.code == code)).first()
    if area is None or not scope.covers(area):
        raise NotFoundError(f"Area '{code}' not found", code="area.not_found", area_code=code)
    return area


def _check_parent(level: AreaLevel, parent: Area | None) -> None:
    if parent is None:
        return
    if LEVEL_RANK[AreaLevel(parent.level)] >= LEVEL_RANK[level]:
        raise InvalidInputError(
            f"A {level.value} cannot sit under the {parent.level} '{parent.code}'. "
            "Probable cause: the parent code or the level is wrong",
            code="area.bad_parent_level",
            level=level.value,
            parent_level=str(parent.level),
            parent_code=parent.code,
        )


def create_area(
    *,
    session: Session,
    code: str,
    name: str,
    level: AreaLevel,
    parent_code: str | None,
    scope: Scope,
    border: bool = False,
) -> Area:
    """Add an area under `parent_code` (None for a root, allowed only with a global scope);
    `border` marks a commune on the national border."""
    if session.exec(select(Area).where(Area.code == code)).first() is not None:
        raise ConflictError(
            f"Area code '{code}' already exists", code="area.exists", area_code=code
        )
    parent = None
    if parent_code:
        parent = get_area(session=session, code=parent_code, scope=scope)
    elif scope.path is not None:
        raise NotFoundError(
            "A top-level area can only be created by a global administrator",
            code="area.root_needs_admin",
        )
    _check_parent(level, parent)
    area = Area(
        code=code, name=name, level=level, parent_id=parent.id if parent else None, border=border
    )
    session.add(area)
    session.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    session.add(area)
    session.flush()
    return area


def update_area(
    *,
    session: Session,
    area: Area,
    scope: Scope,
    name: str | None = None,
    level: AreaLevel | None = None,
    parent_code: str | None = None,
    move_to_root: bool = False,
    border: bool | None = None,
) -> Area:
    """Rename, re-level, flag as border or move an area; refuses a move that would make a
    cycle."""
    if name is not None:
        area.name = name
    if border is not None:
        area.border = border
    new_level = level or AreaLevel(area.level)
    parent = session.get(Area, area.parent_id) if area.parent_id else None
    if parent_code is not None:
        parent = get_area(session=session, code=parent_code, scope=scope)
        if parent.path.startswith(area.path):
            raise InvalidInputError(
                f"Area '{area.code}' cannot move under '{parent_code}'. "
                "Probable cause: the new parent lies inside the area itself (a cycle)",
                code="area.cycle",
                area_code=area.code,
                parent_code=parent_code,
            )
    elif move_to_root:
        if scope.path is not None:
            raise NotFoundError(
                "A top-level area can only be created by a global administrator",
                code="area.root_needs_admin",
            )
        parent = None
    _check_parent(new_level, parent)
    for child in session.exec(select(Area).where(Area.parent_id == area.id)).all():
        if LEVEL_RANK[AreaLevel(child.level)] <= LEVEL_RANK[new_level]:
            raise InvalidInputError(
                f"Area '{area.code}' cannot become a {new_level.value}: "
                f"its child '{child.code}' is a {child.level}",
                code="area.child_level",
                area_code=area.code,
                level=new_level.value,
                child_code=child.code,
                child_level=str(child.level),
            )
    area.level = new_level
    new_parent_id = parent.id if parent else None
    if new_parent_id != area.parent_id or parent_code is not None or move_to_root:
        old_path = area.path
        new_path = f"{parent.path if parent else '/'}{area.id}/"
        area.parent_id = new_parent_id
        if new_path != old_path:
            descendants = session.exec(
                select(Area).where(col(Area.path).startswith(old_path, autoescape=True))
            ).all()
            for node in descendants:
                node.path = new_path + node.path[len(old_path) :]
                session.add(node)
    session.add(area)
    session.flush()
    return area


def list_areas(
    *,
    session: Session,
    scope: Scope,
    parent_code: str | None = None,
    level: AreaLevel | None = None,
    within: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[Area], int]:
    """Areas in scope, filtered; returns one page and the total count."""
    stmt = select(Area).where(scope.clause())
    if parent_code is not None:
        parent = get_area(session=session, code=parent_code, scope=Scope.everything())
        stmt = stmt.where(Area.parent_id == parent.id)
    if within is not None:
        root = get_area(session=session, code=within, scope=scope)
        stmt = stmt.where(col(Area.path).startswith(root.path, autoescape=True))
    if level is not None:
        stmt = stmt.where(Area.level == level)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(Area.name).like(like) | func.lower(Area.code).like(like))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(Area.path)).offset(offset).limit(limit)).all()
    return rows, total


def ancestors(*, session: Session, area: Area) -> list[Area]:
    """The chain from the root down to `area` itself."""
    ids = [int(part) for part in area.path.strip("/").split("/") if part]
    found = {a.id: a for a in session.exec(select(Area).where(col(Area.id).in_(ids))).all()}
    return [found[i] for i in ids if i in found]


def parent_code_of(*, session: Session, area: Area) -> str | None:
    """The code of the area's parent, if any."""
    if area.parent_id is None:
        return None
    parent = session.get(Area, area.parent_id)
    return parent.code if parent else None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an area import did."""

    created: int
    updated: int
    unchanged: int


# Values of the optional `border` column that mark a border commune (empty: not border).
BORDER_YES = frozenset({"1", "true", "yes", "x", "có", "co"})
BORDER_NO = frozenset({"", "0", "false", "no", "không", "khong"})


def _border_of(line: int, value: str | None) -> bool | None:
    """The `border` column of an import row; None when the file has no such column."""
    if value is None:
        return None
    word = value.strip().lower()
    if word in BORDER_YES:
        return True
    if word in BORDER_NO:
        return False
    raise InvalidInputError(
        f"Line {line}: border must be 1 or 0 (not '{value}')",
        code="area_import.bad_border",
        line=line,
        value=value,
    )


def import_areas(*, session: Session, rows: Iterable[dict[str, str]]) -> ImportReport:
    """Create or update areas from rows with code, name, level, parent_code and, when the
    file has the column, border (1 for a border commune; files without it stay valid and
    leave the flag as stored).

    Rows may come in any order: parents are resolved within the file first.
    The whole import is one unit; an error names the offending line and nothing is kept.
    """
    pending: list[tuple[int, dict[str, str]]] = []
    for line, row in enumerate(rows, start=2):
        clean = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        missing = [k for k in ("code", "name", "level") if not clean.get(k)]
        if missing:
            raise InvalidInputError(
                f"Line {line}: missing {', '.join(missing)}",
                code="area_import.missing_columns",
                line=line,
                columns=missing,
            )
        try:
            AreaLevel(clean["level"])
        except ValueError:
            raise InvalidInputError(
                f"Line {line}: unknown level '{clean['level']}' "
                f"(expected one of {', '.join(level.value for level in AreaLevel)})",
                code="area_import.unknown_level",
                line=line,
                level=clean["level"],
            ) from None
        _border_of(line, clean.get("border"))
        pending.append((line, clean))
    codes = [row["code"] for _, row in pending]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise InvalidInputError(
            f"Duplicate codes in the file: {', '.join(sorted(duplicates))}",
            code="area_import.duplicate_codes",
            area_codes=sorted(duplicates),
        )
    created = updated = unchanged = 0
    everything = Scope.everything()
    # Parents first: repeat passes until every row whose parent exists is placed.
    while pending:
        progressed = False
        remaining: list[tuple[int, dict[str, str]]] = []
        for line, row in pending:
            parent_code = row.get("parent_code") or None
            if (
                parent_code
                and session.exec(select(Area).where(Area.code == parent_code)).first() is None
            ):
                remaining.append((line, row))
                continue
            progressed = True
            level = AreaLevel(row["level"])
            border = _border_of(line, row.get("border"))
            existing = session.exec(select(Area).where(Area.code == row["code"])).first()
            try:
                if existing is None:
                    create_area(
                        session=session,
                        code=row["code"],
                        name=row["name"],
                        level=level,
                        parent_code=parent_code,
                        scope=everything,
                        border=bool(border),
                    )
                    created += 1
                else:
                    same = (
                        existing.name == row["name"]
                        and existing.level == level
                        and parent_code_of(session=session, area=existing) == parent_code
                        and (border is None or existing.border == border)
                    )
                    if same:
                        unchanged += 1
                        continue
                    update_area(
                        session=session,
                        area=existing,
                        scope=everything,
                        name=row["name"],
                        level=level,
                        parent_code=parent_code,
                        move_to_root=parent_code is None,
                        border=border,
                    )
                    updated += 1
            except (InvalidInputError, ConflictError, NotFoundError) as exc:
                raise InvalidInputError(
                    f"Line {line}: {exc}", code=exc.code, **exc.fields, line=line
                ) from exc
        if not progressed:
            line, row = remaining[0]
            raise InvalidInputError(
                f"Line {line}: parent '{row.get('parent_code')}' of '{row['code']}' "
                "is neither stored nor in the file",
                code="area_import.parent_missing",
                line=line,
                parent_code=row.get("parent_code"),
                area_code=row["code"],
            )
        pending = remaining
    return ImportReport(created=created, updated=updated, unchanged=unchanged)


def read_areas_csv(path: Path) -> list[dict[str, str]]:
    """Read an area CSV (header: code,name,level,parent_code and optionally border;
    UTF-8, BOM allowed)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = {name.strip().lower() for name in reader.fieldnames or []}
        if not {"code", "name", "level"} <= header:
            raise InvalidInputError(
                f"{path} has the header {sorted(header)}. "
                "Probable cause: the first line must be code,name,level,parent_code",
                code="area_import.bad_header",
                path=str(path),
                header=sorted(header),
            )
        return list(reader)
