"""Where broadcast audio lives on disk and under which URL receivers fetch it."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

from broadcast.settings import Settings
from playlists import MediaAsset
from tts import Synthesizer, TTSConfig
from tts.audio import write_atomic

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def media_dir(settings: Settings) -> Path:
    """The folder of published audio files, named by content hash."""
    return settings.media_dir / "audio"


def media_path(settings: Settings, sha256: str) -> Path:
    """The published file with this sha256 (mp3)."""
    if not SHA256_RE.match(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return media_dir(settings) / f"{sha256}.mp3"


def media_url(settings: Settings, sha256: str) -> str:
    """The URL receivers download the file from: {LOA_PUBLIC_BASE_URL}/media/{sha256}.mp3."""
    return f"{settings.public_base_url.rstrip('/')}/media/{sha256}.mp3"


def publish(settings: Settings, source: Path, sha256: str) -> Path:
    """Make a file available under its content hash (hard link when possible, else copy)."""
    target = media_path(settings, sha256)
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target


def publish_bytes(settings: Settings, data: bytes, sha256: str) -> Path:
    """Write bytes under their content hash, atomically."""
    target = media_path(settings, sha256)
    if not (target.exists() and target.stat().st_size == len(data)):
        write_atomic(target, data)
    return target


def asset(settings: Settings, sha256: str, size: int, duration_ms: int) -> MediaAsset:
    """A playlists.MediaAsset pointing at the published file."""
    return MediaAsset(
        sha256=sha256, bytes=size, duration_ms=duration_ms, path=media_path(settings, sha256)
    )


def tts_config(settings: Settings) -> TTSConfig:
    """The tts package's configuration, built from LOA_TTS_* settings."""
    config = TTSConfig(
        cache_dir=settings.media_dir / "tts-cache",
        max_recording_seconds=settings.max_recording_seconds,
        gtts_timeout=settings.tts_gtts_timeout,
        loudness_lufs=settings.tts_loudness_lufs,
        sample_rate=settings.tts_sample_rate,
        bitrate=settings.tts_bitrate,
        codec="mp3",
    )
    if settings.tts_engine_policy:
        config = replace(config, engine_policy=dict(settings.tts_engine_policy))
    return config


def synthesizer(settings: Settings) -> Synthesizer:
    """A Synthesizer for these settings; online engines are dropped when LOA_TTS_ONLINE=false."""
    config = tts_config(settings)
    synth = Synthesizer(config)
    if not settings.tts_online:
        offline = {name: e for name, e in synth.engines.items() if not e.online}
        policy = {
            lang: [n for n in names if n in offline] for lang, names in config.engine_policy.items()
        }
        synth = Synthesizer(replace(config, engine_policy=policy), engines=offline)
    return synth
