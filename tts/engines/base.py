"""The one interface every speech engine implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from tts.audio import PCM

ProgressCallback = Callable[[int, int], None]
"""Called with (chunks done, chunks total) as synthesis advances."""


@dataclass(frozen=True, slots=True)
class EngineCheck:
    """Whether an engine can be used here, with a one-line human explanation."""

    available: bool
    detail: str


class Engine(ABC):
    """A text-to-speech engine returning mono float32 PCM at the requested rate."""

    name: str = "engine"
    online: bool = False

    @abstractmethod
    def languages(self) -> tuple[str, ...]:
        """Language codes (ours, e.g. 'vi', 'zh') this engine can speak."""

    def speaks(self, language: str) -> bool:
        """True when the engine has a voice for the language."""
        return language in self.languages()

    @abstractmethod
    def default_voice(self, language: str) -> str:
        """Voice used when the caller names none (part of the cache key)."""

    def accent_voice(self, language: str, accent: str) -> str | None:
        """The voice reading `language` with a regional accent (north, central, south), if any."""
        return None

    @abstractmethod
    def check(self, *, network: bool = True) -> EngineCheck:
        """Report whether the engine is usable here; `network=False` skips reachability."""

    @abstractmethod
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
        """Speak already-normalised text; raise EngineUnavailable when it cannot."""
