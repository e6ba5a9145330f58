"""The campaign report as an Excel workbook: a summary with native charts, then one sheet
per table (districts, communes, themes), each with its heading rows and header frozen."""

from __future__ import annotations

import io
from typing import Any

from broadcast.campaigns.report import CampaignReport, ReportRow, day, rounded

TITLE = "Báo cáo kết quả thực hiện"
FIGURE_HEADER = [
    "Kế hoạch (lượt)",
    "Đã phát (lượt)",
    "Đúng giờ (lượt)",
    "Trễ giờ (lượt)",
    "Bỏ lỡ (lượt)",
    "Tỷ lệ đạt (%)",
    "Số phút đã phát",
]
MISSED_HEADER = "Đài bỏ lỡ (số lượt)"
HEADING_ROWS = 4  # title, campaign, period, empty: the table's header is the next row


def missed_stations(row: ReportRow) -> str:
    """The stations that missed airings, each with how many ("Đài Y Tý (2); …")."""
    return "; ".join(f"{name} ({missed})" for name, missed in row.missed_stations.items())


def figure_cells(row: ReportRow) -> list[Any]:
    """The figures of a row in FIGURE_HEADER's order."""
    return [
        row.planned,
        row.aired,
        row.on_time,
        row.late,
        row.missed,
        row.percent,
        rounded(row.minutes),
    ]


def header(report: CampaignReport, first: list[str]) -> list[str]:
    """A table's header: its first columns, the figures, minutes per language and theme."""
    return [
        *first,
        *FIGURE_HEADER,
        *(f"Phút {name}" for name in report.language_names.values()),
        *(f"Phút “{name}”" for name in report.theme_names.values()),
        MISSED_HEADER,
    ]


def cells(report: CampaignReport, first: list[Any], row: ReportRow) -> list[Any]:
    """One row of a table, in `header`'s order."""
    return [
        *first,
        *figure_cells(row),
        # Empty for a language none of the row's stations airs.
        *(
            rounded(row.languages[lang]) if lang in row.languages else None
            for lang in report.language_names
        ),
        *(rounded(row.themes.get(code, 0.0)) for code in report.theme_names),
        missed_stations(row),
    ]


def district_table(report: CampaignReport) -> tuple[list[str], list[list[Any]]]:
    """The table by district, the whole campaign last."""
    head = header(report, ["Huyện", "Số xã"])
    rows = [cells(report, [d.name, d.communes], d) for d in report.districts]
    rows.append(cells(report, ["Tổng cộng", report.total.communes], report.total))
    return head, rows


def commune_table(report: CampaignReport) -> tuple[list[str], list[list[Any]]]:
    """The table by commune, grouped by district."""
    head = header(report, ["Huyện", "Xã", "Xã biên giới", "Tình trạng"])
    rows = [
        cells(
            report,
            [
                c.district_name or "",
                c.name,
                "Có" if c.border else "Không",
                "Chậm tiến độ" if c.behind else "Đạt tiến độ",
            ],
            c,
        )
        for c in report.communes
    ]
    return head, rows


def theme_table(report: CampaignReport) -> tuple[list[str], list[list[Any]]]:
    """Minutes aired per theme, for the whole campaign."""
    rows: list[list[Any]] = [
        [name, rounded(report.total.themes.get(code, 0.0))]
        for code, name in report.theme_names.items()
    ]
    return ["Nội dung tuyên truyền", "Số phút đã phát"], rows


def heading(report: CampaignReport) -> list[str]:
    """The heading block: owner area, campaign and legal basis, period, date produced."""
    basis = f" – {report.legal_basis}" if report.legal_basis else ""
    return [
        f"{TITLE} – {report.area_name}",
        f"{report.campaign_name}{basis}",
        f"Từ ngày {day(report.first_day)} đến ngày {day(report.last_day)}; "
        f"lập ngày {day(report.produced_on)}",
    ]


def to_xlsx(report: CampaignReport) -> bytes:
    """The report as an Excel workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    summary = book.active
    summary.title = "Tổng hợp"
    for line in heading(report):
        summary.append([line])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([])
    summary.append(["Tóm tắt"])
    summary.cell(row=summary.max_row, column=1).font = Font(bold=True)
    summary.append([report.summary])
    summary.cell(row=summary.max_row, column=1).alignment = Alignment(wrap_text=True)
    summary.column_dimensions["A"].width = 120

    tables = [
        ("Theo huyện", district_table(report)),
        ("Theo xã", commune_table(report)),
        ("Theo nội dung", theme_table(report)),
    ]
    sheets = {}
    for title, (head, rows) in tables:
        sheet = book.create_sheet(title)
        sheets[title] = sheet
        for line in heading(report):
            sheet.append([line])
        sheet.append([])
        sheet.append(head)
        for cell in sheet[HEADING_ROWS + 1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            sheet.append(row)
        for column in sheet.iter_cols(min_row=HEADING_ROWS + 2):
            for cell in column:
                if isinstance(cell.value, float):
                    cell.number_format = "#,##0.0"
                elif isinstance(cell.value, int):
                    cell.number_format = "#,##0"
        sheet.freeze_panes = sheet.cell(row=HEADING_ROWS + 2, column=1)
        for index, name in enumerate(head, start=1):
            longest = max([len(name) // 2, *(len(str(r[index - 1] or "")) for r in rows)])
            sheet.column_dimensions[get_column_letter(index)].width = min(max(12, longest + 2), 60)

    # Minutes per theme, and aired against planned per district (when there are some).
    if report.theme_names:
        summary.add_chart(_theme_chart(sheets["Theo nội dung"], len(report.theme_names)), "A9")
    if report.districts:
        summary.add_chart(_district_chart(sheets["Theo huyện"], len(report.districts)), "A26")

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _theme_chart(themes: Any, count: int) -> Any:
    """Minutes per theme, as horizontal bars."""
    from openpyxl.chart import BarChart, Reference

    end = HEADING_ROWS + 1 + count
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Số phút đã phát theo nội dung"
    chart.y_axis.title = "Phút"
    chart.legend = None
    chart.add_data(
        Reference(themes, min_col=2, min_row=HEADING_ROWS + 1, max_row=end), titles_from_data=True
    )
    chart.set_categories(Reference(themes, min_col=1, min_row=HEADING_ROWS + 2, max_row=end))
    chart.width, chart.height = 18, 8
    return chart


def _district_chart(districts: Any, count: int) -> Any:
    """Airings aired beside those planned, per district."""
    from openpyxl.chart import BarChart, Reference

    end = HEADING_ROWS + 1 + count
    chart = BarChart()
    chart.title = "Đã phát so với kế hoạch theo huyện (lượt)"
    chart.y_axis.title = "Lượt"
    chart.add_data(
        Reference(districts, min_col=3, max_col=4, min_row=HEADING_ROWS + 1, max_row=end),
        titles_from_data=True,
    )
    chart.set_categories(Reference(districts, min_col=1, min_row=HEADING_ROWS + 2, max_row=end))
    chart.width, chart.height = 18, 8
    return chart
