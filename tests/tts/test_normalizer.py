"""Table-driven tests of the Vietnamese normaliser, from the patterns of the seed plan."""

from __future__ import annotations

import pytest

from tests.tts.conftest import SEED
from tts import normalize
from tts.normalizer.numbers import read_number, roman_to_int


def spoken(text: str, **kwargs: object) -> str:
    """Normalised text, lower-cased and without the final full stop, for comparisons."""
    return normalize(text, **kwargs).rstrip(".").lower()  # type: ignore[arg-type]


NUMBERS = [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (33, "ba mươi ba"),
    (90, "chín mươi"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (204, "hai trăm linh bốn"),
    (1000, "một nghìn"),
    (1005, "một nghìn không trăm linh năm"),
    (1010, "một nghìn không trăm mười"),
    (1273, "một nghìn hai trăm bảy mươi ba"),
    (1650, "một nghìn sáu trăm năm mươi"),
    (2014, "hai nghìn không trăm mười bốn"),
    (2018, "hai nghìn không trăm mười tám"),
    (2023, "hai nghìn không trăm hai mươi ba"),
    (2025, "hai nghìn không trăm hai mươi lăm"),
    (10_000, "mười nghìn"),
    (100_000, "một trăm nghìn"),
    (1_500_000, "một triệu năm trăm nghìn"),
    (20_000_000, "hai mươi triệu"),
    (1_000_000_000, "một tỷ"),
    (2_500_000_000_000, "hai nghìn năm trăm tỷ"),
]


@pytest.mark.parametrize(("value", "words"), NUMBERS)
def test_read_number(value: int, words: str) -> None:
    assert read_number(value) == words


def test_read_number_southern_zero_tens() -> None:
    assert read_number(105, zero_tens="lẻ") == "một trăm lẻ năm"


@pytest.mark.parametrize(
    ("roman", "value"), [("I", 1), ("II", 2), ("III", 3), ("IV", 4), ("XIV", 14), ("IIII", None)]
)
def test_roman_to_int(roman: str, value: int | None) -> None:
    assert roman_to_int(roman) == value


CASES = [
    # Service numbers are dialled, so read digit by digit; ordinary counts are not.
    ("Gọi 114 khi thấy cháy", "gọi một một bốn khi thấy cháy"),
    ("gọi 1022 để phản ánh", "gọi một không hai hai để phản ánh"),
    ("có 114 hộ dân", "có một trăm mười bốn hộ dân"),
    ("đường dây nóng 1900 của huyện", "đường dây nóng một chín không không của huyện"),
    # Separators, decimals, percentages, units, ranges, ordinals.
    ("1.650 cụm loa", "một nghìn sáu trăm năm mươi cụm loa"),
    ("99 xã, phường", "chín mươi chín xã, phường"),
    ("84 xã có đài", "tám mươi tư xã có đài"),
    ("khoảng 3.300 xã", "khoảng ba nghìn ba trăm xã"),
    ("20.000.000 đồng", "hai mươi triệu đồng"),
    ("2,5 tấn", "hai phẩy năm tấn"),
    ("3,05 ha", "ba phẩy không năm héc ta"),
    ("1.650,5 m2", "một nghìn sáu trăm năm mươi phẩy năm mét vuông"),
    ("tăng 15%", "tăng mười lăm phần trăm"),
    ("đạt 2,5%", "đạt hai phẩy năm phần trăm"),
    ("dài 15 km", "dài mười lăm ki lô mét"),
    ("200 ha rừng", "hai trăm héc ta rừng"),
    ("cách 5km", "cách năm ki lô mét"),
    ("từ 5-7km", "từ năm đến bảy ki lô mét"),
    (
        "giai đoạn 2021 - 2025",
        "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm",
    ),
    ("2023-2025", "hai nghìn không trăm hai mươi ba đến hai nghìn không trăm hai mươi lăm"),
    ("lần thứ 1", "lần thứ nhất"),
    ("thứ 4", "thứ tư"),
    ("lần thứ 14", "lần thứ mười bốn"),
    ("1/2 số hộ", "một phần hai số hộ"),
    ("công nghiệp 4.0", "công nghiệp bốn chấm không"),
    ("mục 2.1", "mục hai chấm một"),
    ("gọi 0912345678", "gọi không chín một hai, ba bốn năm, sáu bảy tám"),
    ("mạng 4G", "mạng bốn gờ"),
    ("năm 2023", "năm hai nghìn không trăm hai mươi ba"),
    # Dates and times.
    ("ngày 15/02/2023", "ngày mười lăm tháng hai năm hai nghìn không trăm hai mươi ba"),
    ("15/02/2023", "ngày mười lăm tháng hai năm hai nghìn không trăm hai mươi ba"),
    ("ngày 28/9/2018", "ngày hai mươi tám tháng chín năm hai nghìn không trăm mười tám"),
    ("ngày 09/01/2015", "ngày chín tháng một năm hai nghìn không trăm mười lăm"),
    ("ngày 9/01/2015", "ngày chín tháng một năm hai nghìn không trăm mười lăm"),
    ("ngày 1.6.2024", "ngày một tháng sáu năm hai nghìn không trăm hai mươi tư"),
    ("tháng 3 năm 2023", "tháng ba năm hai nghìn không trăm hai mươi ba"),
    ("tháng 4", "tháng tư"),
    ("tháng 04/2023", "tháng tư năm hai nghìn không trăm hai mươi ba"),
    ("3/2023", "tháng ba năm hai nghìn không trăm hai mươi ba"),
    ("ngày 01/9", "ngày một tháng chín"),
    ("sáng 2/9", "sáng hai tháng chín"),
    ("ngày tháng 3 năm 2023", "ngày tháng ba năm hai nghìn không trăm hai mươi ba"),
    ("lúc 5h30", "lúc năm giờ ba mươi phút"),
    ("lúc 17:00", "lúc mười bảy giờ"),
    ("7h sáng", "bảy giờ sáng"),
    ("17h15", "mười bảy giờ mười lăm phút"),
    ("20:45:10", "hai mươi giờ bốn mươi lăm phút mười giây"),
    ("từ 7:00 đến 20:00", "từ bảy giờ đến hai mươi giờ"),
    # Legal document numbers.
    ("Kế hoạch số 90/KH-BCĐ", "kế hoạch số chín mươi của ban chỉ đạo"),
    ("Chỉ thị 01/CT-TTg", "chỉ thị không một của thủ tướng chính phủ"),
    ("Nghị quyết số 33-NQ/TW", "nghị quyết số ba mươi ba của trung ương"),
    (
        "Nghị định 34/2014/NĐ-CP",
        "nghị định ba mươi tư năm hai nghìn không trăm mười bốn của chính phủ",
    ),
    (
        "theo 15/2020/NĐ-CP",
        "theo nghị định số mười lăm năm hai nghìn không trăm hai mươi của chính phủ",
    ),
    ("Chỉ thị số 01/TTg", "chỉ thị số không một của thủ tướng chính phủ"),
    (
        "Thông tư 39/2020/TT-BTTTT",
        "thông tư ba mươi chín năm hai nghìn không trăm hai mươi của bộ thông tin và truyền thông",
    ),
    (
        "Công văn 1273/BTTTT-TTCS",
        "công văn một nghìn hai trăm bảy mươi ba của bộ thông tin và truyền thông",
    ),
    ("Số 123/QĐ-UBND", "quyết định số một trăm hai mươi ba của ủy ban nhân dân"),
    ("Số: /KH-STTTT", "kế hoạch của sở thông tin và truyền thông"),
    ("QĐ 52/2016", "quyết định năm mươi hai năm hai nghìn không trăm mười sáu"),
    (
        "Kế hoạch số 90/KH-BCĐ ngày 15/02/2023 của Ban Chỉ đạo",
        "kế hoạch số chín mươi ngày mười lăm tháng hai năm hai nghìn không trăm hai mươi ba"
        " của ban chỉ đạo",
    ),
    # Abbreviations from the table, and spelling of unknown ones.
    ("UBND xã", "ủy ban nhân dân xã"),
    ("HĐND tỉnh", "hội đồng nhân dân tỉnh"),
    ("BCH Đoàn", "ban chấp hành đoàn"),
    ("TP Lào Cai", "thành phố lào cai"),
    ("TP.HCM", "thành phố hồ chí minh"),
    ("ứng dụng CNTT", "ứng dụng công nghệ thông tin"),
    ("trang TTĐT", "trang thông tin điện tử"),
    ("Trung tâm VH-TT", "trung tâm văn hóa, thể thao"),
    ("Đài PT-TH tỉnh", "đài phát thanh, truyền hình tỉnh"),
    ("Lưu: VT, TTBCXB", "lưu: văn thư, thông tin, báo chí, xuất bản"),
    ("KT.GIÁM ĐỐC", "ký thay giám đốc"),
    ("VTV đưa tin", "vê tê vê đưa tin"),
    ("HIV", "hát i vê"),
    ("phát triển KT-XH", "phát triển kinh tế, xã hội"),
    # Headings, bullets, quotes and marks that are not read.
    ("I. MỤC ĐÍCH, YÊU CẦU", "một. mục đích, yêu cầu"),
    ("#### II. NỘI DUNG", "hai. nội dung"),
    ("## **III. TỔ CHỨC THỰC HIỆN**", "ba. tổ chức thực hiện"),
    ("### ***Nơi nhận:***", "nơi nhận:"),
    ("- Tuyên truyền gương người tốt;", "tuyên truyền gương người tốt;"),
    ("phong trào “Toàn dân tham gia”", "phong trào toàn dân tham gia"),
    ("thực hiện./.", "thực hiện"),
    ("ấn phẩm...", "ấn phẩm"),
    ("báo/ trang TTĐT", "báo, trang thông tin điện tử"),
    ("Việt Nam - Trung Quốc", "việt nam, trung quốc"),
    ("thông tin -tuyên truyền", "thông tin, tuyên truyền"),
    ("(đặc biệt là các địa phương)", "đặc biệt là các địa phương"),
    ("Đại hội lần thứ XIII", "đại hội lần thứ mười ba"),
    ("quý I", "quý một"),
    ("nông & lâm", "nông và lâm"),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_normalize_cases(text: str, expected: str) -> None:
    assert spoken(text) == expected


def test_at_least_eighty_cases() -> None:
    assert len(CASES) + len(NUMBERS) >= 80 and len(CASES) >= 80


def test_area_lexicon_extends_and_overrides_without_restart() -> None:
    assert spoken("Tạp chí Phansipăng") == "tạp chí phansipăng"
    lexicon = {"Phansipăng": "Phan Xi Păng", "UBND": "Ủy ban nhân dân xã Bản Lầu"}
    assert spoken("Tạp chí Phansipăng", lexicon=lexicon) == "tạp chí phan xi păng"
    assert spoken("UBND thông báo", lexicon=lexicon) == "ủy ban nhân dân xã bản lầu thông báo"
    # The built-in table is untouched for callers without a lexicon.
    assert spoken("UBND thông báo") == "ủy ban nhân dân thông báo"


def test_area_lexicon_names_document_issuers() -> None:
    lexicon = {"BCĐ": "Ban Chỉ đạo xã"}
    assert spoken("Kế hoạch số 9/KH-BCĐ", lexicon=lexicon) == "kế hoạch số chín của ban chỉ đạo xã"


def test_seed_plan_reads_without_digits_slashes_or_capitals() -> None:
    text = normalize(SEED.read_text(encoding="utf-8"))
    assert not any(ch.isdigit() for ch in text)
    for mark in ("/", "#", "*", "“", "”", "./."):
        assert mark not in text
    words = [w.strip(".,;:") for w in text.split()]
    assert not [w for w in words if len(w) > 1 and w.isupper()]
    assert "Nghị quyết số ba mươi ba ngày hai mươi tám tháng chín" in text
    assert "Ủy ban nhân dân các huyện" in text
    assert "một nghìn" not in text.split("Lào Cai")[0]  # the header date has no number


def test_every_line_ends_a_sentence() -> None:
    text = normalize("KẾ HOẠCH\n\nCông tác thông tin\n- mục một")
    assert text.splitlines() == ["Kế hoạch.", "Công tác thông tin.", "Mục một."]


def test_empty_text_normalises_to_empty() -> None:
    assert normalize("  \n ") == ""
