"""A live stream for relay tests: an endless MP3 (a sine made by ffmpeg) served at its pace.

The server can cut the first listener's connection after a moment, as a relay link
that drops does; every later connection plays on.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BITRATE = 32_000  # bits per second of the MP3
CHUNK_SECONDS = 0.1


def sine_mp3(path: Path, seconds: float = 5.0) -> Path:
    """An MP3 of a 440 Hz sine, made by ffmpeg."""
    subprocess.run(
        [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-y"),
            *("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"),
            *("-ac", "1", "-ar", "22050", "-b:a", "32k", "-f", "mp3", str(path)),
        ],
        check=True,
    )
    return path


@dataclass
class Stream:
    """The stream's URL and what its listeners got."""

    url: str
    connections: int = 0
    cut_after_seconds: float | None = None  # the first connection ends after this
    _lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def live_stream(tmp_path: Path, *, cut_after_seconds: float | None = None) -> Iterator[Stream]:
    """Serve the endless MP3 on a free port, paced at its bitrate."""
    audio = sine_mp3(tmp_path / "sine.mp3").read_bytes()
    stream = Stream(url="", cut_after_seconds=cut_after_seconds)
    chunk = int(BITRATE / 8 * CHUNK_SECONDS)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            with stream._lock:
                stream.connections += 1
                first = stream.connections == 1
            cut = stream.cut_after_seconds if first else None
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("icy-name", "VOV1")
            self.end_headers()
            began = time.monotonic()
            offset = 0
            try:
                while cut is None or time.monotonic() - began < cut:
                    piece = audio[offset : offset + chunk]
                    offset = (offset + chunk) % len(audio)
                    self.wfile.write(piece)
                    self.wfile.flush()
                    time.sleep(CHUNK_SECONDS)
            except (BrokenPipeError, ConnectionResetError):
                return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stream.url = f"http://127.0.0.1:{server.server_address[1]}/vov1.mp3"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stream
    finally:
        server.shutdown()
        server.server_close()
