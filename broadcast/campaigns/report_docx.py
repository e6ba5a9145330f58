"""The campaign report as an official Vietnamese document (DOCX, Nghị định 30/2020/NĐ-CP
layout): A4, Times New Roman 13/14, the issuing body at the top left and the national motto
at the top right, title, sections, tables, a chart drawn as a table of bars, a signature
block. Figures are written the Vietnamese way (1.234,5)."""

from __future__ import annotations

import io
from typing import Any

from broadcast.campaigns.report import CampaignReport, ReportRow, count, day, minutes, percent

FONT = "Times New Roman"
BODY_PT, TABLE_PT, SMALL_PT = 14, 11, 12
BAR = "█"
BAR_CELLS = 30  # the longest bar, in characters

TABLE_HEADER = [
    "Kế hoạch (lượt)",
    "Đã phát (lượt)",
    "Đúng giờ (lượt)",
    "Trễ giờ (lượt)",
    "Bỏ lỡ (lượt)",
    "Tỷ lệ đạt",
    "Số phút đã phát",
    "Ngôn ngữ (phút)",
    "Nội dung (phút)",
    "Đài bỏ lỡ (lượt)",
]


def figure_texts(report: CampaignReport, row: ReportRow) -> list[str]:
    """A row's figures as the document writes them, in TABLE_HEADER's order."""
    languages = "; ".join(
        f"{name}: {minutes(row.languages[lang])}"
        for lang, name in report.language_names.items()
        if lang in row.languages  # the languages its stations air
    )
    themes = "; ".join(
        f"{name}: {minutes(row.themes.get(code, 0.0))}" for code, name in report.theme_names.items()
    )
    stations = "; ".join(f"{name}: {count(n)}" for name, n in row.missed_stations.items())
    return [
        count(row.planned),
        count(row.aired),
        count(row.on_time),
        count(row.late),
        count(row.missed),
        percent(row.percent),
        minutes(row.minutes),
        languages,
        themes,
        stations or "—",
    ]


def _fonts(element: Any, name: str) -> None:
    """Times New Roman for every script (Word otherwise picks another for Vietnamese)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    r_pr = element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)


def _paragraph(
    container: Any,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    size: int = BODY_PT,
    center: bool = False,
    first: bool = False,
    text_body: bool = False,
) -> Any:
    """A paragraph (the cell's own first one with `first`) holding one run; `text_body`
    justifies it with its first line indented, as the body of an official document."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    paragraph = container.paragraphs[0] if first else container.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(0)
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if text_body:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        paragraph.paragraph_format.first_line_indent = Cm(1)
        paragraph.paragraph_format.space_after = Pt(6)
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic
    run.font.size = Pt(size)
    run.font.name = FONT
    _fonts(run._r, FONT)
    return paragraph


def _table(document: Any, head: list[str], rows: list[list[str]]) -> Any:
    """A bordered table, its header in bold and repeated on every page."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    table = document.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        _paragraph(cell, text, bold=True, size=TABLE_PT, center=True, first=True)
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    table.rows[0]._tr.get_or_add_trPr().append(repeat)
    for values in rows:
        row = table.add_row()
        for cell, text in zip(row.cells, values, strict=True):
            _paragraph(cell, text, size=TABLE_PT, first=True)
    return table


def _bars(document: Any, title: str, series: list[tuple[str, float, str]]) -> None:
    """A bar chart as a table: one row per bar (label, bar, value)."""
    from docx.shared import RGBColor

    _paragraph(document, title, bold=True, italic=True, center=True)
    table = document.add_table(rows=0, cols=3)  # no borders: it reads as a chart
    longest = max((value for _, value, _ in series), default=0.0)
    for label, value, shown in series:
        row = table.add_row()
        _paragraph(row.cells[0], label, size=TABLE_PT, first=True)
        length = round(BAR_CELLS * value / longest) if longest else 0
        bar = _paragraph(row.cells[1], BAR * length, size=TABLE_PT, first=True)
        bar.runs[0].font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
        _paragraph(row.cells[2], shown, size=TABLE_PT, first=True)


def to_docx(report: CampaignReport) -> bytes:
    """The report as a Word document."""
    from docx import Document
    from docx.shared import Cm, Pt

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _fonts(normal.element, FONT)

    # The issuing body (left) and the national motto with place and date (right).
    top = document.add_table(rows=1, cols=2)
    body, motto = top.rows[0].cells
    body.width, motto.width = Cm(6), Cm(10)
    _paragraph(body, report.area_name.upper(), bold=True, size=13, center=True, first=True)
    _paragraph(body, "Số: …/BC", size=13, center=True)
    _paragraph(
        motto, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=13, center=True, first=True
    )
    _paragraph(motto, "Độc lập - Tự do - Hạnh phúc", bold=True, size=14, center=True)
    produced = report.produced_on
    _paragraph(
        motto,
        f"{report.place}, ngày {produced.day:02d} tháng {produced.month:02d} năm {produced.year}",
        italic=True,
        center=True,
    )

    _paragraph(document)
    _paragraph(document, "BÁO CÁO", bold=True, center=True)
    _paragraph(document, f"Kết quả thực hiện {report.campaign_name}", bold=True, center=True)
    _paragraph(
        document,
        f"(Từ ngày {day(report.first_day)} đến ngày {day(report.last_day)})",
        italic=True,
        center=True,
    )
    _paragraph(document)
    basis = f"Thực hiện {report.legal_basis}, " if report.legal_basis else ""
    _paragraph(
        document,
        f"{basis}{report.area_name} báo cáo kết quả thực hiện "
        f"{report.campaign_name} trên hệ thống truyền thanh cơ sở như sau:",
        text_body=True,
    )

    _paragraph(document, "I. TÌNH HÌNH CHUNG", bold=True)
    _paragraph(document, report.summary, text_body=True)

    _paragraph(document, "II. KẾT QUẢ THEO HUYỆN", bold=True)
    rows = [[d.name, count(d.communes), *figure_texts(report, d)] for d in report.districts]
    total = report.total
    rows.append(["Tổng cộng", count(total.communes), *figure_texts(report, total)])
    _table(document, ["Huyện", "Số xã", *TABLE_HEADER], rows)

    _paragraph(document)
    _paragraph(document, "III. KẾT QUẢ THEO XÃ", bold=True)
    rows = [
        [
            c.district_name or "",
            c.name + (" (biên giới)" if c.border else ""),
            *figure_texts(report, c),
        ]
        for c in report.communes
    ]
    _table(document, ["Huyện", "Xã", *TABLE_HEADER], rows)

    _paragraph(document)
    _paragraph(document, "IV. BIỂU ĐỒ", bold=True)
    _bars(
        document,
        "Biểu đồ 1. Số phút đã phát theo nội dung tuyên truyền",
        [
            (name, total.themes.get(code, 0.0), f"{minutes(total.themes.get(code, 0.0))} phút")
            for code, name in report.theme_names.items()
        ],
    )
    _bars(
        document,
        "Biểu đồ 2. Số lượt đã phát so với kế hoạch theo huyện",
        [
            (d.name, float(d.aired), f"{count(d.aired)}/{count(d.planned)} lượt")
            for d in report.districts
        ],
    )

    # Recipients (left) and the signature (right).
    _paragraph(document)
    end = document.add_table(rows=1, cols=2)
    recipients, signature = end.rows[0].cells
    recipients.width, signature.width = Cm(7), Cm(9)
    _paragraph(recipients, "Nơi nhận:", bold=True, italic=True, size=SMALL_PT, first=True)
    _paragraph(recipients, "- Cơ quan cấp trên;", size=11)
    _paragraph(recipients, "- Lưu: VT.", size=11)
    _paragraph(signature, f"TM. {report.area_name.upper()}", bold=True, center=True, first=True)
    _paragraph(signature, "(Ký, ghi rõ họ tên và đóng dấu)", italic=True, center=True)

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
