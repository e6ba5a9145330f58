"""Small named rules of the Vietnamese normaliser, applied in the order of DEFAULT_RULES.

Each rule takes the text and the lookup tables and returns new text. Rules that
turn digits into words run from the most specific pattern (document numbers,
dates) to the most general (plain integers), so that "34/2014/NĐ-CP" is never
read as a fraction and "15/02/2023" never as two divisions.
"""

from __future__ import annotations

import re

from tts.normalizer.core import Rule, Tables
from tts.normalizer.numbers import (
    read_decimal,
    read_digits,
    read_fraction_digits,
    read_integer_string,
    read_number,
    read_ordinal,
    roman_to_int,
)

# --- shared helpers -----------------------------------------------------------------

_VOWELS = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵ"
_SYLLABLE_RE = re.compile(
    rf"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdđghklmnprstvx])?[{_VOWELS}]{{1,3}}"
    r"(?:ng|nh|ch|[cmnpt])?$"
)


def is_vietnamese_syllable(word: str) -> bool:
    """True when the word could be one Vietnamese syllable (so it is read, not spelled)."""
    return bool(_SYLLABLE_RE.match(word.lower()))


def spell(word: str, tables: Tables) -> str:
    """Spell an unknown abbreviation letter by letter, the way announcers do (VT: vê tê)."""
    out: list[str] = []
    for char in word:
        if char.isdigit():
            out.append(read_digits(char))
        elif char.isalpha():
            out.append(tables.letters.get(char.upper(), char.lower()))
    return " ".join(out)


def _preceding(text: str, start: int, width: int = 30) -> str:
    return text[max(0, start - width) : start].lower()


def _month(n: int) -> str:
    return "tư" if n == 4 else read_number(n)


NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"

# --- characters and markup ------------------------------------------------------------

_CHAR_MAP = str.maketrans(
    {
        "\u00a0": " ",
        "\u2009": " ",
        "\u200b": "",
        "\t": " ",
        "\r": "",
        "–": "-",
        "—": "-",
        "−": "-",
        "‐": "-",
        "…": "...",
        "“": "",
        "”": "",
        "„": "",
        "«": "",
        "»": "",
        '"': "",
        "‘": "'",
        "’": "'",
        "•": "-",
        "·": "-",
        "▪": "-",
        "●": "-",
        "◦": "-",
    }
)


def clean_characters(text: str, tables: Tables) -> str:
    """Unify dashes, spaces and ellipses; drop quotation marks (never read aloud)."""
    return text.translate(_CHAR_MAP)


_HEADING_MARK_RE = re.compile(r"^\s*(?:#{1,6}|>)\s*", re.MULTILINE)
_BULLET_RE = re.compile(r"^\s*[-*+]\s+", re.MULTILINE)
_EMPHASIS_RE = re.compile(r"\*+|(?<!\w)_+|_+(?!\w)")
_END_MARK_RE = re.compile(r"\s*\./\.\s*$", re.MULTILINE)


def strip_markup(text: str, tables: Tables) -> str:
    """Remove Markdown headings, bullets, emphasis and the './.' end-of-document mark."""
    text = _HEADING_MARK_RE.sub("", text)
    text = _EMPHASIS_RE.sub("", text)
    text = _BULLET_RE.sub("", text)
    text = _END_MARK_RE.sub(".", text)
    return text


# --- legal document numbers --------------------------------------------------------------

_CODE = r"[A-ZĐ][A-Za-zĐđ0-9&]*"
_LEGAL_RE = re.compile(
    rf"(?P<so>(?<![\w])[Ss]ố\s*:?\s*)?(?<![\w/])(?P<num>\d{{1,5}}[a-z]?)?"
    rf"(?:/(?P<year>(?:19|20)\d{{2}}))?(?P<sep>[/-])(?P<codes>{_CODE}(?:[-/]{_CODE})*)(?![\w])"
)
_JOINT_TYPES = ("TTLT", "NQLT")


def legal_document_numbers(text: str, tables: Tables) -> str:
    """Read '34/2014/NĐ-CP' as 'số ba mươi tư năm ... của Chính phủ' (type said once)."""

    def replace(m: re.Match[str]) -> str:
        codes = re.split(r"[-/]", m.group("codes"))
        known = any(c in tables.legal_types or tables.issuer_of(c) for c in codes)
        num, year, so = m.group("num"), m.group("year"), m.group("so")
        if not known or (num is None and so is None and m.group("sep") == "-"):
            return m.group(0)
        kind = tables.legal_types.get(codes[0])
        issuers = codes[1:] if kind else codes
        before = _preceding(text, m.start())
        parts: list[str] = []
        said_kind = kind is not None and kind not in before
        if said_kind and kind:
            parts.append(kind)
        if num:
            if so or said_kind:
                parts.append("số")
            parts.append(read_integer_string(num.rstrip("abcdefgh"), zero_tens=tables.zero_tens))
        if year:
            parts += ["năm", read_number(int(year), zero_tens=tables.zero_tens)]
        after = re.split(r"[;.\n]", text[m.end() : m.end() + 80], maxsplit=1)[0]
        if issuers and " của " not in f" {after} ":
            chosen = issuers if kind and codes[0] in _JOINT_TYPES else issuers[:1]
            names = [tables.issuer_of(c) or spell(c, tables) for c in chosen]
            parts.append("của " + " và ".join(names))
        return (" " if so else "") + " ".join(parts)

    return _LEGAL_RE.sub(replace, text)


# --- abbreviations ---------------------------------------------------------------------------


def expand_abbreviations(text: str, tables: Tables) -> str:
    """Replace abbreviations and area entries (place names, pronunciations) by their reading."""
    pattern = tables.abbreviation_re
    if pattern is None:
        return text

    def replace(m: re.Match[str]) -> str:
        key = m.group(0)
        reading = tables.reading_of(key) or key
        return f"{reading} " if key.endswith(".") else reading

    return pattern.sub(replace, text)


# --- dates and times ---------------------------------------------------------------------------

_DATE_RE = re.compile(r"(?<![\d/.\-])(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})(?!\d|[/.\-]\d)")
_DAY_MONTH_RE = re.compile(r"(?<![\d/.\-])(\d{1,2})/(\d{1,2})(?!\d|[/.\-]\d)")
_MONTH_YEAR_RE = re.compile(r"(?<![\d/.\-])(\d{1,4})([/\-])((?:19|20)\d{2})(?!\d|[/.\-]\d)")
_MONTH_WORD_RE = re.compile(
    r"(?<![\w])([Tt]háng|[Nn]gày|[Mm]ùng|[Mm]ồng)\s+0?(\d{1,2})(?![\d/.\-\w])"
)
_DAY_CONTEXT_RE = re.compile(r"(?:ngày|mùng|mồng|hôm|sáng|trưa|chiều|tối|đêm|từ|đến)\s*$")
_LEGAL_CONTEXT_RE = re.compile(
    r"(?:nghị định|nghị quyết|quyết định|thông tư|chỉ thị|luật|pháp lệnh|công văn|kế hoạch|số)\s*$"
)


def dates(text: str, tables: Tables) -> str:
    """Read 15/02/2023, ngày 9/01/2015, 3/2023 and 'tháng 4' the way they are spoken."""
    zt = tables.zero_tens

    def full_date(m: re.Match[str]) -> str:
        day, month, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return m.group(0)
        prefix = "" if _preceding(text, m.start()).rstrip().endswith("ngày") else "ngày "
        return (
            f"{prefix}{read_number(day, zero_tens=zt)} tháng {_month(month)} "
            f"năm {read_number(year, zero_tens=zt)}"
        )

    text = _DATE_RE.sub(full_date, text)

    def month_year(m: re.Match[str]) -> str:
        first, year = int(m.group(1)), int(m.group(3))
        if m.group(2) == "-" and len(m.group(1)) > 2:
            return m.group(0)  # a range of years, read by the ranges rule
        before = _preceding(text, m.start())
        year_words = f"năm {read_number(year, zero_tens=zt)}"
        if before.rstrip().endswith("tháng") and 1 <= first <= 12:
            return f"{_month(first)} {year_words}"
        if _LEGAL_CONTEXT_RE.search(before) or not 1 <= first <= 12:
            return f"{read_integer_string(m.group(1), zero_tens=zt)} {year_words}"
        return f"tháng {_month(first)} {year_words}"

    text = _MONTH_YEAR_RE.sub(month_year, text)

    def day_month(m: re.Match[str]) -> str:
        day, month = int(m.group(1)), int(m.group(2))
        before = _preceding(text, m.start())
        if not (1 <= day <= 31 and 1 <= month <= 12) or not _DAY_CONTEXT_RE.search(before):
            return m.group(0)
        return f"{read_number(day, zero_tens=zt)} tháng {_month(month)}"

    text = _DAY_MONTH_RE.sub(day_month, text)

    def month_word(m: re.Match[str]) -> str:
        word, n = m.group(1), int(m.group(2))
        if word.lower() == "tháng":
            return f"{word} {_month(n)}" if 1 <= n <= 12 else m.group(0)
        return f"{word} {read_number(n, zero_tens=zt)}"

    return _MONTH_WORD_RE.sub(month_word, text)


_TIME_COLON_RE = re.compile(r"(?<![\d:])([01]?\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?(?![\d:])")
_TIME_H_RE = re.compile(r"(?<![\w])([01]?\d|2[0-4])\s?h\s?([0-5]\d)?(?:'|ph|p)?(?![\w])")


def times(text: str, tables: Tables) -> str:
    """Read 5h30 as 'năm giờ ba mươi phút' and 17:00 as 'mười bảy giờ'."""
    zt = tables.zero_tens

    def spoken(hour: str, minute: str | None, second: str | None = None) -> str:
        words = f"{read_number(int(hour), zero_tens=zt)} giờ"
        if minute and int(minute):
            words += f" {read_number(int(minute), zero_tens=zt)} phút"
        if second and int(second):
            words += f" {read_number(int(second), zero_tens=zt)} giây"
        return words

    text = _TIME_COLON_RE.sub(lambda m: spoken(m.group(1), m.group(2), m.group(3)), text)
    return _TIME_H_RE.sub(lambda m: spoken(m.group(1), m.group(2)), text)


# --- quantities ---------------------------------------------------------------------------------

_RANGE_RE = re.compile(rf"(?<![\w.,])({NUM})\s*-\s*({NUM})(?!\d|[.,]\d)")


def ranges(text: str, tables: Tables) -> str:
    """Read '2023-2025' and '5 - 7' as 'A đến B'."""
    return _RANGE_RE.sub(r"\1 đến \2", text)


def _unit_pattern(tables: Tables) -> re.Pattern[str]:
    cached = _UNIT_PATTERNS.get(id(tables.units))
    if cached is not None:
        return cached
    keys = sorted(tables.units, key=lambda k: (-len(k), k))
    # One-letter units (m, g, t, l) only when glued to the number: "5m", never "5 m".
    long_units = "|".join(re.escape(k) for k in keys if len(k) > 1 or not k.isalpha())
    short_units = "|".join(re.escape(k) for k in keys if len(k) == 1 and k.isalpha())
    pattern = re.compile(
        rf"(?<![\w.,])({NUM})(?:\s?({long_units})|({short_units}))(?![\w])"
        if short_units
        else rf"(?<![\w.,])({NUM})\s?({long_units})(?![\w])"
    )
    _UNIT_PATTERNS[id(tables.units)] = pattern
    return pattern


_UNIT_PATTERNS: dict[int, re.Pattern[str]] = {}


def units(text: str, tables: Tables) -> str:
    """Read units after a number: '15 km' -> '15 ki lô mét', '2,5%' -> '2,5 phần trăm'."""
    pattern = _unit_pattern(tables)

    def replace(m: re.Match[str]) -> str:
        unit = m.group(2) or m.group(3)
        return f"{m.group(1)} {tables.units[unit]}"

    return pattern.sub(replace, text)


_ORDINAL_RE = re.compile(r"(?<![\w])([Tt]hứ)\s+(\d{1,3})(?![\d\w])")


def ordinals(text: str, tables: Tables) -> str:
    """Read 'thứ 1' as 'thứ nhất' and 'thứ 4' as 'thứ tư'."""
    return _ORDINAL_RE.sub(
        lambda m: f"{m.group(1)} {read_ordinal(int(m.group(2)), zero_tens=tables.zero_tens)}",
        text,
    )


_ROMAN_HEADING_RE = re.compile(r"^(\s*)([IVXLC]{1,7})(?:[.)]|\s*[-:])\s*", re.MULTILINE)
_ROMAN_AFTER_RE = re.compile(
    r"(?i:(?<![\w])(khóa|khoá|lần thứ|thế kỷ|đại hội|phần|chương|mục|quý|kỳ|giai đoạn|"
    r"quân khu|hội nghị|điều|thứ))\s+([IVXLC]{1,7})(?![\w])"
)


def roman_numerals(text: str, tables: Tables) -> str:
    """Read Roman-numeral headings ('II. NỘI DUNG') and 'khóa XIV', 'quý I' as numbers."""

    def heading(m: re.Match[str]) -> str:
        value = roman_to_int(m.group(2))
        if value is None:
            return m.group(0)
        return f"{m.group(1)}{read_number(value, zero_tens=tables.zero_tens)}. "

    def after(m: re.Match[str]) -> str:
        value = roman_to_int(m.group(2))
        if value is None:
            return m.group(0)
        reader = read_ordinal if m.group(1).lower().endswith("thứ") else read_number
        return f"{m.group(1)} {reader(value, zero_tens=tables.zero_tens)}"

    return _ROMAN_AFTER_RE.sub(after, _ROMAN_HEADING_RE.sub(heading, text))


# --- plain numbers ------------------------------------------------------------------------------

_PHONE_RE = re.compile(r"(?<![\w.,])(?:\+84|0)\d{8,10}(?![\w])")
# Service numbers are dialled, so they are read digit by digit ("gọi 114": "một một bốn"),
# but only after a word that says so: "114 hộ dân" stays a count.
_HOTLINE_RE = re.compile(
    r"\b(gọi|số máy|đường dây nóng|tổng đài|hotline|số điện thoại)(\s+)(\d{3,5})(?![\w.,/:-])",
    re.IGNORECASE,
)
_THOUSANDS_RE = re.compile(r"(?<![\w.,])(\d{1,3}(?:\.\d{3})+)(?:,(\d+))?(?!\d|[.,]\d)")
_DECIMAL_RE = re.compile(r"(?<![\w.,])(\d+),(\d+)(?!\d|[.,]\d)")
_DOTTED_RE = re.compile(r"(?<![\w.,])(\d+(?:\.\d+)+)(?!\d|[.,]\d)")
_FRACTION_RE = re.compile(r"(?<![\w/])(\d+)/(\d+)(?![\w/])")
_INTEGER_RE = re.compile(r"\d+")


def numbers(text: str, tables: Tables) -> str:
    """Read 1.650 (thousands dot), 2,5 (decimal comma), 4.0, 1/2 and plain integers."""
    zt = tables.zero_tens
    text = _PHONE_RE.sub(lambda m: read_digits(m.group(0).replace("+84", "0")), text)
    text = _HOTLINE_RE.sub(lambda m: m.group(1) + m.group(2) + read_digits(m.group(3)), text)

    def thousands(m: re.Match[str]) -> str:
        words = read_number(int(m.group(1).replace(".", "")), zero_tens=zt)
        if m.group(2):
            words += " phẩy " + read_fraction_digits(m.group(2), zero_tens=zt)
        return words

    text = _THOUSANDS_RE.sub(thousands, text)
    text = _DECIMAL_RE.sub(lambda m: read_decimal(m.group(1), m.group(2), zero_tens=zt), text)
    text = _DOTTED_RE.sub(
        lambda m: " chấm ".join(
            read_integer_string(part, zero_tens=zt) for part in m.group(1).split(".")
        ),
        text,
    )

    def fraction(m: re.Match[str]) -> str:
        top, bottom = int(m.group(1)), int(m.group(2))
        joiner = "phần" if 0 < top < bottom <= 10 else "trên"
        return f"{read_number(top, zero_tens=zt)} {joiner} {read_number(bottom, zero_tens=zt)}"

    text = _FRACTION_RE.sub(fraction, text)
    return _INTEGER_RE.sub(
        lambda m: f" {read_integer_string(m.group(0), zero_tens=zt)} ",
        text,
    )


# --- letters, symbols and punctuation -------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def capitals(text: str, tables: Tables) -> str:
    """Lower-case headings in capitals; spell capitals that are no Vietnamese word (VT)."""

    def replace(m: re.Match[str]) -> str:
        word = m.group(0)
        if not word.isupper():
            return word
        if is_vietnamese_syllable(word):
            return word.lower() if len(word) > 1 else word
        if word in tables.lexicon or word in tables.abbreviations:
            return tables.reading_of(word) or word
        return spell(word, tables)

    return _WORD_RE.sub(replace, text)


_PUNCT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\.{2,}"), "."),
    (re.compile(r"\s*/\s*"), ", "),
    (re.compile(r"\s+-\s*|\s*-\s+"), ", "),
    (re.compile(r"-"), " "),
    (re.compile(r"\s*[(\[{]\s*"), ", "),
    (re.compile(r"\s*[)\]}]\s*"), ", "),
    (re.compile(r"[*#_|~^<>\\`]"), " "),
    (re.compile(r"[ ]{2,}"), " "),
    (re.compile(r" +([,.;:!?])"), r"\1"),
    (re.compile(r"([,;:])(?:\s*[,;:])+"), r"\1"),
    (re.compile(r"[,;:]\s*([.!?])"), r"\1"),
    (re.compile(r"([.!?])(?:\s*[,;:.])+"), r"\1"),
    (re.compile(r"([,.;:!?])(?=[^\s\d,.;:!?])"), r"\1 "),
    (re.compile(r"^[ ,.;:!?]+|[ ]+$", re.MULTILINE), ""),
)


def symbols_and_punctuation(text: str, tables: Tables) -> str:
    """Say '&' as 'và'; turn slashes, dashes and brackets into pauses; tidy spaces."""
    for symbol, reading in tables.symbols.items():
        text = text.replace(symbol, f" {reading} ")
    for pattern, replacement in _PUNCT_RULES:
        text = pattern.sub(replacement, text)
    return text


def sentence_ends(text: str, tables: Tables) -> str:
    """One line per paragraph, each ending with punctuation and starting with a capital."""
    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line[-1] in ",":
            line = line[:-1]
        if line and line[-1] not in ".!?;:":
            line += "."
        lines.append(_SENTENCE_START_RE.sub(lambda m: m.group(0).upper(), line))
    return "\n".join(lines)


_SENTENCE_START_RE = re.compile(r"^\w|(?<=[.!?] )\w")


DEFAULT_RULES: tuple[Rule, ...] = (
    clean_characters,
    strip_markup,
    legal_document_numbers,
    expand_abbreviations,
    dates,
    times,
    ranges,
    units,
    ordinals,
    roman_numerals,
    numbers,
    capitals,
    symbols_and_punctuation,
    sentence_ends,
)
