"""Tables for a terminal from whole columns: tabulate's ``simple`` format, written column by column.

``tabulate`` inspects every cell in Python (about 13 µs a cell), which is fine for a
statement and slow for a month of a large call centre (two million cells, half a minute).
``simple_table`` writes the same bytes from polars columns: each distinct text is measured
once (with ``wcwidth``, as tabulate does, so Chinese text lines up) and every row is padded
and joined as a column operation. Cells that tabulate treats specially (line breaks, terminal
escape codes, characters of no printable width) send the table to tabulate itself. The
tests hold the two to the same output.
"""

from __future__ import annotations

import polars as pl
from tabulate import tabulate
from wcwidth import wcswidth

MIN_PADDING = 2  # tabulate's room beside each header
SEPARATOR = "  "


def simple_table(headers: list[str], frame: pl.DataFrame) -> str:
    """``tabulate(rows, headers, tablefmt="simple", disable_numparse=True)`` for a frame of text columns."""
    columns = [frame[name].cast(pl.String).fill_null("").str.strip_chars() for name in frame.columns]
    padded: list[pl.Series] = []
    widths: list[int] = []
    for header, column in zip(headers, columns, strict=True):
        distinct = column.unique().to_list()
        measured = {text: wcswidth(text) for text in distinct}
        if any(w < 0 or "\n" in t or "\x1b" in t for t, w in measured.items()) or wcswidth(header) < 0:
            return _tabulate(headers, columns)
        width = max([wcswidth(header) + MIN_PADDING, *measured.values()])
        widths.append(width)
        pad = {text: text + " " * (width - w) for text, w in measured.items()}
        padded.append(column.replace_strict(pad, return_dtype=pl.String))
    head = SEPARATOR.join(h + " " * (w - wcswidth(h)) for h, w in zip(headers, widths, strict=True)).rstrip()
    rule = SEPARATOR.join("-" * w for w in widths)
    lines = [head, rule]
    if frame.height:
        body = pl.DataFrame(padded).select(pl.concat_str(pl.all(), separator=SEPARATOR).str.strip_chars_end())
        lines.append("\n".join(body.to_series().to_list()))
    return "\n".join(lines)


def _tabulate(headers: list[str], columns: list[pl.Series]) -> str:
    rows = list(zip(*(c.to_list() for c in columns), strict=True)) if columns else []
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
