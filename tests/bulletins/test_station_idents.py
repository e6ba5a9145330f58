"""A station's own intro and outro jingles open and close its programmes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from broadcast.core.settings import Settings
from broadcast.delivery.programmes import programme_for_station
from broadcast.people.models import Role
from stations.models import Station
from tests.bulletins.test_programmes_media import _approved
from tests.utils import Headers, UserFactory


def _station(session: Session, name: str) -> Station:
    station = session.exec(select(Station).where(Station.name == name)).one()
    session.refresh(station)
    return station


def test_station_ident_opens_and_closes_its_programme(
    client: TestClient,
    demo: dict[str, str],
    admin_headers: Headers,
    session: Session,
    settings: Settings,
    tone: Callable[..., Path],
    make_user: UserFactory,
    render: Callable[[], int],
) -> None:
    editor, approver = make_user(Role.editor, "082"), make_user(Role.approver, "082")
    bid = _approved(
        client,
        editor,
        approver,
        "082",
        {"title": "Tin ngắn", "translations": [{"language": "vi", "text": "Xin chào bà con."}]},
        {"hmn": tone(1.0, name="hmn.mp3"), "ium": tone(1.0, name="ium.mp3")},
        render,
    )
    y_ty = _station(session, "Đài truyền thanh xã Y Tý")
    jingle = tone(2.0, name="nhac-hieu.mp3", freq=660)
    with jingle.open("rb") as handle:
        answer = client.put(
            f"/api/v1/stations/{y_ty.id}/idents/intro",
            files={"file": ("nhac-hieu.mp3", handle, "audio/mpeg")},
            headers=admin_headers,
        )
    assert answer.status_code == 200, answer.text
    intro = answer.json()["idents"]["intro"]
    assert 1900 <= intro["duration_ms"] <= 2100
    # The published jingle is downloadable like any media.
    media = client.get(f"/media/{intro['sha256']}.mp3", headers=admin_headers)
    assert media.status_code == 200 and len(media.content) == intro["bytes"]

    programme = programme_for_station(
        session=session, station=_station(session, y_ty.name), bulletin_ids=[bid], settings=settings
    )
    assert [(i.kind, i.media.sha256) for i in programme.items][:1] == [("intro", intro["sha256"])]
    other = programme_for_station(
        session=session,
        station=_station(session, "Đài truyền thanh xã A Mú Sung"),
        bulletin_ids=[bid],
        settings=settings,
    )
    assert all(i.kind != "intro" for i in other.items)

    removed = client.delete(f"/api/v1/stations/{y_ty.id}/idents/intro", headers=admin_headers)
    assert removed.status_code == 200 and removed.json()["idents"] == {}
    again = programme_for_station(
        session=session, station=_station(session, y_ty.name), bulletin_ids=[bid], settings=settings
    )
    assert all(i.kind != "intro" for i in again.items)


def test_bad_ident_uploads_are_refused(
    client: TestClient,
    demo: dict[str, str],
    admin_headers: Headers,
    session: Session,
    make_user: Callable[..., Headers],
    tone: Callable[..., Path],
) -> None:
    y_ty = _station(session, "Đài truyền thanh xã Y Tý")
    url = f"/api/v1/stations/{y_ty.id}/idents"
    corrupt = client.put(
        f"{url}/intro", files={"file": ("x.mp3", b"not audio at all" * 50)}, headers=admin_headers
    )
    assert corrupt.status_code == 422 and corrupt.json()["detail"]
    silent = tone(2.0, name="silent.mp3", volume=0)
    with silent.open("rb") as handle:
        answer = client.put(f"{url}/outro", files={"file": handle}, headers=admin_headers)
    assert answer.status_code == 422
    assert (
        client.put(f"{url}/middle", files={"file": b"x"}, headers=admin_headers).status_code == 404
    )
    operator = make_user("operator", "02680")
    with silent.open("rb") as handle:
        assert (
            client.put(f"{url}/intro", files={"file": handle}, headers=operator).status_code == 403
        )
    assert client.get(f"/api/v1/stations/{y_ty.id}", headers=admin_headers).json()["idents"] == {}
