"""The coverage report tells on time, late, missed and no content apart, per language.

Airings are dispatched by the real dispatch with the real programme builder, receivers
acknowledge through the real ingestor, deadlines and confirmations are the real ones.
Airings with nothing airable are written as dispatch records them (`no_content` and
`blocked` deliveries of a `no_content` airing).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.bulletins.models import AudioState, Bulletin, BulletinStatus, Translation
from broadcast.bulletins.service import approval_hash
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.deadlines import apply_deadlines
from broadcast.delivery.dispatch import default_programme_builder, dispatch_due
from broadcast.delivery.ingest import AckIngestor
from broadcast.delivery.models import NOT_SENT_STATES, Delivery, DeliveryState
from broadcast.people.models import Role, User
from broadcast.reports import coverage as reports
from broadcast.schedule.models import Occurrence, OccurrenceState
from stations.areas import Scope
from stations.models import Area, Receiver, Station
from stations.mqtt import Message
from stations.protocol import Topics
from tests.console.conftest import Login
from tests.utils import Headers, UserFactory

T0 = datetime(2031, 3, 1, 6, 0, tzinfo=UTC) - timedelta(hours=7)  # 06:00 on 1 March, Hà Nội
PERIOD = "from=2031-03-01&to=2031-03-02"
VI_MS, HMN_MS = 60_000, 30_000


def _bulletin(engine: Engine, title: str, languages: dict[str, int]) -> int:
    """An approved bulletin of the province with rendered versions {language: duration}."""
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        province = ses.exec(select(Area).where(Area.code == "10")).one()
        bulletin = Bulletin(
            title=title,
            status=BulletinStatus.approved,
            author_id=admin.id or 0,
            area_id=province.id or 0,
            reviewed_at=T0 - timedelta(days=1),
        )
        ses.add(bulletin)
        ses.flush()
        versions = [
            Translation(
                bulletin_id=bulletin.id or 0,
                language=lang,
                text=f"{title} ({lang})",
                content_hash=f"{lang}-{title}",
                audio_state=AudioState.ready,
                audio_sha256=hashlib.sha256(f"{lang}{bulletin.id}".encode()).hexdigest(),
                audio_bytes=1000,
                audio_duration_ms=ms,
            )
            for lang, ms in languages.items()
        ]
        ses.add_all(versions)
        bulletin.approval_hash = approval_hash(versions)
        ses.add(bulletin)
        return bulletin.id or 0


def _schedule(client: TestClient, headers: Headers, body: dict[str, object]) -> int:
    answer = client.post("/api/v1/broadcasts", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _ack(topics: Topics, rid: str, ref: str, state: str, at: datetime) -> Message:
    body = {"broadcast_id": ref, "state": state, "at": at.isoformat()}
    return Message(topics.ack(rid), json.dumps(body).encode(), 1, False)


def _receivers(engine: Engine, area_code: str) -> list[str]:
    with Session(engine) as ses:
        return sorted(
            r.id
            for r in ses.exec(
                select(Receiver).join(Station).join(Area).where(Area.code == area_code)
            ).all()
        )


def _station(engine: Engine, area_code: str) -> Station:
    with Session(engine) as ses:
        return ses.exec(select(Station).join(Area).where(Area.code == area_code)).one()


@dataclass(frozen=True)
class Airings:
    """Ids of the broadcasts of the scenario."""

    aired: int  # vi + hmn, no Dao version; two daily airings to 082 and Pha Long
    empty: int  # one airing to 082 with nothing airable (no_content / blocked)


@pytest.fixture
def airings(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    demo: dict[str, str],
    make_user: UserFactory,
) -> Airings:
    """Y Tý (vi, hmn) on time, A Mú Sung (vi, hmn, Dao) late, Pha Long (legacy) confirmed
    on time on 1 March; everything missed on 2 March; an empty airing on 1 March."""
    editor = make_user(Role.editor, "10")
    topics = Topics(settings.mqtt_topic_prefix)
    bulletin = _bulletin(engine, "Phòng chống cháy rừng", {"vi": VI_MS, "hmn": HMN_MS})
    aired = _schedule(
        client,
        editor,
        {
            "bulletin_ids": [bulletin],
            "area_codes": ["082", "02743"],
            "starts_at": T0.isoformat(),
            "rrule": "FREQ=DAILY;COUNT=2",
        },
    )
    dispatched = dispatch_due(
        engine=engine,
        settings=settings,
        builder=default_programme_builder,
        now=T0 - timedelta(minutes=20),
    )
    assert dispatched == (1, 6)  # 3 + 2 receivers and the legacy station
    length = timedelta(milliseconds=VI_MS + settings.programme_gap_ms + HMN_MS)
    yty, amu = _receivers(engine, "02680"), _receivers(engine, "02659")
    ref = f"{aired}.1"
    AckIngestor(engine, topics).process(
        [
            _ack(topics, yty[0], ref, "received", T0 - timedelta(minutes=15)),
            _ack(topics, yty[0], ref, "started", T0 + timedelta(minutes=1)),
            _ack(topics, yty[0], ref, "completed", T0 + timedelta(minutes=1) + length),
            # A second cluster of Y Tý airs it late: the station's airing is on time.
            _ack(topics, yty[1], ref, "started", T0 + timedelta(minutes=20)),
            _ack(topics, yty[1], ref, "completed", T0 + timedelta(minutes=20) + length),
            # A Mú Sung reports only its end: it started 8 minutes after air time.
            _ack(topics, amu[0], ref, "completed", T0 + timedelta(minutes=8) + length),
            _ack(topics, amu[1], ref, "failed", T0),
        ]
    )
    pha_long = _station(engine, "02743")
    client.app.state.clock = lambda: T0 + timedelta(minutes=30)  # confirmed after airing
    confirmed = client.post(
        f"/api/v1/broadcasts/{aired}/confirmations",
        json={
            "station_id": pha_long.id,
            "aired_at": (T0 + timedelta(minutes=2)).isoformat(),
            "note": "Loa dây",
        },
        headers=editor,
    )
    assert confirmed.status_code == 201, confirmed.text
    apply_deadlines(engine=engine, settings=settings, now=T0 + timedelta(minutes=30))
    # 2 March: dispatched, never acknowledged nor confirmed.
    tomorrow = T0 + timedelta(days=1)
    dispatch_due(
        engine=engine,
        settings=settings,
        builder=default_programme_builder,
        now=tomorrow - timedelta(minutes=20),
    )
    apply_deadlines(engine=engine, settings=settings, now=tomorrow + timedelta(minutes=30))

    # An airing with nothing airable: as dispatch records it, nothing is sent.
    other = _bulletin(engine, "Lịch tiêm phòng", {"vi": VI_MS})
    empty = _schedule(
        client,
        editor,
        {
            "bulletin_ids": [other],
            "area_codes": ["082"],
            "starts_at": (T0 + timedelta(hours=2)).isoformat(),
        },
    )
    with transaction(engine) as ses:
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == empty)).one()
        occ.state = OccurrenceState.no_content
        occ.detail = "Nothing airable: the bulletin changed since its approval"
        occ.dispatched_at = T0 - timedelta(minutes=20)
        occ.settled = True
        ses.add(occ)
        for code, state in (("02680", DeliveryState.no_content), ("02659", DeliveryState.blocked)):
            station = ses.exec(select(Station).join(Area).where(Area.code == code)).one()
            for rid in _receivers(engine, code):
                ses.add(
                    Delivery(
                        occurrence_id=occ.id or 0,
                        broadcast_id=empty,
                        station_id=station.id or 0,
                        receiver_id=rid,
                        target=rid,
                        state=state,
                        finished_at=T0,
                    )
                )
    return Airings(aired=aired, empty=empty)


def _coverage(client: TestClient, headers: Headers) -> dict[str, object]:
    answer = client.get(f"/api/v1/reports/coverage?{PERIOD}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_language_counts_as_aired_only_when_an_item_in_it_was_played(
    client: TestClient, airings: Airings, admin_headers: Headers
) -> None:
    body = _coverage(client, admin_headers)
    languages = body["languages"]
    assert isinstance(languages, dict)
    dao = languages["ium"]  # Dao: A Mú Sung airs it, the bulletin has no Dao version
    assert dao["aired"] == 0 and dao["on_time"] == 0 and dao["late"] == 0
    assert dao["missed"] == 0  # 2 March was missed, but there was nothing in Dao to miss
    assert dao["no_version"] == 2 and dao["minutes_aired"] == 0
    assert dao["no_content"] == 1  # the empty airing: nothing in any language
    assert dao["planned"] == 3  # every station airing not cancelled, as before
    hmn = languages["hmn"]
    assert (hmn["aired"], hmn["on_time"], hmn["late"], hmn["missed"]) == (3, 2, 1, 3)
    assert hmn["no_version"] == 0
    assert hmn["minutes_aired"] == 1.5  # three airings of the 30 s version
    communes = {c["code"]: c for c in body["communes"]}  # type: ignore[union-attr]
    assert communes["02659"]["languages"]["ium"]["no_version"] == 2
    assert communes["02659"]["languages"]["ium"]["aired"] == 0


def test_a_legacy_station_counts_the_versions_that_existed_in_its_languages(
    client: TestClient, engine: Engine, settings: Settings, demo: dict[str, str],
    make_user: UserFactory,
) -> None:  # fmt: skip
    editor = make_user(Role.editor, "10")
    bulletin = _bulletin(engine, "Chỉ có tiếng Việt", {"vi": VI_MS})
    bid = _schedule(
        client,
        editor,
        {"bulletin_ids": [bulletin], "area_codes": ["02743"], "starts_at": T0.isoformat()},
    )
    dispatch_due(
        engine=engine,
        settings=settings,
        builder=default_programme_builder,
        now=T0 - timedelta(minutes=20),
    )
    station = _station(engine, "02743")  # Pha Long airs vi and hmn
    client.app.state.clock = lambda: T0 + timedelta(minutes=30)  # confirmed after airing
    confirmed = client.post(
        f"/api/v1/broadcasts/{bid}/confirmations",
        json={"station_id": station.id, "aired_at": (T0 + timedelta(minutes=1)).isoformat()},
        headers=editor,
    )
    assert confirmed.status_code == 201, confirmed.text
    languages = _coverage(client, editor)["languages"]
    assert isinstance(languages, dict)
    assert languages["vi"]["aired"] == 1 and languages["vi"]["minutes_aired"] == 1.0
    assert languages["hmn"]["aired"] == 0 and languages["hmn"]["no_version"] == 1


def test_on_time_late_missed_and_no_content_are_told_apart(
    client: TestClient, airings: Airings, admin_headers: Headers
) -> None:
    body = _coverage(client, admin_headers)
    total = body["total"]
    assert isinstance(total, dict)
    # Station airings: 3 stations x 2 days of the first broadcast, 2 of the empty one.
    assert total["planned"] == 8 and total["cancelled"] == 0 and total["pending"] == 0
    assert total["aired"] == 3  # on time or late, as before
    assert total["missed"] == 3  # all three on 2 March; the empty airing is not missed
    # Nothing was sent for the empty airing: its deliveries count nowhere.
    assert total["deliveries"] == 12 and total["deliveries_aired"] == 4
    assert total["on_time"] == 2  # Y Tý (its earliest airing) and Pha Long (confirmed)
    assert total["late"] == 1  # A Mú Sung started 8 minutes after air time
    assert total["no_content"] == 2 and total["blocked"] == 1
    assert total["coverage"] == pytest.approx(4 / 12)
    communes = {c["code"]: c for c in body["communes"]}  # type: ignore[union-attr]
    yty, amu = communes["02680"], communes["02659"]
    assert (yty["on_time"], yty["late"], yty["missed"], yty["no_content"]) == (1, 0, 1, 1)
    assert (amu["on_time"], amu["late"], amu["missed"], amu["no_content"]) == (0, 1, 1, 1)
    assert amu["blocked"] == 1 and yty["blocked"] == 0
    assert amu["minutes_aired"] == pytest.approx(1.5)  # the late airing still aired
    assert yty["deliveries_reached"] == 2  # the third cluster never got it
    languages = body["languages"]
    assert isinstance(languages, dict)
    assert languages["vi"]["no_content"] == 2 and languages["vi"]["aired"] == 3


def test_exports_and_the_console_page_show_every_outcome(
    client: TestClient, airings: Airings, admin_headers: Headers, login: Login
) -> None:
    xlsx = client.get(f"/api/v1/reports/coverage?{PERIOD}&format=xlsx", headers=admin_headers)
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["Phát thanh"]
    header = [c.value for c in sheet[3]]
    for name in ("Đã phát", "Đúng giờ", "Trễ giờ", "Bỏ lỡ", "Không có nội dung"):
        assert name in header
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    total = dict(zip(header, next(r for r in rows if r[1] == "Tổng cộng"), strict=True))
    assert total["Kế hoạch"] == 8 and total["Đã phát"] == 3
    assert (total["Đúng giờ"], total["Trễ giờ"], total["Bỏ lỡ"]) == (2, 1, 3)
    assert total["Không có nội dung"] == 2
    dao = dict(
        zip(header, next(r for r in rows if r[0] == "02659" and r[2] == "Tiếng Dao"), strict=True)
    )
    assert dao["Đã phát"] == 0 and dao["Bỏ lỡ"] == 0 and dao["Không có bản"] == 2
    languages = book["Ngôn ngữ"]
    lang_header = [c.value for c in languages[3]]
    lang_rows = {
        r[0]: dict(zip(lang_header, r, strict=True))
        for r in ([c.value for c in row] for row in languages.iter_rows(min_row=4))
    }
    dao_total, hmn_total = lang_rows["Tiếng Dao"], lang_rows["Tiếng H'Mông"]
    assert dao_total["Đã phát"] == 0 and dao_total["Không có bản"] == 2
    assert hmn_total["Trễ giờ"] == 1 and hmn_total["Đúng giờ"] == 2

    csv_text = client.get(
        f"/api/v1/reports/coverage?{PERIOD}&format=csv", headers=admin_headers
    ).content.decode("utf-8-sig")
    assert "Đúng giờ,Trễ giờ" in csv_text and "Không có nội dung" in csv_text

    page = login("admin").get("/reports?start=2031-03-01&end=2031-03-02")
    assert page.status_code == 200
    text = page.text
    assert 'id="total-on-time">2 <small>đúng giờ</small>' in text
    assert 'id="total-late">1 <small>trễ giờ</small>' in text
    assert 'id="total-missed">3 <small>bỏ lỡ</small>' in text
    assert 'id="total-no-content">2 <small>không có nội dung</small>' in text
    assert "Không có bản" in text


def test_recent_problems_leave_out_airings_with_nothing_to_send(
    engine: Engine, airings: Airings
) -> None:
    with Session(engine) as ses:
        problems = reports.recent_problems(
            session=ses, scope=Scope.everything(), since=T0 - timedelta(hours=1), limit=100
        )
        empty = ses.exec(
            select(Delivery).where(
                Delivery.broadcast_id == airings.empty,
                col(Delivery.state).in_([s.value for s in NOT_SENT_STATES]),
            )
        ).all()
    assert len(empty) == 5  # the empty airing's deliveries exist ...
    assert problems  # ... the missed and failed ones are problems ...
    assert {DeliveryState(p.delivery.state) for p in problems}.isdisjoint(NOT_SENT_STATES)
    assert airings.empty not in {p.occurrence.broadcast_id for p in problems}  # ... not these


def test_coverage_share_leaves_out_what_was_not_sent() -> None:
    counts = {"completed": 1, "missed": 1, "no_content": 3, "blocked": 2, "cancelled": 1}
    assert reports.coverage_share(counts) == 0.5
    assert reports.coverage_share({"no_content": 2}) is None


def test_station_idents_count_as_minutes_not_as_a_language() -> None:
    """An intro jingle (language zxx) adds to the minutes aired, never to a language row."""
    import json as _json

    from broadcast.delivery.models import Delivery
    from broadcast.reports.coverage import _played
    from broadcast.schedule.models import Broadcast
    from stations.models import Station

    items = [
        {"language": "zxx", "duration_ms": 6_000},
        {"language": "vi", "duration_ms": 60_000},
    ]
    delivery = Delivery(
        occurrence_id=1,
        broadcast_id=1,
        station_id=1,
        receiver_id="rx-1",
        target="rx-1",
        state="completed",
        payload=_json.dumps({"items": items}),
    )
    station = Station(id=1, area_id=1, name="Đài", languages=["vi"])
    broadcast = Broadcast(bulletin_ids=[1], area_codes=["x"], timezone="UTC", area_id=1)
    played = _played([delivery], station, broadcast, {})
    assert played is not None
    assert played.languages == {"vi": 1.0}
    assert played.minutes == 1.1
