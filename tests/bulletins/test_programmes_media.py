"""Programmes built from approved bulletins for stations of different languages; media downloads."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from broadcast.core.settings import Settings
from broadcast.delivery.programmes import media_url, programme_for_station
from broadcast.people.models import Role
from playlists.render import render_programme
from stations.models import Station
from tests.utils import UserFactory
from tts.audio import probe_duration_ms


def _approved(
    client: TestClient,
    editor: dict,
    approver: dict,
    area: str,
    body: dict,
    recordings: dict[str, Path],
    render: Callable[[], int],
) -> int:
    answer = client.post("/api/v1/bulletins", json={"area_code": area, **body}, headers=editor)
    bid = answer.json()["id"]
    for language, path in recordings.items():
        with path.open("rb") as handle:
            up = client.post(
                f"/api/v1/bulletins/{bid}/translations/{language}/recording",
                files={"file": (path.name, handle, "audio/mpeg")},
                headers=editor,
            )
            assert up.status_code == 200, up.text
    render()
    client.post(f"/api/v1/bulletins/{bid}/submit", headers=editor)
    ok = client.post(f"/api/v1/bulletins/{bid}/approve", headers=approver)
    assert ok.status_code == 200, ok.text
    return int(bid)


def test_programmes_per_station_language_and_render(
    client: TestClient,
    demo: dict[str, str],
    make_user: UserFactory,
    session: Session,
    settings: Settings,
    render: Callable[[], int],
    tone: Callable[..., Path],
    tmp_path: Path,
) -> None:
    editor, approver = make_user(Role.editor, "082"), make_user(Role.approver, "082")
    hmn = tone(1.2, name="hmn.mp3", freq=500)
    ium = tone(0.8, name="ium.mp3", freq=700)
    normal = _approved(
        client,
        editor,
        approver,
        "082",
        {
            "title": "Tuyên truyền luật biên giới",
            "priority": "normal",
            "translations": [{"language": "vi", "text": "Luật Biên giới quốc gia năm 2003."}],
        },
        {"hmn": hmn, "ium": ium},
        render,
    )
    urgent = _approved(
        client,
        editor,
        approver,
        "02680",
        {
            "title": "Cảnh báo lũ quét",
            "priority": "emergency",
            "translations": [{"language": "vi", "text": "Cảnh báo lũ quét tại thôn Lao Chải."}],
        },
        {"hmn": hmn},
        render,
    )
    draft = client.post(
        "/api/v1/bulletins",
        json={
            "area_code": "082",
            "title": "Chưa duyệt",
            "translations": [{"language": "vi", "text": "Bản nháp."}],
        },
        headers=editor,
    ).json()["id"]

    stations = {s.name: s for s in session.exec(select(Station)).all()}
    y_ty = stations["Đài truyền thanh xã Y Tý"]  # vi, hmn
    a_mu_sung = stations["Đài truyền thanh xã A Mú Sung"]  # vi, hmn, ium
    prog = programme_for_station(
        session=session, station=y_ty, bulletin_ids=None, settings=settings
    )
    assert [(i.bulletin_id, i.language) for i in prog.items] == [
        (urgent, "vi"),
        (urgent, "hmn"),
        (normal, "vi"),
        (normal, "hmn"),
    ]
    assert not prog.warnings
    other = programme_for_station(
        session=session, station=a_mu_sung, bulletin_ids=[normal, draft, urgent], settings=settings
    )
    assert [(i.bulletin_id, i.language) for i in other.items] == [
        (normal, "vi"),
        (normal, "hmn"),
        (normal, "ium"),
    ]
    codes = {(w.code, w.bulletin_id) for w in other.warnings}
    assert ("not_approved", draft) in codes and ("not_for_station", urgent) in codes
    manifest = prog.manifest(lambda sha: media_url(settings, sha))
    assert (
        manifest["items"][0]["url"]
        == f"http://127.0.0.1:8000/media/{prog.items[0].media.sha256}.mp3"
    )

    result = render_programme(prog, tmp_path / "yty.mp3")
    measured = probe_duration_ms(result.path)
    expected = sum(i.media.duration_ms for i in prog.items) + settings.programme_gap_ms * 3
    assert abs(measured - expected) <= 50

    # An edit after approval takes the bulletin off the air at once.
    client.put(f"/api/v1/bulletins/{normal}/translations/vi", json={"text": "Sửa."}, headers=editor)
    session.expire_all()
    after = programme_for_station(
        session=session, station=y_ty, bulletin_ids=None, settings=settings
    )
    assert after.bulletin_ids == (urgent,) and after.version != prog.version

    # Media: strangers 401, users with a bearer token, Range; receivers with HTTP Basic
    # get only files of programmes sent to them (tests/bulletins/test_media_scope.py).
    url = f"/media/{prog.items[0].media.sha256}.mp3"
    assert client.get(url).status_code == 401
    receiver_id, password = next(iter(demo.items()))
    bad = base64.b64encode(f"{receiver_id}:wrong".encode()).decode()
    assert client.get(url, headers={"Authorization": f"Basic {bad}"}).status_code == 401
    receiver = {
        "Authorization": "Basic " + base64.b64encode(f"{receiver_id}:{password}".encode()).decode()
    }
    assert client.get(url, headers=receiver).status_code == 404  # nothing sent to it yet
    basic = editor
    full = client.get(url, headers=basic)
    assert full.status_code == 200 and full.headers["etag"]
    size = len(full.content)
    assert size == prog.items[0].media.bytes
    part = client.get(url, headers={**basic, "Range": "bytes=100-"})
    assert part.status_code == 206 and part.content == full.content[100:]
    assert part.headers["content-range"] == f"bytes 100-{size - 1}/{size}"
    assert client.get(url, headers={**basic, "Range": f"bytes={size}-"}).status_code == 416
    assert client.get(url, headers=editor).status_code == 200
    assert client.get("/media/" + "0" * 64 + ".mp3", headers=editor).status_code == 404
