"""Word tables of plain-words recurrences, as written (matched without accents, any case).

Data only: broadcast/schedule/recurrence_rules.py reads them. Days are RFC 5545 BYDAY codes.
"""

from __future__ import annotations

from broadcast.schedule.recurrence_lexer import keyed, phrases

WEEK = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

# After "thứ" (or after a comma in "thứ 2, 4, 6"): the day's word or number.
WEEKDAY_WORDS = keyed(
    {"hai": "MO", "ba": "TU", "tư": "WE", "năm": "TH", "sáu": "FR", "bảy": "SA", "bẩy": "SA"}
)
WEEKDAY_NUMBERS = {2: "MO", 3: "TU", 4: "WE", 5: "TH", 6: "FR", 7: "SA"}
WEEKDAY_PREFIXES = phrases("thứ")
SHORT_WEEKDAY_PREFIX = phrases("t")  # T2 ... T7
SUNDAY = phrases("chủ nhật", "CN")
# How a day is named back in messages (Vietnamese, as people write it).
DAY_NAMES = {
    "MO": "thứ hai",
    "TU": "thứ ba",
    "WE": "thứ tư",
    "TH": "thứ năm",
    "FR": "thứ sáu",
    "SA": "thứ bảy",
    "SU": "chủ nhật",
}

# Several days at once.
DAY_SETS = keyed(
    {
        **dict.fromkeys(
            [
                "ngày thường",
                "các ngày thường",
                "ngày trong tuần",
                "các ngày trong tuần",
                "ngày làm việc",
                "các ngày làm việc",
            ],
            WEEK[:5],
        ),
        **dict.fromkeys(["cuối tuần", "ngày cuối tuần", "các ngày cuối tuần"], WEEK[5:]),
    }
)

EVERY_DAY = phrases("hằng ngày", "hàng ngày", "mỗi ngày", "ngày nào cũng", "tất cả các ngày")
EVERY_OTHER_DAY = phrases(
    "cách ngày", "cách một ngày", "cách 1 ngày", "2 ngày một lần", "hai ngày một lần"
)
EVERY_WEEK = phrases("hằng tuần", "hàng tuần", "mỗi tuần", "tuần nào cũng")

# Before a day: "mỗi thứ hai", "các ngày thứ 2, 4, 6", "vào thứ năm", "từ thứ hai đến ...".
# The repeating ones say the days come back every week.
BEFORE_DAY_REPEATING = phrases("mỗi", "các", "các ngày", "vào các ngày", "vào các", "vào mỗi")
BEFORE_DAY = phrases("vào", "vào ngày", "ngày", "từ", "từ ngày")
# Before a date: the day a campaign starts ("từ ngày 10/12 ..."), not a single airing.
BEFORE_START_DATE = phrases("từ", "kể từ", "bắt đầu từ", "bắt đầu")

# A clock time: "6:00", "6h30", "6g30", "17 giờ", "6 giờ 30 phút", "6 rưỡi".
HOUR_MARKS = phrases("h", "g", "giờ")
MINUTE_MARKS = phrases("phút", "p")
HALF_HOUR = phrases("rưỡi")
# Tokens after "6h 10" that show the number is not minutes ("7h 10/12", "7h 10 tháng 12").
NOT_MINUTES_AFTER = phrases("/", ":", "h", "g", "giờ", "tháng")

# Parts of the day and the written hours each accepts: (first, last, hours to add).
PERIOD_PREFIX = phrases("buổi")
PERIODS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "sáng": ((1, 11, 0),),
    "trưa": ((10, 12, 0), (1, 2, 12), (13, 14, 0)),
    "chiều": ((1, 7, 12), (13, 19, 0)),
    "tối": ((6, 11, 12), (18, 23, 0)),
    "đêm": ((9, 11, 12), (21, 23, 0), (12, 12, -12), (0, 4, 0)),
}
PERIOD_WORDS = keyed({name: name for name in PERIODS})

# A date: "10/12", "10/12/2026", "ngày 10 tháng 12 năm 2026", "mùng 2/9".
DATE_PREFIXES = phrases("ngày", "mùng", "mồng")
MONTH_WORD = phrases("tháng")
YEAR_WORD = phrases("năm")

# "mỗi tuần 2 buổi": how many, without saying which days and times.
COUNT_NUMBER_WORDS = phrases("một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười")
COUNT_UNITS = phrases("buổi", "lần", "lượt")
COUNT_BEFORE = phrases(
    "mỗi tuần", "hằng tuần", "hàng tuần", "một tuần", "1 tuần", "tuần",
    "mỗi ngày", "hằng ngày", "hàng ngày", "một ngày", "1 ngày", "ngày",
)  # fmt: skip
COUNT_AFTER = phrases(
    "mỗi tuần", "một tuần", "1 tuần", "/ tuần", "trong tuần", "hằng tuần", "hàng tuần",
    "mỗi ngày", "một ngày", "1 ngày", "/ ngày", "trong ngày", "hằng ngày", "hàng ngày",
)  # fmt: skip

# Between items of a list, and between the two ends of a range of days.
LIST_WORDS = phrases("và", ",", "&", "+")
RANGE_WORDS = phrases("đến", "tới", "cho đến", "-")

# Words that carry no meaning of their own here.
FILLERS = phrases(
    "lúc", "vào lúc", "vào hồi", "hồi", "vào", "phát", "phát sóng", "phát thanh",
    ".", ";", "!", "(", ")",
)  # fmt: skip
