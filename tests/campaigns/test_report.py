"""The campaign's report of results (XLSX, DOCX, JSON), checked against the as-run record."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins.models import Bulletin, Translation
from broadcast.campaigns.models import CampaignTheme
from broadcast.campaigns.service import NewTarget, NewTheme, create_campaign
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import default_programme_builder, dispatch_due
from broadcast.delivery.models import Delivery, DeliveryState
from broadcast.demo import seed_demo_campaign
from broadcast.people.models import Role
from broadcast.schedule.models import Broadcast, Occurrence
from stations.models import Area, Station
from stations.timeutil import as_utc
from tests.broadcasts.test_broadcast_listing import counted
from tests.campaigns.scenario import (
    T0,
    Aired,
    admin,
    air_the_campaign,
    campaign_bulletin,
    new_campaign,
    schedule,
)
from tests.utils import Headers, UserFactory

PERIOD = "from=2031-03-01&to=2031-03-02"
AIRED = {DeliveryState.completed, DeliveryState.confirmed}


@pytest.fixture
def editor(make_user: UserFactory, demo: dict[str, str]) -> Headers:
    """An editor of the province."""
    return make_user(Role.editor, "10")


@pytest.fixture
def aired(client: TestClient, engine: Engine, settings: Settings, editor: Headers) -> Aired:
    """The scenario of tests/campaigns/scenario.py: a late airing, missed ones."""
    return air_the_campaign(client, engine, settings, editor)


@dataclass
class Counted:
    """One commune's station airings, counted here from the deliveries' rows."""

    planned: int = 0
    aired: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    minutes: float = 0.0
    themes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    missed_stations: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def as_run(engine: Engine, late_after_seconds: int) -> dict[str, Counted]:
    """Per border commune (by name): every (airing, station) with its deliveries; aired
    when one completed or was confirmed, late when every aired one started late, missed
    otherwise; minutes: the versions of the bulletin in the station's languages."""
    with Session(engine) as ses:
        rows = ses.exec(
            select(Delivery, Occurrence, Station, Area, Broadcast)
            .join(Occurrence, Occurrence.id == Delivery.occurrence_id)  # type: ignore[arg-type]
            .join(Station, Station.id == Delivery.station_id)  # type: ignore[arg-type]
            .join(Area, Area.id == Station.area_id)  # type: ignore[arg-type]
            .join(Broadcast, Broadcast.id == Delivery.broadcast_id)  # type: ignore[arg-type]
            .where(Area.border == True)  # noqa: E712
        ).all()
        themes = {t.id: t.name for t in ses.exec(select(CampaignTheme)).all()}
        theme_of = {b.id: themes[b.theme_id] for b in ses.exec(select(Bulletin)).all()}
        ms = {
            (t.bulletin_id, t.language): t.audio_duration_ms for t in ses.exec(select(Translation))
        }
    airings: dict[tuple[int, int], list[tuple[Delivery, Occurrence, Station, Area, Broadcast]]]
    airings = defaultdict(list)
    for row in rows:
        airings[(row[1].id or 0, row[2].id or 0)].append(row)
    found: dict[str, Counted] = defaultdict(Counted)
    for deliveries in airings.values():
        _, occurrence, station, area, broadcast = deliveries[0]
        commune = found[area.name]
        commune.planned += 1
        done = [d for d, *_ in deliveries if d.state in AIRED]
        if not done:
            commune.missed += 1
            commune.missed_stations[station.name] += 1
            continue
        commune.aired += 1
        starts = [
            as_utc(d.started_at)
            if d.started_at
            else as_utc(d.completed_at) - timedelta(milliseconds=d.duration_ms)  # type: ignore[arg-type]
            for d in done
        ]
        limit = as_utc(occurrence.air_at) + timedelta(seconds=late_after_seconds)
        if min(starts) > limit:
            commune.late += 1
        else:
            commune.on_time += 1
        for bid in broadcast.bulletin_ids:
            minutes = sum((ms.get((bid, lang)) or 0) / 60000 for lang in station.languages)
            commune.minutes += minutes
            commune.themes[theme_of[bid]] += minutes
    return found


def _number(text: str) -> float:
    """A figure written the Vietnamese way (1.234,5) back to a number."""
    return float(text.replace(".", "").replace(",", ".").removesuffix(" %"))


def _get(client: TestClient, headers: Headers, campaign_id: int, query: str) -> bytes:
    answer = client.get(f"/api/v1/campaigns/{campaign_id}/report?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.content


def _xlsx_table(content: bytes, sheet: str) -> list[dict[str, object]]:
    book = load_workbook(io.BytesIO(content))
    rows = list(book[sheet].iter_rows(min_row=5, values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def _docx_table(content: bytes, first: str) -> list[dict[str, str]]:
    document = Document(io.BytesIO(content))
    for table in document.tables:
        header = [c.text for c in table.rows[0].cells]
        if header[:2] == ["Huyện", first]:
            return [
                dict(zip(header, [c.text for c in row.cells], strict=True))
                for row in table.rows[1:]
            ]
    raise AssertionError(f"no table by {first}")


def test_the_report_files_hold_the_as_run_record_per_commune_and_district(
    client: TestClient, engine: Engine, settings: Settings, editor: Headers, aired: Aired
) -> None:
    expected = as_run(engine, settings.late_after_seconds)
    assert set(expected) == {"Xã Y Tý", "Xã A Mú Sung", "Xã Pha Long"}
    # The scenario's late airing and missed station are in the record.
    assert expected["Xã A Mú Sung"].late == 1
    assert expected["Xã Y Tý"].missed_stations == {"Đài truyền thanh xã Y Tý": 1}
    xlsx = _get(client, editor, aired.campaign_id, f"{PERIOD}&format=xlsx")
    docx = _get(client, editor, aired.campaign_id, f"{PERIOD}&format=docx")
    answer = client.get(f"/api/v1/campaigns/{aired.campaign_id}/report", headers=editor).json()

    communes = {r["Xã"]: r for r in _xlsx_table(xlsx, "Theo xã")}
    written = {r["Xã"].removesuffix(" (biên giới)"): r for r in _docx_table(docx, "Xã")}
    as_json = {c["name"]: c for c in answer["communes"]}
    assert set(communes) == set(written) == set(as_json) == set(expected)
    for name, mine in expected.items():
        sheet, doc, js = communes[name], written[name], as_json[name]
        figures = [mine.planned, mine.aired, mine.on_time, mine.late, mine.missed]
        assert [
            sheet[f"{h} (lượt)"] for h in ("Kế hoạch", "Đã phát", "Đúng giờ", "Trễ giờ", "Bỏ lỡ")
        ] == figures, name
        assert [
            _number(doc[f"{h} (lượt)"])
            for h in ("Kế hoạch", "Đã phát", "Đúng giờ", "Trễ giờ", "Bỏ lỡ")
        ] == figures, name
        assert [js[k] for k in ("planned", "aired", "on_time", "late", "missed")] == figures
        assert sheet["Số phút đã phát"] == js["minutes_aired"] == round(mine.minutes, 1), name
        assert _number(doc["Số phút đã phát"]) == round(mine.minutes, 1)
        assert (
            sheet["Tỷ lệ đạt (%)"] == js["percent_aired"] == round(100 * mine.aired / mine.planned)
        )
        for theme, minutes in mine.themes.items():
            assert sheet[f"Phút “{theme}”"] == round(minutes, 1), (name, theme)
            assert (
                f"{theme}: {str(round(minutes, 1)).replace('.', ',').removesuffix(',0')}"
                in (doc["Nội dung (phút)"])
            )
        assert sheet["Phút Tiếng Dao"] == (0.0 if name == "Xã A Mú Sung" else None)  # only it
        for lang in js["languages"]:  # the same minutes per language in both
            assert sheet[f"Phút {lang['language_name']}"] == lang["minutes"], (name, lang)
            shown = str(lang["minutes"]).replace(".", ",").removesuffix(",0")
            assert f"{lang['language_name']}: {shown}" in doc["Ngôn ngữ (phút)"]
        stations = "; ".join(f"{s} ({n})" for s, n in mine.missed_stations.items())
        assert (sheet["Đài bỏ lỡ (số lượt)"] or "") == stations
        assert {s["station_name"]: s["missed"] for s in js["missed_stations"]} == dict(
            mine.missed_stations
        )

    # Per district: Bát Xát holds Y Tý and A Mú Sung; the total holds all three.
    districts = {r["Huyện"]: r for r in _xlsx_table(xlsx, "Theo huyện")}
    batxat = [expected["Xã Y Tý"], expected["Xã A Mú Sung"]]
    assert districts["Huyện Bát Xát"]["Kế hoạch (lượt)"] == sum(c.planned for c in batxat)
    assert districts["Huyện Bát Xát"]["Trễ giờ (lượt)"] == 1
    total = districts["Tổng cộng"]
    assert total["Đã phát (lượt)"] == sum(c.aired for c in expected.values())
    assert total["Số xã"] == 3
    doc_districts = {r["Huyện"]: r for r in _docx_table(docx, "Số xã")}
    assert _number(doc_districts["Tổng cộng"]["Bỏ lỡ (lượt)"]) == sum(
        c.missed for c in expected.values()
    )
    by_json = {d["name"]: d for d in answer["districts"]}
    assert by_json["Huyện Bát Xát"]["planned"] == districts["Huyện Bát Xát"]["Kế hoạch (lượt)"]
    assert answer["total"]["aired"] == total["Đã phát (lượt)"]

    # The summary says it in words, with the same figures.
    planned = sum(c.planned for c in expected.values())
    done = sum(c.aired for c in expected.values())
    assert answer["summary"].startswith(
        f"Trong kỳ từ ngày 01/03/2031 đến ngày 02/03/2031, 3 xã biên giới đã phát {done} lượt"
    )
    assert f"đạt {round(100 * done / planned)} % kế hoạch ({planned} lượt)" in answer["summary"]
    assert "xã chậm tiến độ: Xã A Mú Sung, Xã Pha Long" in answer["summary"]


def test_the_workbook_has_its_heading_frozen_headers_widths_and_native_charts(
    client: TestClient, editor: Headers, aired: Aired
) -> None:
    content = _get(client, editor, aired.campaign_id, f"{PERIOD}&format=xlsx")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Tổng hợp", "Theo huyện", "Theo xã", "Theo nội dung"]
    summary = book["Tổng hợp"]
    assert summary["A1"].value == "Báo cáo kết quả thực hiện – Tỉnh Lào Cai"
    assert "Kế hoạch số 90/KH-BCĐ ngày 15/02/2023" in str(summary["A2"].value)
    assert str(summary["A3"].value).startswith("Từ ngày 01/03/2031 đến ngày 02/03/2031")
    assert str(summary["A6"].value).startswith("Trong kỳ")
    for name in ("Theo huyện", "Theo xã", "Theo nội dung"):
        sheet = book[name]
        assert sheet.freeze_panes == "A6", name
        assert sheet.column_dimensions["A"].width >= 12
    communes = book["Theo xã"]
    header = [c.value for c in communes[5]]
    first = communes[6]
    assert first[header.index("Kế hoạch (lượt)")].number_format == "#,##0"
    assert first[header.index("Số phút đã phát")].number_format == "#,##0.0"
    themes = {
        r["Nội dung tuyên truyền"]: r["Số phút đã phát"]
        for r in _xlsx_table(content, "Theo nội dung")
    }
    assert themes == {"Pháp luật": 3.0 + 1.5, "Giao lưu": 1.5}  # law in 3 communes, once each
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        assert "Số phút đã phát theo nội dung" in archive.read(charts[0]).decode()


def test_the_document_is_an_official_vietnamese_report(
    client: TestClient, editor: Headers, aired: Aired
) -> None:
    content = _get(client, editor, aired.campaign_id, f"{PERIOD}&format=docx")
    document = Document(io.BytesIO(content))
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert round(section.left_margin.cm, 1) == 3.0
    normal = document.styles["Normal"].font
    assert (normal.name, normal.size.pt) == ("Times New Roman", 14)
    body, motto = document.tables[0].rows[0].cells
    assert body.paragraphs[0].text == "TỈNH LÀO CAI"
    assert [p.text for p in motto.paragraphs[:2]] == [
        "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    assert motto.paragraphs[2].text == "Lào Cai, ngày 02 tháng 03 năm 2031"  # produced today
    texts = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in texts
    assert "(Từ ngày 01/03/2031 đến ngày 02/03/2031)" in texts
    assert any(t.startswith("Thực hiện Kế hoạch số 90/KH-BCĐ ngày 15/02/2023") for t in texts)
    for heading in ("I. TÌNH HÌNH CHUNG", "II. KẾT QUẢ THEO HUYỆN", "IV. BIỂU ĐỒ"):
        assert heading in texts
    assert "Biểu đồ 1. Số phút đã phát theo nội dung tuyên truyền" in texts
    bars = next(t for t in document.tables if t.rows and t.rows[0].cells[0].text == "Pháp luật")
    law, exchange = (row.cells[1].text for row in bars.rows[:2])
    assert len(law) == 30 and len(exchange) == 10  # 4,5 and 1,5 minutes
    assert bars.rows[0].cells[2].text == "4,5 phút"
    signature = document.tables[-1].rows[0].cells[1].text
    assert "TM. TỈNH LÀO CAI" in signature and "(Ký, ghi rõ họ tên và đóng dấu)" in signature
    fonts = {r.font.name for p in document.paragraphs for r in p.runs}
    assert fonts == {"Times New Roman"}


def test_a_user_of_another_area_gets_no_report(
    client: TestClient, engine: Engine, make_user: UserFactory, demo: dict[str, str]
) -> None:
    with transaction(engine) as ses:
        campaign = create_campaign(
            session=ses,
            principal=admin(ses),
            name="Tuyên truyền phòng chống cháy rừng",
            legal_basis=None,
            starts_on=date(2031, 3, 1),
            ends_on=date(2031, 3, 31),
            area_code="082",
            themes=[NewTheme("chay-rung", "Phòng cháy rừng")],
            targets=[NewTarget("082", border_only=False)],
        )
    url = f"/api/v1/campaigns/{campaign.id}/report"
    for fmt in ("json", "xlsx", "docx"):
        answer = client.get(f"{url}?format={fmt}", headers=make_user(Role.editor, "083"))
        assert answer.status_code == 404, answer.text
        assert answer.json()["reason"] == "campaign.not_found"
    assert client.get(url).status_code == 401
    mine = client.get(f"{url}?format=json", headers=make_user(Role.operator, "02680"))
    assert mine.status_code == 200
    assert [c["name"] for c in mine.json()["communes"]] == ["Xã Y Tý"]  # only my commune
    # Bắc Hà is no border commune: its reader sees the province's campaign, with no rows.
    province_campaign, _ = new_campaign(engine)
    outside = make_user(Role.operator, "02800")
    empty = json.loads(_get(client, outside, province_campaign, "format=json"))
    assert (empty["communes"], empty["districts"], empty["total"]["planned"]) == ([], [], 0)
    book = load_workbook(io.BytesIO(_get(client, outside, province_campaign, "format=xlsx")))
    assert book["Theo xã"].max_row == 5  # the heading and the header
    Document(io.BytesIO(_get(client, outside, province_campaign, "format=docx")))
    bad = client.get(f"{url}?from=2031-03-05&to=2031-03-02", headers=make_user(Role.editor, "082"))
    assert bad.status_code == 422 and bad.json()["reason"] == "report.period_reversed"


def test_the_report_runs_the_same_statements_for_more_communes_and_airings(
    client: TestClient, engine: Engine, settings: Settings, editor: Headers, admin_headers: Headers
) -> None:
    campaign_id, themes = new_campaign(engine)
    law = campaign_bulletin(
        engine, "Luật Biên phòng", {"vi": 60_000}, campaign_id, themes["phap-luat"]
    )
    statements: dict[int, int] = {}
    made = 0
    for total, areas in ((2, ["082"]), (20, ["082", "02743", "02800"])):
        if "02800" in areas:  # Bắc Hà joins the border communes
            patched = client.patch(
                "/api/v1/areas/02800", json={"border": True}, headers=admin_headers
            )
            assert patched.status_code == 200, patched.text
        for n in range(made, total):
            schedule(
                client,
                editor,
                {
                    "bulletin_ids": [law],
                    "area_codes": areas,
                    "starts_at": (T0 + timedelta(minutes=n)).isoformat(),
                    "rrule": "FREQ=DAILY;COUNT=2",
                },
            )
        made = total
        dispatch_due(
            engine=engine,
            settings=settings,
            builder=default_programme_builder,
            now=T0 + timedelta(hours=1),
        )
        with counted(engine) as seen:
            answer = client.get(
                f"/api/v1/campaigns/{campaign_id}/report?{PERIOD}&format=xlsx", headers=editor
            )
        assert answer.status_code == 200
        statements[total] = len(seen)
    report = client.get(f"/api/v1/campaigns/{campaign_id}/report?{PERIOD}", headers=editor).json()
    assert report["total"]["communes"] == 4
    assert [(d["name"], d["communes"]) for d in report["districts"]] == [
        ("Huyện Bát Xát", 2), ("Huyện Mường Khương", 1), ("Không thuộc huyện", 1),
    ]  # fmt: skip
    assert report["total"]["planned"] == 2 * 20 * 2 + 2 * 18 * 2  # Bát Xát's two, and two later
    assert statements[2] == statements[20], statements


def test_a_sample_report_of_the_demo_campaign_opens(
    client: TestClient, engine: Engine, admin_headers: Headers, demo: dict[str, str]
) -> None:
    with transaction(engine) as ses:
        campaign_id = seed_demo_campaign(session=ses, today=date(2031, 3, 10)).id
    client.app.state.clock = lambda: datetime(2031, 3, 10, 5, 0, tzinfo=T0.tzinfo)  # type: ignore[attr-defined]
    url = f"/api/v1/campaigns/{campaign_id}/report"
    xlsx = _get(client, admin_headers, campaign_id or 0, "format=xlsx")
    book = load_workbook(io.BytesIO(xlsx))
    assert "Toàn dân tham gia bảo vệ chủ quyền lãnh thổ" in str(book["Tổng hợp"]["A2"].value)
    communes = _xlsx_table(xlsx, "Theo xã")
    assert [(r["Huyện"], r["Xã"]) for r in communes] == [
        ("Huyện Bát Xát", "Xã A Mú Sung"), ("Huyện Bát Xát", "Xã Y Tý"),
        ("Huyện Mường Khương", "Xã Pha Long"),
    ]  # fmt: skip
    document = Document(io.BytesIO(_get(client, admin_headers, campaign_id or 0, "format=docx")))
    texts = [p.text for p in document.paragraphs]
    assert "(Từ ngày 01/01/2031 đến ngày 10/03/2031)" in texts
    summary = client.get(url, headers=admin_headers).json()["summary"]
    assert "3 xã biên giới đã phát 0 lượt" in summary
