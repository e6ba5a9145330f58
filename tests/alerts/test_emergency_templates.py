"""Emergency templates voice the languages no engine speaks: H'Mông phrases recorded once.

Real service end to end: templates written, recorded and reviewed over REST (uploads
levelled by ffmpeg), Vietnamese slots read by eSpeak NG, the CAP intake, the worker's
alert and dispatch passes, the real programme builder; durations measured by ffprobe.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery
from broadcast.delivery.programmes import programme_for_station
from broadcast.people.models import Role
from broadcast.runtime.worker import Worker
from broadcast.templates.hazards import hazard_of
from broadcast.templates.models import Hazard
from broadcast.templates.service import PART_GAP_MS
from stations.models import Area, Station
from tests.alerts.conftest import CAP_TYPE, SENDER, flood_alert
from tests.audio import tone_recording
from tests.console.conftest import Login, login  # noqa: F401 - fixture
from tests.utils import Headers, UserFactory

# The phrases a H'Mông speaker recorded, as tones of known length (ms).
PHRASES = {1: 1200, 3: 800, 5: 1000}
PLACE_RECORDING_MS = 600
# Tolerance of a measured duration: mp3 frames are 24 ms at 48 kHz.
SLACK_MS = 80


def ffprobe_ms(data: bytes, tmp: Path) -> int:
    """The duration ffprobe reads in an mp3."""
    path = tmp / "probe.mp3"
    path.write_bytes(data)
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", "-show_entries", "format=duration",
            "-of", "default=noprint_wrappers=1:nokey=1", str(path),
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return round(float(out) * 1000)


@pytest.fixture
def editor(app: TestClient, make_user: UserFactory) -> Headers:
    return make_user(Role.editor, "10")


@pytest.fixture
def approver(app: TestClient, make_user: UserFactory) -> Headers:
    return make_user(Role.approver, "10")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("phrases")
    made = {
        f"phrase{n}": tone_recording(folder / f"p{n}.mp3", ms, freq=300 + 40 * n)
        for n, ms in PHRASES.items()
    }
    made["yty"] = tone_recording(folder / "yty.mp3", PLACE_RECORDING_MS, freq=620)
    return made


def hmong_template(
    app: TestClient,
    editor: Headers,
    approver: Headers,
    clips: dict[str, Path],
    *,
    area: str = "10",
    review: bool = True,
) -> dict:  # type: ignore[type-arg]
    """A flash-flood template in H'Mông: phrase, place, phrase, time, phrase."""
    made = app.post(
        f"/api/v1/areas/{area}/emergency-templates",
        json={"hazard": "flash_flood", "language": "hmn", "name": "Dej nyab - tiếng Mông"},
        headers=editor,
    )
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    parts = [
        {"kind": "phrase"},
        {"kind": "slot", "slot": "place"},
        {"kind": "phrase"},
        {"kind": "slot", "slot": "time"},
        {"kind": "phrase"},
    ]
    answer = app.put(
        f"/api/v1/emergency-templates/{tid}/parts", json={"parts": parts}, headers=editor
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["missing_recordings"] == [1, 3, 5]
    for n in PHRASES:
        with clips[f"phrase{n}"].open("rb") as handle:
            up = app.post(
                f"/api/v1/emergency-templates/{tid}/parts/{n}/recording",
                files={"file": ("p.mp3", handle, "audio/mpeg")},
                headers=editor,
            )
        assert up.status_code == 200, up.text
    with clips["yty"].open("rb") as handle:
        up = app.post(
            f"/api/v1/emergency-templates/{tid}/slots/place/recordings",
            data={"value": "Xã Y Tý"},
            files={"file": ("yty.mp3", handle, "audio/mpeg")},
            headers=editor,
        )
    assert up.status_code == 200, up.text
    if review:
        done = app.post(f"/api/v1/emergency-templates/{tid}/review", headers=approver)
        assert done.status_code == 200, done.text
        assert done.json()["reviewed"] is True
    return app.get(f"/api/v1/emergency-templates/{tid}", headers=editor).json()  # type: ignore[no-any-return]


def _airs(engine: Engine, area_code: str, languages: list[str]) -> int:
    with transaction(engine) as ses:
        area = ses.exec(select(Area).where(Area.code == area_code)).one()
        station = ses.exec(select(Station).where(Station.area_id == area.id)).one()
        station.languages = languages
        ses.add(station)
        return station.id or 0


def test_a_hmong_emergency_is_assembled_from_phrases_and_vietnamese_slots_in_order(
    app: TestClient,
    engine: Engine,
    settings: Settings,
    editor: Headers,
    approver: Headers,
    admin_headers: Headers,
    centre: Headers,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
    clips: dict[str, Path],
    tmp_path: Path,
) -> None:
    template = hmong_template(app, editor, approver, clips)
    # A Mú Sung airs H'Mông first; Y Tý Vietnamese first.
    amusung = _airs(engine, "02659", ["hmn", "vi"])
    yty = _airs(engine, "02680", ["vi", "hmn"])
    trust(SENDER)

    answer = app.post("/api/v1/alerts/cap", content=flood_alert(), headers={**centre, **CAP_TYPE})
    assert answer.status_code == 201, answer.text
    alert = answer.json()
    assert alert["hazard"] == "flash_flood"
    assert alert["templates"] == {"hmn": template["id"]}
    bulletin = app.get(f"/api/v1/bulletins/{alert['bulletin_id']}", headers=admin_headers).json()
    versions = {t["language"]: t for t in bulletin["translations"]}
    hmn = versions["hmn"]
    assert hmn["source"] == "template" and hmn["template_id"] == template["id"]
    assert hmn["audio_state"] == "ready"
    assert hmn["text"].startswith("Ceeb toom dej nyab")  # the alert's own words, shown

    # What the version is made of, in order: the audit log says which clip came from where.
    events = app.get(
        f"/api/v1/audit?object_type=bulletin&object_id={alert['bulletin_id']}",
        headers=admin_headers,
    ).json()
    rows = events["items"] if isinstance(events, dict) else events
    filled = next(e for e in rows if e["action"] == "alert.template")
    parts = filled["detail"]["parts"]
    assert [(p["kind"], p["source"]) for p in parts] == [
        ("phrase", "recording"),
        ("slot", "recording"),  # Xã Y Tý, recorded in H'Mông
        ("slot", "speech"),  # Xã A Mú Sung: no recording, read in Vietnamese
        ("phrase", "recording"),
        ("slot", "speech"),  # the time, read in Vietnamese
        ("phrase", "recording"),
    ]
    assert [p["label"] for p in parts if p["kind"] == "slot"] == [
        "Xã Y Tý",
        "Xã A Mú Sung",
        "5:30 ngày 15/8/2031",
    ]

    # Each clip measured by ffprobe; the whole is their sum plus the gaps.
    preview = app.post(
        f"/api/v1/emergency-templates/{template['id']}/preview",
        json={"values": {"place": ["Xã Y Tý", "Xã A Mú Sung"], "time": ["5:30 ngày 15/8/2031"]}},
        headers=editor,
    ).json()
    assert preview["sha256"] == hmn["audio_sha256"]  # the same assembly, cached
    measured = []
    for p in template["parts"]:
        if p["kind"] == "phrase":
            data = app.get(p["audio_url"], headers=editor).content
            measured.append(ffprobe_ms(data, tmp_path))
    for n, ms in zip(PHRASES.values(), measured, strict=True):
        assert abs(ms - n) <= SLACK_MS
    durations = [p["duration_ms"] for p in preview["parts"]]
    audio = app.get(f"/api/v1/bulletins/{alert['bulletin_id']}/audio/hmn", headers=editor).content
    total = ffprobe_ms(audio, tmp_path)
    expected = sum(durations) + PART_GAP_MS * (len(durations) - 1)
    assert abs(total - expected) <= SLACK_MS
    assert total > sum(PHRASES.values()) + PLACE_RECORDING_MS + 2 * 500  # speech is in there

    # Released, scheduled and dispatched: each station airs both versions in its own order.
    render()
    assert worker.alert_pass() == 1
    with Session(engine) as ses:
        for station_id, order in ((amusung, ["hmn", "vi"]), (yty, ["vi", "hmn"])):
            station = ses.get(Station, station_id)
            assert station is not None
            programme = programme_for_station(
                session=ses, station=station, bulletin_ids=[alert["bulletin_id"]], settings=settings
            )
            assert [i.language for i in programme.items] == order
            assert [i.media.sha256 for i in programme.items][order.index("hmn")] == hmn[
                "audio_sha256"
            ]
            hmn_item = programme.items[order.index("hmn")]
            assert abs(hmn_item.media.duration_ms - total) <= SLACK_MS
    report = worker.dispatch_pass()
    assert report.occurrences == 1 and report.deliveries > 0
    with Session(engine) as ses:
        sent = ses.exec(
            select(Delivery).where(
                col(Delivery.payload).is_not(None), Delivery.station_id == amusung
            )
        ).all()
    assert sent
    command = json.loads(sent[0].payload or "{}")
    assert [i["language"] for i in command["items"]] == ["hmn", "vi"]


def test_a_commune_template_wins_over_the_provinces_and_unreviewed_ones_are_not_used(
    app: TestClient,
    editor: Headers,
    approver: Headers,
    make_user: UserFactory,
    centre: Headers,
    trust: Callable[..., None],
    clips: dict[str, Path],
) -> None:
    province = hmong_template(app, editor, approver, clips)
    # The district's own template is not reviewed yet: the province's still serves.
    district = hmong_template(app, editor, approver, clips, area="082", review=False)
    listed = app.get("/api/v1/areas/02680/emergency-templates", headers=editor).json()
    assert [(t["area_code"], t["inherited"], t["used"]) for t in listed] == [
        ("082", True, False),
        ("10", True, True),
    ]
    trust(SENDER)
    first = app.post("/api/v1/alerts/cap", content=flood_alert(), headers={**centre, **CAP_TYPE})
    assert first.json()["templates"] == {"hmn": province["id"]}

    reviewed = app.post(f"/api/v1/emergency-templates/{district['id']}/review", headers=approver)
    assert reviewed.status_code == 200
    second = app.post(
        "/api/v1/alerts/cap",
        content=flood_alert(identifier="KTTV-LCI-20310815-02"),
        headers={**centre, **CAP_TYPE},
    )
    assert second.json()["templates"] == {"hmn": district["id"]}
    # A commune editor sees both but may change neither.
    commune = make_user(Role.editor, "02680")
    assert (
        app.get(f"/api/v1/emergency-templates/{district['id']}", headers=commune).status_code == 200
    )
    renamed = app.patch(
        f"/api/v1/emergency-templates/{district['id']}", json={"name": "x"}, headers=commune
    )
    assert renamed.status_code == 404
    # An event no template is written for keeps today's behaviour: no template.
    other = app.post(
        "/api/v1/alerts/cap",
        content=flood_alert(identifier="KTTV-LCI-20310815-03")
        .replace("<event>Lũ quét</event>".encode(), "<event>Mưa đá</event>".encode())
        .replace(b"<event>Dej nyab</event>", b"<event>Nag</event>"),
        headers={**centre, **CAP_TYPE},
    )
    assert other.status_code == 201 and other.json()["templates"] == {}


def test_template_input_is_checked_and_scoped(
    app: TestClient,
    editor: Headers,
    approver: Headers,
    make_user: UserFactory,
    clips: dict[str, Path],
) -> None:
    url = "/api/v1/areas/082/emergency-templates"
    bad = app.post(url, json={"hazard": "meteor", "language": "hmn", "name": "x"}, headers=editor)
    assert bad.status_code == 422
    unknown = app.post(url, json={"hazard": "storm", "language": "xx", "name": "x"}, headers=editor)
    assert unknown.status_code == 422 and unknown.json()["reason"] == "language.unknown"
    made = app.post(url, json={"hazard": "storm", "language": "hmn", "name": "Bão"}, headers=editor)
    assert made.status_code == 201
    tid = made.json()["id"]
    again = app.post(
        url, json={"hazard": "storm", "language": "hmn", "name": "Bão"}, headers=editor
    )
    assert again.status_code == 409 and again.json()["reason"] == "template.exists"
    parts_url = f"/api/v1/emergency-templates/{tid}/parts"
    nameless = app.put(parts_url, json={"parts": [{"kind": "slot"}]}, headers=editor)
    assert nameless.status_code == 422 and nameless.json()["reason"] == "template.unknown_slot"
    empty_text = app.put(parts_url, json={"parts": [{"kind": "text", "text": " "}]}, headers=editor)
    assert empty_text.json()["reason"] == "template.text_required"
    assert app.put(parts_url, json={"parts": []}, headers=editor).status_code == 422
    app.put(parts_url, json={"parts": [{"kind": "slot", "slot": "place"}]}, headers=editor)
    not_phrase = app.post(
        f"/api/v1/emergency-templates/{tid}/parts/1/recording",
        files={"file": ("p.mp3", clips["yty"].read_bytes(), "audio/mpeg")},
        headers=editor,
    )
    assert not_phrase.json()["reason"] == "template.not_phrase"
    # Its author cannot review it; an unfinished template cannot be reviewed.
    app.put(parts_url, json={"parts": [{"kind": "phrase"}]}, headers=editor)
    admin_writer = make_user(Role.approver, "10")
    assert (
        app.post(f"/api/v1/emergency-templates/{tid}/review", headers=admin_writer).json()["reason"]
        == "template.incomplete"
    )
    assert app.post(f"/api/v1/emergency-templates/{tid}/review", headers=editor).status_code == 403
    # Another district's editor sees nothing of it.
    stranger = make_user(Role.editor, "083")
    assert app.get(f"/api/v1/emergency-templates/{tid}", headers=stranger).status_code == 404
    assert app.get(url, headers=stranger).status_code == 404
    # A corrupt phrase is refused like any recording, and nothing is stored.
    corrupt = app.post(
        f"/api/v1/emergency-templates/{tid}/parts/1/recording",
        files={"file": ("p.mp3", b"not audio at all" * 10, "audio/mpeg")},
        headers=editor,
    )
    assert corrupt.status_code == 422 and corrupt.json()["reason"] == "recording.undecodable"
    assert (
        app.get(f"/api/v1/emergency-templates/{tid}", headers=editor).json()["parts"][0]["recorded"]
        is False
    )
    assert app.delete(f"/api/v1/emergency-templates/{tid}", headers=editor).status_code == 204
    assert app.get(f"/api/v1/emergency-templates/{tid}", headers=editor).status_code == 404


@pytest.mark.parametrize(
    ("event", "categories", "hazard"),
    [
        ("Lũ quét", ("Met",), Hazard.flash_flood),
        ("Cảnh báo lũ quét, sạt lở đất", ("Met",), Hazard.flash_flood),
        ("Nguy cơ sạt lở đất", ("Geo",), Hazard.landslide),
        ("Bão số 3", ("Met",), Hazard.storm),
        ("Cảnh báo cháy rừng cấp V", ("Fire",), Hazard.forest_fire),
        ("Dịch sốt xuất huyết", ("Health",), Hazard.epidemic),
        ("Flash Flood Warning", (), Hazard.flash_flood),
        ("Cảnh báo mưa lớn", ("Met",), None),  # "báo" is not "bão"
        ("Động đất", ("Geo",), Hazard.landslide),  # by category
    ],
)
def test_cap_events_map_to_hazards(
    event: str, categories: tuple[str, ...], hazard: Hazard | None
) -> None:
    assert hazard_of([event], categories) == hazard


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=4), st.lists(st.text(max_size=20), max_size=3))
def test_hazard_mapping_never_fails_on_any_text(events: list[str], categories: list[str]) -> None:
    found = hazard_of(events, categories)
    assert found is None or isinstance(found, Hazard)


def test_the_demo_province_comes_with_a_reviewed_hmong_flash_flood_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli
    from broadcast.core.db import make_engine
    from broadcast.templates.models import EmergencyTemplate, SlotRecording, TemplatePart

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("LOA_DATABASE_URL", url)
    monkeypatch.setenv("LOA_DEMO_CREDENTIALS_FILE", str(tmp_path / "demo-admin.txt"))
    monkeypatch.setenv("LOA_MEDIA_DIR", str(tmp_path / "media"))
    for _ in range(2):  # a second run changes nothing
        done = CliRunner().invoke(cli, ["demo"])
        assert done.exit_code == 0, done.output
    engine = make_engine(url)
    with Session(engine) as ses:
        (template,) = ses.exec(select(EmergencyTemplate)).all()
        assert (template.hazard, template.language) == ("flash_flood", "hmn")
        assert template.reviewed_at is not None and template.active
        parts = ses.exec(
            select(TemplatePart)
            .where(TemplatePart.template_id == template.id)
            .order_by(col(TemplatePart.position))
        ).all()
        assert [(p.kind, p.slot) for p in parts] == [
            ("phrase", None),
            ("slot", "place"),
            ("phrase", None),
            ("slot", "time"),
            ("phrase", None),
        ]
        assert all(p.audio_duration_ms for p in parts if p.kind == "phrase")
        names = ses.exec(select(SlotRecording.label)).all()
        assert names == ["Xã Y Tý"]
    engine.dispose()


def test_a_broken_template_never_keeps_the_warning_off_the_air(
    app: TestClient,
    settings: Settings,
    editor: Headers,
    approver: Headers,
    admin_headers: Headers,
    centre: Headers,
    trust: Callable[..., None],
    render: Callable[[], int],
    worker: Worker,
    clips: dict[str, Path],
) -> None:
    template = hmong_template(app, editor, approver, clips)
    first = template["parts"][0]["audio_url"].rsplit("/", 1)[1].removesuffix(".mp3")
    (settings.media_dir / "audio" / f"{first}.mp3").unlink()
    trust(SENDER)
    answer = app.post("/api/v1/alerts/cap", content=flood_alert(), headers={**centre, **CAP_TYPE})
    assert answer.status_code == 201, answer.text
    assert answer.json()["templates"] == {}
    render()
    assert worker.alert_pass() == 1  # aired in Vietnamese, H'Mông reported unvoiced
    aired = app.get(f"/api/v1/alerts/{answer.json()['id']}", headers=admin_headers).json()
    assert aired["state"] == "aired" and aired["unvoiced_languages"] == ["hmn"]
    preview = app.post(
        f"/api/v1/emergency-templates/{template['id']}/preview", json={}, headers=editor
    )
    assert preview.status_code == 422 and preview.json()["reason"] == "template.audio_missing"


def test_text_parts_are_read_in_vietnamese_and_values_without_recordings_too(
    app: TestClient, editor: Headers
) -> None:
    made = app.post(
        "/api/v1/areas/10/emergency-templates",
        json={"hazard": "storm", "language": "vi", "name": "Bão - tiếng Việt"},
        headers=editor,
    ).json()
    parts = [
        {"kind": "text", "text": "Thông báo khẩn: bão đổ bộ vào"},
        {"kind": "slot", "slot": "place"},
        {"kind": "text", "text": "từ"},
        {"kind": "slot", "slot": "time"},
        {"kind": "slot", "slot": "expires"},  # no value given: left out
    ]
    assert (
        app.put(
            f"/api/v1/emergency-templates/{made['id']}/parts", json={"parts": parts}, headers=editor
        ).status_code
        == 200
    )
    heard = app.post(
        f"/api/v1/emergency-templates/{made['id']}/preview",
        json={"values": {"place": ["Xã Bắc Hà"], "time": ["14:30 ngày 15/8/2031"]}},
        headers=editor,
    ).json()
    assert [(p["kind"], p["source"], p["language"]) for p in heard["parts"]] == [
        ("text", "speech", "vi"),
        ("slot", "speech", "vi"),
        ("text", "speech", "vi"),
        ("slot", "speech", "vi"),
    ]
    expected = sum(p["duration_ms"] for p in heard["parts"]) + 3 * heard["gap_ms"]
    assert abs(heard["duration_ms"] - expected) <= SLACK_MS
    audio = app.get(heard["audio_url"], headers=editor)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"


def test_the_alerts_page_says_which_language_came_from_a_template(
    app: TestClient,
    editor: Headers,
    approver: Headers,
    centre: Headers,
    trust: Callable[..., None],
    clips: dict[str, Path],
    login: Login,  # noqa: F811
) -> None:
    template = hmong_template(app, editor, approver, clips)
    trust(SENDER)
    app.post("/api/v1/alerts/cap", content=flood_alert(), headers={**centre, **CAP_TYPE})
    page = login("bientap.laocai").get("/alerts").text
    assert "Phát từ mẫu tin khẩn cấp:" in page
    assert f'<a href="/emergency-templates/{template["id"]}">Tiếng H&#39;Mông</a>' in page
