"""Content-addressed audio cache.

Layout under cache_dir:
    audio/<sha256>.<ext>     encoded files, named by the sha256 of their bytes
    keys/<k[:2]>/<k>.json    request key -> metadata of the file it produced
    locks/<k[:2]>/<k>.lock   advisory locks so one request reaches an engine once

Every file is written to a temporary name and renamed, so readers never see a
half-written file and concurrent writers of the same content are harmless.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tts.audio import write_atomic

log = logging.getLogger(__name__)

# Bump when the audio pipeline changes so old renders are not reused.
PIPELINE_VERSION = 2  # 2: one-gain levelling with a block-wise true-peak limiter


@dataclass(frozen=True, slots=True)
class AudioResult:
    """Broadcast-ready audio in the cache, and how it was made."""

    path: Path
    sha256: str
    bytes: int
    duration_ms: int
    engine: str
    language: str
    cache_hit: bool
    voice: str = ""
    loudness_lufs: float | None = None
    true_peak_db: float | None = None
    key: str = ""


def cache_key(fields: Mapping[str, Any]) -> str:
    """Stable sha256 of the request fields (text, language, engine, voice, speed, audio)."""
    payload = json.dumps(
        {**fields, "pipeline": PIPELINE_VERSION}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AudioCache:
    """Stores encoded audio by content hash and maps request keys onto it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def audio_path(self, sha256: str, extension: str) -> Path:
        """Where a file with this content hash lives."""
        return self.root / "audio" / f"{sha256}.{extension}"

    def _key_path(self, key: str) -> Path:
        return self.root / "keys" / key[:2] / f"{key}.json"

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the lock of one request key, across threads and processes."""
        with self._locks_guard:
            thread_lock = self._locks.setdefault(key, threading.Lock())
        path = self.root / "locks" / key[:2] / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with thread_lock, open(path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def lookup(self, key: str) -> AudioResult | None:
        """The cached result for a request key, or None (also when its file vanished)."""
        try:
            meta = json.loads(self._key_path(key).read_text(encoding="utf-8"))
            path = Path(meta["path"])
            if not path.is_absolute():
                path = self.root / path
            if path.stat().st_size != meta["bytes"]:
                log.warning("cache entry %s points at a damaged file; ignoring it", key)
                return None
        except (OSError, ValueError, KeyError):
            return None
        return AudioResult(
            path=path,
            sha256=meta["sha256"],
            bytes=meta["bytes"],
            duration_ms=meta["duration_ms"],
            engine=meta["engine"],
            language=meta["language"],
            cache_hit=True,
            voice=meta.get("voice", ""),
            loudness_lufs=meta.get("loudness_lufs"),
            true_peak_db=meta.get("true_peak_db"),
            key=key,
        )

    def store(
        self,
        key: str,
        data: bytes,
        *,
        extension: str,
        duration_ms: int,
        engine: str,
        language: str,
        voice: str = "",
        loudness_lufs: float | None = None,
        true_peak_db: float | None = None,
    ) -> AudioResult:
        """Write the audio (by content hash), then the key record; both atomically."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.audio_path(sha, extension)
        if not (path.exists() and path.stat().st_size == len(data)):
            write_atomic(path, data)
        result = AudioResult(
            path=path,
            sha256=sha,
            bytes=len(data),
            duration_ms=duration_ms,
            engine=engine,
            language=language,
            cache_hit=False,
            voice=voice,
            loudness_lufs=loudness_lufs,
            true_peak_db=true_peak_db,
            key=key,
        )
        record = asdict(result)
        record["path"] = str(path.relative_to(self.root))
        del record["cache_hit"]
        write_atomic(self._key_path(key), json.dumps(record, ensure_ascii=False, indent=1).encode())
        return result
