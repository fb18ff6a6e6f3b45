"""Columns of JSON text, one entry a row, made and joined by polars rather than a loop in Python.

``period_json`` writes each piece of a period's decisions for many rows at once; these are its
tools: a table's texts taken by code, numbers and strings as JSON, and pieces joined with the
fixed text between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from pydantic_core import to_json

Text = pl.Series | str
"""A piece of a decision: one text per row, or the same text for every row."""

_ESCAPED = r'[\x00-\x1f"\\]'  # what JSON writes escaped in a string (pydantic writes the rest as it is)


def take(table: Sequence[str], codes: Any) -> pl.Series:
    """``table[code]`` for each code (an array; -1 takes the last entry)."""
    return pl.Series(list(table), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64))


def numbers(values: Any) -> pl.Series:
    """Integers (an array or a series) as JSON numbers."""
    series = values if isinstance(values, pl.Series) else pl.Series(np.asarray(values, dtype=np.int64))
    return series.cast(pl.Int64).cast(pl.String)


def flags(values: Any) -> pl.Series:
    """Booleans (an array) as JSON ``true`` and ``false``."""
    return take(["false", "true"], np.asarray(values).astype(np.int64))


def strings(values: pl.Series) -> pl.Series:
    """Strings as JSON strings, as pydantic writes them (a null as ``null``)."""
    values = values.cast(pl.String)
    if values.str.contains(_ESCAPED).any():
        distinct = values.drop_nulls().unique().to_list()
        quoted = [to_json(v).decode() for v in distinct]
        return values.replace_strict(distinct, quoted, default="null", return_dtype=pl.String)
    return ('"' + values + '"').fill_null("null")


def joined(pieces: Sequence[Text], size: int) -> pl.Series:
    """The pieces joined row by row, a fixed text (``str``) the same in every row."""
    merged: list[Text] = []
    for piece in pieces:  # fixed texts side by side as one
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif not isinstance(piece, str) or piece:
            merged.append(piece)
    exprs = [pl.lit(p) if isinstance(p, str) else pl.lit(p, dtype=pl.String) for p in merged]
    if not any(isinstance(p, pl.Series) for p in merged):
        return pl.Series([pl.select(pl.concat_str(exprs)).item()] * size, dtype=pl.String)
    return pl.select(pl.concat_str(exprs).alias("text")).to_series()


def json_object(
    fields: Sequence[tuple[str, Text | list[Text]]], indent: str, optional: str | None = None, before: Text = ""
) -> list[Text]:
    """The pieces of a JSON object per row (after ``before``): fields at ``indent``, the brace two spaces less.

    That is how pydantic indents. A field's value is a piece or the pieces of a nested object,
    joined only with the whole (one copy of the text, not one per level). A null value is
    written ``null``, except in the field named ``optional`` (never the first), which a row
    with a null leaves out.
    """
    if not fields:
        return [before, "{}"]
    pieces: list[Text] = [before, "{\n"]
    for k, (name, value) in enumerate(fields):
        lead = (",\n" if k else "") + f"{indent}{to_json(name).decode()}: "
        if isinstance(value, list):
            pieces += [lead, *value]
        elif name == optional and isinstance(value, pl.Series):
            assert k, "the first field is never left out"
            pieces.append((lead + value).fill_null(""))
        else:
            pieces += [lead, value.fill_null("null") if isinstance(value, pl.Series) else value]
    pieces.append(f"\n{indent[:-2]}}}")
    return pieces


def distinct_rows(columns: dict[str, Any]) -> tuple[list[int], Any]:
    """Each distinct combination of the columns' values: its first row, and each row's combination.

    The second is an array of indices into the first, so a table made once per combination
    (from its first row) is taken for every row with ``take(table, codes)``.
    """
    code = _packed([np.asarray(c) if not isinstance(c, pl.Series) else c for c in columns.values()])
    if code is not None:  # small integers only: one number a row, numpy's unique
        _, first, codes = np.unique(code, return_index=True, return_inverse=True)
        return first.tolist(), codes.reshape(-1)
    frame = pl.DataFrame(columns)
    key = pl.struct(pl.all())
    codes = frame.select(key.rank("dense")).to_series().to_numpy().astype(np.int64) - 1
    found = frame.select(key.is_first_distinct()).to_series().arg_true().to_numpy()
    rows = np.empty(len(found), dtype=np.int64)
    rows[codes[found]] = found
    return rows.tolist(), codes


def _packed(columns: list[Any]) -> Any:
    """Integer or boolean arrays as one integer a row (mixed radix), or None for other columns or too many values."""
    code, span = None, 1
    for column in columns:
        if not isinstance(column, np.ndarray) or column.dtype.kind not in "biu" or not len(column):
            return None
        values = column.astype(np.int64)
        low, size = int(values.min()), int(values.max()) - int(values.min()) + 1
        span *= size
        if span >= 1 << 62:
            return None
        code = values - low if code is None else code * size + (values - low)
    return code
