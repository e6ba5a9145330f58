"""Benchmark: render programmes of 30, 60 and 120 twenty-second segments.

Prints wall time and peak memory of `playlists.render.render_programme` beside a plain
`ffmpeg -f concat` of the same files (re-encoded with the same codec settings), both run
from this process. Targets: at most 1.2x ffmpeg's time, peak memory under 100 MB at 120
segments, time growing linearly (2x segments, at most 2.2x time).

    .venv/bin/python bench/bench_programme.py [--seconds 20] [--gap-ms 0]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from playlists import MediaAsset, ProgrammeEntry, SlotRules, assemble
from playlists.render import render_programme, write_concat_list
from tts.audio import ffmpeg_exe

SIZES = (30, 60, 120)


def make_segments(folder: Path, count: int, seconds: float) -> list[MediaAsset]:
    """`count` distinct mp3 tones of `seconds`, 24 kHz mono 48 kbit/s like rendered bulletins."""
    assets = []
    for i in range(count):
        path = folder / f"seg{i:03d}.mp3"
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
             "-i", f"sine=frequency={200 + 7 * i}:sample_rate=24000:duration={seconds}",
             "-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k", str(path)],
            check=True,
        )  # fmt: skip
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        assets.append(MediaAsset(sha, len(data), round(seconds * 1000), path))
    return assets


class ChildPeak:
    """Samples the peak resident set (VmHWM) of this process's children while running."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = str(os.getpid())
        while not self._stop.is_set():
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    fields = dict(
                        line.split(":", 1)
                        for line in status.read_text().splitlines()
                        if ":" in line
                    )
                except OSError:
                    continue
                if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                    self.peak_kb = max(self.peak_kb, int(fields["VmHWM"].split()[0]))
            self._stop.wait(0.05)

    def __enter__(self) -> ChildPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def ffmpeg_concat(paths: list[Path], out: Path, work: Path) -> float:
    """The baseline: one ffmpeg concat of the files, same encoder settings; returns seconds."""
    listing = work / "baseline.ffconcat"
    write_concat_list(paths, listing)
    start = time.perf_counter()
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "concat",
         "-safe", "0", "-i", str(listing), "-vn", "-ac", "1", "-ar", "24000",
         "-c:a", "libmp3lame", "-b:a", "48k", "-f", "mp3", str(out)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--gap-ms", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loa-bench-") as tmp:
        work = Path(tmp)
        segments = make_segments(work, max(SIZES), args.seconds)
        print(f"{'segments':>8} {'loa s':>8} {'ffmpeg s':>9} {'ratio':>6} "
              f"{'py peak MB':>10} {'child peak MB':>13}")  # fmt: skip
        times: dict[int, float] = {}
        for n in SIZES:
            entries = [
                ProgrammeEntry(i, f"Tin {i}", "normal", i, {"vi": seg})
                for i, seg in enumerate(segments[:n])
            ]
            programme = assemble(entries, ["vi"], SlotRules(gap_ms=args.gap_ms))
            base = ffmpeg_concat([s.path for s in segments[:n] if s.path], work / "b.mp3", work)
            tracemalloc.start()
            with ChildPeak() as child:
                start = time.perf_counter()
                render_programme(programme, work / "p.mp3")
                took = time.perf_counter() - start
            _, py_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            times[n] = took
            print(f"{n:>8} {took:>8.2f} {base:>9.2f} {took / base:>6.2f} "
                  f"{py_peak / 2**20:>10.1f} {child.peak_kb / 1024:>13.1f}")  # fmt: skip
        for small, big in zip(SIZES, SIZES[1:], strict=False):
            print(f"time growth {small}->{big} segments: {times[big] / times[small]:.2f}x")


if __name__ == "__main__":
    main()
