"""Fixtures of the filler tests: offline speech, short limits, real tones made with ffmpeg."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from broadcast.core.settings import Settings
from tests.bulletins.conftest import make_tone


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Offline speech only (eSpeak NG) and small uploads."""
    return settings.model_copy(
        update={"tts_online": False, "max_recording_seconds": 60.0, "max_upload_mb": 2}
    )


@pytest.fixture
def tone(tmp_path: Path) -> Callable[..., Path]:
    """Make a tone file in tmp_path: tone(seconds, name=..., freq=..., volume=...)."""

    def _make(seconds: float, name: str = "tone.mp3", **kwargs: float) -> Path:
        return make_tone(tmp_path / name, seconds, **kwargs)  # type: ignore[arg-type]

    return _make
