"""A records JSON file as raw rows: each object of its list, numbered from 1, flattened.

Numbers stay as the file writes them (:class:`~tierpay.engine.values.JsonNumber`), to be read
exactly by the same checks as a CSV cell: ``1e400`` or a 5,000-digit integer is a rejection
of its record, not a crash of the reader. A key written twice in one object is a problem of
its record (the json module would keep the last silently), and so is a name given both at
the top level and in a nested ``metrics`` or ``attributes`` object. A file that is empty,
not JSON, nested too deeply to read, or not a list of records raises ``RecordsError`` naming
the place.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tierpay.engine.records import NESTED, PROBLEMS, RawRow, flatten_record
from tierpay.engine.values import JsonNumber, name_shown, shown
from tierpay.errors import RecordsError

DEPTH = 100
"""How deep a too-deeply nested file is said to go wrong: a records file needs three levels."""


class _Object(dict[str, Any]):
    """A JSON object, with each key it gave more than once and all the values given (the json module keeps the last)."""

    twice: dict[str, list[Any]]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    found = _Object(pairs)
    found.twice = {}
    if len(found) != len(pairs):
        given: dict[str, list[Any]] = {}
        for key, value in pairs:
            given.setdefault(key, []).append(value)
        found.twice = {key: values for key, values in given.items() if len(values) > 1}
    return found


def _given_twice(item: Any, where: str) -> list[str]:
    """A record's problems for the keys ``item`` (an object of it) gave more than once."""
    problems = []
    for key, values in getattr(item, "twice", {}).items():
        times = "twice" if len(values) == 2 else f"{len(values)} times"
        listed = ", then ".join(shown(v) for v in values[:3]) + (", ..." if len(values) > 3 else "")
        problems.append(f"{name_shown(key)}: given {times}{where} ({listed}): give it once")
    return problems


def json_rows(text: str, source: str) -> list[RawRow]:
    """Items of a JSON list (or of ``{"records": [...]}``), numbered from 1; numbers kept as written."""
    if not text.strip():
        raise RecordsError(f"{source}: the file is empty; expected a list of records")
    try:
        data = json.loads(
            text, parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=JsonNumber, object_pairs_hook=_object
        )
    except json.JSONDecodeError as error:
        raise RecordsError(f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    except RecursionError:
        where = _too_deep(text)
        raise RecordsError(
            f"{source}:{where}: nested more than {DEPTH} levels deep: records are a list of objects"
        ) from None
    if isinstance(data, dict) and "records" in data:
        data = data["records"]
        if not isinstance(data, list):
            raise RecordsError(f"{source}: `records` is {shown(data)}, not a list of records")
    if not isinstance(data, list):
        raise RecordsError(f"{source}: expected a list of records, or an object with a `records` list")
    rows: list[RawRow] = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append((i, {PROBLEMS: [f"row: item {i} is not an object"]}))
            continue
        problems = _given_twice(item, "")
        for nested in NESTED:
            problems += _given_twice(item.get(nested), f" in `{nested}`")
        rows.append((i, flatten_record(item, problems)))
    return rows


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(text: str) -> str:
    """``line:column`` where the nesting of ``text`` first goes ``DEPTH`` levels deep."""
    depth = 0
    for token in _TOKEN.finditer(text):
        mark = token.group()
        if mark in ("[", "{"):
            depth += 1
            if depth > DEPTH:
                at = token.start()
                line = text.count("\n", 0, at) + 1
                return f"{line}:{at - (text.rfind(chr(10), 0, at) + 1) + 1}"
        elif mark in ("]", "}"):
            depth -= 1
    return "1:1"
