"""The columnar pipeline: whole periods evaluated on columns, the decisions kept as columns.

The reference path (:mod:`tierpay.engine.run`) builds a ``Decision`` per record and asks every
question record by record. This path asks each question of a whole period at once and keeps
the answers as columns, which is what the decisions CSV holds: the level codes, the score,
grade, review rank and flag, and every pay line. It gives the same answers by construction:

- True/false criteria run as float64 kernels (:mod:`tierpay.engine.kernels`); every row whose
  answer floats could get wrong is marked uncertain and evaluated exactly by rule-engine.
- The score is summed in float64 and rounded; a row whose sum lies within 1e-6 of a rounding
  boundary is recomputed in ``Decimal`` with the scorecard's own functions, from the exact
  metric values and the exact rank counts behind its percentiles.
- Money is never a float: each distinct combination of what a pay statement reads (level,
  coefficient, days, city tier, conditions, formulas...) is computed once, exactly, by
  :func:`tierpay.engine.pay.compute_pay`, and joined back to every row that shares it. Formula
  lines are evaluated the same way, once per distinct input.
- The level state machine and the review are the array forms in :mod:`tierpay.engine.ladder`.
- A record whose evaluation fails is rejected with the reference path's reason, at the same
  stage, so it leaves the cohort where the reference path's does.

Full explanations are not kept: ``tierpay explain`` renders them for the agents asked about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TextIO

import polars as pl

from tierpay.engine.period import Book, CheckCache, PeriodRun, pay_reads
from tierpay.engine.records import Rejection
from tierpay.engine.results import Gap, RulesetStamp
from tierpay.engine.run import stamp
from tierpay.engine.state import State
from tierpay.io.frames import RecordFrame
from tierpay.outputs.report import decision_columns
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import ZScoreNorm
from tierpay.ruleset.versions import RulesetVersions


def unsupported(target: CompiledRuleset | RulesetVersions) -> str | None:
    """Why the columnar pipeline cannot evaluate ``target``, or None when it can."""
    if not isinstance(target, CompiledRuleset):
        return "a folder of ruleset versions"
    model = target.model
    card = model.scorecard
    if card is not None:
        if any(isinstance(p.normalise, ZScoreNorm) for p in card.parts):
            return "z-score normalisation"
        if any(p.metric not in model.metrics for p in card.parts):
            return "a scorecard part on a derived value"
    if model.pay is not None:
        plain = {*model.metrics, *model.attributes}
        odd = [name for name in pay_reads(target) if name not in plain]
        if odd:
            return f"pay reading {', '.join(odd)}, which are not metrics or attributes"
    review = model.review
    if review is not None and review.rank_by not in model.metrics and (card is None or review.rank_by != card.name):
        return f"ranking the review by {review.rank_by}"
    return None


@dataclass
class FastOutcome:
    """What the columnar pipeline gives: the decisions as a frame of CSV cells, and the rest."""

    ruleset: RulesetStamp
    periods: list[str]
    decisions: pl.DataFrame
    rejections: list[Rejection]
    gaps: list[Gap]
    warnings: list[str]
    book: Book = field(repr=False)
    exact_rows: int = 0
    """How many (row, question) pairs were decided exactly, because the floats could not vouch for them."""
    fallbacks: dict[str, str] = field(default_factory=dict)
    """Expressions not compiled to columns (evaluated exactly for every row), and why."""

    @cached_property
    def state(self) -> State:
        """The carried state after the last period (built on first use: a pydantic object per agent)."""
        return self.book.state(self.periods)

    def csv(self, header: bool = True) -> str:
        """The decisions CSV, byte for byte what ``report.decision_rows`` writes for the reference path."""
        return _csv(self.decisions, header)


def _csv(frame: pl.DataFrame, header: bool) -> str:
    """CSV cells as ``csv.writer`` writes them: quotes only where needed, empty cells for nulls."""
    text: str = frame.write_csv(include_header=header, quote_style="necessary", line_terminator="\n")
    return text


def evaluate_frame(
    ruleset: CompiledRuleset, records: RecordFrame, state: State | None = None, sink: TextIO | None = None
) -> FastOutcome:
    """Evaluate every period of ``records`` on columns, as ``engine.evaluate`` does record by record.

    With ``sink``, each period's decisions are written there as CSV (header first) as soon as
    they are decided and not kept, so a million decisions never sit in memory together;
    ``FastOutcome.decisions`` is then empty.
    """
    why = unsupported(ruleset)
    if why is not None:
        raise ValueError(f"the columnar pipeline does not support {why}")
    book = Book(ruleset, state or State(ruleset=ruleset.name), records.frame["agent_id"].unique().to_list())
    frame = records.frame.join(book.index_frame(), on="agent_id", how="left").sort(["period", "agent_id"])
    checks = CheckCache()
    columns = decision_columns(ruleset)
    empty = pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    parts: list[pl.DataFrame] = []
    if sink is not None:
        sink.write(_csv(empty, header=True))
    rejections = list(records.rejections)
    gaps: list[Gap] = []
    periods: list[str] = []
    for (period,), rows in frame.group_by("period", maintain_order=True):
        assert isinstance(period, str)
        periods.append(period)
        run = PeriodRun(ruleset, period, rows, book, checks, records.source)
        decided = run.decide()
        if sink is not None:
            sink.write(_csv(decided, header=False))
        else:
            parts.append(decided)
        rejections.extend(run.rejections())
        gaps.extend(book.gaps(period, run.agent))
        book.advance(run)
    rejections.sort(key=lambda r: (r.source, r.row))
    decisions = pl.concat([empty, *parts], how="diagonal") if parts else empty
    return FastOutcome(
        ruleset=stamp(ruleset),
        periods=periods,
        decisions=decisions.select(columns),
        rejections=rejections,
        gaps=gaps,
        warnings=list(records.warnings),
        book=book,
        exact_rows=checks.exact_rows,
        fallbacks=checks.fallbacks,
    )
