"""A large records CSV read a period at a time straight into checked columns.

``--stream`` (and any file over ``STREAM_BYTES``) reads one period's rows at a time so that
memory holds one month. The reference reader does that line by line through the row checker,
five times slower per row than reading the whole file into columns. Here a plain file (no
quotes, carriage returns, blank or empty rows, every line as wide as the header, UTF-8) is read
in blocks of whole lines by polars, categorical as :mod:`tierpay.io.frames` reads a file, and
each period's rows go through the same column checks. The batches are those the line reader
makes: a run of rows of one period is a batch, handed over when the next period begins; a row
whose period is missing or no month is a batch of its own, handed over when it is met. A file
that is not plain is left to the line reader (:func:`plain_file` says which).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from tierpay.engine.columns import ROW, RecordFrame, frame_schema
from tierpay.engine.months import month_or_none
from tierpay.engine.records import no_records
from tierpay.io.frames import check_frame, months_written_out
from tierpay.ruleset.compiler import CompiledRuleset

BLOCK = 16 << 20
"""Bytes read at a time (whole lines)."""
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$", re.ASCII)


def body_start(path: str | Path) -> tuple[int, str] | None:
    """Where the rows begin (after the byte-order mark and the header line) and the header line, if it is plain."""
    with Path(path).open("rb") as handle:
        head = handle.readline()
    mark = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    try:
        line = head[mark:].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if '"' in line or "\r" in line or not line.endswith("\n"):
        return None
    return len(head), line


def plain_file(path: str | Path, start: int, width: int) -> bool:
    """Whether every line from ``start`` is one record of ``width`` unquoted cells, not all empty, in UTF-8."""
    for block in _blocks(path, start):
        if b'"' in block or b"\r" in block:
            return False
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return False
        data = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(data == 10)
        if not block.endswith(b"\n"):  # the last line has no line end
            ends = np.append(ends, len(block))
        commas = np.flatnonzero(data == 44)
        per_line = np.diff(np.searchsorted(commas, ends), prepend=0)
        lengths = np.diff(ends, prepend=-1) - 1
        if (per_line != width - 1).any() or (lengths <= width - 1).any():  # ragged, blank or all empty
            return False
    return True


def stream_frames(
    ruleset: CompiledRuleset, path: str | Path, names: list[str], start: int
) -> Iterator[tuple[str | None, RecordFrame, int]]:
    """A plain file's batches, as ``stream_batches`` gives them: ``(period, checked rows, rows read so far)``."""
    source = str(path)
    columns = [name or f"__blank{i}" for i, name in enumerate(names)]
    schema = dict.fromkeys(columns, pl.Categorical)
    pending: list[pl.DataFrame] = []  # the rows of the period being gathered
    current: str | None = None
    read = 0
    for block in _blocks(path, start):
        frame = pl.read_csv(block, has_header=False, schema=schema)
        frame = frame.with_columns(pl.int_range(read + 2, read + 2 + frame.height, dtype=pl.Int64).alias(ROW))
        keys = _periods(frame)
        valid = keys.is_not_null()
        events: list[tuple[int, str | None]] = [(i, None) for i in np.flatnonzero(~valid.to_numpy()).tolist()]
        shown = keys.filter(valid)
        changed = shown != shown.shift(1, fill_value=current if current is not None else "")
        at = np.flatnonzero(valid.to_numpy())[changed.to_numpy()]
        events += list(zip(at.tolist(), shown.filter(changed).to_list(), strict=True))
        cursor = 0
        for i, key in sorted(events):
            if key is None:  # a row with no month: rejected on its own, without splitting the period
                yield None, _checked(ruleset, frame.slice(i, 1), names, source), read + i + 1
                continue
            pending.append(frame.slice(cursor, i - cursor).filter(valid.slice(cursor, i - cursor)))
            if current is not None:
                yield current, _checked(ruleset, pl.concat(pending), names, source), read + i
            pending, current, cursor = [], key, i
        pending.append(frame.slice(cursor).filter(valid.slice(cursor)))
        read += frame.height
    if current is not None:
        yield current, _checked(ruleset, pl.concat(pending), names, source), read
    elif not read:
        yield None, RecordFrame(pl.DataFrame(schema=frame_schema(ruleset)), source, [], [no_records(source)]), 0


def _periods(frame: pl.DataFrame) -> pl.Series:
    """Each row's period as the line reader groups rows (``YYYY-MM``), or null for a row with none."""
    if "period" not in frame.columns:
        return pl.Series([None], dtype=pl.String).new_from_index(0, frame.height)
    texts = frame["period"].unique().cast(pl.String).drop_nulls().to_list()
    months = {text: _month(text) for text in texts}
    return frame["period"].cast(pl.String).replace_strict(months, default=None, return_dtype=pl.String)


def _month(text: str) -> str | None:
    written = text.strip()
    return written if _MONTH.match(written) else month_or_none(written)


def _checked(ruleset: CompiledRuleset, raw: pl.DataFrame, names: list[str], source: str) -> RecordFrame:
    """One batch's rows through the column checks, as ``read_frame`` checks a file's."""
    if "period" in names:
        raw = raw.with_columns(pl.col("period").cast(pl.String))
    return check_frame(ruleset, months_written_out(raw, names), names, source)


def _blocks(path: str | Path, start: int) -> Iterator[bytes]:
    """The file from ``start`` in blocks of whole lines (the last may lack its line end)."""
    with Path(path).open("rb") as handle:
        handle.seek(start)
        rest = b""
        while block := handle.read(BLOCK):
            block = rest + block
            end = block.rfind(b"\n") + 1
            if end == 0:
                rest = block
                continue
            rest = block[end:]
            yield block[:end]
        if rest:
            yield rest
