"""REST: a station's broadcast hours and filler, its tracks, and who may download them."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.console.messages import say
from broadcast.people.models import Role
from stations.errors import InvalidInputError
from stations.models import Receiver, Station
from tests.utils import Headers, UserFactory

HOURS = [{"start": "05:30", "end": "07:00"}, {"start": "17:00", "end": "18:30"}]


def _station(session: Session, name: str) -> Station:
    return session.exec(select(Station).where(Station.name == name)).one()


def _basic(receiver_id: str, password: str) -> Headers:
    token = base64.b64encode(f"{receiver_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _upload(client: TestClient, url: str, path: Path, title: str, headers: Headers) -> object:
    with path.open("rb") as handle:
        return client.post(
            url,
            files={"file": (path.name, handle, "audio/mpeg")},
            data={"title": title},
            headers=headers,
        )


def test_an_admin_sets_hours_uploads_a_track_and_turns_filler_on(
    client: TestClient,
    demo: dict[str, str],
    admin_headers: Headers,
    session: Session,
    tone: Callable[..., Path],
) -> None:
    y_ty = _station(session, "Đài truyền thanh xã Y Tý")
    url = f"/api/v1/stations/{y_ty.id}/filler"
    fresh = client.get(url, headers=admin_headers).json()
    assert fresh["enabled"] is False and fresh["airs"] is False
    assert fresh["windows"] == [] and fresh["tracks"] == [] and fresh["version"] is None
    assert fresh["receivers"] == {"total": 3, "capable": 0, "holding": 0}

    # Hours first, off: nothing airs yet.
    hours = client.put(url, json={"windows": HOURS}, headers=admin_headers)
    assert hours.status_code == 200, hours.text
    assert hours.json()["windows"] == HOURS and hours.json()["airs"] is False
    # On without a track: refused, with its message.
    refused = client.put(url, json={"enabled": True, "windows": HOURS}, headers=admin_headers)
    assert refused.status_code == 422 and refused.json()["reason"] == "filler.no_tracks"

    uploaded = _upload(
        client, f"{url}/tracks", tone(3.0, name="que-huong.mp3"), "Quê hương", admin_headers
    )
    assert uploaded.status_code == 201, uploaded.text  # type: ignore[attr-defined]
    (track,) = uploaded.json()["tracks"]  # type: ignore[attr-defined]
    assert track["title"] == "Quê hương" and 2900 <= track["duration_ms"] <= 3100
    assert track["url"].endswith(f"/media/{track['sha256']}.mp3")

    on = client.put(url, json={"enabled": True, "windows": HOURS}, headers=admin_headers)
    assert on.status_code == 200, on.text
    shown = on.json()
    assert shown["enabled"] is True and shown["airs"] is True and shown["version"]
    # Two windows a day for a week, from local midnight today.
    assert len(shown["spans"]) == 14
    assert all(s["end"] > s["start"] for s in shown["spans"])
    assert client.get(url, headers=admin_headers).json()["version"] == shown["version"]

    # The last track cannot go while filler is on.
    last = client.delete(f"{url}/tracks/{track['sha256']}", headers=admin_headers)
    assert last.status_code == 409 and last.json()["reason"] == "filler.last_track"
    off = client.put(url, json={"enabled": False, "windows": HOURS}, headers=admin_headers)
    assert off.json()["version"] is None and off.json()["spans"] == []
    gone = client.delete(f"{url}/tracks/{track['sha256']}", headers=admin_headers)
    assert gone.status_code == 200 and gone.json()["tracks"] == []
    missing = client.delete(f"{url}/tracks/{track['sha256']}", headers=admin_headers)
    assert missing.status_code == 404 and missing.json()["reason"] == "filler.track_not_found"


def test_bad_hours_and_uploads_are_refused_with_a_message_and_change_nothing(
    client: TestClient,
    demo: dict[str, str],
    admin_headers: Headers,
    session: Session,
) -> None:
    y_ty = _station(session, "Đài truyền thanh xã Y Tý")
    url = f"/api/v1/stations/{y_ty.id}/filler"
    overlapping = [{"start": "05:30", "end": "07:00"}, {"start": "06:30", "end": "08:00"}]
    for windows, code in (
        (overlapping, "filler.overlap"),
        ([{"start": "25:00", "end": "07:00"}], "filler.bad_time"),
        ([{"start": "07:00", "end": "07:00"}], "filler.empty_window"),
    ):
        answer = client.put(url, json={"windows": windows}, headers=admin_headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["reason"] == code and answer.json()["detail"]
        # The console's Vietnamese text exists for it.
        assert say(InvalidInputError("x", code=code, position=1, other=2, at="06:30", limit=12))
    corrupt = client.post(
        f"{url}/tracks",
        files={"file": ("x.mp3", b"not audio at all" * 50)},
        data={"title": "Hỏng"},
        headers=admin_headers,
    )
    assert corrupt.status_code == 422 and corrupt.json()["detail"]
    untitled = client.post(
        f"{url}/tracks", files={"file": ("x.mp3", b"x")}, data={"title": ""}, headers=admin_headers
    )
    assert untitled.status_code == 422
    shown = client.get(url, headers=admin_headers).json()
    assert shown["windows"] == [] and shown["tracks"] == []


def test_filler_is_scoped_to_the_callers_area_and_changed_by_admins_only(
    client: TestClient,
    demo: dict[str, str],
    session: Session,
    make_user: UserFactory,
) -> None:
    y_ty = _station(session, "Đài truyền thanh xã Y Tý")
    url = f"/api/v1/stations/{y_ty.id}/filler"
    operator = make_user(Role.operator, "02680")
    other_admin = make_user(Role.admin, "083")
    district_admin = make_user(Role.admin, "082")
    assert client.get(url, headers=operator).status_code == 200
    assert client.put(url, json={"windows": HOURS}, headers=operator).status_code == 403
    assert client.get(url, headers=other_admin).status_code == 404
    assert client.put(url, json={"windows": HOURS}, headers=other_admin).status_code == 404
    assert client.put(url, json={"windows": HOURS}, headers=district_admin).status_code == 200
    assert client.get(url).status_code == 401


def test_a_receiver_downloads_its_own_stations_filler_and_no_other(
    client: TestClient,
    demo: dict[str, str],
    admin_headers: Headers,
    session: Session,
    tone: Callable[..., Path],
) -> None:
    y_ty = _station(session, "Đài truyền thanh xã Y Tý")
    a_mu_sung = _station(session, "Đài truyền thanh xã A Mú Sung")
    url = f"/api/v1/stations/{y_ty.id}/filler"
    answer = _upload(client, f"{url}/tracks", tone(2.0, freq=550), "Giới thiệu đài", admin_headers)
    sha = answer.json()["tracks"][0]["sha256"]  # type: ignore[attr-defined]
    own = session.exec(select(Receiver).where(Receiver.station_id == y_ty.id)).first()
    other = session.exec(select(Receiver).where(Receiver.station_id == a_mu_sung.id)).first()
    assert own is not None and other is not None
    media = f"/media/{sha}.mp3"
    fetched = client.get(media, headers=_basic(own.id, demo[own.id]))
    assert fetched.status_code == 200 and fetched.content[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    refused = client.get(media, headers=_basic(other.id, demo[other.id]))
    assert refused.status_code in (403, 404)
    # Signed-in users of the station's area may listen to it; another district's may not.
    assert client.get(media, headers=admin_headers).status_code == 200
