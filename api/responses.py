"""HTTP answers shared by the REST routes and the console: files, exports, calendars.

Audio files are streamed from disk in chunks with Range support (206/416), so a
receiver on a flaky 3G link resumes where it stopped and memory stays flat for any
file size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from fastapi.responses import Response, StreamingResponse

from broadcast.campaigns import report as campaign_report
from broadcast.campaigns.report_docx import to_docx
from broadcast.campaigns.report_xlsx import to_xlsx
from broadcast.reports import coverage as reports
from broadcast.reports import statistics as station_stats

CHUNK = 64 * 1024
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _iter_file(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def file_response(
    path: Path,
    *,
    etag: str,
    range_header: str | None,
    if_none_match: str | None = None,
    media_type: str = "audio/mpeg",
) -> Response:
    """Stream a file with ETag and single-range support (206, 416)."""
    size = path.stat().st_size
    quoted = f'"{etag}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": quoted,
        "Cache-Control": "private, max-age=31536000, immutable",
    }
    if if_none_match and quoted in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    if range_header:
        match = _RANGE_RE.match(range_header.strip())
        start: int | None = None
        end = size - 1
        if match and (match.group(1) or match.group(2)):
            first, last = match.group(1), match.group(2)
            if first:
                start = int(first)
                if last:
                    end = min(int(last), size - 1)
            else:  # suffix range: the last N bytes
                start = max(0, size - int(last))
        if start is None or start >= size or start > end:
            return Response(
                status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
            )
        length = end - start + 1
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(length)
        return StreamingResponse(
            _iter_file(path, start, length),
            status_code=206,
            media_type=media_type,
            headers=headers,
        )
    headers["Content-Length"] = str(size)
    return StreamingResponse(_iter_file(path, 0, size), media_type=media_type, headers=headers)


def export_response(report: reports.CoverageReport, fmt: str) -> Response:
    """The report as a CSV or XLSX download."""
    first, last = report.days()
    name = f"loa-bao-cao-{report.scope_code or 'tat-ca'}-{first.isoformat()}"
    if last != first:
        name += f"-den-{last.isoformat()}"
    if fmt == "csv":
        return Response(
            reports.to_csv(report).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        reports.to_xlsx(report),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


def campaign_report_response(report: campaign_report.CampaignReport, fmt: str) -> Response:
    """The campaign report as an XLSX or DOCX download."""
    name = (
        f"loa-bao-cao-ket-qua-chien-dich-{report.campaign_id}-"
        f"{report.first_day.isoformat()}-den-{report.last_day.isoformat()}"
    )
    if fmt == "docx":
        body, media_type = to_docx(report), DOCX
    else:
        body, media_type = to_xlsx(report), XLSX
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def statistics_csv_response(found: station_stats.Statistics) -> Response:
    """The statistics per station and day as a CSV download."""
    name = f"loa-thong-ke-{found.first.isoformat()}-den-{found.last.isoformat()}"
    return Response(
        station_stats.to_csv(found).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def calendar_response(body: str, station_id: int, *, disposition: str = "inline") -> Response:
    """A station's iCalendar feed (`inline` for calendar apps, `attachment` to download)."""
    return Response(
        body.encode(),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'{disposition}; filename="station-{station_id}.ics"'},
    )
