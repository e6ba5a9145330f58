"""Benchmark of the delivery codecs: bytes per minute and encode speed, MP3 against Opus.

The same eSpeak NG speech (about 80 s) is encoded by Loa's encoder (`tts.audio.encode_pcm`,
the ffmpeg pipe every rendering uses), by Loa's whole broadcast step (levelling, encoding,
decoding to measure; `tts.pipeline.broadcast_ready`) and by a bare `ffmpeg` process
reading the same PCM as a WAV file, in the same run. Medians of 3 rounds.

Run: .venv/bin/python bench/bench_codec.py  (offline)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tts import TTSConfig, normalize  # noqa: E402
from tts.audio import PCM, encode_pcm, ffmpeg_exe  # noqa: E402
from tts.engines.espeak import EspeakEngine  # noqa: E402
from tts.pipeline import broadcast_ready  # noqa: E402

RATE = 24_000
ROUNDS = 3
TEXT = (
    "Thực hiện kế hoạch của Ủy ban nhân dân tỉnh về thông tin tuyên truyền vùng biên giới, "
    "đài truyền thanh xã thông báo tới bà con các thôn bản. Từ ngày 15 tháng 12, bà con "
    "không đốt nương làm rẫy trong mùa khô, không mang lửa vào rừng. Khi thấy cháy rừng, "
    "hãy gọi ngay số 114 hoặc báo cho trưởng thôn và lực lượng kiểm lâm gần nhất. "
) * 3
# (codec, bitrate): today's MP3 and Opus at the bitrates a station may choose for 3G.
CODECS = [("mp3", "48k"), ("opus", "24k"), ("opus", "16k")]
_FFMPEG_ARGS = {"mp3": ["-c:a", "libmp3lame"], "opus": ["-c:a", "libopus", "-f", "ogg"]}


def speech() -> PCM:
    """The bench's speech, read once by eSpeak NG."""
    engine = EspeakEngine(backend="library")
    return engine.synthesize(normalize(TEXT), "vi", voice="north", speed=1.0, sample_rate=RATE)


def write_wav(pcm: PCM, path: Path) -> Path:
    """The PCM as 16-bit mono WAV, what the bare ffmpeg reads."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def bare_ffmpeg(wav: Path, codec: str, bitrate: str, folder: Path) -> int:
    """Encode the WAV with a plain ffmpeg process; returns the output's size."""
    target = folder / f"bare.{codec}"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
         *_FFMPEG_ARGS[codec], "-b:a", bitrate, str(target)],
        check=True,
    )  # fmt: skip
    return target.stat().st_size


def timed(run: Callable[[], int]) -> tuple[float, int]:
    """Median seconds of ROUNDS runs, and the size the last one gave."""
    times, size = [], 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        size = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), size


def main() -> None:
    pcm = speech()
    seconds = len(pcm) / RATE
    print(f"speech: {seconds:.1f} s of eSpeak NG at {RATE} Hz mono")
    config = TTSConfig(cache_dir=Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix="loa-bench-codec-") as tmp:
        folder = Path(tmp)
        wav = write_wav(pcm, folder / "speech.wav")
        print(f"{'codec':<11} {'Loa encoder':>26} {'Loa broadcast step':>20} {'bare ffmpeg':>26}")
        for codec, bitrate in CODECS:
            loa_s, loa_bytes = timed(
                lambda c=codec, b=bitrate: len(encode_pcm(pcm, RATE, codec=c, bitrate=b))
            )
            step = replace(config, codec=codec, bitrate=bitrate)  # type: ignore[arg-type]
            full_s, _ = timed(lambda s=step: len(broadcast_ready(pcm, s).data))
            bare_s, bare_bytes = timed(lambda c=codec, b=bitrate: bare_ffmpeg(wav, c, b, folder))
            per_min = 60 / seconds
            print(
                f"{codec + ' ' + bitrate:<11} "
                f"{loa_bytes * per_min / 1000:>8,.0f} kB/min {seconds / loa_s:>7.0f}x rt   "
                f"{seconds / full_s:>9.0f}x rt   "
                f"{bare_bytes * per_min / 1000:>8,.0f} kB/min {seconds / bare_s:>7.0f}x rt"
            )


if __name__ == "__main__":
    main()
