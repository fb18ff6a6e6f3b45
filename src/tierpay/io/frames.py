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

import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    header_fields,
    level_lookup,
    no_records,
)
from tierpay.engine.values import HIDDEN_PATTERN, MAX_CELL, MAX_MAGNITUDE
from tierpay.io.csv_records import csv_cells, csv_rows
from tierpay.io.sources import decode_input, read_bytes
from tierpay.io.textfile import encoding_name
from tierpay.ruleset.compiler import CompiledRuleset

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
    frame = _read_text(ruleset, raw, text, source)
    if note is not None:
        frame.warnings.insert(0, note)
    return frame


def _read_text(ruleset: CompiledRuleset, raw: bytes, text: str, source: str) -> RecordFrame:
    """``raw`` (UTF-8 bytes) read as records; ``text`` is the same, decoded."""
    fields = header_fields(ruleset)
    names, _ = csv_cells(io.StringIO(text, newline=""), source, fields)  # the header, checked as every reader checks it
    first_line = io.StringIO(text, newline="").readline()
    start = (3 if raw.startswith(b"\xef\xbb\xbf") else 0) + len(first_line.encode("utf-8"))

    def line_by_line() -> RecordFrame:
        """The reference reader, for files whose line numbers polars cannot vouch for."""
        return _from_rows(ruleset, csv_rows(text, source, fields), source)

    body = raw[start:]
    if '"' in first_line or not _plain(body, len(names)):
        return line_by_line()
    columns = [name or f"__blank{i}" for i, name in enumerate(names)]
    if not body:
        frame = pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    else:
        try:
            frame = pl.read_csv(body, has_header=False, new_columns=columns, infer_schema=False)
        except pl.exceptions.PolarsError:  # rows of different widths that happened to add up
            return line_by_line()
        if frame.select(pl.all_horizontal(pl.all().is_null())).to_series().any():
            return line_by_line()  # a row of empty cells: the reference reader skips it
    frame = frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(ROW))
    return _check(ruleset, _months_written_out(frame, names), names, source)


def _months_written_out(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
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


def _plain(body: bytes, width: int) -> bool:
    """Whether each line of ``body`` is one record of ``width`` unquoted cells, as polars reads it."""
    if b'"' in body or b"\r" in body or b"\n\n" in body or body.startswith(b"\n"):
        return False
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    return body.count(b",") == (width - 1) * lines


def _from_rows(ruleset: CompiledRuleset, rows: list[tuple[int, Any]], source: str) -> RecordFrame:
    """The reference reader's rows, checked by the reference checker, as a frame."""
    good, rejected, seen, unknown = check_rows(ruleset, rows, source)
    frame = records_frame(ruleset, good, source)
    return _finish(ruleset, frame, rejected, seen, unknown, source)


def _check(ruleset: CompiledRuleset, frame: pl.DataFrame, names: list[str], source: str) -> RecordFrame:
    """Strict checks on whole columns; rows failing any go through the reference checker."""
    model = ruleset.model
    present = set(names)
    clean: list[pl.Expr] = [
        pl.col("agent_id").is_not_null()
        & (pl.col("agent_id").str.strip_chars() == pl.col("agent_id"))
        & ~pl.col("agent_id").str.contains(HIDDEN_PATTERN),
        *((pl.col(c).str.len_bytes() <= MAX_CELL).fill_null(True) for c in frame.columns if c != ROW),
        pl.col("period").str.contains(_MONTH).fill_null(False) if "period" in present else pl.lit(False),
    ]
    typed: list[pl.Expr] = [
        pl.col(ROW),
        pl.col("agent_id"),
        pl.col("period") if "period" in present else pl.lit(None, pl.String).alias("period"),
    ]
    lookup = level_lookup(ruleset)
    if "level" in present:
        clean.append(pl.col("level").is_null() | pl.col("level").is_in(list(lookup)))
        typed.append(pl.col("level").replace_strict(lookup, default=None, return_dtype=pl.String).alias("level"))
    else:
        typed.append(pl.lit(None, pl.String).alias("level"))
    for name, attr in model.attributes.items():
        column = pl.col(name) if name in present else pl.lit(None, pl.String)
        default = attr.default
        if attr.type in ("date", "term"):  # blank allowed; anything but the canonical form goes to the checker
            if attr.type == "date":
                ok = column.str.contains(_ISO_DATE) & column.str.to_date("%Y-%m-%d", strict=False).is_not_null()
            else:
                ok = column.str.contains(_CANONICAL_TERM)
            clean.append((ok | column.is_null()).fill_null(False))
            typed.append(column.alias(name))
            continue
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
            clean.append(ok.fill_null(False))
            typed.append(flag.alias(name))
            continue
        ok = column.is_in(list(attr.values)) if attr.values is not None else column.str.strip_chars() == column
        ok = ok & ~column.str.contains(HIDDEN_PATTERN)
        value = column
        if default is not None:
            ok, value = ok | column.is_null(), column.fill_null(str(default).strip())
            if attr.values is not None and str(default).strip() not in attr.values:
                ok = ok & column.is_not_null()
        clean.append(ok.fill_null(False))
        typed.append(value.alias(name))
    for name, metric in model.metrics.items():
        column = pl.col(name) if name in present else pl.lit(None, pl.String)
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
        clean.append(ok.fill_null(False))
        typed.append(number.alias(name))
        typed.append(text.alias(name + TEXT))
    if not all(_faithful_bound(m.min) and _faithful_bound(m.max) for m in model.metrics.values()):
        clean.append(pl.lit(False))  # bounds float64 cannot hold exactly: every row checked exactly
    marked = frame.with_columns(pl.all_horizontal(clean).alias("__clean"))
    good = marked.filter(pl.col("__clean")).select(typed)
    unclean = marked.filter(~pl.col("__clean")).drop("__clean")
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
