"""A records workbook (``.xlsx``) as raw rows: one sheet's header, then each record's cells with its row.

python-calamine (the optional ``excel`` extra) reads the workbook: about ten times faster than
openpyxl on a 10,000-row sheet. Cells become the text a CSV would hold, so every check reads
them alike: a number cell that is a whole number is written without ``.0`` (``85.0`` is ``85``,
accepted by an integer metric) and any other number has the 15 significant digits Excel shows
(a sum stored as ``0.30000000000000004`` is ``0.3``), a date or a date-time at midnight is its ISO date (a first of
the month is read as that month), an empty cell is blank. Rows are numbered as Excel numbers
them (the header is row 1) and the source is named ``agents.xlsx[Sheet1]``, so a rejection reads
``agents.xlsx[Sheet1]:5``. A missing sheet, a file that is not a workbook and a missing extra
each raise ``RecordsError`` in plain words.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tierpay.engine.records import RawRow, header_names
from tierpay.errors import RecordsError
from tierpay.io.csv_records import row_of

INSTALL = 'pip install "tierpay[excel]"'
"""What to run so that ``.xlsx`` records can be read."""

ZIP_MAGIC = b"PK\x03\x04"
"""How an ``.xlsx`` file (a zip archive) begins."""


def is_xlsx_name(path: str) -> bool:
    """Whether a records path names a workbook, by its extension."""
    return path.lower().endswith(".xlsx")


def xlsx_rows(
    raw: bytes, source: str, fields: Mapping[str, str] | None = None, sheet: str | None = None
) -> tuple[str, list[RawRow], dict[str, str]]:
    """The sheet's name (as rejections name the source: ``source[sheet]``), its rows as (Excel row, column -> cell),
    and each field its header names otherwise (:attr:`tierpay.engine.records.Header.written`).

    ``raw`` is the workbook's bytes; ``sheet`` names the sheet to read (default: the first).
    Blank rows are skipped; a sheet with no header row raises ``RecordsError``.
    """
    cells, name, others = _sheet_cells(raw, source, sheet)
    where = f"{source}[{name}]"
    first = next((i for i, row in enumerate(cells) if any(c.strip() for c in row)), None)
    if first is None:
        raise RecordsError(f"{where}: the sheet is empty; a header row is needed")
    if first != 0:
        raise RecordsError(f"{where}:1: the first row is blank: the header row must come first")
    try:
        names = header_names(cells[0], where, fields)
    except RecordsError as error:
        if sheet is not None or not others:
            raise
        listed = ", ".join(repr(n) for n in others)
        raise RecordsError(f"{error}; the first sheet was read: name another with --sheet ({listed})") from None
    rows: list[RawRow] = []
    for number, row in enumerate(cells[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        row = row[: len(names)] if not any(c.strip() for c in row[len(names) :]) else row
        rows.append((number, row_of(names, row + [""] * (len(names) - len(row)))))
    return where, rows, names.written


def _sheet_cells(raw: bytes, source: str, sheet: str | None) -> tuple[list[list[str]], str, list[str]]:
    """Every row of the chosen sheet as text cells, the sheet's name and the names of the other sheets."""
    try:
        import python_calamine as calamine
    except ImportError:
        raise RecordsError(
            f"{source}: reading .xlsx records needs the excel extra: {INSTALL} (or save the sheet as CSV)"
        ) from None
    if not raw.startswith(ZIP_MAGIC):
        raise RecordsError(f"{source}: not an Excel workbook (.xlsx): save it from Excel as .xlsx, or as CSV")
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(raw))
        names: list[str] = list(book.sheet_names)
        if not names:
            raise RecordsError(f"{source}: the workbook has no sheets")
        name = names[0] if sheet is None else sheet
        if name not in names:
            there = ", ".join(repr(n) for n in names)
            raise RecordsError(f"{source}: no sheet named {sheet!r}; the workbook has {there}")
        values = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except calamine.PasswordError:
        raise RecordsError(f"{source}: the workbook is protected by a password: save it without one") from None
    except calamine.CalamineError as error:
        raise RecordsError(
            f"{source}: not a readable Excel workbook (.xlsx) ({error}): save it again from Excel, or as CSV"
        ) from None
    return [[cell_text(v) for v in row] for row in values], name, [n for n in names if n != name]


def cell_text(value: Any) -> str:
    """A cell's value as the text a CSV would hold (see the module's docstring)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        if not math.isfinite(value):
            return str(value)
        # 15 significant digits, as Excel shows a number: a sum stored as 0.30000000000000004 is 0.3
        return format(Decimal(format(value, ".15g")).normalize(), "f")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
