"""Agent-period records: parsing raw rows into checked ``AgentPeriod`` values, or rejections.

``parse_records`` is pure: it takes rows already read (dicts of text or numbers) and returns
the good records and a ``Rejection`` for each bad one, with every reason found. Each value is
read by :mod:`tierpay.engine.values` (text, or an exact ``Decimal`` within the limits, so a
CSV's ``0.1`` never becomes a binary fraction); reading CSV and JSON files into rows is in
:mod:`tierpay.io.csv_records` and :mod:`tierpay.io.json_records`, behind
:mod:`tierpay.io.sources`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tierpay.engine.months import month_or_none, read_month
from tierpay.engine.probation import parse_date, parse_term
from tierpay.engine.values import (
    MAX_COLUMNS,
    as_text,
    hidden_character,
    name_shown,
    plain_number,
    shown,
    too_long,
)
from tierpay.engine.values import parse_number as parse_number  # where it lived: tests and callers import it here
from tierpay.errors import RecordsError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions
from tierpay.words import Said, phrase, say

RESERVED_COLUMNS = ("agent_id", "period", "level")
PROBLEMS = "__problems__"
"""Key of a raw row holding the reasons a reader found to reject it (wrong number of cells,
a field given twice): whole reasons, ``row: ...`` or ``<field>: ...``."""
NESTED = ("attributes", "metrics")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$", re.ASCII)
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
        return self.text("en")

    def text(self, lang: str) -> str:
        """``file:row (agent period): reasons`` framed in ``lang``; the reasons are in English as they were found."""
        who = " ".join(_clipped(x) for x in (self.agent_id, self.period) if x)
        reasons = say("rejection.separator", lang).join(self.reasons)
        place = f"{self.source}:{self.row}"
        if who:
            return say("rejection.who", lang, place=place, who=who, reasons=reasons)
        return say("rejection.place", lang, place=place, reasons=reasons)


@dataclass(frozen=True)
class RecordBatch:
    """Checked records with the rejections and warnings found while reading them."""

    records: list[AgentPeriod]
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    """Each field the file's header names otherwise, and how (:attr:`Header.written`)."""


RawRow = tuple[int, Mapping[str, Any]]


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
    warnings = column_warnings(ruleset, source, seen_keys, unknown_columns)
    if not good and not rejected:
        warnings.append(no_records(source))
    cal = ruleset.model.calendar
    good, dupes = split_duplicates(good, cal.segments.start if cal is not None and cal.segments is not None else None)
    rejected.extend(dupes)
    rejected.sort(key=lambda r: (r.source, r.row))
    return good, rejected, warnings


def check_rows(
    ruleset: CompiledRuleset, rows: Iterable[RawRow], source: str = "<records>"
) -> tuple[list[AgentPeriod], list[Rejection], set[str], list[str]]:
    """Check each row on its own: good records, rejections, the column names seen, the unknown ones.

    Duplicates are left in: ``parse_records`` splits them off over the whole file.
    """
    model = ruleset.model
    known = {*RESERVED_COLUMNS, *model.metrics, *model.attributes}
    level_by_name = level_lookup(ruleset)
    good: list[AgentPeriod] = []
    rejected: list[Rejection] = []
    unknown_columns: dict[str, None] = {}
    seen_keys: set[str] = set()
    for row_number, raw in rows:
        reasons: list[str] = list(raw.get(PROBLEMS, ()))
        keys = [k for k in raw if k != PROBLEMS]
        if len(keys) > MAX_COLUMNS:  # a JSON record (a CSV header is refused before any row)
            reasons.append(f"row: has {len(keys):,} fields; a record has at most {MAX_COLUMNS:,}")
            keys = []
        if reasons and not keys:  # nothing else to check
            rejected.append(Rejection(source=source, row=row_number, agent_id=None, period=None, reasons=reasons))
            continue
        for key in keys:
            seen_keys.add(str(key))
            if key not in known:
                unknown_columns.setdefault(str(key))
                why = too_long(raw[key])  # the csv module cannot read such a cell in any column
                if why is not None:
                    reasons.append(f"{name_shown(str(key))}: {shown(raw[key])} {why}")
        agent_id = _required_text(raw, "agent_id", reasons)
        period = _period(raw, reasons)
        level = _level(raw, level_by_name, ruleset.level_ids, reasons)
        attributes = _attributes(ruleset, raw, reasons)
        metrics = _metrics(ruleset, raw, reasons)
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


def _read_text(raw: Mapping[str, Any], name: str, reasons: list[str], wanted: str = "text") -> tuple[bool, str | None]:
    """A text field: (whether it could be read, its stripped text or None when blank)."""
    try:
        return True, as_text(raw.get(name), wanted)
    except ValueError as error:
        reasons.append(f"{name}: {error}")
        return False, None


def _required_text(raw: Mapping[str, Any], name: str, reasons: list[str]) -> str | None:
    read, text = _read_text(raw, name, reasons)
    if read and text is None:
        reasons.append(f"{name}: missing")
    return text


def _period(raw: Mapping[str, Any], reasons: list[str]) -> str | None:
    """The record's month as ``YYYY-MM``, from any form :mod:`tierpay.engine.months` reads.

    A period that is no month is a reason, and its text is kept for the rejection's heading.
    """
    value = raw.get("period")
    if isinstance(value, dt.date):  # a spreadsheet's date cell
        text: str | None = str(value)
    else:
        text = _required_text(raw, "period", reasons)
        if text is None:
            return None
        if _PERIOD.match(text):  # the common case
            return text
        value = text
    try:
        return read_month(value)
    except ValueError as error:
        reasons.append(f"period: {shown(text)} {error}")
        return text


def _level(raw: Mapping[str, Any], lookup: Mapping[str, str], level_ids: list[str], reasons: list[str]) -> str | None:
    """The level a record states, as a level id (by id or name), or None."""
    _, stated = _read_text(raw, "level", reasons)
    if stated is None:
        return None
    level = lookup.get(stated)
    if level is None:
        reasons.append(f"level: unknown level {shown(stated)} (levels: {', '.join(level_ids)})")
    return level


def _attributes(ruleset: CompiledRuleset, raw: Mapping[str, Any], reasons: list[str]) -> dict[str, str | bool]:
    """The record's attributes, checked; each problem is added to ``reasons``."""
    attributes: dict[str, str | bool] = {}
    for name, attr in ruleset.model.attributes.items():
        if attr.type == "boolean" and isinstance(raw.get(name), bool):
            attributes[name] = bool(raw[name])
            continue
        read, text = _read_text(raw, name, reasons, "true or false" if attr.type == "boolean" else "text")
        if not read:
            continue
        if attr.type in ("date", "term"):  # may be blank; the rule that needs it says so
            if text is not None:
                try:
                    attributes[name] = parse_date(text) if attr.type == "date" else parse_term(text)
                except ValueError as error:
                    reasons.append(f"{name}: {error}")
            continue
        value: str | bool | None = text
        if value is None:
            if attr.default is None:
                reasons.append(f"{name}: missing")
                continue
            value = attr.default
        if attr.type == "boolean":
            flag = _boolean(value)
            if flag is None:
                reasons.append(f"{name}: {shown(value)} is not true or false")
            else:
                attributes[name] = flag
            continue
        value = str(value).strip()
        if attr.values is not None and value not in attr.values:
            reasons.append(f"{name}: {shown(value)} is not one of {', '.join(attr.values)}")
        else:
            attributes[name] = value
    return attributes


def _metrics(ruleset: CompiledRuleset, raw: Mapping[str, Any], reasons: list[str]) -> dict[str, Decimal]:
    """The record's metrics as exact numbers, checked; each problem is added to ``reasons``."""
    metrics: dict[str, Decimal] = {}
    for name, metric in ruleset.model.metrics.items():
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
            written = shown(value) if isinstance(value, str) else plain_number(number)
            reasons.append(f"{name}: {written} is not a whole number")
        elif metric.min is not None and number < metric.min:
            reasons.append(f"{name}: {plain_number(number)} is below the minimum {plain_number(metric.min)}")
        elif metric.max is not None and number > metric.max:
            reasons.append(f"{name}: {plain_number(number)} is above the maximum {plain_number(metric.max)}")
        else:
            metrics[name] = number.quantize(Decimal(1)) if metric.type == "integer" else number  # 85.0 is 85
    return metrics


def column_warnings(
    ruleset: CompiledRuleset, source: str, seen_keys: set[str], unknown_columns: list[str]
) -> list[str]:
    """File-level warnings: required columns no row has, and columns the ruleset does not know."""
    model = ruleset.model
    warnings: list[str] = []
    if seen_keys:
        lacking = [n for n, m in model.metrics.items() if m.default is None and not m.optional and n not in seen_keys]
        lacking += [
            n
            for n, a in model.attributes.items()
            if a.default is None and a.type in ("string", "boolean") and n not in seen_keys
        ]
        if lacking:
            warnings.append(Said("warn.lacking", source=source, names=", ".join(lacking)))
        absent = [name_shown(n) for n in model.keep if n not in seen_keys]
        if absent:
            warnings.append(Said("warn.keep_absent", source=source, names=", ".join(absent)))
    if unknown_columns:
        listed = ", ".join(name_shown(n) for n in unknown_columns[:_LISTED])
        extra = len(unknown_columns) - _LISTED
        more = phrase("warn.more", count=f"{extra:,}") if extra > 0 else ""
        warnings.append(Said("warn.ignored", source=source, names=listed, more=more))
    return warnings


def no_records(source: str) -> str:
    """The warning for a file with no records at all (a header alone, an empty list)."""
    return Said("warn.no_records", source=source)


_LISTED = 20  # unknown columns a warning names


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
        period = _period_of(row[1])
        groups[target.for_period(period) or target.latest].append(row)
    if not groups:
        return [], [], [no_records(source)]
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


def split_duplicates(
    records: list[AgentPeriod], segment: str | None = None
) -> tuple[list[AgentPeriod], list[Rejection]]:
    """Keep records whose agent and period are unique; reject every copy of the others.

    With ``segment`` (the date attribute of a segment's first day, ``calendar.segments``) records
    of one agent-month that start on different days are segments, merged and checked later.
    """
    seen: dict[tuple[str, str, Any], list[str]] = defaultdict(list)
    places: list[int] = []  # each record's place among its copies

    def key(record: AgentPeriod) -> tuple[str, str, Any]:
        return (record.agent_id, record.period, record.attributes.get(segment) if segment else None)

    for record in records:
        copies = seen[key(record)]
        places.append(len(copies))
        copies.append(f"{record.source}:{record.row}")
    keep: list[AgentPeriod] = []
    rejected: list[Rejection] = []
    for record, place in zip(records, places, strict=True):
        copies = seen[key(record)]
        if len(copies) == 1:
            keep.append(record)
            continue
        rejected.append(
            Rejection(
                source=record.source,
                row=record.row,
                agent_id=record.agent_id,
                period=record.period,
                reasons=[duplicate_reason(record.agent_id, record.period, copies, place)],
            )
        )
    return keep, rejected


def duplicate_reason(agent_id: str, period: str, copies: list[str], place: int) -> str:
    """Why the copy at ``place`` of ``copies`` (each ``file:row``) is rejected: the others, a few by name."""
    others = [c for i, c in enumerate(copies[: _NAMED + 1]) if i != place][:_NAMED]
    rest = len(copies) - 1 - len(others)
    where = ", ".join(others) + (f" and {rest:,} more" if rest else "")
    return f"duplicate: agent {_clipped(agent_id)} has another record for {_clipped(period)} at {where}"


_NAMED = 5  # other copies a duplicate's reason names


def level_lookup(ruleset: CompiledRuleset) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for level in ruleset.model.levels:
        names = [level.name] if isinstance(level.name, str) else list(level.name.values())
        for name in names:
            lookup[name] = level.id
        lookup[level.id] = level.id
    return lookup


def _period_of(raw: Mapping[str, Any]) -> str:
    """The period a raw row names, for choosing its ruleset version ("" when it names none)."""
    value = raw.get("period")
    if not isinstance(value, dt.date):
        try:
            value = as_text(value) or ""
        except ValueError:
            return ""
    return month_or_none(value) or ""


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def _clipped(text: str) -> str:
    """An agent id or period as a rejection's heading shows it (clipped, control characters escaped)."""
    plain = len(text) <= 40 and text.isprintable()
    return text if plain else shown(text)


def records_from_dicts(
    ruleset: CompiledRuleset | RulesetVersions, rows: Iterable[Mapping[str, Any]], source: str = "<records>"
) -> tuple[list[AgentPeriod], list[Rejection], list[str]]:
    """``parse_records`` for plain dicts, numbered from 1; nested ``attributes``/``metrics`` are flattened."""
    numbered: list[RawRow] = [(i, flatten_record(row)) for i, row in enumerate(rows, start=1)]
    return parse_records_for(ruleset, numbered, source)


def flatten_record(item: Mapping[str, Any], problems: Iterable[str] = ()) -> dict[str, Any]:
    """A record's fields in one mapping, its nested ``attributes`` and ``metrics`` objects lifted up.

    A name given in two places (at the top and in a nested object, or in both nested objects)
    is a problem, never a silent choice, and so is a nested value that is not an object. The
    problems, after any a reader found first (``problems``: a key written twice), go under
    ``PROBLEMS`` and reject the record.
    """
    found = list(problems)
    flat = {k: v for k, v in item.items() if k not in NESTED}
    where = dict.fromkeys(flat, "at the top level")
    for nested in NESTED:
        inner = item.get(nested)
        if inner is None:
            continue
        if not isinstance(inner, Mapping):
            found.append(f"{nested}: {shown(inner)} is not an object of {nested} by name")
            continue
        for key, value in inner.items():
            if key in where:
                found.append(
                    f"{name_shown(str(key))}: given both {where[key]} ({shown(flat[key])}) "
                    f"and in `{nested}` ({shown(value)}): give it once"
                )
                continue
            flat[key] = value
            where[key] = f"in `{nested}`"
    if found:
        flat[PROBLEMS] = found
    return flat


def header_fields(target: CompiledRuleset | RulesetVersions) -> dict[str, str]:
    """Input headers that name a field: the ruleset's ``columns:`` and each metric's and attribute's labels.

    A label two fields share names neither (the header must then be mapped in ``columns:``).
    """
    rulesets = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    fields: dict[str, str] = {}
    for ruleset in rulesets:
        model = ruleset.model
        labels: dict[str, set[str]] = defaultdict(set)
        items: list[tuple[str, Any]] = [*model.metrics.items(), *model.attributes.items()]
        for name, item in items:
            label = item.label
            for text in [label] if isinstance(label, str) else (label or {}).values():
                if text.strip() and text.strip() != name:
                    labels[text.strip()].add(name)
        fields.update({text: next(iter(names)) for text, names in labels.items() if len(names) == 1})
        fields.update(model.columns)
    return fields


def named_fields(names: list[str], fields: Mapping[str, str], source: str) -> list[str]:
    """Header names as the fields they name; two headers naming one field is an error naming both."""
    renamed = [fields.get(n, n) for n in names]
    if renamed == names:
        return names
    meaning: dict[str, list[str]] = defaultdict(list)
    for name, field_name in zip(names, renamed, strict=True):
        meaning[field_name].append(name)
    for field_name, headers in meaning.items():
        if len(headers) > 1 and any(h != field_name for h in headers):
            both = " and ".join(name_shown(h) for h in headers)
            raise RecordsError(f"{source}:1: columns {both} both mean {field_name}: keep one, or map one in columns:")
    return renamed


class Header(list[str]):
    """A header's column names as the fields they name, and ``written``: each field the file names
    otherwise (``qa_score`` -> ``质检得分``), so that messages can name the column as the file has it."""

    written: dict[str, str]

    def __init__(self, names: Iterable[str], written: Mapping[str, str] | None = None) -> None:
        super().__init__(names)
        self.written = dict(written or {})


def headed(rejections: Sequence[Rejection], headers: Mapping[str, Mapping[str, str]]) -> list[Rejection]:
    """``rejections`` whose reasons name a field the file's header names otherwise, naming that header too.

    ``headers`` gives, by source, each field's header as written (:attr:`Header.written`): the
    reason ``qa_score: 105 is above the maximum 100`` of a file whose column is ``质检得分``
    becomes ``质检得分 (qa_score): 105 is above the maximum 100``. The other rejections are
    returned as they were (the same objects).
    """
    if not any(headers.values()):
        return list(rejections)
    found = []
    for r in rejections:
        written = headers.get(r.source)
        reasons = [_headed(reason, written) for reason in r.reasons] if written else r.reasons
        found.append(r if reasons == r.reasons else r.model_copy(update={"reasons": reasons}))
    return found


def _headed(reason: str, written: Mapping[str, str]) -> str:
    field_name, colon, rest = reason.partition(": ")
    header = written.get(field_name) if colon else None
    return f"{header} ({field_name}): {rest}" if header is not None else reason


def header_names(header: list[str], source: str, fields: Mapping[str, str] | None = None) -> Header:
    """The column names of a header row, checked, as the fields they name (through ``fields``).

    No agent_id column, a name used twice, two names meaning one field, a name with a control
    or invisible character, or more than ``MAX_COLUMNS`` columns is an error: no row could be
    read right.
    """
    if len(header) > MAX_COLUMNS:
        raise RecordsError(
            f"{source}:1: the header has {len(header):,} columns; a records file has at most {MAX_COLUMNS:,}"
        )
    names = [h.strip().lstrip("\ufeff") for h in header]
    for number, name in enumerate(names, start=1):
        why = hidden_character(name)
        if why is not None:
            raise RecordsError(f"{source}:1: column {number} of the header, {shown(name)}, {why}")
    written = names
    if fields:
        names = named_fields(names, fields, source)
    if "agent_id" not in names:
        listed = ", ".join(name_shown(n) for n in names[:8]) + (", ..." if len(names) > 8 else "")
        raise RecordsError(
            f"{source}:1: no agent_id column in the header ({listed}): name the column of agent ids agent_id, "
            "or map the export's header to it in the ruleset (columns: {工号: agent_id})"
        )
    dupes = sorted(n for n, count in Counter(names).items() if count > 1 and n)
    if dupes:
        raise RecordsError(f"{source}:1: columns named twice: {', '.join(name_shown(n) for n in dupes)}")
    return Header(
        names, {name: as_written for name, as_written in zip(names, written, strict=True) if name != as_written}
    )
