"""Which parts of the spoken text were rewritten from the written one, for people to check.

The normaliser runs many rules one after another, so the spans it changed are found
afterwards, by aligning the words of the two texts (difflib): a run of spoken words
that matches no written word, letter case aside, was rewritten, and carries the written
words it stands for ("1/12" -> "một tháng mười hai"). An editor reads the highlighted
runs before approving, and adds a lexicon entry where one is read wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of the spoken text; `written` is what it was written as, when rewritten."""

    text: str
    written: str | None = None


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def rewritten_pieces(written: str, spoken: str) -> list[Piece]:
    """The spoken text cut into pieces read as written and pieces rewritten.

    The pieces joined give `spoken` back exactly.
    """
    said, wrote = _tokens(spoken), _tokens(written)
    matcher = SequenceMatcher(
        a=[t.group().casefold() for t in wrote],
        b=[t.group().casefold() for t in said],
        autojunk=False,
    )
    pieces: list[Piece] = []
    at = 0  # how much of `spoken` is in pieces already
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if j1 == j2:  # written words not read at all (a dash, a slash): nothing to show
            continue
        start, end = said[j1].start(), said[j2 - 1].end()
        if start > at:
            pieces.append(Piece(spoken[at:start]))
        if op == "equal":
            pieces.append(Piece(spoken[start:end]))
        else:
            source = written[wrote[i1].start() : wrote[i2 - 1].end()] if i2 > i1 else ""
            pieces.append(Piece(spoken[start:end], source))
        at = end
    if at < len(spoken):
        pieces.append(Piece(spoken[at:]))
    return _merged(pieces)


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Neighbouring plain pieces joined (fewer elements to show)."""
    out: list[Piece] = []
    for piece in pieces:
        if out and piece.written is None and out[-1].written is None:
            out[-1] = Piece(out[-1].text + piece.text)
        else:
            out.append(piece)
    return out
