"""Charts as inline SVG: drawn here from numbers, so a page needs no script, no network and no
chart library, prints sharp, and gives the same bytes for the same run.

Every mark carries a ``<title>`` (the figure a reader hovers for) and every chart a text
alternative; the page shows the same figures in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

PALETTE = ("#9aa5b1", "#5b8def", "#2fb37a", "#f0a030", "#d9534f", "#8e6bd1", "#3bb8c4", "#c77d4a")
"""Level colours from the bottom of the ladder up; a longer ladder wraps round."""


def colour(index: int) -> str:
    """The colour of the ``index``-th level of the ladder (0 is the lowest)."""
    return PALETTE[index % len(PALETTE)]


def _n(value: float) -> str:
    """A coordinate with one decimal, trailing zero dropped: the same text for the same number."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def stacked_bars(
    labels: Sequence[str], series: Sequence[str], counts: Sequence[Sequence[int]], title: str, width: int = 480
) -> str:
    """One bar per label (a month), stacked by series (the levels, lowest at the bottom).

    ``counts[i][j]`` is the count of series ``j`` at label ``i``. Each segment's title reads
    ``2026-03 L3 三星坐席: 14``; each bar's total is written above it.
    """
    height, top, bottom, left = 240, 24, 40, 36
    plot = height - top - bottom
    peak = max((sum(c) for c in counts), default=0) or 1
    slot = (width - left - 8) / max(len(labels), 1)
    bar = min(56.0, slot * 0.62)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height + 24 * _rows(series)}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot}" x2="{width - 8}" y2="{top + plot}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" class="tick" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot}" class="tick" text-anchor="end">0</text>',
    ]
    for i, (label, column) in enumerate(zip(labels, counts, strict=True)):
        x = left + slot * i + (slot - bar) / 2
        y = float(top + plot)
        for j, count in enumerate(column):
            if not count:
                continue
            h = plot * count / peak
            y -= h
            tip = f"{label} {series[j]}: {count}"
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" height="{_n(h)}" fill="{colour(j)}">'
                f"<title>{escape(tip)}</title></rect>"
            )
        middle = _n(x + bar / 2)
        parts.append(f'<text x="{middle}" y="{_n(y - 4)}" class="value" text-anchor="middle">{sum(column)}</text>')
        parts.append(
            f'<text x="{middle}" y="{top + plot + 16}" class="tick" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(_legend(series, left, height, width))
    parts.append("</svg>")
    return "".join(parts)


def _rows(series: Sequence[str]) -> int:
    return (len(series) + 2) // 3


def _legend(series: Sequence[str], left: int, y: int, width: int) -> str:
    step = (width - left) / 3
    items = []
    for j, name in enumerate(series):
        x = left + step * (j % 3)
        row = y + 24 * (j // 3) - 8
        items.append(
            f'<rect x="{_n(x)}" y="{row - 10}" width="12" height="12" fill="{colour(j)}"/>'
            f'<text x="{_n(x + 16)}" y="{row}" class="tick">{escape(name)}</text>'
        )
    return "".join(items)


def horizontal_bars(
    rows: Sequence[tuple[str, Decimal, str]], title: str, colours: Sequence[str] | None = None, width: int = 640
) -> str:
    """One bar per row (``name, value, text``), longest for the largest value, the text at its end."""
    line, left, right = 28, 150, 130
    height = line * len(rows) + 12
    peak = max((value for _, value, _ in rows), default=Decimal(0)) or Decimal(1)
    room = width - left - right
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (name, value, text) in enumerate(rows):
        y = 6 + line * i
        w = max(float(room * value / peak), 0.0)
        fill = colours[i] if colours else colour(1)
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" class="tick" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{_n(w)}" height="{line - 10}" fill="{fill}">'
            f"<title>{escape(name)}: {escape(text)}</title></rect>"
            f'<text x="{_n(left + w + 6)}" y="{y + 16}" class="value">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
