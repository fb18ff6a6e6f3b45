"""Reading a carried state from its JSON or CSV text: every field checked, every problem named.

A state file is what the last run left, and a person may have edited it since. Each field is
read strictly (a count is a whole number, a period ``YYYY-MM``, a flag ``true`` or ``false``,
an amount an exact decimal); unknown fields, fields given twice and agents listed twice are
refused. (The combinations the level state machine never writes, such as a promotion streak
without the level it counts toward, are refused with the checks against the ruleset, in
:mod:`tierpay.engine.state_fit`, so that a state's problems are listed together.) Every problem names its place (``state.csv:4 (A1)``, ``state.json: agents[2] (A1)``),
the field, the value and the form the field takes, all at once in one ``StateError``. JSON is
bounded before it is parsed: at most ``MAX_STATE_BYTES`` and ``MAX_DEPTH`` levels of nesting.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import numpy as np

from tierpay.engine.state import RULESET_COLUMNS, STATE_COLUMNS, STATE_FORMAT, AgentState, State
from tierpay.errors import StateError

MAX_STATE_BYTES = 64 * 1024 * 1024
"""The largest state file read (64 MiB, some 150,000 agents as JSON); a larger one is refused unread."""
MAX_DEPTH = 8
"""The deepest JSON nesting read; a state itself is 4 deep (the state, its agents, an agent, its deductions)."""
MAX_COUNT = 1200
"""The largest count of periods (a hundred years of months)."""
MAX_DUE = Decimal(10) ** 12
"""Deductions still due are below this, with at most ``DUE_PLACES`` decimal places, so sums stay exact."""
DUE_PLACES = 10
ZERO = Decimal(0)
MAX_PROBLEMS = 100
"""At most this many problems are listed, then how many more there are."""
FORMATS = (1, STATE_FORMAT)

TOP_KEYS = ["tierpay_state", "ruleset", "ruleset_version", "ruleset_sha256", "through", "agents"]
COUNT_FORM = f"a whole number from 0 to {MAX_COUNT}"
PERIOD_FORM = "a month written YYYY-MM"
FLAG_FORM = "true or false"
AMOUNT_FORM = f"an exact amount from 0 up to 1,000,000,000,000 with at most {DUE_PLACES} decimal places"
LINE_FORM = "a deduction line id (lower-case letters, digits and _)"
HASH_FORM = "a SHA-256 hash (64 lower-case hex digits)"

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DIGITS = re.compile(r"^\d{1,6}$")
_AMOUNT = re.compile(r"^\d+(\.\d+)?([eE][+-]?\d{1,4})?$")
_LINE = re.compile(r"^(?:[a-z_][a-z0-9_]{0,63}|adjustment:[0-9]{4}-(?:0[1-9]|1[0-2]))$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STRING = re.compile(rb'"[^"]*"?')


class _Bad(Exception):
    """A field's value is not of its form; the message says what it is and what it should be."""


def shown(value: Any) -> str:
    """A value as a message shows it: quoted text, JSON words, and never more than 40 characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    text = text if len(text) <= 40 else text[:40] + "..."
    return repr(text) if isinstance(value, str) else text


def _bad(value: Any, form: str) -> _Bad:
    return _Bad(f"{shown(value)} is not {form}")


# --- one field each ------------------------------------------------------------------------------
# A reader takes a JSON value, or (``cell``) a CSV cell's text, never blank; it returns the value.


def _text(value: Any, cell: bool) -> str:
    if not isinstance(value, str):
        raise _bad(value, "text")
    return value.strip()


def _period(value: Any, cell: bool) -> str:
    if not isinstance(value, str) or not _PERIOD.match(value.strip()):
        raise _bad(value, PERIOD_FORM)
    return value.strip()


def _count(value: Any, cell: bool) -> int:
    if cell and isinstance(value, str) and _DIGITS.match(value.strip()):
        value = int(value)
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise _bad(value, COUNT_FORM)
    return value


def _flag(value: Any, cell: bool) -> bool:
    if cell and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise _bad(value, FLAG_FORM)
    return value


def _amount(value: Any) -> Decimal:
    amount = value
    if isinstance(value, str) and _AMOUNT.match(value.strip()):
        amount = Decimal(value.strip())
    elif type(value) is int:
        amount = Decimal(value)
    if not isinstance(amount, Decimal) or not amount.is_finite() or not ZERO <= amount < MAX_DUE:
        raise _bad(value, AMOUNT_FORM)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -DUE_PLACES:
        raise _bad(value, AMOUNT_FORM)
    return amount


def _dues(value: Any, cell: bool) -> dict[str, Decimal]:
    """Deductions still due: ``{"loss": "890.00"}`` in JSON, ``loss=890.00;tool=20`` in a CSV cell."""
    if cell and isinstance(value, str):
        pairs = []
        for part in value.split(";"):
            if not part.strip():
                continue
            line, equals, amount = part.partition("=")
            if not equals:
                raise _Bad(f"{shown(part)} is not line=amount (for example loss=890.00)")
            pairs.append((line.strip(), amount.strip()))
        twice = [line for k, (line, _) in enumerate(pairs) if line in (p for p, _ in pairs[:k])]
    elif isinstance(value, dict):
        twice = list(getattr(value, "twice", []))
        pairs = list(value.items())
    else:
        raise _bad(value, "an object of deduction lines and amounts")
    if twice:
        raise _Bad(f"{twice[0]}: given twice")
    due: dict[str, Decimal] = {}
    for line, amount in pairs:
        if not isinstance(line, str) or not _LINE.match(line):
            raise _Bad(f"{shown(line)} is not {LINE_FORM}")
        try:
            due[line] = _amount(amount)
        except _Bad as why:
            raise _Bad(f"{line}: {why}") from None
    return due


Reader = Callable[[Any, bool], Any]
FIELDS: dict[str, tuple[Reader, Any]] = {
    "agent_id": (_text, None),
    "level": (_text, None),
    "last_period": (_period, None),
    "periods_in_level": (_count, 0),
    "promote_streak": (_count, 0),
    "streak_level": (_text, None),
    "maintain_fail_streak": (_count, 0),
    "on_probation": (_flag, False),
    "probation_periods": (_count, 0),
    "probation_extension": (_count, 0),
    "review_streak": (_count, 0),
    "review_stage": (_text, None),
    "deductions_due": (_dues, {}),
}
"""Each agent field's reader and the value a blank (CSV) or a left-out field takes."""
REQUIRED = ("agent_id", "level")
assert list(FIELDS) == STATE_COLUMNS


_MAY_BE_NULL = {name for name, (_, default) in FIELDS.items() if default in (None, {})}
_MAY_BE_EMPTY = {name for name, (_, default) in FIELDS.items() if default is None}


def _agent(
    values: Mapping[str, Any], where: str, cell: bool, problems: list[str], named: bool = True
) -> tuple[AgentState | None, str]:
    """One agent's fields read from ``values``; returns the agent (None when a field is bad) and its place.

    A field is left out when it is a blank cell, or in JSON absent, or null or empty text where
    that means none; it then takes its default. The place gets the agent id when ``named``.
    """
    agent_id = values.get("agent_id")
    if named and isinstance(agent_id, str) and agent_id.strip():
        where = f"{where} ({agent_id.strip()})"
    read: dict[str, Any] = {}
    bad = False
    for name, (reader, default) in FIELDS.items():
        value = values.get(name)
        if cell:
            blank = value is None or not value.strip()
        elif value is None:
            blank = name not in values or name in _MAY_BE_NULL
        else:
            blank = name in _MAY_BE_EMPTY and isinstance(value, str) and not value.strip()
        if blank:
            if name in REQUIRED:
                problems.append(f"{where}: {name}: missing")
                bad = True
            read[name] = {} if name == "deductions_due" else default
            continue
        try:
            read[name] = reader(value, cell)
        except _Bad as why:
            problems.append(f"{where}: {name}: {why}")
            bad = True
    if bad:
        return None, where
    return AgentState(**read), where


def _unknown(name: str, known: Iterable[str], what: str) -> str:
    near = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {near[0]}?)" if near else f" ({what}: {', '.join(known)})"
    return f"{shown(name)}: unknown {'column' if what == 'columns' else 'field'}{hint}"


# --- combinations ------------------------------------------------------------------------------


def combination_problems(agent: AgentState, through: str | None = None) -> list[str]:
    """What in one agent's state the level state machine never writes, each as ``field: why``.

    ``through`` is the state's last period: no agent's last period comes after it.
    """
    found = []
    streak, level = agent.promote_streak, agent.streak_level
    if through and agent.last_period and agent.last_period > through:
        found.append(
            f"last_period: {agent.last_period} is after the state's through {through}, the last period evaluated"
        )
    if streak and level is None:
        found.append(
            f"streak_level: missing; a promote_streak of {streak} counts toward a level above {agent.level}, "
            "named in streak_level"
        )
    if not streak and level is not None:
        found.append(
            f"streak_level: {level} with a promote_streak of 0; a streak level belongs to a running streak "
            "(leave it empty, or give the streak)"
        )
    if streak and agent.maintain_fail_streak:
        found.append(
            f"maintain_fail_streak: {agent.maintain_fail_streak} with a promote_streak of {streak}; "
            "a period that fails maintenance ends a promotion streak"
        )
    if agent.on_probation:
        for name in ("promote_streak", "maintain_fail_streak"):
            if getattr(agent, name):
                found.append(
                    f"{name}: {getattr(agent, name)} while on_probation is true; probation holds the level, "
                    "with no promotion or demotion streak"
                )
    if agent.probation_extension and not agent.on_probation:
        found.append(
            f"probation_extension: {agent.probation_extension} while on_probation is false; an extension belongs "
            "to the probation the agent is serving"
        )
    if agent.review_stage is not None and not agent.review_streak:
        found.append(
            f"review_stage: {agent.review_stage} with a review_streak of 0; a stage is reached by consecutive flags"
        )
    return found


def duplicate_problems(state: State) -> list[str]:
    """Agents listed twice, each named at its second place with its first (the last would otherwise win)."""
    problems = []
    first: dict[str, str] = {}
    for agent, where in zip(state.agents, state.places(), strict=True):
        if agent.agent_id in first:
            problems.append(
                f"{where}: agent_id: {agent.agent_id} is listed twice, also at {first[agent.agent_id]}; "
                "an agent has one state"
            )
        else:
            first[agent.agent_id] = where
    return problems


def state_problems(state: State) -> list[str]:
    """Every problem of a state made in Python (a state read from text was checked as it was read)."""
    problems = []
    for name, reader in (("through", _period), ("ruleset_sha256", _hash)):
        value = getattr(state, name)
        if value is not None:
            try:
                reader(value, False)
            except _Bad as why:
                problems.append(f"{state.source}: {name}: {why}")
    if state.tierpay_state not in FORMATS:
        problems.append(f"{state.source}: tierpay_state: {_format_text(state.tierpay_state)}")
    for agent, where in zip(state.agents, state.places(), strict=True):
        _agent(agent.model_dump(), where, False, problems, named=False)
    return problems + duplicate_problems(state)


def _hash(value: Any, cell: bool) -> str:
    if not isinstance(value, str) or not _HASH.match(value):
        raise _bad(value, HASH_FORM)
    return value


def _format_text(value: Any) -> str:
    if type(value) is int and value > STATE_FORMAT:
        return (
            f"{value} is a newer state format than this tierpay reads "
            f"({' or '.join(map(str, FORMATS))}): use the tierpay that wrote it, or a newer one"
        )
    return f"{shown(value)} is not a state format this tierpay reads ({' or '.join(map(str, FORMATS))})"


def raise_all(problems: list[str]) -> None:
    """Raise one ``StateError`` listing ``problems`` (the first ``MAX_PROBLEMS`` of them), if any."""
    if problems:
        shown_problems = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown_problems)
        if more:
            shown_problems.append(f"... and {more} more problem{'s' if more != 1 else ''}")
        raise StateError("\n".join(shown_problems))


# --- JSON --------------------------------------------------------------------------------------


class _Object(dict[str, Any]):
    """A JSON object that had keys given twice (the last would otherwise win unseen): ``twice`` names them."""

    twice: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; one with a key given twice is an ``_Object`` that names it."""
    made = dict(pairs)
    if len(made) == len(pairs):
        return made
    marked = _Object(made)
    keys = [k for k, _ in pairs]
    marked.twice = list(dict.fromkeys(k for i, k in enumerate(keys) if k in keys[:i]))
    return marked


def depth(text: str) -> int:
    """How deeply ``text``'s brackets nest outside strings, counted without parsing (stops past ``MAX_DEPTH``).

    Escapes go first (an escaped quote or bracket is never structure), then everything but
    quotes and brackets, then the strings: what is left is the brackets that nest.
    """
    kept = _ESCAPE.sub("", text).encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE)
    brackets = _STRING.sub(b"", kept)  # (no byte of a UTF-8 multi-byte character is a quote or a bracket)
    deepest = level = 0
    chunk = 1 << 20
    for start in range(0, len(brackets), chunk):
        codes = np.frombuffer(brackets[start : start + chunk], dtype=np.uint8)
        steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
        running = level + np.cumsum(steps, dtype=np.int64)
        deepest = max(deepest, int(running.max()))
        level = int(running[-1])
        if deepest > MAX_DEPTH:
            break
    return deepest


def bounded(text: str, source: str) -> None:
    """Refuse text over ``MAX_STATE_BYTES`` characters, or JSON nested deeper than ``MAX_DEPTH``, unparsed."""
    if len(text) > MAX_STATE_BYTES:
        raise StateError(f"{source}: more than {MAX_STATE_BYTES // (1024 * 1024)} MiB, the most a state file may be")


def read_json(text: str, source: str = "<state>") -> State:
    """A state from its JSON text; ``StateError`` lists every problem, each with its place and field."""
    bounded(text, source)
    if depth(text) > MAX_DEPTH:
        raise StateError(
            f"{source}: nested more than {MAX_DEPTH} levels deep; a state is 4 deep "
            "(the state, its agents list, an agent, its deductions_due)"
        )
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=_object)
    except json.JSONDecodeError as error:
        raise StateError(f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from None
    except ValueError as error:  # an integer of more than 4300 digits
        raise StateError(f"{source}: not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise StateError(f"{source}: expected a JSON object with an `agents` list, found {shown(data)}")
    problems = [f"{source}: {key}: given twice" for key in getattr(data, "twice", [])]
    problems += [f"{source}: {_unknown(key, TOP_KEYS, 'fields')}" for key in data if key not in TOP_KEYS]
    stamp: dict[str, Any] = {}
    for key, reader in (("ruleset", _text), ("ruleset_version", _text), ("ruleset_sha256", _hash)):
        value = data.get(key)
        try:
            stamp[key] = None if value is None or value == "" else reader(value, False)
        except _Bad as why:
            problems.append(f"{source}: {key}: {why}")
    version = data.get("tierpay_state", 1)
    if type(version) is not int or version not in FORMATS:
        problems.append(f"{source}: tierpay_state: {_format_text(version)}")
    through = data.get("through")
    if through is not None:
        try:
            through = _period(through, False)
        except _Bad as why:
            problems.append(f"{source}: through: {why}")
            through = None
    items = data.get("agents")
    if not isinstance(items, list):
        what = "missing" if "agents" not in data else f"{shown(items)} is not a list"
        problems.append(f"{source}: agents: {what}; a state lists its agents (an empty list for none)")
        items = []
    agents, places = [], []
    for i, item in enumerate(items):
        where = f"{source}: agents[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: {shown(item)} is not an object of an agent's fields")
            continue
        agent, where = _agent(item, where, False, problems)
        problems += [f"{where}: {key}: given twice" for key in getattr(item, "twice", [])]
        problems += [f"{where}: {_unknown(key, FIELDS, 'fields')}" for key in item if key not in FIELDS]
        if agent is not None:
            agents.append(agent)
            places.append(where)
    raise_all(problems)
    state = State(tierpay_state=version, through=through, agents=agents, **stamp)._located(source, places)
    raise_all(duplicate_problems(state))
    return state


# --- CSV ---------------------------------------------------------------------------------------


def read_csv(text: str, source: str = "<state>", ruleset: str | None = None) -> State:
    """A state from the CSV ``State.to_csv`` writes; ``StateError`` lists every problem with its line."""
    bounded(text, source)
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = [*STATE_COLUMNS, *RULESET_COLUMNS]
    try:
        header = next(reader)
    except StopIteration:
        raise StateError(f"{source}: the file is empty; a state CSV starts with its header row") from None
    except csv.Error as error:
        raise StateError(f"{source}:1: not readable as CSV: {error}") from None
    names = [h.strip() for h in header]
    problems = [f"{source}:1: {_unknown(n, columns, 'columns')}" for n in names if n not in columns]
    problems += [f"{source}:1: {n}: a column given twice" for k, n in enumerate(names) if n in names[:k]]
    problems += [f"{source}:1: no {n} column" for n in REQUIRED if n not in names]
    raise_all(problems)
    stamped = all(c in names for c in RULESET_COLUMNS)
    found: list[tuple[AgentState, str]] = []
    stamps: list[tuple[tuple[str, ...], str, int]] = []
    line = reader.line_num + 1
    try:
        for cells in reader:
            number, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            where = f"{source}:{number}"
            if len(cells) != len(names):
                problems.append(f"{where}: has {len(cells)} cells, the header has {len(names)}")
                continue
            values = dict(zip(names, cells, strict=True))
            agent, where = _agent({k: v for k, v in values.items() if k in FIELDS}, where, True, problems)
            if stamped:
                stamps.append((tuple(values[c].strip() for c in RULESET_COLUMNS), where, number))
            if agent is not None:
                found.append((agent, where))
    except csv.Error as error:
        problems.append(f"{source}:{line}: not readable as CSV: {error}")
    stamp = _one_stamp(stamps, problems)
    raise_all(problems)
    found.sort(key=lambda pair: pair[0].agent_id)
    agents = [a for a, _ in found]
    through = max((a.last_period for a in agents if a.last_period), default=None)
    state = State(
        tierpay_state=STATE_FORMAT if stamped else 1,
        ruleset=stamp[0] or ruleset,
        ruleset_version=stamp[1] or None,
        ruleset_sha256=stamp[2] or None,
        through=through,
        agents=agents,
    )._located(source, [w for _, w in found])
    raise_all(duplicate_problems(state))
    return state


def _one_stamp(stamps: list[tuple[tuple[str, ...], str, int]], problems: list[str]) -> tuple[str, ...]:
    """The ruleset columns, the same on every row (a state is written under one ruleset version)."""
    if not stamps:
        return ("", "", "")
    first, _, first_line = stamps[0]
    for values, where, _ in stamps[1:]:
        for name, mine, theirs in zip(RULESET_COLUMNS, values, first, strict=True):
            if mine != theirs:
                problems.append(
                    f"{where}: {name}: {shown(mine)} differs from {shown(theirs)} on line {first_line}; "
                    "a state is written under one ruleset version"
                )
    if first[2]:
        try:
            _hash(first[2], True)
        except _Bad as why:
            problems.append(f"{stamps[0][1]}: ruleset_sha256: {why}")
    return first
