"""The settings-wide intro (LOA_PROGRAMME_INTRO_FILE) is published in each service's media."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from broadcast.bulletins.media import media_path
from broadcast.core.settings import Settings
from broadcast.delivery.programmes import slot_rules


def test_intro_file_is_published_per_service_and_follows_edits(
    settings: Settings, tone: Callable[..., Path], tmp_path: Path
) -> None:
    intro = tone(1.0, name="intro.mp3")
    first = settings.model_copy(update={"programme_intro_file": intro})
    second = first.model_copy(update={"media_dir": tmp_path / "other-media"})
    a = slot_rules(first).intro
    b = slot_rules(second).intro
    assert a is not None and b is not None and a.sha256 == b.sha256
    assert media_path(first, a.sha256).is_file() and media_path(second, b.sha256).is_file()
    assert abs(a.duration_ms - 1000) < 100
    # A new jingle under the same name is measured again.
    tone(2.0, name="intro.mp3", freq=880)
    stat = intro.stat()
    os.utime(intro, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    c = slot_rules(first).intro
    assert c is not None and c.sha256 != a.sha256 and abs(c.duration_ms - 2000) < 100
