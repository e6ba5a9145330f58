"""Campaigns: writing them (themes, target areas, targets), who sees them, and checking a
bulletin's campaign and theme."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, literal, or_
from sqlmodel import Session, col, select

from broadcast.bulletins.models import Bulletin
from broadcast.campaigns.models import (
    MAX_LEGAL_BASIS,
    MAX_NAME,
    MAX_THEME_CODE,
    Campaign,
    CampaignTarget,
    CampaignTheme,
)
from broadcast.core import audit
from broadcast.people.models import Role
from broadcast.people.service import Principal
from stations.areas import Scope, get_area
from stations.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from stations.models import Area, Language
from stations.timeutil import utcnow

# Longest campaign: a year-long plan and a little slack.
MAX_CAMPAIGN_DAYS = 400
MAX_THEMES = 20
MAX_TARGETS = 200


@dataclass(frozen=True, slots=True)
class NewTheme:
    """A theme (content line) as given: a short code and its name."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class NewTarget:
    """A target area as given, by code; `border_only` keeps only its border communes."""

    area_code: str
    border_only: bool = False


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A campaign with its owner area, themes in order and target areas."""

    campaign: Campaign
    area: Area
    themes: list[CampaignTheme]
    targets: list[tuple[CampaignTarget, Area]]


# --- who sees what ----------------------------------------------------------------------


def visible_clause(scope: Scope) -> ColumnElement[bool]:
    """Campaigns (joined to their owner `Area`) a caller may read: those owned inside
    their subtree and those of the areas above them (a province's plan reaches its
    districts)."""
    if scope.path is None:
        return col(Area.id).is_not(None)
    return or_(
        col(Area.path).startswith(scope.path, autoescape=True),
        literal(scope.path).startswith(col(Area.path)),
    )


def list_campaigns(
    *, session: Session, scope: Scope, active_on: date | None = None
) -> list[tuple[Campaign, Area]]:
    """Campaigns the caller may read, the latest first; `active_on` keeps those running
    that day."""
    stmt = (
        select(Campaign, Area)
        .join(Area, col(Campaign.area_id) == col(Area.id))
        .where(visible_clause(scope))
    )
    if active_on is not None:
        stmt = stmt.where(col(Campaign.starts_on) <= active_on, col(Campaign.ends_on) >= active_on)
    rows = session.exec(stmt.order_by(col(Campaign.starts_on).desc(), col(Campaign.id).desc()))
    return [(c, a) for c, a in rows.all()]


def get_campaign(*, session: Session, scope: Scope, campaign_id: int) -> tuple[Campaign, Area]:
    """One campaign the caller may read, or NotFoundError."""
    row = session.exec(
        select(Campaign, Area)
        .join(Area, col(Campaign.area_id) == col(Area.id))
        .where(col(Campaign.id) == campaign_id, visible_clause(scope))
    ).first()
    if row is None:
        raise NotFoundError(
            f"Campaign {campaign_id} not found", code="campaign.not_found", campaign_id=campaign_id
        )
    return row[0], row[1]


def view_of(*, session: Session, campaign: Campaign, area: Area) -> CampaignView:
    """The campaign with its themes and target areas (two queries)."""
    themes = session.exec(
        select(CampaignTheme)
        .where(CampaignTheme.campaign_id == campaign.id)
        .order_by(col(CampaignTheme.position), col(CampaignTheme.id))
    ).all()
    targets = session.exec(
        select(CampaignTarget, Area)
        .join(Area, col(CampaignTarget.area_id) == col(Area.id))
        .where(CampaignTarget.campaign_id == campaign.id)
        .order_by(col(Area.path))
    ).all()
    return CampaignView(campaign, area, list(themes), [(t, a) for t, a in targets])


def themes_of(*, session: Session, campaign_ids: Sequence[int]) -> list[CampaignTheme]:
    """The themes of these campaigns, in each campaign's order (one query)."""
    if not campaign_ids:
        return []
    return list(
        session.exec(
            select(CampaignTheme)
            .where(col(CampaignTheme.campaign_id).in_(list(campaign_ids)))
            .order_by(
                col(CampaignTheme.campaign_id), col(CampaignTheme.position), col(CampaignTheme.id)
            )
        ).all()
    )


# --- writing ----------------------------------------------------------------------------


def _fits(value: str) -> str | None:
    """`value` stripped, or None when nothing is left."""
    text = value.strip()
    return text if text else None


def _check_name(value: str) -> str:
    text = _fits(value)
    if text is None:
        raise InvalidInputError("A campaign needs a name", code="campaign.name_required")
    if len(text) > MAX_NAME:
        raise InvalidInputError(
            f"The name is longer than {MAX_NAME} characters",
            code="campaign.name_too_long",
            limit=MAX_NAME,
        )
    return text


def _check_legal_basis(value: str) -> str | None:
    text = _fits(value)
    if text is not None and len(text) > MAX_LEGAL_BASIS:
        raise InvalidInputError(
            f"The legal basis is longer than {MAX_LEGAL_BASIS} characters",
            code="campaign.legal_basis_too_long",
            limit=MAX_LEGAL_BASIS,
        )
    return text


def _check_theme(theme: NewTheme) -> NewTheme:
    code, name = theme.code.strip(), theme.name.strip()
    if not code:
        raise InvalidInputError("Each theme needs a code", code="campaign.theme_code_required")
    if len(code) > MAX_THEME_CODE:
        raise InvalidInputError(
            f"A theme code is longer than {MAX_THEME_CODE} characters",
            code="campaign.theme_code_too_long",
            limit=MAX_THEME_CODE,
        )
    if not name:
        raise InvalidInputError("Each theme needs a name", code="campaign.theme_name_required")
    if len(name) > MAX_NAME:
        raise InvalidInputError(
            f"A theme name is longer than {MAX_NAME} characters",
            code="campaign.theme_name_too_long",
            limit=MAX_NAME,
        )
    return NewTheme(code=code, name=name)


def _check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidInputError(
            "A campaign must end on or after the day it starts", code="campaign.period_reversed"
        )
    if (ends_on - starts_on).days >= MAX_CAMPAIGN_DAYS:
        raise InvalidInputError(
            f"A campaign lasts at most {MAX_CAMPAIGN_DAYS} days",
            code="campaign.period_too_long",
            limit=MAX_CAMPAIGN_DAYS,
        )


def _check_targets_numbers(airings: int | None, minutes: int | None) -> None:
    for value in (airings, minutes):
        if value is not None and not 0 <= value <= 10_000:
            raise InvalidInputError(
                "A target is a whole number from 0 to 10000", code="campaign.bad_target"
            )


def _check_languages(session: Session, languages: Sequence[str] | None) -> list[str] | None:
    if languages is None:
        return None
    wanted = list(dict.fromkeys(languages))
    known = set(session.exec(select(Language.code).where(col(Language.code).in_(wanted))).all())
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise InvalidInputError(
            f"Unknown language '{unknown[0]}'",
            code="campaign.language_unknown",
            language=unknown[0],
        )
    return wanted


def _check_themes(themes: Sequence[NewTheme]) -> list[NewTheme]:
    if len(themes) > MAX_THEMES:
        raise InvalidInputError(
            f"A campaign has at most {MAX_THEMES} themes",
            code="campaign.too_many_themes",
            limit=MAX_THEMES,
        )
    clean = [_check_theme(t) for t in themes]
    codes = [t.code for t in clean]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise InvalidInputError(
            f"Theme code '{twice[0]}' is given twice", code="campaign.theme_twice", theme=twice[0]
        )
    return clean


def _check_target_areas(
    session: Session, owner: Area, scope: Scope, targets: Sequence[NewTarget]
) -> list[tuple[Area, bool]]:
    if len(targets) > MAX_TARGETS:
        raise InvalidInputError(
            f"A campaign has at most {MAX_TARGETS} target areas",
            code="campaign.too_many_targets",
            limit=MAX_TARGETS,
        )
    found: list[tuple[Area, bool]] = []
    seen: set[str] = set()
    for target in targets:
        if target.area_code in seen:
            raise InvalidInputError(
                f"Target area '{target.area_code}' is given twice",
                code="campaign.target_twice",
                area_code=target.area_code,
            )
        seen.add(target.area_code)
        area = get_area(session=session, code=target.area_code, scope=scope)
        if not area.path.startswith(owner.path):
            raise InvalidInputError(
                f"Target area '{area.code}' lies outside the campaign's area '{owner.code}'",
                code="campaign.target_outside",
                area_code=area.code,
                owner_code=owner.code,
            )
        found.append((area, target.border_only))
    return found


def _write_themes(session: Session, campaign: Campaign, themes: Sequence[NewTheme]) -> None:
    """Themes in the given order; a theme kept (same code) keeps its id and bulletins."""
    stored = {
        t.code: t
        for t in session.exec(
            select(CampaignTheme).where(CampaignTheme.campaign_id == campaign.id)
        ).all()
    }
    wanted = {t.code for t in themes}
    dropped = [t for code, t in stored.items() if code not in wanted]
    if dropped:
        used = session.exec(
            select(Bulletin.theme_id).where(col(Bulletin.theme_id).in_([t.id for t in dropped]))
        ).first()
        if used is not None:
            theme = next(t for t in dropped if t.id == used)
            raise ConflictError(
                f"Theme '{theme.code}' still has bulletins",
                code="campaign.theme_in_use",
                theme=theme.code,
            )
        for theme in dropped:
            session.delete(theme)
    for position, item in enumerate(themes):
        row = stored.get(item.code) or CampaignTheme(
            campaign_id=campaign.id or 0, code=item.code, name=item.name
        )
        row.name = item.name
        row.position = position
        session.add(row)
    session.flush()


def _write_targets(session: Session, campaign: Campaign, targets: list[tuple[Area, bool]]) -> None:
    for row in session.exec(
        select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
    ).all():
        session.delete(row)
    session.flush()
    for area, border_only in targets:
        session.add(
            CampaignTarget(
                campaign_id=campaign.id or 0, area_id=area.id or 0, border_only=border_only
            )
        )
    session.flush()


def create_campaign(
    *,
    session: Session,
    principal: Principal,
    name: str,
    starts_on: date,
    ends_on: date,
    legal_basis: str | None = None,
    area_code: str | None = None,
    themes: Sequence[NewTheme] = (),
    targets: Sequence[NewTarget] = (),
    min_airings_per_week: int | None = None,
    min_minutes_per_theme_per_month: int | None = None,
    languages: Sequence[str] | None = None,
) -> Campaign:
    """An editor's campaign for their area (or `area_code` inside their subtree), with its
    themes in order and its target areas (inside the owner area). Audit-logged."""
    principal.require(Role.editor)
    if area_code is not None:
        owner = get_area(session=session, code=area_code, scope=principal.scope)
    elif principal.area is not None:
        owner = principal.area
    else:
        raise InvalidInputError(
            "A global administrator must give the campaign's area_code",
            code="campaign.area_required",
        )
    clean_name = _check_name(name)
    basis = _check_legal_basis(legal_basis) if legal_basis else None
    _check_period(starts_on, ends_on)
    _check_targets_numbers(min_airings_per_week, min_minutes_per_theme_per_month)
    clean_themes = _check_themes(themes)
    found = _check_target_areas(session, owner, principal.scope, targets)
    campaign = Campaign(
        name=clean_name,
        legal_basis=basis,
        starts_on=starts_on,
        ends_on=ends_on,
        area_id=owner.id or 0,
        min_airings_per_week=min_airings_per_week,
        min_minutes_per_theme_per_month=min_minutes_per_theme_per_month,
        languages=_check_languages(session, languages),
        created_by_id=principal.user.id,
    )
    session.add(campaign)
    session.flush()
    _write_themes(session, campaign, clean_themes)
    _write_targets(session, campaign, found)
    audit.record(
        session=session,
        actor=principal.user,
        action="campaign.create",
        object_type="campaign",
        object_id=campaign.id or 0,
        area_id=owner.id,
        detail={"name": clean_name, "themes": [t.code for t in clean_themes]},
    )
    return campaign


_UNSET: object = object()


def update_campaign(
    *,
    session: Session,
    principal: Principal,
    campaign: Campaign,
    name: str | None = None,
    legal_basis: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    themes: Sequence[NewTheme] | None = None,
    targets: Sequence[NewTarget] | None = None,
    min_airings_per_week: int | None | object = _UNSET,
    min_minutes_per_theme_per_month: int | None | object = _UNSET,
    languages: Sequence[str] | None | object = _UNSET,
) -> Campaign:
    """Change a campaign owned inside the editor's subtree. `themes` and `targets`, when
    given, replace the stored ones (a theme keeps its bulletins when its code stays; one
    with bulletins cannot be dropped). A target or the languages given as None clear it."""
    principal.require(Role.editor)
    owner = session.get(Area, campaign.area_id)
    if owner is None or not principal.scope.covers(owner):
        raise PermissionDeniedError(
            "Only the campaign's own area may change it",
            code="campaign.outside_area",
            campaign_id=campaign.id,
        )
    changes: list[str] = []
    if name is not None:
        campaign.name = _check_name(name)
        changes.append("name")
    if legal_basis is not None:
        campaign.legal_basis = _check_legal_basis(legal_basis)
        changes.append("legal_basis")
    if starts_on is not None or ends_on is not None:
        campaign.starts_on = starts_on or campaign.starts_on
        campaign.ends_on = ends_on or campaign.ends_on
        _check_period(campaign.starts_on, campaign.ends_on)
        changes.append("period")
    if min_airings_per_week is not _UNSET:
        campaign.min_airings_per_week = min_airings_per_week  # type: ignore[assignment]
        changes.append("min_airings_per_week")
    if min_minutes_per_theme_per_month is not _UNSET:
        campaign.min_minutes_per_theme_per_month = min_minutes_per_theme_per_month  # type: ignore[assignment]
        changes.append("min_minutes_per_theme_per_month")
    _check_targets_numbers(campaign.min_airings_per_week, campaign.min_minutes_per_theme_per_month)
    if languages is not _UNSET:
        campaign.languages = _check_languages(session, languages)  # type: ignore[arg-type]
        changes.append("languages")
    if themes is not None:
        _write_themes(session, campaign, _check_themes(themes))
        changes.append("themes")
    if targets is not None:
        _write_targets(
            session, campaign, _check_target_areas(session, owner, principal.scope, targets)
        )
        changes.append("targets")
    campaign.updated_at = utcnow()
    session.add(campaign)
    session.flush()
    audit.record(
        session=session,
        actor=principal.user,
        action="campaign.update",
        object_type="campaign",
        object_id=campaign.id or 0,
        area_id=campaign.area_id,
        detail={"changed": changes},
    )
    return campaign


# --- bulletins in a campaign ------------------------------------------------------------


def check_bulletin_link(
    *, session: Session, area: Area, campaign_id: int | None, theme_id: int | None
) -> None:
    """Raise unless a bulletin of `area` may belong to the campaign and theme: the
    campaign reaches the area (owned by it, above it or below it) and the theme is one
    of the campaign's."""
    if campaign_id is None:
        if theme_id is not None:
            raise InvalidInputError(
                "A theme needs its campaign (campaign_id)", code="campaign.theme_without_campaign"
            )
        return
    row = session.exec(
        select(Campaign, Area)
        .join(Area, col(Campaign.area_id) == col(Area.id))
        .where(col(Campaign.id) == campaign_id)
    ).first()
    reaches = row is not None and (
        area.path.startswith(row[1].path) or row[1].path.startswith(area.path)
    )
    if row is None or not reaches:
        raise InvalidInputError(
            f"Campaign {campaign_id} does not reach the bulletin's area '{area.code}'",
            code="campaign.not_for_area",
            campaign_id=campaign_id,
            area_code=area.code,
        )
    if theme_id is not None:
        theme = session.get(CampaignTheme, theme_id)
        if theme is None or theme.campaign_id != campaign_id:
            raise InvalidInputError(
                f"Theme {theme_id} is not a theme of campaign {campaign_id}",
                code="campaign.theme_not_in_campaign",
                theme_id=theme_id,
                campaign_id=campaign_id,
            )
