"""A campaign's progress per target commune, theme and language, from the as-run record.

The unit is one station's airing of one occurrence of a broadcast carrying at least one
bulletin of the campaign, counted as the coverage report counts it
(broadcast/reports/coverage.py): *planned* is every such station airing not cancelled;
it *aired* when a delivery completed or was confirmed, *on time* or *late* by the same
rule (`LOA_LATE_AFTER_SECONDS`); *missed* when every delivery ended without airing.
An airing that aired without any campaign item in a language counts there as *no
version*: neither aired nor missed.

Per language, an airing counts for each language the targets ask for (the campaign's
`languages`, or every language the station airs). A language aired when an item of a
campaign bulletin in that language was in the command the aired delivery received (a
legacy station, which gets no command: when the bulletin has a version in it); its
minutes are the durations of those items. Per theme, the same for the bulletins of the
theme.

Targets are pro-rated to the days of the period elapsed so far (today included): at
least `min_airings_per_week` x days / 7 airings per commune and language, and at least
`min_minutes_per_theme_per_month` x days / 30 minutes per commune, theme and language.
A commune is *behind* when any of its figures is below its target.

Per commune and per station, each station airing also counts once whatever its
languages (the campaign report's figures, broadcast/campaigns/report.py): aired by its
outcome, with the minutes of every campaign item it played.

The number of SQL statements does not depend on the number of communes, stations,
bulletins, airings or deliveries.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, cast, exists, false, func, literal, or_, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from broadcast.bulletins.models import Bulletin, Translation
from broadcast.campaigns.models import Campaign
from broadcast.campaigns.service import CampaignView
from broadcast.delivery.dispatch import stations_of_broadcasts
from broadcast.reports.coverage import (
    AIRED_OUTCOMES,
    LATE_AFTER_SECONDS,
    Outcome,
    StationAiring,
    airing_outcome,
    commands_of,
    counted_station_airings,
    period_of,
)
from broadcast.schedule.models import Broadcast, Occurrence, OccurrenceState
from stations.areas import Scope, get_area
from stations.errors import InvalidInputError
from stations.models import Area, AreaLevel, Language, Station
from stations.timeutil import as_utc

DAYS_PER_WEEK = 7
DAYS_PER_MONTH = 30


@dataclass
class Figures:
    """Station airings of the campaign counted for one commune and language (and theme)."""

    planned: int = 0
    aired: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    no_version: int = 0  # the airing aired, with nothing of the campaign in this language
    minutes_aired: float = 0.0

    def count(self, outcome: Outcome, played: bool, minutes: float) -> None:
        """One station airing: aired in this language (and theme) only when `played`."""
        self.planned += 1
        if outcome in AIRED_OUTCOMES and played:
            self.aired += 1
            self.minutes_aired += minutes
            if outcome is Outcome.on_time:
                self.on_time += 1
            else:
                self.late += 1
        elif outcome in AIRED_OUTCOMES:
            self.no_version += 1
        elif outcome is Outcome.missed:
            self.missed += 1


@dataclass
class LanguageProgress:
    """One language of one commune: airings against the weekly target."""

    language: str
    figures: Figures = field(default_factory=Figures)
    target_airings: float | None = None
    behind: bool = False


@dataclass
class ThemeProgress:
    """One theme in one language of one commune: minutes against the monthly target."""

    theme_code: str
    language: str
    figures: Figures = field(default_factory=Figures)
    target_minutes: float | None = None
    behind: bool = False


@dataclass
class StationProgress:
    """One station of a target commune: its airings of the campaign, in any language."""

    station_id: int
    name: str
    figures: Figures = field(default_factory=Figures)


@dataclass
class CommuneProgress:
    """One target commune: its languages, its themes per language, whether it is behind."""

    code: str
    name: str
    border: bool
    district_code: str | None
    district_name: str | None
    languages: dict[str, LanguageProgress] = field(default_factory=dict)
    themes: dict[tuple[str, str], ThemeProgress] = field(default_factory=dict)
    # Each station airing once, whatever its languages: aired when the airing aired, with
    # the minutes of every campaign item it played.
    airings: Figures = field(default_factory=Figures)
    stations: dict[int, StationProgress] = field(default_factory=dict)

    @property
    def behind(self) -> bool:
        """Any figure of the commune below its target."""
        return any(p.behind for p in self.languages.values()) or any(
            p.behind for p in self.themes.values()
        )

    @property
    def behind_languages(self) -> list[str]:
        """The languages in which the commune is behind, in its order."""
        late = {p.language for p in self.themes.values() if p.behind}
        late |= {lang for lang, p in self.languages.items() if p.behind}
        return [lang for lang in self.languages if lang in late]


@dataclass
class CampaignProgress:
    """A campaign's progress over a period, communes behind first."""

    campaign: Campaign
    first_day: date
    last_day: date
    elapsed_days: int
    timezone: str
    theme_names: dict[str, str]  # theme code -> name, in the campaign's order
    language_names: dict[str, str]
    communes: list[CommuneProgress]

    @property
    def behind(self) -> list[CommuneProgress]:
        """The communes falling behind."""
        return [c for c in self.communes if c.behind]

    def language(self, code: str) -> str:
        """A language by its Vietnamese name (its code when none is known)."""
        return self.language_names.get(code, code)


def _carries_campaign(session: Session, campaign_id: int) -> Any:
    """Broadcasts whose `bulletin_ids` (a JSON array) hold a bulletin of the campaign."""
    ours = select(Bulletin.id).where(Bulletin.campaign_id == campaign_id)
    ids = col(Broadcast.bulletin_ids)
    if session.get_bind().dialect.name == "postgresql":
        elements = func.jsonb_array_elements_text(cast(ids, postgresql.JSONB)).table_valued("value")
        return exists(
            select(literal(1))
            .select_from(elements)
            .where(cast(elements.c.value, Integer).in_(ours))
        )
    elements = func.json_each(ids).table_valued("value")
    return exists(select(literal(1)).select_from(elements).where(elements.c.value.in_(ours)))


def _period(
    campaign: Campaign, first: date | None, last: date | None, today: date
) -> tuple[date, date]:
    start = max(first or campaign.starts_on, campaign.starts_on)
    end = min(last or min(campaign.ends_on, max(today, campaign.starts_on)), campaign.ends_on)
    if end < start:
        raise InvalidInputError(
            "The last day of the period comes before its first day (inside the campaign)",
            code="report.period_reversed",
        )
    return start, end


def campaign_progress(
    *,
    session: Session,
    scope: Scope,
    view: CampaignView,
    zone: ZoneInfo,
    now: datetime,
    first: date | None = None,
    last: date | None = None,
    area_code: str | None = None,
    late_after_seconds: int = LATE_AFTER_SECONDS,
) -> CampaignProgress:
    """The campaign's progress in its target communes inside the caller's scope (and
    inside `area_code`), from `first` to `last` (local days, clipped to the campaign;
    by default from its start to today)."""
    campaign = view.campaign
    today = as_utc(now).astimezone(zone).date()
    first_day, last_day = _period(campaign, first, last, today)
    elapsed = max(0, (min(last_day, today) - first_day).days + 1)
    start, end = period_of(first_day, last_day, zone)

    # Target communes: below a target area (border ones only where asked), in scope.
    conditions = [
        and_(
            col(Area.path).startswith(area.path, autoescape=True),
            col(Area.border).is_(True) if target.border_only else true(),
        )
        for target, area in view.targets
    ]
    stmt = select(Area).where(
        col(Area.level) == AreaLevel.commune.value,
        or_(*conditions) if conditions else false(),
        scope.clause(),
    )
    if area_code is not None:
        root = get_area(session=session, code=area_code, scope=scope)
        stmt = stmt.where(col(Area.path).startswith(root.path, autoescape=True))
    communes = {a.id or 0: a for a in session.exec(stmt.order_by(col(Area.path))).all()}
    parent_ids = {a.parent_id for a in communes.values() if a.parent_id}
    parents = {
        a.id: a
        for a in session.exec(
            select(Area).where(
                col(Area.id).in_(sorted(parent_ids)),
                col(Area.level) == AreaLevel.district.value,
            )
        ).all()
    }

    # Their stations (at the commune or a village below it), each with its commune.
    commune = aliased(Area)
    station_rows = session.exec(
        select(Station, commune.id)
        .join(Area, col(Station.area_id) == col(Area.id))
        .join(commune, col(Area.path).startswith(col(commune.path)))
        .where(col(commune.id).in_(list(communes)), col(Station.active).is_(True))
    ).all()
    commune_of_station = {s.id or 0: cid or 0 for s, cid in station_rows}
    stations = {s.id or 0: s for s, _ in station_rows}

    # The campaign's bulletins, their themes and their versions' audio.
    theme_codes = {t.id: t.code for t in view.themes}
    theme_of: dict[int, str | None] = {
        bid: theme_codes.get(tid) if tid else None
        for bid, tid in session.exec(
            select(Bulletin.id, Bulletin.theme_id).where(Bulletin.campaign_id == campaign.id)
        ).all()
        if bid is not None
    }
    audio: dict[str, tuple[int, str, float]] = {}  # sha256 -> bulletin, language, minutes
    versions: dict[int, dict[str, float]] = defaultdict(dict)
    for bid, lang, sha, ms in session.exec(
        select(
            Translation.bulletin_id,
            Translation.language,
            Translation.audio_sha256,
            Translation.audio_duration_ms,
        )
        .join(Bulletin, col(Bulletin.id) == col(Translation.bulletin_id))
        .where(Bulletin.campaign_id == campaign.id)
    ).all():
        minutes = (ms or 0) / 60000
        versions[bid][lang] = minutes
        if sha:
            audio[sha] = (bid, lang, minutes)

    # The airings of the period of broadcasts carrying them, not cancelled.
    airings = (
        select(Occurrence.id)
        .join(Broadcast, col(Broadcast.id) == col(Occurrence.broadcast_id))
        .where(
            col(Occurrence.air_at) >= start,
            col(Occurrence.air_at) < end,
            col(Occurrence.state) != OccurrenceState.cancelled.value,
            _carries_campaign(session, campaign.id or 0),
        )
    )
    slots = session.exec(
        select(Occurrence.id, Occurrence.state, Broadcast)
        .join(Broadcast, col(Broadcast.id) == col(Occurrence.broadcast_id))
        .where(col(Occurrence.id).in_(airings))
        .order_by(col(Occurrence.air_at), col(Occurrence.id))
    ).all()
    counted = counted_station_airings(session, airings, late_after_seconds)
    by_occurrence: dict[int, dict[int, StationAiring]] = defaultdict(dict)
    for (occurrence_id, station_id), station_airing in counted.items():
        by_occurrence[occurrence_id][station_id] = station_airing
    commands = commands_of(
        session,
        sorted({c.command_aired for c in counted.values() if c.command_aired}),
    )
    undispatched = sorted({b.id or 0 for oid, state, b in slots if not by_occurrence.get(oid or 0)})
    planned_stations = stations_of_broadcasts(session, undispatched) if undispatched else {}
    language_names = dict(session.exec(select(Language.code, Language.name)).all())

    result: dict[int, CommuneProgress] = {}
    for cid, area in communes.items():
        district = parents.get(area.parent_id)
        result[cid] = CommuneProgress(
            code=area.code,
            name=area.name,
            border=bool(area.border),
            district_code=district.code if district else None,
            district_name=district.name if district else None,
        )
    station_languages: dict[int, list[str]] = {}
    for sid, station in stations.items():
        langs = list(campaign.languages or station.languages or ["vi"])
        station_languages[sid] = langs
        progress = result[commune_of_station[sid]]
        progress.stations[sid] = StationProgress(sid, station.name)
        for lang in langs:
            progress.languages.setdefault(lang, LanguageProgress(lang))
            for code in theme_codes.values():
                progress.themes.setdefault((code, lang), ThemeProgress(code, lang))

    for oid, state, broadcast in slots:
        by_station = by_occurrence.get(oid or 0, {})
        if by_station:
            targets = [station_id for station_id in by_station if station_id in stations]
        else:
            targets = [
                s.id or 0
                for s in planned_stations.get(broadcast.id or 0, [])
                if (s.id or 0) in stations
            ]
        carried = [b for b in broadcast.bulletin_ids if b in theme_of]
        for station_id in targets:
            numbers = by_station.get(station_id)
            outcome = airing_outcome(oid or 0, OccurrenceState(state), broadcast, numbers)
            if outcome is Outcome.cancelled:
                continue
            played = _played(numbers, commands, audio, carried, versions, stations[station_id])
            progress = result[commune_of_station[station_id]]
            minutes = sum(played.values())
            progress.airings.count(outcome, True, minutes)
            progress.stations[station_id].figures.count(outcome, True, minutes)
            for lang in station_languages[station_id]:
                in_lang = {b: m for (b, played_lang), m in played.items() if played_lang == lang}
                progress.languages[lang].figures.count(
                    outcome, bool(in_lang), sum(in_lang.values())
                )
                for theme in dict.fromkeys(t for b in carried if (t := theme_of[b])):
                    mine = [m for b, m in in_lang.items() if theme_of.get(b) == theme]
                    progress.themes[(theme, lang)].figures.count(outcome, bool(mine), sum(mine))

    per_week, per_month = campaign.min_airings_per_week, campaign.min_minutes_per_theme_per_month
    for progress in result.values():
        for lp in progress.languages.values():
            if per_week is not None:
                lp.target_airings = round(per_week * elapsed / DAYS_PER_WEEK, 1)
                lp.behind = lp.figures.aired < per_week * elapsed / DAYS_PER_WEEK
        for tp in progress.themes.values():
            if per_month is not None:
                tp.target_minutes = round(per_month * elapsed / DAYS_PER_MONTH, 1)
                tp.behind = tp.figures.minutes_aired < per_month * elapsed / DAYS_PER_MONTH
    ordered = sorted(result.values(), key=lambda c: (not c.behind, c.code))
    return CampaignProgress(
        campaign=campaign,
        first_day=first_day,
        last_day=last_day,
        elapsed_days=elapsed,
        timezone=str(zone),
        theme_names={t.code: t.name for t in view.themes},
        language_names=language_names,
        communes=ordered,
    )


def _played(
    numbers: StationAiring | None,
    commands: dict[int, str | None],
    audio: dict[str, tuple[int, str, float]],
    carried: list[int],
    versions: dict[int, dict[str, float]],
    station: Station,
) -> dict[tuple[int, str], float]:
    """Minutes of each campaign bulletin and language the station airing played: the
    items of the aired delivery's command, or (a legacy station) the bulletins' versions
    in the station's languages. Empty when nothing aired."""
    if numbers is None or not numbers.aired:
        return {}
    played: dict[tuple[int, str], float] = defaultdict(float)
    command = commands.get(numbers.command_aired) if numbers.command_aired else None
    if command:
        try:
            items = json.loads(command).get("items", [])
        except (ValueError, AttributeError):
            items = []
        for item in items if isinstance(items, list) else []:
            found = audio.get(str(item.get("sha256"))) if isinstance(item, dict) else None
            if found is not None and found[0] in carried:
                bid, lang, _ = found
                played[(bid, lang)] += int(item.get("duration_ms") or 0) / 60000
        return dict(played)
    if numbers.to_receivers:
        return {}  # receivers aired a command that is not kept: nothing to tell
    for bid in carried:
        for lang, minutes in versions.get(bid, {}).items():
            if lang in (station.languages or []):
                played[(bid, lang)] += minutes
    return dict(played)


def behind_counts(
    *, session: Session, scope: Scope, views: list[CampaignView], zone: ZoneInfo, now: datetime
) -> list[tuple[CampaignView, int, int]]:
    """For each campaign: how many of its target communes in scope are behind, of how many."""
    counts = []
    for view in views:
        progress = campaign_progress(session=session, scope=scope, view=view, zone=zone, now=now)
        counts.append((view, len(progress.behind), len(progress.communes)))
    return counts
