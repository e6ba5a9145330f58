"""Demo data for one border province: areas, stations, receivers, sign-ins, and the
province's campaign on border sovereignty with two bulletins of its themes."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from broadcast.bulletins.service import NewTranslation, create_bulletin
from broadcast.campaigns.models import Campaign, CampaignTheme
from broadcast.campaigns.service import NewTarget, NewTheme, create_campaign
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.people.service import Principal, create_user, user_area
from broadcast.templates import service as templates
from broadcast.templates.models import EmergencyTemplate, Hazard
from stations.areas import Scope, create_area
from stations.errors import LoaError
from stations.models import Area, AreaLevel, Receiver, Station, StationKind
from stations.registry import create_receiver, create_station, ensure_default_languages
from tts import Synthesizer, TTSError

log = logging.getLogger(__name__)

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


# The plan the project started from (Sở Thông tin và Truyền thông Lào Cai, March 2023):
# its four content lines, aimed hardest at the border communes. The demo runs it over
# the current year so that its progress can be followed.
DEMO_CAMPAIGN_NAME = (
    "Thông tin - truyền thông trong phong trào “Toàn dân tham gia bảo vệ chủ quyền lãnh thổ, "
    "an ninh biên giới quốc gia trong tình hình mới”"
)
DEMO_CAMPAIGN_BASIS = (
    "Kế hoạch /KH-STTTT tháng 3 năm 2023 của Sở Thông tin và Truyền thông tỉnh Lào Cai, "
    "thực hiện Kế hoạch số 90/KH-BCĐ ngày 15/02/2023 của Ban Chỉ đạo thực hiện "
    "Chỉ thị 01/CT-TTg"
)
DEMO_THEMES: tuple[tuple[str, str], ...] = (
    (
        "chu-truong-phap-luat",
        "Chủ trương của Đảng, chính sách, pháp luật của Nhà nước về quản lý, bảo vệ biên giới",
    ),
    (
        "guong-dien-hinh",
        "Gương người tốt, việc tốt; tập thể, cá nhân điển hình; mô hình, cách làm hay",
    ),
    (
        "quan-ly-bien-gioi",
        "Quản lý biên giới, phân giới cắm mốc trên đất liền, gắn với tuyên truyền biển đảo",
    ),
    (
        "giao-luu-nuoc-ban",
        "Giao lưu Nhân dân với địa phương nước bạn; biểu dương, khen thưởng bảo vệ đường biên, "
        "cột mốc",
    ),
)
# (theme code, title, Vietnamese text) of the campaign's demo bulletins, drafts.
DEMO_CAMPAIGN_BULLETINS: tuple[tuple[str, str, str], ...] = (
    (
        "chu-truong-phap-luat",
        "Luật Biên giới quốc gia và Luật Biên phòng Việt Nam",
        "Luật Biên giới quốc gia quy định mọi cơ quan, tổ chức và công dân có trách nhiệm "
        "xây dựng, quản lý, bảo vệ biên giới quốc gia. Bà con không tự ý qua lại biên giới "
        "ngoài lối mở, cửa khẩu; phát hiện người lạ, hàng hóa nhập lậu hãy báo ngay cho đồn "
        "Biên phòng gần nhất.",
    ),
    (
        "quan-ly-bien-gioi",
        "Cùng bảo vệ đường biên, cột mốc",
        "Mỗi hộ gia đình khu vực biên giới hãy tham gia tự quản đường biên, cột mốc, giữ gìn "
        "mốc giới nguyên vẹn; không xê dịch, phá hoại cột mốc và báo ngay cho chính quyền khi "
        "thấy cột mốc bị hư hỏng.",
    ),
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


def seed_demo_campaign(*, session: Session, today: date) -> Campaign:
    """The province's border campaign over the year of `today`, aimed at the border
    communes, with two draft bulletins of its themes; once (found again by its name)."""
    found = session.exec(select(Campaign).where(Campaign.name == DEMO_CAMPAIGN_NAME)).first()
    if found is not None:
        return found
    editor = session.exec(select(User).where(User.username == "bientap.laocai")).one()
    province = session.exec(select(Area).where(Area.code == "10")).one()
    principal = Principal(user=editor, area=province)
    campaign = create_campaign(
        session=session,
        principal=principal,
        name=DEMO_CAMPAIGN_NAME,
        legal_basis=DEMO_CAMPAIGN_BASIS,
        starts_on=date(today.year, 1, 1),
        ends_on=date(today.year, 12, 31),
        themes=[NewTheme(code, name) for code, name in DEMO_THEMES],
        targets=[NewTarget("10", border_only=True)],
        min_airings_per_week=2,
        min_minutes_per_theme_per_month=10,
    )
    themes = {
        t.code: t.id
        for t in session.exec(
            select(CampaignTheme).where(CampaignTheme.campaign_id == campaign.id)
        ).all()
    }
    for code, title, text in DEMO_CAMPAIGN_BULLETINS:
        create_bulletin(
            session=session,
            principal=principal,
            title=title,
            translations=[NewTranslation(language="vi", text=text)],
            campaign_id=campaign.id,
            theme_id=themes[code],
        )
    return campaign


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


# The demo province's flash-flood template in H'Mông: (part, what it says in H'Mông, and
# a Vietnamese spelling of its sound that eSpeak NG reads to stand in for the speaker's
# recording). A real template is recorded by a H'Mông speaker and reviewed.
DEMO_TEMPLATE_NAME = "Lũ quét - tiếng H'Mông (mẫu trình diễn)"
DEMO_TEMPLATE_PARTS: tuple[tuple[str, str | None, str], ...] = (
    ("phrase", "Ceeb toom dej nyab", "xeng tông đê nha, xeng tông đê nha"),
    ("slot", "place", ""),
    (
        "phrase",
        "Tsis txhob hla dej, khiav mus rau qhov chaw siab",
        "chi chô ha đê, khia mu rau chô chau xia",
    ),
    ("slot", "time", ""),
    ("phrase", "Ua tsaug", "u chau"),
)
# A place name recorded in H'Mông: (slot value as alerts give it, its sound).
DEMO_SLOT_RECORDINGS: tuple[tuple[str, str, str], ...] = (("place", "Xã Y Tý", "dị tỉ"),)


def _principal(session: Session, username: str) -> Principal | None:
    user = session.exec(select(User).where(User.username == username)).first()
    return Principal(user, user_area(session=session, user=user)) if user else None


def seed_demo_templates(*, session: Session, settings: Settings, synthesizer: Synthesizer) -> bool:
    """Give the demo province a reviewed flash-flood template in H'Mông, once.

    Its phrases are made now by eSpeak NG (a stand-in for a speaker's recordings) and
    uploaded like any recording. Returns False when it exists already or cannot be made
    (no eSpeak NG): the demo works without it.
    """
    editor = _principal(session, "bientap.laocai")
    approver = _principal(session, "duyet.laocai")
    province = session.exec(select(Area).where(Area.code == "10")).first()
    if editor is None or approver is None or province is None:
        return False
    known = session.exec(
        select(EmergencyTemplate).where(
            EmergencyTemplate.area_id == province.id,
            EmergencyTemplate.hazard == Hazard.flash_flood,
            EmergencyTemplate.language == "hmn",
        )
    ).first()
    if known is not None:
        return False

    def sound(text: str) -> io.BytesIO:
        made = synthesizer.synthesize(text, "vi", engine="espeak", voice="south")
        return io.BytesIO(made.path.read_bytes())

    try:
        with session.begin_nested():
            template = templates.create_template(
                session=session,
                principal=editor,
                area_code=province.code,
                hazard=Hazard.flash_flood.value,
                language="hmn",
                name=DEMO_TEMPLATE_NAME,
            )
            tid = template.id or 0
            templates.set_parts(
                session=session,
                principal=editor,
                template_id=tid,
                parts=[
                    templates.PartSpec(kind=kind, slot=slot if kind == "slot" else None)
                    for kind, slot, _sound in DEMO_TEMPLATE_PARTS
                ],
            )
            for position, (kind, _said, spoken) in enumerate(DEMO_TEMPLATE_PARTS, start=1):
                if kind == "phrase":
                    templates.store_part_recording(
                        session=session,
                        principal=editor,
                        settings=settings,
                        synthesizer=synthesizer,
                        template_id=tid,
                        position=position,
                        upload=sound(spoken),
                        filename="demo.mp3",
                    )
            for slot, value, spoken in DEMO_SLOT_RECORDINGS:
                templates.store_slot_recording(
                    session=session,
                    principal=editor,
                    settings=settings,
                    synthesizer=synthesizer,
                    template_id=tid,
                    slot=slot,
                    value=value,
                    upload=sound(spoken),
                    filename="demo.mp3",
                )
            templates.review_template(session=session, principal=approver, template_id=tid)
    except (LoaError, TTSError) as exc:
        log.warning("demo emergency template not made: %s", exc)
        return False
    return True
