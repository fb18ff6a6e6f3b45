"""A period's decisions as the cells of the decisions CSV: text columns built from the run's arrays.

Each column is gathered from a small table of texts by code (levels, actions, grades, pay
statements), so a million rows cost a handful of array operations, and every cell is the
text the decisions CSV holds (an empty cell is null). :class:`tierpay.engine.outcome.Outcome`
types the columns for ``to_polars()`` and friends.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.engine.levels import ACTIONS, REASONS
from tierpay.engine.pay import number
from tierpay.engine.results import Pay
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

if TYPE_CHECKING:
    from tierpay.engine.period import PeriodRun

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def _all(target: CompiledRuleset | RulesetVersions) -> list[CompiledRuleset]:
    """Every version of ``target``, each followed by its ladders (each a ruleset of its own)."""
    versions = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    return [one for r in versions for one in (r, *r.ladders.values())]


def has_ladders(target: CompiledRuleset | RulesetVersions) -> bool:
    """Whether a version of ``target`` declares several ladders (its outputs then carry the ladder)."""
    return any(r.ladders for r in _all(target))


def _union(items: Any) -> list[str]:
    return list(dict.fromkeys(x for group in items for x in group))


def line_ids(target: CompiledRuleset | RulesetVersions) -> list[str]:
    """Every pay line and deduction id of the ruleset (of every version), in order.

    Sick pay (``calendar.sick_pay``) is a line of its own, after the ruleset's lines.
    """
    return _union(
        [ln.id for ln in r.model.pay.lines]
        + (["sick_pay"] if r.model.calendar is not None and r.model.calendar.sick_pay is not None else [])
        + [d.id for d in r.model.pay.deductions]
        for r in _all(target)
        if r.model.pay
    )


def attributes(target: CompiledRuleset | RulesetVersions) -> list[str]:
    """Every attribute of the ruleset (of every version), in order."""
    return _union(r.model.attributes for r in _all(target))


DECIDED_COLUMNS = ["decided", "decided_by"]
"""The columns a run given people's decisions adds after ``reason``: what was decided (``set_level=L3``,
``clear_review``) and by whom, ``;`` between two."""


def decision_columns(
    ruleset: CompiledRuleset | RulesetVersions, decided: bool = False, adjusting: bool = False
) -> list[str]:
    """The fixed column order of the decisions CSV (with ``DECIDED_COLUMNS`` when people's decisions were given).

    The input file and row are left out (they are in the JSON), so that month-by-month runs
    chained through the state give the same bytes as one run over the whole history. A run
    that keeps a ledger (``adjusting``) has a ``pay_adjustment`` column before the total: what
    closed periods decided again pay or recover this month.
    """
    lines = line_ids(ruleset)
    floors = ["probation_floor", "minimum_wage", "rounding"] if lines else []
    ladders = has_ladders(ruleset)
    if lines and adjusting:
        floors.append("adjustment")
    return [
        "agent_id", "period", *attributes(ruleset), *(["ladder"] if ladders else []), "level_before", "level",
        "qualified_level", "action", "reason", *(DECIDED_COLUMNS if decided else []),
        *(["nominated"] if ladders else []), "on_probation", "score", "grade", "coefficient",
        "review_cohort", "review_rank", "review_cohort_size", "review_percentile", "review_flagged",
        "review_stage", "review_exempt", "pay_level", *[f"pay_{i}" for i in [*lines, *floors]],
        "pay_total", "currency", "ruleset_version", "ruleset_sha256",
    ]  # fmt: skip


def empty_cells(
    target: CompiledRuleset | RulesetVersions, decided: bool = False, adjusting: bool = False
) -> pl.DataFrame:
    """No decisions: the decisions CSV's columns, all text, no rows."""
    return pl.DataFrame(schema=dict.fromkeys(decision_columns(target, decided, adjusting), pl.String))


def decision_cells(run: PeriodRun) -> pl.DataFrame:
    """The decided rows of ``run`` as the decisions CSV's cells (text, or null for an empty cell)."""
    model, ruleset = run.model, run.ruleset
    final = run.decided
    levels = run.levels_out
    assert levels is not None
    at = np.flatnonzero(final[run.level_rows])
    level_ids = ruleset.level_ids
    picked = run.rows.filter(pl.Series(final))
    columns: list[pl.Series | pl.Expr] = [pl.col("agent_id"), pl.lit(run.period).alias("period")]
    for name, attr in model.attributes.items():
        column = pl.col(name)
        if attr.type == "boolean":
            column = pl.when(column).then(pl.lit("true")).otherwise(pl.lit("false")).alias(name)
        elif name in model.keep:  # a kept column left blank is an empty cell
            column = pl.when(column != "").then(column).alias(name)
        columns.append(column)
    out = picked.select(columns)
    cells = [
        _gather("level_before", level_ids, run.prior.level[final]),
        _gather("level", level_ids, levels.state.level[at]),
        _gather("qualified_level", level_ids, levels.qualified[at]),
        _gather("action", ACTIONS, levels.action[at]),
        _gather("reason", REASONS, levels.reason[at]),
        _gather("on_probation", ["false", "true"], levels.state.on_probation[at].astype(np.int64)),
    ]
    if run.score is not None:
        cells.append(_numbers("score", run.score.scaled[final], run.score.card.decimals))
    if model.grades:
        cells.append(_gather("grade", [g.grade for g in model.grades] + [None], run.grade_index[final]))
    if run.coefficient is not None:
        codes, table, _ = run.coefficient
        cells.append(_gather("coefficient", [number(c) for c in table], codes[final]))
    review, rule = run.review_out, model.review
    if review is not None and rule is not None and run.review_labels is not None:
        pos = np.flatnonzero(final[run.reviewed])
        ranked = review.ranked[pos]
        cells += [
            run.review_labels.filter(pl.Series(final)).alias("review_cohort"),
            _masked("review_rank", pl.Series(review.rank[pos]).cast(pl.String), ranked),
            pl.Series("review_cohort_size", review.cohort_size[pos]).cast(pl.String),
            _masked("review_percentile", _numbers("p", review.percentile_cents[pos], 2), ranked),
            _gather("review_flagged", ["false", "true"], review.flagged[pos].astype(np.int64)),
            pl.Series("review_stage", review.stage[pos].tolist(), dtype=pl.String),
            _gather("review_exempt", [e.code for e in rule.exempt] + ["decision", None], run.review_exempt[final]),
        ]
    if run.pay_statements:
        codes = run.pay_code[final]
        statements = run.pay_statements
        ids = [*line_ids(ruleset), "probation_floor", "minimum_wage", "rounding"]
        amounts = [{ln.id: str(ln.amount) for ln in s.lines} if s is not None else {} for s in statements]
        cells += [_gather(f"pay_{i}", [a.get(i) for a in amounts], codes) for i in ids]
        if run.adjustments is not None:
            adjusted = [_adjusted(s) for s in statements]
            cells.append(_gather("pay_adjustment", adjusted, codes))
        cells += [
            _gather("pay_total", [str(s.total) if s is not None else None for s in statements], codes),
            _gather("pay_level", level_ids, levels.pay_level[at]),
            pl.Series("currency", [model.currency] * len(codes), dtype=pl.String),
        ]
    if run.human is not None:
        cells += _decided(run, np.flatnonzero(final).tolist())
    out = out.with_columns(cells).with_columns(
        pl.lit(ruleset.version).alias("ruleset_version"), pl.lit(ruleset.sha256).alias("ruleset_sha256")
    )
    names = decision_columns(ruleset, run.human is not None, run.adjustments is not None)
    return out.select([pl.col(c) if c in out.columns else pl.lit(None, pl.String).alias(c) for c in names])


def _decided(run: PeriodRun, rows: list[int]) -> list[pl.Series]:
    """The ``decided`` and ``decided_by`` cells: each row's people's decisions, ``;`` between two."""
    of_row = run.applied.of_row
    said = [";".join(d.said() for d in of_row[i]) if i in of_row else None for i in rows]
    by = [";".join(dict.fromkeys(d.by for d in of_row[i])) if i in of_row else None for i in rows]
    return [pl.Series("decided", said, dtype=pl.String), pl.Series("decided_by", by, dtype=pl.String)]


def _adjusted(statement: Pay | None) -> str | None:
    """What a statement's adjustment lines add up to, or an empty cell when it has none."""
    if statement is None:
        return None
    amounts = [ln.amount for ln in statement.lines if ln.kind == "adjustment"]
    return str(sum(amounts, Decimal(0))) if amounts else None


def _gather(name: str, table: Sequence[str | None], codes: npt.NDArray[Any]) -> pl.Series:
    """A text column from codes into a small table (None gives an empty cell)."""
    return pl.Series(name, list(table), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64)).alias(name)


def _numbers(name: str, scaled: Ints, places: int) -> pl.Series:
    """Scaled integers written as ``pay.number`` writes their decimals (no trailing zeros)."""
    unique, inverse = np.unique(scaled, return_inverse=True)
    texts = [number(Decimal(int(u)).scaleb(-places)) for u in unique.tolist()]
    return _gather(name, texts, inverse.reshape(-1))


def _masked(name: str, values: pl.Series, keep: Bools) -> pl.Series:
    """``values`` where ``keep`` holds, empty cells elsewhere."""
    return pl.select(pl.when(pl.Series(keep)).then(values).otherwise(None).alias(name)).to_series()
