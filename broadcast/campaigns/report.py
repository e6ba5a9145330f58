"""The report a campaign's owner area sends upward ("Báo cáo kết quả thực hiện").

Its figures are the campaign's progress (broadcast/campaigns/progress.py), counted from
the as-run record by the coverage report's rules, summed per commune, per district and
for the whole campaign: station airings planned, aired, on time, late and missed, the
minutes of campaign items aired, per language and per theme, and the stations that missed
airings. Building it takes the progress's fixed number of SQL statements and no more.

The writers of its files are broadcast/campaigns/report_xlsx.py and report_docx.py; the
REST route gives the same figures as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from broadcast.campaigns.progress import CampaignProgress, CommuneProgress, campaign_progress
from broadcast.campaigns.service import CampaignView
from broadcast.reports.coverage import LATE_AFTER_SECONDS
from stations.areas import Scope
from stations.timeutil import as_utc

MINUTES_DIGITS = 1  # minutes are shown, exported and compared to one decimal
NO_DISTRICT = "Không thuộc huyện"
# Level words an area's name starts with; the place of the document is the rest.
_LEVEL_WORDS = ("Tỉnh ", "Thành phố ", "Huyện ", "Thị xã ", "Quận ", "Xã ", "Phường ", "Thị trấn ")


@dataclass
class ReportRow:
    """The figures of one commune, one district or the whole campaign."""

    code: str
    name: str
    district_name: str | None = None
    border: bool = False
    communes: int = 0
    planned: int = 0
    aired: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    minutes: float = 0.0
    # language -> minutes aired, for the languages the row's stations air (or the campaign's)
    languages: dict[str, float] = field(default_factory=dict)
    themes: dict[str, float] = field(default_factory=dict)  # theme code -> minutes aired
    missed_stations: dict[str, int] = field(default_factory=dict)  # station name -> missed
    behind: list[str] = field(default_factory=list)  # the names of communes behind

    @property
    def percent(self) -> int | None:
        """Aired of planned, in whole percent (None when nothing was planned)."""
        return round(100 * self.aired / self.planned) if self.planned else None

    def add(self, other: ReportRow) -> None:
        """Sum another row's figures into this one."""
        self.communes += other.communes
        self.planned += other.planned
        self.aired += other.aired
        self.on_time += other.on_time
        self.late += other.late
        self.missed += other.missed
        self.minutes += other.minutes
        for lang, minutes in other.languages.items():
            self.languages[lang] = self.languages.get(lang, 0.0) + minutes
        for theme, minutes in other.themes.items():
            self.themes[theme] = self.themes.get(theme, 0.0) + minutes
        for station, missed in other.missed_stations.items():
            self.missed_stations[station] = self.missed_stations.get(station, 0) + missed
        self.behind += other.behind
        self.border = self.border or other.border


@dataclass
class CampaignReport:
    """Everything the report shows, in the order it shows it."""

    campaign_id: int
    campaign_name: str
    legal_basis: str | None
    area_code: str
    area_name: str
    first_day: date
    last_day: date
    produced_on: date
    timezone: str
    theme_names: dict[str, str]  # theme code -> name, in the campaign's order
    language_names: dict[str, str]  # the languages of the rows, in order -> name
    communes: list[ReportRow]
    districts: list[ReportRow]
    total: ReportRow

    @property
    def place(self) -> str:
        """The owner area's name without its level word (the place the document is dated)."""
        for word in _LEVEL_WORDS:
            if self.area_name.startswith(word):
                return self.area_name[len(word) :]
        return self.area_name

    @property
    def summary(self) -> str:
        """A short text written from the figures."""
        total = self.total
        border = sum(1 for c in self.communes if c.border)
        if border == len(self.communes):
            communes = f"{count(len(self.communes))} xã biên giới"
        else:
            communes = f"{count(len(self.communes))} xã (có {count(border)} xã biên giới)"
        text = (
            f"Trong kỳ từ ngày {day(self.first_day)} đến ngày {day(self.last_day)}, "
            f"{communes} đã phát {count(total.aired)} lượt tuyên truyền với "
            f"{minutes(total.minutes)} phút"
        )
        if total.planned:
            text += f", đạt {percent(total.percent)} kế hoạch ({count(total.planned)} lượt)"
        text += f"; {count(total.on_time)} lượt đúng giờ, {count(total.late)} lượt trễ giờ"
        text += f", {count(total.missed)} lượt bỏ lỡ."
        if total.missed_stations:
            stations = len(total.missed_stations)
            text += f" {count(stations)} đài có lượt bỏ lỡ."
        if total.behind:
            text += f" {count(len(total.behind))} xã chậm tiến độ: {', '.join(total.behind)}."
        else:
            text += " Không có xã nào chậm tiến độ."
        return text


def count(value: int) -> str:
    """A whole number the Vietnamese way: 1.234."""
    return f"{value:,}".replace(",", ".")


def minutes(value: float) -> str:
    """Minutes the Vietnamese way, to one decimal: 1.234,5 (no decimal when whole)."""
    text = f"{value:,.{MINUTES_DIGITS}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return text.removesuffix(",0")


def percent(value: int | None) -> str:
    """A share in whole percent ("96 %"); a dash when there is none."""
    return "—" if value is None else f"{value} %"


def day(value: date) -> str:
    """A day as dd/mm/yyyy."""
    return value.strftime("%d/%m/%Y")


def rounded(value: float) -> float:
    """Minutes as the report gives them."""
    return round(value, MINUTES_DIGITS)


def _commune_row(commune: CommuneProgress, themes: list[str]) -> ReportRow:
    figures = commune.airings
    row = ReportRow(
        code=commune.code,
        name=commune.name,
        district_name=commune.district_name,
        border=commune.border,
        communes=1,
        planned=figures.planned,
        aired=figures.aired,
        on_time=figures.on_time,
        late=figures.late,
        missed=figures.missed,
        minutes=figures.minutes_aired,
        behind=[commune.name] if commune.behind else [],
    )
    for lang, lp in commune.languages.items():
        row.languages[lang] = lp.figures.minutes_aired
    for code in themes:
        row.themes[code] = sum(
            tp.figures.minutes_aired for (theme, _), tp in commune.themes.items() if theme == code
        )
    for station in sorted(commune.stations.values(), key=lambda s: s.name):
        if station.figures.missed:
            row.missed_stations[station.name] = station.figures.missed
    return row


def report_of(progress: CampaignProgress, view: CampaignView, produced_on: date) -> CampaignReport:
    """The report of a campaign's progress over its period."""
    themes = list(progress.theme_names)
    # By district (those under no district last), then by commune code.
    ordered = sorted(
        progress.communes,
        key=lambda c: (c.district_code is None, c.district_name or "", c.district_code, c.code),
    )
    communes = [_commune_row(c, themes) for c in ordered]
    districts: dict[str, ReportRow] = {}
    total = ReportRow(code=view.area.code, name=view.area.name)
    for commune, row in zip(ordered, communes, strict=True):
        key = commune.district_code or ""
        district = districts.setdefault(
            key, ReportRow(code=key, name=commune.district_name or NO_DISTRICT)
        )
        district.add(row)
        total.add(row)
    languages = dict.fromkeys(lang for row in communes for lang in row.languages)
    campaign = view.campaign
    return CampaignReport(
        campaign_id=campaign.id or 0,
        campaign_name=campaign.name,
        legal_basis=campaign.legal_basis,
        area_code=view.area.code,
        area_name=view.area.name,
        first_day=progress.first_day,
        last_day=progress.last_day,
        produced_on=produced_on,
        timezone=progress.timezone,
        theme_names=dict(progress.theme_names),
        language_names={lang: progress.language(lang) for lang in languages},
        communes=communes,
        districts=list(districts.values()),
        total=total,
    )


def campaign_report(
    *,
    session: Session,
    scope: Scope,
    view: CampaignView,
    zone: ZoneInfo,
    now: datetime,
    first: date | None = None,
    last: date | None = None,
    late_after_seconds: int = LATE_AFTER_SECONDS,
) -> CampaignReport:
    """The report of the campaign in its target communes inside the caller's scope, from
    `first` to `last` (local days, clipped to the campaign; by default its start to today)."""
    progress = campaign_progress(
        session=session,
        scope=scope,
        view=view,
        zone=zone,
        now=now,
        first=first,
        last=last,
        late_after_seconds=late_after_seconds,
    )
    return report_of(progress, view, as_utc(now).astimezone(zone).date())
