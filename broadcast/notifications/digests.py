"""The weekly campaign digest of each district and province with a running campaign.

Once a week (LOA_DIGEST_WEEKDAY at LOA_DIGEST_HOUR, local time) the worker writes, for
each district and province area below or above a target of a campaign running in the
past seven days, one digest of those days: per campaign, the communes behind and in
which language and theme, aired against planned per language, missed airings. The
figures are those of broadcast/campaigns/progress.py over the week. A digest is stored
once per area and week (a unique key), so a second pass or a restarted worker writes
and e-mails nothing more; it is e-mailed, in the same transaction, to the editors and
administrators whose home area it is and who have an address.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from broadcast.campaigns.models import Campaign
from broadcast.campaigns.progress import CampaignProgress, campaign_progress
from broadcast.campaigns.service import CampaignView, view_of
from broadcast.core.settings import Settings
from broadcast.notifications.mail import enqueue_mail, recipients_of_area
from broadcast.notifications.models import Digest
from stations.areas import Scope
from stations.errors import NotFoundError
from stations.models import Area, AreaLevel
from stations.timeutil import as_utc

DAYS = 7
DIGEST_LEVELS = (AreaLevel.province.value, AreaLevel.district.value)


def digest_week(*, now: datetime, zone: ZoneInfo, weekday: int, hour: int) -> date:
    """The first local day of the week told by the latest digest moment at or before `now`."""
    local = as_utc(now).astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % DAYS)
    if datetime.combine(day, time(hour), zone) > local:
        day -= timedelta(days=DAYS)
    return day - timedelta(days=DAYS)


def _number(value: float) -> str:
    """A number as written in Vietnamese: a decimal comma."""
    return f"{value:g}".replace(".", ",")


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


@dataclass
class _Part:
    view: CampaignView
    progress: CampaignProgress


def _summary(part: _Part) -> dict[str, Any]:
    """A campaign's figures of the week in one area, as stored and served."""
    progress = part.progress
    per_language: dict[str, dict[str, int]] = defaultdict(
        lambda: {"planned": 0, "aired": 0, "missed": 0}
    )
    for commune in progress.communes:
        for lang, lp in commune.languages.items():
            totals = per_language[lang]
            totals["planned"] += lp.figures.planned
            totals["aired"] += lp.figures.aired
            totals["missed"] += lp.figures.missed
    behind = []
    for commune in progress.behind:
        themes: dict[str, list[str]] = defaultdict(list)
        for (code, lang), tp in commune.themes.items():
            if tp.behind:
                themes[lang].append(progress.theme_names.get(code, code))
        behind.append(
            {
                "area_code": commune.code,
                "name": commune.name,
                "languages": [
                    {
                        "language": lang,
                        "aired": commune.languages[lang].figures.aired,
                        "target_airings": commune.languages[lang].target_airings,
                        "themes_behind": themes.get(lang, []),
                    }
                    for lang in commune.behind_languages
                ],
            }
        )
    return {
        "campaign_id": progress.campaign.id,
        "name": progress.campaign.name,
        "first_day": progress.first_day.isoformat(),
        "last_day": progress.last_day.isoformat(),
        "communes": len(progress.communes),
        "languages": [{"language": lang, **n} for lang, n in per_language.items()],
        "communes_behind": behind,
    }


def digest_text(area: Area, week_start: date, parts: list[_Part]) -> tuple[str, str]:
    """The digest's title and body, in Vietnamese."""
    last = week_start + timedelta(days=DAYS - 1)
    title = f"Bản tin tuần {area.name}: {week_start:%d/%m} – {_day(last)}"
    lines = [
        f"Bản tin tuần về các chiến dịch truyền thông của {area.name},",
        f"từ ngày {_day(week_start)} đến ngày {_day(last)}.",
        "",
    ]
    for part in parts:
        progress, summary = part.progress, _summary(part)
        lines.append(f"Chiến dịch: {progress.campaign.name}")
        lines.append(
            f"  {summary['communes']} xã mục tiêu, "
            f"{len(summary['communes_behind'])} xã chậm tiến độ."
        )
        for row in summary["languages"]:
            lines.append(
                f"  {progress.language(row['language'])}: đã phát {row['aired']}/"
                f"{row['planned']} lượt theo kế hoạch, lỡ {row['missed']} lượt."
            )
        if summary["communes_behind"]:
            lines.append("  Các xã chậm tiến độ:")
        for commune in summary["communes_behind"]:
            lines.append(f"  - {commune['name']}:")
            for lang in commune["languages"]:
                text = f"      {progress.language(lang['language'])}: phát {lang['aired']} lượt"
                if lang["target_airings"] is not None:
                    text += f" (cần {_number(lang['target_airings'])})"
                if lang["themes_behind"]:
                    text += f"; chủ đề thiếu thời lượng: {', '.join(lang['themes_behind'])}"
                lines.append(text)
        lines.append("")
    lines.append("Xem chi tiết trong mục Chiến dịch của Loa.")
    return title, "\n".join(lines)


def _running(session: Session, first: date, last: date) -> list[tuple[Campaign, Area]]:
    return list(
        session.exec(
            select(Campaign, Area)
            .join(Area, col(Area.id) == col(Campaign.area_id))
            .where(col(Campaign.starts_on) <= last, col(Campaign.ends_on) >= first)
            .order_by(col(Campaign.id))
        ).all()
    )


def _areas_of(session: Session, views: list[CampaignView]) -> dict[int, list[CampaignView]]:
    """District and province areas above or below a target of each campaign (one query)."""
    targets = [area for view in views for _, area in view.targets]
    if not targets:
        return {}
    areas = session.exec(
        select(Area).where(
            col(Area.level).in_(DIGEST_LEVELS),
            or_(*(col(Area.path).startswith(t.path, autoescape=True) for t in targets)),
        )
    ).all()
    above = {
        a.id: a
        for a in session.exec(
            select(Area).where(
                col(Area.level).in_(DIGEST_LEVELS),
                col(Area.id).in_(sorted({int(p) for t in targets for p in t.path.split("/") if p})),
            )
        ).all()
    }
    found: dict[int, list[CampaignView]] = defaultdict(list)
    for area in [*areas, *above.values()]:
        for view in views:
            hit = any(
                t.path.startswith(area.path) or area.path.startswith(t.path)
                for _, t in view.targets
            )
            if hit and view not in found[area.id or 0]:
                found[area.id or 0].append(view)
    return found


def write_digests(*, session: Session, settings: Settings, now: datetime) -> list[Digest]:
    """The digests due at `now` not yet written: stored, and e-mailed where configured."""
    zone = settings.zone
    week_start = digest_week(
        now=now, zone=zone, weekday=settings.digest_weekday.number, hour=settings.digest_hour
    )
    last = week_start + timedelta(days=DAYS - 1)
    views = [
        view_of(session=session, campaign=c, area=a) for c, a in _running(session, week_start, last)
    ]
    by_area = _areas_of(session, views)
    if not by_area:
        return []
    done = set(
        session.exec(
            select(Digest.area_id).where(
                Digest.week_start == week_start, col(Digest.area_id).in_(list(by_area))
            )
        ).all()
    )
    areas = {
        a.id: a for a in session.exec(select(Area).where(col(Area.id).in_(list(by_area)))).all()
    }
    written = []
    for area_id in sorted(set(by_area) - done):
        area = areas[area_id]
        parts = []
        for view in by_area[area_id]:
            progress = campaign_progress(
                session=session,
                scope=Scope.of(area),
                view=view,
                zone=zone,
                now=now,
                first=week_start,
                last=last,
                late_after_seconds=settings.late_after_seconds,
            )
            if progress.communes:
                parts.append(_Part(view, progress))
        if not parts:
            continue
        title, body = digest_text(area, week_start, parts)
        digest = Digest(
            area_id=area_id,
            week_start=week_start,
            title=title,
            body=body,
            campaigns=[_summary(p) for p in parts],
            created_at=now,
        )
        session.add(digest)
        enqueue_mail(
            session=session,
            settings=settings,
            users=recipients_of_area(session=session, area=area, above=False),
            subject=title,
            body=body,
        )
        written.append(digest)
    session.flush()
    return written


def list_digests(
    *, session: Session, scope: Scope, limit: int, offset: int
) -> tuple[list[tuple[Digest, Area]], int]:
    """Digests of areas in scope, newest week first, and how many there are."""
    base = (
        select(Digest, Area).join(Area, col(Area.id) == col(Digest.area_id)).where(scope.clause())
    )
    total = session.exec(
        select(func.count()).select_from(
            select(Digest.id)
            .join(Area, col(Area.id) == col(Digest.area_id))
            .where(scope.clause())
            .subquery()
        )
    ).one()
    rows = session.exec(
        base.order_by(col(Digest.week_start).desc(), col(Area.path)).limit(limit).offset(offset)
    ).all()
    return [(d, a) for d, a in rows], int(total)


def get_digest(*, session: Session, scope: Scope, digest_id: int) -> tuple[Digest, Area]:
    """One digest of an area in scope, or NotFoundError."""
    digest = session.get(Digest, digest_id)
    area = session.get(Area, digest.area_id) if digest is not None else None
    if digest is None or area is None or not scope.covers(area):
        raise NotFoundError(
            f"Digest {digest_id} not found", code="digest.not_found", digest_id=digest_id
        )
    return digest, area
