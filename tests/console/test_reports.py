"""Reports (REST and console), the iCalendar feed and plain-words recurrences."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import default_programme_builder, dispatch_due
from broadcast.delivery.models import Delivery, DeliveryState
from broadcast.people.models import Role, User
from broadcast.runtime.worker import TickReport  # noqa: F401 - the worker's module must import cleanly
from broadcast.schedule.recurrence import parse_plain
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.errors import InvalidInputError
from stations.models import Area, Station
from stations.timeutil import utcnow
from tests.audio import approved_bulletin, ensure_user, tone_recording
from tests.console.conftest import Login, csrf_of
from tests.utils import Headers
from tts import Synthesizer

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_plain_words_become_rrules() -> None:
    daily = parse_plain(
        "Hằng ngày lúc 6:00 và 17:00",
        first_day=date(2026, 12, 1),
        until=date(2026, 12, 31),
        zone=ZONE,
    )
    assert daily.rrule == "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0;UNTIL=20261231T165959Z"
    assert daily.starts_at.hour == 6
    weekly = parse_plain(
        "thứ hai, thứ 6 lúc 6h30", first_day=date(2026, 12, 1), until=date(2026, 12, 31), zone=ZONE
    )
    assert "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=6;BYMINUTE=30" in (weekly.rrule or "")
    assert weekly.starts_at.date() == date(2026, 12, 4)  # the first Friday on or after the 1st
    once = parse_plain("lúc 7:15", first_day=date(2026, 12, 1), until=None, zone=ZONE)
    assert once.rrule is None and once.starts_at.minute == 15
    with pytest.raises(InvalidInputError):
        parse_plain("hằng ngày", first_day=date(2026, 12, 1), until=None, zone=ZONE)
    with pytest.raises(InvalidInputError):
        parse_plain("hằng ngày lúc 6:00", first_day=date(2026, 12, 1), until=None, zone=ZONE)
    # Different minutes share one rule: BYSETPOS keeps 6:00 and 17:30, not 6:30 or 17:00.
    mixed = parse_plain(
        "hằng ngày lúc 6:00 và 17:30",
        first_day=date(2026, 12, 1),
        until=date(2026, 12, 9),
        zone=ZONE,
    )
    assert "BYHOUR=6,17;BYMINUTE=0,30;BYSECOND=0;BYSETPOS=1,4" in (mixed.rrule or "")


@pytest.fixture
def aired(
    engine: Engine,
    settings: Settings,
    demo: dict[str, str],
    offline_speech: Synthesizer,
    tmp_path: Path,
) -> int:
    """A broadcast to Y Tý (IP) and Pha Long (legacy), dispatched and half aired.

    The bulletin has a 90 s Vietnamese and a 30 s H'Mông recording, and dispatch builds
    each station's programme with the real builder.
    """
    with transaction(engine) as ses:
        approver = ensure_user(ses, "duyet.tinh", Role.approver, "10")
    bulletin_id = approved_bulletin(
        engine,
        settings,
        offline_speech,
        title="Tiêm phòng cho trẻ",
        area_code="10",
        author="admin",
        approver=approver,
        recordings={
            "vi": tone_recording(tmp_path / "vi.mp3", 90_000),
            "hmn": tone_recording(tmp_path / "hmn.mp3", 30_000, freq=600),
        },
    )
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=admin,
            scope=Scope.everything(),
            bulletin_ids=[bulletin_id],
            area_codes=["02680", "02743"],
            starts_at=utcnow() + timedelta(minutes=2),
        )
        bid = broadcast.id or 0
    dispatch_due(
        engine=engine,
        settings=settings,
        builder=default_programme_builder,
        now=utcnow() + timedelta(minutes=3),
    )
    with transaction(engine) as ses:
        rows = ses.exec(select(Delivery).where(Delivery.broadcast_id == bid)).all()
        receivers = sorted((d for d in rows if d.receiver_id), key=lambda d: d.target)
        assert len(receivers) == 3
        receivers[0].state = DeliveryState.completed
        receivers[1].state = DeliveryState.missed
        receivers[2].state = DeliveryState.received
        for d in receivers:
            ses.add(d)
    return bid


def test_coverage_report_over_rest_in_json_csv_and_xlsx(
    client: TestClient, aired: int, make_user: object
) -> None:
    headers: Headers = make_user(Role.editor, "10")  # type: ignore[operator]
    answer = client.get("/api/v1/reports/coverage?area_code=10", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    communes = {c["code"]: c for c in body["communes"]}
    assert communes["02680"]["planned"] == 1 and communes["02680"]["aired"] == 1
    assert communes["02680"]["deliveries"] == 3 and communes["02680"]["deliveries_aired"] == 1
    assert communes["02680"]["receivers"] == 3
    assert communes["02743"]["pending"] == 1  # the legacy station is not confirmed yet
    assert body["languages"]["vi"]["minutes_aired"] == pytest.approx(1.5, abs=0.02)
    assert body["languages"]["hmn"]["minutes_aired"] == pytest.approx(0.5, abs=0.02)
    csv_text = client.get(
        "/api/v1/reports/coverage?area_code=10&format=csv", headers=headers
    ).content.decode("utf-8-sig")
    assert "Xã Y Tý" in csv_text and "Tổng cộng" in csv_text
    xlsx = client.get("/api/v1/reports/coverage?format=xlsx", headers=headers)
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Phát thanh", "Ngôn ngữ", "Cụm loa"]
    # An operator of another commune sees none of Y Tý's figures.
    other: Headers = make_user(Role.operator, "02659")  # type: ignore[operator]
    theirs = client.get("/api/v1/reports/coverage", headers=other).json()
    assert "02680" not in {c["code"] for c in theirs["communes"]}
    bad = client.get("/api/v1/reports/coverage?from=2026-12-10&to=2026-12-01", headers=headers)
    assert bad.status_code == 422


def test_station_ics_feed(
    client: TestClient, aired: int, engine: Engine, make_user: object
) -> None:
    with Session(engine) as ses:
        station = ses.exec(select(Station).join(Area).where(Area.code == "02680")).one()
    headers: Headers = make_user(Role.operator, "02680")  # type: ignore[operator]
    answer = client.get(f"/api/v1/stations/{station.id}/schedule.ics", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    text = answer.text
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.count("BEGIN:VEVENT") == 1
    assert f"UID:{aired}.1.station-{station.id}@" in text
    assert "SUMMARY:Tiêm phòng cho trẻ" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    # A calendar program reads it back: one event with the bulletin's title and lines.
    from icalendar import Calendar

    (event,) = Calendar.from_ical(text).walk("VEVENT")
    assert str(event["summary"]) == "Tiêm phòng cho trẻ"
    assert str(event["description"]).splitlines()[1] == "Bản tin: Tiêm phòng cho trẻ"
    outsider: Headers = make_user(Role.operator, "02743")  # type: ignore[operator]
    assert (
        client.get(f"/api/v1/stations/{station.id}/schedule.ics", headers=outsider).status_code
        == 404
    )


def test_a_calendar_app_subscribes_to_a_station_feed_by_url(
    client: TestClient, aired: int, engine: Engine, make_user: object
) -> None:
    with Session(engine) as ses:
        y_ty = ses.exec(select(Station).join(Area).where(Area.code == "02680")).one()
        pha_long = ses.exec(select(Station).join(Area).where(Area.code == "02743")).one()
    headers: Headers = make_user(Role.operator, "02680")  # type: ignore[operator]
    assert client.get("/api/v1/auth/feed-token", headers=headers).status_code == 404
    made = client.post("/api/v1/auth/feed-token", headers=headers)
    assert made.status_code == 201, made.text
    secret = made.json()["token"]
    url = made.json()["url_template"].format(station_id=y_ty.id)
    assert url.endswith(f"/api/v1/stations/{y_ty.id}/schedule.ics?feed={secret}")
    path = url.split("://", 1)[1].split("/", 1)[1]

    # A calendar app sends no header and no cookie: the address alone opens the feed.
    app = TestClient(client.app)
    feed = app.get(f"/{path}")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "SUMMARY:Tiêm phòng cho trẻ" in feed.text
    shown = client.get("/api/v1/auth/feed-token", headers=headers).json()
    assert shown["last_used_at"] is not None and secret.startswith(shown["prefix"])
    # It opens the caller's own stations' feeds, and nothing else.
    assert app.get(f"/api/v1/stations/{pha_long.id}/schedule.ics?feed={secret}").status_code == 404
    assert app.get(f"/api/v1/broadcasts/{aired}?feed={secret}").status_code == 401
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.get(f"/api/v1/broadcasts/{aired}", headers=bearer).status_code == 401
    assert app.get(f"/api/v1/stations/{y_ty.id}/schedule.ics?feed=loacal_guess").status_code == 401

    # A new secret ends the old addresses; revoking ends the new one.
    renewed = client.post("/api/v1/auth/feed-token", headers=headers).json()["token"]
    assert app.get(f"/{path}").status_code == 401
    renewed_path = f"/api/v1/stations/{y_ty.id}/schedule.ics?feed={renewed}"
    assert app.get(renewed_path).status_code == 200
    assert client.delete("/api/v1/auth/feed-token", headers=headers).status_code == 204
    gone = app.get(renewed_path)
    assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
    assert client.delete("/api/v1/auth/feed-token", headers=headers).status_code == 404


def test_console_gives_a_calendar_subscription_address(login: Login, aired: int) -> None:
    client = login("vanhanh.yty")
    stations = client.get("/stations")
    station_id = stations.text.split('href="/stations/')[1].split('"')[0]
    page = client.get(f"/stations/{station_id}")
    assert "Chưa có đường dẫn" in page.text
    made = client.post(
        f"/stations/{station_id}/feed-token", data={"csrf_token": csrf_of(page.text)}
    )
    assert made.status_code == 200 and "Chỉ hiển thị một lần" in made.text
    url = made.text.split('id="feed-url">')[1].split("<")[0]
    webcal = made.text.split('id="feed-webcal" href="')[1].split('"')[0]
    assert webcal.startswith("webcal://") and webcal.split("://")[1] == url.split("://")[1]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1].replace("&amp;", "&")
    app = TestClient(client.app)
    assert "Tiêm phòng cho trẻ" in app.get(path).text
    again = client.get(f"/stations/{station_id}")
    assert "Đã tạo đường dẫn lúc" in again.text and url not in again.text
    revoked = client.post(
        f"/stations/{station_id}/feed-token/revoke", data={"csrf_token": csrf_of(again.text)}
    )
    assert "Đã thu hồi đường dẫn đăng ký lịch phát" in revoked.text
    assert app.get(path).status_code == 401


def test_console_report_page_and_downloads(login: Login, aired: int) -> None:
    client = login("bientap.batxat")
    page = client.get("/reports?area=082")
    assert page.status_code == 200
    assert "<svg" in page.text and "Lượt phát theo xã" in page.text
    assert "Xã Y Tý" in page.text and "Pha Long" not in page.text  # 083 is outside 082
    xlsx = client.get("/reports/coverage.xlsx?area=082")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = client.get("/reports?start=nonsense")
    assert bad.status_code == 422 and "Ngày không hợp lệ" in bad.text


def test_reports_name_their_period_area_and_languages(
    login: Login, aired: int, client: TestClient, make_user: object
) -> None:
    today = utcnow().astimezone(ZONE).date()
    first = today - timedelta(days=2)
    client = login("bientap.batxat")
    # The console takes the period as REST does, `from` and `to`.
    page = client.get(f"/reports?from={first.isoformat()}&to={today.isoformat()}")
    assert page.status_code == 200
    assert "Báo cáo phủ sóng và phát thanh: Huyện Bát Xát" in page.text
    assert f"Từ {first:%d/%m/%Y} đến {today:%d/%m/%Y}" in page.text
    assert 'name="from"' in page.text and 'name="to"' in page.text
    # Days are typed and shown as dd/mm/yyyy, whatever the browser's language.
    typed = client.get(f"/reports?from={first:%d/%m/%Y}&to={today:%d/%m/%Y}")
    assert typed.status_code == 200
    assert f'value="{first:%d/%m/%Y}"' in typed.text and 'type="date"' not in typed.text
    assert f"Từ {first:%d/%m/%Y} đến {today:%d/%m/%Y}" in typed.text
    xlsx = client.get(f"/reports/coverage.xlsx?from={first.isoformat()}&to={today.isoformat()}")
    assert xlsx.headers["content-disposition"] == (
        f'attachment; filename="loa-bao-cao-082-{first.isoformat()}-den-{today.isoformat()}.xlsx"'
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["Phát thanh"]
    assert sheet["A1"].value == "Báo cáo phủ sóng và phát thanh – Huyện Bát Xát"
    languages = [row[0] for row in book["Ngôn ngữ"].iter_rows(min_row=4, values_only=True)]
    assert "Tiếng Việt" in languages and "vi" not in languages
    as_run = {row[2] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert "Tiếng Việt" in as_run
    # One day asked for: the file is named by that day alone, over REST too.
    headers: Headers = make_user(Role.editor, "10")  # type: ignore[operator]
    one = client.get(
        f"/api/v1/reports/coverage?from={today.isoformat()}&to={today.isoformat()}&format=csv",
        headers=headers,
    )
    assert (
        f'filename="loa-bao-cao-10-{today.isoformat()}.csv"' in one.headers["content-disposition"]
    )


def test_wired_station_operator_plays_and_downloads_the_programme(
    login: Login, aired: int, settings: Settings, tmp_path: Path
) -> None:
    from tts.audio import probe_duration_ms

    client = login("vanhanh.phalong")
    page = client.get("/operator")
    src = page.text.split('<audio controls preload="none" src="')[1].split('"')[0]
    assert src.startswith(f"/operator/programmes/{aired}/")
    audio = client.get(src)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    heard = tmp_path / "programme.mp3"
    heard.write_bytes(audio.content)
    # Pha Long airs Vietnamese (90 s) then H'Mông (30 s), with the gap between them.
    expected = 90_000 + 30_000 + settings.programme_gap_ms
    assert abs(probe_duration_ms(heard) - expected) < 500
    # A player seeks with Range; a download is named for the broadcast and the station.
    part = client.get(src, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    saved = client.get(src + "?download=1")
    station_id = src.rsplit("/", 1)[1].removesuffix(".mp3")
    assert saved.headers["content-disposition"] == (
        f'attachment; filename="chuong-trinh-{aired}-dai-{station_id}.mp3"'
    )
    assert saved.content == audio.content  # rendered once, served again
    # Y Tý's operator cannot fetch Pha Long's programme.
    assert login("vanhanh.yty").get(src).status_code == 404


def test_operator_confirms_a_legacy_airing_in_the_console(login: Login, aired: int) -> None:
    client = login("vanhanh.phalong")
    page = client.get("/operator")
    assert "Tiêm phòng cho trẻ" in page.text
    token = csrf_of(page.text)
    station_id = page.text.split('name="station_id" value="')[1].split('"')[0]
    bad = client.post(
        "/operator/confirm",
        data={
            "broadcast_id": aired,
            "station_id": station_id,
            "aired_time": "25:99",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422 and "Giờ phát không hợp lệ" in bad.text
    # The form offers the air time; the operator keeps it (an earlier time is refused).
    offered = page.text.split('name="aired_time" value="')[1].split('"')[0]
    good = client.post(
        "/operator/confirm",
        data={
            "broadcast_id": aired,
            "station_id": station_id,
            "aired_time": offered,
            "note": "Loa dây",
            "csrf_token": token,
        },
    )
    assert good.status_code == 200 and "Đã xác nhận đài đã phát" in good.text
    status = client.get(f"/broadcasts/{aired}/live")
    assert "Đã xác nhận" in status.text and "Loa dây" in status.text
    # Y Tý's operator cannot confirm for Pha Long.
    other = login("vanhanh.yty")
    token = csrf_of(other.get("/operator").text)
    denied = other.post(
        "/operator/confirm",
        data={
            "broadcast_id": aired,
            "station_id": station_id,
            "aired_time": "6:00",
            "csrf_token": token,
        },
    )
    assert denied.status_code == 422 and "Không tìm thấy" in denied.text


def test_operator_sends_a_missed_airing_again_from_the_status_page(
    login: Login, aired: int, engine: Engine
) -> None:
    client = login("vanhanh.yty")
    page = client.get(f"/broadcasts/{aired}")
    assert "Gửi lại lượt 1 cho 1 cụm loa lỗi" in page.text
    assert page.text.count('class="resend-one"') == 1  # only the missed receiver
    with Session(engine) as ses:
        missed = ses.exec(
            select(Delivery).where(
                Delivery.broadcast_id == aired, Delivery.state == DeliveryState.missed
            )
        ).one()
        old_version = missed.version
    form = page.text.split('class="resend-one"')[1]
    assert f'name="receiver_id" value="{missed.receiver_id}"' in form
    # The commune of Pha Long has no receiver in Y Tý: nothing is sent for it.
    other = login("vanhanh.phalong")
    refused = other.post(
        f"/broadcasts/{aired}/resend",
        data={
            "occurrence": 1,
            "receiver_id": missed.receiver_id,
            "csrf_token": csrf_of(other.get("/operator").text),
        },
    )
    assert refused.status_code == 200 and "Cụm loa này không có trong lượt phát" in refused.text
    client = login("vanhanh.yty")
    page = client.get(f"/broadcasts/{aired}")
    sent = client.post(
        f"/broadcasts/{aired}/resend",
        data={"occurrence": 1, "receiver_id": missed.receiver_id, "csrf_token": csrf_of(page.text)},
    )
    assert sent.status_code == 200 and "Đã gửi lại lượt 1 cho 1 cụm loa" in sent.text
    assert "(gửi lần 2)" in sent.text and 'class="resend-one"' not in sent.text
    with Session(engine) as ses:
        again = ses.exec(select(Delivery).where(Delivery.id == missed.id)).one()
    assert (again.state, again.attempt) == (DeliveryState.queued, 2)
    assert again.version != old_version and again.payload and again.version in again.payload
    # Sending again when nothing failed says so, as an error.
    none_left = client.post(
        f"/broadcasts/{aired}/resend", data={"occurrence": 1, "csrf_token": csrf_of(sent.text)}
    )
    assert "không còn cụm loa lỗi nào để gửi lại" in none_left.text
    assert 'role="alert"' in none_left.text
