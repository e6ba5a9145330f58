"""Reports: coverage and as-run tables with SVG charts, CSV and XLSX downloads."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.console.charts import stacked_bars
from api.console.web import TYPED_DAY_ERROR, ConsoleRoute, UserDep, render, typed_day
from api.deps import SessionDep, SettingsDep
from api.responses import export_response, statistics_csv_response
from broadcast.core.settings import Settings
from broadcast.reports import coverage as reports
from broadcast.reports import statistics as station_stats
from stations.areas import list_areas
from stations.timeutil import utcnow

router = APIRouter(route_class=ConsoleRoute)

OUTSIDE_CALENDAR = (
    f"Ngày phải từ {reports.FIRST_REPORT_DAY:%d/%m/%Y} đến {reports.LAST_REPORT_DAY:%d/%m/%Y}"
)


def _period(settings: Settings, start: str, end: str) -> tuple[date, date, dict[str, str]]:
    errors: dict[str, str] = {}
    today = utcnow().astimezone(settings.zone).date()
    last, first = today, today - timedelta(days=6)
    try:
        last = typed_day(end) if end else today
    except ValueError:
        errors["to"] = TYPED_DAY_ERROR
    try:
        first = typed_day(start) if start else last - timedelta(days=6)
    except ValueError:
        errors["from"] = TYPED_DAY_ERROR
    except OverflowError:  # the week before the first day of the calendar
        errors["to"] = OUTSIDE_CALENDAR
    if not errors:
        for key, day in (("from", first), ("to", last)):
            if not reports.FIRST_REPORT_DAY <= day <= reports.LAST_REPORT_DAY:
                errors[key] = OUTSIDE_CALENDAR
    if not errors and last < first:
        errors["to"] = "Ngày kết thúc phải sau ngày bắt đầu"
    if not errors and (last - first).days > reports.MAX_REPORT_DAYS:
        errors["to"] = f"Tối đa {reports.MAX_REPORT_DAYS} ngày"
    return first, last, errors


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    area: str = "",
    start: str = "",
    end: str = "",
) -> HTMLResponse:
    """Planned vs aired (on time, late) vs missed vs no content per commune and language.

    The period is `from` and `to`, as in REST (`start` and `end` are older names for them).
    """
    first, last, errors = _period(settings, from_ or start, to or end)
    areas, _ = list_areas(session=session, scope=principal.scope, limit=1000)
    context: dict[str, object] = {
        "first": f"{first:%d/%m/%Y}" if "from" not in errors else (from_ or start),
        "last": f"{last:%d/%m/%Y}" if "to" not in errors else (to or end),
        "first_shown": f"{first:%d/%m/%Y}",
        "last_shown": f"{last:%d/%m/%Y}",
        "area": area,
        "area_options": [("", "Toàn bộ địa bàn")]
        + [(a.code, f"{a.name} ({a.code})") for a in areas],
        "errors": errors,
        "report": None,
        "statistics_days": station_stats.MAX_STATISTICS_DAYS,
    }
    if not errors:
        begin, finish = reports.period_of(first, last, settings.zone)
        report = reports.coverage_report(
            session=session,
            scope=principal.scope,
            start=begin,
            end=finish,
            zone=settings.zone,
            area_code=area or None,
            late_after_seconds=settings.late_after_seconds,
        )
        commune_rows: list[tuple[str, dict[str, float]]] = [
            (
                report.commune_names.get(code, code),
                {
                    "aired": t.on_time,
                    "late": t.late,
                    "missed": t.missed,
                    "no_content": t.no_content,
                    "pending": t.pending,
                },
            )
            for code, t in sorted(report.communes.items())
        ]
        language_rows: list[tuple[str, dict[str, float]]] = [
            (report.language(lang), {"minutes": round(t.minutes_aired, 1)})
            for lang, t in sorted(report.languages.items())
        ]
        late = settings.late_after_seconds
        context |= {
            "report": report,
            "late_after": f"{late // 60} phút" if late % 60 == 0 else f"{late} giây",
            "rows": reports.report_rows(report),
            "language_rows": reports.language_rows(report),
            "availability_rows": reports.availability_rows(report),
            "header": reports.COMMUNE_HEADER,
            "language_header": reports.LANGUAGE_HEADER,
            "availability_header": reports.AVAILABILITY_HEADER,
            "chart_communes": Markup(
                stacked_bars(
                    commune_rows,
                    [
                        ("aired", "Đúng giờ"),
                        ("late", "Trễ giờ"),
                        ("missed", "Bỏ lỡ"),
                        ("no_content", "Không có nội dung"),
                        ("pending", "Chưa đến giờ"),
                    ],
                    title="Lượt phát theo xã",
                )
            ),
            "chart_languages": Markup(
                stacked_bars(
                    language_rows, [("minutes", "Phút đã phát")], title="Phút đã phát theo ngôn ngữ"
                )
            ),
            "query": urlencode({"from": first.isoformat(), "to": last.isoformat(), "area": area}),
        }
    return render(
        request, "reports.html", context, principal=principal, status_code=422 if errors else 200
    )


@router.get("/reports/statistics.csv")
def statistics_download(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    area: str = "",
) -> Response:
    """Statistics per station and day as CSV (the export REST gives for the province)."""
    first, last, errors = _period(settings, from_, to)
    if errors:
        return render(
            request,
            "error.html",
            {"title": "Không hợp lệ", "message": "; ".join(errors.values())},
            principal=principal,
            status_code=422,
        )
    found = station_stats.station_statistics(
        session=session,
        scope=principal.scope,
        first=first,
        last=last,
        zone=settings.zone,
        area_code=area or None,
        late_after_seconds=settings.late_after_seconds,
    )
    return statistics_csv_response(found)


@router.get("/reports/coverage.{fmt}")
def report_download(
    fmt: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    area: str = "",
    start: str = "",
    end: str = "",
) -> Response:
    """The report as CSV or XLSX (the same export the REST route gives)."""
    first, last, errors = _period(settings, from_ or start, to or end)
    if errors or fmt not in ("csv", "xlsx"):
        return render(
            request,
            "error.html",
            {
                "title": "Không hợp lệ",
                "message": "; ".join(errors.values()) or "Định dạng không hỗ trợ",
            },
            principal=principal,
            status_code=422,
        )
    begin, finish = reports.period_of(first, last, settings.zone)
    report = reports.coverage_report(
        session=session,
        scope=principal.scope,
        start=begin,
        end=finish,
        zone=settings.zone,
        area_code=area or None,
        late_after_seconds=settings.late_after_seconds,
    )
    return export_response(report, fmt)
