"""Vietnamese number reading: the mechanism behind every numeric rule."""

from __future__ import annotations

import re
from typing import Literal

ZeroTens = Literal["linh", "lẻ"]

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
# Large units by groups of three digits; "tỷ" repeats for larger groups (nghìn tỷ, triệu tỷ).
_UNITS = ("", "nghìn", "triệu")

_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_ROMAN_RE = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")


def _read_tens_units(n: int, *, zero_tens: ZeroTens, full: bool) -> list[str]:
    """Read 0..99; `full` means a hundreds digit precedes, so 5 is 'linh năm'."""
    tens, units = divmod(n, 10)
    if tens == 0:
        if units == 0:
            return []
        return [zero_tens, DIGITS[units]] if full else [DIGITS[units]]
    words = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 0:
        return words
    if units == 1:
        words.append("một" if tens == 1 else "mốt")
    elif units == 4:
        words.append("bốn" if tens == 1 else "tư")
    elif units == 5:
        words.append("lăm")
    else:
        words.append(DIGITS[units])
    return words


def _read_triple(n: int, *, zero_tens: ZeroTens, full: bool) -> list[str]:
    """Read 0..999; `full` forces 'không trăm' when the group is inside a larger number."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    words += _read_tens_units(rest, zero_tens=zero_tens, full=bool(words))
    return words


def read_number(n: int, *, zero_tens: ZeroTens = "linh") -> str:
    """Read a non-negative or negative integer the way a Vietnamese announcer says it."""
    if n < 0:
        return "âm " + read_number(-n, zero_tens=zero_tens)
    if n == 0:
        return DIGITS[0]
    billions, below = divmod(n, 1_000_000_000)
    words: list[str] = []
    if billions:
        words += [read_number(billions, zero_tens=zero_tens), "tỷ"]
    groups = [(below // 10**6) % 1000, (below // 10**3) % 1000, below % 1000]
    for index, value in enumerate(groups):
        if value == 0:
            continue
        # A group is read in full ("không trăm linh năm") once something precedes it.
        full = bool(words)
        words += _read_triple(value, zero_tens=zero_tens, full=full)
        unit = _UNITS[2 - index]
        if unit:
            words.append(unit)
    return " ".join(words)


def read_digits(digits: str) -> str:
    """Read a string of digits one by one (phone numbers, leading zeros)."""
    return " ".join(DIGITS[int(d)] for d in digits if d.isdecimal())


# Longer digit runs are codes (account, serial numbers), read digit by digit; this also
# keeps int() away from its limit on the length of the strings it converts.
MAX_NUMBER_DIGITS = 15


def read_integer_string(digits: str, *, zero_tens: ZeroTens = "linh") -> str:
    """Read '01' as 'không một' (document numbers) and '2023' as a number."""
    if len(digits) > MAX_NUMBER_DIGITS:
        return read_digits(digits)
    if len(digits) > 1 and digits.startswith("0"):
        stripped = digits.lstrip("0")
        zeros = len(digits) - len(stripped)
        head = " ".join([DIGITS[0]] * zeros)
        if not stripped:
            return head
        # Announcers read "01" as "không một" and "0105" as "không một trăm linh năm".
        return f"{head} {read_number(int(stripped), zero_tens=zero_tens)}"
    return read_number(int(digits), zero_tens=zero_tens)


def read_fraction_digits(digits: str, *, zero_tens: ZeroTens = "linh") -> str:
    """Read the part after the decimal comma: '5' -> 'năm', '05' -> 'không năm'."""
    if len(digits) > 3:
        return read_digits(digits)
    return read_integer_string(digits, zero_tens=zero_tens)


def read_decimal(integer: str, fraction: str, *, zero_tens: ZeroTens = "linh") -> str:
    """Read '2,5' as 'hai phẩy năm'."""
    whole = integer.lstrip("0") or "0"
    return (
        f"{read_integer_string(whole, zero_tens=zero_tens)} phẩy "
        f"{read_fraction_digits(fraction, zero_tens=zero_tens)}"
    )


def roman_to_int(token: str) -> int | None:
    """Value of an upper-case Roman numeral, or None when the token is not one."""
    if not token or not _ROMAN_RE.match(token):
        return None
    total = 0
    for char, following in zip(token, token[1:] + " ", strict=True):
        value = _ROMAN[char]
        total += -value if following != " " and _ROMAN[following] > value else value
    return total or None


ORDINALS = {1: "nhất", 4: "tư"}


def read_ordinal(n: int, *, zero_tens: ZeroTens = "linh") -> str:
    """Read the number after 'thứ': 1 -> 'nhất', 4 -> 'tư', others as cardinals."""
    return ORDINALS.get(n) or read_number(n, zero_tens=zero_tens)
