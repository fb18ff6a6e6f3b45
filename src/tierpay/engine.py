"""Evaluation: records and prior state in; decisions, rejections, gaps and new state out.

Pure: no files, no clock, no globals. Periods are evaluated in order, each one as a batch:
every compiled expression is evaluated over all of the period's live records in one call
(``evaluate_many``), which is the seam where a columnar evaluator can replace the reference
one. A record whose expression fails (division by zero, say) becomes a rejection naming the
field and expression; the rest of the period goes on.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tierpay.columnar import Columns, FastCheck, compile_check
from tierpay.compiler import CompiledRuleset
from tierpay.errors import EvaluationError
from tierpay.expressions import CompiledExpression
from tierpay.levels import LevelInputs, decide
from tierpay.model import Grade, ScoreVeto, label_text
from tierpay.pay import PayInputs, coefficient_for, compute_pay, uses_coefficient
from tierpay.records import AgentPeriod, Rejection, records_from_dicts, split_duplicates
from tierpay.results import Decision, Gap, Outcome, ReviewResult, RulesetStamp, Score, trusted
from tierpay.review import ReviewInput, review_period
from tierpay.scorecard import cohort_label, compute_scores
from tierpay.state import AgentState, State
from tierpay.tables import is_table, parse_table
from tierpay.versions import RulesetVersions


@dataclass(frozen=True)
class RecordBatch:
    """Checked records with the rejections and warnings found while reading them."""

    records: list[AgentPeriod]
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Work:
    """One record on its way through a period's stages."""

    record: AgentPeriod
    prior: AgentState
    values: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    error: str | None = None
    reported: bool = False
    score: Score | None = None
    grade: Grade | None = None
    review: ReviewResult | None = None


def month_index(period: str) -> int:
    """``YYYY-MM`` as a count of months, so that consecutive periods differ by one."""
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def period_name(index: int) -> str:
    """The inverse of ``month_index``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def stamp(ruleset: CompiledRuleset) -> RulesetStamp:
    """The name, version and content hash that identify ``ruleset``."""
    return RulesetStamp(name=ruleset.name, version=ruleset.version, sha256=ruleset.sha256)


def evaluate(
    ruleset: CompiledRuleset | RulesetVersions,
    records: RecordBatch | Iterable[AgentPeriod | Mapping[str, Any]],
    state: State | None = None,
    fast: bool = False,
) -> Outcome:
    """Evaluate every period in ``records`` in order, carrying ``state`` from one to the next.

    ``records`` is a ``RecordBatch`` from a reader, or ``AgentPeriod`` values, or plain dicts
    (checked here). With ``RulesetVersions`` each period is evaluated under the version in
    force on its first day; records of a period no version covers are rejected. Returns the
    decisions, the rejections, the gaps and the state after the last period. Evaluating
    several periods at once gives exactly what chaining single-period calls through the
    returned state gives. ``fast`` evaluates criteria on columns (:mod:`tierpay.columnar`),
    with the same results.
    """
    batch = _as_batch(ruleset, records)
    by_period: dict[str, list[AgentPeriod]] = defaultdict(list)
    for record in batch.records:
        by_period[record.period].append(record)
    run = Evaluation(ruleset, state, fast)
    decisions: list[Decision] = []
    rejections = list(batch.rejections)
    gaps: list[Gap] = []
    with _collector_paused():  # every decision is kept to the end: rescanning them is wasted work
        for period in sorted(by_period):
            result = run.period(period, by_period[period])
            decisions.extend(result.decisions)
            rejections.extend(result.rejections)
            gaps.extend(result.gaps)
    rejections.sort(key=lambda r: (r.source, r.row))
    return Outcome(
        ruleset=run.rulesets[-1],
        rulesets=run.rulesets,
        periods=sorted(by_period),
        decisions=decisions,
        rejections=rejections,
        gaps=gaps,
        warnings=list(batch.warnings),
        state=run.state,
    )


@dataclass(frozen=True)
class PeriodResult:
    """What one period produced."""

    period: str
    decisions: list[Decision]
    rejections: list[Rejection]
    gaps: list[Gap]


class Evaluation:
    """An evaluation in progress: periods fed in order, the state carried between them.

    ``evaluate`` uses it for a whole history in memory; a reader that streams a large file
    one period at a time feeds it the same way and keeps only one period in memory.
    """

    def __init__(
        self, ruleset: CompiledRuleset | RulesetVersions, state: State | None = None, fast: bool = False
    ) -> None:
        self.ruleset = ruleset
        self.checks = Checks(fast)
        self.start = state or State(ruleset=ruleset.name)
        self.agents = self.start.by_agent()
        self.used: dict[str, RulesetStamp] = {}
        self.periods: list[str] = []

    def period(self, period: str, records: list[AgentPeriod]) -> PeriodResult:
        """Evaluate one period's records (all of them: the review ranks the whole cohort)."""
        if self.periods and period <= self.periods[-1]:
            reason = (
                f"period: {period} comes after {self.periods[-1]} was evaluated: group the records by period, in order"
            )
            return PeriodResult(period, [], [_reject(r, reason) for r in records], [])
        self.periods.append(period)
        version = self.ruleset if isinstance(self.ruleset, CompiledRuleset) else self.ruleset.for_period(period)
        if version is None:
            assert isinstance(self.ruleset, RulesetVersions)
            return PeriodResult(period, [], _not_in_force(self.ruleset, period, records), [])
        self.used.setdefault(version.sha256, stamp(version))
        with _collector_paused():
            decisions, rejections, gaps, self.agents = _evaluate_period(
                version, period, records, self.agents, self.checks
            )
        return PeriodResult(period, decisions, rejections, gaps)

    @property
    def rulesets(self) -> list[RulesetStamp]:
        """Every ruleset version used so far, oldest first (the latest version if none yet)."""
        if self.used:
            return list(self.used.values())
        latest = self.ruleset if isinstance(self.ruleset, CompiledRuleset) else self.ruleset.latest
        return [stamp(latest)]

    @property
    def state(self) -> State:
        """The carried state after the periods evaluated so far."""
        through = max([p for p in (self.start.through, *self.periods) if p], default=None)
        return State(
            ruleset=self.ruleset.name,
            through=through,
            agents=sorted(self.agents.values(), key=lambda a: a.agent_id),
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's automatic cyclic garbage collection while a period is evaluated.

    A period allocates hundreds of thousands of small objects and no reference cycles, yet
    each automatic collection rescans every live object: measured, half of the evaluation
    time. Collection resumes afterwards, also on error, and stays off if the host had it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reject(record: AgentPeriod, reason: str) -> Rejection:
    return Rejection(
        source=record.source, row=record.row, agent_id=record.agent_id, period=record.period, reasons=[reason]
    )


def _not_in_force(versions: RulesetVersions, period: str, records: list[AgentPeriod]) -> list[Rejection]:
    spans = ", ".join(f"{v.version} from {v.model.effective_from}" for v in versions.versions)
    reason = f"period: no version of {versions.name} is in force for {period} ({spans})"
    return [_reject(r, reason) for r in records]


def _as_batch(
    ruleset: CompiledRuleset | RulesetVersions, records: RecordBatch | Iterable[AgentPeriod | Mapping[str, Any]]
) -> RecordBatch:
    if isinstance(records, RecordBatch):
        return records
    if is_table(records):
        return RecordBatch(*parse_table(ruleset, records))
    items = list(records)
    checked = [r for r in items if isinstance(r, AgentPeriod)]
    raw = [r for r in items if not isinstance(r, AgentPeriod)]
    if not raw:
        good, dupes = split_duplicates(checked)
        return RecordBatch(good, dupes)
    if checked:
        raise TypeError("give either AgentPeriod records or plain dicts, not a mix")
    good, rejected, warnings = records_from_dicts(ruleset, raw)
    return RecordBatch(good, rejected, warnings)


def _new_agent(ruleset: CompiledRuleset, record: AgentPeriod) -> tuple[AgentState, list[str]]:
    model = ruleset.model
    notes: list[str] = []
    probation = model.probation
    on_probation = bool(probation and record.attributes.get(probation.attribute) == probation.value)
    if on_probation and probation is not None:
        level = probation.level or ruleset.level_ids[0]
        if record.level is not None and record.level != level:
            notes.append(f"record states level {record.level}, but probationers hold {level}")
    else:
        level = record.level or ruleset.level_ids[0]
        if record.level is None:
            notes.append(f"new agent with no stated level: starts at {level}")
    return AgentState(agent_id=record.agent_id, level=level, on_probation=on_probation), notes


def _prepare(
    ruleset: CompiledRuleset, period: str, record: AgentPeriod, agents: Mapping[str, AgentState]
) -> _Work | Rejection:
    prior = agents.get(record.agent_id)
    notes: list[str] = []
    if prior is not None and prior.level not in ruleset.level_ids:
        return _reject(
            record, f"level: the carried level {prior.level} is not a level of {ruleset.name} {ruleset.version}"
        )
    if prior is None:
        prior, notes = _new_agent(ruleset, record)
    else:
        if prior.last_period is not None:
            gap = month_index(period) - month_index(prior.last_period) - 1
            if gap < 0:
                return _reject(
                    record, f"period: {period} is not after {prior.last_period}, already evaluated for this agent"
                )
            if gap > 0:
                missing = ", ".join(period_name(month_index(prior.last_period) + k) for k in range(1, gap + 1))
                policy = ruleset.model.missing_period
                notes.append(
                    f"no record for {missing}: streaks {'paused' if policy == 'pause' else 'reset'} (missing_period: {policy})"
                )
                if policy == "reset":
                    prior = prior.model_copy(
                        update={
                            "promote_streak": 0,
                            "streak_level": None,
                            "maintain_fail_streak": 0,
                            "review_streak": 0,
                            "review_stage": None,
                        }
                    )
        if record.level is not None and record.level != prior.level:
            notes.append(
                f"record states level {record.level}, carried state says {prior.level}: the carried state is used"
            )
        if ruleset.model.probation is not None:
            attr = ruleset.model.probation.attribute
            says = record.attributes.get(attr) == ruleset.model.probation.value
            if says != prior.on_probation:
                notes.append(
                    f"record's {attr} is {record.attributes.get(attr)!r}, carried state says "
                    f"{'on probation' if prior.on_probation else 'converted'}: the carried state is used"
                )
    ids = ruleset.level_ids
    values: dict[str, Any] = {**record.metrics, **record.attributes}
    values.update(
        level=prior.level,
        level_rank=Decimal(ids.index(prior.level) + 1),
        periods_in_level=Decimal(prior.periods_in_level),
        on_probation=prior.on_probation,
        probation_periods=Decimal(prior.probation_periods),
    )
    return _Work(record=record, prior=prior, values=values, notes=notes)


class Checks:
    """How criteria are evaluated: record by record (the reference), or on columns.

    The columnar path compiles each criterion once and shares one column cache per batch of
    records; its answers equal the reference path's (tests/test_columnar.py). Criteria it
    cannot compile stay on the reference path and are listed in ``fallbacks``.
    """

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.compiled: dict[int, FastCheck] = {}
        self.fallbacks: dict[str, str] = {}
        self._columns: tuple[list[_Work], Columns] | None = None

    def run(self, expr: CompiledExpression, works: list[_Work]) -> list[Any]:
        """``expr`` over ``works``; failing records are marked failed, as in ``_batch``."""
        if not self.fast or not works:
            return _batch(expr, works)
        check = self.compiled.get(id(expr))
        if check is None:
            check = self.compiled[id(expr)] = compile_check(expr)
        if check.kernel is None:
            self.fallbacks[expr.where] = check.fallback or "not compiled"
            return _batch(expr, works)
        if self._columns is None or self._columns[0] is not works:
            self._columns = (works, Columns([w.values for w in works]))
        columns = self._columns[1]
        try:
            return list(check.evaluate(columns.rows, columns))
        except EvaluationError:
            return _batch(expr, works)


def _batch(expr: CompiledExpression, works: list[_Work]) -> list[Any]:
    """``expr`` over every live work item; an item whose evaluation fails is marked failed."""
    try:
        return expr.evaluate_many([w.values for w in works])
    except EvaluationError:
        results: list[Any] = []
        for work in works:
            try:
                results.append(expr.evaluate(work.values))
            except EvaluationError as error:
                work.error = work.error or str(error)
                results.append(None)
        return results


def _live(works: list[_Work]) -> list[_Work]:
    return [w for w in works if w.error is None]


def _check(ruleset: CompiledRuleset, path: str, works: list[_Work], checks: Checks) -> list[bool]:
    expr = ruleset.need(path)
    results = checks.run(expr, works)
    out = []
    for work, value in zip(works, results, strict=True):
        held = bool(value)
        if work.error is None:
            work.checks[path] = held
        out.append(held)
    return out


def _first_hit(
    ruleset: CompiledRuleset, prefix: str, count: int, works: list[_Work], checks: Checks
) -> list[list[int]]:
    """For each work item, the indexes of the conditions ``prefix[i].when`` that held."""
    hits: list[list[int]] = [[] for _ in works]
    for i in range(count):
        for j, held in enumerate(_check(ruleset, f"{prefix}[{i}].when", works, checks)):
            if held:
                hits[j].append(i)
    return hits


def _evaluate_period(
    ruleset: CompiledRuleset,
    period: str,
    records: list[AgentPeriod],
    agents: dict[str, AgentState],
    checks: Checks,
) -> tuple[list[Decision], list[Rejection], list[Gap], dict[str, AgentState]]:
    model = ruleset.model
    rejections: list[Rejection] = []
    works: list[_Work] = []
    for record in sorted(records, key=lambda r: r.agent_id):
        prepared = _prepare(ruleset, period, record, agents)
        if isinstance(prepared, Rejection):
            rejections.append(prepared)
        else:
            works.append(prepared)

    stages: list[Callable[[CompiledRuleset, list[_Work], Checks], None]] = [_derive, _score, _grade]
    for run in stages:
        run(ruleset, works, checks)
        works = _drop_failed(works, rejections)

    # Levels: every criterion over the whole batch, then the state machine per agent.
    entry_met = [[True] * len(works)]
    for i in range(1, len(model.levels)):
        entry_met.append(_check(ruleset, f"levels[{i}].entry", works, checks))
    maintain = [True] * len(works)
    for i, level in enumerate(model.levels):
        if level.maintain is None:
            continue
        at_level = [j for j, w in enumerate(works) if w.prior.level == level.id and not w.prior.on_probation]
        held = _check(ruleset, f"levels[{i}].maintain", [works[j] for j in at_level], checks) if at_level else []
        for j, ok in zip(at_level, held, strict=True):
            maintain[j] = ok
    promo_hits = _first_hit(ruleset, "promotion.blocked_if", len(model.promotion.blocked_if), works, checks)
    demo_hits = _first_hit(ruleset, "demotion.immediate_if", len(model.demotion.immediate_if), works, checks)
    convert: list[bool | None] = [None] * len(works)
    if model.probation is not None:
        probationers = [j for j, w in enumerate(works) if w.prior.on_probation]
        held = _check(ruleset, "probation.convert_if", [works[j] for j in probationers], checks) if probationers else []
        for j, ok in zip(probationers, held, strict=True):
            convert[j] = ok
    works = _drop_failed(works, rejections, keep_index=True)
    month = int(period[5:7])
    level_decisions = {}
    for j, work in enumerate(works):
        if work.error is not None:
            continue
        inputs = LevelInputs(
            entry_met=[col[j] for col in entry_met],
            maintain_met=maintain[j],
            promotion_vetoes=[model.promotion.blocked_if[k].code for k in promo_hits[j]],
            demotion_vetoes=[model.demotion.immediate_if[k].code for k in demo_hits[j]],
            convert_met=convert[j],
            period_month=month,
        )
        level_decisions[work.record.agent_id] = decide(model, work.prior, inputs)
    works = _live(works)

    _review(ruleset, works, checks)
    works = _drop_failed(works, rejections)

    pays = _pay(ruleset, works, level_decisions, checks)
    works = _drop_failed(works, rejections)

    decisions: list[Decision] = []
    new_agents = dict(agents)
    ruleset_stamp = stamp(ruleset)
    for work in works:
        ld = level_decisions[work.record.agent_id]
        new_state = ld.state.model_copy(update={"last_period": period})
        if work.review is not None:
            new_state = new_state.model_copy(
                update={"review_streak": work.review.streak, "review_stage": work.review.stage}
            )
        new_agents[work.record.agent_id] = new_state
        decisions.append(
            trusted(
                Decision,  # every field is built here with its type: skip re-validation
                agent_id=work.record.agent_id,
                period=period,
                source=work.record.source,
                row=work.record.row,
                level_before=work.prior.level,
                level=new_state.level,
                qualified_level=ld.qualified_level,
                action=ld.action,
                reason=ld.reason,
                why=ld.why,
                on_probation=new_state.on_probation,
                grade=work.grade.grade if work.grade else None,
                coefficient=work.values.get("coefficient"),
                score=work.score,
                review=work.review,
                pay=pays.get(work.record.agent_id),
                checks=work.checks,
                notes=work.notes + ld.notes,
                state=new_state,
                ruleset=ruleset_stamp,
                values=work.values,
            )
        )
    present = {r.agent_id for r in records}
    gaps = [
        Gap(agent_id=a.agent_id, period=period, last_period=a.last_period)
        for a in sorted(agents.values(), key=lambda a: a.agent_id)
        if a.agent_id not in present and a.last_period is not None and a.last_period < period
    ]
    return decisions, rejections, gaps, new_agents


def _drop_failed(works: list[_Work], rejections: list[Rejection], keep_index: bool = False) -> list[_Work]:
    for work in works:
        if work.error is not None and not work.reported:
            work.reported = True
            rejections.append(_reject(work.record, work.error))
    return works if keep_index else _live(works)


def _derive(ruleset: CompiledRuleset, works: list[_Work], checks: Checks) -> None:
    for name in ruleset.derived_order:
        live = _live(works)
        for work, value in zip(live, _batch(ruleset.need(f"derived.{name}.expr"), live), strict=True):
            if work.error is None:
                work.values[name] = value


def _score(ruleset: CompiledRuleset, works: list[_Work], checks: Checks) -> None:
    card = ruleset.model.scorecard
    if card is None or not works:
        return
    hits = _first_hit(ruleset, "scorecard.vetoes", len(card.vetoes), works, checks)
    live = [(w, h) for w, h in zip(works, hits, strict=True) if w.error is None]
    vetoes: list[ScoreVeto | None] = [card.vetoes[h[0]] if h else None for _, h in live]
    scores = compute_scores(card, ruleset.model.metrics, [w.values for w, _ in live], vetoes)
    for (work, _), score in zip(live, scores, strict=True):
        work.score = score
        work.values[card.name] = score.value
        work.notes.extend(score.notes)


def _grade(ruleset: CompiledRuleset, works: list[_Work], checks: Checks) -> None:
    grades = ruleset.model.grades
    if not grades:
        return
    pending = list(works)
    for i, grade in enumerate(grades):
        if not pending:
            break
        if grade.when is None:
            for work in pending:
                work.grade = grade
            break
        held = _check(ruleset, f"grades[{i}].when", pending, checks)
        rest = []
        for work, ok in zip(pending, held, strict=True):
            if work.error is not None:
                continue
            if ok:
                work.grade = grade
            else:
                rest.append(work)
        pending = rest
    for work in works:
        if work.grade is not None:
            work.values["grade"] = work.grade.grade


def _review(ruleset: CompiledRuleset, works: list[_Work], checks: Checks) -> None:
    rule = ruleset.model.review
    if rule is None or not works:
        return
    exempt_hits = _first_hit(ruleset, "review.exempt", len(rule.exempt), works, checks)
    floor = _check(ruleset, "review.only_if", works, checks) if rule.only_if is not None else [True] * len(works)
    better = rule.better or _direction(ruleset, rule.rank_by)
    items = []
    for work, hits, below in zip(works, exempt_hits, floor, strict=True):
        exempt = None
        if hits:
            ex = rule.exempt[hits[0]]
            exempt = (ex.code, label_text(ex.reason, "en", f"`{ex.when}` holds"))
        items.append(
            ReviewInput(
                agent_id=work.record.agent_id,
                cohort=cohort_label(rule.cohort_by, work.values),
                value=work.values[rule.rank_by],
                exempt=exempt,
                below_floor=below,
                prior_streak=work.prior.review_streak,
            )
        )
    for work, result in zip(works, review_period(rule, better, items), strict=True):
        work.review = result


def _direction(ruleset: CompiledRuleset, name: str) -> str:
    metric = ruleset.model.metrics.get(name)
    if metric is not None and metric.better in ("higher", "lower"):
        return metric.better
    return "higher"


def _pay(
    ruleset: CompiledRuleset, works: list[_Work], level_decisions: Mapping[str, Any], checks: Checks
) -> dict[str, Any]:
    pay = ruleset.model.pay
    if pay is None or not works:
        return {}
    bases = []
    for work in works:
        coefficient, basis = coefficient_for(pay, work.grade, work.values)
        work.values["coefficient"] = coefficient if coefficient is not None else Decimal(1)
        bases.append(basis)
    applies: dict[str, list[bool]] = {}
    formulas: dict[str, list[Any]] = {}
    for i, line in enumerate(pay.lines):
        if line.when is not None:
            applies[line.id] = _check(ruleset, f"pay.lines[{i}].when", works, checks)
        if line.formula is not None:
            formulas[line.id] = _batch(ruleset.need(f"pay.lines[{i}].formula"), works)
    out = {}
    for j, (work, basis) in enumerate(zip(works, bases, strict=True)):
        if work.error is not None:
            continue
        ld = level_decisions[work.record.agent_id]
        try:
            out[work.record.agent_id] = compute_pay(
                pay,
                ruleset.model.currency,
                PayInputs(
                    level=ld.pay_level,
                    values=work.values,
                    coefficient=work.values["coefficient"] if uses_coefficient(pay, ruleset.model.grades) else None,
                    coefficient_basis=basis,
                    on_probation=ld.state.on_probation,
                    line_applies={k: v[j] for k, v in applies.items()},
                    formulas={k: v[j] for k, v in formulas.items()},
                ),
            )
        except ValueError as error:
            work.error = f"pay: {error}"
    return out
