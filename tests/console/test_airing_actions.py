"""One airing of a broadcast is moved or cancelled from its page, reached from the week."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.schedule.models import Broadcast, Occurrence
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.timeutil import as_utc, utcnow
from tests.audio import approved_bulletin, ensure_user, tone_recording
from tests.console.conftest import Login, csrf_of
from tts import Synthesizer


def _daily_from_tomorrow(
    engine: Engine, settings: Settings, synth: Synthesizer, tmp_path: Path, count: int
) -> tuple[int, date]:
    """A province bulletin (3 s, approved) for Y Tý daily at 06:00 from tomorrow, `count`
    times: the broadcast's id and the first day."""
    zone = settings.zone
    with transaction(engine) as ses:
        approver = ensure_user(ses, "duyet.tinh", Role.approver, "10")
    bulletin_id = approved_bulletin(
        engine,
        settings,
        synth,
        title="Lịch tiêm phòng",
        area_code="10",
        author="admin",
        approver=approver,
        recordings={"vi": tone_recording(tmp_path / "vi.mp3", 3000)},
    )
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(zone).date()
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=admin,
            scope=Scope.everything(),
            bulletin_ids=[bulletin_id],
            area_codes=["02680"],
            starts_at=datetime.combine(tomorrow, time(6), tzinfo=zone),
            rule=f"FREQ=DAILY;COUNT={count}",
        )
        return broadcast.id or 0, tomorrow


def test_an_editor_moves_and_cancels_one_airing_from_the_broadcast_page(
    login: Login,
    engine: Engine,
    settings: Settings,
    demo: dict[str, str],
    offline_speech: Synthesizer,
    tmp_path: Path,
) -> None:
    zone = settings.zone
    bid, tomorrow = _daily_from_tomorrow(engine, settings, offline_speech, tmp_path, 3)
    client = login("bientap.batxat")
    week = client.get(f"/schedule?week={tomorrow.isoformat()}")
    assert f'href="/broadcasts/{bid}#luot-1"' in week.text
    page = client.get(f"/broadcasts/{bid}")
    assert page.text.count("Hủy lượt này") == 3 and page.text.count("Đổi giờ") == 3
    token = csrf_of(page.text)

    day = tomorrow + timedelta(days=2)
    moved = client.post(
        f"/broadcasts/{bid}/airings/3/move",
        data={"air_day": f"{day:%d/%m/%Y}", "air_time": "17:30", "csrf_token": token},
    )
    assert f"Đã đổi lượt 3 sang 17:30 {day:%d/%m/%Y}" in moved.text
    wrong = client.post(
        f"/broadcasts/{bid}/airings/1/move",
        data={"air_day": f"{day:%d/%m/%Y}", "air_time": "08:00", "csrf_token": token},
    )
    assert "Giờ mới phải nằm giữa lượt trước và lượt sau" in wrong.text
    assert 'role="alert"' in wrong.text
    typo = client.post(
        f"/broadcasts/{bid}/airings/1/move",
        data={"air_day": "31/02/2030", "air_time": "08:00", "csrf_token": token},
    )
    assert 'role="alert"' in typo.text and "ngày/tháng/năm" in typo.text

    cancelled = client.post(f"/broadcasts/{bid}/airings/2/cancel", data={"csrf_token": token})
    assert "Đã hủy lượt 2" in cancelled.text
    text = re.sub(r"\s+", " ", cancelled.text)
    assert text.count("Hủy lượt này") == 2  # the cancelled airing offers nothing more
    with transaction(engine) as ses:
        rows = {
            o.seq: o for o in ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid))
        }
        assert [rows[s].state for s in (1, 2, 3)] == ["pending", "cancelled", "pending"]
        assert as_utc(rows[3].air_at) == datetime.combine(day, time(17, 30), tzinfo=zone)
    # A commune operator sees the airings but cannot change them.
    operator = login("vanhanh.yty")
    assert "Hủy lượt này" not in operator.get(f"/broadcasts/{bid}").text


def test_an_editor_edits_this_and_the_following_airings_from_the_broadcast_page(
    login: Login,
    engine: Engine,
    settings: Settings,
    demo: dict[str, str],
    offline_speech: Synthesizer,
    tmp_path: Path,
) -> None:
    zone = settings.zone
    bid, tomorrow = _daily_from_tomorrow(engine, settings, offline_speech, tmp_path, 4)
    client = login("bientap.laocai")  # the province's editor: the bulletin is the province's
    page = client.get(f"/broadcasts/{bid}")
    assert "Sửa lịch phát" in page.text and "Lượt đã chọn và các lượt sau" in page.text
    token = csrf_of(page.text)
    typo = client.post(
        f"/broadcasts/{bid}/edit",
        data={"scope": "following", "seq": "3", "air_day": "32/13/2030", "csrf_token": token},
    )
    assert 'role="alert"' in typo.text and "ngày/tháng/năm" in typo.text

    day = tomorrow + timedelta(days=2)
    edited = client.post(
        f"/broadcasts/{bid}/edit",
        data={
            "scope": "following",
            "seq": "3",
            "air_day": f"{day:%d/%m/%Y}",
            "air_time": "17:30",
            "title": "Lịch tiêm phòng buổi chiều",
            "csrf_token": token,
        },
    )
    assert f"Đã sửa lịch phát #{bid}: lượt 3, 4 được thay bằng lịch phát #" in edited.text
    assert f'href="/broadcasts/{bid}"' in edited.text  # the new page links its origin
    with transaction(engine) as ses:
        new = ses.exec(select(Broadcast).where(Broadcast.edited_from_id == bid)).one()
        airings = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == new.id)).all()
        assert new.title == "Lịch tiêm phòng buổi chiều" and new.edited_from_seq == 3
        assert [as_utc(o.air_at) for o in sorted(airings, key=lambda o: o.seq)] == [
            datetime.combine(day + timedelta(days=n), time(17, 30), tzinfo=zone) for n in (0, 1)
        ]
    origin = client.get(f"/broadcasts/{bid}")
    assert f'href="/broadcasts/{new.id}"' in origin.text
    # An airing already edited away cannot be edited again.
    again = client.post(
        f"/broadcasts/{bid}/edit", data={"scope": "this", "seq": "4", "csrf_token": token}
    )
    assert "chỉ sửa được các lượt sắp tới" in again.text
    # A commune operator sees no edit form.
    assert "Sửa lịch phát" not in login("vanhanh.yty").get(f"/broadcasts/{bid}").text
