"""One period on columns: every stage asked of the whole period at once, in a fixed order.

``PeriodRun`` takes a period's rows (a polars frame from :mod:`tierpay.io.frames`, with each
agent's number from the :class:`~tierpay.engine.book.Book`) and runs the stages in order:
prepare (carried state), derived values, score, grade, level criteria and the state machine,
review, pay. A row that fails (a division by zero in its expression, a pay it cannot be
given) leaves the period at the stage where it failed, with the reason, and so leaves the
cohorts of later stages.

Exactness, stage by stage:

- Criteria: float64 kernels (:mod:`tierpay.engine.kernels`); rows a kernel is unsure of are
  evaluated exactly by rule-engine, which defines what an expression means (``check``).
- Derived values: the same, with the exact value kept where the floats cannot vouch.
- Score: see :mod:`tierpay.engine.scoring`. Pay: see :mod:`tierpay.engine.pay_table`.

What the run keeps (every criterion's answer per row, the level and review arrays, the pay
statement of each distinct pay input) is what :mod:`tierpay.engine.decisions` builds a
``Decision`` from, on demand, without deciding anything a second time.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.engine.book import AGENT, INVALID, Book
from tierpay.engine.bounds import Bounded, compile_bounds, input_error
from tierpay.engine.calendar import month_index, period_name
from tierpay.engine.columns import ROW, SOURCE, TEXT
from tierpay.engine.decisions import stamp
from tierpay.engine.human import (
    Applied,
    HumanDecision,
    apply_grades,
    apply_levels,
    apply_moves,
    clear_flags,
    exempt_by_decision,
    match_rows,
    unreached,
)
from tierpay.engine.kernels import Columns, FastCheck, Kernel, Unsupported, compile_check, compile_values
from tierpay.engine.levels import NONE, LevelArrays, Prior, decide_levels
from tierpay.engine.probation import Calendar, probation_calendar
from tierpay.engine.records import Rejection
from tierpay.engine.results import Pay, Score
from tierpay.engine.review import ReviewArrays, review_arrays
from tierpay.engine.scoring import ScoreStage, score_stage
from tierpay.engine.state import due_text
from tierpay.errors import EvaluationError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.expressions import CompiledExpression
from tierpay.words import Phrase

Array = npt.NDArray[Any]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
EPSILON = float(np.finfo(np.float64).eps)
NOT_ASKED = -1  # a criterion not evaluated for a row, in ``PeriodRun.checked``
REVIEW_COHORT = " review cohort"  # a key of ``PeriodRun._lists`` no column name can take


class CheckCache:
    """Criteria and derived values compiled to kernels once per run, with counts for the curious."""

    def __init__(self) -> None:
        self.compiled: dict[int, FastCheck] = {}
        self.values: dict[int, Kernel | None] = {}
        self.bounded: dict[int, Bounded | None] = {}
        self.exact_rows = 0
        self.fallbacks: dict[str, str] = {}

    def check(self, expr: CompiledExpression) -> FastCheck:
        """The kernel of a true/false criterion (compiled on first use)."""
        found = self.compiled.get(id(expr))
        if found is None:
            found = self.compiled[id(expr)] = compile_check(expr)
            if found.kernel is None:
                self.fallbacks[expr.where] = found.fallback or "not compiled"
        return found

    def value(self, expr: CompiledExpression) -> Kernel | None:
        """The kernel of a derived value (compiled on first use), or None."""
        if id(expr) not in self.values:
            self.values[id(expr)] = compile_values(expr)
            if self.values[id(expr)] is None:
                self.fallbacks[expr.where] = "not compiled to columns"
        return self.values[id(expr)]

    def bounds(self, expr: CompiledExpression) -> Bounded | None:
        """A derived value's floats with a bound on their error per row (compiled on first use), or None."""
        if id(expr) not in self.bounded:
            self.bounded[id(expr)] = compile_bounds(expr)
        return self.bounded[id(expr)]


class PeriodRun:
    """One period's records on their way through the stages, as columns."""

    def __init__(
        self,
        ruleset: CompiledRuleset,
        period: str,
        rows: pl.DataFrame,
        book: Book,
        checks: CheckCache,
        source: str,
        human: Sequence[HumanDecision] | None = None,
        rejected: Collection[tuple[str | None, str | None]] = (),
        adjustments: Mapping[str, str] | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.adjustments = adjustments
        """By agent, the closed periods decided again whose differences this period pays (``adjustments_text``);
        None when the run keeps no ledger (and the decisions have no ``pay_adjustment`` column)."""
        self.model = ruleset.model
        self.period = period
        self.rows = rows
        self.book = book
        self.checks = checks
        self.source = source
        self.size = rows.height
        self.agent: Ints = rows[AGENT].to_numpy()
        self.errors: dict[int, str] = {}
        self.failed = np.zeros(self.size, dtype=bool)
        self.alive = np.ones(self.size, dtype=bool)
        self.decided = np.zeros(self.size, dtype=bool)
        self.cache: dict[int, dict[str, Any]] = {}
        self.checked: dict[str, npt.NDArray[np.int8]] = {}  # criterion path -> 1 held, 0 not, NOT_ASKED
        self.score: ScoreStage | None = None
        self.grade_index = np.full(self.size, -1, dtype=np.int64)
        self.coefficient: tuple[Ints, list[Decimal], list[Phrase]] | None = None  # code per row; value, basis per code
        self.levels_out: LevelArrays | None = None
        self.level_rows = np.zeros(self.size, dtype=bool)
        self.review_out: ReviewArrays | None = None
        self.reviewed = np.zeros(self.size, dtype=bool)
        self.review_exempt = np.full(self.size, -1, dtype=np.int64)
        self.review_floor = np.ones(self.size, dtype=bool)
        self.review_labels: pl.Series | None = None
        self.derived: set[str] = set()  # the derived values computed so far
        self.bounds: dict[str, Array] = {}  # a number's per-row bound on its float's distance from the exact value
        self.pay_code = np.full(self.size, -1, dtype=np.int64)
        self.protected = np.zeros(self.size, dtype=bool)  # a statutory protected month
        self.pay_statements: list[Pay | None] = []
        self._texts: _Cells | None = None
        self._lists: dict[str, list[Any]] = {}
        self.stamp = stamp(ruleset)
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._decimals: dict[str, Decimal] = {}  # each distinct metric text's exact value, made once
        self._symbols: dict[str, list[str]] = {}
        self._answers: npt.NDArray[np.int8] | None = None  # row -> every criterion's answer, for checks_of
        self._check_sets: dict[bytes, dict[str, bool]] = {}
        self.human = human  # people's decisions for the period (None: the run was given none)
        self.applied = Applied()
        self.rejected_as_read = rejected  # agent-periods whose record was rejected before the run
        self.moves: dict[str, str | None] = {}  # agent -> level held before a set_ladder put it on this ladder
        self.nominated: list[Bools] = []  # per nomination of the ladder, the rows eligible

    # --- the stages -------------------------------------------------------------------------

    def run(self) -> None:
        """Run every stage; afterwards ``decided`` marks the rows that got a decision."""
        from tierpay.engine.pay_table import pay_stage  # pay_table reads a run: imported late

        self.prepare()
        if self.human:
            self.applied = match_rows(self, self.human, self.rejected_as_read)
            apply_moves(self, self.applied)
        self.derive()
        self.drop()
        self.score = score_stage(self)
        self.drop()
        self.grade()
        self.drop()
        self.levels()
        self.review()
        self.drop()
        self.nominate()
        pay_stage(self)
        self.drop()
        self.decided = self.alive.copy()
        if self.human:
            unreached(self, self.applied)
        self.level_pos = np.cumsum(self.level_rows) - 1  # row -> place in the level arrays
        self.review_pos = np.cumsum(self.reviewed) - 1  # row -> place in the review arrays
        self.cache.clear()

    def prepare(self) -> None:
        """The prior state of each row: carried, new, or rejected."""
        book, model, ids = self.book, self.model, self.ruleset.level_ids
        a = self.agent
        known = book.known[a]
        month = month_index(self.period)
        last = book.last[a]
        self.known = known
        self.last_before = last
        for i in np.flatnonzero(known & (book.level[a] == INVALID)).tolist():
            level = book.bad_level[int(a[i])]
            self.fail(
                i, f"level: the carried level {level} is not a level of {self.ruleset.name} {self.ruleset.version}"
            )
        for i in np.flatnonzero(known & (last >= month) & (book.level[a] != INVALID)).tolist():
            after = period_name(int(last[i]))
            self.fail(i, f"period: {self.period} is not after {after}, already evaluated for this agent")
        number_of = {level: k for k, level in enumerate(ids)}
        new_agents = model.new_agents
        # Without new_agents a missing level is not guessed (one level is no guess).
        unstated = ids.index(new_agents.level) if new_agents is not None else 0 if len(ids) == 1 else -1
        stated = self.rows["level"]
        start = stated.replace_strict(number_of, default=0, return_dtype=pl.Int64)
        start_level = np.where(stated.is_null().to_numpy(), unstated, start.to_numpy()).astype(np.int64)
        on_probation = np.zeros(self.size, dtype=bool)
        probation = model.probation
        if probation is not None:
            on_probation = (self.rows[probation.attribute] == probation.value).fill_null(False).to_numpy()
            start_level = np.where(on_probation, ids.index(probation.level or ids[0]), start_level)
        self.stated_probation = on_probation
        for i in np.flatnonzero(~known & (start_level < 0)).tolist():
            self.fail(
                i,
                "level: missing; the agent has no carried state, so the record must state a level "
                "(or the ruleset declare new_agents.level)",
            )
        start_level = np.maximum(start_level, 0)
        reset = known & (last >= 0) & (month - last - 1 > 0) & (model.missing_period == "reset")
        keep = known & ~reset

        def carried(values: Array, fresh: Any) -> Array:
            return np.where(keep, values[a], fresh)

        entered = np.where(known, book.on_probation[a], on_probation)
        self.calendar = self._calendar(entered, on_probation, month)
        served_before = np.where(known, book.probation_periods[a], 0)
        self.prior = Prior(
            level=np.where(known, np.maximum(book.level[a], 0), start_level),
            periods_in_level=np.where(known, book.periods_in_level[a], 0),
            promote_streak=carried(book.promote_streak, 0),
            streak_level=carried(book.streak_level, NONE),
            maintain_fail_streak=carried(book.maintain_fail_streak, 0),
            on_probation=self.calendar.month.copy(),
            probation_periods=np.where(self.calendar.month, self.calendar.served - 1, served_before),
            probation_extension=np.where(known & entered, self.book.probation_extension[a], 0),
        )
        self.review_streak = carried(book.review_streak, 0)
        self.prior_review_streak = self.review_streak.copy()
        self.review_stage = np.where(keep, book.review_stage[a], np.full(self.size, None, dtype=object))
        due = book.due  # deductions held back are owed whatever the gap in records
        self.due_in = np.array(
            [due_text(due[k]) if k in due else "" for k in a.tolist()] if due else [""] * self.size, dtype=object
        )
        self.drop()
        self.columns = self._columns()

    def _calendar(self, entered: Bools, stated: Bools, month: int) -> Calendar:
        """Where each row entering the month on probation stands (see ``probation_calendar``).

        A probationer's record that lacks what its probation needs (start date, term, a start
        not after the period, the contract wage its pay floor reads) fails here, naming the field.
        """
        rule = self.model.probation
        carried = entered & ~self.failed
        if rule is None or not carried.any():
            return probation_calendar(None, carried, self.known & ~stated, [], [], month)[0]
        cal, failures = probation_calendar(
            rule,
            carried,
            self.known & ~stated,
            self.column(rule.start_date),
            self.column(rule.contract_term),
            month,
            np.where(self.known, self.book.probation_extension[self.agent], 0),
        )
        for i, why in failures.items():
            self.fail(i, why)
        floors = self.model.pay.floors if self.model.pay is not None else None
        if floors is not None and floors.probation_ratio is not None and floors.contract_wage is not None:
            name, share = floors.contract_wage, floors.probation_ratio * 100
            blank = cal.month & self.rows[name + TEXT].is_null().to_numpy()
            for i in np.flatnonzero(blank).tolist():
                self.fail(
                    i,
                    f"{name}: missing: a probationer's pay floor is {format(share.normalize(), 'f')}% of it "
                    "(Labor Contract Law art. 20); a blank is not a zero",
                )
        cal.carried &= ~self.failed
        cal.month &= ~self.failed
        return cal

    def _columns(self) -> Columns:
        cols = Columns(_LazyRows(self))  # type: ignore[arg-type]
        model = self.model
        for name in model.attributes:
            cols.put(name, self.rows[name].to_numpy())
        for name in model.metrics:
            text = self.rows[name + TEXT].unique().cast(pl.String)  # each distinct text once
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
            kernel = self.checks.value(expr)
            uncertain = live
            values: Array = np.zeros(self.size, dtype=object)
            if kernel is not None:
                with np.errstate(all="ignore"):
                    computed, flagged = kernel(self.columns)
                values = computed.copy()
                uncertain = live & flagged
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
            bound = self._bound(expr, values, live, uncertain)
            if bound is not None:
                self.bounds[name] = bound
            self.columns.put(name, values, exact=None if bound is None else bound == 0)
            self.derived.add(name)
            self.cache.clear()  # exact rows built before now lack this value

    def _bound(self, expr: CompiledExpression, values: Array, live: Bools, redone: Bools) -> Array | None:
        """Per row, how far a derived number's float can be from its exact value (0: it is the exact integer).

        Rows evaluated exactly hold the nearest float (half an ulp); rows that left the period have none.
        """
        bounded = self.checks.bounds(expr)
        if bounded is None or values.dtype != np.float64:
            return None
        try:
            with np.errstate(all="ignore"):
                floats, bound = bounded(self.columns, self.error_of)
        except Unsupported:
            return None
        bound = np.where(floats == values, bound, np.inf)  # the kernel's own floats, or no bound
        with np.errstate(invalid="ignore"):
            bound[redone] = np.where(np.isfinite(values[redone]), EPSILON * np.abs(values[redone]), np.inf)
        bound[~live | self.failed] = np.inf
        return bound

    def error_of(self, name: str) -> Array | None:
        """Per row, the bound on ``name``'s float (metrics: exact for plain integer texts), or None if unknown."""
        found = self.bounds.get(name)
        if found is not None or name in self.derived:
            return found
        if name in self.model.metrics:
            found = input_error(self.columns[name], self._plain(name), self.columns.faithful[name])
        elif name in ("level_rank", "periods_in_level", "probation_periods"):
            found = np.zeros(self.size)  # whole numbers made from integers
        else:
            return None
        self.bounds[name] = found
        return found

    def _plain(self, name: str) -> Bools:
        """Per row, whether metric ``name``'s text is a plain integer of at most 15 digits (each distinct text checked once)."""
        text = self.rows[name + TEXT]
        if text.dtype != pl.Categorical:
            text = text.cast(pl.String).cast(pl.Categorical)
        codes = text.to_physical()
        distinct = text.unique().drop_nulls()
        good = distinct.cast(pl.String).str.contains(r"^(0|-?[1-9][0-9]{0,14})$").to_numpy()
        top = codes.max()
        lookup: Bools = np.zeros((int(top) if isinstance(top, int) else 0) + 2, dtype=np.bool_)  # last: blank cells
        lookup[distinct.to_physical().to_numpy()[good]] = True
        plain: Bools = lookup[codes.fill_null(len(lookup) - 1).to_numpy()]
        return plain

    def grade(self) -> None:
        """The first grade whose condition holds."""
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
        if self.applied.pending:
            apply_grades(self, self.applied)
        names = np.array([g.grade for g in grades] + [None], dtype=object)
        self.columns.put("grade", names[self.grade_index])
        self.cache.clear()  # exact rows built before now lack the grade

    def levels(self) -> None:
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
        if model.protection is not None:
            self.protected = self.check("protection.when", alive) & alive
        convert = np.zeros(self.size, dtype=bool)
        if model.probation is not None:
            on = alive & self.prior.on_probation
            if on.any():
                convert = self.check("probation.convert_if", on) & on
        self.drop()
        live = self.alive
        self.level_rows = live.copy()
        self.levels_out = decide_levels(
            model,
            take(self.prior, live),
            [e[live] for e in entry],
            maintain[live],
            promotion[live],
            demotion[live],
            convert[live],
            int(self.period[5:7]),
            take(self.calendar, live),
            self.protected[live],
        )
        if self.applied.pending:
            apply_levels(self, self.applied)

    def review(self) -> None:
        """Bottom-ranking review of the period's live rows."""
        rule = self.model.review
        live = self.alive.copy()
        self.reviewed = live
        if rule is None or not live.any():
            return
        exempt = self.first_hit("review.exempt", len(rule.exempt), live)
        if self.applied.pending:
            exempt_by_decision(self, self.applied, exempt)
        floor = self.check("review.only_if", live) if rule.only_if is not None else np.ones(self.size, dtype=bool)
        idx = np.flatnonzero(live)
        labels, cohort = self.cohorts(rule.cohort_by)
        result = review_arrays(
            rule,
            self.direction(rule.rank_by, rule.better),
            cohort[idx],
            self.exact_key(rule.rank_by, live)[idx],
            np.arange(len(idx)),
            exempt[idx] != -1,
            floor[idx],
            self.review_streak[idx],
        )
        if self.applied.pending:
            clear_flags(self, self.applied, idx, result)
        self.review_streak[idx] = result.streak
        self.review_stage[idx] = result.stage
        self.review_exempt = exempt
        self.review_floor = floor
        self.review_labels = labels
        self.review_out = result

    def nominate(self) -> None:
        """Who on this ladder may be nominated for another: flags that nothing else reads (people decide)."""
        live = self.alive & ~self.failed
        self.nominated = [self.check(f"nominate[{k}].when", live) for k in range(len(self.ruleset.nominations))]
        self.drop()

    def rejections(self) -> list[Rejection]:
        """The period's records that failed, each with its reason, and the people's decisions refused."""
        if not self.errors:
            return list(self.applied.refused)
        row = self.rows[ROW].to_list()
        agent = self.rows["agent_id"].to_list()
        sources = self.rows[SOURCE].to_list() if SOURCE in self.rows.columns else None
        return [
            Rejection(
                source=sources[i] if sources else self.source,
                row=row[i],
                agent_id=agent[i],
                period=self.period,
                reasons=[error],
            )
            for i, error in sorted(self.errors.items())
        ] + self.applied.refused

    def new_state(self) -> tuple[Ints, Prior, tuple[Ints, Array], list[dict[str, Decimal] | None]]:
        """The decided rows' agent numbers, their new level state, their review streak and stage, and the
        deductions each still owes (None where the ruleset has no pay)."""
        assert self.levels_out is not None
        at = np.flatnonzero(self.decided[self.level_rows])
        statements = self.pay_statements
        due: list[dict[str, Decimal] | None] = []
        if statements:
            owed = [s.due if s is not None else None for s in statements]
            due = [owed[code] if code >= 0 else None for code in self.pay_code[self.decided].tolist()]
        return (
            self.agent[self.decided],
            take(self.levels_out.state, at),
            (self.review_streak[self.decided], self.review_stage[self.decided]),
            due,
        )

    # --- helpers -----------------------------------------------------------------------------

    def fail(self, i: int, message: str) -> None:
        """Mark row ``i`` failed; the first reason stands."""
        if not self.failed[i]:
            self.failed[i] = True
            self.errors[i] = message

    def drop(self) -> None:
        """Failed rows leave the period here."""
        self.alive &= ~self.failed

    def check(self, path: str, mask: Bools) -> Bools:
        """A criterion over the period: the kernel's answers, exact answers where it is unsure."""
        expr = self.ruleset.need(path)
        result = np.zeros(self.size, dtype=bool)
        if not mask.any():  # nobody to ask (and the columns of later stages may not exist)
            self.checked[path] = np.full(self.size, NOT_ASKED, dtype=np.int8)
            return result
        compiled = self.checks.check(expr)
        todo = mask
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
        self.checked[path] = np.where(mask, result, NOT_ASKED).astype(np.int8)
        return result

    def first_hit(self, prefix: str, count: int, mask: Bools) -> Ints:
        """Per row, the first of ``prefix[i].when`` that held, or -1."""
        first = np.full(self.size, -1, dtype=np.int64)
        for i in range(count):
            held = self.check(f"{prefix}[{i}].when", mask)
            first[(first < 0) & held & mask] = i
        return first

    def held(self, i: int, path: str) -> bool | None:
        """Whether criterion ``path`` held for row ``i`` (None when it was not asked)."""
        answers = self.checked.get(path)
        if answers is None or answers[i] == NOT_ASKED:
            return None
        return bool(answers[i])

    def checks_of(self, i: int) -> dict[str, bool]:
        """Each criterion asked of row ``i`` and whether it held (one shared dict per distinct set of answers)."""
        if self._answers is None:
            columns = list(self.checked.values())
            self._answers = np.stack(columns, axis=1) if columns else np.zeros((self.size, 0), dtype=np.int8)
        key = self._answers[i].tobytes()
        found = self._check_sets.get(key)
        if found is None:
            found = self._check_sets[key] = {
                path: bool(answers[i]) for path, answers in self.checked.items() if answers[i] != NOT_ASKED
            }
        return found

    def cohorts(self, keys: Sequence[str]) -> tuple[pl.Series, Ints]:
        """Each row's cohort name (``team=A, site=SH``; ``all`` for none) and a number for it."""
        if not keys:
            return pl.Series("cohort", ["all"] * self.size, dtype=pl.String), np.zeros(self.size, dtype=np.int64)
        parts = []
        for k in keys:
            text = pl.col(k)
            if self.rows.schema[k] == pl.Boolean:  # as Python writes a bool: True, False
                text = pl.when(text).then(pl.lit("True")).otherwise(pl.lit("False"))
            parts.append(pl.concat_str([pl.lit(f"{k}="), text.cast(pl.String)]))
        labels = self.rows.select(pl.concat_str(parts, separator=", ").alias("cohort")).to_series()
        numbers = labels.rank("dense").to_numpy().astype(np.int64) - 1
        return labels, numbers

    def direction(self, name: str, declared: str | None) -> str:
        """Which way ``name`` is better: declared, else the metric's own, else higher."""
        metric = self.model.metrics.get(name)
        if declared is not None:
            return declared
        return metric.better if metric is not None and metric.better in ("higher", "lower") else "higher"

    def exact_decimals(self, name: str, rows: Bools) -> list[Decimal]:
        """The exact values of a metric or derived value for ``rows``, in row order."""
        if name in self.model.metrics:
            texts = self.rows[name + TEXT].cast(pl.String).filter(pl.Series(rows)).to_list()
            return [Decimal(t) for t in texts]
        return [self.exact_row(i)[name] for i in np.flatnonzero(rows).tolist()]

    def exact_key(self, name: str, rows: Bools) -> Array:
        """Per row, a float that orders and ties exactly as ``name``'s exact values do (on ``rows``)."""
        if self.score is not None and name == self.score.name:
            return self.score.scaled.astype(np.float64)
        exact_floats = name in self.derived and name in self.bounds and not self.bounds[name][rows].any()
        if exact_floats or (name in self.model.metrics and self.columns.faithful.get(name, False)):
            values: Array = self.columns[name]
            return values
        key = np.zeros(self.size, dtype=np.float64)
        decimals = self.exact_decimals(name, rows)
        order = {v: k for k, v in enumerate(sorted(set(decimals)))}
        key[rows] = [order[v] for v in decimals]
        return key

    def exact_row(self, i: int) -> dict[str, Any]:
        """Row ``i``'s values as the expressions see them at the current stage, exact decimals and all."""
        cached = self.cache.get(i)
        if cached is not None:
            return cached
        model = self.model
        texts = self._record_columns()
        decimals = self._decimals
        values: dict[str, Any] = {}
        for name in model.metrics:
            text = texts[name][i]
            if text is None:  # an optional metric left blank: unknown, never zero
                values[name] = None
                continue
            found = decimals.get(text)
            values[name] = found if found is not None else decimals.setdefault(text, Decimal(text))
        values.update((name, texts[name][i]) for name in model.attributes)
        level = int(self.prior.level[i])
        values.update(
            level=self.ruleset.level_ids[level],
            level_rank=Decimal(level + 1),
            periods_in_level=Decimal(int(self.prior.periods_in_level[i])),
            on_probation=bool(self.prior.on_probation[i]),
            probation_periods=Decimal(int(self.prior.probation_periods[i])),
        )
        for name in self.ruleset.derived_order:
            if name not in self.derived:
                break  # not derived yet
            try:
                values[name] = self._derived(name, values)
            except EvaluationError:
                break  # the row fails at this derived value; nothing later reads it
        if self.score is not None:
            values[self.score.name] = self.score.value(i)
        if self.grade_index[i] >= 0:
            values["grade"] = model.grades[int(self.grade_index[i])].grade
        if self.coefficient is not None:
            codes, table, _ = self.coefficient
            values["coefficient"] = table[int(codes[i])]
        self.cache[i] = values
        return values

    def review_label(self, i: int) -> str:
        """Row ``i``'s review cohort (the labels as a list, made once until released)."""
        if self.review_labels is None:
            return ""
        found = self._lists.get(REVIEW_COHORT)
        if found is None:
            found = self._lists[REVIEW_COHORT] = self.review_labels.to_list()
        return str(found[i])

    def finish(self) -> None:
        """After the stages: drop the float columns the kernels read (decisions need only the rows)."""
        self.columns = Columns(_LazyRows(self))  # type: ignore[arg-type]
        self.release()

    def release(self) -> None:
        """Forget what reading rows one by one kept (row lists, exact rows, memos); made again on demand."""
        self._texts = None
        self._lists.clear()
        self._memo.clear()
        self.cache.clear()
        self._answers = None
        self._check_sets.clear()
        if self.score is not None:
            self.score.release()

    def _record_columns(self) -> _Cells:
        """The record's metric texts and attribute values by row, each column made when first read."""
        if self._texts is None:
            self._texts = _Cells(self.rows, set(self.model.metrics))
        return self._texts

    def column(self, name: str) -> list[Any]:
        """A column of the period's rows as a list (made once), for reading row by row."""
        found = self._lists.get(name)
        if found is None:
            found = self._lists[name] = self.rows[name].to_list() if name in self.rows.columns else []
        return found

    def _derived(self, name: str, values: dict[str, Any]) -> Any:
        """A derived value by rule-engine, evaluated once per distinct combination of what it reads."""
        expr = self.ruleset.need(f"derived.{name}.expr")
        names = self._symbols.get(name)
        if names is None:
            names = self._symbols[name] = sorted(expr.symbols)
        key = (name, *(_key(values[s]) for s in names))
        found = self._memo.get(key, _UNSET)
        if found is _UNSET:
            found = self._memo[key] = expr.evaluate(values)
        return found

    def score_of(self, i: int) -> Score | None:
        """Row ``i``'s score with its parts (built on demand)."""
        return self.score.of(self, i) if self.score is not None else None


_UNSET = object()


def _key(value: Any) -> Any:
    """A memo key that tells ``2`` from ``2.0`` (equal decimals, but they print differently)."""
    return (str(value), 0) if isinstance(value, Decimal) else (value, 1)


class _Cells(dict[str, Any]):
    """The period's record cells by column and row, each column made when first read.

    A metric's exact texts are categorical: kept as the rows' codes and one text per distinct
    code, so a period that reads a few rows exactly does not make a string per row per metric.
    """

    def __init__(self, rows: pl.DataFrame, metrics: set[str]) -> None:
        super().__init__()
        self.rows = rows
        self.metrics = metrics

    def __missing__(self, name: str) -> Any:
        if name not in self.metrics:
            found: Any = self.rows[name].to_list()
        else:
            found = _Coded(self.rows[name + TEXT])
        self[name] = found
        return found


_BLANK = 2**32 - 1
"""The code of a blank cell: past any code polars gives (they count texts from 0)."""


class _Coded:
    """A categorical column read by row: each row's code, and the text of each code."""

    def __init__(self, column: pl.Series) -> None:
        if column.dtype != pl.Categorical:
            column = column.cast(pl.String).cast(pl.Categorical)
        distinct = column.unique().drop_nulls()
        self.texts: dict[int, str] = dict(
            zip(distinct.to_physical().to_list(), distinct.cast(pl.String).to_list(), strict=True)
        )
        self.codes = column.to_physical().fill_null(_BLANK).to_numpy()

    def __getitem__(self, i: int) -> str | None:
        return self.texts.get(int(self.codes[i]))


class _LazyRows:
    """The rows a kernel's exact fallback reads: built one at a time, on demand.

    It holds its run weakly: a run owns its columns, which own this, and a cycle would keep
    every period's run alive until a full garbage collection.
    """

    def __init__(self, run: PeriodRun) -> None:
        self.run = weakref.ref(run)
        self.size = run.size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, Any]:
        run = self.run()
        assert run is not None, "the period's run is gone"
        return run.exact_row(i)


_Arrays = TypeVar("_Arrays", Prior, Calendar)


def take(arrays: _Arrays, where: Array) -> _Arrays:
    """The rows ``where`` of every array of ``arrays`` (a ``Prior`` or a ``Calendar``)."""
    return type(arrays)(**{k: v[where] for k, v in vars(arrays).items()})
