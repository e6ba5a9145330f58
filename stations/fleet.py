"""A province's stations and receivers registered at once from one CSV file.

The whole file is checked before anything is written: every line with a problem is
reported (line number, column, message), and a file with any problem writes nothing.
The caller runs the import in one transaction, so a failure half-way writes nothing
either. Receivers' MQTT passwords are generated, handed back once and stored hashed.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, select

from stations.areas import Scope
from stations.errors import InvalidInputError
from stations.models import LEVEL_RANK, Area, AreaLevel, Language, Receiver, Station, StationKind
from stations.protocol import valid_receiver_id
from stations.registry import RECEIVER_ID_PREFIXES, new_receiver_id
from stations.security import hash_device_secret, mosquitto_hash, new_secret
from stations.timeutil import utcnow

# The columns of the file; `area_code` and `station_name` are required.
COLUMNS = (
    "area_code",
    "station_name",
    "station_kind",
    "languages",
    "receiver_name",
    "receiver_id",
    "location",
    "latitude",
    "longitude",
)
REQUIRED_COLUMNS = ("area_code", "station_name")
# The columns of the credentials file handed back.
CREDENTIAL_COLUMNS = (
    "receiver_id",
    "mqtt_username",
    "mqtt_password",
    "station_id",
    "station_name",
    "area_code",
    "receiver_name",
)
MAX_ROWS = 50_000
# How many line problems an error carries (the count says how many there were).
MAX_PROBLEMS = 500
_CHUNK = 500  # values per IN (...) query


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one line of the file."""

    line: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The problem as the REST answer's `errors` item."""
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True, slots=True)
class CreatedReceiver:
    """A receiver the import created, with its MQTT password in clear (shown once)."""

    receiver_id: str
    name: str
    station_id: int
    station_name: str
    area_code: str
    password: str


@dataclass(slots=True)
class FleetImport:
    """What an import created."""

    stations_created: int = 0
    stations_reused: int = 0
    receivers: list[CreatedReceiver] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One line of the file, read but not yet checked against the database."""

    line: int
    values: dict[str, str]
    cells: int = 0  # how many cells the line has, when more than the header's columns


def read_fleet_csv(data: bytes | str) -> list[FleetRow]:
    """The rows of a fleet CSV (UTF-8, BOM allowed); InvalidInputError on a bad header."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInputError(
                "The file is not UTF-8 text. Probable cause: save the spreadsheet as 'CSV UTF-8'",
                code="fleet_import.not_text",
            ) from None
    else:
        text = data.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise InvalidInputError(
            "The file is empty. Probable cause: the first line must be the header "
            + ",".join(COLUMNS),
            code="fleet_import.empty",
        ) from None
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if unknown or missing or repeated:
        raise InvalidInputError(
            f"Line 1: the header {','.join(header)} is not accepted"
            + (f"; unknown columns: {', '.join(unknown)}" if unknown else "")
            + (f"; missing columns: {', '.join(missing)}" if missing else "")
            + (f"; repeated columns: {', '.join(repeated)}" if repeated else "")
            + f". Probable cause: the columns are {', '.join(COLUMNS)}",
            code="fleet_import.bad_header",
            columns=list(COLUMNS),
            unknown=unknown,
            missing=missing,
        )
    rows: list[FleetRow] = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(rows) >= MAX_ROWS:
                raise InvalidInputError(
                    f"The file has more than {MAX_ROWS} rows. Probable cause: split it",
                    code="fleet_import.too_many_rows",
                    limit=MAX_ROWS,
                )
            values = {
                name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)
            }
            extra = len(cells) > len(header) and any(c.strip() for c in cells[len(header) :])
            rows.append(FleetRow(line, values, len(cells) if extra else 0))
    except csv.Error as exc:
        raise InvalidInputError(
            f"Line {reader.line_num}: the file cannot be read as CSV ({exc})",
            code="fleet_import.bad_csv",
            line=reader.line_num,
        ) from None
    if not rows:
        raise InvalidInputError("The file has a header but no rows", code="fleet_import.empty")
    return rows


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _number(text: str, low: float, high: float) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


@dataclass(slots=True)
class _StationPlan:
    """A station named in the file: an existing one, or one to create."""

    area: Area
    name: str
    kind: StationKind
    languages: list[str]
    line: int  # the first line naming it
    existing: Station | None = None
    receiver_names: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _ReceiverPlan:
    station: tuple[int, str]  # (area id, station name)
    name: str
    receiver_id: str | None
    location: str | None
    latitude: float | None
    longitude: float | None


def _languages(text: str) -> list[str]:
    return [code for code in text.replace(";", " ").replace(",", " ").split() if code]


def import_fleet(*, session: Session, rows: Sequence[FleetRow], scope: Scope) -> FleetImport:
    """Check every row, then create the stations and receivers they name.

    A station is named by its area and its name: one that exists there already gets the
    new receivers (its kind and languages, when given, must be its own); others are
    created. A receiver is refused when its station has one of the same name already
    (in the file or stored), or when its id is taken: importing a file twice writes
    nothing the second time. Raises InvalidInputError listing every problem (its
    `errors` field: line, column, message) and writes nothing then.
    """
    problems: list[Problem] = []

    def problem(line: int, column: str | None, message: str) -> None:
        problems.append(Problem(line, column, message))

    codes = sorted({row.values.get("area_code", "") for row in rows} - {""})
    areas: dict[str, Area] = {}
    for chunk in _chunks(codes):
        for found in session.exec(select(Area).where(col(Area.code).in_(chunk))).all():
            if scope.covers(found):
                areas[found.code] = found
    languages = {lang.code for lang in session.exec(select(Language)).all() if lang.active}
    area_ids = sorted({area.id or 0 for area in areas.values()})
    stored: dict[tuple[int, str], list[Station]] = {}
    for chunk in _chunks(area_ids):
        for known in session.exec(select(Station).where(col(Station.area_id).in_(chunk))):
            stored.setdefault((known.area_id, known.name), []).append(known)
    stored_names: dict[int, set[str]] = {}
    station_ids = sorted({s.id or 0 for group in stored.values() for s in group})
    for chunk in _chunks(station_ids):
        for station_id, name in session.exec(
            select(Receiver.station_id, Receiver.name).where(col(Receiver.station_id).in_(chunk))
        ):
            stored_names.setdefault(station_id, set()).add(name)
    given_ids = sorted({row.values.get("receiver_id", "") for row in rows} - {""})
    taken_ids: set[str] = set()
    for chunk in _chunks(given_ids):
        taken_ids.update(session.exec(select(Receiver.id).where(col(Receiver.id).in_(chunk))))

    plans: dict[tuple[int, str], _StationPlan] = {}
    receivers: list[_ReceiverPlan] = []
    ids_in_file: dict[str, int] = {}
    for row in rows:
        v, line = row.values, row.line
        if row.cells:
            problem(line, None, f"{row.cells} cells, more than the header's columns")
        code, name = v.get("area_code", ""), v.get("station_name", "")
        area = areas.get(code)
        if not code:
            problem(line, "area_code", "missing")
        elif area is None:
            problem(line, "area_code", f"area '{code}' not found (or outside your area)")
        elif LEVEL_RANK[AreaLevel(area.level)] < LEVEL_RANK[AreaLevel.commune]:
            problem(
                line,
                "area_code",
                f"area '{code}' is a {area.level}; a station belongs to a commune (or a village)",
            )
            area = None
        if not name:
            problem(line, "station_name", "missing")
        elif len(name) > 200:
            problem(line, "station_name", "longer than 200 characters")
        kind: StationKind | None = None
        kind_text = v.get("station_kind", "")
        if kind_text:
            try:
                kind = StationKind(kind_text.lower())
            except ValueError:
                problem(line, "station_kind", f"'{kind_text}' is neither ip nor legacy")
        langs = _languages(v.get("languages", ""))
        if langs:
            unknown = [c for c in langs if c not in languages]
            if unknown:
                problem(line, "languages", f"unknown language(s): {', '.join(unknown)}")
            if len(set(langs)) != len(langs):
                problem(line, "languages", "a language is listed twice")
        plan: _StationPlan | None = None
        if area is not None and name and len(name) <= 200:
            key = (area.id or 0, name)
            plan = plans.get(key)
            if plan is None:
                existing = stored.get(key, [])
                if len(existing) > 1:
                    problem(
                        line,
                        "station_name",
                        f"area '{code}' has {len(existing)} stations named '{name}'; "
                        "rename them first",
                    )
                else:
                    station = existing[0] if existing else None
                    plan = plans[key] = _StationPlan(
                        area=area,
                        name=name,
                        kind=StationKind(station.kind) if station else kind or StationKind.ip,
                        languages=list(station.languages) if station else langs or ["vi"],
                        line=line,
                        existing=station,
                        receiver_names=set(stored_names.get(station.id or 0, ()))
                        if station
                        else set(),
                    )
            if plan is not None:
                where = (
                    f"station '{name}' of area '{code}' (stored)"
                    if plan.existing is not None
                    else f"station '{name}' of area '{code}' (line {plan.line})"
                )
                if kind is not None and kind != plan.kind:
                    problem(line, "station_kind", f"{where} is of kind {plan.kind.value}")
                if langs and langs != plan.languages:
                    problem(line, "languages", f"{where} airs {' '.join(plan.languages)}")
        receiver_name = v.get("receiver_name", "")
        rid = v.get("receiver_id", "") or None
        location = v.get("location", "") or None
        lat_text, lon_text = v.get("latitude", ""), v.get("longitude", "")
        if not receiver_name:
            for column in ("receiver_id", "location", "latitude", "longitude"):
                if v.get(column):
                    problem(line, "receiver_name", f"missing, while {column} is given")
                    break
            continue
        if len(receiver_name) > 200:
            problem(line, "receiver_name", "longer than 200 characters")
        if location is not None and len(location) > 300:
            problem(line, "location", "longer than 300 characters")
        latitude = longitude = None
        if lat_text:
            latitude = _number(lat_text, -90, 90)
            if latitude is None:
                problem(line, "latitude", f"'{lat_text}' is not a latitude (-90 to 90)")
        if lon_text:
            longitude = _number(lon_text, -180, 180)
            if longitude is None:
                problem(line, "longitude", f"'{lon_text}' is not a longitude (-180 to 180)")
        if rid is not None:
            if not rid.startswith(RECEIVER_ID_PREFIXES) or not valid_receiver_id(rid):
                problem(
                    line,
                    "receiver_id",
                    f"'{rid}' is not allowed: receiver ids start with rx- or sim- and use "
                    "letters, digits, '.', '_' and '-'",
                )
            elif rid in taken_ids:
                problem(line, "receiver_id", f"receiver '{rid}' already exists")
            elif rid in ids_in_file:
                problem(line, "receiver_id", f"'{rid}' is given on line {ids_in_file[rid]} too")
            else:
                ids_in_file[rid] = line
        if plan is not None:
            if plan.existing is not None and not plan.existing.active:
                problem(line, "station_name", f"station '{name}' is inactive")
            if receiver_name in plan.receiver_names:
                problem(
                    line,
                    "receiver_name",
                    f"station '{name}' of area '{code}' has a receiver '{receiver_name}' already",
                )
            plan.receiver_names.add(receiver_name)
            receivers.append(
                _ReceiverPlan(
                    (plan.area.id or 0, plan.name),
                    receiver_name,
                    rid,
                    location,
                    latitude,
                    longitude,
                )
            )
    if problems:
        first = problems[0]
        shown = "; ".join(
            f"line {p.line}" + (f", {p.column}" if p.column else "") + f": {p.message}"
            for p in problems[:5]
        )
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InvalidInputError(
            f"{len(problems)} problem(s) in the file, nothing was imported: {shown}{more}",
            code="fleet_import.invalid",
            count=len(problems),
            line=first.line,
            errors=[p.as_dict() for p in problems[:MAX_PROBLEMS]],
        )
    return _write(session=session, plans=plans, receivers=receivers)


def _write(
    *,
    session: Session,
    plans: dict[tuple[int, str], _StationPlan],
    receivers: list[_ReceiverPlan],
) -> FleetImport:
    result = FleetImport()
    stations: dict[tuple[int, str], Station] = {}
    for key, plan in plans.items():
        if plan.existing is not None:
            stations[key] = plan.existing
            result.stations_reused += 1
            continue
        station = Station(
            area_id=plan.area.id or 0, name=plan.name, kind=plan.kind, languages=plan.languages
        )
        session.add(station)
        stations[key] = station
        result.stations_created += 1
    session.flush()
    now = utcnow()
    table = SQLModel.metadata.tables["receiver"]
    rows: list[dict[str, Any]] = []
    ids = _receiver_ids(session, receivers)
    for planned, rid in zip(receivers, ids, strict=True):
        station = stations[planned.station]
        secret = new_secret()
        rows.append(
            {
                "id": rid,
                "station_id": station.id or 0,
                "name": planned.name,
                "location": planned.location,
                "latitude": planned.latitude,
                "longitude": planned.longitude,
                "secret_hash": hash_device_secret(secret),
                "mqtt_hash": mosquitto_hash(secret),
                "active": True,
                "online": False,
                "last_seen_at": None,
                "created_at": now,
            }
        )
        result.receivers.append(
            CreatedReceiver(
                receiver_id=rid,
                name=planned.name,
                station_id=station.id or 0,
                station_name=station.name,
                area_code=plans[planned.station].area.code,
                password=secret,
            )
        )
    if rows:
        session.execute(insert(table), rows)
    session.flush()
    return result


def _receiver_ids(session: Session, receivers: Sequence[_ReceiverPlan]) -> list[str]:
    """Each receiver's id: the one the file gives, else a new one taken by nobody."""
    taken = {r.receiver_id for r in receivers if r.receiver_id}
    ids = [r.receiver_id or "" for r in receivers]
    missing = [i for i, rid in enumerate(ids) if not rid]
    while missing:
        for i in missing:
            rid = new_receiver_id()
            while rid in taken:
                rid = new_receiver_id()
            ids[i] = rid
            taken.add(rid)
        fresh = [ids[i] for i in missing]
        stored: set[str] = set()
        for chunk in _chunks(fresh):
            stored.update(session.exec(select(Receiver.id).where(col(Receiver.id).in_(chunk))))
        missing = [i for i in missing if ids[i] in stored]
    return ids


def credentials_csv(created: Sequence[CreatedReceiver]) -> str:
    """The created receivers' MQTT logins as CSV (CREDENTIAL_COLUMNS), to hand over once."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CREDENTIAL_COLUMNS)
    for r in created:
        writer.writerow(
            [
                r.receiver_id,
                r.receiver_id,
                r.password,
                r.station_id,
                r.station_name,
                r.area_code,
                r.name,
            ]
        )
    return out.getvalue()
