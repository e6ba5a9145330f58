"""Language completeness: a language a station airs that a bulletin of its airing has no
ready version in (rendered, not rejected).

`language_gaps` finds them for any airings in a fixed number of queries. The worker's
`alert_language_gaps` raises one notification per (airing, bulletin, language) once the
airing is LOA_LANGUAGE_GAP_HOURS away or closer, e-mails it to the editors and
administrators of the stations' area where configured, and resolves it when the version
becomes ready, the airing is cancelled or its time has passed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from broadcast.bulletins import reviewers
from broadcast.bulletins.models import AudioState, Bulletin, ReviewState, Translation
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import stations_of_broadcasts
from broadcast.notifications.mail import enqueue_mail, recipients_of_area
from broadcast.notifications.models import Notification, NotificationKind
from broadcast.schedule.models import Broadcast, Occurrence, OccurrenceState
from stations.models import Area, Language, Station


@dataclass(frozen=True)
class LanguageGap:
    """A bulletin of an airing with no ready version in a language its stations air."""

    occurrence_id: int
    bulletin_id: int
    language: str
    station_ids: tuple[int, ...]


def ready_clause() -> Any:
    """A version that can air: its audio rendered, and not rejected by a reviewer
    (the bulletin's own approval covers its versions, broadcast/bulletins/service.py)."""
    return (col(Translation.audio_state) == AudioState.ready.value) & (
        col(Translation.review_state) != ReviewState.rejected.value
    )


def language_gaps(
    *, session: Session, occurrences: list[tuple[Occurrence, Broadcast]]
) -> dict[int, list[LanguageGap]]:
    """The language gaps of each airing (by occurrence id); three queries."""
    if not occurrences:
        return {}
    stations = stations_of_broadcasts(session, sorted({b.id or 0 for _, b in occurrences}))
    bulletin_ids = sorted({bid for _, b in occurrences for bid in b.bulletin_ids})
    ready = _airable_versions(session, bulletin_ids)
    found: dict[int, list[LanguageGap]] = {}
    for occurrence, broadcast in occurrences:
        missing: dict[tuple[int, str], list[int]] = defaultdict(list)
        for station in stations.get(broadcast.id or 0, []):
            for lang in station.languages or ["vi"]:
                for bid in broadcast.bulletin_ids:
                    if (bid, lang) not in ready:
                        missing[(bid, lang)].append(station.id or 0)
        found[occurrence.id or 0] = [
            LanguageGap(occurrence.id or 0, bid, lang, tuple(ids))
            for (bid, lang), ids in missing.items()
        ]
    return found


def _airable_versions(session: Session, bulletin_ids: list[int]) -> set[tuple[int, str]]:
    """(bulletin, language) of the versions a programme would air: ready, and signed off
    by the language's reviewer where the bulletin's area names one (as
    broadcast/delivery/programmes.py decides). A fixed number of queries, plus one per
    area owning the bulletins to find its reviewers."""
    if not bulletin_ids:
        return set()
    versions = session.exec(
        select(Translation).where(col(Translation.bulletin_id).in_(bulletin_ids), ready_clause())
    ).all()
    bulletins = {
        b.id or 0: b
        for b in session.exec(select(Bulletin).where(col(Bulletin.id).in_(bulletin_ids))).all()
    }
    exempt = reviewers.exempt_ids(session=session, bulletins=bulletins.values())
    named: dict[int, dict[str, reviewers.Reviewers]] = {}
    for area_id in {b.area_id for b in bulletins.values()}:
        owner = session.get(Area, area_id)
        named[area_id] = reviewers.effective_reviewers(session=session, area=owner) if owner else {}
    airable = set()
    for version in versions:
        bulletin = bulletins.get(version.bulletin_id)
        if bulletin is None:
            continue
        waits = reviewers.needs_sign_off(
            version.language, named[bulletin.area_id], exempt=version.bulletin_id in exempt
        ) and not reviewers.signed_off(version)
        if not waits:
            airable.add((version.bulletin_id, version.language))
    return airable


def _common_area(session: Session, station_ids: list[int], areas: dict[int, Area]) -> Area:
    """The lowest area holding every one of the stations."""
    paths = [areas[sid].path for sid in station_ids]
    common = paths[0].strip("/").split("/")
    for path in paths[1:]:
        parts = path.strip("/").split("/")
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    if not common:
        return areas[station_ids[0]]
    area = session.get(Area, int(common[-1]))
    return area or areas[station_ids[0]]


def _gap_text(
    gap: LanguageGap, title: str, language: str, air_at: datetime, stations: list[Station],
    settings: Settings,
) -> tuple[str, str]:  # fmt: skip
    local = air_at.astimezone(settings.zone)
    subject = f"Thiếu bản {language}: «{title}» phát lúc {local:%H:%M %d/%m/%Y}"
    names = ", ".join(s.name for s in stations)
    body = (
        f"Bản tin «{title}» chưa có bản {language} đã duyệt và dựng âm thanh,\n"
        f"nhưng sẽ phát lúc {local:%H:%M} ngày {local:%d/%m/%Y} tại: {names}.\n"
        "Các đài này phát tiếng này. Hãy thêm hoặc duyệt bản dịch trước giờ phát.\n"
    )
    return subject, body


def alert_language_gaps(*, session: Session, settings: Settings, now: datetime) -> int:
    """Raise the notifications of airings within LOA_LANGUAGE_GAP_HOURS, resolve the
    settled ones; returns how many were raised."""
    resolve_language_gaps(session=session, now=now)
    horizon = now + timedelta(hours=settings.language_gap_hours)
    rows = session.exec(
        select(Occurrence, Broadcast)
        .join(Broadcast, col(Broadcast.id) == col(Occurrence.broadcast_id))
        .where(
            col(Occurrence.air_at) > now,
            col(Occurrence.air_at) <= horizon,
            col(Occurrence.state) != OccurrenceState.cancelled.value,
        )
    ).all()
    gaps = [g for found in language_gaps(session=session, occurrences=list(rows)).values()
            for g in found]  # fmt: skip
    if not gaps:
        return 0
    known = set(
        session.exec(
            select(
                Notification.occurrence_id, Notification.bulletin_id, Notification.language
            ).where(
                Notification.kind == NotificationKind.language_gap.value,
                col(Notification.occurrence_id).in_(sorted({g.occurrence_id for g in gaps})),
            )
        ).all()
    )
    new = [g for g in gaps if (g.occurrence_id, g.bulletin_id, g.language) not in known]
    if not new:
        return 0
    station_ids = sorted({sid for g in new for sid in g.station_ids})
    station_rows = session.exec(
        select(Station, Area)
        .join(Area, col(Area.id) == col(Station.area_id))
        .where(col(Station.id).in_(station_ids))
    ).all()
    stations = {s.id or 0: s for s, _ in station_rows}
    station_areas = {s.id or 0: a for s, a in station_rows}
    titles = dict(
        session.exec(
            select(Bulletin.id, Bulletin.title).where(
                col(Bulletin.id).in_(sorted({g.bulletin_id for g in new}))
            )
        ).all()
    )
    names = dict(session.exec(select(Language.code, Language.name)).all())
    air_at = {o.id or 0: o.air_at for o, _ in rows}
    for gap in new:
        area = _common_area(session, list(gap.station_ids), station_areas)
        session.add(
            Notification(
                kind=NotificationKind.language_gap,
                area_id=area.id or 0,
                occurrence_id=gap.occurrence_id,
                bulletin_id=gap.bulletin_id,
                language=gap.language,
                station_ids=list(gap.station_ids),
                air_at=air_at[gap.occurrence_id],
                created_at=now,
            )
        )
        subject, body = _gap_text(
            gap, titles.get(gap.bulletin_id, ""), names.get(gap.language, gap.language),
            air_at[gap.occurrence_id], [stations[s] for s in gap.station_ids], settings,
        )  # fmt: skip
        enqueue_mail(
            session=session,
            settings=settings,
            users=recipients_of_area(session=session, area=area),
            subject=subject,
            body=body,
        )
    session.flush()
    return len(new)


def resolve_language_gaps(*, session: Session, now: datetime) -> int:
    """Resolve open gap notifications whose version can now air (ready, and signed off
    where a reviewer is named), whose airing was cancelled or whose air time has passed."""
    open_ones = session.exec(
        select(Notification.id, Notification.bulletin_id, Notification.language).where(
            col(Notification.resolved_at).is_(None)
        )
    ).all()
    airable = _airable_versions(session, sorted({bid for _, bid, _ in open_ones}))
    ready = col(Notification.id).in_(
        [nid for nid, bid, lang in open_ones if (bid, lang) in airable] or [-1]
    )
    cancelled = (
        select(Occurrence.id)
        .where(
            col(Occurrence.id) == col(Notification.occurrence_id),
            col(Occurrence.state) == OccurrenceState.cancelled.value,
        )
        .exists()
    )
    result = session.execute(
        update(Notification)
        .where(
            col(Notification.resolved_at).is_(None),
            ready | cancelled | (col(Notification.air_at) <= now),
        )
        .values(resolved_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
