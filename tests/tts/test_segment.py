"""Sentence and clause segmentation never cuts inside a word."""

from __future__ import annotations

import pytest

from tests.tts.conftest import SEED
from tts import chunk_text, normalize, split_sentences


def test_sentences_split_at_full_stops() -> None:
    assert split_sentences("Một câu. Hai câu! Ba câu?") == ["Một câu.", "Hai câu!", "Ba câu?"]


def test_long_sentence_split_at_clauses() -> None:
    text = "Tuyên truyền về biên giới, " * 6 + "và biển đảo."
    pieces = split_sentences(text, 60)
    assert all(len(p) <= 60 for p in pieces)
    assert " ".join(pieces) == " ".join(text.split())


@pytest.mark.parametrize("limit", [20, 50, 100, 200])
def test_seed_chunks_respect_limit_and_keep_words(limit: int) -> None:
    text = normalize(SEED.read_text(encoding="utf-8"))
    pieces = split_sentences(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_word_longer_than_limit_is_kept_whole() -> None:
    assert split_sentences("a Phansipăngggggg b", 5) == ["a", "Phansipăngggggg", "b"]


def test_chunk_text_packs_sentences() -> None:
    chunks = chunk_text("Một. Hai. Ba. Bốn.", 10)
    assert chunks == ["Một. Hai.", "Ba. Bốn."]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_sentences("x", 0)
