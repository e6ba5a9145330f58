"""Tokenizer of plain-words recurrences: text in, named pieces out, no word dropped.

The mechanism only (the rules are in broadcast/schedule/recurrence_rules.py, the words in
broadcast/schedule/recurrence_words.py). The text is cut into tokens — runs of ASCII digits,
runs of letters, single other signs — and at each position every rule is tried: the
longest match wins, the rule listed first on a tie. A token no rule takes becomes an
`Unknown` piece, so the caller can name every word it did not understand.

Words match case-insensitively. A word written with accents must carry the table's
accents ("tới" is not "tối"); one written with none matches by its letters alone, so
"thu 2 den thu 6" is read too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

V = TypeVar("V")

# ASCII digits only: int() would also read other scripts' digits, which nobody writes here.
_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+|\S")
_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "‐": "-", "‑": "-"})


def fold(text: str) -> str:
    """Lower case without accents, đ as d: 'Hằng ngày' -> 'hang ngay'."""
    text = text.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: as written, in lower case, folded, and where it stands in the text."""

    text: str
    lower: str
    folded: str
    start: int
    end: int

    @property
    def plain(self) -> bool:
        """True when written without any accent (nor đ)."""
        return self.lower == self.folded

    @property
    def is_number(self) -> bool:
        """True for a run of ASCII digits."""
        return self.text.isascii() and self.text.isdigit()


def lex(text: str) -> list[Token]:
    """The tokens of an NFC-normalised text."""
    tokens = []
    for m in _TOKEN.finditer(text):
        lower = m.group().translate(_DASHES).lower()
        tokens.append(Token(m.group(), lower, fold(lower), m.start(), m.end()))
    return tokens


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a table, in lower case and folded."""

    lower: str
    folded: str

    def matches(self, token: Token) -> bool:
        """Same word with the same accents, or the same letters written without accents."""
        return token.lower == self.lower or (token.plain and token.folded == self.folded)


Phrase = tuple[Word, ...]


def _phrase(text: str) -> Phrase:
    return tuple(Word(t.lower, t.folded) for t in lex(unicodedata.normalize("NFC", text)))


def phrases(*texts: str) -> tuple[Phrase, ...]:
    """A word table as token sequences, longest first ('hằng tuần' -> two words)."""
    found = {_phrase(text) for text in texts}
    return tuple(sorted(found, key=lambda p: (-len(p), [w.lower for w in p])))


def keyed(table: Mapping[str, V]) -> dict[Phrase, V]:
    """A table of phrases with a meaning each, longest phrase first."""
    found = {_phrase(text): value for text, value in table.items()}
    return dict(sorted(found.items(), key=lambda kv: (-len(kv[0]), [w.lower for w in kv[0]])))


@dataclass(frozen=True, slots=True)
class Piece:
    """What a rule made of tokens `first`..`last` (exclusive): its meaning and its text."""

    rule: str
    value: object
    first: int
    last: int
    start: int  # where the text begins and ends in the phrase
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """A token no rule understood."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the tokens, with the pieces already made before it."""

    tokens: Sequence[Token]
    at: int
    before: Sequence[Piece]

    def sign(self, offset: int = 0) -> str | None:
        """The token `offset` places on as written, or None past the end."""
        index = self.at + offset
        return self.tokens[index].text if 0 <= index < len(self.tokens) else None

    def number(self, offset: int = 0, *, digits: int = 2) -> int | None:
        """The token `offset` places on as a number of at most `digits` digits, else None."""
        index = self.at + offset
        if not 0 <= index < len(self.tokens):
            return None
        token = self.tokens[index]
        return int(token.text) if token.is_number and len(token.text) <= digits else None

    def digits(self, offset: int = 0) -> str | None:
        """The token `offset` places on when it is a run of digits, as written."""
        index = self.at + offset
        if 0 <= index < len(self.tokens) and self.tokens[index].is_number:
            return self.tokens[index].text
        return None

    def _at(self, offset: int, words: Phrase) -> bool:
        start = self.at + offset
        if start < 0 or start + len(words) > len(self.tokens):
            return False
        return all(w.matches(self.tokens[start + k]) for k, w in enumerate(words))

    def phrase(self, table: Iterable[Phrase], offset: int = 0) -> int:
        """How many tokens the longest phrase of `table` found at `offset` takes (0: none)."""
        for words in table:  # longest first, as phrases() orders them
            if self._at(offset, words):
                return len(words)
        return 0

    def lookup(self, table: Mapping[Phrase, V], offset: int = 0) -> tuple[int, V] | None:
        """(tokens taken, meaning) of the longest phrase of `table` found at `offset`."""
        for words, value in table.items():  # longest first, as keyed() orders them
            if self._at(offset, words):
                return len(words), value
        return None

    def moved(self, offset: int) -> Cursor:
        """The same tokens, `offset` places on (for rules that look ahead)."""
        return Cursor(self.tokens, self.at + offset, self.before)


# A rule reads at the cursor and answers (tokens taken, meaning), or None.
Match = tuple[int, object]


@dataclass(frozen=True, slots=True)
class Rule:
    """A named rule."""

    name: str
    read: Callable[[Cursor], Match | None]


def tokenize(text: str, rules: Sequence[Rule]) -> list[Piece]:
    """Pieces covering every token of `text`, in order; `Unknown` where no rule matched."""
    tokens = lex(text)
    pieces: list[Piece] = []
    at = 0
    while at < len(tokens):
        cursor = Cursor(tokens, at, pieces)
        best: tuple[int, object, str] | None = None
        for rule in rules:
            found = rule.read(cursor)
            if found is not None and found[0] > 0 and (best is None or found[0] > best[0]):
                best = (found[0], found[1], rule.name)
        length, value, name = best if best is not None else (1, Unknown(), "unknown")
        last = min(at + length, len(tokens))
        start, end = tokens[at].start, tokens[last - 1].end
        pieces.append(Piece(name, value, at, last, start, end, text[start:end]))
        at = last
    return pieces
