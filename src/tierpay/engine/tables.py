"""Data frames as records: a pandas or polars DataFrame, or a pyarrow Table, read like a CSV file.

A frame is checked exactly as a CSV holding the same data would be: each cell becomes the text
the CSV would hold, and the rows go through :func:`tierpay.engine.records.parse_records_for` with the
same checks, rejections and reasons. So:

- **Missing cells** are ``None``, NaN (a float, numpy or ``Decimal`` NaN), ``pd.NA``, ``NaT``
  and empty or blank strings, as an empty CSV cell is. A row with every cell missing is
  skipped, as a CSV line of empty cells is.
- **Numbers** are written as their shortest decimal text, as ``df.to_csv()`` writes them: a
  float ``0.1`` is ``"0.1"`` (a float32 ``0.1`` too, at its own precision) and ``455.0`` is
  ``"455.0"``. In a column that is not a ``number`` metric a whole float drops its ``.0``: the
  ``85.0`` pandas makes of ``85`` in an integer column with blanks is ``"85"`` again, so an
  ``integer`` metric gets the integer 85, and an ``agent_id`` of ``1001.0`` is ``"1001"``.
  Integers are their digits; ``Decimal`` values keep their digits (``1.50`` is ``"1.50"``).
- **true/false** cells are ``"true"`` and ``"false"``: a boolean attribute accepts them, a
  metric rejects them as not a number.
- **Other values** (dates, lists, bytes...) are their ``str()`` text, so a date in the
  ``period`` column is ``2026-01-01``: the month when it is the first, rejected otherwise, as its CSV
  text would be.
- **Columns** are read by position: names that are not strings are their ``str()``, and a
  name used twice is an error, as in a CSV header. A pandas index is ignored.
- **Row numbers** count the header as row 1, so data row *k* (from 1) is row *k* + 1: the
  line it has in the CSV the frame writes (``df.to_csv(index=False)``, ``df.write_csv()``),
  and its row in a spreadsheet with one header row. Rejections name ``<DataFrame>`` (pandas
  or polars) or ``<Table>`` (pyarrow), or the ``source`` the caller gives.

pandas and pyarrow are never imported here: a frame is recognised by its class, and read
through its own methods.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np

from tierpay.engine.records import AgentPeriod, RawRow, Rejection, header_names, parse_records_for
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

Table: TypeAlias = Any
"""A pandas ``DataFrame``, a polars ``DataFrame`` or a pyarrow ``Table`` (the libraries stay optional)."""

_KINDS = {
    ("pandas", "DataFrame"): "<DataFrame>",
    ("polars", "DataFrame"): "<DataFrame>",
    ("pyarrow", "Table"): "<Table>",
}
_NARROW: dict[str, type[np.floating[Any]]] = {
    # Floats narrower than a Python float, by the name each library gives their type: such a
    # column comes out widened (0.1f is 0.10000000149011612), so it is written at its own precision.
    "float32": np.float32,
    "Float32": np.float32,
    "float": np.float32,
    "float[pyarrow]": np.float32,
    "float16": np.float16,
    "Float16": np.float16,
    "halffloat": np.float16,
    "halffloat[pyarrow]": np.float16,
}
_MISSING_TYPES = {"NAType", "NaTType"}  # pandas' pd.NA and pd.NaT, recognised without importing pandas


def table_kind(value: object) -> str | None:
    """``"<DataFrame>"`` or ``"<Table>"`` when ``value`` is a frame this module reads, else ``None``."""
    for cls in type(value).__mro__:
        kind = _KINDS.get((cls.__module__.partition(".")[0], cls.__name__))
        if kind is not None:
            return kind
    return None


def is_table(value: object) -> bool:
    """Whether ``value`` is a pandas or polars DataFrame or a pyarrow Table."""
    return table_kind(value) is not None


def parse_table(
    target: CompiledRuleset | RulesetVersions, table: Table, source: str | None = None
) -> tuple[list[AgentPeriod], list[Rejection], list[str]]:
    """Check a frame's rows as a CSV of the same data: good records, rejections and warnings.

    ``source`` names the frame in rejections and warnings (default ``<DataFrame>`` or ``<Table>``).
    A frame with no ``agent_id`` column or a column named twice raises ``RecordsError``.
    """
    kind = table_kind(table)
    if kind is None:
        raise TypeError(f"expected a pandas or polars DataFrame or a pyarrow Table, not {type(table).__name__}")
    name = source or kind
    versions = target.versions if isinstance(target, RulesetVersions) else (target,)
    decimal = {n for v in versions for n, m in v.model.metrics.items() if m.type == "number"}
    return parse_records_for(target, table_rows(table, name, decimal), name)


def table_rows(table: Table, source: str, decimal: Collection[str] = ()) -> list[RawRow]:
    """A frame's rows as (row number, column -> cell text) pairs, as :func:`tierpay.sources.csv_rows` gives.

    Whole floats keep their ``.0`` in the ``decimal`` columns (the ``number`` metrics) only.
    """

    names, columns = _columns(table)
    names = header_names(names, source)
    cells = [
        [cell_text(value, narrow, whole=name not in decimal) for value in values]
        for name, (values, narrow) in zip(names, columns, strict=True)
    ]
    rows: list[RawRow] = []
    for index, row in enumerate(zip(*cells, strict=True)):
        if all(c is None or not c.strip() for c in row):
            continue
        rows.append((index + 2, dict(zip(names, row, strict=True))))
    return rows


Column: TypeAlias = tuple[list[Any], "type[np.floating[Any]] | None"]


def _columns(table: Table) -> tuple[list[str], list[Column]]:
    """Column names as text, and each column's values as Python objects with its narrow float type."""
    library = type(table).__module__.partition(".")[0]
    if library == "pandas":  # by position, so a name used twice reaches the header check
        names = list(table.columns)
        columns = [_column(table.iloc[:, i].tolist(), table.iloc[:, i].dtype) for i in range(len(names))]
    elif library == "pyarrow":
        names = list(table.column_names)
        columns = [_column(table.column(i).to_pylist(), table.column(i).type) for i in range(len(names))]
    else:
        names = list(table.columns)
        columns = [_column(s.to_list(), s.dtype) for s in table.get_columns()]
    return [n if isinstance(n, str) else str(n) for n in names], columns


def _column(values: list[Any], dtype: object) -> Column:
    return values, _NARROW.get(str(dtype))


def cell_text(value: object, narrow: type[np.floating[Any]] | None = None, whole: bool = True) -> str | None:
    """The text a CSV cell would hold for ``value``, or ``None`` when it is missing.

    ``narrow`` is the float type of the column (``np.float32`` when the library widened its
    values to Python floats); ``whole`` writes a whole float as an integer, without ``.0``.
    """
    if value is None or type(value).__name__ in _MISSING_TYPES:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _float_text(value, narrow, whole)
    if isinstance(value, Decimal):
        return None if value.is_nan() else format(value, "f")
    if isinstance(value, np.datetime64 | np.timedelta64) and np.isnat(value):
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _float_text(value: float | np.floating[Any], narrow: type[np.floating[Any]] | None, whole: bool) -> str | None:
    """The shortest text that reads back as ``value`` at its precision, without ``.0`` if ``whole``."""
    number = float(value)
    if math.isnan(number):
        return None
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if isinstance(value, np.floating) and not isinstance(value, np.float64):
        text = str(value)  # numpy writes a float32 at its own shortest text
    elif narrow is not None:
        text = str(narrow(number))
    else:
        text = repr(number)
    return text.removesuffix(".0") if whole else text
