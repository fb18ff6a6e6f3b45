"""The columnar pipeline: whole periods evaluated on columns, the decisions kept as columns.

The reference path (:mod:`tierpay.engine`) builds a ``Decision`` per record and asks every
question record by record. This path asks each question of a whole period at once and keeps
the answers as columns, which is what the decisions CSV holds: the level codes, the score,
grade, review rank and flag, and every pay line. It gives the same answers by construction:

- True/false criteria run as float64 kernels (:mod:`tierpay.columnar`); every row whose
  answer floats could get wrong is marked uncertain and evaluated exactly by rule-engine.
- The score is summed in float64 and rounded; a row whose sum lies within 1e-6 of a rounding
  boundary is recomputed exactly by :func:`tierpay.scorecard.compute_scores`.
- Money is never a float: each distinct combination of what a pay statement reads (level,
  coefficient, days, city tier, conditions, formulas...) is computed once, exactly, by
  :func:`tierpay.pay.compute_pay`, and joined back to every row that shares it. Formula
  lines are evaluated the same way, once per distinct input.
- The level state machine and the review are the array forms in :mod:`tierpay.fastlevels`.
- A record whose evaluation fails is rejected with the reference path's reason, at the same
  stage, so it leaves the cohort where the reference path's does.

Full explanations are not kept: ``tierpay explain`` renders them for the agents asked about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.columnar import Columns, FastCheck, Unsupported, compile_check, compile_values
from tierpay.compiler import CompiledRuleset
from tierpay.engine import month_index, period_name, stamp
from tierpay.errors import EvaluationError
from tierpay.expressions import CompiledExpression
from tierpay.fastlevels import NONE, Prior, decide_levels, review_arrays
from tierpay.frames import ROW, TEXT, RecordFrame
from tierpay.model import Grade, ScoreVeto, ZScoreNorm
from tierpay.pay import PayInputs, coefficient_for, compute_pay, number
from tierpay.records import Rejection
from tierpay.report import decision_columns
from tierpay.results import Gap, RulesetStamp
from tierpay.scorecard import compute_scores
from tierpay.state import AgentState, State
from tierpay.versions import RulesetVersions

Array = npt.NDArray[Any]
ROUNDING_MARGIN = 1e-6
INVALID = -2  # a carried level the ruleset does not have


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
        odd = [name for name in _pay_reads(target) if name not in plain]
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
    state: State
    exact_rows: int = 0
    fallbacks: dict[str, str] = field(default_factory=dict)

    def csv(self, header: bool = True) -> str:
        """The decisions CSV, byte for byte what ``report.decision_rows`` writes for the reference path."""
        text: str = self.decisions.write_csv(include_header=header, quote_style="necessary", line_terminator="\n")
        return text


def evaluate_frame(ruleset: CompiledRuleset, records: RecordFrame, state: State | None = None) -> FastOutcome:
    """Evaluate every period of ``records`` on columns, as ``engine.evaluate`` does record by record."""
    why = unsupported(ruleset)
    if why is not None:
        raise ValueError(f"the columnar pipeline does not support {why}")
    frame = records.frame.sort(["period", "agent_id"])
    book = Book(ruleset, state or State(ruleset=ruleset.name), frame["agent_id"].unique().to_list())
    frame = frame.join(book.index_frame(), on="agent_id", how="left", maintain_order="left")
    checks = CheckCache()
    parts: list[pl.DataFrame] = []
    rejections = list(records.rejections)
    gaps: list[Gap] = []
    periods: list[str] = []
    for (period,), rows in frame.group_by("period", maintain_order=True):
        assert isinstance(period, str)
        periods.append(period)
        run = PeriodRun(ruleset, period, rows, book, checks, records.source)
        parts.append(run.decide())
        rejections.extend(run.rejections())
        gaps.extend(book.gaps(period, run.agent))
        book.advance(run)
    rejections.sort(key=lambda r: (r.source, r.row))
    columns = decision_columns(ruleset)
    empty = pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    decisions = pl.concat([empty, *parts], how="diagonal") if parts else empty
    return FastOutcome(
        ruleset=stamp(ruleset),
        periods=periods,
        decisions=decisions.select(columns),
        rejections=rejections,
        gaps=gaps,
        warnings=list(records.warnings),
        state=book.state(periods),
        exact_rows=checks.exact_rows,
        fallbacks=checks.fallbacks,
    )


class Book:
    """Every agent's carried state as arrays, indexed by agent number (agent ids sorted)."""

    def __init__(self, ruleset: CompiledRuleset, start: State, seen: list[str]) -> None:
        self.ruleset = ruleset
        self.start = start
        carried = start.by_agent()
        self.ids = sorted(set(seen) | set(carried))
        n = len(self.ids)
        ids = ruleset.level_ids
        self.known = np.zeros(n, dtype=bool)
        self.level = np.zeros(n, dtype=np.int64)
        self.bad_level: dict[int, str] = {}
        self.periods_in_level = np.zeros(n, dtype=np.int64)
        self.promote_streak = np.zeros(n, dtype=np.int64)
        self.streak_level = np.full(n, NONE, dtype=np.int64)
        self.maintain_fail_streak = np.zeros(n, dtype=np.int64)
        self.on_probation = np.zeros(n, dtype=bool)
        self.probation_periods = np.zeros(n, dtype=np.int64)
        self.review_streak = np.zeros(n, dtype=np.int64)
        self.review_stage = np.full(n, None, dtype=object)
        self.last = np.full(n, -1, dtype=np.int64)
        position = {agent: i for i, agent in enumerate(self.ids)}
        for agent in start.agents:
            i = position[agent.agent_id]
            self.known[i] = True
            if agent.level in ids:
                self.level[i] = ids.index(agent.level)
            else:
                self.level[i] = INVALID
                self.bad_level[i] = agent.level
            self.periods_in_level[i] = agent.periods_in_level
            self.promote_streak[i] = agent.promote_streak
            self.streak_level[i] = ids.index(agent.streak_level) if agent.streak_level in ids else NONE
            self.maintain_fail_streak[i] = agent.maintain_fail_streak
            self.on_probation[i] = agent.on_probation
            self.probation_periods[i] = agent.probation_periods
            self.review_streak[i] = agent.review_streak
            self.review_stage[i] = agent.review_stage
            self.last[i] = month_index(agent.last_period) if agent.last_period else -1

    def index_frame(self) -> pl.DataFrame:
        """Agent id to agent number, for a join."""
        return pl.DataFrame({"agent_id": self.ids, "__agent": np.arange(len(self.ids), dtype=np.int64)})

    def gaps(self, period: str, present: Array) -> list[Gap]:
        """Agents evaluated before who have no record in ``period``."""
        month = month_index(period)
        absent = self.known & (self.last >= 0) & (self.last < month)
        absent[present] = False
        return [
            Gap(agent_id=self.ids[i], period=period, last_period=period_name(int(self.last[i])))
            for i in np.flatnonzero(absent).tolist()
        ]

    def advance(self, run: PeriodRun) -> None:
        """Write the period's new states into the book."""
        agents = run.agent[run.decided]
        new = run.new_state
        if new is None or not len(agents):
            return
        self.known[agents] = True
        self.level[agents] = new.level
        self.periods_in_level[agents] = new.periods_in_level
        self.promote_streak[agents] = new.promote_streak
        self.streak_level[agents] = new.streak_level
        self.maintain_fail_streak[agents] = new.maintain_fail_streak
        self.on_probation[agents] = new.on_probation
        self.probation_periods[agents] = new.probation_periods
        self.review_streak[agents] = run.review_streak[run.decided]
        self.review_stage[agents] = run.review_stage[run.decided]
        self.last[agents] = month_index(run.period)
        for i in agents.tolist():
            self.bad_level.pop(i, None)

    def state(self, periods: Sequence[str]) -> State:
        """The carried state after the periods evaluated."""
        ids = self.ruleset.level_ids
        agents = []
        for i in np.flatnonzero(self.known).tolist():
            sl = int(self.streak_level[i])
            agents.append(
                AgentState(
                    agent_id=self.ids[i],
                    level=self.bad_level.get(i) or ids[int(self.level[i])],
                    last_period=period_name(int(self.last[i])) if self.last[i] >= 0 else None,
                    periods_in_level=int(self.periods_in_level[i]),
                    promote_streak=int(self.promote_streak[i]),
                    streak_level=ids[sl] if sl != NONE else None,
                    maintain_fail_streak=int(self.maintain_fail_streak[i]),
                    on_probation=bool(self.on_probation[i]),
                    probation_periods=int(self.probation_periods[i]),
                    review_streak=int(self.review_streak[i]),
                    review_stage=self.review_stage[i],
                )
            )
        through = max([p for p in (self.start.through, *periods) if p], default=None)
        return State(ruleset=self.ruleset.name, through=through, agents=agents)


class CheckCache:
    """Criteria compiled once per run, with a count of the rows decided exactly."""

    def __init__(self) -> None:
        self.compiled: dict[int, FastCheck] = {}
        self.values: dict[int, Callable[[Columns], tuple[Array, Array]] | None] = {}
        self.exact_rows = 0
        self.fallbacks: dict[str, str] = {}

    def check(self, expr: CompiledExpression) -> FastCheck:
        found = self.compiled.get(id(expr))
        if found is None:
            found = self.compiled[id(expr)] = compile_check(expr)
            if found.kernel is None:
                self.fallbacks[expr.where] = found.fallback or "not compiled"
        return found


class LazyRows:
    """A period's rows as the reference path's value dicts, built only for the rows asked for."""

    def __init__(self, run: PeriodRun) -> None:
        self.run = run
        self.cache: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return self.run.size

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = self.cache.get(i)
        if row is None:
            row = self.cache[i] = self.run.exact_row(i)
        return row


class PeriodRun:
    """One period's records on their way through the stages, as columns."""

    def __init__(
        self, ruleset: CompiledRuleset, period: str, rows: pl.DataFrame, book: Book, checks: CheckCache, source: str
    ) -> None:
        self.ruleset = ruleset
        self.model = ruleset.model
        self.period = period
        self.rows = rows
        self.book = book
        self.checks = checks
        self.source = source
        self.size = rows.height
        self.agent: npt.NDArray[np.int64] = rows["__agent"].to_numpy()
        self.errors: list[str | None] = [None] * self.size
        self.alive = np.ones(self.size, dtype=bool)
        self.decided = np.zeros(self.size, dtype=bool)
        self.lazy = LazyRows(self)
        self.exact: dict[str, list[Any]] = {}  # exact values the later stages add (score, grade, coefficient)
        self.new_state: Prior | None = None
        self.review_streak = np.zeros(self.size, dtype=np.int64)
        self.review_stage = np.full(self.size, None, dtype=object)

    # --- the stages -------------------------------------------------------------------------

    def decide(self) -> pl.DataFrame:
        """Run every stage; the decided rows' CSV cells."""
        self.prepare()
        self.derive()
        self.drop()
        self.score()
        self.drop()
        self.grade()
        self.drop()
        levels = self.levels()
        review = self.review()
        self.drop()
        pay = self.pay(levels)
        self.drop()
        return self.cells(levels, review, pay)

    def prepare(self) -> None:
        """The prior state of each row: carried, new, or rejected (``engine._prepare``)."""
        book, model, ids = self.book, self.model, self.ruleset.level_ids
        a = self.agent
        known = book.known[a]
        month = month_index(self.period)
        last = book.last[a]
        for i in np.flatnonzero(known & (book.level[a] == INVALID)).tolist():
            self.fail(
                i,
                f"level: the carried level {book.bad_level[int(a[i])]} is not a level of {self.ruleset.name} {self.ruleset.version}",
            )
        for i in np.flatnonzero(known & (last >= 0) & (last >= month) & (book.level[a] != INVALID)).tolist():
            self.fail(
                i, f"period: {self.period} is not after {period_name(int(last[i]))}, already evaluated for this agent"
            )
        probation = model.probation
        on_probation = np.zeros(self.size, dtype=bool)
        if probation is not None:
            column = self.rows[probation.attribute].to_numpy()
            on_probation = column == probation.value
        stated = self.rows["level"].to_numpy()
        first = ids[0]
        start_level = (
            np.array(
                [ids.index(x) for x in np.where(stated is None, first, stated).tolist()],
                dtype=np.int64,
            )
            if self.size
            else np.zeros(0, dtype=np.int64)
        )
        if probation is not None:
            start_level = np.where(on_probation, ids.index(probation.level or first), start_level)
        reset = known & (last >= 0) & (month - last - 1 > 0) & (model.missing_period == "reset")
        keep = known & ~reset

        def carried(values: Array, fresh: Any) -> Array:
            return np.where(keep, values[a], fresh)

        self.prior = Prior(
            level=np.where(known, np.maximum(book.level[a], 0), start_level),
            periods_in_level=np.where(known, book.periods_in_level[a], 0),
            promote_streak=carried(book.promote_streak, 0),
            streak_level=carried(book.streak_level, NONE),
            maintain_fail_streak=carried(book.maintain_fail_streak, 0),
            on_probation=np.where(known, book.on_probation[a], on_probation),
            probation_periods=np.where(known, book.probation_periods[a], 0),
        )
        self.prior_review_streak = carried(book.review_streak, 0)
        self.prior_review_stage = np.where(keep, book.review_stage[a], None)
        self.alive &= np.array([e is None for e in self.errors], dtype=bool)
        self.columns = self._columns()

    def _columns(self) -> Columns:
        cols = Columns(self.lazy)  # type: ignore[arg-type]
        model = self.model
        level_ids = np.array(self.ruleset.level_ids, dtype=object)
        for name, _attr in model.attributes.items():
            cols._cache[name] = self.rows[name].to_numpy()
        for name in model.metrics:
            cols._cache[name] = self.rows[name].to_numpy()
            cols.faithful[name] = self._faithful(name)
        cols._cache["level"] = level_ids[self.prior.level]
        cols._cache["level_rank"] = (self.prior.level + 1).astype(np.float64)
        cols._cache["periods_in_level"] = self.prior.periods_in_level.astype(np.float64)
        cols._cache["on_probation"] = self.prior.on_probation.copy()
        cols._cache["probation_periods"] = self.prior.probation_periods.astype(np.float64)
        for name in ("level_rank", "periods_in_level", "probation_periods"):
            cols.faithful[name] = True
        return cols

    def _faithful(self, metric: str) -> bool:
        text = self.rows[metric + TEXT]
        return bool(text.str.len_chars().max() or 0) <= 15 and not text.str.contains("[eE]").any()

    def derive(self) -> None:
        """Derived values on columns; rows the floats cannot vouch for are evaluated exactly."""
        for name in self.ruleset.derived_order:
            expr = self.ruleset.need(f"derived.{name}.expr")
            live = self.alive & self._ok()
            kernel = self.checks.values.get(id(expr), ...)
            if kernel is ...:
                kernel = self.checks.values[id(expr)] = compile_values(expr)
            uncertain = live
            values: Array
            if kernel is not None:
                with np.errstate(all="ignore"):
                    values, flagged = kernel(self.columns)
                values = values.copy()
                uncertain = live & flagged
            else:
                self.checks.fallbacks[expr.where] = "not compiled to columns"
                values = np.zeros(self.size, dtype=object)
            for i in np.flatnonzero(uncertain).tolist():
                try:
                    exact = expr.evaluate(self.lazy[i])
                except EvaluationError as error:
                    self.fail(i, str(error))
                    continue
                values[i] = float(exact) if isinstance(exact, Decimal) else exact
            if values.dtype == object and expr.result_type == "number":
                values = values.astype(np.float64)
            self.columns._cache[name] = values
            self.columns.faithful[name] = False

    def score(self) -> None:
        """The scorecard on columns (``engine._score`` and ``scorecard.compute_scores``)."""
        card = self.model.scorecard
        if card is None or not self.alive.any():
            return
        veto = self.first_hit("scorecard.vetoes", len(card.vetoes), self.alive)
        live = self.alive & self._ok()
        low = np.zeros(self.size, dtype=bool)
        if card.min_volume is not None:
            low = self._less(card.min_volume.metric, card.min_volume.at_least)
        cohort = self.cohort_numbers(card.cohort_by)
        full = float(sum((p.weight for p in card.parts if not p.rate), Decimal(0)))
        total = np.zeros(self.size, dtype=np.float64)
        metrics = self.model.metrics
        for part in card.parts:
            x = self.columns[part.metric]
            graded = live & ~(low & part.rate)
            better = metrics[part.metric].better if part.metric in metrics else "higher"
            n = _normalised(part.normalise, x, better, graded, cohort, self._exact_key(part.metric))
            weight = np.where(low, float(part.weight) / full if full else 0.0, float(part.weight))
            total += np.where(graded, n * weight * float(card.scale), 0.0)
        scale = 10**card.decimals
        scaled = total * scale
        score = np.floor(scaled + 0.5).astype(np.int64)
        fraction = scaled - np.floor(scaled)
        unsure = live & (np.abs(fraction - 0.5) < ROUNDING_MARGIN) & (veto < 0)
        for k, v in enumerate(card.vetoes):
            score[veto == k] = int(
                v.score.quantize(Decimal(1).scaleb(-card.decimals), ROUND_HALF_UP).scaleb(card.decimals)
            )
        if unsure.any():
            self._exact_scores(score, unsure, live, cohort, veto)
        self.score_scaled = score
        self.score_decimals = card.decimals
        self.columns._cache[card.name] = score / scale
        self.columns.faithful[card.name] = True
        self.exact[card.name] = [None] * self.size
        for i in np.flatnonzero(live).tolist():
            self.exact[card.name][i] = Decimal(int(score[i])).scaleb(-card.decimals)
        self.scored = live

    def _exact_scores(self, score: Array, unsure: Array, live: Array, cohort: Array, veto: Array) -> None:
        """Recompute the scores near a rounding boundary exactly, with their whole cohorts."""
        card = self.model.scorecard
        assert card is not None
        for c in np.unique(cohort[unsure]).tolist():
            members = np.flatnonzero(live & (cohort == c)).tolist()
            rows = [self.lazy[i] for i in members]
            vetoes: list[ScoreVeto | None] = [card.vetoes[veto[i]] if veto[i] >= 0 else None for i in members]
            for i, result in zip(members, compute_scores(card, self.model.metrics, rows, vetoes), strict=True):
                if unsure[i]:
                    score[i] = int(result.value.scaleb(card.decimals))
                    self.checks.exact_rows += 1

    def grade(self) -> None:
        """The first grade whose condition holds (``engine._grade``)."""
        grades = self.model.grades
        self.grade_index = np.full(self.size, -1, dtype=np.int64)
        pending = self.alive.copy()
        for i, grade in enumerate(grades):
            if not pending.any():
                break
            if grade.when is None:
                self.grade_index[pending] = i
                break
            held = self.check(f"grades[{i}].when", pending)
            ok = self._ok()
            self.grade_index[pending & ok & held] = i
            pending &= ok & ~held
        names = np.array([g.grade for g in grades] + [None], dtype=object)
        self.columns._cache["grade"] = names[self.grade_index]
        self.exact["grade"] = names[self.grade_index].tolist()

    def levels(self) -> Any:
        """Level criteria on columns, then the state machine on arrays."""
        model, alive = self.model, self.alive
        entry = [np.ones(self.size, dtype=bool)]
        for i in range(1, len(model.levels)):
            entry.append(self.check(f"levels[{i}].entry", alive))
        maintain = np.ones(self.size, dtype=bool)
        for i, level in enumerate(model.levels):
            if level.maintain is not None:
                at = alive & (self.prior.level == i) & ~self.prior.on_probation
                if at.any():
                    maintain = np.where(at, self.check(f"levels[{i}].maintain", at), maintain)
        promotion = self.first_hit("promotion.blocked_if", len(model.promotion.blocked_if), alive) >= 0
        demotion = self.first_hit("demotion.immediate_if", len(model.demotion.immediate_if), alive) >= 0
        convert = np.zeros(self.size, dtype=bool)
        if model.probation is not None:
            on = alive & self.prior.on_probation
            if on.any():
                convert = self.check("probation.convert_if", on) & on
        self.drop()
        live = self.alive
        prior = _take(self.prior, live)
        result = decide_levels(
            model,
            prior,
            [e[live] for e in entry],
            maintain[live],
            promotion[live],
            demotion[live],
            convert[live],
            int(self.period[5:7]),
        )
        self.level_rows = live.copy()
        return result

    def review(self) -> Any:
        """Bottom-ranking review of the period's live rows (``engine._review``)."""
        rule = self.model.review
        live = self.alive.copy()
        self.reviewed = live
        self.review_streak = self.prior_review_streak.copy()
        self.review_stage = self.prior_review_stage.copy()
        if rule is None or not live.any():
            return None
        exempt = self.first_hit("review.exempt", len(rule.exempt), live)
        floor = self.check("review.only_if", live) if rule.only_if is not None else np.ones(self.size, dtype=bool)
        idx = np.flatnonzero(live)
        cohort = self.cohort_numbers(rule.cohort_by)
        card = self.model.scorecard
        if card is not None and rule.rank_by == card.name:
            value = self.score_scaled
        else:
            value = self._exact_key(rule.rank_by)
            if value is None:
                value = self.columns[rule.rank_by]
        metric = self.model.metrics.get(rule.rank_by)
        better = rule.better or (
            metric.better if metric is not None and metric.better in ("higher", "lower") else "higher"
        )
        result = review_arrays(
            rule,
            better,
            cohort[idx],
            value[idx],
            np.arange(len(idx)),
            exempt[idx] >= 0,
            floor[idx],
            self.prior_review_streak[idx],
        )
        self.review_streak[idx] = result.streak
        self.review_stage[idx] = result.stage
        self.review_codes = np.array([e.code for e in rule.exempt] + [None], dtype=object)[exempt]
        self.review_labels = self.cohort_labels(rule.cohort_by)
        return result

    def pay(self, levels: Any) -> pl.DataFrame | None:
        """Each distinct pay statement computed once, exactly, and joined to its rows."""
        pay = self.model.pay
        if pay is None or not self.alive.any():
            return None
        grades = self.model.grades
        coefficient = self._coefficients()
        self.exact["coefficient"] = coefficient
        self.columns._cache["coefficient"] = np.array([float(c) if c is not None else np.nan for c in coefficient])
        self.columns.faithful["coefficient"] = all(c is None or len(str(c)) <= 15 for c in coefficient)
        live = self.alive.copy()
        keys: dict[str, Any] = {}
        applies: dict[str, Array] = {}
        for i, line in enumerate(pay.lines):
            if line.when is not None:
                applies[line.id] = self.check(f"pay.lines[{i}].when", live)
                keys[f"when:{line.id}"] = applies[line.id]
        formulas: dict[str, list[Any]] = {}
        for i, line in enumerate(pay.lines):
            if line.formula is not None:
                formulas[line.id] = self._by_distinct(self.ruleset.need(f"pay.lines[{i}].formula"), live)
                keys[f"formula:{line.id}"] = [None if v is None else str(v) for v in formulas[line.id]]
        ids = self.ruleset.level_ids
        level_rows = np.flatnonzero(self.level_rows)
        pay_level = np.zeros(self.size, dtype=np.int64)
        pay_level[level_rows] = levels.pay_level
        probation = np.zeros(self.size, dtype=bool)
        probation[level_rows] = levels.state.on_probation
        uses = _uses_coefficient(self.ruleset)
        keys["level"] = pay_level
        keys["probation"] = probation
        keys["coefficient"] = [str(c) if uses and c is not None else None for c in coefficient]
        read = _pay_reads(self.ruleset)
        for name in read:
            keys[name] = self._cells(name)
        ok = live & self._ok()
        frame = pl.DataFrame(
            {
                k: (v[ok] if isinstance(v, np.ndarray) else [x for x, t in zip(v, ok, strict=True) if t])
                for k, v in keys.items()
            },
            strict=False,
        )
        distinct = frame.unique(maintain_order=True)
        line_ids = (
            [ln.id for ln in pay.lines]
            + [d.id for d in pay.deductions]
            + ["probation_floor", "minimum_wage", "rounding"]
        )
        out: dict[str, list[Any]] = {"__total": [], "__error": [], **{f"pay_{i}": [] for i in line_ids}}
        for key in distinct.iter_rows(named=True):
            values = {name: _exact_cell(self.model, name, key[name]) for name in read}
            try:
                statement = compute_pay(
                    pay,
                    self.model.currency,
                    PayInputs(
                        level=ids[key["level"]],
                        values=values,
                        coefficient=Decimal(key["coefficient"]) if key["coefficient"] is not None else None,
                        coefficient_basis="",
                        on_probation=key["probation"],
                        line_applies={k[5:]: key[k] for k in key if k.startswith("when:")},
                        formulas={k[8:]: Decimal(key[k]) for k in key if k.startswith("formula:")},
                    ),
                )
            except ValueError as error:
                out["__total"].append(None)
                out["__error"].append(f"pay: {error}")
                for i in line_ids:
                    out[f"pay_{i}"].append(None)
                continue
            amounts = {ln.id: str(ln.amount) for ln in statement.lines}
            out["__total"].append(str(statement.total))
            out["__error"].append(None)
            for i in line_ids:
                out[f"pay_{i}"].append(amounts.get(i))
        table = pl.concat([distinct, pl.DataFrame(out, schema=dict.fromkeys(out, pl.String))], how="horizontal")
        joined = frame.join(table, on=list(frame.columns), how="left", nulls_equal=True, maintain_order="left")
        rows = np.flatnonzero(ok)
        for j, message in zip(rows.tolist(), joined["__error"].to_list(), strict=True):
            if message is not None:
                self.fail(j, message)
        self.pay_rows = ok
        del grades
        return joined.drop(frame.columns)

    # --- output ------------------------------------------------------------------------------

    def cells(self, levels: Any, review: Any, pay: pl.DataFrame | None) -> pl.DataFrame:
        """The decided rows as the decisions CSV's cells (text, or null for an empty cell)."""
        model, ruleset = self.model, self.ruleset
        final = self.alive
        self.decided = final
        level_pos = _positions(self.level_rows, final)
        ids = np.array(ruleset.level_ids, dtype=object)
        self.new_state = _take(levels.state, level_pos)
        cells: dict[str, Any] = {
            "agent_id": self.rows["agent_id"].to_numpy()[final],
            "period": np.full(int(final.sum()), self.period, dtype=object),
        }
        for name, attr in model.attributes.items():
            column = self.rows[name].to_numpy()[final]
            cells[name] = np.where(column, "true", "false") if attr.type == "boolean" else column
        cells.update(
            level_before=ids[self.prior.level[final]],
            level=ids[self.new_state.level],
            qualified_level=ids[levels.qualified[level_pos]],
            action=levels.action[level_pos],
            reason=levels.reason[level_pos],
            on_probation=np.where(self.new_state.on_probation, "true", "false"),
        )
        card = model.scorecard
        if card is not None:
            cells["score"] = _format(self.score_scaled[final], card.decimals)
        grades = np.array([g.grade for g in model.grades] + [None], dtype=object)
        cells["grade"] = grades[self.grade_index[final]]
        if model.pay is not None:
            cells["coefficient"] = _format_decimals([self.exact["coefficient"][i] for i in np.flatnonzero(final)])
        if review is not None:
            pos = _positions(self.reviewed, final)
            cells.update(
                review_cohort=self.review_labels[final],
                review_rank=np.where(review.ranked[pos], review.rank[pos].astype(str), None),
                review_cohort_size=review.cohort_size[pos].astype(str),
                review_percentile=np.where(review.ranked[pos], _format(review.percentile_cents[pos], 2), None),
                review_flagged=np.where(review.flagged[pos], "true", "false"),
                review_stage=review.stage[pos],
                review_exempt=self.review_codes[final],
            )
        frame = pl.DataFrame([_text_series(k, v) for k, v in cells.items()])
        if pay is not None:
            kept = pay.filter(pl.Series(_positions_mask(self.pay_rows, final)))
            frame = pl.concat([frame, kept.drop("__error").rename({"__total": "pay_total"})], how="horizontal")
            frame = frame.with_columns(
                pl.Series("pay_level", ids[levels.pay_level[level_pos]], dtype=pl.String),
                pl.lit(model.currency).alias("currency"),
            )
        frame = frame.with_columns(
            pl.lit(ruleset.version).alias("ruleset_version"), pl.lit(ruleset.sha256).alias("ruleset_sha256")
        )
        return frame.select(
            [pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in decision_columns(ruleset)]
        )

    def rejections(self) -> list[Rejection]:
        """The period's records that failed, each with the reference path's reason."""
        row = self.rows[ROW].to_list()
        agent = self.rows["agent_id"].to_list()
        return [
            Rejection(source=self.source, row=row[i], agent_id=agent[i], period=self.period, reasons=[error])
            for i, error in enumerate(self.errors)
            if error is not None
        ]

    # --- helpers -----------------------------------------------------------------------------

    def fail(self, i: int, message: str) -> None:
        """Mark row ``i`` failed; the first reason stands, as on the reference path."""
        if self.errors[i] is None:
            self.errors[i] = message

    def _ok(self) -> Array:
        return np.array([e is None for e in self.errors], dtype=bool)

    def drop(self) -> None:
        """Failed rows leave the period here, where the reference path drops them."""
        self.alive &= self._ok()

    def check(self, path: str, mask: Array) -> Array:
        """A criterion over the period: the kernel's answers, exact answers where it is unsure."""
        expr = self.ruleset.need(path)
        compiled = self.checks.check(expr)
        todo = mask
        result = np.zeros(self.size, dtype=bool)
        if compiled.kernel is not None:
            try:
                with np.errstate(all="ignore"):
                    values, uncertain = compiled.kernel(self.columns)
                result = values.astype(bool)
                todo = mask & uncertain
            except Unsupported as why:
                self.checks.fallbacks[expr.where] = str(why)
                compiled.kernel = None
        for i in np.flatnonzero(todo).tolist():
            self.checks.exact_rows += 1
            try:
                result[i] = bool(expr.evaluate(self.lazy[i]))
            except EvaluationError as error:
                self.fail(i, str(error))
                result[i] = False
        return result

    def first_hit(self, prefix: str, count: int, mask: Array) -> Array:
        """Per row, the first of ``prefix[i].when`` that held, or -1."""
        first = np.full(self.size, -1, dtype=np.int64)
        for i in range(count):
            held = self.check(f"{prefix}[{i}].when", mask)
            first[(first < 0) & held & mask] = i
        return first

    def cohort_labels(self, keys: Sequence[str]) -> Array:
        """Each row's cohort name, as ``scorecard.cohort_label`` writes it."""
        if not keys:
            return np.full(self.size, "all", dtype=object)
        parts = []
        for k in keys:
            text = pl.col(k)
            if self.rows.schema[k] == pl.Boolean:  # str(True), as the reference writes it
                text = pl.when(text).then(pl.lit("True")).otherwise(pl.lit("False"))
            parts.append(pl.concat_str([pl.lit(f"{k}="), text.cast(pl.String)]))
        labels: Array = self.rows.select(pl.concat_str(parts, separator=", ")).to_series().to_numpy()
        return labels

    def cohort_numbers(self, keys: Sequence[str]) -> npt.NDArray[np.int64]:
        """Cohort labels as numbers, for grouping."""
        _, numbers = np.unique(self.cohort_labels(keys).astype(str), return_inverse=True)
        return numbers.astype(np.int64)

    def _less(self, metric: str, bound: Decimal) -> Array:
        key = self._exact_key(metric)
        if key is None:
            result: Array = self.columns[metric] < float(bound)
            return result
        texts = self.rows[metric + TEXT].to_list()
        return np.array([t is not None and Decimal(t) < bound for t in texts], dtype=bool)

    def _exact_key(self, metric: str) -> Array | None:
        """None when the metric's float64 column is exact; else exact ranks of its decimals."""
        if metric not in self.model.metrics or self.columns.faithful.get(metric, False):
            return None
        values = [Decimal(t) for t in self.rows[metric + TEXT].to_list()]
        order = {v: k for k, v in enumerate(sorted(set(values)))}
        return np.array([order[v] for v in values], dtype=np.float64)

    def _cells(self, name: str) -> list[Any]:
        if name in self.model.metrics:
            return self.rows[name + TEXT].to_list()
        values: list[Any] = self.rows[name].to_list()
        return values

    def _coefficients(self) -> list[Decimal | None]:
        pay = self.model.pay
        assert pay is not None
        grades: list[Grade] = self.model.grades
        source = pay.coefficient
        if source.source == "grade":
            by_grade = [g.coefficient for g in grades] + [None]
            coefs = [by_grade[g] for g in self.grade_index.tolist()]
            return [c if c is not None else Decimal(1) for c in coefs]
        of = source.band.of if source.band is not None else source.curve.of if source.curve is not None else ""
        found: dict[Any, Decimal] = {}
        out: list[Decimal | None] = []
        for i in range(self.size):
            if not self.alive[i]:
                out.append(None)
                continue
            value = self.lazy[i][of]
            if value not in found:
                coefficient, _ = coefficient_for(pay, None, {of: value})
                found[value] = coefficient if coefficient is not None else Decimal(1)
            out.append(found[value])
        return out

    def _by_distinct(self, expr: CompiledExpression, live: Array) -> list[Any]:
        """``expr`` evaluated exactly once per distinct combination of the symbols it reads."""
        names = sorted(expr.symbols)
        plain = all(n in self.model.metrics or n in self.model.attributes for n in names)
        memo: dict[tuple[Any, ...], Any] = {}
        columns = [self._cells(n) for n in names] if plain else []
        out: list[Any] = [None] * self.size
        for i in np.flatnonzero(live).tolist():
            if not plain:
                source = self.lazy[i]
                key: tuple[Any, ...] = (i,)
            else:
                key = tuple(c[i] for c in columns)
                source = None
            if key in memo:
                out[i] = memo[key]
                continue
            row = (
                source
                if source is not None
                else {n: _exact_cell(self.model, n, v) for n, v in zip(names, key, strict=True)}
            )
            try:
                memo[key] = out[i] = expr.evaluate(row)
            except EvaluationError as error:
                self.fail(i, str(error))
                memo[key] = None
                if plain:
                    del memo[key]  # each failing row is reported on its own
        return out

    def exact_row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as the reference path's value dict, exact decimals and all."""
        model, rows = self.model, self.rows
        values: dict[str, Any] = {}
        for name in model.metrics:
            values[name] = Decimal(rows[name + TEXT][i])
        for name in model.attributes:
            values[name] = rows[name][i]
        level = int(self.prior.level[i])
        values.update(
            level=self.ruleset.level_ids[level],
            level_rank=Decimal(level + 1),
            periods_in_level=Decimal(int(self.prior.periods_in_level[i])),
            on_probation=bool(self.prior.on_probation[i]),
            probation_periods=Decimal(int(self.prior.probation_periods[i])),
        )
        for name in self.ruleset.derived_order:
            try:
                values[name] = self.ruleset.need(f"derived.{name}.expr").evaluate(values)
            except EvaluationError:
                break  # the row fails at this derived value; nothing later reads it
        for name, column in self.exact.items():
            if column[i] is not None:
                values[name] = column[i]
        return values


def _normalised(norm: Any, x: Array, better: str, graded: Array, cohort: Array, exact_key: Array | None) -> Array:
    from tierpay.model import BandNorm, LinearNorm, PercentileNorm, RatioNorm

    with np.errstate(all="ignore"):
        if isinstance(norm, LinearNorm):
            worst, best = float(norm.worst), float(norm.best)
            return np.clip((x - worst) / (best - worst), 0.0, 1.0)
        if isinstance(norm, RatioNorm):
            cap, target = float(norm.cap), float(norm.target)
            if better == "lower":
                return np.where(x <= 0, cap, np.clip(target / x, 0.0, cap))
            return np.clip(x / target, 0.0, cap)
        if isinstance(norm, BandNorm):
            low, high = float(norm.low), float(norm.high)
            below = np.clip((x - float(norm.worst_low)) / (low - float(norm.worst_low)), 0.0, 1.0)
            above = np.clip((float(norm.worst_high) - x) / (float(norm.worst_high) - high), 0.0, 1.0)
            return np.where((x >= low) & (x <= high), 1.0, np.where(x < low, below, above))
    assert isinstance(norm, PercentileNorm)
    return _percentile(x if exact_key is None else exact_key, better, graded, cohort)


def _percentile(x: Array, better: str, graded: Array, cohort: Array) -> Array:
    """Share of the cohort's others each value beats, ties counting half (``scorecard.percentile``)."""
    out = np.zeros(len(x), dtype=np.float64)
    idx = np.flatnonzero(graded)
    if not len(idx):
        return out
    frame = pl.DataFrame({"c": cohort[idx], "v": x[idx]})
    counted = frame.select(
        below=pl.col("v").rank("min").over("c") - 1,
        equal=pl.len().over(["c", "v"]),
        size=pl.len().over("c"),
    )
    below = counted["below"].to_numpy().astype(np.float64)
    tied = counted["equal"].to_numpy().astype(np.float64) - 1
    size = counted["size"].to_numpy().astype(np.float64)
    worse = below if better != "lower" else size - below - tied - 1
    with np.errstate(all="ignore"):
        share = np.where(size - 1 <= 0, 1.0, (worse + 0.5 * tied) / (size - 1))
    out[idx] = share
    return out


def _text_series(name: str, values: Any) -> pl.Series:
    """A column of CSV cells; numpy's object arrays go through lists, which polars reads as text."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    return pl.Series(name, values, dtype=pl.String)


def _take(prior: Prior, where: Array) -> Prior:
    return Prior(**{k: v[where] for k, v in vars(prior).items()})


def _positions(subset: Array, final: Array) -> Array:
    """Indexes into arrays over ``subset`` rows of the rows in ``final`` (a subset of ``subset``)."""
    return np.flatnonzero(final[subset])


def _positions_mask(subset: Array, final: Array) -> Array:
    return final[subset]


def _format(scaled: Array, places: int) -> Array:
    """Scaled integers as ``pay.number`` writes their decimals (no trailing zeros)."""
    unique, inverse = np.unique(scaled, return_inverse=True)
    texts = np.array([number(Decimal(int(u)).scaleb(-places)) for u in unique.tolist()], dtype=object)
    return texts[inverse] if len(scaled) else np.zeros(0, dtype=object)


def _format_decimals(values: list[Decimal | None]) -> list[str | None]:
    memo: dict[Decimal, str] = {}
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        text = memo.get(v)
        if text is None:
            text = memo[v] = number(v)
        out.append(text)
    return out


def _uses_coefficient(ruleset: CompiledRuleset) -> bool:
    pay = ruleset.model.pay
    return pay is not None and (
        pay.coefficient.source != "grade" or any(g.coefficient is not None for g in ruleset.model.grades)
    )


def _pay_reads(ruleset: CompiledRuleset) -> list[str]:
    """The record values ``pay.compute_pay`` reads, besides what the engine hands it."""
    pay = ruleset.model.pay
    assert pay is not None
    names: list[str] = []
    if pay.proration is not None:
        names += [pay.proration.worked, pay.proration.scheduled]
    names += [ln.by for ln in pay.lines if ln.by]
    floors = pay.floors
    if floors is not None:
        if floors.contract_wage is not None:
            names.append(floors.contract_wage)
        if floors.minimum_wage is not None:
            names.append(floors.minimum_wage.by)
    names += [d.metric for d in pay.deductions]
    return list(dict.fromkeys(names))


def _exact_cell(model: Any, name: str, cell: Any) -> Any:
    """A key cell back as the reference value: metrics as exact decimals, attributes as they are."""
    if name in model.metrics:
        return Decimal(cell)
    return cell
