"""Changes within a month: an agent-month's segments checked and merged into one row before the stages run.

With ``calendar.segments`` a month may hold several records for one agent, each for the days
``from``-``to`` with its own team, city tier, level or FTE. They must lie in the month, follow one
another without a gap and never overlap; otherwise every record of that agent-month is rejected,
naming the file, line, agent, period and field. A valid month becomes one row: the metrics and
attributes of the segment the ruleset decides by (the last, or the longest), the days, leave,
hours, deductions and listed metrics added up, and in ``__segments`` what pay reads of each
segment with its calendar days, so pay is prorated by days in each segment and merged into one
statement (:mod:`tierpay.engine.pay`). Rows of agents with one record and no dates pass as they
are, untouched; only the few segmented agent-months are worked through one by one.

Pure: no I/O.
"""

from __future__ import annotations

import calendar as months
import datetime as dt
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from tierpay.engine.columns import ROW, SOURCE, TEXT
from tierpay.engine.records import Rejection
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.employment import summed
from tierpay.ruleset.model import Ruleset

SEGMENTS = "__segments"
"""The column holding a merged month's segments as JSON text (null for a month of one record)."""


@dataclass(frozen=True)
class Segment:
    """What pay reads of one segment of a month: its calendar days, its own attributes, level and FTE."""

    days: int
    values: Mapping[str, Any]
    level: str | None = None


def segment_key(ruleset: Ruleset) -> str | None:
    """The date attribute that tells a month's segments apart (a segment's first day), if segments are declared."""
    cal = ruleset.calendar
    return cal.segments.start if cal is not None and cal.segments is not None else None


def pay_fields(ruleset: Ruleset) -> list[str]:
    """The attributes and metrics pay reads per segment: the keys of its tables, the minimum wage's area, FTE."""
    pay = ruleset.pay
    names: list[str] = []
    if pay is not None:
        names += [ln.by for ln in pay.lines if ln.by]
        if pay.floors is not None:
            if pay.floors.post_by is not None:
                names.append(pay.floors.post_by)
            if pay.floors.minimum_wage is not None:
                names.append(pay.floors.minimum_wage.by)
    cal = ruleset.calendar
    if cal is not None and cal.part_time is not None:
        if cal.part_time.hourly is not None:
            names.append(cal.part_time.hourly.attribute)
        if cal.part_time.fte is not None:
            names.append(cal.part_time.fte)
    return list(dict.fromkeys(names))


def read_segments(text: str | None) -> tuple[Segment, ...]:
    """The segments of ``__segments`` text (none for a month of one record)."""
    if not text:
        return ()
    return tuple(Segment(days=s["days"], values=s["values"], level=s.get("level")) for s in json.loads(text))


def merge_segments(ruleset: CompiledRuleset, rows: pl.DataFrame, source: str) -> tuple[pl.DataFrame, list[Rejection]]:
    """One period's rows with each agent's segments checked and merged into one row; the rejected records."""
    model = ruleset.model
    cal = model.calendar
    if cal is None or cal.segments is None:
        return rows, []
    start, end = cal.segments.start, cal.segments.end
    if not rows.height:
        return rows.with_columns(pl.lit(None, pl.String).alias(SEGMENTS)), []
    first, last = _month_days(str(rows["period"][0]))

    def day(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String).str.to_date("%Y-%m-%d", strict=False)

    # A record alone in its month, undated or dated within it, passes on whole columns; only
    # several records of one agent-month, or a record whose dates are wrong, are worked through.
    alone = ~pl.col("agent_id").is_duplicated()
    undated = pl.col(start).is_null() & pl.col(end).is_null()
    within = (day(start) >= first) & (day(start) <= day(end)) & (day(end) <= last)
    marked = ~(alone & (undated | within.fill_null(False))).alias("__marked")
    rows = rows.with_columns(marked.alias("__marked"))
    plain = rows.filter(~pl.col("__marked")).drop("__marked").with_columns(pl.lit(None, pl.String).alias(SEGMENTS))
    work = rows.filter(pl.col("__marked")).drop("__marked")
    if not work.height:
        return plain, []
    merged: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    adds = summed(cal, model)
    fields = pay_fields(model)
    for (agent,), group in work.group_by("agent_id", maintain_order=True):
        records = group.to_dicts()
        period = str(records[0]["period"])
        places = [f"{r.get(SOURCE) or source}:{r[ROW]}" for r in records]
        reasons = _problems(records, places, start, end, str(agent), period)
        if reasons:
            rejected += [
                Rejection(
                    source=str(r.get(SOURCE) or source), row=r[ROW], agent_id=str(agent), period=period, reasons=reasons
                )
                for r in records
            ]
            continue
        merged.append(_merged(records, start, end, cal.segments.decide_by, adds, fields, source))
    if not merged:
        return plain, rejected
    schema = plain.schema
    extra = pl.DataFrame(merged, schema=schema, strict=False).cast(schema)
    together = pl.concat([plain, extra], how="vertical")
    return together.sort(["agent_id"], maintain_order=True), rejected


def segment_note(text: str | None, decide_by: str) -> str | None:
    """The note a merged month's decision carries: the records it was made from, and which one decided."""
    if not text:
        return None
    parts = json.loads(text)
    listed = ", ".join(f"{p['place']} ({p['dates']})" for p in parts)
    return f"one decision from {len(parts)} records, each a segment of the month: {listed}; the {decide_by} decides"


def _month_days(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``period`` (``YYYY-MM``)."""
    year, month = (int(x) for x in period.split("-"))
    return dt.date(year, month, 1), dt.date(year, month, months.monthrange(year, month)[1])


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _problems(
    records: list[dict[str, Any]], places: list[str], start: str, end: str, agent: str, period: str
) -> list[str]:
    """Why an agent-month's segments cannot be merged: each in plain words, naming the field and the other record."""
    first, last = _month_days(period)
    reasons: list[str] = []
    spans: list[tuple[dt.date, dt.date, str]] = []
    several = len(records) > 1
    for record, place in zip(records, places, strict=True):
        a, b = record.get(start), record.get(end)
        if a is None or b is None:
            if several:
                missing = start if a is None else end
                reasons.append(
                    f"{missing}: missing at {place}: agent {agent} has {len(records)} records for {period} "
                    f"({', '.join(places)}); each is a segment and needs {start} and {end}"
                )
            else:
                given, missing = (start, end) if a is not None else (end, start)
                reasons.append(f"{missing}: missing: a segment with {given} needs {missing} too")
            continue
        day_a, day_b = _day(a), _day(b)
        if day_a > day_b:
            reasons.append(f"{start}: {day_a} is after {end} {day_b} at {place}")
            continue
        outside = [(n, d) for n, d in ((start, day_a), (end, day_b)) if not first <= d <= last]
        if outside:
            reasons += [f"{n}: {d} at {place} is not in {period}" for n, d in outside]
            continue
        spans.append((day_a, day_b, place))
    if reasons:
        return reasons
    spans.sort()
    for (a0, b0, p0), (a1, _b1, p1) in itertools.pairwise(spans):
        if a1 <= b0:
            reasons.append(
                f"{start}: {a1} at {p1} overlaps the segment {a0} to {b0} at {p0}: a day belongs to one segment"
            )
        elif a1 > b0 + dt.timedelta(days=1):
            gap_end = a1 - dt.timedelta(days=1)
            gap = f"{b0 + dt.timedelta(days=1)}" + (f" to {gap_end}" if gap_end > b0 + dt.timedelta(days=1) else "")
            reasons.append(
                f"{start}: {a1} at {p1} leaves {gap} uncovered after the segment ending {b0} at {p0}: "
                "segments of a month follow on without a gap"
            )
    return reasons


def _merged(
    records: list[dict[str, Any]],
    start: str,
    end: str,
    decide_by: str,
    adds: Sequence[str],
    fields: Sequence[str],
    source: str,
) -> dict[str, Any]:
    """One row for the month: the deciding segment's values, the added-up metrics, the segments for pay."""
    ordered = sorted(records, key=lambda r: _day(r[start]))
    days = [(_day(r[end]) - _day(r[start])).days + 1 for r in ordered]
    if decide_by == "longest":
        longest = max(days)
        deciding = max(i for i, d in enumerate(days) if d == longest)  # the later of two as long
    else:
        deciding = len(ordered) - 1
    row = dict(ordered[deciding])
    for name in adds:
        texts = [r.get(name + TEXT) for r in ordered]
        if any(t is None for t in texts):
            continue
        total = sum((Decimal(str(t)) for t in texts), Decimal(0))
        row[name + TEXT] = str(total)
        row[name] = float(total)
    row["level"] = ordered[0].get("level")
    row[start] = ordered[0][start]
    row[end] = ordered[-1][end]
    row[ROW] = ordered[0][ROW]
    if SOURCE in row:
        row[SOURCE] = ordered[0][SOURCE]
    if len(ordered) > 1:
        first_level = ordered[0].get("level")
        row[SEGMENTS] = json.dumps(
            [
                {
                    "days": d,
                    "place": f"{r.get(SOURCE) or source}:{r[ROW]}",
                    "dates": f"{_day(r[start])} to {_day(r[end])}",
                    "values": {n: _plain(r, n) for n in fields},
                    **({"level": r["level"]} if i and r.get("level") and r["level"] != first_level else {}),
                }
                for i, (r, d) in enumerate(zip(ordered, days, strict=True))
            ],
            ensure_ascii=False,
            sort_keys=True,
        )
    else:
        row[SEGMENTS] = None
    return row


def _plain(record: Mapping[str, Any], name: str) -> Any:
    """A segment's value as JSON holds it: a metric as its exact text, an attribute as it is."""
    if name + TEXT in record:
        value = record[name + TEXT]
        return None if value is None else str(value)
    return record.get(name)
