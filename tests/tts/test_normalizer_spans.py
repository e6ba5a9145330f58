"""The rewritten spans of a reading, as the bulletin page highlights them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tts.normalizer import Piece, normalize, rewritten_pieces


def test_each_rewritten_span_carries_what_was_written() -> None:
    written = "Từ ngày 1/12, UBND xã đề nghị bà con không đốt nương. Gọi 114 khi thấy cháy."
    spoken = normalize(written)
    pieces = rewritten_pieces(written, spoken)
    assert "".join(p.text for p in pieces) == spoken
    changed = {p.written: p.text for p in pieces if p.written is not None}
    assert changed == {
        "1/12": "một tháng mười hai",
        "UBND": "Ủy ban nhân dân",
        "114": "một một bốn",
    }
    assert Piece(" xã đề nghị bà con không đốt nương. Gọi ") in pieces


def test_a_text_read_as_written_has_nothing_highlighted() -> None:
    text = "Bà con chú ý phòng chống cháy rừng."
    assert rewritten_pieces(text, normalize(text)) == [Piece(text)]


words = st.text(alphabet="ab1/ ,.đĐ", max_size=40)


@given(written=words, spoken=words)
def test_the_pieces_always_give_the_spoken_text_back(written: str, spoken: str) -> None:
    pieces = rewritten_pieces(written, spoken)
    assert "".join(p.text for p in pieces) == spoken
    for piece in pieces:
        assert piece.written is None or piece.written in written
