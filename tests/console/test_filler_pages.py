"""The station page's "Giờ phát thanh và phát nền" section: broadcast hours, the filler
switch, its tracks and the receivers that hold it."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.console.messages import CATALOGUE
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.filler.commands import station_command
from stations.models import Area, Receiver, Station
from stations.timeutil import utcnow
from tests.audio import tone_recording
from tests.console.conftest import Login, csrf_of, english_on

Y_TY = "02680"


def _station_of(engine: Engine, area_code: str = Y_TY) -> int:
    with Session(engine) as ses:
        area = ses.exec(select(Area).where(Area.code == area_code)).one()
        return ses.exec(select(Station.id).where(Station.area_id == area.id)).first() or 0


def _visible(page: str, section: str = "filler") -> str:
    part = page.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", part)).split())


def _said(code: str) -> str:
    """The catalogue's Vietnamese text of an error code (one without fields)."""
    return CATALOGUE[code].template


def _stored(engine: Engine, station_id: int) -> dict[str, object] | None:
    with Session(engine) as ses:
        station = ses.get(Station, station_id)
        assert station is not None
        return station.filler


def _upload(client: TestClient, station_id: int, token: str, path: Path, title: str) -> str:
    with path.open("rb") as handle:
        answer = client.post(
            f"/stations/{station_id}/filler/tracks",
            data={"track_title": title, "csrf_token": token},
            files={"track_file": (path.name, handle, "audio/mpeg")},
        )
    assert answer.status_code == 200, answer.text
    return answer.text


def _set_hours(
    client: TestClient, station_id: int, token: str, windows: str, *, on: bool
) -> TestClient:
    data = {"filler_windows": windows, "csrf_token": token}
    if on:
        data["filler_enabled"] = "on"
    return client.post(f"/stations/{station_id}/filler", data=data)  # type: ignore[return-value]


def test_an_admin_uploads_a_track_sets_the_hours_and_turns_filler_on(
    login: Login, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    station_id = _station_of(engine)
    with transaction(engine) as ses:
        receivers = ses.exec(select(Receiver).where(Receiver.station_id == station_id)).all()
        assert len(receivers) >= 2
        for receiver in receivers:
            receiver.features = ["filler"]
            ses.add(receiver)
        total = len(receivers)

    admin = login("admin")
    page = admin.get(f"/stations/{station_id}")
    shown = _visible(page.text)
    assert "Giờ phát thanh và phát nền" in shown and "Phát nền đang tắt" in shown
    assert "Đài chưa thông báo giờ phát thanh" in shown and "Chưa có bản nhạc nền" in shown
    assert f"{total}/{total} máy thu của đài hỗ trợ phát nền" in shown
    assert not english_on(shown), english_on(shown)
    token = csrf_of(page.text)

    # Turning filler on before any track is refused, beside the form, as it was typed.
    refused = _set_hours(admin, station_id, token, "05:30-07:00\n17:00-18:30", on=True)
    assert refused.status_code == 422
    assert _said("filler.no_tracks") in _visible(refused.text)
    assert "05:30-07:00\n17:00-18:30</textarea>" in refused.text
    assert _stored(engine, station_id) is None

    # Overlapping hours are refused in Vietnamese too.
    overlapping = _set_hours(admin, station_id, token, "05:30-07:00\n06:00-08:00", on=False)
    assert overlapping.status_code == 422
    assert "trùng với khung giờ" in _visible(overlapping.text)

    uploaded = _upload(
        admin, station_id, token, tone_recording(tmp_path / "nhac.mp3"), "Nhạc hiệu đài Y Tý"
    )
    assert "Đã tải lên bản nhạc nền" in uploaded
    row = _visible(uploaded).split("Nhạc hiệu đài Y Tý", 1)[1]
    assert row.split()[0] == "0:02"
    (src,) = re.findall(r'<audio[^>]* src="([^"]+)"', uploaded.split('id="filler"', 1)[1])
    listened = admin.get(src)
    assert listened.status_code == 200 and listened.headers["content-type"] == "audio/mpeg"
    assert len(listened.content) > 1000

    saved = _set_hours(admin, station_id, token, "05:30-07:00\n17:00-18:30", on=True)
    assert saved.status_code == 200, saved.text
    assert "Đã lưu giờ phát thanh; phát nền đang bật" in saved.text
    shown = _visible(saved.text)
    assert "Giờ phát thanh (giờ Việt Nam): 05:30–07:00, 17:00–18:30." in shown
    assert "Phát nền đang bật" in shown
    assert f"0/{total} máy thu đang giữ phát nền hiện tại" in shown
    # The next spans the receivers fill, in local time: each one of the two windows.
    spans = re.findall(r"<li>([^<]+)</li>", saved.text.split('id="filler-next"', 1)[1])[:5]
    assert len(spans) == 5
    for span in spans:
        assert re.match(r"(05:30|17:00) ngày \d\d/\d\d đến (07:00|18:30)$", span.strip()), span

    # A receiver that reports the current filler is counted as holding it.
    with transaction(engine) as ses:
        station = ses.get(Station, station_id)
        assert station is not None
        command = station_command(session=ses, settings=settings, station=station, now=utcnow())
        assert command is not None
        receiver = ses.exec(select(Receiver).where(Receiver.station_id == station_id)).first()
        assert receiver is not None
        receiver.filler_version = command.version
        ses.add(receiver)
    again = _visible(admin.get(f"/stations/{station_id}").text)
    assert f"1/{total} máy thu đang giữ phát nền hiện tại" in again
    assert not english_on(again), english_on(again)


def test_a_non_admin_sees_the_hours_but_no_forms_and_cannot_post(
    login: Login, engine: Engine
) -> None:
    station_id = _station_of(engine)
    editor = login("bientap.batxat")
    page = editor.get(f"/stations/{station_id}")
    assert page.status_code == 200
    shown = _visible(page.text)
    assert "Giờ phát thanh và phát nền" in shown and "Phát nền đang tắt" in shown
    section = page.text.split('id="filler"', 1)[1].split("</section>", 1)[0]
    assert "<form" not in section and "Tải lên bản nhạc nền" not in section
    refused = _set_hours(editor, station_id, csrf_of(page.text), "05:30-07:00", on=False)
    assert refused.status_code == 403
    assert "Không có quyền" in refused.text
    assert _stored(engine, station_id) is None


def test_the_last_track_cannot_go_while_filler_is_on(
    login: Login, engine: Engine, tmp_path: Path
) -> None:
    station_id = _station_of(engine)
    admin = login("admin")
    token = csrf_of(admin.get(f"/stations/{station_id}").text)

    # No file chosen, or a file that is not audio: told so beside the upload form.
    empty = admin.post(
        f"/stations/{station_id}/filler/tracks",
        data={"track_title": "Nhạc", "csrf_token": token},
    )
    assert empty.status_code == 422
    assert "Hãy chọn tệp âm thanh của bản nhạc nền" in _visible(empty.text)
    junk = admin.post(
        f"/stations/{station_id}/filler/tracks",
        data={"track_title": "Nhạc", "csrf_token": token},
        files={"track_file": ("nhac.mp3", b"not audio at all" * 50, "audio/mpeg")},
    )
    assert junk.status_code == 422
    assert not english_on(_visible(junk.text)), _visible(junk.text)

    _upload(admin, station_id, token, tone_recording(tmp_path / "nen.mp3"), "Bài hát quê hương")
    assert _set_hours(admin, station_id, token, "17:00-18:30", on=True).status_code == 200
    stored = _stored(engine, station_id)
    assert stored is not None
    tracks = stored["tracks"]
    assert isinstance(tracks, list) and len(tracks) == 1
    sha256 = tracks[0]["sha256"]

    refused = admin.post(
        f"/stations/{station_id}/filler/tracks/{sha256}/remove", data={"csrf_token": token}
    )
    assert refused.status_code == 422
    shown = _visible(refused.text)
    assert _said("filler.last_track") in shown and "Bài hát quê hương" in shown

    # Filler off: the last track may go.
    assert _set_hours(admin, station_id, token, "17:00-18:30", on=False).status_code == 200
    removed = admin.post(
        f"/stations/{station_id}/filler/tracks/{sha256}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 200
    assert "Đã xóa bản nhạc nền" in removed.text
    shown = _visible(removed.text)
    assert "Chưa có bản nhạc nền" in shown and "Phát nền đang tắt" in shown
    assert "Giờ phát thanh (giờ Việt Nam): 17:00–18:30." in shown
