"""An outcome as the sheets of a workbook: the decisions, the rejections and the summary; the payroll; statements.

Each sheet holds what its CSV holds, typed for Excel: money as numbers shown ``#,##0.00``,
scores, ranks and coefficients as numbers, everything else (ids, periods ``YYYY-MM``, codes) as
text. Headers are the CSV's column keys; in Chinese (``--lang zh``) a header is the column's
Chinese name followed by its key, ``工号 (agent_id)``, so that a person reads it and a program
still finds the key (a kept column, ``姓名``, is its own name). :mod:`tierpay.io.xlsx_book` writes
the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tierpay.engine.cells import has_ladders, line_ids
from tierpay.engine.columns import fields
from tierpay.engine.outcome import Outcome
from tierpay.engine.pay import line_label
from tierpay.engine.records import Rejection
from tierpay.engine.results import Decision
from tierpay.io.xlsx_book import Column, Kind, Sheet
from tierpay.outputs.report import Summary, payroll_frame
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions, latest
from tierpay.words import COLUMNS_ZH, named, say

NUMBERS = {"score", "coefficient", "review_rank", "review_cohort_size", "review_percentile"}
"""Decision columns written as number cells (besides money)."""

_FLOORS = ("probation_floor", "minimum_wage", "rounding")


def decisions_sheets(outcome: Outcome, lang: str = "en") -> list[Sheet]:
    """The decisions (every column of the decisions CSV, kept columns included), the rejections and the summary."""
    target = outcome.target
    cells = outcome.cells
    money = {f"pay_{i}" for i in [*line_ids(target), *_FLOORS]} | {"pay_total"}
    kinds = {c: _kind(c, money) for c in cells.columns}
    headers = column_headers(target, lang)
    decisions = Sheet(
        say("sheet.decisions", lang),
        [Column(headers.get(c, c), kinds[c]) for c in cells.columns],
        cells.iter_rows(),
        _widths(cells, kinds),
    )
    summary = Summary.of(target, lang).add(cells)
    return [
        decisions,
        rejections_sheet(outcome.rejections, target, lang),
        summary_sheet(summary, lang),
    ]


def payroll_sheets(outcome: Outcome, lang: str = "en") -> list[Sheet]:
    """The payroll export as one sheet: a row per agent-period paid, money as numbers."""
    target = outcome.target
    frame = payroll_frame([p.cells for p in outcome.parts], target)
    money = {*line_ids(target), *_FLOORS, "total"}
    kinds: dict[str, Kind] = {
        c: "money" if c in money else "number" if c == "coefficient" else "text" for c in frame.columns
    }
    headers = column_headers(target, lang, pay_prefix="")
    columns = [Column(headers.get(c, c), kinds[c]) for c in frame.columns]
    return [Sheet(say("sheet.payroll", lang), columns, frame.iter_rows(), _widths(frame, kinds))]


def statements_sheets(
    decisions: Sequence[Decision], keep: Sequence[str], target: CompiledRuleset | RulesetVersions, lang: str = "en"
) -> list[Sheet]:
    """Pay statements as the statement CSV's rows (a row per line per agent-period), amounts as money.

    With ladders, a ``ladder`` column after the period, as the statement CSV has.
    """
    ladders = has_ladders(target)
    keys = [
        "agent_id",
        *keep,
        "period",
        *(["ladder"] if ladders else []),
        "line",
        "kind",
        "amount",
        "currency",
        "basis",
    ]
    headers = column_headers(target, lang)
    kinds: dict[str, Kind] = {k: "money" if k == "amount" else "text" for k in keys}
    rows: list[list[object]] = []
    for d in decisions:
        if d.pay is None:
            continue
        who = [d.agent_id, *(d.values.get(k) or None for k in keep), d.period, *([d.ladder] if ladders else [])]
        rows += [[*who, ln.id, ln.kind, ln.amount, d.pay.currency, ln.basis_in(lang)] for ln in d.pay.lines]
        rows.append([*who, "total", "total", d.pay.total, d.pay.currency, None])
    return [Sheet(say("sheet.statements", lang), [Column(headers.get(k, k), kinds[k]) for k in keys], rows)]


def rejections_sheet(rejections: Sequence[Rejection], target: CompiledRuleset | RulesetVersions, lang: str) -> Sheet:
    """One row per reason a record was rejected: its file, row, agent and period, the field named and the reason."""
    attributes, metrics = fields(target)
    known = {"agent_id", "period", "level", *attributes, *metrics}
    keys = ["source", "row", "agent_id", "period", "field", "reason"]
    headers = column_headers(target, lang)
    rows: list[list[object]] = []
    for r in rejections:
        for reason in r.reasons:
            name, colon, rest = reason.partition(": ")
            field, text = (name, rest) if colon and name in known else (None, reason)
            rows.append([r.source, r.row, r.agent_id, r.period, field, text])
    kinds: dict[str, Kind] = {k: "number" if k == "row" else "text" for k in keys}
    return Sheet(say("sheet.rejections", lang), [Column(headers.get(k, k), kinds[k]) for k in keys], rows)


def summary_sheet(summary: Summary, lang: str) -> Sheet:
    """Agents, agent-months and pay by level paid, team and region, each block ending with the grand total."""
    keys = ["by", "group", "agents", "agent_months", "pay"]
    kinds: list[Kind] = ["text", "text", "number", "number", "money"]
    rows: list[list[object]] = [
        [heading, group, agents, months, pay]
        for heading, block in summary.blocks()
        for group, agents, months, pay in block
    ]
    columns = [Column(_header(k, COLUMNS_ZH.get(k), lang), kind) for k, kind in zip(keys, kinds, strict=True)]
    return Sheet(say("sheet.summary", lang), columns, rows)


def column_headers(target: CompiledRuleset | RulesetVersions, lang: str, pay_prefix: str = "pay_") -> dict[str, str]:
    """Each column key's header in ``lang``: the key in English; the Chinese name and the key in Chinese.

    Metrics, attributes and pay lines are named by their ``zh`` labels in the ruleset; a
    kept column (a name) is shown as it is.
    """
    if lang != "zh":
        return {}
    ruleset = latest(target)
    model = ruleset.model
    names = dict(COLUMNS_ZH)
    for key, attr in model.attributes.items():
        names[key] = named(key, attr.label).text(lang)
    for key, metric in model.metrics.items():
        names[key] = named(key, metric.label).text(lang)
    pays = [p for p in (model.pay, *(ladder.model.pay for ladder in ruleset.ladders.values())) if p is not None]
    for line in [*line_ids(target), *_FLOORS]:  # with ladders, the first ladder's pay that has the line names it
        own = next((p for p in pays if line in {x.id for x in p.lines} | {x.id for x in p.deductions}), None)
        names[f"{pay_prefix}{line}"] = line_label(own, line, lang)
    return {key: _header(key, name, lang) for key, name in names.items() if key not in model.keep}


def _header(key: str, name: str | None, lang: str) -> str:
    return f"{name} ({key})" if lang == "zh" and name and name != key else key


def _kind(column: str, money: set[str]) -> Kind:
    return "money" if column in money else "number" if column in NUMBERS else "text"


def _widths(frame: pl.DataFrame, kinds: dict[str, Kind]) -> list[int]:
    """Each column's width in characters: its longest text (a Chinese character counts two; money with separators)."""
    if not frame.height:
        return [0] * frame.width
    wide = frame.select(
        ((pl.col(c).str.len_bytes() + pl.col(c).str.len_chars()) // 2).max().fill_null(0).alias(c)
        for c in frame.columns
    ).row(0)
    return [int(w) + (int(w) // 3 if kinds[c] == "money" else 0) for c, w in zip(frame.columns, wide, strict=True)]
