"""The station page's "Giọng đọc và định dạng âm thanh" section: what the station uses, and
the administrator's controls, in Vietnamese."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.console.forms import VoiceForm
from api.console.station_pages import decimal_comma
from broadcast.bulletins.models import Bulletin, BulletinStatus
from stations.models import Area, Receiver, Station
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.console.conftest import Login, csrf_of, english_on


def _station_of(engine: Engine, area_code: str) -> int:
    with Session(engine) as ses:
        area = ses.exec(select(Area).where(Area.code == area_code)).one()
        return ses.exec(select(Station.id).where(Station.area_id == area.id)).first() or 0


def _section(page: str) -> str:
    """The voice section's visible text."""
    part = page.split('id="voice"', 1)[1].split("</section>", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", part))


def test_an_admin_chooses_the_station_voice_and_codec_on_its_page(
    login: Login, engine: Engine
) -> None:
    station_id = _station_of(engine, "02680")
    operator = login("vanhanh.yty")
    seen = operator.get(f"/stations/{station_id}")
    assert "Giọng đọc và định dạng âm thanh" in seen.text
    assert "Lưu giọng đọc" not in seen.text  # operators see it, only admins change it
    assert "giọng Bắc, tốc độ đọc 1,0, MP3" in _section(seen.text)

    admin = login("admin")
    page = admin.get(f"/stations/{station_id}")
    text = _section(page.text)
    for label in ("Giọng đọc", "Vùng giọng", "Tốc độ đọc", "Định dạng âm thanh", "Bắc", "Trung"):
        assert label in text, label
    assert "Opus (tiết kiệm dữ liệu 3G)" in text
    assert not english_on(text), english_on(text)
    token = csrf_of(page.text)

    saved = admin.post(
        f"/stations/{station_id}/voice",
        data={
            "tts_engine": "espeak",
            "tts_accent": "south",
            "tts_speed": "1,2",
            "audio_codec": "opus",
            "opus_bitrate_kbps": "16",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 200, saved.text
    assert "Đã lưu giọng đọc của đài" in saved.text
    now = _section(saved.text)
    assert "bộ đọc eSpeak NG (không cần mạng), giọng Nam, tốc độ đọc 1,2, Opus 16 kb/s" in now
    assert 'value="1,2"' in saved.text  # the form shows the station's own choice
    with Session(engine) as ses:
        station = ses.get(Station, station_id)
        assert station is not None
        assert (station.tts_accent, station.tts_speed, station.audio_codec) == (
            "south",
            1.2,
            "opus",
        )
        assert (station.tts_engine, station.opus_bitrate_kbps) == ("espeak", 16)

    too_fast = admin.post(
        f"/stations/{station_id}/voice",
        data={"tts_accent": "south", "tts_speed": "1,5", "csrf_token": token},
    )
    assert too_fast.status_code == 422
    assert "Tốc độ đọc 1.5 nằm ngoài khoảng cho phép, từ 0,7 đến 1,3" in _section(too_fast.text)
    not_a_number = admin.post(
        f"/stations/{station_id}/voice", data={"tts_speed": "nhanh", "csrf_token": token}
    )
    assert not_a_number.status_code == 422
    assert "Tốc độ đọc phải là một số" in _section(not_a_number.text)
    with Session(engine) as ses:
        station = ses.get(Station, station_id)
        assert station is not None and station.tts_speed == 1.2  # nothing refused was kept

    # Each cluster shows what it declared it plays (stored from its MQTT state).
    with Session(engine) as ses:
        first = ses.exec(select(Receiver).where(Receiver.station_id == station_id)).first()
        assert first is not None
        first.codecs = ["mp3", "opus"]
        ses.add(first)
        ses.commit()
    rows = admin.get(f"/stations/{station_id}").text.split("<tbody>", 1)[1].split("</tbody>")[0]
    assert "Định dạng phát được" in saved.text
    assert rows.count(">MP3, Opus</td>") == 1 and rows.count(">MP3</td>") >= 1

    # Empty choices inherit again: the station reads as its area does.
    back = admin.post(f"/stations/{station_id}/voice", data={"csrf_token": token})
    assert "giọng Bắc, tốc độ đọc 1,0, MP3" in _section(back.text)


@given(st.integers(min_value=70, max_value=130))
def test_a_speed_shown_with_a_decimal_comma_reads_back_as_typed(hundredths: int) -> None:
    speed = hundredths / 100
    shown = decimal_comma(speed)
    assert "." not in shown and "," in shown
    assert VoiceForm(tts_speed=shown).speed() == speed
    assert VoiceForm(tts_speed=shown.replace(",", ".")).speed() == speed


@given(st.text(max_size=12))
def test_any_typed_speed_is_a_number_or_a_vietnamese_problem(typed: str) -> None:
    form = VoiceForm(tts_speed=typed)
    problems = form.problems()
    if form.speed() is None and typed.strip():
        assert problems == {"tts_speed": "Tốc độ đọc phải là một số, ví dụ 0,9 hoặc 1,2"}
    else:
        assert "tts_speed" not in problems


def test_an_editor_gives_a_bulletin_its_own_voice_and_its_approval_stands(
    login: Login, engine: Engine
) -> None:
    bid = approved_bulletin(engine, "082", "Lịch tiêm phòng")
    editor = login("bientap.batxat")
    page = editor.get(f"/bulletins/{bid}?lang=vi")
    text = _section(page.text)
    assert "Giọng đọc của bản tin" in text and "Theo từng đài" in text
    assert "Nam" in text and not english_on(text)
    saved = editor.post(
        f"/bulletins/{bid}/voice",
        data={"tts_accent": "central", "tts_speed": "0,9", "csrf_token": csrf_of(page.text)},
    )
    assert saved.status_code == 200, saved.text
    assert "Đã lưu giọng đọc của bản tin" in saved.text
    assert "Đổi giọng đọc" in saved.text  # in the bulletin's history
    with Session(engine) as ses:
        bulletin = ses.get(Bulletin, bid)
        assert bulletin is not None
        assert (bulletin.tts_accent, bulletin.tts_speed) == ("central", 0.9)
        assert bulletin.status == BulletinStatus.approved
    wrong = editor.post(
        f"/bulletins/{bid}/voice", data={"tts_speed": "2", "csrf_token": csrf_of(page.text)}
    )
    assert wrong.status_code == 422
    assert "Tốc độ đọc 2.0 nằm ngoài khoảng cho phép, từ 0,7 đến 1,3" in _section(wrong.text)
    # Its approver sees the section explained, without the form.
    seen = login("duyet.batxat").get(f"/bulletins/{bid}?lang=vi")
    assert "Giọng đọc của bản tin" in seen.text and "Lưu giọng đọc" not in seen.text


def test_an_admin_chooses_a_voice_for_the_station_area_and_its_stations_inherit_it(
    login: Login, engine: Engine
) -> None:
    station_id = _station_of(engine, "02680")
    admin = login("admin")
    page = admin.get(f"/stations/{station_id}")
    assert "Giọng đọc của địa bàn" in page.text
    for input_id in ("f-tts_speed", "f-area_speed", "f-voice_area", "f-area_code"):
        assert page.text.count(f'id="{input_id}"') == 1, input_id  # one form each
    token = csrf_of(page.text)
    saved = admin.post(
        f"/stations/{station_id}/area-voice",
        data={
            "voice_area": "082",
            "area_accent": "south",
            "area_speed": "0,9",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 200, saved.text
    assert "Đã lưu giọng đọc của Huyện Bát Xát" in saved.text
    text = _section(saved.text)
    assert "giọng Nam, tốc độ đọc 0,9, MP3" in text  # Y Tý chooses nothing itself
    rows = saved.text.split('id="area-voices"', 1)[1].split("</table>", 1)[0]
    district = rows.split("Huyện Bát Xát", 1)[1].split("</tr>", 1)[0]
    assert ">Nam<" in district and ">0,9<" in district
    with Session(engine) as ses:
        area = ses.exec(select(Area).where(Area.code == "082")).one()
        assert (area.tts_accent, area.tts_speed) == ("south", 0.9)
    # Only the station's own chain is offered, and checked.
    other = admin.post(
        f"/stations/{station_id}/area-voice",
        data={"voice_area": "02743", "area_accent": "north", "csrf_token": token},
    )
    assert other.status_code == 422 and "Chọn xã, huyện hoặc tỉnh của đài" in other.text
    slow = admin.post(
        f"/stations/{station_id}/area-voice",
        data={"voice_area": "02680", "area_speed": "0,5", "csrf_token": token},
    )
    assert slow.status_code == 422
    assert "Tốc độ đọc 0.5 nằm ngoài khoảng cho phép, từ 0,7 đến 1,3" in slow.text
