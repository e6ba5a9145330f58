"""Properties of the normaliser over arbitrary text: it always ends, and reads every digit."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tts import normalize

# Pieces that the rules look for, so that generated text often almost matches them.
_PIECES = st.sampled_from(
    [
        "-",
        "--",
        "/",
        ".",
        ",",
        ":",
        " ",
        "\n",
        "(",
        ")",
        "+84",
        "0",
        "1",
        "9",
        "12",
        "2024",
        "h",
        "g",
        "kg",
        "m",
        "°C",
        "%",
        "đ",
        "$",
        "€",
        "tháng ",
        "ngày ",
        "từ ",
        "quý ",
        "thế kỷ ",
        "II",
        "XIV",
        "M",
        "tp.",
        "x.",
        "QL",
        "ĐT.",
        "UBND",
        "@",
        "www.",
        ".vn",
        "gov",
        "Hotline ",
        "tỷ lệ ",
        "giờ ",
        "\x00",
        "\x07",
        "\ufeff",
        "\u200b",
        "\u202e",
        "\r",
        "\t",
        "\x85",
        "\u2028",
        "\xad",
        "２",
        "١",
        "²",
    ]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=60).map("".join)
_RUNS = st.tuples(
    st.sampled_from(["0", "1", "9", "-", "0-", "1.", "1 ", "12:", "1/", "a.", "-1"]),
    st.integers(min_value=50, max_value=3000),
).map(lambda piece_count: piece_count[0] * piece_count[1])


def _check(text: str) -> None:
    spoken = normalize(text)
    assert not any(char in "0123456789" for char in spoken)
    assert not [
        char for char in spoken if char != "\n" and unicodedata.category(char) in ("Cc", "Cf")
    ]


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_any_text_normalises_without_digits_or_control_characters(text: str) -> None:
    _check(text)


@settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(_RUNS, _TEXT)
def test_long_digit_and_dash_runs_end_quickly(run: str, text: str) -> None:
    _check(text + run + text)
