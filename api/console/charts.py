"""Small server-side SVG charts (bars), so the reports need no JavaScript library."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLOURS = {
    "aired": "#2e7d32",
    "late": "#ef6c00",
    "missed": "#c62828",
    "no_content": "#6d4c41",
    "pending": "#9e9e9e",
    "minutes": "#1565c0",
}


def stacked_bars(
    rows: Sequence[tuple[str, dict[str, float]]],
    series: Sequence[tuple[str, str]],
    *,
    title: str,
    width: int = 640,
) -> str:
    """Horizontal stacked bars, one per row; `series` are (key, label) pairs, in order."""
    bar, gap, label_w, top = 22, 8, 170, 34
    height = top + len(rows) * (bar + gap) + 30
    peak = max((sum(values.get(k, 0) for k, _ in series) for _, values in rows), default=0) or 1
    scale = (width - label_w - 60) / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="4" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for index, (label, values) in enumerate(rows):
        y = top + index * (bar + gap)
        parts.append(f'<text x="4" y="{y + bar - 6}" font-size="12">{escape(label[:28])}</text>')
        x = float(label_w)
        for key, _name in series:
            w = values.get(key, 0) * scale
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" '
                    f'fill="{COLOURS.get(key, "#607d8b")}"><title>{escape(_name)}: '
                    f"{values.get(key, 0):g}</title></rect>"
                )
                x += w
        total = sum(values.get(k, 0) for k, _ in series)
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar - 6}" font-size="12">{total:g}</text>')
    legend_y = height - 10
    x = 4
    for key, name in series:
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" '
            f'fill="{COLOURS.get(key, "#607d8b")}"/>'
            f'<text x="{x + 16}" y="{legend_y}" font-size="12">{escape(name)}</text>'
        )
        x += 16 + 8 * len(name) + 12
    parts.append("</svg>")
    return "".join(parts)
