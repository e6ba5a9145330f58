"""Vietnamese text normaliser: bulletin text in, the words an announcer reads out."""

from __future__ import annotations

from collections.abc import Mapping

from tts.normalizer.core import Normalizer, Rule, Tables
from tts.normalizer.rules import DEFAULT_RULES
from tts.normalizer.segment import chunk_text, split_sentences
from tts.normalizer.spans import Piece, rewritten_pieces

__all__ = [
    "DEFAULT_RULES",
    "Normalizer",
    "Piece",
    "Rule",
    "Tables",
    "chunk_text",
    "default_normalizer",
    "normalize",
    "rewritten_pieces",
    "split_sentences",
]

_DEFAULT: Normalizer | None = None


def default_normalizer() -> Normalizer:
    """The shared normaliser with the built-in rules and tables."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Normalizer(DEFAULT_RULES)
    return _DEFAULT


def normalize(text: str, *, lexicon: Mapping[str, str] | None = None) -> str:
    """Return Vietnamese text exactly as it will be read; `lexicon` adds area entries."""
    return default_normalizer().normalize(text, lexicon=lexicon)
