"""Normaliser engine: runs named rules in order over text, with tables as data."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from types import MappingProxyType

from tts.normalizer import symbols
from tts.normalizer.numbers import ZeroTens


def _words_pattern(keys: Sequence[str]) -> re.Pattern[str] | None:
    """One alternation matching any key as a whole word, longest key first."""
    if not keys:
        return None
    ordered = sorted(set(keys), key=lambda k: (-len(k), k))
    # A key ending with a dot (KT., TP.) may be glued to the next word: "KT.GIÁM ĐỐC".
    alternation = "|".join(
        re.escape(k) if k.endswith(".") else rf"{re.escape(k)}(?![\w])" for k in ordered
    )
    return re.compile(rf"(?<![\w])(?:{alternation})")


@dataclass(frozen=True, eq=False)  # hashed by identity, for lru_cache
class Tables:
    """Everything a rule may look up; built once, and once per distinct area lexicon."""

    abbreviations: Mapping[str, str]
    legal_types: Mapping[str, str]
    legal_issuers: Mapping[str, str]
    units: Mapping[str, str]
    letters: Mapping[str, str]
    symbols: Mapping[str, str]
    roads: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    place_prefixes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    web_words: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    lexicon: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    zero_tens: ZeroTens = "linh"
    abbreviation_re: re.Pattern[str] | None = None

    @classmethod
    def builtin(cls, *, zero_tens: ZeroTens = "linh") -> Tables:
        """Tables from the data files shipped with the package."""
        tables = cls(
            abbreviations=symbols.abbreviations(),
            legal_types=symbols.legal_types(),
            legal_issuers=symbols.legal_issuers(),
            units=symbols.units(),
            letters=symbols.letters(),
            symbols=symbols.symbols(),
            roads=symbols.roads(),
            place_prefixes=symbols.place_prefixes(),
            web_words=symbols.web_words(),
            zero_tens=zero_tens,
        )
        return tables.with_lexicon(None)

    def with_lexicon(self, lexicon: Mapping[str, str] | None) -> Tables:
        """Tables where an area's entries override and extend the built-in abbreviations."""
        items = tuple(sorted((lexicon or {}).items()))
        return _with_lexicon(self, items)

    @cached_property
    def folded_units(self) -> Mapping[str, str]:
        """Units of two or more characters by their lower-case form (HZ, hz -> Hz)."""
        folded: dict[str, str] = {}
        for key, reading in self.units.items():
            if len(key) > 1:
                folded.setdefault(key.lower(), reading)
        return MappingProxyType(folded)

    def unit_reading(self, unit: str) -> str | None:
        """How a unit is read: as written first, then in any letter case if it is long."""
        return self.units.get(unit) or (
            self.folded_units.get(unit.lower()) if len(unit) > 1 else None
        )

    def reading_of(self, word: str) -> str | None:
        """Area entry first, then the built-in abbreviation table."""
        return self.lexicon.get(word) or self.abbreviations.get(word)

    def issuer_of(self, code: str) -> str | None:
        """How an issuer code in a document number is read, if known."""
        return (
            self.lexicon.get(code) or self.legal_issuers.get(code) or self.abbreviations.get(code)
        )


@lru_cache(maxsize=128)
def _with_lexicon(base: Tables, items: tuple[tuple[str, str], ...]) -> Tables:
    lexicon = MappingProxyType({k.strip(): v.strip() for k, v in items if k.strip()})
    keys = [*base.abbreviations.keys(), *lexicon.keys()]
    return replace(base, lexicon=lexicon, abbreviation_re=_words_pattern(keys))


Rule = Callable[[str, Tables], str]


class Normalizer:
    """Applies rules in order; the same instance is safe to share between threads."""

    def __init__(self, rules: Sequence[Rule], tables: Tables | None = None) -> None:
        self.rules = tuple(rules)
        self.tables = tables or Tables.builtin()

    def normalize(self, text: str, *, lexicon: Mapping[str, str] | None = None) -> str:
        """Return the text exactly as it will be read aloud."""
        tables = self.tables.with_lexicon(lexicon)
        text = unicodedata.normalize("NFC", text)
        for rule in self.rules:
            text = rule(text, tables)
        return text
