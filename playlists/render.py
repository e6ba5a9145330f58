"""Render a whole programme to one audio file, streaming and linear in its length.

One ffmpeg process reads every item in order through the concat demuxer and
encodes once: memory stays flat however long the programme is, and no buffer is
ever copied per item (never `acc = acc + segment`). Gaps are one short silent
file listed between items, so they cost nothing to prepare.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from playlists.programme import Programme
from tts.audio import ffmpeg_exe

_CODECS = {
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3", "-write_xing", "1"],
    "opus": ["-c:a", "libopus", "-application", "voip", "-f", "ogg"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
}
# Generous: a 45-minute programme encodes in well under a minute.
RENDER_TIMEOUT = 1800.0


class RenderError(Exception):
    """ffmpeg could not render the programme."""


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The file written and what went into it."""

    path: Path
    items: int
    expected_duration_ms: int


def _quote(path: Path) -> str:
    # concat demuxer syntax: single-quoted, with ' written as '\''
    return "'" + str(path.resolve()).replace("'", "'\\''") + "'"


def write_concat_list(paths: list[Path], list_path: Path) -> None:
    """Write an ffmpeg concat-demuxer list naming `paths` in order."""
    with list_path.open("w", encoding="utf-8") as handle:
        handle.write("ffconcat version 1.0\n")
        for path in paths:
            handle.write(f"file {_quote(path)}\n")


def _silence(path: Path, gap_ms: int, sample_rate: int, codec: str, bitrate: str) -> None:
    args = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"anullsrc=r={sample_rate}:cl=mono",
        "-t",
        f"{gap_ms / 1000:.3f}",
        *_CODECS[codec],
    ]
    if codec != "wav":
        args += ["-b:a", bitrate]
    subprocess.run([*args, str(path)], check=True, capture_output=True, timeout=60)


def render_programme(
    programme: Programme,
    out_path: Path,
    *,
    sample_rate: int = 24_000,
    codec: str = "mp3",
    bitrate: str = "48k",
) -> RenderResult:
    """Write the programme (items and gaps) to `out_path` as one file, atomically."""
    if codec not in _CODECS:
        raise ValueError(f"unknown codec {codec!r}")
    if not programme.items:
        raise RenderError("The programme has no items to render")
    missing = [i.media.sha256 for i in programme.items if i.media.path is None]
    if missing:
        raise RenderError(f"No file path for media {', '.join(missing[:3])}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="loa-render-") as tmp:
        work = Path(tmp)
        paths: list[Path] = []
        gap: Path | None = None
        if programme.gap_ms > 0 and len(programme.items) > 1:
            # Same codec as the items, so the demuxer sees one kind of stream.
            gap = work / "gap.mp3"
            _silence(gap, programme.gap_ms, sample_rate, "mp3", bitrate)
        for index, item in enumerate(programme.items):
            if index and gap is not None:
                paths.append(gap)
            assert item.media.path is not None  # checked above
            paths.append(item.media.path)
        list_path = work / "list.ffconcat"
        write_concat_list(paths, list_path)
        partial = out_path.with_name(f".{out_path.name}.part")
        args = [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(list_path),
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(sample_rate),
            *_CODECS[codec],
        ]
        if codec != "wav":
            args += ["-b:a", bitrate]
        try:
            done = subprocess.run(
                [*args, str(partial)], capture_output=True, timeout=RENDER_TIMEOUT, check=False
            )
            if done.returncode != 0:
                detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
                raise RenderError("ffmpeg could not render the programme: " + " / ".join(detail))
            partial.replace(out_path)
        finally:
            partial.unlink(missing_ok=True)
    return RenderResult(
        path=out_path,
        items=len(programme.items),
        expected_duration_ms=programme.total_duration_ms,
    )
