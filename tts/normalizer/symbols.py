"""Data tables of the normaliser, loaded from tts/data/*.tsv (easy to extend by hand)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType


def load_table(name: str) -> Mapping[str, str]:
    """Read a two-column TSV table shipped in tts/data; '#' starts a comment line."""
    return _load_table(name)


@cache
def _load_table(name: str) -> Mapping[str, str]:
    text = resources.files("tts.data").joinpath(name).read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("\t")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{name} line {number}: expected KEY<TAB>VALUE, got {raw!r}")
        table[key.strip()] = value.strip()
    return MappingProxyType(table)


def abbreviations() -> Mapping[str, str]:
    """Built-in abbreviations read as words (UBND -> Ủy ban nhân dân)."""
    return load_table("abbreviations.tsv")


def legal_types() -> Mapping[str, str]:
    """Document kinds used in document numbers (NĐ -> nghị định)."""
    return load_table("legal_types.tsv")


def legal_issuers() -> Mapping[str, str]:
    """Document issuers used in document numbers (CP -> Chính phủ)."""
    return load_table("legal_issuers.tsv")


def units() -> Mapping[str, str]:
    """Units read after a number (km -> ki lô mét)."""
    return load_table("units.tsv")


def letters() -> Mapping[str, str]:
    """Vietnamese names of letters, for spelling unknown abbreviations."""
    return load_table("letters.tsv")


def symbols() -> Mapping[str, str]:
    """Symbols read aloud between words (& -> và)."""
    return load_table("symbols.tsv")


def roads() -> Mapping[str, str]:
    """Road codes read before their number (QL -> quốc lộ)."""
    return load_table("roads.tsv")


def place_prefixes() -> Mapping[str, str]:
    """Abbreviated kinds of places before a place name (tp. -> thành phố)."""
    return load_table("place_prefixes.tsv")


def web_words() -> Mapping[str, str]:
    """How parts of web and e-mail addresses are read (vn -> vê nờ)."""
    return load_table("web.tsv")


def language_names() -> Mapping[str, str]:
    """Names of the languages the system knows, for messages to editors."""
    return load_table("languages.tsv")
