"""Uploaded recordings lose the room noise before and after the voice, and keep the voice.

Real components: a take made by ffmpeg (hiss at about -42 dBFS, then a 1.5 s tone standing for
the voice, then hiss again, as 44.1 kHz stereo WAV such as a phone records), uploaded
through REST, trimmed by pydub, levelled by tts/ and measured by decoding the result.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from broadcast.bulletins.media import media_path
from broadcast.bulletins.models import Translation
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from tests.utils import UserFactory
from tts.audio import decode_to_pcm, ffmpeg_exe

RATE = 24_000
JOIN = "[1]volume=4[v];[0][v][2]concat=n=3:v=0:a=1,aformat=channel_layouts=stereo"


def _take(path: Path, *, lead_s: float, voice_s: float, tail_s: float) -> Path:
    """Hiss (about -42 dBFS), a tone peaking at -6 dBFS (the sine source's 1/8 times 4),
    hiss again."""
    hiss = "anoisesrc=color=white:amplitude=0.02:sample_rate=44100:seed=7:duration={}"
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", hiss.format(lead_s),
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={voice_s}",
            "-f", "lavfi", "-i", hiss.format(tail_s),
            "-filter_complex", JOIN,
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def test_room_noise_around_an_uploaded_recording_is_trimmed_and_the_voice_kept(
    client: TestClient,
    demo: dict[str, str],
    make_user: UserFactory,
    session: Session,
    settings: Settings,
    tmp_path: Path,
) -> None:
    editor = make_user(Role.editor, "082")
    take = _take(tmp_path / "ghi-am.wav", lead_s=2.0, voice_s=1.5, tail_s=1.0)
    bid = client.post(
        "/api/v1/bulletins",
        json={"area_code": "082", "title": "Thông báo họp thôn"},
        headers=editor,
    ).json()["id"]
    with take.open("rb") as handle:
        answer = client.post(
            f"/api/v1/bulletins/{bid}/translations/hmn/recording",
            files={"file": (take.name, handle, "audio/wav")},
            headers=editor,
        )
    assert answer.status_code == 200, answer.text
    (hmn,) = [t for t in answer.json()["translations"] if t["language"] == "hmn"]
    # 4.5 s uploaded; the voice and at most 150 ms either side remain.
    assert 1500 <= hmn["audio_duration_ms"] <= 1850, hmn

    version = session.exec(select(Translation).where(Translation.bulletin_id == bid)).one()
    pcm = decode_to_pcm(media_path(settings, version.audio_sha256 or ""), RATE)
    assert 1.5 <= len(pcm) / RATE <= 1.85
    # The voice is intact: the 440 Hz tone fills the middle of the file at a steady level.
    middle = pcm[len(pcm) // 2 - RATE // 4 : len(pcm) // 2 + RATE // 4]
    spectrum = np.abs(np.fft.rfft(middle))
    assert abs(np.argmax(spectrum) * RATE / len(middle) - 440) < 5
    quarter = len(pcm) // 4
    rms = [float(np.sqrt(np.mean(pcm[i : i + quarter] ** 2))) for i in (quarter, 2 * quarter)]
    assert min(rms) > 0.8 * max(rms)
    # The original upload is kept as it was sent.
    kept = list((settings.media_dir / "recordings").iterdir())
    assert [p.stat().st_size for p in kept] == [take.stat().st_size]
