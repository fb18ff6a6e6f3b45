"""Reading records from files: the I/O edge in front of :mod:`tierpay.engine.records`.

A file that cannot be read as a whole (wrong encoding, no header, not a list) raises
``RecordsError`` naming the file; a bad *row* becomes a rejection and the rest are read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from tierpay.engine.columns import RecordFrame
from tierpay.engine.records import SHAPE_KEY, RawRow, RecordBatch, header_names, parse_records_for
from tierpay.engine.tables import Table, is_table, parse_table
from tierpay.errors import RecordsError
from tierpay.io.textfile import NotUtf8, decode_utf8
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions


def decode_text(raw: bytes, source: str, error: type[Exception] = RecordsError) -> str:
    """Bytes as UTF-8 text (a byte-order mark is dropped); anything else raises ``error``."""
    try:
        return decode_utf8(raw, source)
    except NotUtf8 as why:
        raise error(str(why)) from None


def csv_rows(text: str, source: str) -> list[RawRow]:
    """Rows of CSV text as (line number, column -> cell) pairs; a header row is required."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RecordsError(f"{source}: the file is empty; a header row is needed") from None
    names = header_names(header, source)
    rows: list[RawRow] = []
    start = reader.line_num + 1
    for cells in reader:
        line = start
        start = reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        rows.append((line, _row(names, cells)))
    return rows


def _row(names: list[str], cells: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = dict(zip(names, cells, strict=False))
    if len(cells) != len(names):
        row[SHAPE_KEY] = f"has {len(cells)} cells, the header has {len(names)}"
    return row


def json_rows(text: str, source: str) -> list[RawRow]:
    """Items of a JSON list (or of ``{"records": [...]}``), numbered from 1; numbers kept exact."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise RecordsError(f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise RecordsError(f"{source}: expected a list of records, or an object with a `records` list")
    rows: list[RawRow] = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append((i, {SHAPE_KEY: f"item {i} is not an object"}))
            continue
        flat = {k: v for k, v in item.items() if k not in ("attributes", "metrics")}
        for nested in ("attributes", "metrics"):
            if isinstance(item.get(nested), dict):
                flat.update(item[nested])
        rows.append((i, flat))
    return rows


def read_records(
    ruleset: CompiledRuleset | RulesetVersions, path: str | Path | Table, source: str | None = None
) -> RecordBatch:
    """Read a CSV or JSON records file (chosen by its extension) into checked records.

    ``path`` may also be a pandas or polars DataFrame or a pyarrow Table, checked as a CSV of the
    same data (:mod:`tierpay.engine.tables`). ``source`` names the input in rejections and warnings
    (default: the path, or ``<DataFrame>`` or ``<Table>``).
    """
    if is_table(path):
        return RecordBatch(*parse_table(ruleset, path, source))
    file = Path(path)
    source = source or str(path)
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise RecordsError(f"{source}: cannot read: {error.strerror or error}") from None
    text = decode_text(raw, source)
    rows = json_rows(text, source) if file.suffix.lower() == ".json" else csv_rows(text, source)
    good, rejected, warnings = parse_records_for(ruleset, rows, source)
    return RecordBatch(good, rejected, warnings)


STREAM_BYTES = 256 * 1024 * 1024
"""Records files at least this large are read one period at a time (about 2.5 million rows)."""


def stream_batches(
    target: CompiledRuleset | RulesetVersions, path: str | Path
) -> Iterator[tuple[str | None, RecordBatch, int]]:
    """Read a CSV records file one period at a time: ``(period, batch, rows read so far)``.

    Memory holds one period's rows, so the file must be grouped by period, in order (as HR
    exports by month are); rows of a period that comes back later are rejected when evaluated,
    with that reason. Rows whose period is missing or malformed come as their own batch,
    rejected.
    """
    source = str(path)
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            yield from _stream(target, handle, source)
    except OSError as error:
        raise RecordsError(f"{source}: cannot read: {error.strerror or error}") from None


def _stream(
    target: CompiledRuleset | RulesetVersions, handle: Any, source: str
) -> Iterator[tuple[str | None, RecordBatch, int]]:
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        raise RecordsError(f"{source}: the file is empty; a header row is needed") from None
    except UnicodeDecodeError:
        raise RecordsError(f"{source}:1: not UTF-8 text: save it as 'CSV UTF-8'") from None
    names = header_names(header, source)
    period_at = names.index("period") if "period" in names else None
    current: str | None = None
    rows: list[RawRow] = []
    read = 0
    line = reader.line_num + 1
    try:
        for cells in reader:
            number, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            read += 1
            period = cells[period_at].strip() if period_at is not None and period_at < len(cells) else ""
            if not _MONTH.match(period):  # rejected on its own, without splitting the current month
                yield None, _batch(target, [(number, _row(names, cells))], source), read
                continue
            if period != current and rows:
                yield current, _batch(target, rows, source), read - 1
                rows = []
            current = period
            rows.append((number, _row(names, cells)))
    except UnicodeDecodeError:
        raise RecordsError(f"{source}:{line}: not UTF-8 text: save it as 'CSV UTF-8'") from None
    if rows:
        yield current, _batch(target, rows, source), read


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _batch(target: CompiledRuleset | RulesetVersions, rows: list[RawRow], source: str) -> RecordBatch:
    good, rejected, warnings = parse_records_for(target, rows, source)
    return RecordBatch(good, rejected, warnings)


def read_input(target: CompiledRuleset | RulesetVersions, path: str | Path) -> RecordFrame:
    """A records file as checked columns: a CSV straight into columns, JSON (or a folder of versions) via records."""
    from tierpay.engine.run import as_frame
    from tierpay.io.frames import read_frame

    if isinstance(target, CompiledRuleset) and Path(path).suffix.lower() != ".json":
        return read_frame(target, path)
    return as_frame(target, read_records(target, path))
