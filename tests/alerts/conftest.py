"""Fixtures of the CAP alert tests: the demo province, a warning centre's API token, a clock."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from broadcast.bulletins.rendering import render_pending
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from broadcast.runtime.worker import Worker
from tests.audio import tone_recording
from tests.utils import Headers, UserFactory
from tts import Synthesizer

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CAP_TYPE = {"Content-Type": "application/cap+xml"}
SENDER = "canhbao@kttv.gov.vn"
# 05:30 in Hà Nội on a rainy August morning.
NOW = datetime(2031, 8, 15, 5, 30, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Offline speech only (eSpeak NG)."""
    return settings.model_copy(update={"tts_online": False})


@dataclass
class Clock:
    """The time the app and the worker see; tests move it."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(
    client: TestClient, demo: dict[str, str], clock: Clock, offline_speech: Synthesizer
) -> TestClient:
    """The service with the demo province, the test clock and offline speech."""
    client.app.state.clock = clock  # type: ignore[attr-defined]
    client.app.state.synthesizer = offline_speech  # type: ignore[attr-defined]
    return client


def api_token(client: TestClient, headers: Headers, *scopes: str) -> Headers:
    """An API token of the user behind `headers`, with `scopes`."""
    answer = client.post(
        "/api/v1/auth/api-tokens",
        json={"name": "Đài KTTV", "scopes": list(scopes)},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture
def centre(app: TestClient, make_user: UserFactory) -> Headers:
    """The province's warning feed: an editor's API token with the `alerts` scope."""
    return api_token(app, make_user(Role.editor, "10"), "alerts")


@pytest.fixture
def trust(app: TestClient, admin_headers: Headers) -> Callable[..., None]:
    """Set the province's alert rule (trusted senders, hold, repeat)."""

    def _set(*senders: str, hold: int = 10, repeat: int = 60) -> None:
        answer = app.put(
            "/api/v1/alerts/rules/10",
            json={"trusted_senders": list(senders), "hold_minutes": hold, "repeat_minutes": repeat},
            headers=admin_headers,
        )
        assert answer.status_code == 200, answer.text

    return _set


@pytest.fixture
def worker(engine: Engine, settings: Settings, clock: Clock) -> Worker:
    """The service's worker, on the test clock (its passes are run by hand)."""
    return Worker(engine, settings, clock=clock, ingest=False)


@pytest.fixture
def render(engine: Engine, settings: Settings, offline_speech: Synthesizer) -> Callable[[], int]:
    """Render every pending version now (what the background renderer does)."""
    return lambda: render_pending(engine=engine, settings=settings, limit=100, synth=offline_speech)


@pytest.fixture(scope="session")
def hmong_recording(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A H'Mông reading as a CAP resource carries it: an mp3, base64."""
    path = tone_recording(tmp_path_factory.mktemp("hmn") / "hmn.mp3", 1500, freq=330)
    return base64.b64encode(Path(path).read_bytes()).decode()


def stamp(moment: datetime) -> str:
    """A CAP dateTime in Hà Nội time (2031-08-15T05:30:00+07:00)."""
    return moment.astimezone(ZONE).isoformat(timespec="seconds")


VI_DESCRIPTION = (
    "Mưa lớn 150 mm trong 6 giờ qua. Nguy cơ cao xảy ra lũ quét trên các suối nhỏ "
    "và sạt lở đất ở sườn dốc."
)
VI_INSTRUCTION = (
    "Bà con không qua suối, không ở gần sườn đồi; di chuyển người và tài sản đến nơi an toàn."
)


def flood_alert(
    *,
    identifier: str = "KTTV-LCI-20310815-01",
    sender: str = SENDER,
    sent: datetime = NOW,
    expires: datetime | None = NOW + timedelta(hours=6),
    codes: tuple[str, ...] = ("02680", "02659"),
    msg_type: str = "Alert",
    status: str = "Actual",
    references: str | None = None,
    hmong_audio: str | None = None,
    urgency: str = "Immediate",
    severity: str = "Severe",
    polygon: str | None = None,
) -> bytes:
    """A flash-flood warning for communes of Lào Cai, in Vietnamese and H'Mông."""
    geocodes = "".join(
        f"<geocode><valueName>ADMIN_CODE</valueName><value>{c}</value></geocode>" for c in codes
    )
    shape = f"<polygon>{polygon}</polygon>" if polygon else ""
    area = (
        f"<area><areaDesc>Các xã Y Tý, A Mú Sung, huyện Bát Xát</areaDesc>{shape}{geocodes}</area>"
    )
    until = f"<expires>{stamp(expires)}</expires>" if expires else ""
    refs = f"<references>{references}</references>" if references else ""
    audio = (
        "<resource><resourceDesc>Bản đọc tiếng H'Mông</resourceDesc>"
        f"<mimeType>audio/mpeg</mimeType><derefUri>{hmong_audio}</derefUri></resource>"
        if hmong_audio
        else ""
    )
    common = (
        f"<urgency>{urgency}</urgency><severity>{severity}</severity><certainty>Likely</certainty>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>{stamp(sent)}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}
  <info>
    <language>vi-VN</language>
    <category>Met</category>
    <event>Lũ quét</event>
    <responseType>Evacuate</responseType>
    {common}
    <effective>{stamp(sent)}</effective>
    {until}
    <senderName>Đài Khí tượng Thủy văn tỉnh Lào Cai</senderName>
    <headline>Cảnh báo lũ quét, sạt lở đất tại huyện Bát Xát</headline>
    <description>{VI_DESCRIPTION}</description>
    <instruction>{VI_INSTRUCTION}</instruction>
    {area}
  </info>
  <info>
    <language>hmn</language>
    <category>Met</category>
    <event>Dej nyab</event>
    {common}
    <effective>{stamp(sent)}</effective>
    {until}
    <headline>Ceeb toom dej nyab thiab av qeeg</headline>
    <description>Nag loj heev. Tej zaum yuav muaj dej nyab thiab av qeeg.</description>
    <instruction>Tsis txhob hla dej; khiav mus rau qhov chaw nyab xeeb.</instruction>
    {audio}
    {area}
  </info>
</alert>""".encode()
