"""Schedule: the week calendar, new broadcasts, the emergency button, live status, operators.

Broadcasts are created, cancelled and confirmed through the service functions of
broadcast.schedule.service and broadcast.delivery.status (which check the caller and write the audit
log), the ones the REST API calls, so the console and the API apply the same rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

from api import broadcast_schemas as bs
from api.console import series_pages
from api.console.campaign_pages import campaign_options
from api.console.forms import EmergencyForm, ScheduleForm, parse_campaign_theme
from api.console.home_pages import broadcast_labels
from api.console.messages import form_error, say, text_for
from api.console.web import (
    TYPED_DAY_ERROR,
    ConsoleRoute,
    CsrfDep,
    UserDep,
    can,
    redirect,
    render,
    typed_day,
)
from api.deps import MAX_ID, IdPath, SessionDep, SettingsDep, WakeDep, get_clock, parse_id
from api.responses import file_response
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import BulletinStatus
from broadcast.core.settings import Settings
from broadcast.delivery import dispatch, programmes, status
from broadcast.delivery import resend as resending
from broadcast.delivery.models import AIRED_STATES, FINAL_STATES, DeliveryState
from broadcast.notifications.gaps import language_gaps
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.relays import service as relays
from broadcast.relays.models import RelaySource
from broadcast.reports import coverage as reports
from broadcast.schedule import edits
from broadcast.schedule import service as scheduling
from broadcast.schedule.blackouts import BlackoutChoice, MovedAiring
from broadcast.schedule.describe import (
    WEEKDAY_TITLES,
    Span,
    airing_text,
    day_month_year,
    describe_broadcast,
    describe_schedule,
)
from broadcast.schedule.models import Broadcast, OccurrenceState
from broadcast.schedule.recurrence import PlainRecurrence, airings, parse_plain
from broadcast.schedule.recurrence_words import WEEK
from stations import registry
from stations.areas import list_areas
from stations.errors import InvalidInputError, LoaError
from stations.models import Language, StationKind
from stations.protocol import Priority
from stations.timeutil import as_utc, utcnow

router = APIRouter(route_class=ConsoleRoute)

WEEKDAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
PRIORITY_OPTIONS = [("normal", "Thông thường"), ("priority", "Ưu tiên")]
# The new broadcast form's inputs, by the catalogue's form fields (api/console/messages.py).
_WHEN_INPUTS = {
    "area": "area_codes",
    "bulletin": "bulletin_ids",
    "first_day": "first_day",
    "until": "until",
    "when": "when",
}
# A relay's errors by code, to the input they are about (the rest as by field above).
_RELAY_INPUTS = {
    "relay.bad_duration": "relay_minutes",
    "relay.source_not_found": "relay_source_id",
    "relay.source_not_for_area": "relay_source_id",
    "relay.emergency": "priority",
}
# A relay's length the form offers first, in minutes.
RELAY_MINUTES = "30"
WHAT_OPTIONS = [("bulletins", "Bản tin đã duyệt"), ("relay", "Tiếp âm")]
# How many airings the form shows before saving.
PREVIEW_AIRINGS = 5
# A date as people type it here: 01/12/2026 (also 1/12/2026, 01-12-2026, 01.12.2026).


def _today(settings: Settings) -> date:
    return utcnow().astimezone(settings.zone).date()


def _options(session: Session, principal: Principal, campaign_theme: str = "") -> dict[str, object]:
    campaign_id, theme_id = parse_campaign_theme(campaign_theme) or (None, None)
    approved, _ = bulletins.list_bulletins(
        session=session,
        scope=principal.scope,
        status=BulletinStatus.approved,
        campaign_id=campaign_id,
        theme_id=theme_id,
        limit=200,
    )
    areas, _ = list_areas(session=session, scope=principal.scope, limit=1000)
    sources = relays.list_sources(session=session, scope=principal.scope)
    return {
        "what_options": WHAT_OPTIONS,
        "relay_options": [(str(s.id), f"{s.name} ({a.name})") for s, a in sources],
        "bulletin_options": [(str(b.id), f"#{b.id} {b.title}") for b, _a in approved],
        "area_options": [(a.code, f"{a.name} ({a.code})") for a in areas],
        "priority_options": PRIORITY_OPTIONS,
        "campaign_options": campaign_options(session, principal, "Mọi bản tin đã duyệt"),
        "campaign_theme": campaign_theme,
    }


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    week: str = "",
    area: str = "",
) -> HTMLResponse:
    """A week of airings in the caller's area (or one area of it), Monday first."""
    try:
        anchor = date.fromisoformat(week) if week else _today(settings)
    except ValueError:
        anchor = _today(settings)
    monday = anchor - timedelta(days=anchor.weekday())
    start = as_utc(datetime.combine(monday, time.min, tzinfo=settings.zone))
    end = start + timedelta(days=7)
    found = reports.airings(
        session=session,
        scope=principal.scope,
        start=start,
        end=end,
        area_code=area or None,
        include_cancelled=True,
    )
    titles = reports.bulletin_titles(
        session=session, ids=[i for a in found for i in a.broadcast.bulletin_ids]
    )
    days: dict[date, list[reports.Airing]] = defaultdict(list)
    for airing in found:
        days[as_utc(airing.occurrence.air_at).astimezone(settings.zone).date()].append(airing)
    context = {
        "days": [
            (monday + timedelta(days=i), WEEKDAY_NAMES[i], days.get(monday + timedelta(days=i), []))
            for i in range(7)
        ],
        "labels": broadcast_labels([a.broadcast for a in found], titles),
        "today": _today(settings),
        "prev_week": (monday - timedelta(days=7)).isoformat(),
        "next_week": (monday + timedelta(days=7)).isoformat(),
        "area": area,
        "errors": {},
        "form": {},
    }
    context |= _options(session, principal)
    return render(request, "schedule.html", context, principal=principal)


@router.get("/schedule/new", response_class=HTMLResponse)
def new_broadcast_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    bulletin: str = "",
    campaign_theme: str = "",
    relay_source_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    """The form to schedule approved bulletins (only a campaign's or a theme's with
    `campaign_theme`), or with `relay_source_id` a relay of that source's stream."""
    principal.require(Role.editor)
    today = _today(settings)
    form = {
        "what": "relay" if relay_source_id else "bulletins",
        "relay_source_id": str(relay_source_id or ""),
        "relay_minutes": RELAY_MINUTES,
        "bulletin_ids": [bulletin] if bulletin else [],
        "area_codes": [principal.area.code] if principal.area else [],
        "first_day": day_month_year(today),
        "until": day_month_year(today + timedelta(days=30)),
        "when": "hằng ngày lúc 6:00 và 17:00",
        "priority": "normal",
    }
    errors: dict[str, str] = {}
    shown = _preview(settings, str(form["when"]), today, today + timedelta(days=30), errors)
    if relay_source_id:
        shown = _with_relay(session, principal, shown, relay_source_id, RELAY_MINUTES)
    context = _form_context(session, principal, form, errors, shown, campaign_theme)
    return render(request, "broadcast_new.html", context, principal=principal)


def _date(value: str, errors: dict[str, str], field: str, required: bool) -> date | None:
    """A date typed as dd/mm/yyyy (or yyyy-mm-dd), whatever the browser's language."""
    text = value.strip()
    if not text:
        if required:
            errors[field] = "Hãy nhập ngày"
        return None
    try:
        return typed_day(text)
    except ValueError:
        errors[field] = TYPED_DAY_ERROR
        return None


def _form_context(
    session: Session,
    principal: Principal,
    form: Mapping[str, object],
    errors: dict[str, str],
    preview: Preview | None,
    campaign_theme: str = "",
) -> dict[str, object]:
    """The new broadcast form with its values, errors and preview."""
    refused = None if preview else "Chưa xem trước được: hãy sửa ô báo lỗi ở trên."
    return _options(session, principal, campaign_theme) | {
        "errors": errors,
        "form": form,
        "preview": preview,
        "preview_error": refused if errors else None,
    }


@dataclass(frozen=True, slots=True)
class Preview:
    """What a schedule typed in the form will do, before it is saved."""

    plan: PlainRecurrence
    summary: str
    first: list[tuple[str, str]]  # (dd/mm/yyyy HH:MM, weekday) of the first airings
    count: int
    relay: str | None = None  # what a relay airs each time, e.g. "Tiếp âm VOV1 trong 30 phút"


def _with_relay(
    session: Session, principal: Principal, preview: Preview | None, source: str | int, minutes: str
) -> Preview | None:
    """The preview saying which stream a relay airs and for how long, when both are known
    (the source among those the caller may relay)."""
    chosen = {s.id: s for s, _a in relays.list_sources(session=session, scope=principal.scope)}
    source_id = parse_id(str(source))
    if preview is None or source_id not in chosen or not minutes.strip().isdigit():
        return preview
    said = f"Tiếp âm {chosen[source_id].name} trong {int(minutes)} phút mỗi lượt"
    return replace(preview, relay=said)


def _preview(
    settings: Settings, when: str, first: date | None, last: date | None, errors: dict[str, str]
) -> Preview | None:
    """The phrase read from `first` to `last`, its summary and first airings.

    None when it is refused; the reason goes into `errors`, by input.
    """
    if first is None or "first_day" in errors or "until" in errors:
        return None
    zone = settings.zone
    try:
        plan = parse_plain(when, first_day=first, until=last, zone=zone)
        every = airings(plan, zone=zone)
    except LoaError as exc:
        key, shown = form_error(exc, _WHEN_INPUTS, default="when")
        errors[key] = shown
        return None
    summary = describe_schedule(
        starts_at=plan.starts_at,
        rule=plan.rrule,
        zone=zone,
        today=_today(settings),
        span=Span(len(every), every[0], every[-1]),
    )
    first_ones = [
        (airing_text(t, zone), WEEKDAY_TITLES[WEEK[t.weekday()]]) for t in every[:PREVIEW_AIRINGS]
    ]
    return Preview(plan, summary, first_ones, len(every))


@router.get("/schedule/preview", response_class=HTMLResponse)
def preview_fragment(
    request: Request,
    settings: SettingsDep,
    principal: UserDep,
    session: SessionDep,
    when: str = "",
    first_day: str = "",
    until: str = "",
    what: str = "",
    relay_source_id: str = "",
    relay_minutes: str = "",
) -> HTMLResponse:
    """The preview block of the new broadcast form, for the fields as typed (saves nothing)."""
    principal.require(Role.editor)
    errors: dict[str, str] = {}
    first = _date(first_day, errors, "first_day", required=True)
    last = _date(until, errors, "until", required=False)
    shown = None if errors else _preview(settings, when, first, last, errors)
    if what == "relay":
        shown = _with_relay(session, principal, shown, relay_source_id, relay_minutes)
    context = {"preview": shown, "preview_error": next(iter(errors.values()), None)}
    return render(request, "schedule_preview.html", context, principal=principal)


def _create(
    session: Session,
    settings: Settings,
    principal: Principal,
    body: bs.BroadcastCreate,
    wake: Callable[[], None],
) -> tuple[int, int, list[MovedAiring]]:
    """Schedule the checked form; returns the broadcast's id, how many airings it has and
    the airings moved out of blackouts."""
    result = scheduling.schedule_broadcast(
        session=session,
        settings=settings,
        principal=principal,
        bulletin_ids=body.bulletin_ids,
        area_codes=body.area_codes,
        starts_at=body.starts_at,
        rule=body.rrule,
        priority=body.priority,
        title=body.title,
        wake=wake,
        blackout=body.blackout,
        relay_source_id=body.relay_source_id,
        duration_seconds=body.duration_seconds,
    )
    broadcast = result.broadcast
    stored = scheduling.occurrences_of(session=session, broadcast_id=broadcast.id or 0)
    return broadcast.id or 0, len(stored), result.moved


def _relay_input(code: str, form: ScheduleForm, key: str) -> str:
    """The input of the relay form a domain error is shown next to."""
    if code == "relay.incomplete":
        return "relay_source_id" if form.chosen_source() is None else "relay_minutes"
    return _RELAY_INPUTS.get(code, key)


# How many moved airings the flash after scheduling names one by one.
MOVED_SHOWN = 5


def moved_text(moved: list[MovedAiring], zone: ZoneInfo) -> str:
    """The moved airings in Vietnamese, for the flash after scheduling."""
    shown = ", ".join(
        f"{airing_text(m.before, zone)} → {airing_text(m.after, zone)}" for m in moved[:MOVED_SHOWN]
    )
    more = f" và {len(moved) - MOVED_SHOWN} lượt khác" if len(moved) > MOVED_SHOWN else ""
    return f"Đã dời {len(moved)} lượt ra sau giờ cấm phát ({moved[0].reason}): {shown}{more}"


@router.post("/schedule/new", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_broadcast(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    wake: WakeDep,
    form: Annotated[ScheduleForm, Form()],
) -> Response:
    """Schedule approved bulletins, or a relay (`what=relay`), for areas at the times
    written in plain words.

    The *Xem trước* button (`action=preview`) shows the summary and first airings of
    what was typed and saves nothing.
    """
    principal.require(Role.editor)
    previewing = form.action == "preview"
    errors = {} if previewing else form.problems()
    ids = [] if form.relay else [i for i in form.chosen_bulletins() if i is not None]
    first = _date(form.first_day, errors, "first_day", required=True)
    last = _date(form.until, errors, "until", required=False)
    preview = _preview(settings, form.when, first, last, errors)
    if form.relay:
        preview = _with_relay(session, principal, preview, form.relay_source_id, form.relay_minutes)
    if previewing:
        context = _form_context(session, principal, form.shown(), errors, preview)
        code = 422 if errors else 200
        return render(request, "broadcast_new.html", context, principal=principal, status_code=code)
    plan = preview.plan if preview is not None else None
    blacked_out = False  # refused for a blackout: the form offers to move the airings
    if not errors and plan is not None:
        try:
            body = bs.BroadcastCreate(
                bulletin_ids=ids,
                area_codes=form.area_codes,
                starts_at=plan.starts_at,
                rrule=plan.rrule,
                priority=Priority(form.priority),
                title=form.title.strip() or None,
                blackout=BlackoutChoice.move if form.blackout == "move" else BlackoutChoice.refuse,
                relay_source_id=form.chosen_source() if form.relay else None,
                duration_seconds=form.duration_seconds() if form.relay else None,
            )
            broadcast_id, count, moved = _create(session, settings, principal, body, wake)
        except ValidationError as exc:
            session.rollback()
            if "duration_seconds" in exc.errors()[0]["loc"]:  # out of the relay's bounds
                errors["relay_minutes"] = text_for("relay.bad_duration") or ""
            else:
                errors["when"] = f"Dữ liệu không hợp lệ: {exc.errors()[0]['msg']}"
        except LoaError as exc:
            session.rollback()
            key, shown = form_error(exc, _WHEN_INPUTS, default="when", zone=settings.zone)
            if form.relay:
                key = _relay_input(exc.code, form, key)
            errors[key] = shown
            blacked_out = exc.code == "schedule.blackout"
        else:
            done = f"Đã lên lịch {count} lượt phát"
            if moved:
                done += ". " + moved_text(moved, settings.zone)
            return redirect(f"/broadcasts/{broadcast_id}", done)
    context = _form_context(session, principal, form.shown(), errors, preview)
    context["blacked_out"] = blacked_out
    return render(request, "broadcast_new.html", context, principal=principal, status_code=422)


@router.post("/schedule/emergency", response_class=HTMLResponse, dependencies=[CsrfDep])
def emergency(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    wake: WakeDep,
    form: Annotated[EmergencyForm, Form()],
) -> Response:
    """Send an approved bulletin at once as an emergency (the page asked for confirmation)."""
    principal.require(Role.editor)
    errors = form.problems()
    emergency_id = form.chosen_bulletin()
    if not errors:
        try:
            broadcast_id, _airings, _moved = _create(
                session,
                settings,
                principal,
                bs.BroadcastCreate(
                    bulletin_ids=[emergency_id or 0],
                    area_codes=form.area_codes,
                    priority=Priority.emergency,
                    title="Phát khẩn cấp",
                ),
                wake,
            )
        except ValidationError:
            session.rollback()
            errors["emergency_areas"] = "Dữ liệu không hợp lệ: chọn địa bàn trong danh sách"
        except LoaError as exc:
            session.rollback()
            key, shown = form_error(exc, {"area": "emergency_areas"}, default="emergency_bulletin")
            errors[key] = shown
        else:
            return redirect(f"/broadcasts/{broadcast_id}", "Đã phát lệnh khẩn cấp")
    return schedule_page_with_errors(request, session, settings, principal, errors)


def schedule_page_with_errors(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    errors: dict[str, str],
) -> HTMLResponse:
    """The week page again, with the emergency form's errors."""
    page = schedule_page(request, session, settings, principal)
    page_context = dict(page.context)  # type: ignore[attr-defined]
    page_context["errors"] = errors
    return render(request, "schedule.html", page_context, principal=principal, status_code=422)


# --- status ----------------------------------------------------------------------------


# Receivers listed per page of the live status (failing ones first).
STATUS_ROWS = 100
# Airings still to be sent whose language gaps the status page looks up.
GAP_AIRINGS_SHOWN = 50


def _status_context(
    session: Session,
    principal: Principal,
    broadcast_id: int,
    settings: Settings,
    now: datetime,
    offset: int = 0,
) -> dict[str, object]:
    broadcast = scheduling.get_broadcast(
        session=session, broadcast_id=broadcast_id, scope=principal.scope
    )
    report = status.broadcast_status(
        session=session,
        broadcast=broadcast,
        scope=principal.scope,
        late_after=timedelta(seconds=settings.late_after_seconds),
        limit=STATUS_ROWS,
        offset=offset,
    )
    occurrences = report.occurrences
    final = (
        report.total > 0
        and all(DeliveryState(s) in FINAL_STATES for s in report.counts)
        and all(o.state != "pending" or as_utc(o.air_at) < now for o in occurrences)
    )
    titles = reports.bulletin_titles(session=session, ids=broadcast.bulletin_ids)
    summary = scheduling.airing_summaries(session=session, broadcast_ids=[broadcast_id]).get(
        broadcast_id, scheduling.AiringSummary()
    )
    failing = sum(report.counts.get(s, 0) for s in status.FAILING_STATES)
    waiting = [(o, broadcast) for o in occurrences if o.state == OccurrenceState.pending.value]
    gaps = language_gaps(session=session, occurrences=waiting[:GAP_AIRINGS_SHOWN])
    names = dict(session.exec(select(Language.code, Language.name)).all())
    return {
        "language_gaps": [
            (
                o,
                titles.get(g.bulletin_id, f"#{g.bulletin_id}"),
                names.get(g.language, g.language),
                len(g.station_ids),
            )
            for o, _ in waiting
            for g in gaps.get(o.id or 0, [])
        ],  # fmt: skip
        "broadcast": broadcast,
        "schedule_text": describe_broadcast(broadcast, summary, today=_today(settings)),
        "state": summary.state(broadcast.status),
        "report": report,
        "occurrences": occurrences,
        "coverage": reports.coverage_share(report.counts),
        "aired": sum(report.counts.get(s, 0) for s in AIRED_STATES),
        "failing": failing,
        "final": final,
        "titles": [titles.get(i, f"#{i}") for i in broadcast.bulletin_ids],
        **_resendable(report, principal, now),
        "offset": report.offset,
        "previous_offset": max(0, report.offset - STATUS_ROWS) if report.offset else None,
        "next_offset": report.next_offset,
        "shown_from": report.offset + 1 if report.rows else 0,
        "shown_to": report.offset + len(report.rows),
    }


def _resendable(
    report: status.StatusReport, principal: Principal, now: datetime
) -> dict[str, object]:
    """The failed deliveries the caller may send again, and how many per airing."""
    if not can(principal, Role.operator, Role.editor, Role.approver):
        return {"resendable": set(), "failed_by_airing": {}}
    ids: set[int] = set()
    per_airing: dict[int, int] = defaultdict(int)
    for r in report.rows:
        occ = r.occurrence
        if (
            r.delivery.receiver_id is not None
            and r.delivery.state in resending.RESENDABLE
            and r.delivery.payload is not None
            and occ.state == OccurrenceState.dispatched
            and as_utc(occ.expires_at) > now
        ):
            ids.add(r.delivery.id or 0)
            per_airing[occ.seq] += 1
    return {"resendable": ids, "failed_by_airing": dict(sorted(per_airing.items()))}


@router.get("/broadcasts/{broadcast_id}", response_class=HTMLResponse)
def broadcast_page(
    broadcast_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse:
    """Live status: counts by state, per station, and receivers (failing first), by page."""
    now = get_clock(request)()
    context = _status_context(session, principal, broadcast_id, settings, now, offset)
    broadcast = context["broadcast"]
    assert isinstance(broadcast, Broadcast)
    context["edit"] = series_pages.edit_context(session, principal, broadcast, now)
    context["replaced_by"] = edits.replaced_by(session, [broadcast_id]).get(broadcast_id, [])
    context["relay_source"] = (
        session.get(RelaySource, broadcast.relay_source_id) if broadcast.relay_source_id else None
    )
    return render(request, "broadcast.html", context, principal=principal)


@router.get("/broadcasts/{broadcast_id}/live", response_class=HTMLResponse)
def broadcast_live(
    broadcast_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse:
    """The status block alone (the same page of receivers), polled every few seconds."""
    context = _status_context(
        session, principal, broadcast_id, settings, get_clock(request)(), offset
    )
    return render(request, "broadcast_live.html", context, principal=principal)


@router.post(
    "/broadcasts/{broadcast_id}/airings/{seq}/cancel",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def cancel_airing(
    broadcast_id: IdPath,
    seq: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    wake: WakeDep,
) -> Response:
    """Cancel one airing; the broadcast's other airings stay."""
    page = f"/broadcasts/{broadcast_id}"
    try:
        _occ, count = scheduling.cancel_one_airing(
            session=session,
            principal=principal,
            broadcast_id=broadcast_id,
            seq=seq,
            now=get_clock(request)(),
            wake=wake,
        )
    except LoaError as exc:
        session.rollback()
        return redirect(page, say(exc, zone=settings.zone), error=True)
    return redirect(page, f"Đã hủy lượt {seq} ({count} lượt gửi được dừng)")


@router.post(
    "/broadcasts/{broadcast_id}/airings/{seq}/move",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def move_airing(
    broadcast_id: IdPath,
    seq: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    wake: WakeDep,
    air_day: Annotated[str, Form(max_length=20)] = "",
    air_time: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Move one airing not yet sent to a day (dd/mm/yyyy) and time (HH:MM) on the local clock."""
    page = f"/broadcasts/{broadcast_id}"
    try:
        day = typed_day(air_day)
    except ValueError:
        return redirect(page, TYPED_DAY_ERROR, error=True)
    try:
        hour, minute = (int(p) for p in air_time.strip().replace("h", ":").split(":")[:2])
        moment = datetime.combine(day, time(hour, minute), tzinfo=settings.zone)
    except ValueError:
        return redirect(page, "Giờ phát không hợp lệ (ví dụ 6:05)", error=True)
    try:
        occ = scheduling.move_one_airing(
            session=session,
            principal=principal,
            broadcast_id=broadcast_id,
            seq=seq,
            air_at=moment,
            now=get_clock(request)(),
            wake=wake,
        )
    except LoaError as exc:
        session.rollback()
        return redirect(page, say(exc, zone=settings.zone), error=True)
    shown = as_utc(occ.air_at).astimezone(settings.zone)
    return redirect(page, f"Đã đổi lượt {seq} sang {shown:%H:%M %d/%m/%Y}")


@router.post(
    "/broadcasts/{broadcast_id}/resend", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def resend(
    broadcast_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    wake: WakeDep,
    settings: SettingsDep,
    occurrence: Annotated[int, Form(ge=1, le=MAX_ID)],
    receiver_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Send an airing again to one failed receiver, or to every failed one of the airing."""
    page = f"/broadcasts/{broadcast_id}"
    try:
        result = resending.resend_deliveries(
            session=session,
            principal=principal,
            broadcast_id=broadcast_id,
            seq=occurrence,
            receiver_ids=[receiver_id] if receiver_id else None,
            now=get_clock(request)(),
            wake=wake,
        )
    except LoaError as exc:
        session.rollback()
        return redirect(page, say(exc, zone=settings.zone), error=True)
    if result.skipped:
        _receiver, code = result.skipped[0]
        return redirect(page, text_for(code) or "Không gửi lại được", error=True)
    if not result.resent:
        message = f"Lượt {occurrence} không còn cụm loa lỗi nào để gửi lại"
        return redirect(page, message, error=True)
    return redirect(page, f"Đã gửi lại lượt {occurrence} cho {len(result.resent)} cụm loa")


@router.post(
    "/broadcasts/{broadcast_id}/cancel", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def cancel(
    broadcast_id: IdPath, session: SessionDep, principal: UserDep, wake: WakeDep
) -> Response:
    """Cancel every airing not yet aired."""
    _broadcast, count = scheduling.cancel_scheduled_broadcast(
        session=session, principal=principal, broadcast_id=broadcast_id, wake=wake
    )
    return redirect(f"/broadcasts/{broadcast_id}", f"Đã hủy lịch phát ({count} lượt gửi được dừng)")


# --- commune operators -----------------------------------------------------------------


def _operator_context(
    session: Session, settings: Settings, principal: Principal
) -> dict[str, object]:
    start = as_utc(datetime.combine(_today(settings), time.min, tzinfo=settings.zone))
    today = reports.airings(
        session=session, scope=principal.scope, start=start, end=start + timedelta(days=1)
    )
    titles = reports.bulletin_titles(
        session=session, ids=[i for a in today for i in a.broadcast.bulletin_ids]
    )
    stations, _ = registry.list_stations(session=session, scope=principal.scope, limit=100)
    legacy = [(s, a) for s, a in stations if s.kind == StationKind.legacy]
    # Where each legacy station stands with each airing of today.
    states = status.legacy_states(
        session=session,
        scope=principal.scope,
        occurrence_ids=[a.occurrence.id or 0 for a in today],
    )
    receivers = registry.receivers_of_stations(
        session=session, station_ids=[s.id or 0 for s, _a in stations]
    )
    return {
        "today": today,
        "labels": broadcast_labels([a.broadcast for a in today], titles),
        "stations": stations,
        "legacy": legacy,
        "states": states,
        "receivers": receivers,
        "errors": {},
    }


@router.get("/operator", response_class=HTMLResponse)
def operator_page(
    request: Request, session: SessionDep, settings: SettingsDep, principal: UserDep
) -> HTMLResponse:
    """Today's programmes for my commune, confirmation of legacy airings, my receivers."""
    principal.require(Role.operator, Role.editor)
    context = _operator_context(session, settings, principal)
    return render(request, "operator.html", context, principal=principal)


@router.get("/operator/programmes/{broadcast_id}/{station_id}.mp3")
def operator_programme(
    broadcast_id: IdPath,
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    download: bool = False,
) -> Response:
    """The programme a station must air for a broadcast, as one MP3 to play or download."""
    principal.require(Role.operator, Role.editor)
    broadcast = scheduling.get_broadcast(
        session=session, broadcast_id=broadcast_id, scope=principal.scope
    )
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    if station.id not in {s.id for s, _a in dispatch.stations_for(session, broadcast_id)}:
        raise InvalidInputError(
            f"Broadcast {broadcast_id} does not air at station {station_id}",
            code="programme.station_not_targeted",
            broadcast_id=broadcast_id,
            station_id=station_id,
        )
    path, programme = programmes.programme_audio(
        session=session, settings=settings, station=station, bulletin_ids=broadcast.bulletin_ids
    )
    answer = file_response(
        path,
        etag=programme.version,
        range_header=request.headers.get("range"),
        if_none_match=request.headers.get("if-none-match"),
    )
    answer.headers["Content-Type"] = "audio/mpeg"
    if download:
        answer.headers["Content-Disposition"] = (
            f'attachment; filename="chuong-trinh-{broadcast_id}-dai-{station_id}.mp3"'
        )
    return answer


@router.post("/operator/confirm", response_class=HTMLResponse, dependencies=[CsrfDep])
def confirm(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    broadcast_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    station_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    aired_time: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Confirm that a legacy station aired a programme, at a local time of today."""
    principal.require(Role.operator, Role.editor)
    errors: dict[str, str] = {}
    key = f"confirm-{broadcast_id}-{station_id}"
    try:
        hour, minute = (int(p) for p in aired_time.strip().replace("h", ":").split(":")[:2])
        today = get_clock(request)().astimezone(settings.zone).date()
        aired_at = datetime.combine(today, time(hour, minute), tzinfo=settings.zone)
    except ValueError:
        errors[key] = "Giờ phát không hợp lệ (ví dụ 6:05)"
    if len(note) > 500:
        errors[key] = "Ghi chú tối đa 500 ký tự"
    if not errors:
        try:
            status.confirm_station_airing(
                session=session,
                settings=settings,
                principal=principal,
                broadcast_id=broadcast_id,
                station_id=station_id,
                aired_at=aired_at,
                note=note.strip() or None,
                now=get_clock(request)(),
            )
        except LoaError as exc:
            session.rollback()
            errors[key] = say(exc, zone=settings.zone)
        else:
            return redirect("/operator", "Đã xác nhận đài đã phát")
    context = _operator_context(session, settings, principal)
    shown = {(a.broadcast.id, s.id) for a in context["today"] for s, _a in context["legacy"]}  # type: ignore[attr-defined]
    if (broadcast_id, station_id) not in shown:
        errors = {"confirm": next(iter(errors.values()))}  # no form to show it next to
    context["errors"] = errors
    return render(request, "operator.html", context, principal=principal, status_code=422)
