"""Per-station voice, accent, speed and delivery codec: REST, inheritance and real renderings.

Real components: the REST API, SQLite, eSpeak NG through the background renderer and the
programme builder, ffmpeg encoding MP3 and Opus; the files are measured by decoding them.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from broadcast.bulletins.media import media_dir
from broadcast.bulletins.models import Translation
from broadcast.core.settings import Settings
from broadcast.delivery.programmes import media_url, programme_for_station
from broadcast.people.models import Role
from playlists import Programme, ProgrammeItem
from stations.models import Station
from tests.utils import Headers, UserFactory
from tts.audio import probe_duration_ms

TEXT = (
    "Ủy ban nhân dân xã đề nghị bà con không đốt nương làm rẫy trong mùa khô. "
    "Khi thấy cháy rừng, hãy gọi ngay số 114 và báo cho trưởng thôn."
)


def _approved_text(
    client: TestClient,
    editor: Headers,
    approver: Headers,
    render: Callable[[], int],
    **voice: object,
) -> int:
    """A bulletin of district Bát Xát read by eSpeak NG, rendered and approved."""
    answer = client.post(
        "/api/v1/bulletins",
        json={
            "area_code": "082",
            "title": "Phòng chống cháy rừng",
            "translations": [{"language": "vi", "text": TEXT}],
            **voice,
        },
        headers=editor,
    )
    assert answer.status_code == 201, answer.text
    bid = int(answer.json()["id"])
    render()
    assert client.post(f"/api/v1/bulletins/{bid}/submit", headers=editor).status_code == 200
    ok = client.post(f"/api/v1/bulletins/{bid}/approve", headers=approver)
    assert ok.status_code == 200, ok.text
    return bid


def _stations(session: Session) -> dict[str, Station]:
    return {s.name: s for s in session.exec(select(Station)).all()}


def _vi(programme: Programme) -> ProgrammeItem:
    (item,) = [i for i in programme.items if i.language == "vi"]
    return item


def _version(session: Session, bulletin_id: int) -> Translation:
    return session.exec(
        select(Translation).where(
            Translation.bulletin_id == bulletin_id, Translation.language == "vi"
        )
    ).one()


def test_one_bulletin_in_two_voices_and_two_codecs(
    client: TestClient,
    demo: dict[str, str],
    make_user: UserFactory,
    admin_headers: Headers,
    session: Session,
    settings: Settings,
    render: Callable[[], int],
) -> None:
    editor, approver = make_user(Role.editor, "082"), make_user(Role.approver, "082")
    stations = _stations(session)
    y_ty = stations["Đài truyền thanh xã Y Tý"]
    a_mu_sung = stations["Đài truyền thanh xã A Mú Sung"]
    bid = _approved_text(client, editor, approver, render)
    version = _version(session, bid)

    # Stations that choose nothing air the version's own audio, as before.
    before = _vi(
        programme_for_station(session=session, station=y_ty, bulletin_ids=[bid], settings=settings)
    )
    assert before.media.sha256 == version.audio_sha256 and before.media.codec == "mp3"

    slow = client.patch(
        f"/api/v1/stations/{y_ty.id}", json={"tts_speed": 0.8}, headers=admin_headers
    )
    assert slow.status_code == 200, slow.text
    assert slow.json()["tts_speed"] == 0.8 and slow.json()["audio_codec"] is None
    fast = client.patch(
        f"/api/v1/stations/{a_mu_sung.id}",
        json={
            "tts_speed": 1.2,
            "tts_accent": "south",
            "audio_codec": "opus",
            "opus_bitrate_kbps": 16,
        },
        headers=admin_headers,
    )
    assert fast.status_code == 200, fast.text
    assert fast.json()["audio_codec"] == "opus" and fast.json()["tts_accent"] == "south"
    session.expire_all()

    slow_item = _vi(
        programme_for_station(session=session, station=y_ty, bulletin_ids=[bid], settings=settings)
    )
    fast_programme = programme_for_station(
        session=session, station=a_mu_sung, bulletin_ids=[bid], settings=settings
    )
    fast_item = _vi(fast_programme)
    assert slow_item.media.path is not None and fast_item.media.path is not None
    slow_data, fast_data = slow_item.media.path.read_bytes(), fast_item.media.path.read_bytes()
    assert slow_item.media.path.suffix == ".mp3" and fast_item.media.path.suffix == ".opus"
    # MP3 (an ID3 tag or a frame sync) against Opus in an Ogg container.
    assert slow_data[:3] == b"ID3" or slow_data[:2] in (b"\xff\xfb", b"\xff\xf3")
    assert fast_data[:4] == b"OggS" and b"OpusHead" in fast_data[:64]

    # Speed: the same words take longer at 0.8 and less at 1.2 than the default reading.
    default_ms = version.audio_duration_ms or 0
    slow_ms = probe_duration_ms(slow_item.media.path)
    fast_ms = probe_duration_ms(fast_item.media.path, input_format="ogg")
    assert slow_ms > default_ms * 1.1, (slow_ms, default_ms)
    assert fast_ms < default_ms * 0.92, (fast_ms, default_ms)
    assert abs(slow_item.media.duration_ms - slow_ms) < 100
    # Opus at 16 kb/s costs a receiver on 3G far fewer bytes per minute than MP3 at 48 kb/s.
    mp3_per_minute = len(slow_data) * 60_000 / slow_ms
    opus_per_minute = len(fast_data) * 60_000 / fast_ms
    assert opus_per_minute < mp3_per_minute / 2, (opus_per_minute, mp3_per_minute)
    assert opus_per_minute < 16_000 / 8 * 60 * 1.25  # about 16 kb/s, container included

    # The manifest names the Opus file's URL, codec and content type; the version changed.
    manifest = fast_programme.manifest(lambda sha, codec="mp3": media_url(settings, sha, codec))
    (item,) = [i for i in manifest["items"] if i["language"] == "vi"]
    assert item["url"].endswith(f"/media/{fast_item.media.sha256}.opus")
    assert (item["codec"], item["content_type"]) == ("opus", "audio/ogg")
    assert item["bytes"] == len(fast_data)
    # The service says which voice a station uses.
    voice = client.get(f"/api/v1/stations/{a_mu_sung.id}/voice", headers=admin_headers).json()
    assert voice == {
        "tts_engine": None,
        "tts_accent": "south",
        "tts_speed": 1.2,
        "audio_codec": "opus",
        "opus_bitrate_kbps": 16,
    }

    # Its receivers that play only MP3 get the same voice in MP3.
    mp3_item = _vi(
        programme_for_station(
            session=session, station=a_mu_sung, bulletin_ids=[bid], settings=settings, codec="mp3"
        )
    )
    assert mp3_item.media.codec == "mp3" and mp3_item.media.sha256 != version.audio_sha256
    assert abs(probe_duration_ms(mp3_item.media.path or fast_item.media.path) - fast_ms) < 200


def test_voices_are_inherited_down_the_tree_and_the_nearest_choice_wins(
    client: TestClient,
    demo: dict[str, str],
    make_user: UserFactory,
    admin_headers: Headers,
    session: Session,
    settings: Settings,
    render: Callable[[], int],
) -> None:
    y_ty = _stations(session)["Đài truyền thanh xã Y Tý"]

    def voice() -> dict[str, object]:
        answer = client.get(f"/api/v1/stations/{y_ty.id}/voice", headers=admin_headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    assert voice()["tts_accent"] == "north" and voice()["tts_speed"] == 1.0  # the service's
    province = client.patch("/api/v1/areas/10", json={"tts_speed": 1.1}, headers=admin_headers)
    assert province.status_code == 200 and province.json()["tts_speed"] == 1.1
    district = client.patch(
        "/api/v1/areas/082", json={"tts_accent": "south", "tts_speed": 0.9}, headers=admin_headers
    )
    assert district.status_code == 200 and district.json()["tts_accent"] == "south"
    assert (voice()["tts_accent"], voice()["tts_speed"]) == ("south", 0.9)  # nearest area
    client.patch(
        f"/api/v1/stations/{y_ty.id}", json={"tts_accent": "central"}, headers=admin_headers
    )
    assert (voice()["tts_accent"], voice()["tts_speed"]) == ("central", 0.9)  # station over area
    # Null inherits again.
    client.patch("/api/v1/areas/082", json={"tts_speed": None}, headers=admin_headers)
    assert (voice()["tts_accent"], voice()["tts_speed"]) == ("central", 1.1)
    assert client.get("/api/v1/areas/082", headers=admin_headers).json()["tts_speed"] is None

    # A bulletin's own voice wins over every station's: read north at 1.0, it is the
    # version's default audio even at Y Tý (central, 1.1).
    editor, approver = make_user(Role.editor, "082"), make_user(Role.approver, "082")
    own = _approved_text(client, editor, approver, render, tts_accent="north", tts_speed=1.0)
    plain = _approved_text(client, editor, approver, render)
    shown = client.get(f"/api/v1/bulletins/{own}", headers=editor).json()
    assert (shown["tts_accent"], shown["tts_speed"], shown["tts_engine"]) == ("north", 1.0, None)
    session.expire_all()
    station = session.get(Station, y_ty.id)
    assert station is not None
    programme = programme_for_station(
        session=session, station=station, bulletin_ids=[own, plain], settings=settings
    )
    by_bulletin = {i.bulletin_id: i for i in programme.items if i.language == "vi"}
    assert by_bulletin[own].media.sha256 == _version(session, own).audio_sha256
    assert by_bulletin[plain].media.sha256 != _version(session, plain).audio_sha256
    # Same words, one read at 1.0 and one at 1.1: the faster one is shorter.
    assert by_bulletin[plain].media.duration_ms < by_bulletin[own].media.duration_ms
    assert not [w for w in programme.warnings if w.code == "voice_fallback"]


def test_voice_fields_out_of_range_are_refused(
    client: TestClient, demo: dict[str, str], admin_headers: Headers, session: Session
) -> None:
    y_ty = _stations(session)["Đài truyền thanh xã Y Tý"]
    refused = {
        "tts_speed": 1.5,
        "tts_accent": "west",
        "tts_engine": "festival",
        "audio_codec": "aac",
        "opus_bitrate_kbps": 32,
    }
    for name, value in refused.items():
        answer = client.patch(
            f"/api/v1/stations/{y_ty.id}", json={name: value}, headers=admin_headers
        )
        assert answer.status_code == 422, (name, answer.text)
        body = answer.json()
        assert body["reason"] == "request.invalid"
        assert [e["loc"][-1] for e in body["errors"]] == [name], body
        assert name in body["detail"]
    answer = client.patch("/api/v1/areas/082", json={"tts_speed": 0.5}, headers=admin_headers)
    assert answer.status_code == 422 and "tts_speed" in answer.json()["detail"]
    # Nothing was written.
    shown = client.get(f"/api/v1/stations/{y_ty.id}", headers=admin_headers).json()
    assert all(shown[name] is None for name in refused)


def test_the_renderer_makes_every_station_voice_ahead_of_the_programmes(
    client: TestClient,
    demo: dict[str, str],
    make_user: UserFactory,
    admin_headers: Headers,
    session: Session,
    settings: Settings,
    render: Callable[[], int],
) -> None:
    stations = _stations(session)
    y_ty = stations["Đài truyền thanh xã Y Tý"]
    a_mu_sung = stations["Đài truyền thanh xã A Mú Sung"]
    client.patch(f"/api/v1/stations/{y_ty.id}", json={"tts_speed": 0.8}, headers=admin_headers)
    client.patch(
        f"/api/v1/stations/{a_mu_sung.id}", json={"audio_codec": "opus"}, headers=admin_headers
    )
    editor, approver = make_user(Role.editor, "082"), make_user(Role.approver, "082")
    bid = _approved_text(client, editor, approver, render)
    published = {p.name for p in media_dir(settings).iterdir()}
    # The version's own audio, Y Tý's slower reading, A Mú Sung's Opus and its MP3 twin
    # (the same as the own audio, so one file): three files, made by the render pass.
    assert len([n for n in published if n.endswith(".mp3")]) == 2
    assert len([n for n in published if n.endswith(".opus")]) == 1
    session.expire_all()
    for station in (y_ty, a_mu_sung):
        row = session.get(Station, station.id)
        assert row is not None
        item = _vi(
            programme_for_station(
                session=session, station=row, bulletin_ids=[bid], settings=settings
            )
        )
        assert item.media.path is not None and item.media.path.name in published
