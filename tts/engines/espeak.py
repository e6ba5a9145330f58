"""eSpeak NG: offline, robotic but intelligible; system binary or the espeakng-loader wheel."""

from __future__ import annotations

import ctypes
import io
import logging
import shutil
import subprocess
import threading
import wave
from typing import Any, Literal

import numpy as np

from tts.audio import PCM, concatenate, decode_to_pcm
from tts.engines.base import Engine, EngineCheck, ProgressCallback
from tts.errors import EngineUnavailable, TTSError
from tts.normalizer.segment import chunk_text

log = logging.getLogger(__name__)

# Our language codes -> eSpeak NG voice names.
VOICES: dict[str, str] = {"vi": "vi", "zh": "cmn", "yue": "yue", "th": "th", "en": "en"}
VIETNAMESE_VARIANTS: dict[str, str] = {
    "north": "vi",
    "central": "vi-vn-x-central",
    "south": "vi-vn-x-south",
}
# Long texts are spoken in pieces so progress can be reported and memory stays flat.
CHUNK_CHARS = 600
_TIMEOUT = 300.0

# espeak_AUDIO_OUTPUT, espeak_POSITION_TYPE and flags from speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

Backend = Literal["auto", "binary", "library"]


class _Library:
    """libespeak-ng from the espeakng-loader wheel; the library is global, hence the lock."""

    _lock = threading.Lock()
    _instance: _Library | None = None

    def __init__(self) -> None:
        import espeakng_loader

        self.lib: Any = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if rate <= 0:
            raise OSError(f"espeak_Initialize returned {rate}")
        self.sample_rate = int(rate)
        self._samples: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # keep a reference: no GC
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if wav and count > 0:
            self._samples.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    @classmethod
    def get(cls) -> _Library:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def speak(self, text: str, voice: str, wpm: int) -> bytes:
        """Return a WAV file of the text."""
        with self._lock:
            self._samples = []
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise OSError(f"eSpeak NG has no voice {voice!r}")
            self.lib.espeak_SetParameter(_ESPEAK_RATE, wpm, 0)
            data = text.encode("utf-8") + b"\0"
            buffer = ctypes.create_string_buffer(data)
            status = self.lib.espeak_Synth(
                buffer, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            self.lib.espeak_Synchronize()
            if status != 0:
                raise OSError(f"espeak_Synth returned {status}")
            samples = np.concatenate(self._samples) if self._samples else np.zeros(0, np.int16)
        out = io.BytesIO()
        with wave.open(out, "wb") as wav_file:
            wav_file.setnchannels(1)
            wav_file.setsampwidth(2)
            wav_file.setframerate(self.sample_rate)
            wav_file.writeframes(samples.astype("<i2").tobytes())
        return out.getvalue()


class EspeakEngine(Engine):
    """eSpeak NG with Northern, Central and Southern Vietnamese voices."""

    name = "espeak"
    online = False

    def __init__(
        self, *, variant: str = "north", backend: Backend = "auto", wpm: int = 165
    ) -> None:
        self.variant = variant
        self.backend = backend
        self.wpm = wpm

    def languages(self) -> tuple[str, ...]:
        return tuple(VOICES)

    def default_voice(self, language: str) -> str:
        if language == "vi":
            return VIETNAMESE_VARIANTS.get(self.variant, "vi")
        return VOICES.get(language, language)

    def accent_voice(self, language: str, accent: str) -> str | None:
        """eSpeak NG's Northern, Central or Southern Vietnamese voice."""
        return VIETNAMESE_VARIANTS.get(accent) if language == "vi" else None

    def resolve_voice(self, language: str, voice: str | None) -> str:
        """Map 'north'/'central'/'south' or an eSpeak voice name to an eSpeak voice."""
        if not voice:
            return self.default_voice(language)
        return VIETNAMESE_VARIANTS.get(voice, voice)

    def _binary(self) -> str | None:
        if self.backend == "library":
            return None
        return shutil.which("espeak-ng")

    def check(self, *, network: bool = True) -> EngineCheck:
        binary = self._binary()
        if binary:
            return EngineCheck(True, f"system binary {binary}")
        if self.backend == "binary":
            return EngineCheck(False, "espeak-ng binary not found (apt-get install espeak-ng)")
        try:
            library = _Library.get()
        except (ImportError, OSError) as exc:
            return EngineCheck(False, f"espeakng-loader library unusable: {exc}")
        return EngineCheck(True, f"espeakng-loader library ({library.sample_rate} Hz)")

    def _speak_wav(self, text: str, voice: str, wpm: int) -> bytes:
        binary = self._binary()
        if binary:
            done = subprocess.run(
                [binary, "-v", voice, "-s", str(wpm), "-b", "1", "--stdout"],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=_TIMEOUT,
                check=False,
            )
            if done.returncode != 0 or not done.stdout:
                raise OSError(done.stderr.decode("utf-8", "replace").strip() or "no audio")
            return done.stdout
        if self.backend == "binary":
            raise OSError("espeak-ng binary not found")
        return _Library.get().speak(text, voice, wpm)

    def synthesize(
        self,
        text: str,
        language: str,
        *,
        voice: str,
        speed: float,
        sample_rate: int,
        on_progress: ProgressCallback | None = None,
    ) -> PCM:
        espeak_voice = self.resolve_voice(language, voice)
        wpm = max(80, min(450, round(self.wpm * speed)))
        chunks = chunk_text(text, CHUNK_CHARS)
        parts: list[PCM] = []
        for index, chunk in enumerate(chunks, start=1):
            try:
                wav = self._speak_wav(chunk, espeak_voice, wpm)
                parts.append(decode_to_pcm(wav, sample_rate, input_format="wav"))
            except (OSError, ImportError, subprocess.TimeoutExpired, TTSError) as exc:
                raise EngineUnavailable(
                    f"eSpeak NG could not speak {language!r} with voice {espeak_voice!r}",
                    f"{exc}",
                    code="tts.engine_failed",
                    engine="espeak",
                ) from exc
            if on_progress:
                on_progress(index, len(chunks))
        return concatenate(parts, sample_rate)
