"""Stations, their receivers and the languages they air."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from stations.areas import Scope, get_area
from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.models import LEVEL_RANK, Area, AreaLevel, Language, Receiver, Station, StationKind
from stations.protocol import valid_receiver_id
from stations.security import hash_device_secret, hash_secret, mosquitto_hash, new_secret

# Seeded on the first migration and by `loa demo`: Vietnamese and the languages
# of Lào Cai's peoples (QĐ 52/2016 Điều 6), plus Chinese for the border markets.
DEFAULT_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("vi", "Tiếng Việt"),
    ("hmn", "Tiếng H'Mông"),
    ("ium", "Tiếng Dao"),
    ("tyz", "Tiếng Tày"),
    ("nut", "Tiếng Nùng"),
    ("pcc", "Tiếng Giáy"),
    ("hni", "Tiếng Hà Nhì"),
    ("phh", "Tiếng Phù Lá"),
    ("zh", "Tiếng Trung"),
)


# --- languages -------------------------------------------------------------


def list_languages(*, session: Session, include_inactive: bool = False) -> Sequence[Language]:
    """All languages, Vietnamese first then by code."""
    stmt = select(Language)
    if not include_inactive:
        stmt = stmt.where(col(Language.active).is_(True))
    rows = session.exec(stmt.order_by(col(Language.code))).all()
    return sorted(rows, key=lambda lang: (lang.code != "vi", lang.code))


def create_language(*, session: Session, code: str, name: str) -> Language:
    """Add a language; its code must be new."""
    if session.get(Language, code) is not None:
        raise ConflictError(
            f"Language '{code}' already exists", code="language.exists", language=code
        )
    language = Language(code=code, name=name)
    session.add(language)
    session.flush()
    return language


def get_language(*, session: Session, code: str) -> Language:
    """The language with `code`, or NotFoundError."""
    language = session.get(Language, code)
    if language is None:
        raise NotFoundError(
            f"Language '{code}' not found", code="language.not_found", language=code
        )
    return language


def ensure_default_languages(*, session: Session) -> int:
    """Insert the default languages that are missing; returns how many were added."""
    added = 0
    for code, name in DEFAULT_LANGUAGES:
        if session.get(Language, code) is None:
            session.add(Language(code=code, name=name))
            added += 1
    session.flush()
    return added


def check_languages(*, session: Session, codes: Sequence[str]) -> list[str]:
    """Validate an ordered list of language codes (known, active, no repeats)."""
    if not codes:
        raise InvalidInputError("A station airs at least one language", code="station.no_language")
    if len(set(codes)) != len(codes):
        raise InvalidInputError("A language is listed twice", code="station.language_twice")
    known = {
        lang.code
        for lang in session.exec(select(Language).where(col(Language.code).in_(list(codes)))).all()
        if lang.active
    }
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise InvalidInputError(
            f"Unknown language(s): {', '.join(unknown)}. "
            "Probable cause: add them first with POST /api/v1/languages",
            code="station.unknown_languages",
            languages=unknown,
        )
    return list(codes)


# --- stations --------------------------------------------------------------


def get_station(*, session: Session, station_id: int, scope: Scope) -> tuple[Station, Area]:
    """The station and its area, or NotFoundError when absent or out of scope."""
    row = session.exec(
        select(Station, Area).join(Area).where(Station.id == station_id, scope.clause())
    ).first()
    if row is None:
        raise NotFoundError(
            f"Station {station_id} not found", code="station.not_found", station_id=station_id
        )
    return row[0], row[1]


def create_station(
    *,
    session: Session,
    area_code: str,
    name: str,
    kind: StationKind,
    languages: Sequence[str],
    scope: Scope,
) -> Station:
    """Register a station for a commune (or ward/town) inside the caller's scope."""
    area = get_area(session=session, code=area_code, scope=scope)
    if LEVEL_RANK[AreaLevel(area.level)] < LEVEL_RANK[AreaLevel.commune]:
        raise InvalidInputError(
            f"Area '{area_code}' is a {area.level}. "
            "Probable cause: a station belongs to a commune (or a village)",
            code="station.area_not_commune",
            area_code=area_code,
            level=str(area.level),
        )
    station = Station(
        area_id=area.id or 0,
        name=name,
        kind=kind,
        languages=check_languages(session=session, codes=languages),
    )
    session.add(station)
    session.flush()
    return station


def update_station(
    *,
    session: Session,
    station: Station,
    name: str | None = None,
    kind: StationKind | None = None,
    languages: Sequence[str] | None = None,
    active: bool | None = None,
) -> Station:
    """Change a station's name, kind, languages or active flag."""
    if name is not None:
        station.name = name
    if kind is not None:
        station.kind = kind
    if languages is not None:
        station.languages = check_languages(session=session, codes=languages)
    if active is not None:
        station.active = active
    session.add(station)
    session.flush()
    return station


def list_stations(
    *,
    session: Session,
    scope: Scope,
    area_code: str | None = None,
    kind: StationKind | None = None,
    active: bool | None = None,
    language: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> tuple[Sequence[tuple[Station, Area]], int]:
    """Stations in scope (optionally inside one area's subtree), with their areas.

    `limit=None` lists them all.
    """
    stmt = select(Station, Area).join(Area).where(scope.clause())
    if area_code is not None:
        root = get_area(session=session, code=area_code, scope=scope)
        stmt = stmt.where(col(Area.path).startswith(root.path, autoescape=True))
    if kind is not None:
        stmt = stmt.where(Station.kind == kind)
    if active is not None:
        stmt = stmt.where(col(Station.active).is_(active))
    rows: Sequence[tuple[Station, Area]] = session.exec(stmt.order_by(col(Station.id))).all()
    if language is not None:
        rows = [row for row in rows if language in row[0].languages]
    total = len(rows)
    return rows[offset : None if limit is None else offset + limit], total


# --- receivers -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewReceiver:
    """A receiver just created, with its MQTT password in clear (shown once)."""

    receiver: Receiver
    password: str


def new_receiver_id() -> str:
    """A short, unguessable receiver id usable as an MQTT username and topic level."""
    return f"rx-{secrets.token_hex(5)}"


# Every receiver id starts with one of these; LOA_MQTT_USERNAME may start with neither.
RECEIVER_ID_PREFIXES = ("rx-", "sim-")


def create_receiver(
    *,
    session: Session,
    station: Station,
    name: str,
    location: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    receiver_id: str | None = None,
    password: str | None = None,
) -> NewReceiver:
    """Register a receiver on an active station and mint its MQTT credentials."""
    if not station.active:
        raise InvalidInputError(
            f"Station {station.id} is inactive. Probable cause: reactivate it before "
            "adding receivers",
            code="receiver.station_inactive",
            station_id=station.id,
        )
    rid = receiver_id or new_receiver_id()
    if not rid.startswith(RECEIVER_ID_PREFIXES) or not valid_receiver_id(rid):
        # Receiver ids are MQTT logins: the prefixes keep them apart from the service's.
        raise InvalidInputError(
            f"Receiver id '{rid}' is not allowed. Probable cause: receiver ids start with "
            f"{' or '.join(RECEIVER_ID_PREFIXES)} and use letters, digits, '.', '_' and '-'",
            code="receiver.bad_id",
            receiver_id=rid,
            prefixes=list(RECEIVER_ID_PREFIXES),
        )
    if session.get(Receiver, rid) is not None:
        raise ConflictError(
            f"Receiver '{rid}' already exists", code="receiver.exists", receiver_id=rid
        )
    # A generated secret is 192 random bits: its salted SHA-256 is enough (stations.security);
    # a password given by the caller may have been chosen by a person: argon2.
    secret = password or new_secret()
    receiver = Receiver(
        id=rid,
        station_id=station.id or 0,
        name=name,
        location=location,
        latitude=latitude,
        longitude=longitude,
        secret_hash=hash_secret(secret) if password else hash_device_secret(secret),
        mqtt_hash=mosquitto_hash(secret),
    )
    session.add(receiver)
    session.flush()
    return NewReceiver(receiver=receiver, password=secret)


def reset_receiver_password(*, session: Session, receiver: Receiver) -> str:
    """Mint a new MQTT password for a receiver; the old one stops working."""
    secret = new_secret()
    receiver.secret_hash = hash_device_secret(secret)
    receiver.mqtt_hash = mosquitto_hash(secret)
    session.add(receiver)
    session.flush()
    return secret


def get_receiver(
    *, session: Session, receiver_id: str, scope: Scope
) -> tuple[Receiver, Station, Area]:
    """The receiver with its station and area, or NotFoundError when out of scope."""
    row = session.exec(
        select(Receiver, Station, Area)
        .join(Station, col(Receiver.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(Receiver.id == receiver_id, scope.clause())
    ).first()
    if row is None:
        raise NotFoundError(
            f"Receiver '{receiver_id}' not found",
            code="receiver.not_found",
            receiver_id=receiver_id,
        )
    return row[0], row[1], row[2]


@dataclass(frozen=True, slots=True)
class StationReceivers:
    """A station's receivers at a glance: how many, how many online, the silent ones."""

    total: int = 0
    online: int = 0
    offline: tuple[Receiver, ...] = ()


def receivers_by_station(*, session: Session, scope: Scope) -> dict[int, StationReceivers]:
    """Per station in scope: receiver counts, and the active receivers that are offline.

    Two queries whatever the number of stations and receivers.
    """
    in_scope = (
        select(Station.id).join(Area, col(Station.area_id) == col(Area.id)).where(scope.clause())
    )
    counts = session.exec(
        select(
            col(Receiver.station_id),
            func.count(),
            func.sum(case((col(Receiver.online).is_(True), 1), else_=0)),
        )
        .where(col(Receiver.station_id).in_(in_scope))
        .group_by(col(Receiver.station_id))
    ).all()
    silent: dict[int, list[Receiver]] = {}
    for receiver in session.exec(
        select(Receiver)
        .where(col(Receiver.station_id).in_(in_scope))
        .where(col(Receiver.online).is_(False), col(Receiver.active).is_(True))
        .order_by(col(Receiver.id))
    ).all():
        silent.setdefault(receiver.station_id, []).append(receiver)
    return {
        sid: StationReceivers(int(total), int(online or 0), tuple(silent.get(sid, ())))
        for sid, total, online in counts
    }


def receivers_of_stations(
    *, session: Session, station_ids: Sequence[int]
) -> dict[int, list[Receiver]]:
    """Every receiver of the given stations, by station, in id order: one query."""
    found: dict[int, list[Receiver]] = {sid: [] for sid in station_ids}
    if not found:
        return found
    for receiver in session.exec(
        select(Receiver)
        .where(col(Receiver.station_id).in_(sorted(found)))
        .order_by(col(Receiver.id))
    ).all():
        found[receiver.station_id].append(receiver)
    return found


def list_receivers(
    *,
    session: Session,
    scope: Scope,
    station_id: int | None = None,
    area_code: str | None = None,
    online: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[Receiver], int]:
    """Receivers in scope, filtered by station, area subtree or online state."""
    stmt = (
        select(Receiver)
        .join(Station, col(Receiver.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(scope.clause())
    )
    if station_id is not None:
        stmt = stmt.where(Receiver.station_id == station_id)
    if area_code is not None:
        root = get_area(session=session, code=area_code, scope=scope)
        stmt = stmt.where(col(Area.path).startswith(root.path, autoescape=True))
    if online is not None:
        stmt = stmt.where(col(Receiver.online).is_(online))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(Receiver.id)).offset(offset).limit(limit)).all()
    return rows, total
