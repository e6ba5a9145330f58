"""Sentence and clause segmentation for engines with a length limit; never cuts a word."""

from __future__ import annotations

import re

_SENTENCE_RE = re.compile(r"(?<=[.!?;…])\s+|\n+")
_CLAUSE_RE = re.compile(r"(?<=[,:])\s+")


def _pack(pieces: list[str], max_chars: int, joiner: str = " ") -> list[str]:
    """Greedily join consecutive pieces while the result fits in max_chars."""
    out: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= max_chars:
            current = candidate
            continue
        if current:
            out.append(current)
        current = piece
    if current:
        out.append(current)
    return out


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    out: list[str] = []
    for clause in _CLAUSE_RE.split(sentence):
        if len(clause) <= max_chars:
            out.append(clause)
        else:
            # A word longer than max_chars stays whole: an engine may refuse it, but a
            # word cut in two would be read as two nonsense words.
            out += _pack(clause.split(), max_chars)
    return _pack(out, max_chars)


def split_sentences(text: str, max_chars: int = 100) -> list[str]:
    """Split into sentences, then clauses, then word runs, each at most max_chars long."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    out: list[str] = []
    for sentence in _SENTENCE_RE.split(text):
        sentence = " ".join(sentence.split())
        if sentence:
            out += _split_long(sentence, max_chars)
    return out


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Group whole sentences into chunks of at most max_chars, for fewer engine calls."""
    return _pack(split_sentences(text, max_chars), max_chars)
