"""Agent-period records: parsing raw rows into checked ``AgentPeriod`` values, or rejections.

``parse_records`` is pure: it takes rows already read (dicts of text or numbers) and returns
the good records and a ``Rejection`` for each bad one, with every reason found. Reading CSV
and JSON files is in :mod:`tierpay.io.sources`. Numbers are parsed from their text into exact
``Decimal`` values, so a CSV's ``0.1`` never becomes a binary fraction.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tierpay.engine.probation import parse_date, parse_term
from tierpay.errors import RecordsError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

RESERVED_COLUMNS = ("agent_id", "period", "level")
SHAPE_KEY = "__cells__"  # set by a reader when a row's shape is wrong (too few or many cells)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_FULLWIDTH = re.compile(r"[\uff10-\uff19\uff0e\uff0c\uff05\uff0d]")
TRUE_WORDS = {"true", "yes", "y", "1", "是"}
FALSE_WORDS = {"false", "no", "n", "0", "否"}


class AgentPeriod(BaseModel):
    """One agent's checked record for one period."""

    model_config = ConfigDict(frozen=True)

    agent_id: str
    period: str = Field(description="The month, `YYYY-MM`.")
    level: str | None = Field(None, description="The level the record states, as a level id.")
    attributes: dict[str, str | bool]
    metrics: dict[str, Decimal]
    source: str = Field(description="The file (or `<records>`) the record came from.")
    row: int = Field(description="Line of a CSV file, 1-based item of a JSON list.")


class Rejection(BaseModel):
    """A record that was not evaluated, and every reason why."""

    model_config = ConfigDict(frozen=True)

    source: str
    row: int
    agent_id: str | None
    period: str | None
    reasons: list[str]

    def __str__(self) -> str:
        who = " ".join(x for x in (self.agent_id, self.period) if x)
        head = f"{self.source}:{self.row}" + (f" ({who})" if who else "")
        return f"{head}: " + "; ".join(self.reasons)


@dataclass(frozen=True)
class RecordBatch:
    """Checked records with the rejections and warnings found while reading them."""

    records: list[AgentPeriod]
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


RawRow = tuple[int, Mapping[str, Any]]


def parse_number(value: Any) -> Decimal:
    """Read a number exactly from text, int, float or Decimal; raise ``ValueError`` saying why not."""
    if isinstance(value, bool):
        raise ValueError("true/false is not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if _FULLWIDTH.search(text):
            raise ValueError(f"{value!r} has full-width characters: use ASCII digits")
        if text.endswith("%"):
            raise ValueError(f"{value!r} has a percent sign: write the number alone")
        if "," in text:
            raise ValueError(f"{value!r} has a thousands separator: write the digits alone")
        if not _NUMBER.match(text):
            raise ValueError(f"{value!r} is not a number")
        number = Decimal(text)
    else:
        raise ValueError(f"{value!r} is not a number")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_records(
    ruleset: CompiledRuleset,
    rows: Iterable[RawRow],
    source: str = "<records>",
) -> tuple[list[AgentPeriod], list[Rejection], list[str]]:
    """Check raw rows against the ruleset: good records, rejections and file-level warnings.

    Every row ends up in exactly one of the two lists. Rows that share an agent and period
    are all rejected: which one is right is not tierpay's guess to make.
    """
    good, rejected, seen_keys, unknown_columns = check_rows(ruleset, rows, source)
    good, dupes = split_duplicates(good)
    rejected.extend(dupes)
    rejected.sort(key=lambda r: (r.source, r.row))
    return good, rejected, column_warnings(ruleset, source, seen_keys, unknown_columns)


def check_rows(
    ruleset: CompiledRuleset, rows: Iterable[RawRow], source: str = "<records>"
) -> tuple[list[AgentPeriod], list[Rejection], set[str], list[str]]:
    """Check each row on its own: good records, rejections, the column names seen, the unknown ones.

    Duplicates are left in: ``parse_records`` splits them off over the whole file.
    """
    model = ruleset.model
    known = {*RESERVED_COLUMNS, *model.metrics, *model.attributes, SHAPE_KEY}
    level_by_name = level_lookup(ruleset)
    good: list[AgentPeriod] = []
    rejected: list[Rejection] = []
    unknown_columns: dict[str, None] = {}
    seen_keys: set[str] = set()
    for row_number, raw in rows:
        reasons: list[str] = [f"row: {raw[SHAPE_KEY]}"] if SHAPE_KEY in raw else []
        if reasons and len(raw) == 1:  # nothing else to check
            rejected.append(Rejection(source=source, row=row_number, agent_id=None, period=None, reasons=reasons))
            continue
        for key in raw:
            seen_keys.add(str(key))
            if key not in known:
                unknown_columns.setdefault(str(key))
        agent_id = _text(raw.get("agent_id"))
        period = _text(raw.get("period"))
        if agent_id is None:
            reasons.append("agent_id: missing")
        if period is None:
            reasons.append("period: missing")
        elif not _PERIOD.match(period):
            reasons.append(f"period: {period!r} is not a month written YYYY-MM")
        level = None
        stated = _text(raw.get("level"))
        if stated is not None:
            level = level_by_name.get(stated)
            if level is None:
                reasons.append(f"level: unknown level {stated!r} (levels: {', '.join(ruleset.level_ids)})")
        attributes: dict[str, str | bool] = {}
        for name, attr in model.attributes.items():
            value = raw.get(name)
            if attr.type in ("date", "term"):  # may be blank; the rule that needs it says so
                if not _blank(value):
                    try:
                        attributes[name] = parse_date(value) if attr.type == "date" else parse_term(value)
                    except ValueError as error:
                        reasons.append(f"{name}: {error}")
                continue
            if _blank(value):
                if attr.default is None:
                    reasons.append(f"{name}: missing")
                    continue
                value = attr.default
            if attr.type == "boolean":
                flag = _boolean(value)
                if flag is None:
                    reasons.append(f"{name}: {value!r} is not true or false")
                else:
                    attributes[name] = flag
                continue
            text = str(value).strip()
            if attr.values is not None and text not in attr.values:
                reasons.append(f"{name}: {text!r} is not one of {', '.join(attr.values)}")
            else:
                attributes[name] = text
        metrics: dict[str, Decimal] = {}
        for name, metric in model.metrics.items():
            value = raw.get(name)
            if _blank(value):
                if metric.optional:
                    continue
                if metric.default is None:
                    reasons.append(f"{name}: missing")
                    continue
                metrics[name] = metric.default
                continue
            try:
                number = parse_number(value)
            except ValueError as error:
                reasons.append(f"{name}: {error}")
                continue
            if metric.type == "integer" and number != number.to_integral_value():
                written = repr(value) if isinstance(value, str) else _show(number)
                reasons.append(f"{name}: {written} is not a whole number")
            elif metric.min is not None and number < metric.min:
                reasons.append(f"{name}: {_show(number)} is below the minimum {_show(metric.min)}")
            elif metric.max is not None and number > metric.max:
                reasons.append(f"{name}: {_show(number)} is above the maximum {_show(metric.max)}")
            else:
                metrics[name] = number
        if reasons:
            rejected.append(Rejection(source=source, row=row_number, agent_id=agent_id, period=period, reasons=reasons))
        else:
            assert agent_id is not None
            assert period is not None
            good.append(
                AgentPeriod(
                    agent_id=agent_id,
                    period=period,
                    level=level,
                    attributes=attributes,
                    metrics=metrics,
                    source=source,
                    row=row_number,
                )
            )
    return good, rejected, seen_keys, list(unknown_columns)


def column_warnings(
    ruleset: CompiledRuleset, source: str, seen_keys: set[str], unknown_columns: list[str]
) -> list[str]:
    """File-level warnings: required columns no row has, and columns the ruleset does not know."""
    model = ruleset.model
    warnings = []
    if seen_keys:
        lacking = [n for n, m in model.metrics.items() if m.default is None and not m.optional and n not in seen_keys]
        lacking += [
            n
            for n, a in model.attributes.items()
            if a.default is None and a.type in ("string", "boolean") and n not in seen_keys
        ]
        if lacking:
            warnings.append(
                f"{source}: no record has {', '.join(lacking)}, which the ruleset requires: is a column missing?"
            )
    if unknown_columns:
        warnings.append(f"{source}: columns not in the ruleset were ignored: {', '.join(unknown_columns)}")
    return warnings


def parse_records_for(
    target: CompiledRuleset | RulesetVersions,
    rows: Iterable[RawRow],
    source: str = "<records>",
) -> tuple[list[AgentPeriod], list[Rejection], list[str]]:
    """``parse_records`` against one ruleset, or against the version in force for each row's period."""
    if isinstance(target, CompiledRuleset):
        return parse_records(target, rows, source)
    groups: dict[CompiledRuleset, list[RawRow]] = defaultdict(list)
    for row in rows:
        period = _text(row[1].get("period")) or ""
        groups[target.for_period(period) or target.latest].append(row)
    good: list[AgentPeriod] = []
    rejected: list[Rejection] = []
    warnings: list[str] = []
    for version, group in groups.items():
        g, r, w = parse_records(version, group, source)
        good.extend(g)
        rejected.extend(r)
        warnings.extend(x for x in w if x not in warnings)
    good.sort(key=lambda rec: rec.row)
    rejected.sort(key=lambda rec: (rec.source, rec.row))
    return good, rejected, warnings


def split_duplicates(records: list[AgentPeriod]) -> tuple[list[AgentPeriod], list[Rejection]]:
    """Keep records whose agent and period are unique; reject every copy of the others."""
    seen: dict[tuple[str, str], list[AgentPeriod]] = defaultdict(list)
    for record in records:
        seen[(record.agent_id, record.period)].append(record)
    keep: list[AgentPeriod] = []
    rejected: list[Rejection] = []
    for record in records:
        copies = seen[(record.agent_id, record.period)]
        if len(copies) == 1:
            keep.append(record)
            continue
        others = ", ".join(f"{c.source}:{c.row}" for c in copies if c is not record)
        rejected.append(
            Rejection(
                source=record.source,
                row=record.row,
                agent_id=record.agent_id,
                period=record.period,
                reasons=[f"duplicate: agent {record.agent_id} has another record for {record.period} at {others}"],
            )
        )
    return keep, rejected


def level_lookup(ruleset: CompiledRuleset) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for level in ruleset.model.levels:
        names = [level.name] if isinstance(level.name, str) else list(level.name.values())
        for name in names:
            lookup[name] = level.id
        lookup[level.id] = level.id
    return lookup


def _text(value: Any) -> str | None:
    if _blank(value):
        return None
    return str(value).strip()


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def _show(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def records_from_dicts(
    ruleset: CompiledRuleset | RulesetVersions, rows: Iterable[Mapping[str, Any]], source: str = "<records>"
) -> tuple[list[AgentPeriod], list[Rejection], list[str]]:
    """``parse_records`` for plain dicts, numbered from 1; nested ``attributes``/``metrics`` are flattened."""
    numbered: list[RawRow] = []
    for i, row in enumerate(rows, start=1):
        flat = {k: v for k, v in row.items() if k not in ("attributes", "metrics")}
        for nested in ("attributes", "metrics"):
            inner = row.get(nested)
            if isinstance(inner, Mapping):
                flat.update(inner)
        numbered.append((i, flat))
    return parse_records_for(ruleset, numbered, source)


def header_names(header: list[str], source: str) -> list[str]:
    """The column names of a header row; no agent_id column, or a name used twice, is an error."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    if "agent_id" not in names:
        raise RecordsError(f"{source}:1: no agent_id column in the header ({', '.join(names[:8])}...)")
    dupes = sorted({n for n in names if names.count(n) > 1 and n})
    if dupes:
        raise RecordsError(f"{source}:1: columns named twice: {', '.join(dupes)}")
    return names
