"""Benchmark of tts/: normaliser throughput, eSpeak NG real-time factor, cache-hit cost.

Run: .venv/bin/python bench/bench_tts.py  (offline; not a timed test)
"""

from __future__ import annotations

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

    with tempfile.TemporaryDirectory() as tmp:
        synthesizer = Synthesizer(TTSConfig(cache_dir=Path(tmp)))
        text = spoken[:1500]
        start = time.perf_counter()
        first = synthesizer.synthesize(text, "vi", engine="espeak")
        miss = time.perf_counter() - start
        hits = []
        for _ in range(50):
            start = time.perf_counter()
            again = synthesizer.synthesize(text, "vi", engine="espeak")
            hits.append(time.perf_counter() - start)
            assert again.cache_hit
        pcm = EspeakEngine().synthesize(text, "vi", voice="north", speed=1.0, sample_rate=RATE)
        encodes = []
        for _ in range(5):
            start = time.perf_counter()
            encode_pcm(pcm, RATE, codec="mp3", bitrate="48k")
            encodes.append(time.perf_counter() - start)
        hit = statistics.median(hits)
        encode = statistics.median(encodes)
        print(
            f"cache ({first.duration_ms / 1000:.1f} s clip, text of {len(text)} chars): "
            f"miss {miss * 1000:.0f} ms, hit {hit * 1000:.2f} ms (median of 50), "
            f"raw ffmpeg mp3 encode of the same audio {encode * 1000:.0f} ms "
            f"-> a hit costs {hit / encode:.1%} of one encode"
        )


if __name__ == "__main__":
    main()
