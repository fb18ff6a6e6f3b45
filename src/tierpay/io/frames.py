"""A records CSV read straight into checked columns (a :class:`~tierpay.engine.columns.RecordFrame`).

The reader gives what :func:`tierpay.io.sources.read_records` gives (the same records, the
same rejections with the same reasons, the same warnings) but as one polars frame. It checks
the common case on whole columns with strict patterns: plain decimals of at most 15
characters within the limits of :mod:`tierpay.engine.values` (and never ``-0``), listed
attribute values, months written ``YYYY-MM``, no control or invisible characters, no cell
longer than the csv module reads. A row that fails any strict
check is not rejected here: it goes through the reference checker
(:func:`tierpay.engine.records.check_rows`), which accepts it (``" 87 "`` or ``1e3`` are numbers
there too) or rejects it with every reason. Duplicates are split over the whole file at the
end, as the reference reader does. Files the fast reader cannot line up with the reference
reader's line numbers (quoted cells, blank lines, carriage returns, ragged rows) are read by
the reference reader and turned into a frame.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tierpay.engine.columns import ROW, TEXT, RecordFrame, frame_columns, frame_schema, records_frame
from tierpay.engine.months import month_or_none
from tierpay.engine.records import (
    FALSE_WORDS,
    RESERVED_COLUMNS,
    TRUE_WORDS,
    Rejection,
    check_rows,
    column_warnings,
    duplicate_reason,
    headed,
    header_fields,
    level_lookup,
    no_records,
)
from tierpay.engine.values import HIDDEN_PATTERN, MAX_CELL, MAX_MAGNITUDE
from tierpay.io.csv_records import csv_cells, csv_rows
from tierpay.io.sources import decode_input, read_bytes
from tierpay.io.textfile import decode_utf8, encoding_name
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import Attribute, Metric

_MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
_INTEGER = r"^-?[0-9]+$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_CANONICAL_TERM = r"^([1-9][0-9]{0,2}[my]|open|task)$"
_MINUS_ZERO = r"^-0+(\.0+)?$"  # the checker writes it 0
FAITHFUL_CHARS = 15


def read_frame(
    ruleset: CompiledRuleset, path: str | Path, encoding: str | None = None, data: bytes | None = None
) -> RecordFrame:
    """Read a CSV records file (or ``data``, its bytes) into checked columns, as ``read_records`` reads it."""
    source = str(path)
    raw = data if data is not None else read_bytes(Path(path), source)
    text, note = decode_input(raw, source, encoding)  # polars reads the bytes themselves: UTF-8 ones
    if note is not None or (encoding is not None and encoding_name(encoding) != "utf-8"):
        raw = text.encode("utf-8")
    fields = header_fields(ruleset)
    lines = _lines(text)
    names, _ = csv_cells(lines, source, fields)  # the header, checked as every reader checks it
    first_line = next(_lines(text), "")
    del text, lines, _  # the reference reader decodes the bytes again if it is needed: memory holds one copy
    frame = _read_text(ruleset, raw, names, first_line, source)
    if note is not None:
        frame.warnings.insert(0, note)
    frame.headers = names.written
    frame.rejections = headed(frame.rejections, {source: names.written})
    return frame


def _lines(text: str) -> Iterator[str]:
    """``text``'s lines with their ends, as a file opened with ``newline=""`` gives them, without copying it whole."""
    for found in _LINE.finditer(text):
        yield found.group()


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _read_text(ruleset: CompiledRuleset, raw: bytes, names: list[str], first_line: str, source: str) -> RecordFrame:
    """``raw`` (UTF-8 bytes) read as records, under the header ``names`` read from ``first_line``."""
    start = (3 if raw.startswith(b"\xef\xbb\xbf") else 0) + len(first_line.encode("utf-8"))

    def line_by_line() -> RecordFrame:
        """The reference reader, for files whose line numbers polars cannot vouch for."""
        fields = header_fields(ruleset)
        return _from_rows(ruleset, csv_rows(decode_utf8(raw, source), source, fields), source)

    if '"' in first_line or not _plain(raw, start, len(names)):
        return line_by_line()
    columns = [name or f"__blank{i}" for i, name in enumerate(names)]
    if start >= len(raw):
        frame = pl.DataFrame(schema=dict.fromkeys(columns, pl.Categorical))
    else:
        read: dict[str, Any] = {"has_header": False, "schema": dict.fromkeys(columns, pl.Categorical)}
        try:  # each column as codes into its distinct texts: a file holds few of them, so they are checked once
            if raw.find(b"\n") + 1 == start:
                frame = pl.read_csv(raw, skip_lines=1, **read)
            else:
                frame = pl.read_csv(raw[start:], **read)
        except pl.exceptions.PolarsError:  # rows of different widths that happened to add up
            return line_by_line()
        if frame.select(pl.all_horizontal(pl.all().is_null())).to_series().any():
            return line_by_line()  # a row of empty cells: the reference reader skips it
    frame = frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(ROW))
    if "period" in names:
        frame = frame.with_columns(pl.col("period").cast(pl.String))
    return check_frame(ruleset, months_written_out(frame, names), names, source)


def months_written_out(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """``period`` cells in another form people write months in (``2026/1``, ``2026年1月``) as ``YYYY-MM``.

    Each distinct text is read once (a file holds a few months), so a file already written
    ``YYYY-MM`` costs one pass over the column; a cell that is no month is left for the checker
    to reject in its own words.
    """
    if "period" not in names:
        return frame
    column = frame.get_column("period")
    other = column.filter(~column.str.contains(_MONTH).fill_null(True)).unique().to_list()
    written = {text: month for text in other if (month := month_or_none(text)) is not None}
    if not written:
        return frame
    return frame.with_columns(pl.col("period").replace(written))


def _plain(raw: bytes, start: int, width: int) -> bool:
    """Whether each line of ``raw`` from ``start`` is one record of ``width`` unquoted cells, as polars reads it."""
    if any(raw.find(mark, start) >= 0 for mark in (b'"', b"\r", b"\n\n")) or raw.startswith(b"\n", start):
        return False
    empty = start >= len(raw)
    lines = raw.count(b"\n", start) + (0 if raw.endswith(b"\n") or empty else 1)
    return raw.count(b",", start) == (width - 1) * lines


def _from_rows(ruleset: CompiledRuleset, rows: list[tuple[int, Any]], source: str) -> RecordFrame:
    """The reference reader's rows, checked by the reference checker, as a frame."""
    good, rejected, seen, unknown = check_rows(ruleset, rows, source)
    frame = records_frame(ruleset, good, source)
    return _finish(ruleset, frame, rejected, seen, unknown, source)


def check_frame(ruleset: CompiledRuleset, frame: pl.DataFrame, names: list[str], source: str) -> RecordFrame:
    """Strict checks on whole columns; rows failing any go through the reference checker.

    Each check and each typed value reads one column, so it is worked out once per distinct
    text of that column (the columns are categorical: codes into their texts) and handed to
    every row holding that text.
    """
    model = ruleset.model
    present = set(names)
    texts = _Texts(frame)
    clean: list[pl.Series] = []
    typed: dict[str, pl.Series] = {ROW: frame[ROW], "agent_id": frame["agent_id"].cast(pl.String)}
    clean += texts.each(
        "agent_id",
        lambda c: [c.is_not_null() & (c.str.strip_chars() == c) & ~c.str.contains(HIDDEN_PATTERN)],
    )
    for c in frame.columns:
        if c != ROW:
            clean += texts.each(c, lambda c: [(c.str.len_bytes() <= MAX_CELL).fill_null(True)])
    if "period" in present:
        clean += texts.each("period", lambda c: [c.str.contains(_MONTH).fill_null(False)])
        typed["period"] = frame["period"]
    else:
        clean.append(pl.Series([False]).new_from_index(0, frame.height))
        typed["period"] = pl.Series([None], dtype=pl.String).new_from_index(0, frame.height)
    lookup = level_lookup(ruleset)
    if "level" in present:
        ok, level = texts.each(
            "level",
            lambda c: [
                c.is_null() | c.is_in(list(lookup)),
                c.replace_strict(lookup, default=None, return_dtype=pl.String),
            ],
        )
        clean.append(ok)
        typed["level"] = level
    else:
        typed["level"] = pl.Series([None], dtype=pl.String).new_from_index(0, frame.height)
    for name, attr in model.attributes.items():
        ok, typed[name] = texts.each(name if name in present else None, _attribute_check(attr))
        clean.append(ok)
    for name, metric in model.metrics.items():
        ok, typed[name], text = texts.each(name if name in present else None, _metric_check(metric))
        clean.append(ok)
        if name in present and metric.default is None:
            typed[name + TEXT] = frame[name]  # the texts as read, still codes
        else:
            typed[name + TEXT] = text.cast(pl.Categorical)
    marks = pl.DataFrame([c.alias(f"__{i}") for i, c in enumerate(clean)]).select(pl.all_horizontal(pl.all()))
    is_clean = marks.to_series()
    if not all(_faithful_bound(m.min) and _faithful_bound(m.max) for m in model.metrics.values()):
        is_clean = pl.Series([False]).new_from_index(0, frame.height)  # bounds float64 cannot hold exactly
    good = pl.DataFrame([v.alias(k) for k, v in typed.items()])
    del typed
    if not is_clean.all():
        good = good.filter(is_clean)
    unclean = frame.filter(~is_clean).with_columns(pl.all().exclude(ROW).cast(pl.String))
    rows = [
        (row[ROW], {n: ("" if row.get(c) is None else row[c]) for n, c in zip(names, frame.columns, strict=False)})
        for row in unclean.iter_rows(named=True)
    ]
    checked, rejected, _, _ = check_rows(ruleset, rows, source)
    if checked:
        extra = records_frame(ruleset, checked, source).cast(frame_schema(ruleset, text=pl.String))
        good = pl.concat([good.select(frame_columns(ruleset)), extra], how="vertical_relaxed").sort(ROW)
    seen = set(names) if frame.height else set()
    known = {*RESERVED_COLUMNS, *model.metrics, *model.attributes}
    unknown = [n for n in names if n not in known] if frame.height else []  # as the row reader: from rows
    return _finish(
        ruleset, good.select(frame_columns(ruleset)).cast(frame_schema(ruleset)), rejected, seen, unknown, source
    )


def _attribute_check(attr: Attribute) -> Callable[[pl.Expr], list[pl.Expr]]:
    """Whether an attribute's text passes the strict check, and its typed value."""
    default = attr.default

    def check(column: pl.Expr) -> list[pl.Expr]:
        if attr.type in ("date", "term"):  # blank allowed; anything but the canonical form goes to the checker
            if attr.type == "date":
                ok = column.str.contains(_ISO_DATE) & column.str.to_date("%Y-%m-%d", strict=False).is_not_null()
            else:
                ok = column.str.contains(_CANONICAL_TERM)
            return [(ok | column.is_null()).fill_null(False), column]
        if attr.type == "boolean":
            words = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
            ok = column.is_in(list(words))
            flag = column.replace_strict(words, default=None, return_dtype=pl.Boolean)
            if default is not None:
                fallback = default if isinstance(default, bool) else words.get(str(default).strip().lower())
                if fallback is None:
                    ok = ok.fill_null(False) & column.is_not_null()
                else:
                    ok, flag = ok | column.is_null(), flag.fill_null(fallback)
            return [ok.fill_null(False), flag]
        ok = column.is_in(list(attr.values)) if attr.values is not None else column.str.strip_chars() == column
        ok = ok & ~column.str.contains(HIDDEN_PATTERN)
        value = column
        if default is not None:
            ok, value = ok | column.is_null(), column.fill_null(str(default).strip())
            if attr.values is not None and str(default).strip() not in attr.values:
                ok = ok & column.is_not_null()
        return [ok.fill_null(False), value]

    return check


def _metric_check(metric: Metric) -> Callable[[pl.Expr], list[pl.Expr]]:
    """Whether a metric's text passes the strict check, its number (float64) and its exact text."""

    def check(column: pl.Expr) -> list[pl.Expr]:
        pattern = _INTEGER if metric.type == "integer" else _DECIMAL
        ok = (
            column.str.contains(pattern)
            & (column.str.len_chars() <= FAITHFUL_CHARS)
            & ~column.str.contains(_MINUS_ZERO)
        )
        text = column
        if metric.default is not None:
            ok, text = ok | column.is_null(), column.fill_null(str(metric.default))
        elif metric.optional:
            ok = ok | column.is_null()
        number = text.cast(pl.Float64, strict=False)
        ok = ok & (number.abs() <= float(MAX_MAGNITUDE)).fill_null(True)
        # A blank optional metric has no number to bound (text that is no number fails ``ok``).
        if metric.min is not None:
            ok = ok & (number >= float(metric.min)).fill_null(True)
        if metric.max is not None:
            ok = ok & (number <= float(metric.max)).fill_null(True)
        return [ok.fill_null(False), number, text]

    return check


class _Texts:
    """Expressions over one column's text, evaluated once per distinct text and spread to the rows."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._where: dict[str, pl.Series] = {}
        self._distinct: dict[str, pl.Series] = {}

    def each(self, name: str | None, build: Callable[[pl.Expr], list[pl.Expr]]) -> list[pl.Series]:
        """``build(column)``'s expressions for every row; a column not in the file (``None``) is blank."""
        height = self.frame.height
        if name is None:
            one = pl.DataFrame({"__blank": [None]}, schema={"__blank": pl.String})
            found = one.select([e.alias(f"__{i}") for i, e in enumerate(build(pl.col("__blank")))])
            return [found[c].new_from_index(0, height) for c in found.columns]
        column = self.frame[name]
        if column.dtype != pl.Categorical:
            found = self.frame.select([e.alias(f"__{i}") for i, e in enumerate(build(pl.col(name)))])
            return [found[c] for c in found.columns]
        distinct, where = self._codes(name, column)
        found = distinct.select([e.alias(f"__{i}") for i, e in enumerate(build(pl.col(name)))])
        return [found[c].gather(where) for c in found.columns]

    def _codes(self, name: str, column: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
        """The column's distinct texts, and for each row the place of its text among them."""
        if name not in self._where:
            distinct = column.unique()
            codes = column.to_physical()
            top = codes.max()
            blank = (int(top) if isinstance(top, int) else 0) + 1  # where a null goes
            place = np.zeros(blank + 1, dtype=np.uint32)
            place[distinct.to_physical().fill_null(blank).to_numpy()] = np.arange(distinct.len(), dtype=np.uint32)
            self._where[name] = pl.Series(place[codes.fill_null(blank).to_numpy()])
            self._distinct[name] = distinct.cast(pl.String)
        return pl.DataFrame({name: self._distinct[name]}), self._where[name]


def _faithful_bound(value: Decimal | None) -> bool:
    return value is None or (len(str(value)) <= FAITHFUL_CHARS and "E" not in str(value))


def _finish(
    ruleset: CompiledRuleset,
    frame: pl.DataFrame,
    rejected: list[Rejection],
    seen: set[str],
    unknown: list[str],
    source: str,
) -> RecordFrame:
    """Split off every copy of a duplicated agent-period, as ``split_duplicates`` words it."""
    keys = ["agent_id", "period"]
    cal = ruleset.model.calendar
    segment = [cal.segments.start] if cal is not None and cal.segments is not None else []
    duplicated = frame.select(pl.struct([*keys, *segment]).is_duplicated()).to_series()
    if duplicated.any():
        copies: dict[tuple[str, ...], list[str]] = defaultdict(list)
        dupes = frame.filter(duplicated).select([ROW, *keys, *segment])
        places = []
        for row, *key in dupes.iter_rows():
            places.append(len(copies[tuple(key)]))
            copies[tuple(key)].append(f"{source}:{row}")
        for (row, agent, period, *rest), place in zip(dupes.iter_rows(), places, strict=True):
            reason = duplicate_reason(agent, period, copies[(agent, period, *rest)], place)
            rejected.append(Rejection(source=source, row=row, agent_id=agent, period=period, reasons=[reason]))
        frame = frame.filter(~duplicated)
    rejected.sort(key=lambda r: (r.source, r.row))
    warnings = column_warnings(ruleset, source, seen, unknown)
    if not frame.height and not rejected:
        warnings.append(no_records(source))
    return RecordFrame(frame, source, rejected, warnings)
