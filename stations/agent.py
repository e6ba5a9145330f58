"""The receiver agent: takes programmes over MQTT, downloads and verifies media, airs at air time.

Every step is acknowledged on the receiver's `ack` topic; its state (retained, and its
Will with `online: false`) on its `state` topic. The agent's logic does not own a
network loop: `run_receiver` gives it one paho client, `stations.simulate` many.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import shlex
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx
import tenacity

from stations.mqtt import BrokerAddress, Message, MqttClient, Will
from stations.protocol import (
    QOS_ACK,
    QOS_STATE,
    Ack,
    AckState,
    CancelCommand,
    FillerCommand,
    MediaItem,
    Priority,
    ProgrammeCommand,
    ProtocolError,
    ReceiverStatus,
    RelayItem,
    Topics,
    command_ref,
    decode_command,
    encode,
)
from stations.timeutil import utcnow

log = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 30.0
DOWNLOAD_ATTEMPTS = 3
# Pause before retrying a cut download: doubles from this, jittered, up to the maximum,
# so a fleet that lost the media server together does not come back together.
DOWNLOAD_BACKOFF_SECONDS = 1.0
DOWNLOAD_BACKOFF_MAX_SECONDS = 20.0
# How many commands a receiver remembers, to answer duplicates without replaying them.
REMEMBERED_COMMANDS = 200
# A filler track starts no sooner than this after the one before it started, so a player
# that ends tracks at once (a simulation at time scale 0) never spins; after a track the
# player failed to play, the next waits the longer pause.
FILLER_MIN_TRACK_SECONDS = 0.5
FILLER_FAILED_PAUSE_SECONDS = 30.0
# Filler looks at the clock again at least this often, so a clock set right (a device
# that booted without the time) is noticed at the latest this long after.
FILLER_RECHECK_SECONDS = 60.0
# How many filler plays a receiver remembers (`filler_played`).
FILLER_PLAYS_KEPT = 1000

Publish = Callable[[str, bytes, int, bool], None]


class DownloadError(Exception):
    """A media file could not be fetched or did not match its digest."""


# --- timers ----------------------------------------------------------------------------


class TimerService:
    """One thread that runs callbacks at monotonic times (shared by many agents)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._pending: set[int] = set()
        self._cancelled: set[int] = set()
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="loa-timers", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, func: Callable[[], None]) -> Callable[[], None]:
        """Run `func` after `delay` seconds; returns a cancel function."""
        key = next(self._counter)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(delay, 0.0), key, func))
            self._pending.add(key)
            self._cond.notify()

        def cancel() -> None:
            with self._cond:
                if key in self._pending:  # one that ran (or was dropped) needs nothing kept
                    self._cancelled.add(key)

        return cancel

    def stop(self) -> None:
        """Stop the thread; pending callbacks are dropped."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, key, func = heapq.heappop(self._heap)
                self._pending.discard(key)
                if key in self._cancelled:
                    self._cancelled.discard(key)
                    continue
            try:
                func()
            except Exception:
                log.exception("Timer callback failed")


# --- media -----------------------------------------------------------------------------

# What the agent plays: files are kept by digest and handed to ffmpeg-based players (or
# timed), which read MP3 and Opus in Ogg alike.
PLAYABLE_CODECS = ("mp3", "opus")


class MediaCache:
    """Files by sha256 in one folder (shareable by many agents): a file is fetched once."""

    def __init__(self, root: Path, *, http: httpx.Client | None = None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.http = http or httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.downloads = 0  # files actually fetched over HTTP (tests check the cache works)

    def path(self, sha256: str) -> Path:
        """Where the verified file with this digest lives."""
        return self.root / sha256

    def fetch(self, url: str, sha256: str, size: int, auth: tuple[str, str] | None) -> Path:
        """The verified file: from the cache, or downloaded with Range resume and checked."""
        target = self.path(sha256)
        if target.exists():
            return target
        with self._guard:
            lock = self._locks.setdefault(sha256, threading.Lock())
        with lock:
            if target.exists():
                return target
            part = target.with_suffix(".part")
            retrying = tenacity.Retrying(
                retry=tenacity.retry_if_exception(_worth_retrying),
                stop=tenacity.stop_after_attempt(DOWNLOAD_ATTEMPTS),
                wait=tenacity.wait_random_exponential(
                    multiplier=DOWNLOAD_BACKOFF_SECONDS, max=DOWNLOAD_BACKOFF_MAX_SECONDS
                ),
                reraise=True,
            )
            try:
                retrying(self._download, url, part, auth)
            except (httpx.HTTPError, OSError) as exc:
                raise DownloadError(f"{url}: {_explain(exc)}") from exc
            digest = _sha256_file(part)
            if digest != sha256:
                part.unlink(missing_ok=True)
                raise DownloadError(f"{url}: sha256 {digest} does not match {sha256}")
            if size and part.stat().st_size != size:
                part.unlink(missing_ok=True)
                raise DownloadError(f"{url}: {part.stat().st_size} bytes, expected {size}")
            part.replace(target)
            self.downloads += 1
            return target

    def _download(self, url: str, part: Path, auth: tuple[str, str] | None) -> None:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self.http.stream("GET", url, headers=headers, auth=auth) as response:
            if response.status_code == 416:  # already complete
                return
            response.raise_for_status()
            mode = "ab" if have and response.status_code == 206 else "wb"
            with part.open(mode) as handle:
                # As it arrives (no re-chunking): after a cut, all that came is kept.
                for chunk in response.iter_bytes():
                    handle.write(chunk)


def _worth_retrying(exc: BaseException) -> bool:
    """A cut connection or a server error may pass; a refusal (401, 404) will not."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError | OSError)


def _explain(exc: BaseException) -> str:
    """The reason a download failed, in plain words for the operator's log and the ack."""
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        words = {401: "the media server refused the receiver's login", 404: "no such file"}
        return f"HTTP {code}: {words.get(code, exc.response.reason_phrase)}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to the media server ({exc})"
    if isinstance(exc, httpx.TimeoutException):
        return "the media server did not answer in time"
    return str(exc) or type(exc).__name__


def _shown(moment: datetime) -> str:
    """A moment as the log shows it: RFC 3339 with the sender's offset, to the second."""
    return moment.replace(microsecond=0).isoformat()


def _length(milliseconds: int) -> str:
    minutes, seconds = divmod(round(milliseconds / 1000), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- players ---------------------------------------------------------------------------


class Playback(Protocol):
    """A programme being played."""

    def stop(self) -> None:
        """Interrupt it (the done callback then reports an interruption)."""


class Player(Protocol):
    """Plays files in order and calls `done(ok, detail)` at the end."""

    def play(
        self,
        files: Sequence[Path],
        durations_ms: Sequence[int],
        done: Callable[[bool, str | None], None],
        *,
        volumes: Sequence[int | None] | None = None,
        on_item: Callable[[int], None] | None = None,
    ) -> Playback:
        """Start playing; must not block.

        `volumes` are the items' volumes in percent (None: as the device is set);
        `on_item(index)` is called as each item starts.
        """
        ...


@dataclass
class _SimulatedPlayback:
    cancel_timer: Callable[[], None]
    done: Callable[[bool, str | None], None]
    finished: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        if not self.finished.is_set():
            self.finished.set()
            self.cancel_timer()
            self.done(False, "interrupted")


class SimulatedPlayer:
    """Takes the audio's duration times `time_scale` (0 = instant) and plays nothing."""

    applies_volume = True  # it "plays" at whatever volume it is given

    def __init__(self, timers: TimerService, time_scale: float = 1.0) -> None:
        self.timers = timers
        self.time_scale = time_scale

    def play(
        self,
        files: Sequence[Path],
        durations_ms: Sequence[int],
        done: Callable[[bool, str | None], None],
        *,
        volumes: Sequence[int | None] | None = None,
        on_item: Callable[[int], None] | None = None,
    ) -> Playback:
        """Schedule the start of each item and the end of playback."""
        seconds = sum(durations_ms) / 1000 * self.time_scale
        holder: list[_SimulatedPlayback] = []

        def starts(index: int) -> Callable[[], None]:
            def run() -> None:
                if on_item is not None and not holder[0].finished.is_set():
                    on_item(index)

            return run

        def finish() -> None:
            playback = holder[0]
            if not playback.finished.is_set():
                playback.finished.set()
                done(True, None)

        playback = _SimulatedPlayback(cancel_timer=lambda: None, done=done)
        holder.append(playback)
        offset = 0.0
        for index, length in enumerate(durations_ms):
            if index == 0:
                starts(0)()
            else:
                self.timers.call_later(offset, starts(index))
            offset += length / 1000 * self.time_scale
        playback.cancel_timer = self.timers.call_later(seconds, finish)
        return playback


def _filter_args(audio_filter: str | None) -> list[str]:
    """ffmpeg's `-af` arguments for `audio_filter`, none without one."""
    return ["-af", audio_filter] if audio_filter else []


def volume_filter(percent: int | None) -> str | None:
    """The ffmpeg audio filter that plays at `percent` (None: none), e.g. "volume=0.60"."""
    return None if percent is None else f"volume={percent / 100:.2f}"


class CommandPlayer:
    """Plays each file with an external command, e.g. `ffplay -nodisp -autoexit -loglevel quiet`.

    The file's path is added at the end, for ffplay after `-af volume=0.60` when the item
    carries a volume. A command that names `{file}` gets the path there
    instead, and `{volume}` (the gain, 1.00 without a volume) and `{index}` (the item's
    place, from 0) where it names them, e.g.
    `ffmpeg -i {file} -af volume={volume} -f alsa default`.
    """

    def __init__(self, command: str) -> None:
        self.argv = shlex.split(command)
        self.templated = any("{file}" in arg for arg in self.argv)
        # Only ffplay is known to read `-af`; another player applies a volume only where
        # its command names {volume}. One that does neither reports no volume.
        self.applies_volume = (
            any("{volume}" in arg for arg in self.argv)
            if self.templated
            else bool(self.argv) and Path(self.argv[0]).name.startswith("ffplay")
        )

    def argv_for(self, path: Path, percent: int | None, index: int) -> list[str]:
        """The command line that plays one item."""
        if self.templated:
            gain = f"{(100 if percent is None else percent) / 100:.2f}"
            return [
                arg.replace("{file}", str(path))
                .replace("{volume}", gain)
                .replace("{index}", str(index))
                for arg in self.argv
            ]
        audio_filter = volume_filter(percent) if self.applies_volume else None
        return [*self.argv, *(("-af", audio_filter) if audio_filter else ()), str(path)]

    def play(
        self,
        files: Sequence[Path],
        durations_ms: Sequence[int],
        done: Callable[[bool, str | None], None],
        *,
        volumes: Sequence[int | None] | None = None,
        on_item: Callable[[int], None] | None = None,
    ) -> Playback:
        """Play in a thread; `stop()` kills the current process."""
        state: dict[str, subprocess.Popen[bytes] | bool | None] = {"proc": None, "stopped": False}
        levels = list(volumes or [None] * len(files))

        def run() -> None:
            for index, path in enumerate(files):
                if state["stopped"]:
                    done(False, "interrupted")
                    return
                if on_item is not None:
                    on_item(index)
                argv = self.argv_for(path, levels[index] if index < len(levels) else None, index)
                proc = subprocess.Popen(argv)  # noqa: S603 - operator's command
                state["proc"] = proc
                if proc.wait() != 0 and not state["stopped"]:
                    done(False, f"player exited with {proc.returncode}")
                    return
            done(not state["stopped"], "interrupted" if state["stopped"] else None)

        class _Handle:
            def stop(self) -> None:
                state["stopped"] = True
                proc = state["proc"]
                if isinstance(proc, subprocess.Popen):
                    proc.terminate()

        threading.Thread(target=run, daemon=True).start()
        return _Handle()


# --- relays ----------------------------------------------------------------------------

# What the agent airs beyond files, declared in its `state` (`features`): relays of live
# streams, and filler in the station's broadcast hours.
RELAY_FEATURE = "relay"
# Relays at the item's `volume` (receivers without it get relay items without one).
RELAY_VOLUME_FEATURE = "relay_volume"
FILLER_FEATURE = "filler"
AGENT_FEATURES = (RELAY_FEATURE, RELAY_VOLUME_FEATURE, FILLER_FEATURE)
# Pause before reconnecting to a relayed stream after a cut: doubles from this, up to
# the maximum, so a short cut costs little and a dead stream is not hammered.
RELAY_BACKOFF_SECONDS = 0.5
RELAY_BACKOFF_MAX_SECONDS = 10.0
# How long ffmpeg waits for a stream that sends nothing before giving up on it.
RELAY_READ_TIMEOUT_SECONDS = 5.0
# Where a relay goes: ffmpeg's output arguments (the null sink plays nowhere; a device is
# e.g. "-f alsa default" or "-f pulse default").
RELAY_OUTPUT = "-f null -"


@dataclass(frozen=True, slots=True)
class RelayResult:
    """How a relay went: seconds aired and lost of its window, reconnects, last error."""

    window_seconds: float
    aired_seconds: float
    reconnects: int
    error: str | None
    interrupted: bool = False

    @property
    def lost_seconds(self) -> float:
        """Seconds of the window not aired (cuts, reconnects, a late start)."""
        return round(max(0.0, self.window_seconds - self.aired_seconds), 1)


class StreamRelay:
    """Relays a live stream with ffmpeg until a given moment, reconnecting after cuts."""

    def __init__(
        self,
        *,
        ffmpeg: str = "ffmpeg",
        output: str = RELAY_OUTPUT,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ffmpeg = ffmpeg
        self.output = shlex.split(output)
        self.clock = clock

    def relay(
        self,
        url: str,
        until: datetime,
        on_start: Callable[[], None],
        done: Callable[[RelayResult], None],
        volume: int | None = None,
    ) -> Playback:
        """Start relaying in a thread; `on_start` once audio arrives, `done` at the end.

        `volume` is the percent to relay at (ffmpeg's `volume` filter; None: as it comes).
        """
        stopped = threading.Event()
        current: list[subprocess.Popen[bytes]] = []

        def run() -> None:
            window = max(0.0, (until - self.clock()).total_seconds())
            deadline = time.monotonic() + window
            aired, reconnects, attempts = 0.0, 0, 0
            error: str | None = None
            backoff = RELAY_BACKOFF_SECONDS
            started: list[bool] = []

            def first_audio() -> None:
                if not started:
                    started.append(True)
                    on_start()

            while not stopped.is_set():
                left = deadline - time.monotonic()
                if left <= 0.05:
                    break
                if attempts:
                    reconnects += 1
                attempts += 1
                began = time.monotonic()
                got, error_now = self._attempt(url, left, stopped, current, first_audio, volume)
                aired += min(got, time.monotonic() - began)
                if error_now:
                    error = error_now
                if got > 0:
                    backoff = RELAY_BACKOFF_SECONDS
                if stopped.is_set() or deadline - time.monotonic() <= 0.05:
                    break
                stopped.wait(min(backoff, max(0.0, deadline - time.monotonic())))
                backoff = min(backoff * 2, RELAY_BACKOFF_MAX_SECONDS)
            done(
                RelayResult(
                    window_seconds=window,
                    aired_seconds=min(aired, window),
                    reconnects=reconnects,
                    error=error,
                    interrupted=stopped.is_set(),
                )
            )

        class _Handle:
            def stop(self) -> None:
                stopped.set()
                for proc in current:
                    if proc.poll() is None:
                        proc.terminate()

        threading.Thread(target=run, name="loa-relay", daemon=True).start()
        return _Handle()

    def _attempt(
        self,
        url: str,
        seconds: float,
        stopped: threading.Event,
        current: list[subprocess.Popen[bytes]],
        on_audio: Callable[[], None],
        volume: int | None = None,
    ) -> tuple[float, str | None]:
        """One connection: seconds of audio it aired (ffmpeg's progress) and its error.

        A live stream comes at its own pace (an output device keeps that pace too), so the
        audio decoded is the audio aired; the caller caps it by the time it took.
        """
        argv = [
            self.ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-rw_timeout",
            str(int(RELAY_READ_TIMEOUT_SECONDS * 1_000_000)),
            # A live stream is read as it comes: probing only what starts it.
            "-probesize",
            "8192",
            "-analyzeduration",
            "0",
            "-i",
            url,
            "-t",
            f"{seconds:.3f}",
            "-progress",
            "pipe:1",
            "-stats_period",
            "0.25",
            "-nostats",
            *_filter_args(volume_filter(volume)),
            *self.output,
        ]
        proc = subprocess.Popen(  # noqa: S603 - fixed program, the URL is one argument
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        current[:] = [proc]
        if stopped.is_set():
            proc.terminate()
        # The window ends by the clock, whatever ffmpeg spent connecting and probing.
        ended: list[bool] = []

        def end_of_window() -> None:
            ended.append(True)
            proc.terminate()

        guard = threading.Timer(seconds, end_of_window)
        guard.daemon = True
        guard.start()
        aired = 0.0
        assert proc.stdout is not None
        for raw in proc.stdout:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit():
                aired = max(aired, int(value) / 1_000_000)
                if aired > 0:
                    on_audio()
        proc.wait()
        guard.cancel()
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        error = None
        if proc.returncode != 0 and not stopped.is_set() and not ended:
            error = lines[-1][:300] if lines else f"ffmpeg exited with {proc.returncode}"
        return aired, error


# --- the agent -------------------------------------------------------------------------


@dataclass
class _Job:
    command: ProgrammeCommand
    state: AckState = AckState.received
    cancel_timer: Callable[[], None] | None = None
    playback: Playback | None = None
    cancelled: bool = False


class ReceiverAgent:
    """The protocol logic of one receiver; transport, timers and cache are given to it."""

    def __init__(
        self,
        receiver_id: str,
        *,
        password: str | None,
        topics: Topics,
        publish: Publish,
        cache: MediaCache,
        player: Player,
        timers: TimerService,
        executor: Executor,
        clock: Callable[[], datetime] = utcnow,
        codecs: Sequence[str] | None = PLAYABLE_CODECS,
        features: Sequence[str] | None = None,
        relay: StreamRelay | None = None,
    ) -> None:
        self.receiver_id = receiver_id
        # Declared in the online `state`: the server sends relays only to receivers that do.
        self.features = list(features) if features is not None else None
        self.relay = relay or StreamRelay(clock=clock)
        # Declared in the online `state`: the server sends Opus only to receivers that do.
        self.codecs = list(codecs) if codecs is not None else None
        self.password = password
        self.topics = topics
        self._publish = publish
        self.cache = cache
        self.player = player
        self.timers = timers
        self.executor = executor
        self.clock = clock
        self._jobs: dict[str, _Job] = {}
        self._order: list[str] = []
        self._playing: str | None = None
        self._lock = threading.RLock()
        self.version: str | None = None
        # What it last aired at, reported in every online `state`: the server sends item
        # volumes only to receivers that report one. Full volume until an item sets another.
        self.volume: int | None = 100 if getattr(player, "applies_volume", False) else None
        self.acks: list[tuple[str, AckState]] = []  # what it reported (tests read this)
        # Filler (extension): `filler` is the version it holds, its files downloaded, as
        # reported in `state`; the one downloading is pending. One track plays at a time.
        self.filler: str | None = None
        self._filler: FillerCommand | None = None
        self._filler_files: list[Path] = []
        self._filler_pending: str | None = None
        self._filler_playback: Playback | None = None
        self._filler_track: object | None = None  # the token of the track playing
        self._filler_playing: str | None = None  # its sha256
        self._filler_next = 0  # index of the next track
        self._filler_wake: Callable[[], None] | None = None
        self._filler_not_before = 0.0  # monotonic time the next track may start
        # (sha256, start) of the latest filler tracks started (tests read this).
        self.filler_played: deque[tuple[str, datetime]] = deque(maxlen=FILLER_PLAYS_KEPT)

    @property
    def filler_playing(self) -> str | None:
        """The sha256 of the filler track playing now, if any."""
        with self._lock:
            return self._filler_playing if self._filler_playback is not None else None

    # --- outgoing --------------------------------------------------------------

    def ack(
        self,
        broadcast_id: str,
        state: AckState,
        detail: str | None = None,
        *,
        lost_seconds: float | None = None,
        reconnects: int | None = None,
    ) -> None:
        """Publish one step of a delivery."""
        payload = encode(
            Ack(
                broadcast_id=broadcast_id,
                state=state,
                at=self.clock(),
                detail=detail,
                lost_seconds=lost_seconds,
                reconnects=reconnects,
            )
        )
        self.acks.append((broadcast_id, state))
        self._publish(self.topics.ack(self.receiver_id), payload, QOS_ACK, False)

    def state_payload(self, online: bool) -> bytes:
        """The retained state (also the Will with online=False)."""
        return encode(
            ReceiverStatus(
                online=online,
                at=self.clock(),
                version=self.version,
                broadcast_id=self._playing,
                codecs=self.codecs if online else None,
                volume=self.volume if online else None,
                features=self.features if online else None,
                filler=self.filler if online else None,
            )
        )

    def publish_state(self, online: bool = True) -> None:
        """Publish the retained state."""
        self._publish(
            self.topics.state(self.receiver_id), self.state_payload(online), QOS_STATE, True
        )

    # --- incoming --------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        """Handle one message on the `cmd` topic."""
        try:
            command = decode_command(message.payload)
        except ProtocolError as exc:
            log.warning("Receiver %s got a malformed command: %s", self.receiver_id, exc)
            ref = command_ref(message.payload)
            if ref is not None:  # a programme it cannot read (e.g. an unknown item type)
                self.ack(ref, AckState.rejected, f"unsupported programme: {exc}"[:500])
            return
        if isinstance(command, CancelCommand):
            self._cancel(command.broadcast_id)
        elif isinstance(command, FillerCommand):
            if FILLER_FEATURE in (self.features or ()):
                self._filler_command(command)
            else:
                log.info("Receiver %s ignores filler: it does not air filler", self.receiver_id)
        else:
            self._programme(command)

    def _remember(self, ref: str, job: _Job) -> None:
        self._jobs[ref] = job
        self._order.append(ref)
        while len(self._order) > REMEMBERED_COMMANDS:
            self._jobs.pop(self._order.pop(0), None)

    def _programme(self, command: ProgrammeCommand) -> None:
        ref = command.broadcast_id
        with self._lock:
            known = self._jobs.get(ref)
            if known is not None and known.command.version == command.version:
                # A duplicate (QoS 1 redelivery or a resend): repeat where it stands.
                log.info("Programme %s again (a repeat): still %s", ref, known.state.value)
                self.ack(ref, AckState.rejected if known.cancelled else known.state)
                return
            if known is not None:
                log.info("Programme %s replaced by a new version", ref)
                self._stop_job(known)
                self._filler_soon()  # filler may have waited for it
            if self.clock() >= command.expires_at:
                self._remember(ref, _Job(command, state=AckState.rejected, cancelled=True))
                log.warning(
                    "Programme %s refused: it expired at %s, before it reached this receiver",
                    ref,
                    _shown(command.expires_at),
                )
                self.ack(ref, AckState.rejected, "expired before it was received")
                return
            if command.relays and RELAY_FEATURE not in (self.features or ()):
                self._remember(ref, _Job(command, state=AckState.rejected, cancelled=True))
                log.warning("Programme %s refused: this receiver does not relay streams", ref)
                self.ack(ref, AckState.rejected, "unsupported item type: relay")
                return
            job = _Job(command)
            self._remember(ref, job)
        log.info(
            "Received programme %s: %d items, %s, to air at %s (%s priority)",
            ref,
            len(command.items),
            _length(command.duration_ms),
            _shown(command.air_at),
            command.priority.value,
        )
        self.ack(ref, AckState.received)
        self.executor.submit(self._download, ref, job)

    def _download(self, ref: str, job: _Job) -> None:
        if job.command.relays:  # nothing to download: the stream opens at air time
            self._at_air_time(ref, job, [])
            return
        # Every item airs in order, station idents (language "zxx") included.
        auth = (self.receiver_id, self.password) if self.password else None
        try:
            files = [
                self.cache.fetch(item.url, item.sha256, item.bytes, auth)
                for item in job.command.files
            ]
        except DownloadError as exc:
            with self._lock:
                job.state = AckState.failed
            log.warning("Programme %s will not air: could not download its audio: %s", ref, exc)
            self.ack(ref, AckState.failed, str(exc)[:500])
            return
        with self._lock:
            if job.cancelled:
                return
            job.state = AckState.downloaded
        log.info(
            "Downloaded programme %s: %d files, %d bytes, checked",
            ref,
            len(files),
            sum(item.bytes for item in job.command.files),
        )
        self.ack(ref, AckState.downloaded)
        self._at_air_time(ref, job, files)

    def _at_air_time(self, ref: str, job: _Job, files: list[Path]) -> None:
        urgent = job.command.priority is Priority.emergency
        delay = 0.0 if urgent else (job.command.air_at - self.clock()).total_seconds()
        with self._lock:
            if not job.cancelled:
                job.cancel_timer = self.timers.call_later(delay, lambda: self._air(ref, job, files))

    def _air(self, ref: str, job: _Job, files: list[Path]) -> None:
        with self._lock:
            if job.cancelled:
                return
            if self.clock() >= job.command.expires_at:
                job.state = AckState.rejected
                log.warning("Programme %s not aired: it expired before air time", ref)
                self.ack(ref, AckState.rejected, "expired before air time")
                self._filler_soon()
                return
            current = self._jobs.get(self._playing) if self._playing else None
            if current is not None and current.playback is not None:
                if job.command.priority is not Priority.emergency:
                    # Busy: air right after the current programme ends.
                    job.cancel_timer = self.timers.call_later(
                        1.0, lambda: self._air(ref, job, files)
                    )
                    return
                log.warning("Emergency %s interrupts programme %s", ref, self._playing)
                self._stop_job(current)  # an emergency interrupts what is playing
            if job.command.relays:
                self._start_relay(ref, job, job.command.relays[0])
                return
            self._stop_filler(f"programme {ref} airs")
            job.state = AckState.started
            self._playing = ref
            self.version = job.command.version
        log.info("Playing programme %s (%s)", ref, _length(job.command.duration_ms))
        self.ack(ref, AckState.started)
        durations = [item.duration_ms for item in job.command.files]
        volumes = [item.volume for item in job.command.files]
        job.playback = self.player.play(
            files,
            durations,
            lambda ok, d: self._ended(ref, job, ok, d),
            volumes=volumes,
            on_item=lambda index: self._item_started(volumes[index]),
        )

    def _item_started(self, level: int | None) -> None:
        """Report a new volume in the retained state as an item airs at it."""
        with self._lock:
            if level is None or self.volume is None or level == self.volume:
                return
            self.volume = level
        log.info("Airing at volume %s %%", level)
        self.publish_state(True)

    def _start_relay(self, ref: str, job: _Job, item: RelayItem) -> None:
        """Open the stream now (the lock is held) and relay it until the item's `until`."""
        if self.clock() >= item.until:
            job.state = AckState.rejected
            log.warning("Relay %s not aired: its window ended before air time", ref)
            self.ack(ref, AckState.rejected, "the relay window ended before air time")
            self._filler_soon()
            return
        self._stop_filler(f"relay {ref} airs")
        self._playing = ref
        self.version = job.command.version
        log.info("Relaying %s from %s until %s", ref, item.url, _shown(item.until))

        def started() -> None:
            with self._lock:
                if job.state is not AckState.received:
                    return
                job.state = AckState.started
            self.ack(ref, AckState.started)
            self._item_started(item.volume)

        job.playback = self.relay.relay(
            item.url,
            item.until,
            started,
            lambda result: self._relayed(ref, job, result),
            volume=item.volume,
        )

    def _relayed(self, ref: str, job: _Job, result: RelayResult) -> None:
        with self._lock:
            job.playback = None
            if self._playing == ref:
                self._playing = None
            aired = result.aired_seconds > 0
            job.state = AckState.completed if aired and not result.interrupted else AckState.failed
        lost, reconnects = result.lost_seconds, result.reconnects
        if result.interrupted:
            detail = "interrupted"
        elif not aired:
            detail = f"stream unreachable for the whole window: {result.error or 'no audio'}"
        else:
            detail = f"relayed {result.aired_seconds:.1f} s, lost {lost:.1f} s"
            if reconnects:
                detail += f" over {reconnects} reconnect{'s' if reconnects != 1 else ''}"
        if job.state is AckState.completed:
            log.info("Relay %s ended: %s", ref, detail)
        else:
            log.warning("Relay %s did not air: %s", ref, detail)
        self.ack(ref, job.state, detail[:500], lost_seconds=lost, reconnects=reconnects)
        self._filler_soon()

    def _ended(self, ref: str, job: _Job, ok: bool, detail: str | None) -> None:
        with self._lock:
            job.playback = None
            if self._playing == ref:
                self._playing = None
            job.state = AckState.completed if ok else AckState.failed
        if ok:
            log.info("Finished playing programme %s", ref)
        else:
            log.warning("Programme %s stopped before its end: %s", ref, detail or "no reason given")
        self.ack(ref, job.state, detail)
        self._filler_soon()

    def _stop_job(self, job: _Job) -> None:
        job.cancelled = True
        if job.cancel_timer is not None:
            job.cancel_timer()
        if job.playback is not None:
            job.playback.stop()

    def _cancel(self, ref: str) -> None:
        with self._lock:
            job = self._jobs.get(ref)
            if job is None:
                return
            if job.state in (AckState.completed, AckState.failed, AckState.rejected):
                return
            self._stop_job(job)
            if job.state is not AckState.started:
                job.state = AckState.rejected
        log.info("Programme %s cancelled by the server", ref)
        if job.state is AckState.rejected:
            self.ack(ref, AckState.rejected, "cancelled")
        self._filler_soon()

    # --- filler (extension) ----------------------------------------------------

    def _filler_command(self, command: FillerCommand) -> None:
        """Take a filler command: download its tracks, then hold it (an empty one: none)."""
        with self._lock:
            pending = self._filler_pending
            if command.version == pending or (command.version == self.filler and pending is None):
                log.info("Filler %s again (a repeat): nothing to do", command.version)
                return
            if command.version == self.filler:
                self._filler_pending = None  # the download under way is not taken
                log.info("Filler %s kept: the server wants it still", command.version)
                return
            if not command.airs:
                self._filler_pending = None  # a download under way is not taken either
                self._filler = None
                self._filler_files = []
                self.filler = None
                self._stop_filler("the server took filler away")
                self._filler_tick()
                log.info("Filler: none to hold (version %s)", command.version)
            else:
                self._filler_pending = command.version
                log.info(
                    "Received filler %s: %d tracks for %d spans, from %s to %s",
                    command.version,
                    len(command.items),
                    len(command.spans),
                    _shown(command.spans[0].start),
                    _shown(command.spans[-1].end),
                )
        if command.airs:
            self.executor.submit(self._download_filler, command)
        else:
            self.publish_state(True)

    def _download_filler(self, command: FillerCommand) -> None:
        auth = (self.receiver_id, self.password) if self.password else None
        try:
            files = [
                self.cache.fetch(item.url, item.sha256, item.bytes, auth) for item in command.items
            ]
        except (DownloadError, OSError) as exc:
            with self._lock:
                if self._filler_pending == command.version:
                    self._filler_pending = None
                held = self.filler
            log.warning(
                "Filler %s not taken: could not download its tracks: %s (still holding %s)",
                command.version,
                exc,
                held or "no filler",
            )
            return
        with self._lock:
            if self._filler_pending != command.version:
                return  # another command came meanwhile
            previous = self._filler
            self._filler_pending = None
            self._filler = command
            self._filler_files = files
            self.filler = command.version
            self._filler_next = _next_track(previous, self._filler_next, command)
            log.info(
                "Downloaded filler %s: %d files, %d bytes, checked; holding it",
                command.version,
                len(files),
                sum(item.bytes for item in command.items),
            )
            self._filler_tick()
        self.publish_state(True)

    def _filler_soon(self) -> None:
        """Look again at filler from the timer thread (once the caller's step is done)."""
        self.timers.call_later(0.0, self._filler_tick)

    def _filler_tick(self) -> None:
        """Start, keep or stop filler as the clock, the spans and the programmes say."""
        with self._lock:
            if self._filler_wake is not None:
                self._filler_wake()
                self._filler_wake = None
            command = self._filler
            if command is None:
                self._stop_filler("no filler is held")
                return
            now = self.clock()
            span = command.span_at(now)
            if span is None:
                self._stop_filler("its span ended")
                start = command.next_start(now)
                if start is not None:
                    self._filler_wake_in((start - now).total_seconds())
                return
            until_end = (span.end - now).total_seconds()
            self._filler_wake_in(until_end)
            if self._filler_playback is not None:
                return  # it plays on (into an adjacent span too)
            if self._airing(now):
                return  # filler resumes when that ends
            wait = self._filler_not_before - time.monotonic()
            if wait > 0:
                self._filler_wake_in(min(wait, until_end))
                return
            self._play_filler(command, span.end, span.volume)

    def _filler_wake_in(self, delay: float) -> None:
        """Look at filler again after `delay` seconds (lock held); one such wake at a time."""
        if self._filler_wake is not None:
            self._filler_wake()
        self._filler_wake = self.timers.call_later(
            min(delay, FILLER_RECHECK_SECONDS), self._filler_tick
        )

    def _airing(self, now: datetime) -> bool:
        """Whether a programme or relay plays, or is due and waiting to air (lock held)."""
        if self._playing is not None:
            return True
        return any(
            job.cancel_timer is not None
            and not job.cancelled
            and job.playback is None
            and job.state in (AckState.received, AckState.downloaded)
            and (job.command.air_at <= now or job.command.priority is Priority.emergency)
            for job in self._jobs.values()
        )

    def _play_filler(self, command: FillerCommand, until: datetime, level: int | None) -> None:
        """Start the next track (lock held)."""
        index = self._filler_next % len(command.items)
        self._filler_next = index + 1
        item = command.items[index]
        token = object()
        self._filler_track = token
        self._filler_playing = item.sha256
        self._filler_not_before = time.monotonic() + FILLER_MIN_TRACK_SECONDS
        self.filler_played.append((item.sha256, self.clock()))
        log.info("Filler: playing %s until %s", item.title, _shown(until))
        self._filler_playback = self.player.play(
            [self._filler_files[index]],
            [item.duration_ms],
            lambda ok, detail: self._filler_ended(token, item, ok, detail),
            volumes=[level],
            on_item=lambda _index: self._item_started(level),
        )

    def _filler_ended(self, token: object, item: MediaItem, ok: bool, detail: str | None) -> None:
        with self._lock:
            if self._filler_track is not token:
                return  # stopped: whoever stopped it said why
            self._filler_track = None
            self._filler_playback = None
            if not ok:
                pause = time.monotonic() + FILLER_FAILED_PAUSE_SECONDS
                self._filler_not_before = max(self._filler_not_before, pause)
        if not ok:
            log.warning(
                "Filler: %s stopped before its end: %s; the next track in %.0f s",
                item.title,
                detail or "no reason given",
                FILLER_FAILED_PAUSE_SECONDS,
            )
        self._filler_soon()

    def _stop_filler(self, reason: str) -> None:
        """Cut the filler track playing, if any (lock held)."""
        playback = self._filler_playback
        if playback is None:
            return
        self._filler_track = None
        self._filler_playback = None
        log.info("Filler: stopped, %s", reason)
        playback.stop()


def _next_track(previous: FillerCommand | None, following: int, command: FillerCommand) -> int:
    """Where a new filler command goes on: after the track last started, when it still has it."""
    if previous is None or not previous.items:
        return 0
    last = previous.items[(following - 1) % len(previous.items)].sha256
    digests = [item.sha256 for item in command.items]
    return digests.index(last) + 1 if last in digests else 0


# --- one real receiver -----------------------------------------------------------------


# How long `loa receiver` waits for its first connection before saying it has none.
BROKER_WAIT_SECONDS = 10.0


def _connected(agent: ReceiverAgent, address: BrokerAddress) -> None:
    log.info(
        "Connected to the broker at %s:%s as %s", address.host, address.port, agent.receiver_id
    )
    agent.publish_state(True)


def run_receiver(
    *,
    receiver_id: str,
    password: str,
    address: BrokerAddress,
    cache_dir: Path,
    prefix: str = "loa/v1",
    time_scale: float = 1.0,
    player_command: str | None = None,
    stop: threading.Event | None = None,
    codecs: Sequence[str] = PLAYABLE_CODECS,
    features: Sequence[str] = AGENT_FEATURES,
    relay_output: str = RELAY_OUTPUT,
) -> None:
    """Run one receiver until `stop` is set (or forever): the body of `loa receiver`."""
    topics = Topics(prefix)
    timers = TimerService()
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"rx-{receiver_id}")
    holder: list[ReceiverAgent] = []

    def publish(topic: str, payload: bytes, qos: int, retain: bool) -> None:
        client.publish(topic, payload, qos=qos, retain=retain)

    player: Player = (
        CommandPlayer(player_command) if player_command else SimulatedPlayer(timers, time_scale)
    )
    agent = ReceiverAgent(
        receiver_id,
        password=password,
        topics=topics,
        publish=publish,
        cache=MediaCache(cache_dir),
        player=player,
        timers=timers,
        executor=executor,
        codecs=codecs,
        features=features,
        relay=StreamRelay(output=relay_output),
    )
    holder.append(agent)
    client = MqttClient(
        address.with_login(receiver_id, password),
        client_id=receiver_id,
        clean_session=False,
        will=Will(topics.state(receiver_id), agent.state_payload(False), QOS_STATE, True),
        on_connected=lambda _present: _connected(holder[0], address),
    )
    client.subscribe(topics.cmd(receiver_id), agent.on_message, qos=1)
    client.start(wait=False)
    if not client.wait_connected(BROKER_WAIT_SECONDS):
        log.warning(
            "Cannot reach the broker at %s:%s yet; still trying (programmes arrive once connected)",
            address.host,
            address.port,
        )
    stop = stop or threading.Event()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        if client.connected:
            client.publish(
                topics.state(receiver_id), agent.state_payload(False), qos=1, retain=True
            )
        client.stop()
        timers.stop()
        executor.shutdown(wait=False, cancel_futures=True)
