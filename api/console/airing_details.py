"""Vietnamese for the details dispatch writes on airings and deliveries.

The details come from broadcast/delivery/dispatch.py.

Details are stored in English, like every domain message: lines of "Station 'A': " or
"Stations 'A', 'B': " followed by a reason ("No content to air: …", "Blocked: …",
"Left out: …") made of clauses joined by "; ". Each part is translated on its own; a
part not recognised (another firmware's own detail, an operator's note) is shown as it is.
The receiver agent's own failure reasons (stations/agent.py) are translated too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Bulletin states as a clause names them.
_STATUS = {
    "draft": "bản nháp",
    "submitted": "chờ duyệt",
    "approved": "đã duyệt",
    "rejected": "bị từ chối",
    "archived": "lưu trữ",
}

_HEADS = (
    ("No content to air: ", "Không có nội dung để phát: "),
    ("Blocked: ", "Bị chặn, không gửi: "),
    ("Left out: ", "Không phát: "),
    ("Unsupported: ", "Không gửi: "),
)
_STATIONS = re.compile(r"^Stations? ((?:'[^']*'(?:, )?)+): (.*)$")
_NAME = re.compile(r"'([^']*)'")

Clause = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_CLAUSES: list[Clause] = [
    (
        re.compile(r"^bulletin (\d+) '(.*)' was changed after its approval and is (\w+) again$"),
        lambda m: (
            f"bản tin {m[1]} «{m[2]}» đã bị sửa sau khi duyệt "
            f"(nay là {_STATUS.get(m[3], m[3])}, cần duyệt lại)"
        ),
    ),
    (
        re.compile(r"^bulletin (\d+) '(.*)' changed since its approval$"),
        lambda m: f"bản tin {m[1]} «{m[2]}» đã thay đổi sau khi duyệt",
    ),
    (
        re.compile(r"^bulletin (\d+) '(.*)' is (\w+), not approved$"),
        lambda m: f"bản tin {m[1]} «{m[2]}» không còn được duyệt ({_STATUS.get(m[3], m[3])})",
    ),
    (
        re.compile(r"^bulletin (\d+) does not exist or is not for this station's area$"),
        lambda m: f"bản tin {m[1]} không có hoặc không dành cho địa bàn của đài",
    ),
    (
        re.compile(
            r"^bulletin (\d+) '(.*)' has no version in any language this station airs \((.*)\)$"
        ),
        lambda m: f"bản tin {m[1]} «{m[2]}» không có bản nào bằng ngôn ngữ đài phát ({m[3]})",
    ),
    (
        re.compile(r"^bulletin (\d+) '(.*)' has no '(.*)' version$"),
        lambda m: f"bản tin {m[1]} «{m[2]}» chưa có bản tiếng '{m[3]}'",
    ),
    # The receiver agent's reasons for a failed download or playback.
    (
        re.compile(r"^cannot connect to the media server \((.*)\)$", re.DOTALL),
        lambda m: f"không tải được âm thanh: {_connect_reason(m[1])}",
    ),
    (
        re.compile(r"^the media server did not answer in time$"),
        lambda m: "không tải được âm thanh: máy chủ không trả lời kịp",
    ),
    (
        re.compile(r"^HTTP 401: .*$"),
        lambda m: "không tải được âm thanh: máy chủ từ chối đăng nhập của cụm loa (HTTP 401)",
    ),
    (
        re.compile(r"^HTTP 404: .*$"),
        lambda m: "không tải được âm thanh: máy chủ không có tệp này (HTTP 404)",
    ),
    (
        re.compile(r"^HTTP (\d{3}): .*$"),
        lambda m: f"không tải được âm thanh: máy chủ báo lỗi HTTP {m[1]}",
    ),
    # Relays: what dispatch and the receiver agent say of a relay.
    (
        re.compile(r"^the receiver did not declare relay support .*$", re.DOTALL),
        lambda m: "cụm loa không báo hỗ trợ tiếp âm nên không được gửi lượt tiếp âm",
    ),
    (
        re.compile(r"^relayed ([\d.]+) s, lost ([\d.]+) s(?: over (\d+) reconnects?)?$"),
        lambda m: (
            f"đã tiếp âm {_number(m[1])} giây, mất {_number(m[2])} giây"
            + (f", kết nối lại {m[3]} lần" if m[3] else "")
        ),
    ),
    (
        re.compile(r"^stream unreachable for the whole window: (.*)$", re.DOTALL),
        lambda m: (
            f"không kết nối được luồng tiếp âm suốt thời gian tiếp âm: {_connect_reason(m[1])}"
        ),
    ),
    (
        re.compile(r"^unsupported item type: (.*)$"),
        lambda m: f"cụm loa không hỗ trợ loại nội dung này ({m[1]})",
    ),
    (
        re.compile(r"^unsupported programme: .*$", re.DOTALL),
        lambda m: "cụm loa không đọc được chương trình phát",
    ),
    (
        re.compile(r"^the relay window ended before air time$"),
        lambda m: "đã hết giờ tiếp âm trước khi phát",
    ),
    (
        re.compile(r"^every language the station airs is required$"),
        lambda m: "đài chỉ phát khi có đủ mọi ngôn ngữ của đài",
    ),
    (
        re.compile(r"^nothing approved to air in this slot$"),
        lambda m: "không có bản tin đã duyệt nào cho lượt phát này",
    ),
    (
        re.compile(r"^the programme could not be built \((.*)\)$", re.DOTALL),
        lambda m: f"không dựng được chương trình phát của đài (lỗi: {m[1]})",
    ),
    (
        re.compile(r"^the airing could not be dispatched \((.*)\)$", re.DOTALL),
        lambda m: f"không gửi được lượt phát (lỗi: {m[1]})",
    ),
    (
        re.compile(
            r"^bulletins ([\d, ]+) did not fit in the slot and are carried to the next airing$"
        ),
        lambda m: f"bản tin {m[1]} không đủ thời lượng của lượt phát: chuyển sang lượt sau",
    ),
    (
        re.compile(
            r"^bulletins ([\d, ]+) did not fit in the slot and there is no next airing: not aired$"
        ),
        lambda m: (
            f"bản tin {m[1]} không đủ thời lượng của lượt phát và không còn lượt phát "
            "sau: không được phát"
        ),
    ),
]


def _number(text: str) -> str:
    """A decimal number as Vietnamese writes it (a comma)."""
    return text.replace(".", ",")


def _connect_reason(text: str) -> str:
    """Why a connection failed, from the operating system's words."""
    if "Errno 111" in text or "refused" in text.lower():
        return "máy chủ từ chối kết nối"
    if "Errno -2" in text or "Errno -3" in text or "Name or service" in text:
        return "không tìm thấy địa chỉ máy chủ"
    if "Errno 113" in text or "Errno 101" in text or "unreachable" in text.lower():
        return "không có đường mạng tới máy chủ"
    return "không kết nối được máy chủ"


def _clause(text: str) -> str:
    for pattern, say in _CLAUSES:
        match = pattern.match(text)
        if match:
            return say(match)
    return text


def _line(text: str) -> str:
    stations = _STATIONS.match(text)
    if stations:
        return f"{', '.join(_NAME.findall(stations[1]))}: {_line(stations[2])}"
    head = ""
    for english, vietnamese in _HEADS:
        if text.startswith(english):
            head, text = vietnamese, text[len(english) :]
            break
    return head + "; ".join(_clause(part) for part in text.split("; "))


def vietnamese_detail(detail: str | None) -> str:
    """The Vietnamese of an airing's or delivery's detail (lines kept apart by newlines)."""
    if not detail:
        return ""
    return "\n".join(_line(line) for line in detail.split("\n"))
