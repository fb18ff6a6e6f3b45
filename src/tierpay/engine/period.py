"""One period on columns: the stages of :mod:`tierpay.engine.run`, asked of every row at once.

``PeriodRun`` takes a period's rows (a polars frame from :mod:`tierpay.io.frames`, sorted by
agent) and the carried state (``Book``), and runs the reference path's stages in its order:
prepare, derived values, score, grade, level criteria and the state machine, review, pay.
A row that fails is dropped where the reference path drops it, with its reason.

Exactness, stage by stage:

- Criteria: float64 kernels; rows the kernel is unsure of are evaluated exactly
  (``PeriodRun.check``).
- Score: summed in float64; a row within 1e-6 of a rounding boundary (scores land exactly on
  a half-cent often: one-decimal KPIs and round weights) is recomputed in ``Decimal`` with
  the reference's operations, from the exact metric and the exact rank counts.
- Pay and formulas: computed once per distinct input by the reference functions, joined
  back to the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.engine.kernels import Columns, FastCheck, Unsupported, compile_check, compile_values
from tierpay.engine.ladder import ACTIONS, NONE, REASONS, LevelArrays, Prior, ReviewArrays, decide_levels, review_arrays
from tierpay.engine.pay import PayInputs, coefficient_for, compute_pay, number, uses_coefficient
from tierpay.engine.records import Rejection
from tierpay.engine.results import Gap
from tierpay.engine.run import month_index, period_name
from tierpay.engine.scorecard import CONTEXT, absolute, percentile_share
from tierpay.engine.state import AgentState, State
from tierpay.errors import EvaluationError
from tierpay.io.frames import ROW, TEXT
from tierpay.outputs.report import decision_columns
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.expressions import CompiledExpression
from tierpay.ruleset.model import BandNorm, LinearNorm, PercentileNorm, RatioNorm, Scorecard

Array = npt.NDArray[Any]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
ROUNDING_MARGIN = 1e-6
INVALID = -2  # a carried level the ruleset does not have


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
        ids = pl.Series("agent_id", self.ids, dtype=pl.String)
        return pl.DataFrame([ids, pl.Series("__agent", np.arange(len(self.ids), dtype=np.int64))])

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
        self.agent: Ints = rows["__agent"].to_numpy()
        self.errors: dict[int, str] = {}
        self.failed = np.zeros(self.size, dtype=bool)
        self.alive = np.ones(self.size, dtype=bool)
        self.decided = np.zeros(self.size, dtype=bool)
        self.cache: dict[int, dict[str, Any]] = {}
        self.score_scaled: Ints | None = None
        self.grade_index = np.full(self.size, -1, dtype=np.int64)
        self.coefficient: tuple[Ints, list[Decimal]] | None = None  # code per row, value per code
        self.new_state: Prior | None = None

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
            level = book.bad_level[int(a[i])]
            self.fail(
                i, f"level: the carried level {level} is not a level of {self.ruleset.name} {self.ruleset.version}"
            )
        for i in np.flatnonzero(known & (last >= month) & (book.level[a] != INVALID)).tolist():
            after = period_name(int(last[i]))
            self.fail(i, f"period: {self.period} is not after {after}, already evaluated for this agent")
        number_of = {level: k for k, level in enumerate(ids)}
        start = self.rows["level"].replace_strict(number_of, default=0, return_dtype=pl.Int64).fill_null(0)
        start_level = start.to_numpy().astype(np.int64)
        on_probation = np.zeros(self.size, dtype=bool)
        probation = model.probation
        if probation is not None:
            on_probation = (self.rows[probation.attribute] == probation.value).fill_null(False).to_numpy()
            start_level = np.where(on_probation, ids.index(probation.level or ids[0]), start_level)
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
        self.review_streak = carried(book.review_streak, 0)
        self.review_stage = np.where(keep, book.review_stage[a], np.full(self.size, None, dtype=object))
        self.drop()
        self.columns = self._columns()

    def _columns(self) -> Columns:
        cols = Columns(_LazyRows(self))  # type: ignore[arg-type]
        model = self.model
        for name in model.attributes:
            cols.put(name, self.rows[name].to_numpy())
        for name in model.metrics:
            text = self.rows[name + TEXT].cast(pl.String)
            longest = int(text.str.len_chars().max() or 0)  # type: ignore[arg-type]
            faithful = longest <= 15 and not text.str.contains("[eE]").any()
            cols.put(name, self.rows[name].to_numpy(), faithful)
        level_ids = np.array(self.ruleset.level_ids, dtype=object)
        cols.put("level", level_ids[self.prior.level])
        cols.put("level_rank", (self.prior.level + 1).astype(np.float64), faithful=True)
        cols.put("periods_in_level", self.prior.periods_in_level.astype(np.float64), faithful=True)
        cols.put("on_probation", self.prior.on_probation.copy())
        cols.put("probation_periods", self.prior.probation_periods.astype(np.float64), faithful=True)
        return cols

    def derive(self) -> None:
        """Derived values on columns; rows the floats cannot vouch for are evaluated exactly."""
        for name in self.ruleset.derived_order:
            expr = self.ruleset.need(f"derived.{name}.expr")
            live = self.alive & ~self.failed
            if id(expr) not in self.checks.values:
                self.checks.values[id(expr)] = compile_values(expr)
            kernel = self.checks.values[id(expr)]
            uncertain = live
            values: Array = np.zeros(self.size, dtype=object)
            if kernel is not None:
                with np.errstate(all="ignore"):
                    computed, flagged = kernel(self.columns)
                values = computed.copy()
                uncertain = live & flagged
            else:
                self.checks.fallbacks[expr.where] = "not compiled to columns"
            for i in np.flatnonzero(uncertain).tolist():
                self.checks.exact_rows += 1
                try:
                    exact = expr.evaluate(self.exact_row(i))
                except EvaluationError as error:
                    self.fail(i, str(error))
                    continue
                values[i] = float(exact) if isinstance(exact, Decimal) else exact
            if values.dtype == object and expr.result_type == "number":
                values = values.astype(np.float64)
            self.columns.put(name, values)
            self.cache.clear()  # exact rows built before now lack this value

    def score(self) -> None:
        """The scorecard on columns (``engine._score`` and ``scorecard.compute_scores``)."""
        card = self.model.scorecard
        if card is None or not self.alive.any():
            return
        veto = self.first_hit("scorecard.vetoes", len(card.vetoes), self.alive)
        live = self.alive & ~self.failed
        low = np.zeros(self.size, dtype=bool)
        if card.min_volume is not None:
            low = self._less(card.min_volume.metric, card.min_volume.at_least)
        cohort = self.cohort_numbers(card.cohort_by)
        full = float(sum((p.weight for p in card.parts if not p.rate), Decimal(0)))
        total = np.zeros(self.size, dtype=np.float64)
        counts: dict[int, tuple[Ints, Ints, Ints]] = {}
        for k, part in enumerate(card.parts):
            graded = live & ~(low & part.rate)
            metric = self.model.metrics[part.metric]
            norm = part.normalise
            if isinstance(norm, PercentileNorm):
                key = self._exact_key(part.metric)
                n, counts[k] = _percentile(key, metric.better, graded, cohort)
            else:
                n = _normalised(norm, self.columns[part.metric], metric.better)
            weight = np.where(low, float(part.weight) / full if full else 0.0, float(part.weight))
            total += np.where(graded, n * weight * float(card.scale), 0.0)
        scaled = total * 10**card.decimals
        score = np.floor(scaled + 0.5).astype(np.int64)
        unsure = live & (np.abs(scaled - np.floor(scaled) - 0.5) < ROUNDING_MARGIN) & (veto < 0)
        for i in np.flatnonzero(unsure).tolist():
            score[i] = self._exact_score(card, i, bool(low[i]), counts)
            self.checks.exact_rows += 1
        for k, v in enumerate(card.vetoes):
            score[veto == k] = _scaled(
                v.score.quantize(Decimal(1).scaleb(-card.decimals), ROUND_HALF_UP), card.decimals
            )
        self.score_scaled = score
        self.columns.put(card.name, score / 10**card.decimals, faithful=True)
        self.cache.clear()  # exact rows built before now lack the score

    def _exact_score(self, card: Scorecard, i: int, low: bool, counts: dict[int, tuple[Ints, Ints, Ints]]) -> int:
        """Row ``i``'s score with the reference's decimal operations, in the reference's order."""
        row = self.exact_row(i)
        with localcontext(CONTEXT):
            full = sum((p.weight for p in card.parts if not p.rate), Decimal(0))
            total = Decimal(0)
            for k, part in enumerate(card.parts):
                if part.rate and low:
                    continue
                value = row[part.metric]
                weight = part.weight / full if low else part.weight
                n = absolute(part.normalise, value, self.model.metrics[part.metric].better)
                if n is None:  # a percentile: its exact counts were kept
                    n = percentile_share(*(int(c[i]) for c in counts[k]))
                total += n * weight * card.scale
            return _scaled(total.quantize(Decimal(1).scaleb(-card.decimals), rounding=ROUND_HALF_UP), card.decimals)

    def grade(self) -> None:
        """The first grade whose condition holds (``engine._grade``)."""
        grades = self.model.grades
        pending = self.alive.copy()
        for i, grade in enumerate(grades):
            if not pending.any():
                break
            if grade.when is None:
                self.grade_index[pending] = i
                break
            held = self.check(f"grades[{i}].when", pending)
            self.grade_index[pending & ~self.failed & held] = i
            pending &= ~self.failed & ~held
        names = np.array([g.grade for g in grades] + [None], dtype=object)
        self.columns.put("grade", names[self.grade_index])
        self.cache.clear()  # exact rows built before now lack the grade

    def levels(self) -> LevelArrays:
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
        self.level_rows = live.copy()
        return decide_levels(
            model,
            _take(self.prior, live),
            [e[live] for e in entry],
            maintain[live],
            promotion[live],
            demotion[live],
            convert[live],
            int(self.period[5:7]),
        )

    def review(self) -> ReviewArrays | None:
        """Bottom-ranking review of the period's live rows (``engine._review``)."""
        rule = self.model.review
        live = self.alive.copy()
        self.reviewed = live
        if rule is None or not live.any():
            return None
        exempt = self.first_hit("review.exempt", len(rule.exempt), live)
        floor = self.check("review.only_if", live) if rule.only_if is not None else np.ones(self.size, dtype=bool)
        idx = np.flatnonzero(live)
        labels, cohort = self.cohorts(rule.cohort_by)
        card = self.model.scorecard
        if card is not None and rule.rank_by == card.name and self.score_scaled is not None:
            value: Array = self.score_scaled
        else:
            value = self._exact_key(rule.rank_by)
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
            self.review_streak[idx],
        )
        self.review_streak[idx] = result.streak
        self.review_stage[idx] = result.stage
        self.review_exempt = exempt
        self.review_labels = labels
        return result

    def pay(self, levels: LevelArrays) -> pl.DataFrame | None:
        """Each distinct pay statement computed once, exactly, and joined to its rows."""
        pay = self.model.pay
        if pay is None or not self.alive.any():
            return None
        self.coefficient = codes, table = self._coefficients()
        values = np.array([float(c) for c in table])
        faithful = all(len(str(c)) <= 15 and "E" not in str(c) for c in table)
        self.columns.put("coefficient", values[codes], faithful)
        self.cache.clear()
        live = self.alive.copy()
        keys: dict[str, Any] = {}
        for i, line in enumerate(pay.lines):
            if line.when is not None:
                keys[f"when:{line.id}"] = self.check(f"pay.lines[{i}].when", live)
        formulas: dict[str, list[Decimal | None]] = {}
        for i, line in enumerate(pay.lines):
            if line.formula is not None:
                keys[f"formula:{line.id}"], formulas[line.id] = self._by_distinct(
                    self.ruleset.need(f"pay.lines[{i}].formula"), live
                )
        pay_level = np.zeros(self.size, dtype=np.int64)
        pay_level[self.level_rows] = levels.pay_level
        probation = np.zeros(self.size, dtype=bool)
        probation[self.level_rows] = levels.state.on_probation
        keys["level"] = pay_level
        keys["probation"] = probation
        keys["coefficient"] = codes if uses_coefficient(pay, self.model.grades) else np.full(self.size, -1)
        read = pay_reads(self.ruleset)
        ok = live & ~self.failed
        mask = pl.Series(ok)
        frame = pl.concat(
            [
                self.rows.select([pl.col(n + TEXT if n in self.model.metrics else n).alias(n) for n in read]),
                pl.DataFrame(keys),
            ],
            how="horizontal",
        ).filter(mask)
        distinct = frame.unique(maintain_order=True)
        ids = self.ruleset.level_ids
        line_ids = [ln.id for ln in pay.lines] + [d.id for d in pay.deductions]
        line_ids += ["probation_floor", "minimum_wage", "rounding"]
        out: dict[str, list[str | None]] = {"__total": [], "__error": [], **{f"pay_{i}": [] for i in line_ids}}
        for key in distinct.iter_rows(named=True):
            coefficient = table[key["coefficient"]] if key["coefficient"] >= 0 else None
            try:
                statement = compute_pay(
                    pay,
                    self.model.currency,
                    PayInputs(
                        level=ids[key["level"]],
                        values={n: Decimal(key[n]) if n in self.model.metrics else key[n] for n in read},
                        coefficient=coefficient,
                        coefficient_basis="",
                        on_probation=key["probation"],
                        line_applies={k[5:]: key[k] for k in key if k.startswith("when:")},
                        formulas={k[8:]: formulas[k[8:]][key[k]] for k in key if k.startswith("formula:")},
                    ),
                )
            except ValueError as error:
                out["__total"].append(None)
                out["__error"].append(f"pay: {error}")
                for line_id in line_ids:
                    out[f"pay_{line_id}"].append(None)
                continue
            amounts = {ln.id: str(ln.amount) for ln in statement.lines}
            out["__total"].append(str(statement.total))
            out["__error"].append(None)
            for line_id in line_ids:
                out[f"pay_{line_id}"].append(amounts.get(line_id))
        table_frame = pl.concat([distinct, pl.DataFrame(out, schema=dict.fromkeys(out, pl.String))], how="horizontal")
        joined = frame.join(table_frame, on=frame.columns, how="left", nulls_equal=True, maintain_order="left")
        errors = joined["__error"]
        if errors.null_count() < len(errors):
            for j, message in zip(np.flatnonzero(ok).tolist(), errors.to_list(), strict=True):
                if message is not None:
                    self.fail(j, message)
        self.pay_rows = ok
        return joined.drop([*frame.columns, "__error"])

    # --- output ------------------------------------------------------------------------------

    def cells(self, levels: LevelArrays, review: ReviewArrays | None, pay: pl.DataFrame | None) -> pl.DataFrame:
        """The decided rows as the decisions CSV's cells (text, or null for an empty cell)."""
        model, ruleset = self.model, self.ruleset
        final = self.alive
        self.decided = final
        at = np.flatnonzero(final[self.level_rows])
        self.new_state = _take(levels.state, at)
        level_ids = ruleset.level_ids
        picked = self.rows.filter(pl.Series(final))
        columns: list[pl.Series | pl.Expr] = [pl.col("agent_id"), pl.lit(self.period).alias("period")]
        for name, attr in model.attributes.items():
            column = pl.col(name)
            if attr.type == "boolean":
                column = pl.when(column).then(pl.lit("true")).otherwise(pl.lit("false")).alias(name)
            columns.append(column)
        out = picked.select(columns)
        cells = [
            _gather("level_before", level_ids, self.prior.level[final]),
            _gather("level", level_ids, self.new_state.level),
            _gather("qualified_level", level_ids, levels.qualified[at]),
            _gather("action", ACTIONS, levels.action[at]),
            _gather("reason", REASONS, levels.reason[at]),
            _gather("on_probation", ["false", "true"], self.new_state.on_probation.astype(np.int64)),
        ]
        card = model.scorecard
        if card is not None and self.score_scaled is not None:
            cells.append(_numbers("score", self.score_scaled[final], card.decimals))
        if model.grades:
            cells.append(_gather("grade", [g.grade for g in model.grades] + [None], self.grade_index[final]))
        if self.coefficient is not None:
            codes, table = self.coefficient
            cells.append(_gather("coefficient", [number(c) for c in table], codes[final]))
        rule = model.review
        if review is not None and rule is not None:
            pos = np.flatnonzero(final[self.reviewed])
            ranked = review.ranked[pos]
            cells += [
                pl.Series("review_cohort", self.review_labels).filter(pl.Series(final)),
                _masked("review_rank", pl.Series(review.rank[pos]).cast(pl.String), ranked),
                pl.Series("review_cohort_size", review.cohort_size[pos]).cast(pl.String),
                _masked("review_percentile", _numbers("p", review.percentile_cents[pos], 2), ranked),
                _gather("review_flagged", ["false", "true"], review.flagged[pos].astype(np.int64)),
                pl.Series("review_stage", review.stage[pos].tolist(), dtype=pl.String),
                _gather("review_exempt", [e.code for e in rule.exempt] + [None], self.review_exempt[final]),
            ]
        out = out.with_columns(cells)
        if pay is not None:
            kept = pay.filter(pl.Series(final[self.pay_rows]))
            out = pl.concat([out, kept.rename({"__total": "pay_total"})], how="horizontal")
            out = out.with_columns(
                _gather("pay_level", level_ids, levels.pay_level[at]), pl.lit(model.currency).alias("currency")
            )
        out = out.with_columns(
            pl.lit(ruleset.version).alias("ruleset_version"), pl.lit(ruleset.sha256).alias("ruleset_sha256")
        )
        return out.select(
            [pl.col(c) if c in out.columns else pl.lit(None, pl.String).alias(c) for c in decision_columns(ruleset)]
        )

    def rejections(self) -> list[Rejection]:
        """The period's records that failed, each with the reference path's reason."""
        if not self.errors:
            return []
        row = self.rows[ROW].to_list()
        agent = self.rows["agent_id"].to_list()
        return [
            Rejection(source=self.source, row=row[i], agent_id=agent[i], period=self.period, reasons=[error])
            for i, error in sorted(self.errors.items())
        ]

    # --- helpers -----------------------------------------------------------------------------

    def fail(self, i: int, message: str) -> None:
        """Mark row ``i`` failed; the first reason stands, as on the reference path."""
        if not self.failed[i]:
            self.failed[i] = True
            self.errors[i] = message

    def drop(self) -> None:
        """Failed rows leave the period here, where the reference path drops them."""
        self.alive &= ~self.failed

    def check(self, path: str, mask: Bools) -> Bools:
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
                result[i] = bool(expr.evaluate(self.exact_row(i)))
            except EvaluationError as error:
                self.fail(i, str(error))
                result[i] = False
        return result

    def first_hit(self, prefix: str, count: int, mask: Bools) -> Ints:
        """Per row, the first of ``prefix[i].when`` that held, or -1."""
        first = np.full(self.size, -1, dtype=np.int64)
        for i in range(count):
            held = self.check(f"{prefix}[{i}].when", mask)
            first[(first < 0) & held & mask] = i
        return first

    def cohorts(self, keys: Sequence[str]) -> tuple[pl.Series, Ints]:
        """Each row's cohort name (as ``scorecard.cohort_label`` writes it) and a number for it."""
        if not keys:
            return pl.Series("cohort", ["all"] * self.size, dtype=pl.String), np.zeros(self.size, dtype=np.int64)
        parts = []
        for k in keys:
            text = pl.col(k)
            if self.rows.schema[k] == pl.Boolean:  # str(True), as the reference writes it
                text = pl.when(text).then(pl.lit("True")).otherwise(pl.lit("False"))
            parts.append(pl.concat_str([pl.lit(f"{k}="), text.cast(pl.String)]))
        labels = self.rows.select(pl.concat_str(parts, separator=", ").alias("cohort")).to_series()
        numbers = labels.rank("dense").to_numpy().astype(np.int64) - 1
        return labels, numbers

    def cohort_numbers(self, keys: Sequence[str]) -> Ints:
        """Cohort numbers only, for grouping."""
        return self.cohorts(keys)[1]

    def _less(self, metric: str, bound: Decimal) -> Bools:
        if self.columns.faithful.get(metric, False) and len(str(bound)) <= 15:
            result: Bools = self.columns[metric] < float(bound)
            return result
        return np.array([Decimal(t) < bound for t in self.rows[metric + TEXT].to_list()], dtype=bool)

    def _exact_key(self, metric: str) -> Array:
        """Values that order and tie exactly as the metric's decimals do: floats when faithful, else ranks."""
        if self.columns.faithful.get(metric, False):
            values: Array = self.columns[metric]
            return values
        decimals = [Decimal(t) for t in self.rows[metric + TEXT].to_list()]
        order = {v: k for k, v in enumerate(sorted(set(decimals)))}
        return np.array([order[v] for v in decimals], dtype=np.float64)

    def _coefficients(self) -> tuple[Ints, list[Decimal]]:
        """The performance coefficient of each row, as a code into a table of exact values."""
        pay = self.model.pay
        assert pay is not None
        source = pay.coefficient
        if source.source == "grade":
            table = [g.coefficient if g.coefficient is not None else Decimal(1) for g in self.model.grades]
            table.append(Decimal(1))
            return np.where(self.grade_index >= 0, self.grade_index, len(table) - 1), table
        of = source.band.of if source.band is not None else source.curve.of if source.curve is not None else ""
        found: dict[Decimal, int] = {}
        table = []
        codes = np.zeros(self.size, dtype=np.int64)
        for i in np.flatnonzero(self.alive).tolist():
            value = self.exact_row(i)[of]
            if value not in found:
                coefficient, _ = coefficient_for(pay, None, {of: value})
                found[value] = len(table)
                table.append(coefficient if coefficient is not None else Decimal(1))
            codes[i] = found[value]
        return codes, table or [Decimal(1)]

    def _by_distinct(self, expr: CompiledExpression, live: Bools) -> tuple[Ints, list[Decimal | None]]:
        """``expr`` evaluated exactly once per distinct combination of the record values it reads.

        Returns a code per row and the value per code. Expressions that read more than the
        record (derived values, the score...) are evaluated row by row.
        """
        names = sorted(expr.symbols)
        plain = all(n in self.model.metrics or n in self.model.attributes for n in names)
        codes = np.zeros(self.size, dtype=np.int64)
        table: list[Decimal | None] = []
        if plain and names:
            sub = self.rows.select([pl.col(n + TEXT if n in self.model.metrics else n).alias(n) for n in names])
            distinct = sub.filter(pl.Series(live)).unique(maintain_order=True).with_row_index("__code")
            joined = sub.join(distinct, on=names, how="left", nulls_equal=True, maintain_order="left")
            codes = joined["__code"].fill_null(0).to_numpy().astype(np.int64)
            failing: dict[int, str] = {}
            for code, row in enumerate(distinct.drop("__code").iter_rows(named=True)):
                values = {n: Decimal(v) if n in self.model.metrics else v for n, v in row.items()}
                try:
                    table.append(expr.evaluate(values))
                except EvaluationError as error:
                    table.append(None)
                    failing[code] = str(error)
            for i in np.flatnonzero(live).tolist():
                if int(codes[i]) in failing:
                    self.fail(i, failing[int(codes[i])])
            return codes, table or [None]
        for i in np.flatnonzero(live).tolist():
            codes[i] = len(table)
            try:
                table.append(expr.evaluate(self.exact_row(i)))
            except EvaluationError as error:
                table.append(None)
                self.fail(i, str(error))
        return codes, table or [None]

    def exact_row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as the reference path's value dict at the current stage, exact decimals and all."""
        cached = self.cache.get(i)
        if cached is not None:
            return cached
        model = self.model
        record = self.rows.row(i, named=True)
        values: dict[str, Any] = {name: Decimal(record[name + TEXT]) for name in model.metrics}
        values.update((name, record[name]) for name in model.attributes)
        level = int(self.prior.level[i])
        values.update(
            level=self.ruleset.level_ids[level],
            level_rank=Decimal(level + 1),
            periods_in_level=Decimal(int(self.prior.periods_in_level[i])),
            on_probation=bool(self.prior.on_probation[i]),
            probation_periods=Decimal(int(self.prior.probation_periods[i])),
        )
        for name in self.ruleset.derived_order:
            if name not in self.columns:
                break  # not derived yet
            try:
                values[name] = self.ruleset.need(f"derived.{name}.expr").evaluate(values)
            except EvaluationError:
                break  # the row fails at this derived value; nothing later reads it
        card = model.scorecard
        if card is not None and self.score_scaled is not None:
            values[card.name] = Decimal(int(self.score_scaled[i])).scaleb(-card.decimals)
        if self.grade_index[i] >= 0:
            values["grade"] = model.grades[int(self.grade_index[i])].grade
        if self.coefficient is not None:
            codes, table = self.coefficient
            values["coefficient"] = table[int(codes[i])]
        self.cache[i] = values
        return values


class _LazyRows:
    """The rows a kernel's exact fallback reads: built one at a time, on demand."""

    def __init__(self, run: PeriodRun) -> None:
        self.run = run

    def __len__(self) -> int:
        return self.run.size

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.run.exact_row(i)


def _normalised(norm: Any, x: Array, better: str) -> Array:
    """Linear, ratio and band normalisation on a float column (``scorecard.linear`` and friends)."""
    with np.errstate(all="ignore"):
        if isinstance(norm, LinearNorm):
            worst, best = float(norm.worst), float(norm.best)
            result: Array = np.clip((x - worst) / (best - worst), 0.0, 1.0)
            return result
        if isinstance(norm, RatioNorm):
            cap, target = float(norm.cap), float(norm.target)
            if better == "lower":
                return np.where(x <= 0, cap, np.clip(target / x, 0.0, cap))
            return np.clip(x / target, 0.0, cap)
        assert isinstance(norm, BandNorm)
        low, high = float(norm.low), float(norm.high)
        below = np.clip((x - float(norm.worst_low)) / (low - float(norm.worst_low)), 0.0, 1.0)
        above = np.clip((float(norm.worst_high) - x) / (float(norm.worst_high) - high), 0.0, 1.0)
        return np.where((x >= low) & (x <= high), 1.0, np.where(x < low, below, above))


def _percentile(x: Array, better: str, graded: Bools, cohort: Ints) -> tuple[Array, tuple[Ints, Ints, Ints]]:
    """Share of the cohort's others each value beats, ties counting half (``scorecard.percentile``).

    Also returns the exact counts behind it (worse, tied, others), for exact recomputation.
    """
    size_all = len(x)
    share = np.zeros(size_all, dtype=np.float64)
    worse_all = np.zeros(size_all, dtype=np.int64)
    tied_all = np.zeros(size_all, dtype=np.int64)
    others_all = np.zeros(size_all, dtype=np.int64)
    idx = np.flatnonzero(graded)
    if len(idx):
        counted = pl.DataFrame({"c": cohort[idx], "v": x[idx]}).select(
            below=pl.col("v").rank("min").over("c").cast(pl.Int64) - 1,
            equal=pl.len().over(["c", "v"]).cast(pl.Int64),
            size=pl.len().over("c").cast(pl.Int64),
        )
        below = counted["below"].to_numpy()
        tied = counted["equal"].to_numpy() - 1
        size = counted["size"].to_numpy()
        worse = below if better != "lower" else size - below - tied - 1
        with np.errstate(all="ignore"):
            share[idx] = np.where(size - 1 <= 0, 1.0, (worse + 0.5 * tied) / (size - 1))
        worse_all[idx], tied_all[idx], others_all[idx] = worse, tied, size - 1
    return share, (worse_all, tied_all, others_all)


def _scaled(value: Decimal, places: int) -> int:
    return int(value.scaleb(places))


def _gather(name: str, table: Sequence[str | None], codes: Array) -> pl.Series:
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


def _take(prior: Prior, where: Array) -> Prior:
    return Prior(**{k: v[where] for k, v in vars(prior).items()})


def pay_reads(ruleset: CompiledRuleset) -> list[str]:
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
