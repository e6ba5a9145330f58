"""One result per call: an accent, a speed or a codec for this result only, real engines.

eSpeak NG and ffmpeg run for real; the default call keeps the cache key it always had, so
audio rendered before these arguments existed is found again.
"""

from __future__ import annotations

from dataclasses import replace

from tts import Synthesizer, TTSConfig, cache_key
from tts.engines.espeak import EspeakEngine

TEXT = "Bà con chú ý, sáng mai xã họp dân tại nhà văn hóa thôn."


def _offline(config: TTSConfig) -> Synthesizer:
    policy = {"vi": ["espeak"]}
    return Synthesizer(replace(config, engine_policy=policy), engines={"espeak": EspeakEngine()})


def test_the_default_call_keeps_its_cache_key(config: TTSConfig) -> None:
    synth = _offline(config)
    result = synth.synthesize(TEXT, "vi")
    c = synth.config
    legacy = cache_key(
        {
            "text": synth.prepare_text(TEXT, "vi"),
            "language": "vi",
            "engine": "espeak",
            "voice": "vi",
            "speed": 1.0,
            "audio": {
                "lufs": c.loudness_lufs,
                "tp": c.true_peak_db,
                "rate": c.sample_rate,
                "bitrate": c.bitrate,
                "codec": c.codec,
                "silence": c.silence_threshold_db,
            },
        }
    )
    assert result.key == legacy and result.path.suffix == ".mp3"
    # Naming the default accent is the default call.
    assert synth.synthesize(TEXT, "vi", accent="north").key == legacy


def test_accent_speed_and_codec_each_make_their_own_result(config: TTSConfig) -> None:
    synth = _offline(config)
    north = synth.synthesize(TEXT, "vi")
    south = synth.synthesize(TEXT, "vi", accent="south")
    central = synth.synthesize(TEXT, "vi", accent="central")
    assert (north.voice, central.voice, south.voice) == ("vi", "vi-vn-x-central", "vi-vn-x-south")
    assert len({north.sha256, central.sha256, south.sha256}) == 3
    # An explicit voice wins over the accent.
    assert synth.synthesize(TEXT, "vi", voice="vi", accent="south").key == north.key
    slow = synth.synthesize(TEXT, "vi", speed=0.8)
    assert slow.duration_ms > north.duration_ms * 1.1
    opus = synth.synthesize(TEXT, "vi", codec="opus", bitrate="16k")
    assert opus.path.suffix == ".opus" and opus.path.read_bytes()[:4] == b"OggS"
    assert opus.bytes < north.bytes / 2 and abs(opus.duration_ms - north.duration_ms) < 100
    # The same request again is a cache hit of the same file.
    again = synth.synthesize(TEXT, "vi", codec="opus", bitrate="16k")
    assert again.cache_hit and again.sha256 == opus.sha256
