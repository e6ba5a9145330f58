"""The console's forms as pydantic models: the raw inputs as typed, and their own checks.

FastAPI fills a model from a form with `Annotated[Model, Form()]`. Fields are kept as
the strings people typed, so a refused form is shown again as it was; `problems()` says,
in Vietnamese and per input, what is wrong before any service is called. What only the
service can know (the caller's areas, the bulletin's state) comes back as a domain error.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.deps import parse_id
from stations.models import StationKind
from stations.protocol import Priority


class ConsoleForm(BaseModel):
    """A form's fields; the CSRF token and unknown inputs are ignored here."""

    model_config = ConfigDict(extra="ignore")

    def problems(self) -> dict[str, str]:
        """Input name -> what is wrong with it (empty when the form can go on)."""
        return {}

    def shown(self) -> dict[str, object]:
        """The values to fill the form with again."""
        return self.model_dump()


class BulletinForm(ConsoleForm):
    """A new bulletin with its Vietnamese text."""

    title: str = ""
    priority: str = "normal"
    campaign: str = ""
    # "<campaign id>" or "<campaign id>-<theme id>" (api/console/bulletin_pages.py)
    campaign_theme: str = ""
    area_code: str = ""
    text: str = ""

    def problems(self, *, needs_area: bool = False) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.title.strip():
            errors["title"] = "Hãy nhập tiêu đề"
        if self.priority not in Priority.__members__:
            errors["priority"] = "Mức ưu tiên không hợp lệ"
        if not self.text.strip():
            errors["text"] = "Hãy nhập nội dung tiếng Việt"
        if needs_area and not self.area_code:
            errors["area_code"] = "Quản trị toàn hệ thống cần chọn địa bàn"
        if self.campaign_theme and parse_campaign_theme(self.campaign_theme) is None:
            errors["campaign_theme"] = "Chiến dịch đã chọn không hợp lệ"
        return errors


def parse_campaign_theme(value: str) -> tuple[int | None, int | None] | None:
    """A campaign-and-theme choice ("", "12" or "12-5") as ids; None when malformed."""
    if not value:
        return None, None
    parts = value.split("-")
    if len(parts) > 2 or not all(p.isdigit() and 0 < len(p) < 10 for p in parts):
        return None
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else None


class ScheduleForm(ConsoleForm):
    """Approved bulletins, or a relay of a live stream, for areas, at times written in
    plain words."""

    what: str = "bulletins"  # "relay": a relay source's stream airs instead of bulletins
    bulletin_ids: list[str] = Field(default_factory=list)
    relay_source_id: str = ""
    relay_minutes: str = ""  # a relay's length, in minutes
    area_codes: list[str] = Field(default_factory=list)
    first_day: str = ""
    until: str = ""
    when: str = ""
    priority: str = "normal"
    title: str = ""
    action: str = ""  # "preview": show what the schedule does, save nothing
    blackout: str = "refuse"  # "move": airings inside a blackout move to its end

    def chosen_bulletins(self) -> list[int | None]:
        """The chosen bulletin ids; None for one that is not an id."""
        return [parse_id(i) for i in self.bulletin_ids if i.strip()]

    @property
    def relay(self) -> bool:
        """Whether the form schedules a relay rather than bulletins."""
        return self.what == "relay"

    def chosen_source(self) -> int | None:
        """The chosen relay source's id; None when none (or not an id) is chosen."""
        return parse_id(self.relay_source_id) if self.relay_source_id.strip() else None

    def duration_seconds(self) -> int | None:
        """The relay's length in seconds; None when left empty (the service refuses it)."""
        typed = self.relay_minutes.strip()
        return int(typed) * 60 if typed.isdigit() and len(typed) < 6 else None

    def problems(self) -> dict[str, str]:
        if self.relay:
            return self._relay_problems()
        errors: dict[str, str] = {}
        chosen = self.chosen_bulletins()
        if not chosen:
            errors["bulletin_ids"] = "Chọn ít nhất một bản tin đã duyệt"
        elif None in chosen:
            errors["bulletin_ids"] = "Chỉ chọn bản tin đã duyệt trong danh sách"
        if not self.area_codes:
            errors["area_codes"] = "Chọn ít nhất một địa bàn"
        if self.priority not in ("normal", "priority"):
            errors["priority"] = "Mức ưu tiên không hợp lệ (bản tin khẩn dùng nút Phát khẩn cấp)"
        return errors

    def _relay_problems(self) -> dict[str, str]:
        """What only the form can tell of a relay: the rest (a source and a length given,
        the length's bounds, no emergency) is the service's to refuse."""
        errors: dict[str, str] = {}
        if self.relay_source_id.strip() and self.chosen_source() is None:
            errors["relay_source_id"] = "Chỉ chọn nguồn tiếp âm trong danh sách"
        if self.relay_minutes.strip() and self.duration_seconds() is None:
            errors["relay_minutes"] = "Thời lượng tiếp âm là số phút, ví dụ 30"
        if not self.area_codes:
            errors["area_codes"] = "Chọn ít nhất một địa bàn"
        if self.priority not in Priority.__members__:
            errors["priority"] = "Mức ưu tiên không hợp lệ"
        return errors


class BlackoutForm(ConsoleForm):
    """A blackout of an area: a daily window, or a dated range, and its reason."""

    area_code: str = ""
    kind: str = "daily"  # "daily" or "dated"
    daily_start: str = ""
    daily_end: str = ""
    from_day: str = ""
    from_time: str = ""
    to_day: str = ""
    to_time: str = ""
    reason: str = ""

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.kind not in ("daily", "dated"):
            errors["kind"] = "Chọn khung giờ hằng ngày hoặc khoảng thời gian có ngày"
        if not self.reason.strip():
            errors["reason"] = "Hãy ghi lý do cấm phát"
        return errors


class EmergencyForm(ConsoleForm):
    """One approved bulletin sent at once to areas."""

    bulletin_id: str = ""
    area_codes: list[str] = Field(default_factory=list)

    def chosen_bulletin(self) -> int | None:
        return parse_id(self.bulletin_id)

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.chosen_bulletin() is None:
            errors["emergency_bulletin"] = "Chọn bản tin khẩn cấp đã duyệt"
        if not self.area_codes:
            errors["emergency_areas"] = "Chọn địa bàn cần phát"
        return errors


class StationForm(ConsoleForm):
    """A new station of a commune."""

    name: str = ""
    area_code: str = ""
    kind: str = "ip"
    languages: list[str] = Field(default_factory=list)

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.name.strip():
            errors["name"] = "Hãy nhập tên đài"
        if not self.area_code:
            errors["area_code"] = "Hãy chọn xã"
        if self.kind not in (StationKind.ip, StationKind.legacy):
            errors["kind"] = "Loại đài không hợp lệ"
        if not self.languages:
            errors["languages"] = "Chọn ít nhất một ngôn ngữ"
        return errors


class VoiceForm(ConsoleForm):
    """A station's voice and codec; an empty choice inherits (area above, then service)."""

    tts_engine: str = ""
    tts_accent: str = ""
    tts_speed: str = ""
    audio_codec: str = ""
    opus_bitrate_kbps: str = ""

    def speed(self) -> float | None:
        """The speed typed (1,2 or 1.2), None when empty or not a number."""
        typed = self.tts_speed.strip().replace(",", ".")
        try:
            return float(typed) if typed else None
        except ValueError:
            return None

    def bitrate(self) -> int | None:
        """The Opus bitrate chosen, None when empty or not a number."""
        return int(self.opus_bitrate_kbps) if self.opus_bitrate_kbps.isdigit() else None

    def changes(self) -> dict[str, object]:
        """Every voice field, None for those left to inherit."""
        return {
            "tts_engine": self.tts_engine or None,
            "tts_accent": self.tts_accent or None,
            "tts_speed": self.speed(),
            "audio_codec": self.audio_codec or None,
            "opus_bitrate_kbps": self.bitrate() if self.audio_codec == "opus" else None,
        }

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.tts_speed.strip() and self.speed() is None:
            errors["tts_speed"] = "Tốc độ đọc phải là một số, ví dụ 0,9 hoặc 1,2"
        if self.opus_bitrate_kbps and self.bitrate() is None:
            errors["opus_bitrate_kbps"] = "Chọn tốc độ bit 16, 20 hoặc 24 kb/s"
        return errors


class AreaVoiceForm(ConsoleForm):
    """The voice of one area of a station's chain (its inputs are named apart from the
    station's own voice form on the same page)."""

    voice_area: str = ""
    area_engine: str = ""
    area_accent: str = ""
    area_speed: str = ""

    def voice(self) -> VoiceForm:
        """The same choice as a voice form."""
        return VoiceForm(
            tts_engine=self.area_engine, tts_accent=self.area_accent, tts_speed=self.area_speed
        )

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        speed = self.voice().problems().get("tts_speed")
        if speed:
            errors["area_speed"] = speed
        if not self.voice_area:
            errors["voice_area"] = "Chọn xã, huyện hoặc tỉnh của đài"
        return errors


class VolumeForm(ConsoleForm):
    """Volume by time of day: one window a line, "21:00-06:00 60"; percents of the rest."""

    volume_windows: str = ""
    default_volume: str = "100"
    emergency_volume: str = "100"
    action: str = "save"

    def schedule(self) -> dict[str, object]:
        """The schedule as the REST API takes it (the parser checks the rest)."""
        windows: list[dict[str, object]] = []
        for line in self.volume_windows.splitlines():
            if not line.strip():
                continue
            span, _, level = line.strip().rpartition(" ")
            start, _, end = span.strip().partition("-")
            windows.append(
                {"start": start.strip(), "end": end.strip(), "volume": _whole(level.rstrip("%"))}
            )
        return {
            "windows": windows,
            "default_volume": _whole(self.default_volume),
            "emergency_volume": _whole(self.emergency_volume),
        }


def _whole(text: str) -> object:
    """A whole number typed, else the text itself (which the parser then refuses)."""
    typed = text.strip()
    return int(typed) if typed.isdigit() else typed


class FillerForm(ConsoleForm):
    """A station's broadcast hours, one window a line ("05:30-07:00"), and whether filler
    fills them."""

    filler_windows: str = ""
    filler_enabled: str = ""  # "on" when the switch is ticked

    @property
    def enabled(self) -> bool:
        """Whether the switch is on."""
        return self.filler_enabled == "on"

    def windows(self) -> list[dict[str, object]]:
        """The windows as the REST API takes them (the parser checks the rest)."""
        windows: list[dict[str, object]] = []
        for line in self.filler_windows.splitlines():
            if not line.strip():
                continue
            start, _, end = line.strip().replace("\u2013", "-").partition("-")
            windows.append({"start": start.strip(), "end": end.strip()})
        return windows
