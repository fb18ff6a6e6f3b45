"""Reading people's decisions from a file: CSV, an Excel workbook (.xlsx) or JSON, chosen by extension.

The file is read as records files are (:mod:`tierpay.io.sources`): CSV in UTF-8, or GB18030
when it reads as that (a warning says so); a workbook's first sheet or the one named, rows
numbered as Excel numbers them; JSON a list of objects (or ``{"decisions": [...]}``), items
numbered from 1. Its columns are ``agent_id, period, decision, value, by, reason`` and an
optional ``at``. A file that cannot be read at all raises ``RecordsError`` naming it; a bad
row is a rejection (:func:`tierpay.engine.human.check_rows`) and the rest are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tierpay.engine.human import HumanDecisions, check_rows
from tierpay.engine.records import PROBLEMS, RawRow
from tierpay.engine.values import shown
from tierpay.errors import RecordsError
from tierpay.io.csv_records import csv_rows
from tierpay.io.sources import decode_input, read_bytes
from tierpay.io.xlsx_records import is_xlsx_name, xlsx_rows

MAX_DECISIONS_BYTES = 64 * 1024 * 1024
"""The largest decisions file read (a decision is a person's act: a million of them is a mistake)."""


def read_decisions(path: str | Path, *, encoding: str | None = None, sheet: str | None = None) -> HumanDecisions:
    """Read people's decisions from a CSV, ``.xlsx`` or ``.json`` file, each row checked on its own.

    Two decisions of one kind for one agent-period are both refused, each naming the other's
    line; whether a decision fits the ruleset and the records is checked when it is evaluated.
    """
    file, source = Path(path), str(path)
    try:
        if file.stat().st_size > MAX_DECISIONS_BYTES:
            raise RecordsError(
                f"{source}: more than the {MAX_DECISIONS_BYTES // (1024 * 1024)} MiB a decisions file may be"
            )
    except OSError:
        pass  # read_bytes says why it cannot be read
    raw = read_bytes(file, source)
    if is_xlsx_name(source):
        where, rows, _ = xlsx_rows(raw, source, None, sheet)
        return check_rows(rows, where)
    if sheet is not None:
        raise RecordsError(f"{source}: sheet {sheet!r} was named, but the decisions are not an Excel workbook (.xlsx)")
    text, note = decode_input(raw, source, encoding)
    if file.suffix.lower() == ".json":
        read = check_rows(json_items(text, source), source)
    else:
        read = check_rows(csv_rows(text, source), source)
    if note:
        read.warnings.insert(0, note)
    return read


def json_items(text: str, source: str) -> list[RawRow]:
    """A JSON list of decision objects (or ``{"decisions": [...]}``), numbered from 1, every value as text."""
    if not text.strip():
        raise RecordsError(f"{source}: the file is empty; expected a list of decisions")
    try:
        data = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except json.JSONDecodeError as error:
        raise RecordsError(f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    except RecursionError:
        raise RecordsError(f"{source}: nested too deeply: decisions are a list of objects") from None
    if isinstance(data, dict) and "decisions" in data:
        data = data["decisions"]
    if not isinstance(data, list):
        raise RecordsError(f"{source}: expected a list of decisions, or an object with a `decisions` list")
    rows: list[RawRow] = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append((number, {PROBLEMS: [f"row: item {number} is not an object of a decision's fields"]}))
            continue
        cells: dict[str, Any] = {}
        problems = []
        for key, value in item.items():
            if isinstance(value, dict | list):
                problems.append(f"{key}: {shown(json.dumps(value, ensure_ascii=False))} is not a single value")
            cells[key] = _text(value)
        if problems:
            cells[PROBLEMS] = problems
        rows.append((number, cells))
    return rows


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
