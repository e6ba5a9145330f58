"""Written forms -> what an announcer says, one table per pattern of the normaliser."""

from __future__ import annotations

import pytest

from tts import normalize, split_sentences


def spoken(text: str) -> str:
    """Normalised text, lower-cased and without the final full stop, for comparisons."""
    return normalize(text).rstrip(".").lower()


# A minus glued before a number is 'âm'; a dash between words is a pause.
SIGNS = [
    ("-5°C", "âm năm độ xê"),
    ("nhiệt độ -5°C", "nhiệt độ âm năm độ xê"),
    ("nhiệt độ thấp nhất -2°C", "nhiệt độ thấp nhất âm hai độ xê"),
    ("âm 5", "âm năm"),
    ("-0,5%", "âm không phẩy năm phần trăm"),
    ("giảm -3", "giảm âm ba"),
    ("tăng trưởng -1,2%", "tăng trưởng âm một phẩy hai phần trăm"),
    ("từ -3 đến 5 độ C", "từ âm ba đến năm độ xê"),
    ("nhiệt độ (-4°C)", "nhiệt độ, âm bốn độ xê"),
    ("Việt Nam-Lào", "việt nam lào"),
    ("Hà Nội-Lào Cai", "hà nội lào cai"),
]

# Telephone numbers are read digit by digit, with a pause between groups.
TELEPHONES = [
    ("0912.345.678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912345678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("093-655-5449", "không chín ba, sáu năm năm, năm bốn bốn chín"),
    ("(0214) 3840 123", "không hai một bốn, ba tám bốn không, một hai ba"),
    ("024 3825 1234", "không hai bốn, ba tám hai năm, một hai ba bốn"),
    ("02143840123", "không hai một bốn, ba tám bốn không, một hai ba"),
    ("1900 1234", "một chín không không, một hai ba bốn"),
    ("1900.1234", "một chín không không, một hai ba bốn"),
    ("1800 6789", "một tám không không, sáu bảy tám chín"),
    ("1900 123 456", "một chín không không, một hai ba, bốn năm sáu"),
    ("+84 912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("+84912345678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("(+84) 912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("Hotline: 0912345678", "đường dây nóng: không chín một hai, ba bốn năm, sáu bảy tám"),
    ("Hotline 1900 1234", "đường dây nóng một chín không không, một hai ba bốn"),
    ("ĐT: 0214.3840.123", "điện thoại: không hai một bốn, ba tám bốn không, một hai ba"),
    ("ĐT 0214 3840 123", "điện thoại không hai một bốn, ba tám bốn không, một hai ba"),
    ("SĐT: 0987 654 321", "số điện thoại: không chín tám bảy, sáu năm bốn, ba hai một"),
    ("số điện thoại 0214 3840123", "số điện thoại không hai một bốn, ba tám bốn không, một hai ba"),
    ("điện thoại 3840 123", "điện thoại ba tám bốn không, một hai ba"),
    ("đường dây nóng 113", "đường dây nóng một một ba"),
    ("gọi 115 khi cần cấp cứu", "gọi một một năm khi cần cấp cứu"),
    (
        "liên hệ 0912 345 678 hoặc 0987 654 321",
        "liên hệ không chín một hai, ba bốn năm, sáu bảy tám"
        " hoặc không chín tám bảy, sáu năm bốn, ba hai một",
    ),
    ("Fax: 0214 3840 124", "fax: không hai một bốn, ba tám bốn không, một hai bốn"),
]

# A dash between quantities, times or dates means 'đến'; a dash date is a date.
RANGES = [
    ("từ 1800-2000 người", "từ một nghìn tám trăm đến hai nghìn người"),
    ("10:00-11:00", "mười giờ đến mười một giờ"),
    ("từ 7:30 - 11:00", "từ bảy giờ ba mươi phút đến mười một giờ"),
    ("7h-11h", "bảy giờ đến mười một giờ"),
    ("7h30-9h", "bảy giờ ba mươi phút đến chín giờ"),
    ("14g30-16g30", "mười bốn giờ ba mươi phút đến mười sáu giờ ba mươi phút"),
    ("7-11h", "bảy đến mười một giờ"),
    ("3kg-6kg", "ba ki lô gam đến sáu ki lô gam"),
    ("5km-7km", "năm ki lô mét đến bảy ki lô mét"),
    ("20%-30%", "hai mươi phần trăm đến ba mươi phần trăm"),
    ("từ 20-30/4", "từ hai mươi đến ba mươi tháng tư"),
    (
        "từ ngày 20-25/12/2024",
        "từ ngày hai mươi đến hai mươi lăm tháng mười hai năm hai nghìn không trăm hai mươi tư",
    ),
    ("từ 01-12/2025", "từ tháng một đến tháng mười hai năm hai nghìn không trăm hai mươi lăm"),
    ("tháng 1-3/2025", "tháng một đến tháng ba năm hai nghìn không trăm hai mươi lăm"),
    ("ngày 29-12", "ngày hai mươi chín tháng mười hai"),
    ("29-12", "hai mươi chín tháng mười hai"),
    ("Quốc tế Phụ nữ 8-3", "quốc tế phụ nữ tám tháng ba"),
    ("Tết Dương lịch 1-1", "tết dương lịch một tháng một"),
    ("nghỉ 3-5 ngày", "nghỉ ba đến năm ngày"),
    ("sáng 2-9", "sáng hai tháng chín"),
    (
        "giai đoạn 2021-2025",
        "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm",
    ),
    (
        "năm học 2023 - 2024",
        "năm học hai nghìn không trăm hai mươi ba đến hai nghìn không trăm hai mươi tư",
    ),
    ("từ 5-7 người", "từ năm đến bảy người"),
]

# Units in any letter case, glued or spaced; '/' after a unit or price.
UNITS = [
    ("200 m", "hai trăm mét"),
    ("cao 1.500 m", "cao một nghìn năm trăm mét"),
    ("5 km", "năm ki lô mét"),
    ("5 KM", "năm ki lô mét"),
    ("500mg", "năm trăm mi li gam"),
    ("500 mg", "năm trăm mi li gam"),
    ("50hz", "năm mươi héc"),
    ("50 Hz", "năm mươi héc"),
    ("1kw", "một ki lô oát"),
    ("5 kW", "năm ki lô oát"),
    ("220v", "hai trăm hai mươi vôn"),
    ("220V", "hai trăm hai mươi vôn"),
    ("220 V", "hai trăm hai mươi vôn"),
    ("5hp", "năm mã lực"),
    ("5 HP", "năm mã lực"),
    ("50m/s", "năm mươi mét trên giây"),
    ("60 km/h", "sáu mươi ki lô mét trên giờ"),
    ("25°c", "hai mươi lăm độ xê"),
    ("30°C", "ba mươi độ xê"),
    ("100 m2", "một trăm mét vuông"),
    ("1.000 m²", "một nghìn mét vuông"),
    ("5 m³", "năm mét khối"),
    ("3 ha", "ba héc ta"),
    ("5 tấn", "năm tấn"),
    ("20 lít", "hai mươi lít"),
    ("2l", "hai lít"),
    ("100W", "một trăm oát"),
    ("2 MW", "hai mê ga oát"),
    ("20.000 đồng/kg", "hai mươi nghìn đồng mỗi ki lô gam"),
    ("50.000đ/ngày", "năm mươi nghìn đồng mỗi ngày"),
    ("1,5 triệu đồng/tháng", "một phẩy năm triệu đồng mỗi tháng"),
    ("100 người/km2", "một trăm người trên ki lô mét vuông"),
    ("5 tấn/ha", "năm tấn trên héc ta"),
    ("3 lần/ngày", "ba lần mỗi ngày"),
    ("5%/năm", "năm phần trăm mỗi năm"),
]

# Currencies before or after the amount, thousands with dots or spaces.
MONEY = [
    ("50.000 đ", "năm mươi nghìn đồng"),
    ("50.000đ", "năm mươi nghìn đồng"),
    ("50.000₫", "năm mươi nghìn đồng"),
    ("100.000 VNĐ", "một trăm nghìn việt nam đồng"),
    ("100.000 VND", "một trăm nghìn đồng"),
    ("$100", "một trăm đô la"),
    ("$ 100", "một trăm đô la"),
    ("100 $", "một trăm đô la"),
    ("US$50", "năm mươi đô la mỹ"),
    ("100 USD", "một trăm đô la mỹ"),
    ("50 €", "năm mươi ơ rô"),
    ("€50", "năm mươi ơ rô"),
    ("1 000 000 đồng", "một triệu đồng"),
    ("5 000 đồng", "năm nghìn đồng"),
    ("2 500 000 đ", "hai triệu năm trăm nghìn đồng"),
    ("1,5 tỷ đồng", "một phẩy năm tỷ đồng"),
    ("2,3 triệu USD", "hai phẩy ba triệu đô la mỹ"),
    ("$1,5 triệu", "một phẩy năm triệu đô la"),
]

# Roman numerals after the words that count with them, never inside words.
ROMAN = [
    ("thế kỷ XXI", "thế kỷ hai mươi mốt"),
    ("thế kỉ XV", "thế kỉ mười lăm"),
    ("khoản XIV", "khoản mười bốn"),
    ("đoạn II", "đoạn hai"),
    ("Phần III", "phần ba"),
    ("Chương IV", "chương bốn"),
    ("Mục V", "mục năm"),
    ("năm MCMXCIX", "năm một nghìn chín trăm chín mươi chín"),
    ("Quân khu II", "quân khu hai"),
    ("Phụ lục III", "phụ lục ba"),
    ("thế kỷ XIX-XX", "thế kỷ mười chín đến hai mươi"),
    ("Điều 3 khoản II", "điều ba khoản hai"),
    ("I. MỤC ĐÍCH", "một. mục đích"),
    ("II. NỘI DUNG", "hai. nội dung"),
    ("IV - KINH PHÍ", "bốn. kinh phí"),
    ("MIX và CD", "mờ i ích và xê dê"),
    ("Công ty VIC", "công ty vic"),
    ("C. Tổ chức", "xê. tổ chức"),
    ("chi cục DL", "chi cục dê lờ"),
]

# Times in invitation styles, months with their year, quarters.
TIMES_AND_DATES = [
    ("14g30", "mười bốn giờ ba mươi phút"),
    ("14g00", "mười bốn giờ"),
    ("14g30'", "mười bốn giờ ba mươi phút"),
    ("7 giờ 30", "bảy giờ ba mươi phút"),
    ("7 giờ 30 sáng", "bảy giờ ba mươi phút sáng"),
    ("7h30'", "bảy giờ ba mươi phút"),
    ("7h30p", "bảy giờ ba mươi phút"),
    ("lúc 5h", "lúc năm giờ"),
    ("lúc 17h", "lúc mười bảy giờ"),
    ("lúc 8h00", "lúc tám giờ"),
    ("7 giờ 30 phút", "bảy giờ ba mươi phút"),
    ("tháng 1/2024", "tháng một năm hai nghìn không trăm hai mươi tư"),
    ("tháng 1 2024", "tháng một năm hai nghìn không trăm hai mươi tư"),
    ("tháng 12 2023", "tháng mười hai năm hai nghìn không trăm hai mươi ba"),
    ("Quý II/2024", "quý hai năm hai nghìn không trăm hai mươi tư"),
    ("quý 3/2024", "quý ba năm hai nghìn không trăm hai mươi tư"),
    ("đợt 2/2024", "đợt hai năm hai nghìn không trăm hai mươi tư"),
    ("năm 2023-2024", "năm hai nghìn không trăm hai mươi ba đến hai nghìn không trăm hai mươi tư"),
]

# Mixed fractions, fractions of a whole and ratios.
FRACTIONS = [
    ("23 1/5", "hai mươi ba và một phần năm"),
    ("2 1/2 ha", "hai và một phần hai héc ta"),
    ("1/3 số hộ", "một phần ba số hộ"),
    ("3/4 diện tích", "ba phần bốn diện tích"),
    ("tỷ lệ 3:1", "tỷ lệ ba trên một"),
    ("tỉ lệ 1:500", "tỉ lệ một trên năm trăm"),
    ("tỷ lệ bản đồ 1:25.000", "tỷ lệ bản đồ một trên hai mươi lăm nghìn"),
]

# Administrative abbreviations, kinds of places and road codes.
PLACES = [
    ("tại tp. Lào Cai", "tại thành phố lào cai"),
    ("tp. Lào Cai", "thành phố lào cai"),
    ("Tp. Hà Nội", "thành phố hà nội"),
    ("q. Ba Đình", "quận ba đình"),
    ("tại h. Bát Xát", "tại huyện bát xát"),
    ("x. Bản Lầu", "xã bản lầu"),
    ("xã Bản Lầu, h. Mường Khương", "xã bản lầu, huyện mường khương"),
    ("tx. Sa Pa", "thị xã sa pa"),
    ("p. Kim Tân", "phường kim tân"),
    ("tt. Phố Lu", "thị trấn phố lu"),
    ("Q.1", "quận một"),
    ("P.5, Q.3", "phường năm, quận ba"),
    ("TP Lào Cai", "thành phố lào cai"),
    ("TX Sa Pa", "thị xã sa pa"),
    ("UBND xã", "ủy ban nhân dân xã"),
    ("HĐND huyện", "hội đồng nhân dân huyện"),
    ("MTTQ tỉnh", "mặt trận tổ quốc tỉnh"),
    ("BCH Quân sự", "ban chấp hành quân sự"),
    ("BĐBP tỉnh", "bộ đội biên phòng tỉnh"),
    ("ĐBP Bát Xát", "đồn biên phòng bát xát"),
    ("CA xã", "công an xã"),
    ("CA huyện Bát Xát", "công an huyện bát xát"),
    ("ca trực đêm", "ca trực đêm"),
    ("QL4D", "quốc lộ bốn dê"),
    ("QL 70", "quốc lộ bảy mươi"),
    ("QL.279", "quốc lộ hai trăm bảy mươi chín"),
    ("ĐT.152", "đường tỉnh một trăm năm mươi hai"),
    ("ĐT152", "đường tỉnh một trăm năm mươi hai"),
    ("TL.151", "tỉnh lộ một trăm năm mươi mốt"),
]

# Web and e-mail addresses as an announcer reads them.
WEB = [
    ("laocai.gov.vn", "lao cai chấm gờ o vê chấm vê nờ"),
    (
        "Truy cập laocai.gov.vn để biết thêm. Xong",
        "truy cập lao cai chấm gờ o vê chấm vê nờ để biết thêm. xong",
    ),
    ("www.vov.vn", "vê kép vê kép vê kép chấm vê o vê chấm vê nờ"),
    (
        "https://www.laocai.gov.vn/tin-tuc",
        "vê kép vê kép vê kép chấm lao cai chấm gờ o vê chấm vê nờ gạch chéo tin gạch ngang tuc",
    ),
    ("baolaocai.vn", "bao lao cai chấm vê nờ"),
    ("abc@laocai.gov.vn", "a bê xê a còng lao cai chấm gờ o vê chấm vê nờ"),
    ("nguyen.van.a@gmail.com", "nguyen chấm van chấm a a còng gờ meo chấm com"),
    ("vtv24.vn", "vê tê vê hai bốn chấm vê nờ"),
]

# Control and format characters are removed before anything else.
CONTROLS = [
    ("\ufeffThông báo khẩn", "thông báo khẩn"),
    ("UBND\u200b xã", "ủy ban nhân dân xã"),
    ("a\x00b", "ab"),
    ("Xã\x07 Bản Lầu", "xã bản lầu"),
    ("tab\tgiữa", "tab giữa"),
    ("số\xad hộ", "số hộ"),
    ("\u202eUBND tỉnh", "ủy ban nhân dân tỉnh"),
    ("lúc\xa07h", "lúc bảy giờ"),
    ("10\u2009000 đồng", "mười nghìn đồng"),
    ("\x1bthông báo", "thông báo"),
    ("0912\u200b345\u200b678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("ngày\u200d 2/9", "ngày hai tháng chín"),
]

ALL = [
    *SIGNS,
    *TELEPHONES,
    *RANGES,
    *UNITS,
    *MONEY,
    *ROMAN,
    *TIMES_AND_DATES,
    *FRACTIONS,
    *PLACES,
    *WEB,
    *CONTROLS,
]


@pytest.mark.parametrize(("text", "expected"), ALL, ids=[repr(case[0]) for case in ALL])
def test_reads_as_an_announcer(text: str, expected: str) -> None:
    assert spoken(text) == expected


def test_every_pattern_has_its_table() -> None:
    tables = [SIGNS, TELEPHONES, RANGES, UNITS, MONEY, ROMAN, TIMES_AND_DATES, FRACTIONS]
    tables += [PLACES, WEB, CONTROLS]
    assert len(ALL) >= 150 and all(len(table) >= 6 for table in tables)


def test_web_address_stays_in_one_sentence() -> None:
    text = normalize(
        "Xem tin tại www.laocai.gov.vn hoặc gửi thư tới abc@laocai.gov.vn. Xin cảm ơn."
    )
    sentences = split_sentences(text, 200)
    assert sentences == [
        "Xem tin tại vê kép vê kép vê kép chấm lao cai chấm gờ o vê chấm vê nờ hoặc gửi thư tới"
        " a bê xê a còng lao cai chấm gờ o vê chấm vê nờ.",
        "Xin cảm ơn.",
    ]


def test_telephone_number_in_a_bulletin() -> None:
    text = spoken("Mọi ý kiến xin gửi về UBND xã, SĐT: 0214.3840.123 hoặc Hotline 0912 345 678.")
    assert text == (
        "mọi ý kiến xin gửi về ủy ban nhân dân xã, số điện thoại: không hai một bốn,"
        " ba tám bốn không, một hai ba hoặc đường dây nóng không chín một hai, ba bốn năm,"
        " sáu bảy tám"
    )


def test_invitation_reads_time_place_and_date() -> None:
    text = spoken("Thời gian: 14g00, ngày 29-12. Địa điểm: Hội trường UBND h. Bát Xát, tp. Lào Cai")
    assert text == (
        "thời gian: mười bốn giờ, ngày hai mươi chín tháng mười hai. địa điểm: hội trường"
        " ủy ban nhân dân huyện bát xát, thành phố lào cai"
    )
