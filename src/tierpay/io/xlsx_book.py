"""Writing an Excel workbook (``.xlsx``): sheets of typed columns as the bytes of one file.

XlsxWriter (the optional ``excel`` extra) writes it, in its constant-memory mode: each row goes
to a temporary file as it is written, so a sheet of a million rows holds one row in memory
(100,000 decisions: XlsxWriter 25 MiB above the decisions themselves, openpyxl's write-only
mode more and slower; see ``benchmarks/README.md``). A cell is text, a number, or money (a number
shown ``#,##0.00``); an empty cell (None) is left out. Numbers are written from the exact decimal
text: the nearest double, which Excel shows and sums as that decimal (up to 15 significant
digits, a trillion with its fen). Every sheet has its header row frozen and its columns as wide
as their longest text (a Chinese character counts two).

The bytes are the same on every run: the workbook's created date is fixed
(``CREATED``, 2000-01-01T00:00:00Z) and XlsxWriter dates every part of the zip 1980-01-31.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tierpay.errors import OutputError

INSTALL = "pip install 'tierpay[excel]'"
"""What to run so that ``.xlsx`` outputs can be written."""

ROWS = 1_048_576
"""The rows of an Excel sheet: the header and 1,048,575 below it."""

CREATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""The created date every workbook carries, so that two runs give identical files."""

MONEY = "#,##0.00"
"""The number format of money cells."""

_WIDEST = 60  # characters: a longer text wraps out of sight rather than widening its column further

Kind = Literal["text", "number", "money"]


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its header and the kind of its cells."""

    header: str
    kind: Kind = "text"


@dataclass
class Sheet:
    """One sheet: its name, its columns, and its rows (cells as text, None for an empty cell).

    ``widths`` gives a column's width in characters when it is known ahead (from the whole
    column); otherwise the rows are measured as they are written.
    """

    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] | None = None


def is_xlsx_output(path: str | None) -> bool:
    """Whether an output path names a workbook, by its extension."""
    return path is not None and path.lower().endswith(".xlsx")


def check_writer(label: str) -> None:
    """Refuse, naming the output and the extra, when XlsxWriter is not installed."""
    try:
        import xlsxwriter  # noqa: F401
    except ImportError:
        raise OutputError(
            f"{label}: writing an Excel workbook needs the excel extra: {INSTALL} (or name a .csv file)"
        ) from None


def refuse_too_many(label: str, rows: int, what: str) -> None:
    """Refuse an output whose sheet would hold more rows than Excel's 1,048,575 below the header."""
    if rows > ROWS - 1:
        raise OutputError(
            f"{label}: {rows:,} {what} make more rows than an Excel sheet holds ({ROWS - 1:,} below the header): "
            "write CSV (name a .csv file) instead"
        )


def text_width(text: str) -> int:
    """How many characters wide ``text`` shows: a wide (Chinese) character counts two."""
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as the bytes of one ``.xlsx`` file, the same bytes for the same sheets."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False})
    book.set_properties({"created": CREATED})
    money = book.add_format({"num_format": MONEY})
    bold = book.add_format({"bold": True})
    for sheet in sheets:
        page = book.add_worksheet(sheet.name)
        page.freeze_panes(1, 0)
        widths = [text_width(c.header) for c in sheet.columns]
        if sheet.widths is not None:
            widths = [max(w, given) for w, given in zip(widths, sheet.widths, strict=True)]
            _set_widths(page, widths)
        page.write_row(0, 0, [c.header for c in sheet.columns], bold)
        kinds = [c.kind for c in sheet.columns]
        for row, cells in enumerate(sheet.rows, start=1):
            if row >= ROWS:
                raise OutputError(f"sheet {sheet.name}: more rows than an Excel sheet holds")
            for at, value in enumerate(cells):
                if value is None or value == "":
                    continue
                kind = kinds[at]
                if kind == "text":
                    text = str(value)
                    page.write_string(row, at, text)
                    if sheet.widths is None:
                        widths[at] = max(widths[at], text_width(text))
                    continue
                page.write_number(row, at, float(value), money if kind == "money" else None)
                if sheet.widths is None:
                    shown = f"{float(value):,.2f}" if kind == "money" else str(value)
                    widths[at] = max(widths[at], len(shown))
        if sheet.widths is None:
            _set_widths(page, widths)
    book.close()
    return out.getvalue()


def _set_widths(page: Any, widths: Sequence[int]) -> None:
    for at, width in enumerate(widths):
        page.set_column(at, at, min(width, _WIDEST) + 2)
