"""Stations and receivers: lists, creation (credentials shown once), the .ics feed, the
blackout periods of the station's areas, its volume by hour, its broadcast hours and filler."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.console.forms import (
    AreaVoiceForm,
    BlackoutForm,
    FillerForm,
    StationForm,
    VoiceForm,
    VolumeForm,
)
from api.console.messages import form_error, say
from api.console.web import (
    TYPED_DAY_ERROR,
    ConsoleRoute,
    CsrfDep,
    UserDep,
    redirect,
    render,
    typed_day,
)
from api.deps import (
    IdPath,
    SessionDep,
    SettingsDep,
    SynthesizerDep,
    get_clock,
    get_settings,
)
from api.responses import calendar_response, file_response
from broadcast.bulletins import voices
from broadcast.core import audit
from broadcast.filler import service as filler
from broadcast.filler.service import FillerView
from broadcast.people.models import Role
from broadcast.people.service import (
    Principal,
    feed_token_of,
    issue_feed_token,
    revoke_feed_token,
)
from broadcast.reports import ical
from broadcast.schedule import blackouts
from stations import registry, volume
from stations.areas import Area, ancestors, list_areas
from stations.errors import LoaError
from stations.filler import StationFiller
from stations.models import AreaLevel, Station, StationKind
from stations.protocol import FillerSpan

router = APIRouter(route_class=ConsoleRoute)


def _station_form_context(session: Session, principal: Principal) -> dict[str, object]:
    communes, _ = list_areas(session=session, scope=principal.scope, limit=1000)
    return {
        "area_options": [
            (a.code, f"{a.name} ({a.code})")
            for a in communes
            if a.level in (AreaLevel.commune, AreaLevel.village)
        ],
        "language_options": [
            (lang.code, lang.name) for lang in registry.list_languages(session=session)
        ],
    }


@router.get("/stations", response_class=HTMLResponse)
def stations_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """Stations of the caller's area, with receivers online."""
    rows, _total = registry.list_stations(session=session, scope=principal.scope, limit=500)
    counts = {}
    for station, _area in rows:
        receivers, total = registry.list_receivers(
            session=session, scope=principal.scope, station_id=station.id, limit=1000
        )
        counts[station.id] = (sum(1 for r in receivers if r.online), total)
    context: dict[str, object] = {"rows": rows, "counts": counts, "errors": {}, "form": {}}
    if principal.role is Role.admin:
        context.update(_station_form_context(session, principal))
    return render(request, "stations.html", context, principal=principal)


@router.post("/stations", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_station(
    request: Request,
    session: SessionDep,
    principal: UserDep,
    form: Annotated[StationForm, Form()],
) -> Response:
    """Register a station (administrators)."""
    principal.require()
    errors = form.problems()
    name, area_code, kind, languages = form.name, form.area_code, form.kind, form.languages
    if not errors:
        try:
            station = registry.create_station(
                session=session,
                area_code=area_code,
                name=name.strip(),
                kind=StationKind(kind),
                languages=languages or [],
                scope=principal.scope,
            )
        except LoaError as exc:
            key, shown = form_error(
                exc, {"area": "area_code", "languages": "languages"}, default="languages"
            )
            errors[key] = shown
        else:
            audit.record(
                session=session,
                actor=principal.user,
                action="station.create",
                object_type="station",
                object_id=station.id or 0,
                area_id=station.area_id,
                detail={
                    "name": station.name,
                    "kind": kind,
                    "languages": languages,
                    "via": "console",
                },
            )
            return redirect(f"/stations/{station.id}", "Đã tạo đài")
    session.rollback()
    rows, _total = registry.list_stations(session=session, scope=principal.scope, limit=500)
    context: dict[str, object] = {
        "rows": rows,
        "counts": {},
        "errors": errors,
        "form": form.shown(),
    }
    context.update(_station_form_context(session, principal))
    return render(request, "stations.html", context, principal=principal, status_code=422)


def _station_page(
    request: Request,
    session: Session,
    principal: Principal,
    station_id: int,
    *,
    created: registry.NewReceiver | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    feed_url: str | None = None,
    blackout_errors: dict[str, str] | None = None,
    blackout_form: dict[str, object] | None = None,
    voice_errors: dict[str, str] | None = None,
    voice_form: dict[str, object] | None = None,
    area_voice_errors: dict[str, str] | None = None,
    area_voice_form: dict[str, object] | None = None,
    volume_errors: dict[str, str] | None = None,
    volume_form: dict[str, object] | None = None,
    filler_errors: dict[str, str] | None = None,
    filler_form: dict[str, object] | None = None,
    track_errors: dict[str, str] | None = None,
    track_form: dict[str, object] | None = None,
) -> HTMLResponse:
    station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    voice = voices.station_voice(session=session, station=station, settings=get_settings(request))
    zone, now = get_settings(request).zone, get_clock(request)()
    hours = filler.filler_view(
        session=session,
        settings=get_settings(request),
        principal=principal,
        station_id=station_id,
        now=now,
    )
    receivers, _total = registry.list_receivers(
        session=session, scope=principal.scope, station_id=station_id, limit=1000
    )
    expected = {
        r.id: volume.expected_volume(station.volume_schedule, r.volume_schedule, now, zone)
        for r in receivers
    }
    chain = _blackout_areas(session, principal, area)
    names = {a.id: a for a in chain}
    blackout_rows = [
        (b, names[b.area_id])
        for b in blackouts.blackouts_over(session=session, areas=chain)
        if b.area_id in names
    ]
    return render(
        request,
        "station.html",
        {
            "station": station,
            "area": area,
            "receivers": receivers,
            "created": created,
            "errors": errors or {},
            "form": form or {},
            "feed_token": feed_token_of(session=session, user=principal.user),
            "feed_url": feed_url,
            "blackouts": blackout_rows,
            "blackout_area_options": [(a.code, f"{a.name} ({a.code})") for a in chain],
            "blackout_errors": blackout_errors or {},
            "blackout_form": blackout_form or {"area_code": area.code, "kind": "daily"},
            "voice": voice,
            "voice_speed": decimal_comma(voice.speed),
            "voice_errors": voice_errors or {},
            "voice_form": voice_form or _voice_form(station),
            "engine_options": ENGINE_OPTIONS,
            "accent_options": ACCENT_OPTIONS,
            "codec_options": CODEC_OPTIONS,
            "bitrate_options": BITRATE_OPTIONS,
            "area_voices": [(a, _voice_form(a)) for a in chain],
            "area_engine_options": [("", "Theo địa bàn ở trên"), *ENGINE_OPTIONS[1:]],
            "area_accent_options": [("", "Theo địa bàn ở trên"), *ACCENT_OPTIONS[1:]],
            "area_voice_errors": area_voice_errors or {},
            "area_voice_form": area_voice_form or {"voice_area": area.code},
            "expected_volume": expected,
            "volume_schedule": volume.stored_schedule(station.volume_schedule),
            "volume_now": volume.expected_volume(station.volume_schedule, None, now, zone),
            "volume_errors": volume_errors or {},
            "volume_form": volume_form or _volume_form(station),
            "filler": hours,
            "filler_windows": [_window_text(w) for w in hours.filler.windows],
            "filler_next": next_filler_spans(hours, now),
            "filler_errors": filler_errors or {},
            "filler_form": filler_form or _filler_form(hours.filler),
            "track_errors": track_errors or {},
            "track_form": track_form or {},
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/stations/{station_id}", response_class=HTMLResponse)
def station_page(
    station_id: IdPath, request: Request, session: SessionDep, principal: UserDep
) -> HTMLResponse:
    """One station: its receivers with their state, a form to add one, its calendar feed."""
    return _station_page(request, session, principal, station_id)


def _float(value: str, errors: dict[str, str], field: str, low: float, high: float) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        errors[field] = "Hãy nhập một số, ví dụ 22.5"
        return None
    if not low <= number <= high:
        errors[field] = f"Giá trị phải nằm trong khoảng {low} đến {high}"
    return number


@router.post(
    "/stations/{station_id}/receivers", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def create_receiver(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    name: Annotated[str, Form()] = "",
    location: Annotated[str, Form()] = "",
    latitude: Annotated[str, Form()] = "",
    longitude: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Register a receiver (administrators); its MQTT password is shown on this page only."""
    principal.require()
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Hãy nhập tên cụm loa"
    lat = _float(latitude, errors, "latitude", -90, 90)
    lon = _float(longitude, errors, "longitude", -180, 180)
    form = {"name": name, "location": location, "latitude": latitude, "longitude": longitude}
    if errors:
        return _station_page(
            request, session, principal, station_id, errors=errors, form=form, status_code=422
        )
    try:
        created = registry.create_receiver(
            session=session,
            station=station,
            name=name.strip(),
            location=location.strip() or None,
            latitude=lat,
            longitude=lon,
        )
    except LoaError as exc:
        session.rollback()
        return _station_page(
            request,
            session,
            principal,
            station_id,
            errors={"name": say(exc)},
            form=form,
            status_code=422,
        )
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.create",
        object_type="receiver",
        object_id=created.receiver.id,
        area_id=station.area_id,
        detail={"name": created.receiver.name, "station_id": station_id, "via": "console"},
    )
    return _station_page(request, session, principal, station_id, created=created)


@router.get("/stations/{station_id}/schedule.ics")
def station_ics(
    station_id: IdPath, request: Request, session: SessionDep, principal: UserDep
) -> Response:
    """The station's schedule as an iCalendar file (the same answer as the REST feed)."""
    body = ical.calendar_of_station(
        session=session,
        scope=principal.scope,
        station_id=station_id,
        host=request.url.hostname or "loa",
    )
    return calendar_response(body, station_id, disposition="attachment")


@router.post(
    "/stations/{station_id}/feed-token", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def new_feed_token(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
) -> HTMLResponse:
    """A calendar app's subscription address for this station, shown once (replaces the old)."""
    registry.get_station(session=session, station_id=station_id, scope=principal.scope)
    _row, token = issue_feed_token(session=session, user=principal.user)
    audit.record(
        session=session,
        actor=principal.user,
        action="feed_token.create",
        object_type="user",
        object_id=principal.user.id or 0,
        area_id=principal.user.area_id,
        detail={"via": "console"},
    )
    base = settings.public_base_url.rstrip("/")
    url = f"{base}/api/v1/stations/{station_id}/schedule.ics?feed={token}"
    return _station_page(request, session, principal, station_id, feed_url=url)


@router.post(
    "/stations/{station_id}/feed-token/revoke",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def revoke_feed(station_id: IdPath, session: SessionDep, principal: UserDep) -> Response:
    """Every calendar subscribed with my addresses stops updating."""
    if revoke_feed_token(session=session, user=principal.user):
        audit.record(
            session=session,
            actor=principal.user,
            action="feed_token.revoke",
            object_type="user",
            object_id=principal.user.id or 0,
            area_id=principal.user.area_id,
            detail={"via": "console"},
        )
    return redirect(f"/stations/{station_id}", "Đã thu hồi đường dẫn đăng ký lịch phát")


# --- blackout periods ------------------------------------------------------------------

# The blackout form's inputs, by the catalogue's form fields (api/console/messages.py).
_BLACKOUT_INPUTS = {"area": "area_code", "reason": "reason", "when": "daily_start"}


# The voice form's choices; an empty key inherits from the area (or the service).
ENGINE_OPTIONS = [
    ("", "Theo địa bàn"),
    ("gtts", "Google (cần mạng)"),
    ("espeak", "eSpeak NG (không cần mạng)"),
    ("viettel", "Viettel AI"),
    ("fpt", "FPT.AI"),
]
ACCENT_OPTIONS = [("", "Theo địa bàn"), ("north", "Bắc"), ("central", "Trung"), ("south", "Nam")]
CODEC_OPTIONS = [("", "MP3"), ("opus", "Opus (tiết kiệm dữ liệu 3G)")]
BITRATE_OPTIONS = [("", "Mặc định"), ("16", "16 kb/s"), ("20", "20 kb/s"), ("24", "24 kb/s")]
_VOICE_INPUTS = {"voice": "tts_speed"}


def decimal_comma(number: float) -> str:
    """1.0 -> "1,0", 1.25 -> "1,25": a speed as Vietnamese write it."""
    text = f"{number:.2f}".rstrip("0")
    return (text + "0" if text.endswith(".") else text).replace(".", ",")


def _voice_form(row: Station | Area) -> dict[str, object]:
    """A station's or an area's own voice fields as the form shows them (empty: inherited)."""
    speed = decimal_comma(row.tts_speed) if row.tts_speed is not None else ""
    shown: dict[str, object] = {
        "tts_engine": row.tts_engine or "",
        "tts_accent": row.tts_accent or "",
        "tts_speed": speed,
    }
    if isinstance(row, Station):
        shown["audio_codec"] = row.audio_codec if row.audio_codec == "opus" else ""
        shown["opus_bitrate_kbps"] = str(row.opus_bitrate_kbps or "")
    return shown


@router.post("/stations/{station_id}/voice", response_class=HTMLResponse, dependencies=[CsrfDep])
def update_voice(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    form: Annotated[VoiceForm, Form()],
) -> Response:
    """Choose the station's voice, accent, reading speed and codec (administrators)."""
    principal.require()
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    errors = form.problems()
    if not errors:
        try:
            written = voices.set_voice(station, form.changes())
        except LoaError as exc:
            session.rollback()
            key, shown = form_error(exc, _VOICE_INPUTS, default="tts_speed")
            errors[key] = shown
        else:
            session.add(station)
            audit.record(
                session=session,
                actor=principal.user,
                action="station.update",
                object_type="station",
                object_id=station_id,
                area_id=station.area_id,
                detail={**written, "via": "console"},
            )
            return redirect(f"/stations/{station_id}", "Đã lưu giọng đọc của đài")
    return _station_page(
        request,
        session,
        principal,
        station_id,
        voice_errors=errors,
        voice_form=form.shown(),
        status_code=422,
    )


@router.post(
    "/stations/{station_id}/area-voice", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def update_area_voice(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    form: Annotated[AreaVoiceForm, Form()],
) -> Response:
    """Choose the voice of the station's commune or an area above it (administrators).

    Every station below the area inherits what it does not choose itself.
    """
    principal.require()
    _station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    errors = form.problems()
    chain = {a.code: a for a in _blackout_areas(session, principal, area)}
    target = chain.get(form.voice_area)
    if target is None:
        errors["voice_area"] = "Chọn xã, huyện hoặc tỉnh của đài"
    if not errors and target is not None:
        try:
            written = voices.set_voice(target, form.voice().changes())
        except LoaError as exc:
            session.rollback()
            errors["area_speed"] = say(exc)
        else:
            session.add(target)
            audit.record(
                session=session,
                actor=principal.user,
                action="area.update",
                object_type="area",
                object_id=target.code,
                area_id=target.id,
                detail={**written, "via": "console"},
            )
            return redirect(f"/stations/{station_id}", f"Đã lưu giọng đọc của {target.name}")
    return _station_page(
        request,
        session,
        principal,
        station_id,
        area_voice_errors=errors,
        area_voice_form=form.shown(),
        status_code=422,
    )


def _blackout_areas(session: Session, principal: Principal, area: Area) -> list[Area]:
    """The station's area and the areas above it that the caller's subtree holds."""
    return [a for a in ancestors(session=session, area=area) if principal.scope.covers(a)]


def _clock_time(text: str) -> time:
    """A time of day typed as 22:00, 22h or 5h30; ValueError otherwise."""
    parts = text.strip().lower().replace("h", ":").split(":")
    hour = int(parts[0])
    minute = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    return time(hour, minute)


@router.post(
    "/stations/{station_id}/blackouts", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def create_blackout(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    form: Annotated[BlackoutForm, Form()],
) -> Response:
    """Add a blackout to the station's area or an area above it (editors)."""
    principal.require(Role.editor)
    registry.get_station(session=session, station_id=station_id, scope=principal.scope)
    errors = form.problems()
    zone = settings.zone
    daily_start = daily_end = None
    starts_at = ends_at = None
    if form.kind == "daily":
        try:
            daily_start, daily_end = _clock_time(form.daily_start), _clock_time(form.daily_end)
        except ValueError:
            errors["daily_start"] = "Giờ không hợp lệ (ví dụ 22:00 hoặc 5h30)"
    elif form.kind == "dated":
        try:
            start_time = _clock_time(form.from_time or "0:00")
            end_time = _clock_time(form.to_time or "0:00")
        except ValueError:
            errors["from_time"] = "Giờ không hợp lệ (ví dụ 22:00 hoặc 5h30)"
        else:
            try:
                starts_at = datetime.combine(typed_day(form.from_day), start_time, tzinfo=zone)
                ends_at = datetime.combine(typed_day(form.to_day), end_time, tzinfo=zone)
            except ValueError:
                errors["from_day"] = TYPED_DAY_ERROR
    if not errors:
        try:
            blackouts.create_blackout(
                session=session,
                principal=principal,
                area_code=form.area_code,
                reason=form.reason,
                zone_name=settings.timezone,
                daily_start=daily_start,
                daily_end=daily_end,
                starts_at=starts_at,
                ends_at=ends_at,
            )
        except LoaError as exc:
            session.rollback()
            key, shown = form_error(exc, _BLACKOUT_INPUTS, default="reason", zone=zone)
            errors[key] = shown
        else:
            return redirect(f"/stations/{station_id}", "Đã thêm giờ cấm phát")
    return _station_page(
        request,
        session,
        principal,
        station_id,
        blackout_errors=errors,
        blackout_form=form.shown(),
        status_code=422,
    )


@router.post(
    "/stations/{station_id}/blackouts/{blackout_id}/delete",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def delete_blackout(
    station_id: IdPath,
    blackout_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
) -> Response:
    """Remove a blackout (editors)."""
    page = f"/stations/{station_id}"
    try:
        blackouts.delete_blackout(session=session, principal=principal, blackout_id=blackout_id)
    except LoaError as exc:
        session.rollback()
        return redirect(page, say(exc, zone=settings.zone), error=True)
    return redirect(page, "Đã xóa giờ cấm phát")


def _volume_form(station: Station) -> dict[str, object]:
    """The station's volume schedule as the form shows it."""
    schedule = volume.stored_schedule(station.volume_schedule) or volume.VolumeSchedule()
    return {
        "volume_windows": "\n".join(
            f"{volume.clock(w.start)}-{volume.clock(w.end)} {w.volume}" for w in schedule.windows
        ),
        "default_volume": str(schedule.default_volume),
        "emergency_volume": str(schedule.emergency_volume),
    }


@router.post("/stations/{station_id}/volume", response_class=HTMLResponse, dependencies=[CsrfDep])
def update_volume(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    form: Annotated[VolumeForm, Form()],
) -> Response:
    """Set or remove the station's volume by time of day (administrators)."""
    principal.require()
    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    try:
        schedule = None if form.action == "remove" else volume.parse_schedule(form.schedule())
    except LoaError as exc:
        session.rollback()
        return _station_page(
            request,
            session,
            principal,
            station_id,
            volume_errors={"volume_windows": say(exc)},
            volume_form=form.shown(),
            status_code=422,
        )
    station.volume_schedule = schedule.as_dict() if schedule else None
    session.add(station)
    audit.record(
        session=session,
        actor=principal.user,
        action="station.volume_schedule",
        object_type="station",
        object_id=station_id,
        area_id=station.area_id,
        detail=station.volume_schedule,
    )
    done = "Đã lưu lịch âm lượng của đài" if schedule else "Đã bỏ lịch âm lượng của đài"
    return redirect(f"/stations/{station_id}", done)


# --- broadcast hours and filler ----------------------------------------------------------

# How many of the spans receivers fill next the page lists.
NEXT_FILLER_SPANS = 5


def next_filler_spans(view: FillerView, now: datetime) -> list[FillerSpan]:
    """The next spans the station's receivers fill (the one under way first)."""
    spans = view.command.spans if view.command is not None else []
    return [s for s in spans if s.end > now][:NEXT_FILLER_SPANS]


def _window_text(window: volume.VolumeWindow) -> str:
    """A broadcast window as the page says it: "05:30–07:00", "22:00–05:00 hôm sau"."""
    text = f"{volume.clock(window.start)}–{volume.clock(window.end)}"
    return text + " hôm sau" if window.end <= window.start else text


def _filler_form(hours: StationFiller) -> dict[str, object]:
    """The station's broadcast hours and switch as the form shows them."""
    return {
        "filler_windows": "\n".join(
            f"{volume.clock(w.start)}-{volume.clock(w.end)}" for w in hours.windows
        ),
        "filler_enabled": "on" if hours.enabled else "",
    }


@router.post("/stations/{station_id}/filler", response_class=HTMLResponse, dependencies=[CsrfDep])
def update_filler(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    form: Annotated[FillerForm, Form()],
) -> Response:
    """Set the station's broadcast hours and turn filler on or off (administrators)."""
    principal.require()
    try:
        filler.set_filler(
            session=session,
            principal=principal,
            station_id=station_id,
            enabled=form.enabled,
            windows=form.windows(),
        )
    except LoaError as exc:
        session.rollback()
        return _station_page(
            request,
            session,
            principal,
            station_id,
            filler_errors={"filler_windows": say(exc)},
            filler_form=form.shown(),
            status_code=422,
        )
    done = "Đã lưu giờ phát thanh; phát nền đang bật" if form.enabled else "Đã lưu giờ phát thanh"
    return redirect(f"/stations/{station_id}", done)


@router.post(
    "/stations/{station_id}/filler/tracks", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def upload_filler_track(
    station_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    synthesizer: SynthesizerDep,
    principal: UserDep,
    track_title: Annotated[str, Form()] = "",
    track_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Upload a filler track with its title (administrators)."""
    principal.require()
    shown: dict[str, object] = {"track_title": track_title}
    if track_file is None or not track_file.filename:
        return _station_page(
            request,
            session,
            principal,
            station_id,
            track_errors={"track_file": "Hãy chọn tệp âm thanh của bản nhạc nền"},
            track_form=shown,
            status_code=422,
        )
    try:
        filler.add_track(
            session=session,
            principal=principal,
            settings=settings,
            synthesizer=synthesizer,
            station_id=station_id,
            title=track_title,
            upload=track_file.file,
        )
    except LoaError as exc:
        session.rollback()
        key = "track_title" if exc.code == "filler.bad_title" else "track_file"
        return _station_page(
            request,
            session,
            principal,
            station_id,
            track_errors={key: say(exc)},
            track_form=shown,
            status_code=422,
        )
    return redirect(f"/stations/{station_id}", "Đã tải lên bản nhạc nền")


Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


@router.post(
    "/stations/{station_id}/filler/tracks/{sha256}/remove",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def remove_filler_track(
    station_id: IdPath,
    sha256: Sha256Path,
    request: Request,
    session: SessionDep,
    principal: UserDep,
) -> Response:
    """Take a track out of the station's filler (administrators)."""
    principal.require()
    try:
        filler.remove_track(
            session=session, principal=principal, station_id=station_id, sha256=sha256
        )
    except LoaError as exc:
        session.rollback()
        return _station_page(
            request,
            session,
            principal,
            station_id,
            track_errors={"tracks": say(exc)},
            status_code=422,
        )
    return redirect(f"/stations/{station_id}", "Đã xóa bản nhạc nền")


@router.get("/stations/{station_id}/filler/tracks/{sha256}.mp3")
def filler_track_audio(
    station_id: IdPath,
    sha256: Sha256Path,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
) -> Response:
    """Listen to one of the station's filler tracks."""
    path = filler.track_file(
        session=session,
        settings=settings,
        principal=principal,
        station_id=station_id,
        sha256=sha256,
    )
    return file_response(
        path,
        etag=sha256,
        range_header=request.headers.get("range"),
        if_none_match=request.headers.get("if-none-match"),
    )
