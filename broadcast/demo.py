"""Demo data for one border province: areas, stations, receivers and sign-ins."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from broadcast.people.models import Role, User
from broadcast.people.service import create_user
from stations.areas import Scope, create_area
from stations.models import Area, AreaLevel, Receiver, Station, StationKind
from stations.registry import create_receiver, create_station, ensure_default_languages

# (code, name, level, parent code). Shaped like Lào Cai before the 2025 reform,
# with one post-reform commune directly under the province to show both shapes.
DEMO_AREAS: tuple[tuple[str, str, AreaLevel, str | None], ...] = (
    ("10", "Tỉnh Lào Cai", AreaLevel.province, None),
    ("082", "Huyện Bát Xát", AreaLevel.district, "10"),
    ("02680", "Xã Y Tý", AreaLevel.commune, "082"),
    ("02659", "Xã A Mú Sung", AreaLevel.commune, "082"),
    ("083", "Huyện Mường Khương", AreaLevel.district, "10"),
    ("02743", "Xã Pha Long", AreaLevel.commune, "083"),
    ("02800", "Xã Bắc Hà", AreaLevel.commune, "10"),
    ("02680-01", "Thôn Lao Chải", AreaLevel.village, "02680"),
)

# Communes on the border with China (Bát Xát and Mường Khương districts).
DEMO_BORDER_COMMUNES = frozenset({"02680", "02659", "02743"})

# (area code, station name, kind, languages in airing order, receiver names)
DEMO_STATIONS: tuple[tuple[str, str, StationKind, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "02680",
        "Đài truyền thanh xã Y Tý",
        StationKind.ip,
        ("vi", "hmn"),
        ("Cụm loa UBND xã", "Cụm loa thôn Lao Chải", "Cụm loa chợ Y Tý"),
    ),
    (
        "02659",
        "Đài truyền thanh xã A Mú Sung",
        StationKind.ip,
        ("vi", "hmn", "ium"),
        ("Cụm loa trung tâm xã", "Cụm loa đồn Biên phòng"),
    ),
    ("02743", "Đài truyền thanh xã Pha Long", StationKind.legacy, ("vi", "hmn"), ()),
    ("02800", "Đài truyền thanh xã Bắc Hà", StationKind.ip, ("vi", "tyz"), ("Cụm loa chợ",)),
)

# (username, role, area code)
DEMO_USERS: tuple[tuple[str, Role, str | None], ...] = (
    ("bientap.laocai", Role.editor, "10"),
    ("duyet.laocai", Role.approver, "10"),
    ("bientap.batxat", Role.editor, "082"),
    ("duyet.batxat", Role.approver, "082"),
    ("vanhanh.yty", Role.operator, "02680"),
    ("vanhanh.phalong", Role.operator, "02743"),
)


@dataclass
class DemoResult:
    """What `seed_demo` created; receiver passwords are only known on creation."""

    created_areas: int = 0
    created_stations: int = 0
    receivers: dict[str, str] = field(default_factory=dict)  # receiver id -> password
    users: list[str] = field(default_factory=list)


def seed_demo(*, session: Session, admin_username: str, admin_password: str) -> DemoResult:
    """Create the demo province if missing; a second run changes nothing."""
    result = DemoResult()
    everything = Scope.everything()
    ensure_default_languages(session=session)
    for code, name, level, parent in DEMO_AREAS:
        if session.exec(select(Area).where(Area.code == code)).first() is None:
            create_area(
                session=session,
                code=code,
                name=name,
                level=level,
                parent_code=parent,
                scope=everything,
                border=code in DEMO_BORDER_COMMUNES,
            )
            result.created_areas += 1
    # Demo databases made before areas had the flag get it too.
    for area in session.exec(
        select(Area).where(col(Area.code).in_(sorted(DEMO_BORDER_COMMUNES)), ~col(Area.border))
    ).all():
        area.border = True
        session.add(area)
    for area_code, name, kind, languages, receivers in DEMO_STATIONS:
        if session.exec(select(Station).where(Station.name == name)).first() is not None:
            continue
        station = create_station(
            session=session,
            area_code=area_code,
            name=name,
            kind=kind,
            languages=languages,
            scope=everything,
        )
        result.created_stations += 1
        for receiver_name in receivers:
            created = create_receiver(session=session, station=station, name=receiver_name)
            result.receivers[created.receiver.id] = created.password
    if session.exec(select(User).where(User.username == admin_username)).first() is None:
        create_user(
            session=session,
            username=admin_username,
            password=admin_password,
            role=Role.admin,
            area_code=None,
            scope=everything,
            full_name="Quản trị hệ thống",
        )
        result.users.append(admin_username)
    for username, role, home_code in DEMO_USERS:
        if session.exec(select(User).where(User.username == username)).first() is None:
            create_user(
                session=session,
                username=username,
                password=admin_password,
                role=role,
                area_code=home_code,
                scope=everything,
            )
            result.users.append(username)
    session.flush()
    return result


def demo_receiver_count(*, session: Session) -> int:
    """How many receivers exist (shown on start)."""
    return len(session.exec(select(Receiver.id)).all())


def demo_receivers_file(credentials_file: Path) -> Path:
    """Where the demo keeps its receivers' passwords: beside the demo admin's login."""
    return credentials_file.with_name("demo-receivers.json")


def demo_receiver_passwords(credentials_file: Path) -> dict[str, str]:
    """The demo receivers' passwords (receiver id -> password); empty without a demo."""
    path = demo_receivers_file(credentials_file)
    if not path.is_file():
        return {}
    known = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in known.items()} if isinstance(known, dict) else {}
