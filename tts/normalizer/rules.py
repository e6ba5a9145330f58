"""Small named rules of the Vietnamese normaliser, applied in the order of DEFAULT_RULES.

Each rule takes the text and the lookup tables and returns new text. Rules that
turn digits into words run from the most specific pattern (document numbers,
dates) to the most general (plain integers), so that "34/2014/NĐ-CP" is never
read as a fraction and "15/02/2023" never as two divisions.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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

# Characters that are neither word characters, ASCII nor plain space or newline: the only
# ones that can be control or format characters, looked at one by one.
_UNUSUAL_RE = re.compile(r"[^\w \n!-~]")
_LINE_BREAKS = frozenset("\r\u2028\u2029")


def _control(m: re.Match[str]) -> str:
    char = m.group(0)
    if char in _LINE_BREAKS:
        return "\n"
    if char.isspace():
        return " "  # tabs, vertical tabs, form feeds and Unicode spaces separate words
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co"):
        return ""  # NUL, BEL, BOM, zero-width and direction marks, lone surrogates
    return char


def control_characters(text: str, tables: Tables) -> str:
    """Drop control and format characters (NUL, BEL, BOM, zero-width space); keep newlines."""
    return _UNUSUAL_RE.sub(_control, text.replace("\r\n", "\n"))


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


# --- web and e-mail addresses -------------------------------------------------------------

_TLDS = "vn|com|net|org|gov|edu|info|int|biz|asia|io"
_LABEL = r"[A-Za-z0-9][A-Za-z0-9-]*"
_HOST = rf"(?:{_LABEL}\.)+(?i:{_TLDS})(?![\w-])"
_URL_RE = re.compile(
    rf"(?<![\w@./-])(?:(?i:https?)://)?(?P<host>{_HOST})(?P<path>/[\w/%=&?+-]*[\w/])?"
)
_TLD_RE = re.compile(rf"\.(?i:{_TLDS})(?![\w-])")
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])(?P<user>[A-Za-z0-9][A-Za-z0-9._+-]*)@(?P<host>(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})"
    r"(?![\w-])"
)
_WEB_SEPARATORS = {".": "chấm", "-": "gạch ngang", "_": "gạch dưới", "/": "gạch chéo", "+": "cộng"}
_WEB_PIECE_RE = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]")


def _syllables(word: str) -> list[str] | None:
    """Split an unaccented word into Vietnamese syllables (laocai: lao cai), if it can be.

    Among the splits with the fewest syllables, prefer the one whose syllables end in the
    fewest consonants, as a reader does: 'laocai' is 'lao cai', never 'laoc ai'.
    """
    best: list[tuple[int, int, list[str]] | None] = [None] * (len(word) + 1)
    best[0] = (0, 0, [])
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 7), end):
            previous = best[start]
            piece = word[start:end]
            if previous is None or not is_vietnamese_syllable(piece):
                continue
            coda = len(piece) - len(piece.rstrip("bcdfghklmnpqrstvx"))
            score = (previous[0] + 1, previous[1] + coda, [*previous[2], piece])
            current = best[end]
            if current is None or score[:2] < current[:2]:
                best[end] = score
    found = best[-1]
    return found[2] if found else None


def _read_web_word(word: str, tables: Tables) -> str:
    known = tables.web_words.get(word.lower())
    if known:
        return known
    if word.isdigit():
        return read_digits(word)
    parts = _syllables(word.lower())
    return " ".join(parts) if parts else spell(word, tables)


def _read_address(address: str, tables: Tables) -> str:
    words: list[str] = []
    for piece in _WEB_PIECE_RE.findall(address):
        if piece.isalnum():
            words.append(_read_web_word(piece, tables))
        elif piece in _WEB_SEPARATORS:
            words.append(_WEB_SEPARATORS[piece])
    return " ".join(words)


def web_addresses(text: str, tables: Tables) -> str:
    """Read 'www.vov.vn' and 'abc@laocai.gov.vn' as an announcer does ('chấm', 'a còng')."""

    def email(m: re.Match[str]) -> str:
        user, host = m.group("user"), m.group("host")
        return f"{_read_address(user, tables)} a còng {_read_address(host, tables)}"

    def url(m: re.Match[str]) -> str:
        return _read_address(m.group("host") + (m.group("path") or "").rstrip("/"), tables)

    if "@" in text:
        text = _EMAIL_RE.sub(email, text)
    return _URL_RE.sub(url, text) if _TLD_RE.search(text) else text


# --- road codes ------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _road_pattern(codes: tuple[str, ...]) -> re.Pattern[str] | None:
    if not codes:
        return None
    alternation = "|".join(re.escape(c) for c in sorted(codes, key=lambda c: (-len(c), c)))
    return re.compile(
        rf"(?<![\w.])(?P<code>{alternation})(?:\.\s?|(?P<space>\s)?)"
        r"(?P<num>[1-9]\d{0,2})(?P<letters>[A-Z]{0,2})(?![\w/-]|[.,]\d)"
    )


def road_codes(text: str, tables: Tables) -> str:
    """Read 'QL4D' as 'quốc lộ bốn D' and 'ĐT.152' as 'đường tỉnh một trăm năm mươi hai'."""
    pattern = _road_pattern(tuple(tables.roads))
    if pattern is None:
        return text

    def replace(m: re.Match[str]) -> str:
        code = m.group("code")
        if m.group("space") and code != "QL":
            return m.group(0)  # "ĐT 152" is a telephone number after "điện thoại"
        words = [tables.roads[code], read_number(int(m.group("num")), zero_tens=tables.zero_tens)]
        if m.group("letters"):
            words.append(m.group("letters"))
        return " ".join(words)

    return pattern.sub(replace, text)


# --- telephone numbers -----------------------------------------------------------------------

_PHONE_RE = re.compile(
    r"(?<![\w.,/:+-])(?:\+84|\(\+84\)|\(0\d{1,3}\)|(?=[01]))\s?\d{1,11}(?:[ .-]\d{1,7}){0,5}"
    r"(?![\w]|[.,]\d)"
)
_PHONE_WORDS = (
    r"hotline|đường dây nóng|tổng đài|số điện thoại|điện thoại|sđt|đt|fax|số máy|số máy lẻ|gọi"
)
_KEYWORD_PHONE_RE = re.compile(
    rf"(?<![\w])(?P<word>{_PHONE_WORDS})(?P<gap>\s*:?\s*)"
    r"(?P<num>(?:\+84|\(\+84\)|\(\d{2,4}\))?\s?\d{1,11}(?:[ .-]\d{1,7}){0,5})"
    r"(?![\w]|[.,]\d)",
    re.IGNORECASE,
)
# How an unbroken run of digits is grouped when read (0912345678: 0912, 345, 678).
_PHONE_CHUNKS = {5: (5,), 6: (3, 3), 7: (4, 3), 8: (4, 4), 9: (3, 3, 3), 10: (4, 3, 3)}


def _chunk(digits: str) -> list[str]:
    if len(digits) <= 4:
        return [digits]
    if len(digits) == 11:
        # Hà Nội (024) and Hồ Chí Minh City (028) have three-digit area codes.
        sizes: tuple[int, ...] = (3, 4, 4) if digits[:3] in ("024", "028") else (4, 4, 3)
    else:
        sizes = _PHONE_CHUNKS.get(len(digits), ())
    if not sizes:
        return [digits[i : i + 3] for i in range(0, len(digits), 3)]
    out, start = [], 0
    for size in sizes:
        out.append(digits[start : start + size])
        start += size
    return out


_COUNTRY_CODE_RE = re.compile(r"^\(?\+84\)?\s?")


def _phone_groups(written: str) -> list[str]:
    """The digit groups of a written number, '+84' becoming the leading 0."""
    national = _COUNTRY_CODE_RE.sub("", written)
    groups = re.findall(r"\d+", national)
    if national != written and groups:
        groups[0] = "0" + groups[0]
    return groups


def _is_phone(groups: list[str], written: str) -> bool:
    digits = "".join(groups)
    if digits.startswith("0"):
        return len(digits) in (10, 11)
    # Hotlines 1800/1900 xxxx; "1800-2000" is a range, so no dash there.
    return digits[:4] in ("1800", "1900") and len(digits) in (8, 10) and "-" not in written


def _read_phone(groups: list[str]) -> str:
    chunks = [chunk for group in groups for chunk in _chunk(group)]
    return ", ".join(read_digits(chunk) for chunk in chunks)


def _phone(m: re.Match[str]) -> str:
    written = m.group(0)
    # Separated groups may run on into another number: keep the longest prefix that dials.
    pieces = re.split(r"(?<=\d)(?=[ .-]\d)", written)
    for count in range(len(pieces), 0, -1):
        head = "".join(pieces[:count])
        groups = _phone_groups(head)
        if groups and _is_phone(groups, head):
            rest = "".join(pieces[count:])
            return _read_phone(groups) + _PHONE_RE.sub(_phone, rest)
    return written


def telephone_numbers(text: str, tables: Tables) -> str:
    """Read telephone numbers digit by digit, pausing between groups, in every grouping."""

    def after_word(m: re.Match[str]) -> str:
        groups = _phone_groups(m.group("num"))
        digits = "".join(groups)
        # "gọi 114" dials; "gọi 3 lần" counts; after other words any number is dialled.
        short = m.group("word").lower() == "gọi" and not (
            3 <= len(digits) <= 5 or _is_phone(groups, m.group("num"))
        )
        if short or len(digits) < 3:
            return m.group(0)
        return f"{m.group('word')}{m.group('gap')}{_read_phone(groups)}"

    text = _KEYWORD_PHONE_RE.sub(after_word, text)
    return _PHONE_RE.sub(_phone, text)


# --- place prefixes --------------------------------------------------------------------------


# Letters that head list items ("h. Tuyên truyền ..."), so not place prefixes at a line start.
_LIST_LETTERS = frozenset("abcdđeghik")


@lru_cache(maxsize=16)
def _prefix_pattern(prefixes: tuple[str, ...]) -> re.Pattern[str] | None:
    if not prefixes:
        return None
    alternation = "|".join(re.escape(p) for p in sorted(prefixes, key=lambda p: (-len(p), p)))
    return re.compile(rf"(?<![\w.])(?P<prefix>{alternation})\.\s?(?=\w)")


def place_prefixes(text: str, tables: Tables) -> str:
    """Read 'tp. Lào Cai', 'x. Bản Lầu', 'Q.1' with the kind of place in full."""
    pattern = _prefix_pattern(tuple(tables.place_prefixes))
    if pattern is None:
        return text

    def replace(m: re.Match[str]) -> str:
        prefix, following = m.group("prefix"), text[m.end()]
        if not (following.isupper() or following.isdigit()):
            return m.group(0)
        if len(prefix) == 1 and not following.isdigit():
            at_line_start = m.start() == 0 or text[m.start() - 1] == "\n"
            if prefix.isupper() or (at_line_start and prefix in _LIST_LETTERS):
                return m.group(0)  # someone's initial ("Nguyễn H. Nam") or a list item
        return tables.place_prefixes[prefix] + " "

    return pattern.sub(replace, text)


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
    r"(?:\s+((?:19|20)\d{2})(?![\w]|[.,/\-]\d))?"
)
_DAY_CONTEXT_RE = re.compile(r"(?:ngày|mùng|mồng|hôm|sáng|trưa|chiều|tối|đêm|từ|đến)\s*$")
_LEGAL_CONTEXT_RE = re.compile(
    r"(?:nghị định|nghị quyết|quyết định|thông tư|chỉ thị|luật|pháp lệnh|công văn|kế hoạch|số)\s*$"
)


_MONTH_RANGE_RE = re.compile(
    r"(?<![\d/.\-])(\d{1,2})\s*-\s*(\d{1,2})/((?:19|20)\d{2})(?!\d|[/.\-]\d)"
)
_DAY_RANGE_RE = re.compile(
    r"(?<![\d/.\-])(\d{1,2})\s*-\s*(\d{1,2})/(\d{1,2})(?:/((?:19|20)\d{2}))?(?!\d|[/.\-]\d)"
)
_DASH_DATE_RE = re.compile(r"(?<![\w/.,\-])(\d{1,2})-(\d{1,2})(?![\w]|[/.,\-:]\d)")
_DASH_DATE_CONTEXT_RE = re.compile(r"(?:ngày|mùng|mồng|hôm|sáng|trưa|chiều|tối|đêm)\s*$")
_PERIOD_YEAR_RE = re.compile(
    r"(?<![\w])((?i:quý|học kỳ|học kì|đợt|kỳ|kì))\s+([IV]{1,3}|\d{1,2})\s*/\s*((?:19|20)\d{2})"
    r"(?![\w/])"
)


def dates(text: str, tables: Tables) -> str:
    """Read 15/02/2023, ngày 9/01/2015, 3/2023 and 'tháng 4' the way they are spoken."""
    zt = tables.zero_tens

    def month_range(m: re.Match[str]) -> str:
        first, last, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not 1 <= first < last <= 12:
            return m.group(0)
        lead = "" if _preceding(text, m.start()).rstrip().endswith("tháng") else "tháng "
        return (
            f"{lead}{_month(first)} đến tháng {_month(last)} năm {read_number(year, zero_tens=zt)}"
        )

    text = _MONTH_RANGE_RE.sub(month_range, text)

    def day_range(m: re.Match[str]) -> str:
        first, last, month = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not (1 <= first < last <= 31 and 1 <= month <= 12):
            return m.group(0)
        words = (
            f"{read_number(first, zero_tens=zt)} đến {read_number(last, zero_tens=zt)} "
            f"tháng {_month(month)}"
        )
        if m.group(4):
            words += f" năm {read_number(int(m.group(4)), zero_tens=zt)}"
        return words

    text = _DAY_RANGE_RE.sub(day_range, text)

    def period_year(m: re.Match[str]) -> str:
        written = m.group(2)
        number = int(written) if written.isdigit() else roman_to_int(written)
        if not number:
            return m.group(0)
        return (
            f"{m.group(1)} {read_number(number, zero_tens=zt)} "
            f"năm {read_number(int(m.group(3)), zero_tens=zt)}"
        )

    text = _PERIOD_YEAR_RE.sub(period_year, text)

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

    def dash_date(m: re.Match[str]) -> str:
        day, month = int(m.group(1)), int(m.group(2))
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return m.group(0)
        # "ngày 2-9" is a date; so are "29-12" and "8-3" (no range runs downwards or stays
        # put); "5-7" is a range.
        if _DASH_DATE_CONTEXT_RE.search(_preceding(text, m.start())) or day >= month:
            return f"{read_number(day, zero_tens=zt)} tháng {_month(month)}"
        return m.group(0)

    text = _DASH_DATE_RE.sub(dash_date, text)

    def month_word(m: re.Match[str]) -> str:
        word, n = m.group(1), int(m.group(2))
        year = m.group(3)
        if word.lower() == "tháng":
            if not 1 <= n <= 12:
                return m.group(0)
            # "tháng 1 2024": the year is announced with "năm".
            tail = f" năm {read_number(int(year), zero_tens=zt)}" if year else ""
            return f"{word} {_month(n)}{tail}"
        tail = f" {year}" if year else ""
        return f"{word} {read_number(n, zero_tens=zt)}{tail}"

    return _MONTH_WORD_RE.sub(month_word, text)


_TIME_COLON_RE = re.compile(r"(?<![\d:])([01]?\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?(?![\d:])")
# 5h, 5h30, 7h30', 5h30p; never "5hp" (horsepower). Invitations write 14g30 for 14h30.
_TIME_H_RE = re.compile(
    r"(?<![\w])([01]?\d|2[0-4])(?:\s?h(?:\s?([0-5]\d)(?:'|ph|p)?)?|g([0-5]\d)'?)(?![\w'])"
)
_TIME_WORDS_RE = re.compile(
    r"(?<![\w])([01]?\d|2[0-4])\s+giờ\s+([0-5]?\d)'?"
    r"(?=\s*(?:[,.;:!?)\n-]|$|sáng|trưa|chiều|tối|đêm|ngày|hôm|đến))"
)
_RATIO_RE = re.compile(rf"(?<![\w:.,])({NUM}):({NUM})(?![\w:]|[.,]\d)")
_RATIO_CONTEXT_RE = re.compile(r"t[ỷỉ] lệ(?:\s+[^\W\d_]+){0,3}\s*:?\s*$")


def ratios(text: str, tables: Tables) -> str:
    """Read 'tỷ lệ 3:1' as 'tỷ lệ ba trên một' (before 1:20 could be read as a time)."""

    def replace(m: re.Match[str]) -> str:
        if not _RATIO_CONTEXT_RE.search(_preceding(text, m.start(), 40)):
            return m.group(0)
        return f"{m.group(1)} trên {m.group(2)}"  # the numbers rule reads both

    return _RATIO_RE.sub(replace, text)


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
    text = _TIME_H_RE.sub(lambda m: spoken(m.group(1), m.group(2) or m.group(3)), text)
    # "7 giờ 30" in an invitation: the minutes are announced with "phút".
    return _TIME_WORDS_RE.sub(lambda m: f"{m.group(1)} giờ {m.group(2)} phút", text)


# --- quantities ---------------------------------------------------------------------------------

_SPACED_THOUSANDS_RE = re.compile(r"(?<![\w.,])(\d{1,3})((?: \d{3})+)(?![\w]|[.,]\d| \d)")
_MONEY_AFTER_RE = re.compile(r"\s?(?:đồng|đ|₫|VNĐ|VND|USD|\$|€|EUR)(?![\w])")


def spaced_thousands(text: str, tables: Tables) -> str:
    """Read '1 000 000 đồng' as one number; a lone group needs money after it (5 100 hộ)."""

    def replace(m: re.Match[str]) -> str:
        groups = m.group(2).split()
        if len(groups) < 2 and not _MONEY_AFTER_RE.match(text, m.end()):
            return m.group(0)
        return ".".join([m.group(1), *groups])

    return _SPACED_THOUSANDS_RE.sub(replace, text)


@lru_cache(maxsize=256)
def _unit_alternations(tables: Tables) -> tuple[str, str, str]:
    """Units as three alternations: any letter case, one letter glued, one letter spaced."""
    keys = sorted(tables.units, key=lambda k: (-len(k), k))
    # One-letter units (m, g, t, l) only when glued to the number: "5m", never "5 m"; the
    # few that also read well after a space are listed here.
    long_units = "|".join(re.escape(k) for k in keys if len(k) > 1 or not k.isalpha())
    short_units = "|".join(re.escape(k) for k in keys if len(k) == 1 and k.isalpha())
    spaced = "|".join(re.escape(k) for k in keys if k in _SPACED_LETTER_UNITS)
    return long_units, short_units, spaced


_SPACED_LETTER_UNITS = frozenset("mđVW")


@lru_cache(maxsize=256)
def _unit_pattern(tables: Tables) -> re.Pattern[str]:
    long_units, short_units, spaced = _unit_alternations(tables)
    alternatives = [rf"\s?(?P<long>(?i:{long_units}))"]
    if short_units:
        alternatives.append(rf"(?P<short>{short_units})")
    if spaced:
        alternatives.append(rf"\s(?P<spaced>{spaced})")
    return re.compile(rf"(?<![\w.,])({NUM})(?:{'|'.join(alternatives)})(?![\w])")


@lru_cache(maxsize=256)
def _range_pattern(tables: Tables) -> re.Pattern[str]:
    long_units, short_units, _ = _unit_alternations(tables)
    units = "|".join(u for u in (long_units, short_units) if u)
    # A quantity: a number with a time of day (10:00, 7h30, 14g30) or a unit (3kg, 5 km).
    quantity = rf"(?:{NUM})(?::[0-5]\d|[hg](?:[0-5]\d)?'?|\s?(?i:{units}))?"
    return re.compile(rf"(?<![\w.,-])({quantity})\s*-\s*({quantity})(?![\w]|[.,]\d|\s*-\s*\d)")


def ranges(text: str, tables: Tables) -> str:
    """Read '2023-2025', '5 - 7', '10:00-11:00', '7h-11h' and '3kg-6kg' with 'đến'."""
    return _range_pattern(tables).sub(r"\1 đến \2", text)


_NEGATIVE_RE = re.compile(r"(?<![\w.,)\]%°-])-(?=\d)")


def negative_numbers(text: str, tables: Tables) -> str:
    """Read a minus glued before a number as 'âm' ('-5°C', 'giảm -3'); other dashes stay."""
    return _NEGATIVE_RE.sub("âm ", text)


_MAGNITUDE = r"(?:\s?(?:nghìn|ngàn|triệu|tỷ|tỉ)(?![\w]))?"
_CURRENCY_FIRST_RE = re.compile(
    rf"(?<![\w$€£])(?P<symbol>US\$|\$|€|£)\s?(?P<amount>(?:{NUM}){_MAGNITUDE})(?![\w]|[.,]\d)"
)


def money(text: str, tables: Tables) -> str:
    """Move a currency written first after its amount: '$100' is read 'một trăm đô la'."""

    def replace(m: re.Match[str]) -> str:
        symbol = m.group("symbol").replace("US$", "USD")
        return f"{m.group('amount')} {tables.unit_reading(symbol) or symbol}"

    return _CURRENCY_FIRST_RE.sub(replace, text)


_CURRENCY_WORDS = frozenset(
    ["đ", "₫", "đồng", "VNĐ", "VND", "USD", "$", "€", "EUR", "£", "Mỹ", "la", "rô"]
)
_PER_RE = re.compile(
    rf"(?<![\w.,])(?P<amount>{NUM})(?P<what>\s?(?:[^\W\d_]+[23²³]?|[$€£₫%])(?:\s[^\W\d_]+){{0,2}})"
    r"\s?/\s?(?P<per>[^\W\d_]+[23²³]?)(?![\w/])"
)


def per_unit(text: str, tables: Tables) -> str:
    """Read '/' after a unit or a price: '50m/s' trên giây, '20.000 đồng/kg' mỗi ki lô gam."""

    def replace(m: re.Match[str]) -> str:
        what, per = m.group("what"), m.group("per")
        last = what.split()[-1]
        if tables.unit_reading(f"{last}/{per}") is not None:
            return m.group(0)  # km/h, m/s: read whole by the units rule
        reading = tables.unit_reading(per)
        if reading is None and not per.islower():
            return m.group(0)  # a code (12 QĐ/UBND), not a rate
        word = "trên" if reading is not None and last not in _CURRENCY_WORDS else "mỗi"
        return f"{m.group('amount')}{what} {word} {reading or per}"

    return _PER_RE.sub(replace, text)


def units(text: str, tables: Tables) -> str:
    """Read units after a number: '15 km' -> '15 ki lô mét', '2,5%' -> '2,5 phần trăm'."""

    def replace(m: re.Match[str]) -> str:
        unit = m.group("long") or m.group("short") or m.group("spaced")
        return f"{m.group(1)} {tables.unit_reading(unit) or unit}"

    return _unit_pattern(tables).sub(replace, text)


_ORDINAL_RE = re.compile(r"(?<![\w])([Tt]hứ)\s+(\d{1,3})(?![\d\w])")


def ordinals(text: str, tables: Tables) -> str:
    """Read 'thứ 1' as 'thứ nhất' and 'thứ 4' as 'thứ tư'."""
    return _ORDINAL_RE.sub(
        lambda m: f"{m.group(1)} {read_ordinal(int(m.group(2)), zero_tens=tables.zero_tens)}",
        text,
    )


_ROMAN_HEADING_RE = re.compile(r"^(\s*)([IVXLC]{1,7})(?:[.)]|\s*[-:])\s*", re.MULTILINE)
# Words after which a Roman numeral is a number: "thế kỷ XXI", "khoản XIV", "Chương IV".
_ROMAN_WORDS = (
    "khóa|khoá|lần thứ|thế kỷ|thế kỉ|đại hội|phần|chương|mục|tiểu mục|khoản|đoạn|điểm|"
    "quý|kỳ|kì|học kỳ|học kì|giai đoạn|quân khu|hội nghị|điều|thứ|tập|bài|phụ lục|"
    "cấp|hạng|bậc|loại|vùng|nhóm|đợt|tuần|lớp|số"
)
# The numeral is looked for first, its word then checked before it: much faster than an
# alternation of words tried at every position.
_ROMAN_AFTER_RE = re.compile(
    r"(?<=\s)([IVXLCDM]{1,12})(?![\w])(?:\s*-\s*([IVXLCDM]{1,12})(?![\w]))?"
)
_ROMAN_WORD_BEFORE_RE = re.compile(rf"(?:^|(?<=[^\w]))(?i:{_ROMAN_WORDS})\s+$")
# A year in Roman numerals ("năm MCMXCIX"); "năm" is also the number five, so only
# numerals of the thousands are taken.
_ROMAN_YEAR_RE = re.compile(r"(?<![\w])((?i:năm))\s+(M{1,3}[MCDXLVI]*)(?![\w])")


def roman_numerals(text: str, tables: Tables) -> str:
    """Read Roman-numeral headings ('II. NỘI DUNG') and 'khóa XIV', 'quý I' as numbers."""
    zt = tables.zero_tens

    def heading(m: re.Match[str]) -> str:
        numeral = m.group(2)
        value = roman_to_int(numeral)
        # "C." and "L." alone head lettered lists (A., B., C.): they are letters there.
        if value is None or numeral in ("C", "L"):
            return m.group(0)
        return f"{m.group(1)}{read_number(value, zero_tens=zt)}. "

    def after(m: re.Match[str]) -> str:
        value = roman_to_int(m.group(1))
        last = roman_to_int(m.group(2)) if m.group(2) else None
        if value is None or (m.group(2) and last is None):
            return m.group(0)
        word = _ROMAN_WORD_BEFORE_RE.search(text, max(0, m.start() - 20), m.start())
        if word is None:
            return m.group(0)
        reader = read_ordinal if word.group(0).rstrip().lower().endswith("thứ") else read_number
        words = reader(value, zero_tens=zt)
        if last is not None:
            words += f" đến {reader(last, zero_tens=zt)}"
        return words

    def year(m: re.Match[str]) -> str:
        value = roman_to_int(m.group(2))
        return m.group(0) if value is None else f"{m.group(1)} {read_number(value, zero_tens=zt)}"

    text = _ROMAN_HEADING_RE.sub(heading, text)
    text = _ROMAN_AFTER_RE.sub(after, text)
    return _ROMAN_YEAR_RE.sub(year, text)


# --- plain numbers ------------------------------------------------------------------------------

_THOUSANDS_RE = re.compile(r"(?<![\w.,])(\d{1,3}(?:\.\d{3})+)(?:,(\d+))?(?!\d|[.,]\d)")
_DECIMAL_RE = re.compile(r"(?<![\w.,])(\d+),(\d+)(?!\d|[.,]\d)")
_DOTTED_RE = re.compile(r"(?<![\w.,])(\d+(?:\.\d+)+)(?!\d|[.,]\d)")
_MIXED_FRACTION_RE = re.compile(r"(?<![\w.,/])(\d{1,6}) (\d{1,3})/(\d{1,3})(?![\w/]|[.,]\d)")
_FRACTION_RE = re.compile(r"(?<![\w/])(\d{1,9})/(\d{1,9})(?![\w/])")
_INTEGER_RE = re.compile(r"\d+")


def numbers(text: str, tables: Tables) -> str:
    """Read 1.650 (thousands dot), 2,5 (decimal comma), 4.0, 1/2 and plain integers."""
    zt = tables.zero_tens

    def thousands(m: re.Match[str]) -> str:
        words = read_integer_string(m.group(1).replace(".", ""), zero_tens=zt)
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

    def mixed(m: re.Match[str]) -> str:
        whole, top, bottom = (int(g) for g in m.groups())
        if not 0 < top < bottom:
            return m.group(0)
        return (
            f"{read_number(whole, zero_tens=zt)} và {read_number(top, zero_tens=zt)} "
            f"phần {read_number(bottom, zero_tens=zt)}"
        )

    text = _MIXED_FRACTION_RE.sub(mixed, text)

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
    control_characters,
    clean_characters,
    strip_markup,
    web_addresses,
    road_codes,
    telephone_numbers,
    legal_document_numbers,
    place_prefixes,
    expand_abbreviations,
    dates,
    spaced_thousands,
    ratios,
    ranges,
    negative_numbers,
    times,
    money,
    per_unit,
    units,
    ordinals,
    roman_numerals,
    numbers,
    capitals,
    symbols_and_punctuation,
    sentence_ends,
)
