"""Benchmark of tts/: normaliser throughput, eSpeak NG real-time factor, cache miss and hit.

Run: .venv/bin/python bench/bench_tts.py  (offline; not a timed test)
"""

from __future__ import annotations

import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tts import Synthesizer, TTSConfig, normalize  # noqa: E402
from tts.audio import encode_pcm  # noqa: E402
from tts.engines.espeak import EspeakEngine  # noqa: E402

SEED = Path("/work/shared/seed/ke-hoach-thong-tin-truyen-thong-bien-gioi-2023.txt")
RATE = 24_000


def bench_normalize(text: str, rounds: int = 20) -> float:
    normalize(text)  # warm the tables and regex caches
    start = time.perf_counter()
    for _ in range(rounds):
        normalize(text)
    return len(text) * rounds / (time.perf_counter() - start)


def bench_espeak(text: str, backend: str) -> tuple[float, float, float]:
    engine = EspeakEngine(backend=backend)  # type: ignore[arg-type]
    start = time.perf_counter()
    pcm = engine.synthesize(text, "vi", voice="north", speed=1.0, sample_rate=RATE)
    elapsed = time.perf_counter() - start
    audio_seconds = len(pcm) / RATE
    return elapsed / audio_seconds, audio_seconds, elapsed


def main() -> None:
    raw = SEED.read_text(encoding="utf-8")
    spoken = normalize(raw)
    print(f"seed plan: {len(raw)} characters in, {len(spoken)} characters out")
    print(f"normalise: {bench_normalize(raw):,.0f} characters/s")

    backends = ["library"] + (["binary"] if shutil.which("espeak-ng") else [])
    for backend in backends:
        rtf, audio_s, elapsed = bench_espeak(spoken, backend)
        print(
            f"espeak ({backend}): {audio_s:.1f} s of speech in {elapsed:.2f} s "
            f"-> real-time factor {rtf:.4f} ({1 / rtf:.0f}x faster than real time)"
        )

    bench_cache(spoken[:1500])


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg), user and system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Timer:
    """Wall and CPU seconds of one block."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu


def bench_cache(text: str, rounds: int = 5) -> None:
    """A miss against its floor (eSpeak alone plus a bare ffmpeg encode), then hits.

    Each round times, back to back on the same text: a miss in a fresh cache, eSpeak NG
    alone, and a bare ffmpeg MP3 encode of eSpeak's samples. The ratio is taken per round
    (same load on the machine) and the medians are printed.
    """
    rows: list[tuple[Timer, Timer, Timer]] = []
    duration_ms = 0
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            synthesizer = Synthesizer(TTSConfig(cache_dir=Path(tmp)))
            with Timer() as miss:
                first = synthesizer.synthesize(text, "vi", engine="espeak")
            duration_ms = first.duration_ms
        with Timer() as speak:
            pcm = EspeakEngine().synthesize(text, "vi", voice="north", speed=1.0, sample_rate=RATE)
        with Timer() as encode:
            encode_pcm(pcm, RATE, codec="mp3", bitrate="48k")
        rows.append((miss, speak, encode))
    print(
        f"cache miss ({duration_ms / 1000:.1f} s clip, text of {len(text)} chars), "
        f"medians of {rounds} rounds of miss / eSpeak / bare ffmpeg mp3 encode:"
    )
    for kind in ("wall", "cpu"):
        misses = [getattr(m, kind) for m, _, _ in rows]
        floors = [getattr(s, kind) + getattr(e, kind) for _, s, e in rows]
        speak_s = statistics.median(getattr(s, kind) for _, s, _ in rows)
        encode_s = statistics.median(getattr(e, kind) for _, _, e in rows)
        ratios = [m / f for m, f in zip(misses, floors, strict=True)]
        print(
            f"  {kind:>4}: miss {statistics.median(misses) * 1000:.0f} ms vs eSpeak "
            f"{speak_s * 1000:.0f} ms + encode {encode_s * 1000:.0f} ms "
            f"-> miss {statistics.median(ratios):.2f}x eSpeak+encode "
            f"(rounds {min(ratios):.2f}x-{max(ratios):.2f}x)"
        )
    encode = statistics.median(e.wall for _, _, e in rows)
    with tempfile.TemporaryDirectory() as tmp:
        synthesizer = Synthesizer(TTSConfig(cache_dir=Path(tmp)))
        synthesizer.synthesize(text, "vi", engine="espeak")
        hits = []
        for _ in range(50):
            start = time.perf_counter()
            again = synthesizer.synthesize(text, "vi", engine="espeak")
            hits.append(time.perf_counter() - start)
            assert again.cache_hit
    hit = statistics.median(hits)
    print(
        f"cache hit: {hit * 1000:.2f} ms (median of 50) vs the bare encode {encode * 1000:.0f} ms "
        f"-> a hit costs {hit / encode:.1%} of one encode"
    )


if __name__ == "__main__":
    main()
