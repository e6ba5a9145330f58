"""Assembly of a commune programme: ordering, language versions, gaps, idents and overflow.

Pure data in, pure data out: no database, no files touched. The caller (broadcast/)
turns approved bulletins into `ProgrammeEntry` values and publishes the manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# Airing order of Thông tư 39 priorities: emergency, then priority, then normal.
PRIORITY_RANK: Mapping[str, int] = {"emergency": 0, "priority": 1, "normal": 2}

ItemKind = Literal["intro", "bulletin", "outro"]
# ISO 639-2 "no linguistic content": the language of station idents (jingles) in a
# manifest, so receivers that require a language on every item take them.
IDENT_LANGUAGE = "zxx"


@dataclass(frozen=True, slots=True)
class MediaAsset:
    """One encoded audio file, named by the sha256 of its bytes."""

    sha256: str
    bytes: int
    duration_ms: int
    path: Path | None = None
    codec: str = "mp3"  # "opus": Opus in an Ogg container


# What each codec is served as; MP3 items of a manifest carry neither field (as always).
CONTENT_TYPES: Mapping[str, str] = {"mp3": "audio/mpeg", "opus": "audio/ogg"}


@dataclass(frozen=True, slots=True)
class ProgrammeEntry:
    """An approved bulletin offered to a slot, with its audio per language."""

    bulletin_id: int
    title: str
    priority: str  # "normal", "priority" or "emergency"
    order: int  # position in the schedule; ties of priority keep this order
    versions: Mapping[str, MediaAsset]


@dataclass(frozen=True, slots=True)
class SlotRules:
    """How a slot is filled: gap between items, length cap, station ident, strictness."""

    gap_ms: int = 1000
    max_duration_ms: int | None = None
    intro: MediaAsset | None = None
    outro: MediaAsset | None = None
    # When True a missing language version blocks the whole programme.
    require_all_languages: bool = False

    def __post_init__(self) -> None:
        if self.gap_ms < 0:
            raise ValueError("gap_ms must not be negative")
        if self.max_duration_ms is not None and self.max_duration_ms <= 0:
            raise ValueError("max_duration_ms must be positive")


@dataclass(frozen=True, slots=True)
class ProgrammeItem:
    """One file to play, in order, with where it starts in the programme."""

    kind: ItemKind
    media: MediaAsset
    title: str
    language: str | None  # IDENT_LANGUAGE for intro and outro
    bulletin_id: int | None
    start_ms: int


@dataclass(frozen=True, slots=True)
class ProgrammeWarning:
    """Something an operator should know about the programme."""

    # missing_language, no_version, overflow, overrun, blocked, empty, voice_fallback,
    # language_review (a version waiting for its language reviewer's sign-off)
    code: str
    message: str
    bulletin_id: int | None = None
    language: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "code": self.code,
            "message": self.message,
            "bulletin_id": self.bulletin_id,
            "language": self.language,
        }


@dataclass(frozen=True)
class Programme:
    """What one station airs in one slot: ordered items, warnings and the overflow."""

    items: tuple[ProgrammeItem, ...]
    languages: tuple[str, ...]
    gap_ms: int
    warnings: tuple[ProgrammeWarning, ...] = ()
    overflow: tuple[ProgrammeEntry, ...] = ()
    blocked: bool = False
    _version: str = field(default="", repr=False)

    @property
    def total_duration_ms(self) -> int:
        """Sum of the items plus the gaps between them."""
        if not self.items:
            return 0
        return sum(i.media.duration_ms for i in self.items) + self.gap_ms * (len(self.items) - 1)

    @property
    def bulletin_ids(self) -> tuple[int, ...]:
        """The bulletins aired, in order, each once."""
        seen: dict[int, None] = {}
        for item in self.items:
            if item.bulletin_id is not None:
                seen.setdefault(item.bulletin_id, None)
        return tuple(seen)

    @property
    def airable(self) -> bool:
        """True when there is a bulletin to air and nothing blocks the programme."""
        return bool(self.bulletin_ids) and not self.blocked

    @property
    def overflow_ids(self) -> tuple[int, ...]:
        """The bulletins that did not fit in this slot, in airing order."""
        return tuple(e.bulletin_id for e in self.overflow)

    @property
    def version(self) -> str:
        """A hash that changes whenever anything a receiver plays or shows changes."""
        return self._version or _version_of(self.items, self.gap_ms, self.blocked)

    def manifest(self, media_url: Callable[..., str]) -> dict[str, Any]:
        """The JSON manifest receivers download.

        `media_url(sha256)` gives an MP3 file's URL, `media_url(sha256, codec)` another
        codec's; items in another codec than MP3 also name it and their content type.
        """
        return {
            "version": self.version,
            "total_duration_ms": self.total_duration_ms,
            "gap_ms": self.gap_ms,
            "languages": list(self.languages),
            "blocked": self.blocked,
            "items": [_item(item, media_url) for item in self.items],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def _item(item: ProgrammeItem, media_url: Callable[..., str]) -> dict[str, Any]:
    codec = item.media.codec
    found: dict[str, Any] = {
        "url": media_url(item.media.sha256)
        if codec == "mp3"
        else media_url(item.media.sha256, codec),
        "sha256": item.media.sha256,
        "bytes": item.media.bytes,
        "duration_ms": item.media.duration_ms,
        "language": item.language or IDENT_LANGUAGE,
        "title": item.title,
    }
    if codec != "mp3":
        found["codec"] = codec
        found["content_type"] = CONTENT_TYPES.get(codec, "application/octet-stream")
    return found


def _version_of(items: Iterable[ProgrammeItem], gap_ms: int, blocked: bool) -> str:
    canonical = {
        "gap_ms": gap_ms,
        "blocked": blocked,
        "items": [
            [i.kind, i.media.sha256, i.media.bytes, i.media.duration_ms, i.language, i.title]
            + ([i.media.codec] if i.media.codec != "mp3" else [])
            for i in items
        ],
    }
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def airing_order(entries: Iterable[ProgrammeEntry]) -> list[ProgrammeEntry]:
    """Emergency first, then priority, then normal; schedule order within each."""
    return sorted(entries, key=lambda e: (PRIORITY_RANK.get(e.priority, 3), e.order))


def _block_ms(assets: Sequence[MediaAsset], gap_ms: int) -> int:
    return sum(a.duration_ms for a in assets) + gap_ms * max(0, len(assets) - 1)


def assemble(
    entries: Iterable[ProgrammeEntry], languages: Sequence[str], rules: SlotRules
) -> Programme:
    """Order the entries, add each version in the station's language order, apply the slot rules.

    Overflow rule: entries are taken in airing order; the first one that does not fit
    in `max_duration_ms`, and every entry after it, move to the next slot (so the
    queue keeps its order). Emergency bulletins never move: an overrun is reported.
    """
    if not languages:
        raise ValueError("a station airs at least one language")
    warnings: list[ProgrammeWarning] = []
    blocked = False
    chosen: list[tuple[ProgrammeEntry, list[tuple[str, MediaAsset]]]] = []
    for entry in airing_order(entries):
        versions = [(lang, entry.versions[lang]) for lang in languages if lang in entry.versions]
        for lang in languages:
            if lang not in entry.versions:
                warnings.append(
                    ProgrammeWarning(
                        "missing_language",
                        f"Bulletin {entry.bulletin_id} '{entry.title}' has no '{lang}' version",
                        entry.bulletin_id,
                        lang,
                    )
                )
                blocked = blocked or rules.require_all_languages
        if not versions:
            warnings.append(
                ProgrammeWarning(
                    "no_version",
                    f"Bulletin {entry.bulletin_id} '{entry.title}' has no version in any "
                    f"language this station airs ({', '.join(languages)}): left out",
                    entry.bulletin_id,
                )
            )
            continue
        chosen.append((entry, versions))

    idents = [a for a in (rules.intro, rules.outro) if a is not None]
    used = _block_ms(idents, rules.gap_ms)
    kept: list[tuple[ProgrammeEntry, list[tuple[str, MediaAsset]]]] = []
    overflow: list[ProgrammeEntry] = []
    for entry, versions in chosen:
        block = _block_ms([a for _, a in versions], rules.gap_ms)
        extra = block + (rules.gap_ms if used else 0)
        fits = rules.max_duration_ms is None or used + extra <= rules.max_duration_ms
        if overflow or not fits:
            if entry.priority == "emergency":
                warnings.append(
                    ProgrammeWarning(
                        "overrun",
                        f"Emergency bulletin {entry.bulletin_id} '{entry.title}' runs past "
                        f"the slot's {rules.max_duration_ms} ms: aired anyway",
                        entry.bulletin_id,
                    )
                )
            else:
                overflow.append(entry)
                continue
        kept.append((entry, versions))
        used += extra
    if overflow:
        moved = ", ".join(str(e.bulletin_id) for e in overflow)
        warnings.append(
            ProgrammeWarning(
                "overflow",
                f"{len(overflow)} bulletin(s) do not fit in {rules.max_duration_ms} ms and "
                f"move to the next slot: {moved}",
            )
        )
    if blocked:
        warnings.append(
            ProgrammeWarning(
                "blocked",
                "The programme is blocked: a language version is missing and the settings "
                "require every language the station airs",
            )
        )

    items: list[ProgrammeItem] = []
    clock = 0

    def add(
        kind: ItemKind, media: MediaAsset, title: str, lang: str | None, bid: int | None
    ) -> None:
        nonlocal clock
        if items:
            clock += rules.gap_ms
        items.append(ProgrammeItem(kind, media, title, lang, bid, clock))
        clock += media.duration_ms

    if kept and rules.intro is not None:
        add("intro", rules.intro, "Giới thiệu", IDENT_LANGUAGE, None)
    for entry, versions in kept:
        for lang, media in versions:
            add("bulletin", media, entry.title, lang, entry.bulletin_id)
    if kept and rules.outro is not None:
        add("outro", rules.outro, "Kết thúc", IDENT_LANGUAGE, None)
    if not kept:
        warnings.append(ProgrammeWarning("empty", "Nothing approved to air in this slot"))
    return Programme(
        items=tuple(items),
        languages=tuple(languages),
        gap_ms=rules.gap_ms,
        warnings=tuple(warnings),
        overflow=tuple(overflow),
        blocked=blocked,
        _version=_version_of(items, rules.gap_ms, blocked),
    )
