"""A records CSV as raw rows: the header's column names, then each record's cells with its line.

The csv module parses; around it this module keeps what a records file needs: each record's
first line (a quoted cell may span lines), blank lines skipped, one message for a file with
no header, and a cell longer than the csv module reads (``MAX_CELL``) met without losing the
file: its row is read anyway when its line has no quotes (and rejected for the long cell),
rejected whole when its quotes close on the line, and only a quote that runs on past the
limit, or to the end of the file, stops the reading (the lines after it cannot be trusted).
Reading the whole file (:func:`csv_rows`) and one period at a time (``stream_batches``) both
come through :func:`csv_cells`, so they read every file alike.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tierpay.engine.records import PROBLEMS, Header, RawRow, header_names
from tierpay.engine.values import MAX_CELL
from tierpay.errors import RecordsError

Cells = tuple[int, list[str] | None]
"""A record's first line and its cells (None: the row could not be split into cells)."""


class _Lines:
    """The lines handed to the csv reader, counted, with those of the record being read kept."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.count = 0
        self.record: list[str] = []
        self.ended = False  # the csv reader asked past the last line: it was inside quotes

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except StopIteration:
            self.ended = True
            raise
        self.count += 1
        self.record.append(line)
        return line


def csv_cells(
    lines: Iterable[str], source: str, fields: Mapping[str, str] | None = None
) -> tuple[Header, Iterator[Cells]]:
    """The header's checked column names, and each later non-blank record as (first line, cells).

    ``lines`` are the file's lines with their line ends, as a file opened with ``newline=""``
    gives them (a lone carriage return ends a line too). A file with no header raises
    ``RecordsError``, before any record is read. ``fields`` maps headers to the fields they
    name (:func:`tierpay.engine.records.header_fields`).
    """
    feed = _Lines(lines)
    reader = csv.reader(feed)
    header = _header(reader, feed, source)
    return header_names(header, source, fields), _records(reader, feed, source)


def csv_rows(text: str, source: str, fields: Mapping[str, str] | None = None) -> list[RawRow]:
    """Rows of CSV text as (line number, column -> cell) pairs; a header row is required."""
    names, records = csv_cells(io.StringIO(text, newline=""), source, fields)
    return [(line, row_of(names, cells)) for line, cells in records]


def row_of(names: list[str], cells: list[str] | None) -> dict[str, Any]:
    """A record's cells by column name; a row of the wrong width, or none, carries the problem."""
    if cells is None:
        return {PROBLEMS: [f"row: a quoted cell is too long: a value holds at most {MAX_CELL:,} characters"]}
    row: dict[str, Any] = dict(zip(names, cells, strict=False))
    if len(cells) != len(names):
        row[PROBLEMS] = [f"row: has {len(cells)} cells, the header has {len(names)}"]
    return row


def _header(reader: Any, feed: _Lines, source: str) -> list[str]:
    """The first line's cells; a file of nothing but blank lines has no header."""
    try:
        header: list[str] = next(reader)
    except StopIteration:
        raise RecordsError(f"{source}: the file is empty; a header row is needed") from None
    except csv.Error:
        raise RecordsError(f"{source}:1: the header has a cell longer than {MAX_CELL:,} characters") from None
    if feed.ended:
        raise RecordsError(f"{source}:1: a quote opened in the header is never closed")
    if not any(c.strip() for c in header):
        for cells in reader:
            if any(c.strip() for c in cells):
                raise RecordsError(f"{source}:1: the first line is blank: the header row must come first")
        raise RecordsError(f"{source}: the file is empty; a header row is needed")
    return header


def _records(reader: Any, feed: _Lines, source: str) -> Iterator[Cells]:
    while True:
        feed.record = []
        first = feed.count + 1
        try:
            cells: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error:  # a cell over the csv module's limit
            cells = _long_record(feed, first, source)
        if feed.ended:
            raise RecordsError(f"{source}:{first}: a quote opened in this record is never closed")
        if cells is not None and not any(c.strip() for c in cells):
            continue
        yield first, cells


def _long_record(feed: _Lines, first: int, source: str) -> list[str] | None:
    """The cells of a record with a cell the csv module refused as too long, or None for a rejection.

    The reader goes on at the next line. A line with no quotes splits at its commas as the
    csv module would have split it; a record whose quotes close on the line where it ends is
    rejected whole; a quote still open there would make the lines after it misread.
    """
    text = "".join(feed.record)
    if '"' not in text and len(feed.record) == 1:
        return text.rstrip("\r\n").split(",")
    if text.count('"') % 2:
        raise RecordsError(
            f"{source}:{first}: a quoted cell runs past {MAX_CELL:,} characters: is a closing quote missing?"
        )
    return None
