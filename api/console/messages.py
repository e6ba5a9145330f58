"""What the console says for each domain error: one catalogue of Vietnamese texts.

Domain errors (stations/errors.py, tts/errors.py) carry a stable dotted code and the
structured fields their English message was made from. The console never shows that
message: it looks the code up here and fills the Vietnamese template with the fields,
so rewording an English message changes nothing on screen.

A template is a `str.format` string over the error's fields. A format spec says how a
value is shown: `{status:state}` (a workflow or delivery state), `{level:level}` (an
area level), `{role:role}`, `{aired_at:time}` (a moment, on the console's clock),
`{first:date}` (a day); a list is shown comma-separated. An entry may also name the
form field the error belongs to (one of FORM_FIELDS); each form maps these names to
its own inputs (`form_error`).

An unknown code, or a template whose fields are missing, is logged and shown as the
generic text of the error's class, never as English. tests/console/test_error_catalogue.py
checks that every code raised in the code base has a text here, with its fields given.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Text:
    """The Vietnamese template of one error code, and the form field it belongs to."""

    template: str
    field: str | None = None


# Form fields an error can belong to; forms map them to their inputs' names.
FORM_FIELDS = frozenset(
    {
        "area",
        "bulletin",
        "description",
        "events",
        "first_day",
        "languages",
        "password",
        "reason",
        "recording",
        "reviewers",
        "text",
        "title",
        "until",
        "url",
        "voice",
        "when",
    }
)

FALLBACK = "Không thực hiện được thao tác này. Hãy thử lại hoặc báo cho quản trị viên."

_SCHEDULE_EXAMPLES = "“thứ hai đến thứ sáu lúc 6:00”, “hằng ngày lúc 6h30”, “ngày 10/12 lúc 7h”"

CATALOGUE: dict[str, Text] = {
    # Generic texts of each error class (a raise that names no code of its own).
    "error.failed": Text(FALLBACK),
    "error.not_found": Text(
        "Không tìm thấy dữ liệu cần tìm, hoặc dữ liệu nằm ngoài địa bàn của bạn"
    ),
    "error.conflict": Text("Thao tác trái với dữ liệu đã lưu. Hãy tải lại trang rồi thử lại"),
    "error.invalid": Text("Dữ liệu đã nhập không hợp lệ. Hãy kiểm tra lại"),
    "error.forbidden": Text("Bạn không có quyền làm việc này"),
    "error.too_large": Text("Tệp gửi lên quá lớn"),
    "request.nul_character": Text(
        "Địa chỉ trang có ký tự không hợp lệ (ký tự NUL). Hãy kiểm tra lại đường dẫn"
    ),
    "error.too_many_attempts": Text(
        "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {retry_after} giây", "password"
    ),
    "tts.failed": Text("Không tạo được âm thanh. Hãy thử lại hoặc tải lên bản ghi âm"),
    "tts.invalid_text": Text("Nội dung này không đọc thành tiếng được", "text"),
    "tts.unsupported_language": Text(
        "Chưa có bộ đọc cho ngôn ngữ này: hãy tải lên bản ghi âm của bản tin"
    ),
    "tts.engine_unavailable": Text("Bộ đọc chưa tạo được âm thanh. Hãy thử lại sau"),
    "recording.invalid": Text(
        "Tệp ghi âm không dùng được. Hãy ghi âm lại rồi tải lên", "recording"
    ),
    "audio.processing_failed": Text(
        "Máy chủ chưa xử lý được âm thanh. Hãy thử lại hoặc báo cho quản trị viên"
    ),
    # Areas and the area import.
    "area.not_found": Text("Không tìm thấy địa bàn '{area_code}'", "area"),
    "area.exists": Text("Mã địa bàn '{area_code}' đã có", "area"),
    "area.bad_parent_level": Text(
        "Cấp {level:level} không thể nằm dưới {parent_level:level} '{parent_code}': hãy kiểm "
        "tra mã địa bàn cấp trên hoặc cấp của địa bàn",
        "area",
    ),
    "area.child_level": Text(
        "Địa bàn '{area_code}' không thể thành cấp {level:level}: địa bàn trực thuộc "
        "'{child_code}' là cấp {child_level:level}"
    ),
    "area.cycle": Text(
        "Không thể chuyển địa bàn '{area_code}' vào dưới '{parent_code}': địa bàn cấp trên "
        "mới lại nằm trong chính địa bàn này"
    ),
    "area.root_needs_admin": Text(
        "Chỉ quản trị toàn hệ thống mới tạo được địa bàn cấp cao nhất", "area"
    ),
    "area_import.bad_header": Text(
        "Tệp {path} có dòng tiêu đề sai: dòng đầu phải là code,name,level,parent_code"
    ),
    "area_import.bad_border": Text(
        "Dòng {line}: cột biên giới phải là 1 (xã biên giới) hoặc 0, không phải “{value}”"
    ),
    "area_import.duplicate_codes": Text("Tệp có mã địa bàn trùng nhau: {area_codes}"),
    "area_import.missing_columns": Text("Dòng {line}: thiếu cột {columns}"),
    "area_import.parent_missing": Text(
        "Dòng {line}: địa bàn cấp trên '{parent_code}' của '{area_code}' không có trong hệ "
        "thống lẫn trong tệp"
    ),
    "area_import.unknown_level": Text(
        "Dòng {line}: cấp địa bàn '{level}' không hợp lệ (dùng province, district, commune "
        "hoặc village)"
    ),
    # Registering many stations and receivers from one file.
    "fleet_import.not_text": Text(
        "Tệp không phải văn bản UTF-8: hãy lưu bảng tính dạng “CSV UTF-8”"
    ),
    "fleet_import.empty": Text("Tệp trống: dòng đầu phải là dòng tiêu đề các cột"),
    "fleet_import.bad_header": Text(
        "Dòng tiêu đề sai: các cột được dùng là {columns} (bắt buộc có area_code và station_name)"
    ),
    "fleet_import.too_many_rows": Text("Tệp có quá {limit} dòng: hãy chia thành nhiều tệp"),
    "fleet_import.bad_csv": Text("Dòng {line}: không đọc được tệp dạng CSV"),
    "fleet_import.invalid": Text(
        "Tệp có {count} lỗi nên chưa ghi gì cả; lỗi đầu tiên ở dòng {line}"
    ),
    # Stations, receivers, languages.
    "station.not_found": Text("Không tìm thấy đài {station_id}"),
    "programme.nothing_to_air": Text(
        "Đài {station_id} không có gì để phát trong chương trình này (bản tin chưa duyệt, "
        "đã sửa sau khi duyệt hoặc không có bản ở ngôn ngữ của đài)"
    ),
    "programme.station_not_targeted": Text(
        "Lịch phát {broadcast_id} không phát ở đài {station_id}"
    ),
    "station.area_not_commune": Text(
        "Địa bàn '{area_code}' là cấp {level:level}: đài thuộc về một xã (hoặc một thôn)", "area"
    ),
    "station.no_language": Text("Đài cần phát ít nhất một ngôn ngữ", "languages"),
    "station.language_twice": Text("Một ngôn ngữ được chọn hai lần", "languages"),
    "station.unknown_languages": Text(
        "Ngôn ngữ chưa có trong hệ thống hoặc đã ngừng dùng: {languages}", "languages"
    ),
    "receiver.not_found": Text("Không tìm thấy cụm loa '{receiver_id}'"),
    "receiver.exists": Text("Cụm loa '{receiver_id}' đã có"),
    "receiver.bad_id": Text(
        "Mã cụm loa '{receiver_id}' không hợp lệ: mã bắt đầu bằng {prefixes} và chỉ gồm chữ, "
        "số, '.', '_' và '-'"
    ),
    "receiver.station_inactive": Text(
        "Đài {station_id} đang ngừng hoạt động: hãy bật lại đài trước khi thêm cụm loa"
    ),
    "language.not_found": Text("Không tìm thấy ngôn ngữ '{language}'"),
    "language.exists": Text("Ngôn ngữ '{language}' đã có"),
    "language.unknown": Text("Ngôn ngữ '{language}' chưa có trong hệ thống hoặc đã ngừng dùng"),
    "language.not_aired": Text("Không đài nào ở {area} phát tiếng '{language}'"),
    "ident.unknown_kind": Text("Không có loại nhạc hiệu '{kind}'"),
    # Users, sign-in, tokens, roles.
    "role.not_allowed": Text("Vai trò của bạn không được làm việc này"),
    "auth.locked_out": Text(
        "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {retry_after} giây", "password"
    ),
    "user.not_found": Text("Không tìm thấy người dùng {user_id}"),
    "user.exists": Text("Tên đăng nhập '{username}' đã có người dùng"),
    "user.bad_username": Text(
        "Tên đăng nhập dài 3-64 ký tự, chỉ gồm chữ, số, dấu chấm, gạch ngang hoặc gạch dưới"
    ),
    "user.password_too_short": Text("Mật khẩu cần ít nhất {limit} ký tự", "password"),
    "user.area_required": Text(
        "Chỉ quản trị toàn hệ thống mới tạo được người dùng không thuộc địa bàn nào", "area"
    ),
    "user.role_needs_area": Text(
        "Người dùng có vai trò “{role:role}” cần thuộc một địa bàn", "area"
    ),
    "token.not_found": Text("Không tìm thấy khóa truy cập {token_id}"),
    # Bulletins and their language versions.
    "bulletin.not_found": Text("Không tìm thấy bản tin {bulletin_id}", "bulletin"),
    "bulletin.area_required": Text("Quản trị toàn hệ thống cần chọn địa bàn của bản tin", "area"),
    "bulletin.title_required": Text("Bản tin cần có tiêu đề", "title"),
    "bulletin.validity_reversed": Text("Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực"),
    "bulletin.language_twice": Text("Mỗi ngôn ngữ chỉ có một bản"),
    "bulletin.archived": Text("Bản tin {bulletin_id} đã lưu trữ, không sửa được nữa"),
    "bulletin.not_submittable": Text(
        "Bản tin {bulletin_id} đang ở trạng thái “{status:state}”: chỉ gửi duyệt được bản "
        "nháp hoặc bản tin bị từ chối"
    ),
    "bulletin.no_version": Text("Bản tin {bulletin_id} chưa có bản ngôn ngữ nào"),
    "bulletin.self_approval": Text(
        "Bạn là tác giả của bản tin {bulletin_id}: cần một người duyệt khác của địa bàn"
    ),
    "bulletin.not_reviewable": Text(
        "Bản tin {bulletin_id} đang ở trạng thái “{status:state}”: chỉ duyệt hoặc từ chối "
        "được bản tin đang chờ duyệt"
    ),
    "bulletin.audio_failed": Text(
        "Chưa duyệt được bản tin {bulletin_id}: không tạo được âm thanh cho bản {languages}. "
        "Hãy tải lên bản ghi âm hoặc sửa nội dung"
    ),
    "bulletin.audio_pending": Text(
        "Âm thanh của bản {languages} đang được tạo, vui lòng nghe lại sau rồi mới duyệt"
    ),
    "bulletin.rejection_reason_required": Text("Cần ghi lý do từ chối", "reason"),
    "translation.not_found": Text("Bản tin {bulletin_id} chưa có bản {language}"),
    "translation.no_text": Text("Bản {language} là bản ghi âm, không có nội dung chữ"),
    "translation.empty_text": Text("Nội dung không được để trống", "text"),
    "translation.text_too_long": Text(
        "Nội dung dài {length} ký tự, quá mức tối đa {limit} ký tự: có lẽ nhiều bản tin đã "
        "dán chung, hãy tách ra",
        "text",
    ),
    "lexicon.not_found": Text("Không tìm thấy mục từ {entry_id}"),
    "lexicon.area_required": Text("Quản trị toàn hệ thống cần chọn địa bàn của mục từ", "area"),
    "lexicon.bad_term": Text("Từ cần đọc dài 1-100 ký tự, không có dấu cách ở đầu hoặc cuối"),
    "lexicon.empty_reading": Text("Cách đọc không được để trống"),
    "lexicon.term_exists": Text("“{term}” đã có cách đọc ở {area}: “{reading}”"),
    # Audio: rendering, previews, recordings.
    "audio.not_ready": Text("Âm thanh của bản {language} chưa sẵn sàng ({state:state})"),
    "audio.file_missing": Text("Tệp âm thanh của bản {language} không còn trên máy chủ"),
    "audio.store_failed": Text("Máy chủ không lưu được tệp âm thanh. Hãy báo cho quản trị viên"),
    "audio.ffmpeg_missing": Text(
        "Máy chủ chưa cài ffmpeg để xử lý âm thanh. Hãy báo cho quản trị viên"
    ),
    "audio.ffmpeg_timeout": Text(
        "Xử lý âm thanh quá lâu: tệp rất dài hoặc máy chủ đang quá tải. Hãy thử lại sau"
    ),
    "audio.ffmpeg_failed": Text(
        "Máy chủ không xử lý được âm thanh này. Hãy thử lại hoặc báo cho quản trị viên"
    ),
    "recording.empty": Text(
        "Tệp ghi âm trống: việc tải lên chưa xong, hãy tải lên lại", "recording"
    ),
    "recording.too_large": Text(
        "Tệp ghi âm lớn hơn {limit_mb} MB: hãy cắt ngắn hoặc gửi tệp mp3", "recording"
    ),
    "recording.undecodable": Text(
        "Không đọc được tệp ghi âm: tệp bị hỏng hoặc không phải tệp âm thanh (mp3, m4a, wav, ogg…)",
        "recording",
    ),
    "recording.too_long": Text(
        "Bản ghi âm dài quá {limit} giây: có lẽ ghi nhiều bản tin hoặc quên dừng ghi. Hãy cắt "
        "bớt rồi tải lên lại",
        "recording",
    ),
    "recording.silent": Text(
        "Bản ghi âm không có tiếng: micrô bị tắt hoặc bị rút ra khi ghi", "recording"
    ),
    "recording.too_quiet": Text(
        "Bản ghi âm quá nhỏ, gần như không nghe thấy: hãy chỉnh micrô to hơn rồi ghi lại",
        "recording",
    ),
    # Speech synthesis.
    "tts.no_engine": Text(
        "Chưa có bộ đọc nào đọc được {language_name} trên hệ thống này: hãy tải lên bản ghi "
        "âm của bản tin (bản ghi âm được dùng thay cho giọng đọc máy)"
    ),
    "tts.engine_lacks_language": Text("Bộ đọc {engine} không đọc được {language_name}"),
    "tts.unknown_engine": Text("Không có bộ đọc '{engine}' (đang bật: {engines})"),
    "tts.all_engines_failed": Text(
        "Chưa bộ đọc nào đọc được {language_name} lúc này (đã thử {engines}). Hãy thử lại sau "
        "hoặc tải lên bản ghi âm"
    ),
    "tts.empty_text": Text("Nội dung cần đọc đang trống", "text"),
    "tts.text_too_long": Text(
        "Nội dung dài {length} ký tự, quá mức tối đa {limit} ký tự của một mục phát: hãy chia "
        "thành nhiều phần",
        "text",
    ),
    "tts.nothing_to_read": Text(
        "Nội dung không có chữ nào đọc thành tiếng được (chỉ có dấu câu hoặc ký hiệu)", "text"
    ),
    "tts.speed_out_of_range": Text("Tốc độ đọc {speed} nằm ngoài khoảng từ 0,3 đến 3,0"),
    "tts.silent_output": Text("Bộ đọc {engine} chỉ trả về khoảng lặng"),
    "tts.unknown_codec": Text("Không có định dạng âm thanh '{codec}': chỉ có MP3 hoặc Opus"),
    # Voice and delivery codec of areas, stations and bulletins.
    "voice.unknown_engine": Text("Không có bộ đọc '{engine}' (chọn một trong: {engines})", "voice"),
    "voice.unknown_accent": Text(
        "Không có vùng giọng '{accent}': chọn giọng Bắc, Trung hoặc Nam", "voice"
    ),
    "voice.speed_out_of_range": Text(
        "Tốc độ đọc {speed} nằm ngoài khoảng cho phép, từ 0,7 đến 1,3", "voice"
    ),
    "voice.unknown_codec": Text(
        "Không có định dạng âm thanh '{codec}': chọn MP3 hoặc Opus", "voice"
    ),
    "voice.opus_bitrate_out_of_range": Text(
        "Tốc độ bit Opus {bitrate} kb/s nằm ngoài khoảng cho phép, từ 16 đến 24 kb/s", "voice"
    ),
    "tts.engine_failed": Text("Bộ đọc {engine} không đọc được nội dung này"),
    "tts.engine_unreachable": Text(
        "Không kết nối được bộ đọc {engine}: mất mạng hoặc dịch vụ đang lỗi"
    ),
    "tts.engine_bad_audio": Text("Bộ đọc {engine} trả về âm thanh không dùng được"),
    "tts.engine_token_missing": Text("Chưa cấu hình mã truy cập cho bộ đọc {engine}"),
    "tts.engine_token_refused": Text(
        "Dịch vụ {engine} không nhận mã truy cập (mã lỗi {status}): mã sai hoặc đã hết hạn"
    ),
    "tts.engine_request_refused": Text(
        "Dịch vụ {engine} từ chối yêu cầu (mã lỗi {status}): hãy kiểm tra giọng đọc và tốc độ "
        "trong cấu hình"
    ),
    # Broadcasts and their RRULE.
    "broadcast.not_found": Text("Không tìm thấy lịch phát {broadcast_id}"),
    "broadcast.airing_not_found": Text("Lịch phát {broadcast_id} không có lượt phát {seq}"),
    "broadcast.no_bulletin": Text("Chọn ít nhất một bản tin đã duyệt", "bulletin"),
    "broadcast.bulletin_twice": Text("Một bản tin được chọn hai lần", "bulletin"),
    "broadcast.bulletin_not_approved": Text(
        "Chỉ bản tin đã duyệt mới được lên lịch phát (chưa duyệt: {bulletin_ids})", "bulletin"
    ),
    "broadcast.no_area": Text("Chọn ít nhất một địa bàn", "area"),
    "broadcast.area_twice": Text("Một địa bàn được chọn hai lần", "area"),
    "broadcast.emergency_recurs": Text("Phát khẩn cấp phát ngay một lần, không lặp lại được"),
    "broadcast.start_required": Text("Cần có giờ bắt đầu phát", "when"),
    "broadcast.start_without_offset": Text("Giờ bắt đầu phát cần ghi kèm múi giờ", "when"),
    "broadcast.all_in_past": Text("Mọi lần phát đều đã ở trong quá khứ", "when"),
    "broadcast.already_cancelled": Text("Lịch phát {broadcast_id} đã bị hủy trước đó"),
    "rrule.dtstart_given": Text(
        "Ghi giờ bắt đầu ở ô riêng, không ghi DTSTART trong quy tắc lặp", "when"
    ),
    "rrule.endless": Text(
        "Quy tắc lặp không có điểm dừng: hãy thêm UNTIL=... hoặc COUNT=...", "when"
    ),
    # The rule itself is never shown: people read schedules in words.
    "rrule.invalid": Text("Quy tắc lặp không hợp lệ", "when"),
    "rrule.set_given": Text("Chỉ ghi được một quy tắc lặp", "when"),
    "rrule.too_many_airings": Text(
        "Lịch phát có hơn {limit} lượt phát: ngày kết thúc quá xa, hãy chia thành nhiều lịch",
        "when",
    ),
    "rrule.no_airing": Text("Quy tắc lặp không cho lượt phát nào", "when"),
    # Times in plain words (broadcast/schedule/recurrence.py).
    "schedule.unknown_words": Text(
        f"Không hiểu: {{words}}. Viết ví dụ: {_SCHEDULE_EXAMPLES}", "when"
    ),
    "schedule.count_without_days": Text(
        "“{words}” chưa nói rõ phát vào những ngày nào, giờ nào. Hãy ghi rõ, ví dụ: "
        "“thứ hai và thứ năm lúc 6:00”",
        "when",
    ),
    "schedule.week_without_days": Text(
        "“{words}” chưa nói rõ phát vào những ngày nào. Hãy ghi rõ, ví dụ: "
        "“thứ hai hằng tuần lúc 6:00”",
        "when",
    ),
    "schedule.not_a_time": Text(
        "“{time}” không phải giờ hợp lệ (giờ từ 0 đến 23, phút từ 00 đến 59)", "when"
    ),
    "schedule.period_hours": Text(
        "“{time}” không phải giờ hợp lệ: “{period}” chỉ đi với giờ {hours}", "when"
    ),
    "schedule.not_a_date": Text("“{date}” không phải ngày hợp lệ", "when"),
    "schedule.several_dates": Text(
        "Chỉ ghi được một ngày (đã ghi {dates}): mỗi ngày phát hãy tạo một lịch phát riêng",
        "when",
    ),
    "schedule.wrong_weekday": Text("Ngày {date} là “{weekday}”, không phải “{written}”", "when"),
    "schedule.words_clash": Text("Không ghi được “{words}” cùng với “{other}”", "when"),
    "schedule.no_time": Text(
        "Không đọc được giờ phát. Viết ví dụ: “hằng ngày lúc 6:00 và 17:00”, "
        "“thứ hai, thứ sáu lúc 6h30” hoặc “lúc 7:15”",
        "when",
    ),
    "schedule.no_day_in_period": Text(
        "Không có ngày nào đã chọn nằm trong thời gian phát (giữa “Từ ngày” và “Đến ngày”)",
        "when",
    ),
    "schedule.date_out_of_bounds": Text(
        "Ngày phải nằm trong khoảng {first} đến {last}", "first_day"
    ),
    "schedule.text_too_long": Text("Nội dung giờ phát dài quá {limit} ký tự", "when"),
    "schedule.until_missing": Text("Lịch lặp lại cần ngày kết thúc", "until"),
    "schedule.until_before_start": Text("Ngày kết thúc phải sau ngày bắt đầu", "until"),
    # Confirmations of legacy stations.
    "confirmation.ip_station": Text("Đài IP tự báo cáo; chỉ đài truyền thống cần xác nhận"),
    "confirmation.time_without_offset": Text("Giờ đã phát cần ghi kèm múi giờ"),
    "confirmation.in_future": Text(
        "Giờ đã phát {aired_at:time} chưa tới (bây giờ là {now:time}): chỉ xác nhận sau khi đã phát"
    ),
    "confirmation.no_delivery": Text("Lịch phát này chưa được gửi tới đài"),
    "confirmation.before_air_time": Text(
        "Giờ đã phát {aired_at:time} sớm hơn giờ phát theo lịch {air_at:time}"
    ),
    "feed_token.not_found": Text("Chưa có đường dẫn đăng ký lịch phát"),
    # One airing cancelled or moved.
    "airing.already_cancelled": Text("Lượt phát {ref} đã được hủy trước đó"),
    "airing.already_ended": Text("Lượt phát {ref} đã kết thúc: không hủy được nữa"),
    "airing.time_without_offset": Text("Giờ phát mới cần ghi kèm múi giờ"),
    "airing.not_movable": Text(
        "Lượt phát {ref} đã được gửi tới cụm loa: không đổi giờ được. "
        "Hãy hủy lượt này rồi lên lịch mới",
    ),
    "airing.in_past": Text("Giờ phát mới {air_at:time} đã qua"),
    "airing.out_of_order": Text(
        "Giờ mới phải nằm giữa lượt trước và lượt sau (lượt {other}: {other_at:time})",
    ),
    "airing.in_blackout": Text(
        "Giờ mới {air_at:time} rơi vào giờ cấm phát ({begins:time} đến {ends:time}): {reason}",
    ),
    # A series edited: this airing, this and the following ones, or all to come.
    "series.nothing_to_edit": Text(
        "Lịch phát {broadcast_id} không còn lượt nào để sửa: mọi lượt đã phát, "
        "đã kết thúc hoặc đã bị hủy"
    ),
    "series.seq_required": Text("Hãy chọn lượt phát cần sửa"),
    "series.airing_not_editable": Text(
        "Lượt phát {ref} đã phát, đã kết thúc hoặc đã bị hủy: chỉ sửa được các lượt sắp tới"
    ),
    "series.cancelled": Text("Lịch phát {broadcast_id} đã bị hủy: không sửa được"),
    "series.emergency": Text(
        "Lịch phát {broadcast_id} là tin khẩn cấp: hãy hủy và phát tin mới thay vì sửa"
    ),
    "series.invalid_title": Text("Tiêu đề phải là chữ"),
    # Blackout periods of an area.
    "schedule.blackout": Text(
        "{count} lượt phát rơi vào giờ cấm phát, lượt đầu tiên lúc {air_at:time} "
        "(cấm phát từ {begins:time} đến {ends:time}: {reason}). Hãy chọn giờ khác hoặc "
        "dời các lượt này sang sau giờ cấm",
        "when",
    ),
    "schedule.blackout_no_way_out": Text(
        "Lượt phát lúc {air_at:time} không tìm được giờ nào ngoài giờ cấm phát", "when"
    ),
    "blackout.no_reason": Text("Hãy ghi lý do cấm phát", "reason"),
    "blackout.reason_too_long": Text("Lý do cấm phát dài quá {limit} ký tự", "reason"),
    "blackout.kind_unclear": Text(
        "Hãy nhập hoặc khung giờ hằng ngày, hoặc khoảng thời gian có ngày cụ thể", "when"
    ),
    "blackout.bad_window": Text(
        "Khung giờ hằng ngày cần giờ bắt đầu và giờ kết thúc khác nhau", "when"
    ),
    "blackout.bad_range": Text("Giờ cấm phát phải kết thúc sau khi bắt đầu", "when"),
    "blackout.time_without_offset": Text("Thời gian cấm phát cần ghi kèm múi giờ", "when"),
    "blackout.not_found": Text("Không tìm thấy giờ cấm phát {blackout_id}"),
    # Volume by time of day (stations/volume.py).
    "volume.bad_time": Text("Khung giờ {position}: giờ phải viết dạng HH:MM, từ 00:00 đến 24:00"),
    "volume.bad_percent": Text("Âm lượng phải là số nguyên từ 0 đến 100 (%)"),
    "volume.too_many": Text("Lịch âm lượng có tối đa {limit} khung giờ"),
    "volume.empty_window": Text("Khung giờ {position}: giờ bắt đầu và giờ kết thúc phải khác nhau"),
    "volume.overlap": Text(
        "Khung giờ {position} trùng với khung giờ {other} (lúc {at}): các khung giờ "
        "không được chồng lên nhau"
    ),
    # A station's broadcast hours and filler (stations/filler.py, broadcast/filler/).
    "filler.bad_time": Text(
        "Khung giờ phát {position}: giờ phải viết dạng HH:MM, từ 00:00 đến 24:00"
    ),
    "filler.too_many": Text("Đài có tối đa {limit} khung giờ phát thanh"),
    "filler.empty_window": Text(
        "Khung giờ phát {position}: giờ bắt đầu và giờ kết thúc phải khác nhau"
    ),
    "filler.overlap": Text(
        "Khung giờ phát {position} trùng với khung giờ {other} (lúc {at}): các khung giờ "
        "không được chồng lên nhau"
    ),
    "filler.no_windows": Text(
        "Muốn bật phát nền, hãy nhập ít nhất một khung giờ phát thanh của đài"
    ),
    "filler.no_tracks": Text("Muốn bật phát nền, hãy tải lên ít nhất một bản nhạc nền"),
    "filler.too_many_tracks": Text("Đài có tối đa {limit} bản nhạc nền"),
    "filler.bad_title": Text("Tên bản nhạc nền cần từ 1 đến {limit} ký tự"),
    "filler.track_not_found": Text("Đài {station_id} không có bản nhạc nền này"),
    "filler.last_track": Text(
        "Đây là bản nhạc nền cuối cùng của đài: hãy tắt phát nền trước khi xoá"
    ),
    # Webhook subscriptions.
    "webhook.bad_url": Text(
        "Địa chỉ nhận phải bắt đầu bằng http:// hoặc https://, có tên máy, "
        "dài tối đa {limit} ký tự",
        "url",
    ),
    "webhook.no_events": Text("Hãy chọn ít nhất một loại sự kiện", "events"),
    "webhook.unknown_event": Text("Loại sự kiện không có: {event_types}", "events"),
    "webhook.description_too_long": Text("Mô tả dài quá {limit} ký tự", "description"),
    "webhook.not_found": Text("Không tìm thấy đăng ký webhook {subscription_id}"),
    "webhook.bad_overlap": Text("Khóa cũ chỉ được ký kèm từ 0 đến {maximum} giờ"),
    # Sending a failed delivery again.
    "resend.not_dispatched": Text(
        "Lượt phát {ref} chưa được gửi đi hoặc đã hủy: không gửi lại được"
    ),
    "resend.expired": Text("Lượt phát {ref} đã hết hạn lúc {expires_at:time}: không gửi lại được"),
    "resend.too_many": Text("Mỗi lần chỉ gửi lại được tối đa {limit} cụm loa"),
    "resend.receiver_not_in_airing": Text("Cụm loa này không có trong lượt phát"),
    "resend.not_failed": Text("Cụm loa này không bị lỗi: không cần gửi lại"),
    # Voice announcements.
    "announcement.no_title": Text("Thông báo cần có tiêu đề", "title"),
    "announcement.title_too_long": Text("Tiêu đề dài quá {limit} ký tự", "title"),
    "announcement.no_area": Text("Chọn địa bàn cần nghe thông báo", "area"),
    # Reports.
    "report.time_without_offset": Text("Thời gian của báo cáo cần ghi kèm múi giờ"),
    "report.period_reversed": Text("Ngày kết thúc phải sau ngày bắt đầu"),
    "report.period_too_long": Text("Một báo cáo gồm tối đa {limit} ngày"),
    "report.day_out_of_bounds": Text("Ngày phải từ {first:date} đến {last:date}"),
    "dead_letter.not_found": Text("Không tìm thấy tin nhắn lỗi {letter_id}"),
    # API token scopes.
    "token.scope_required": Text("Việc này cần khóa truy cập (API token) có quyền “{scope}”"),
    "token.unknown_scope": Text("Quyền “{scope}” của khóa truy cập không có (có: {known})"),
    # CAP alerts and their per-area rules.
    "cap.empty": Text("Bản tin cảnh báo CAP trống"),
    "cap.too_large": Text("Bản tin cảnh báo CAP lớn hơn {limit_mb} MB"),
    "cap.malformed": Text("Bản tin cảnh báo CAP không phải XML hợp lệ: {problem}"),
    "cap.doctype": Text(
        "Bản tin cảnh báo CAP khai báo DTD (<!DOCTYPE>): không được chấp nhận vì lý do an toàn"
    ),
    "cap.not_cap": Text(
        "Tài liệu không phải bản tin cảnh báo CAP 1.2 (không gian tên {namespace})"
    ),
    "cap.invalid": Text("Bản tin cảnh báo CAP sai lược đồ CAP 1.2 tại {path}: {problem}"),
    "cap.bad_reference": Text(
        "Mục tham chiếu “{reference}” của bản tin CAP không có dạng “người gửi,mã,thời gian”"
    ),
    "cap.identifier_reused": Text(
        "Đã nhận một cảnh báo mã “{identifier}” của {sender} với nội dung khác: "
        "cảnh báo mới cần mã mới"
    ),
    "cap.reference_unknown": Text(
        "Bản tin hủy không nhắc tới cảnh báo nào của {sender} đã nhận ở đây"
    ),
    "cap.no_info": Text("Bản tin cảnh báo CAP không có phần nội dung (info) nào để phát"),
    "cap.no_area": Text(
        "Không địa bàn nào của cảnh báo khớp với địa bàn của bạn (không khớp: {unmatched})"
    ),
    "cap.no_vietnamese": Text(
        "Cảnh báo không có nội dung tiếng Việt (vi-VN): mọi bản tin đều phát tiếng Việt trước"
    ),
    "cap.expired": Text("Cảnh báo đã hết hiệu lực lúc {expires:time}: không còn gì để phát"),
    "cap.bad_shape": Text("Vùng cảnh báo ({shape}) có tọa độ không hợp lệ"),
    "alert.not_found": Text("Không tìm thấy cảnh báo {alert_id}"),
    "alert.not_held": Text("Cảnh báo {alert_id} không còn chờ duyệt"),
    "alert.no_bulletin": Text("Cảnh báo {alert_id} không có bản tin"),
    "alert.vietnamese_unvoiced": Text(
        "Cảnh báo {alert_id} không phát được: không đọc được bản tiếng Việt"
    ),
    "alert_rule.bad_hold": Text("Thời gian chờ duyệt phải từ 0 đến {limit} phút"),
    "alert_rule.bad_feed": Text("Địa chỉ nguồn cảnh báo phải bắt đầu bằng http:// hoặc https://"),
    "alert_rule.bad_repeat": Text("Khoảng phát lại phải từ 5 đến {limit} phút"),
    # campaigns
    "campaign.not_found": Text("Không tìm thấy chiến dịch {campaign_id}"),
    "campaign.name_required": Text("Chiến dịch cần có tên", "title"),
    "campaign.name_too_long": Text("Tên chiến dịch dài quá {limit} ký tự", "title"),
    "campaign.legal_basis_too_long": Text("Căn cứ của chiến dịch dài quá {limit} ký tự"),
    "campaign.theme_code_required": Text("Mỗi nội dung tuyên truyền cần có mã"),
    "campaign.theme_code_too_long": Text("Mã nội dung tuyên truyền dài quá {limit} ký tự"),
    "campaign.theme_name_required": Text("Mỗi nội dung tuyên truyền cần có tên"),
    "campaign.theme_name_too_long": Text("Tên nội dung tuyên truyền dài quá {limit} ký tự"),
    "campaign.theme_twice": Text("Mã nội dung tuyên truyền “{theme}” bị ghi hai lần"),
    "campaign.too_many_themes": Text("Một chiến dịch có tối đa {limit} nội dung tuyên truyền"),
    "campaign.too_many_targets": Text("Một chiến dịch có tối đa {limit} địa bàn"),
    "campaign.period_reversed": Text(
        "Ngày kết thúc chiến dịch phải từ ngày bắt đầu trở đi", "until"
    ),
    "campaign.period_too_long": Text("Một chiến dịch kéo dài tối đa {limit} ngày", "until"),
    "campaign.bad_target": Text("Chỉ tiêu là số nguyên từ 0 đến 10000"),
    "campaign.language_unknown": Text("Không có ngôn ngữ “{language}”", "languages"),
    "campaign.target_twice": Text("Địa bàn {area_code} bị chọn hai lần", "area"),
    "campaign.target_outside": Text(
        "Địa bàn {area_code} nằm ngoài địa bàn {owner_code} của chiến dịch", "area"
    ),
    "campaign.area_required": Text("Hãy chọn địa bàn của chiến dịch", "area"),
    "campaign.outside_area": Text("Chỉ địa bàn chủ trì mới được sửa chiến dịch {campaign_id}"),
    "campaign.theme_in_use": Text("Nội dung tuyên truyền “{theme}” còn bản tin, không bỏ được"),
    "campaign.theme_without_campaign": Text(
        "Hãy chọn chiến dịch trước khi chọn nội dung tuyên truyền", "bulletin"
    ),
    "campaign.not_for_area": Text(
        "Chiến dịch {campaign_id} không áp dụng cho địa bàn {area_code}", "bulletin"
    ),
    "campaign.theme_not_in_campaign": Text(
        "Nội dung tuyên truyền đã chọn không thuộc chiến dịch {campaign_id}", "bulletin"
    ),
    # notifications: weekly digests, language gap alerts, users' e-mail
    "digest.not_found": Text("Không tìm thấy bản tin tuần {digest_id}"),
    "notification.not_found": Text("Không tìm thấy thông báo {notification_id}"),
    "user.bad_email": Text("“{email}” không phải là địa chỉ thư điện tử"),
    "tts.nothing_to_join": Text("Không có đoạn âm thanh nào để ghép"),
    "tts.negative_gap": Text("Khoảng lặng giữa các đoạn không được âm ({gap_ms} ms)"),
    "template.not_found": Text("Không tìm thấy mẫu tin khẩn cấp {template_id}"),
    "template.unknown_hazard": Text("Loại thiên tai “{hazard}” không có trong danh sách"),
    "template.name_required": Text("Mẫu tin cần có tên (từ 1 đến 200 ký tự)", "title"),
    "template.exists": Text(
        "{area} đã có mẫu tin cho loại thiên tai này bằng ngôn ngữ {language} (mẫu {template_id})"
    ),
    "template.part_count": Text("Một mẫu tin có từ 1 đến {limit} đoạn (đang có {count})"),
    "template.unknown_part_kind": Text(
        "Đoạn {position}: loại đoạn “{kind}” không hợp lệ (ghi âm, lời đọc hoặc ô điền)"
    ),
    "template.unknown_slot": Text("Đoạn {position}: ô điền cần có tên hợp lệ ({slots})"),
    "template.text_required": Text(
        "Đoạn {position}: lời đọc cần có từ 1 đến {limit} ký tự", "text"
    ),
    "template.unknown_part": Text(
        "Đoạn {position}: đoạn {part_id} không phải đoạn ghi âm của mẫu tin này"
    ),
    "template.part_not_found": Text("Mẫu tin {template_id} không có đoạn {position}"),
    "template.not_phrase": Text(
        "Đoạn {position} không phải đoạn ghi âm: chỉ đoạn ghi âm mới tải bản thu lên được",
        "recording",
    ),
    "template.slot_value_required": Text(
        "Giá trị của ô điền cần có từ 1 đến {limit} ký tự", "text"
    ),
    "template.slot_recording_not_found": Text(
        "Mẫu tin {template_id} không có bản thu {recording_id} của ô điền"
    ),
    "template.self_review": Text(
        "Bạn là người soạn mẫu tin {template_id}: một người duyệt khác của địa bàn phải duyệt"
    ),
    "template.incomplete": Text(
        "Mẫu tin {template_id} chưa đủ: còn đoạn ghi âm chưa có bản thu ({positions})"
    ),
    "template.audio_missing": Text(
        "Mẫu tin {template_id}: tệp âm thanh của đoạn {position} bị mất; hãy tải bản thu lên lại"
    ),
    "template.audio_not_found": Text("Mẫu tin {template_id} không có tệp âm thanh này"),
    # Language reviewers of an area and their sign-off on each version.
    "language_reviewer.unknown_user": Text(
        "Không có người dùng đang hoạt động tên “{username}”", "reviewers"
    ),
    "language_reviewer.bad_role": Text(
        "“{username}” có vai trò {role:role}, không được duyệt ngôn ngữ", "reviewers"
    ),
    "language_reviewer.out_of_area": Text(
        "“{username}” làm việc ngoài địa bàn {area}: không xem được bản tin ở đây", "reviewers"
    ),
    "language_review.not_reviewer": Text("Bạn không phải người duyệt bản {language} của {area}"),
    "language_review.own_work": Text(
        "Bạn làm bản {language} của bản tin {bulletin_id}: một người duyệt khác của ngôn ngữ "
        "này phải duyệt"
    ),
    "language_review.note_too_long": Text("Ghi chú dài tối đa {limit} ký tự", "reason"),
    "language_review.note_required": Text(
        "Trả lại bản dịch cần ghi chú để người dịch biết cần sửa gì", "reason"
    ),
    "language_review.audio_not_ready": Text(
        "Âm thanh bản {language} của bản tin {bulletin_id} chưa sẵn sàng: hãy nghe trước khi duyệt"
    ),
    # relays: relay sources (live streams) and relay broadcasts
    "relay.source_not_found": Text("Không tìm thấy nguồn tiếp âm {source_id}"),
    "relay.no_name": Text("Nguồn tiếp âm cần có tên", "title"),
    "relay.name_too_long": Text("Tên nguồn tiếp âm dài quá {limit} ký tự", "title"),
    "relay.name_taken": Text("Địa bàn đã có nguồn tiếp âm tên “{name}”", "title"),
    "relay.bad_url": Text(
        "Địa chỉ luồng phát phải bắt đầu bằng http:// hoặc https:// (Icecast hoặc HLS)", "url"
    ),
    "relay.source_in_use": Text(
        "Nguồn tiếp âm đang được dùng cho lịch phát {broadcast_id}, không xóa được"
    ),
    "relay.source_not_for_area": Text(
        "Nguồn tiếp âm {source_id} không dùng được cho địa bàn {area_code}", "area"
    ),
    "relay.with_bulletins": Text("Lịch tiếp âm không kèm bản tin", "bulletin"),
    "relay.incomplete": Text("Hãy chọn nguồn tiếp âm và thời lượng tiếp âm"),
    "relay.bad_duration": Text("Thời lượng tiếp âm từ 1 giây đến 24 giờ", "when"),
    "relay.emergency": Text("Tin khẩn cấp không phát bằng tiếp âm"),
}


class _Formatter(string.Formatter):
    """str.format with the console's ways of showing states, levels, roles and times.

    Times are shown on the wall clock of `zone` (the configured LOA_TIMEZONE).
    """

    def __init__(self, zone: tzinfo) -> None:
        super().__init__()
        self.zone = zone

    def format_field(self, value: Any, format_spec: str) -> str:
        # The labels live with the other page helpers, which import this module.
        from api.console import web

        tables = {"state": web.STATE_LABELS, "level": web.LEVEL_LABELS}
        if format_spec in tables:
            label = tables[format_spec].get(str(value), str(value))
            return label.lower() if format_spec == "level" else label
        if format_spec == "role":
            return next((v for k, v in web.ROLE_LABELS.items() if k.value == str(value)), "")
        if format_spec == "time" and isinstance(value, datetime):
            return web.localtime(value, "%H:%M %d/%m/%Y", zone=self.zone)
        if format_spec == "date":
            day = date.fromisoformat(value) if isinstance(value, str) else value
            return f"{day:%d/%m/%Y}"
        if isinstance(value, list | tuple | set | frozenset) and not format_spec:
            return ", ".join(str(v) for v in value)
        return str(super().format_field(value, format_spec))


# The format specs templates may use (the test of the catalogue checks them).
FORMAT_SPECS = frozenset({"", "state", "level", "role", "time", "date"})


def text_for(
    code: str | None, fields: Mapping[str, Any] | None = None, *, zone: tzinfo = UTC
) -> str | None:
    """The Vietnamese text of `code` filled with `fields` (times shown in `zone`); None
    when it cannot be said."""
    entry = CATALOGUE.get(code or "")
    if entry is None:
        log.warning("No Vietnamese text for the error code %r", code)
        return None
    try:
        return _Formatter(zone).format(entry.template, **(fields or {}))
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        log.warning("The Vietnamese text of %r cannot be filled with %r", code, fields)
        return None


def say(error: BaseException, *, zone: tzinfo = UTC) -> str:
    """What the console shows for a domain error: its code's text, else its class's, else
    the generic one (never the English message). Times in it are shown in `zone`."""
    code = getattr(error, "code", None)
    fields = getattr(error, "fields", None)
    shown = text_for(code, fields, zone=zone)
    if shown is None:
        generic = getattr(type(error), "default_code", None)
        shown = text_for(generic, fields, zone=zone) if generic and generic != code else None
    return shown or FALLBACK


def say_reason(code: str | None, fields: Mapping[str, Any] | None, default: str) -> str:
    """The text of a stored code and fields (a failed rendering), else that of `default`."""
    shown = text_for(code, fields) if code else None
    return shown or text_for(default) or FALLBACK


def field_of(error: BaseException) -> str | None:
    """The form field the error belongs to (one of FORM_FIELDS), if any."""
    entry = CATALOGUE.get(getattr(error, "code", None) or "")
    return entry.field if entry else None


def form_error(
    error: BaseException, inputs: Mapping[str, str], default: str, *, zone: tzinfo = UTC
) -> tuple[str, str]:
    """The form input to show a domain error next to, and its Vietnamese text (times in
    it shown in `zone`).

    `inputs` maps the catalogue's form fields to this form's input names; an error whose
    field the form lacks (or that has none) goes next to `default`.
    """
    field = field_of(error)
    return (inputs.get(field, default) if field else default), say(error, zone=zone)
