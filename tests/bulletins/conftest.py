"""Fixtures of the bulletin tests: offline TTS, short limits, real audio made with ffmpeg."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from broadcast.bulletins.rendering import render_pending
from broadcast.core.settings import Settings
from tts.audio import ffmpeg_exe


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Offline speech only (eSpeak NG), a 20-second recording limit, no station ident."""
    return settings.model_copy(
        update={
            "tts_online": False,
            "max_recording_seconds": 20.0,
            "max_upload_mb": 2,
            "programme_gap_ms": 500,
        }
    )


@pytest.fixture
def render(engine: Engine, settings: Settings) -> Callable[[], int]:
    """Render every pending version now (what the background worker does)."""
    return lambda: render_pending(engine=engine, settings=settings, limit=100)


def make_tone(path: Path, seconds: float, *, freq: int = 440, volume: float = 0.5) -> Path:
    """A sine tone (volume 0 = digital silence) written with ffmpeg's lavfi generator."""
    source = f"sine=frequency={freq}:sample_rate=16000:duration={seconds}"
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", source, "-af", f"volume={volume}",
            "-ac", "1", "-b:a", "32k", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture
def tone(tmp_path: Path) -> Callable[..., Path]:
    """Make a tone file in tmp_path: tone(seconds, name=..., volume=...)."""

    def _make(seconds: float, name: str = "tone.mp3", **kwargs: float) -> Path:
        return make_tone(tmp_path / name, seconds, **kwargs)  # type: ignore[arg-type]

    return _make
