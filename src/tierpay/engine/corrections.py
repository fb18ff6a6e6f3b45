"""A run against the history of earlier runs: resume where it ended, and correct closed months.

Pure: the history (what a ledger holds, :class:`History`) comes in as values and what is to
be stored goes out as values; :mod:`tierpay.ledger` reads and writes the database.

The rules, in order:

- A closed month whose records are as they were closed (the same agents, each record with
  the same hash) is not decided again.
- A closed month whose records differ is decided again, with every closed month after it,
  from the state stored before it. Its rows in the ledger stay as they were: the new
  decisions are a correction. Each agent whose pay for the month changes is owed the
  difference (:class:`~tierpay.engine.adjustments.Adjustment`), paid in the agent's first
  open month with a decided record, this run's or a later one's.
- Open months are decided from the state stored after the month before the first of them
  (or the ledger's first state), with what is owed paid in.
- A record is rejected, naming why, when its month comes before a closed month and is not
  one, when a closed month decided again lacks some of the agents it was closed with, when a
  changed closed month has a closed month after it that the records lack (every record of a
  closed month after a changed one is rejected then: deciding one without the other would
  keep what the correction changes), or when the months the run decides skip one the ledger
  holds (it was decided from what this run changes, so it must be decided again too).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from tierpay.engine.adjustments import Adjustment, adjustments_text
from tierpay.engine.columns import TEXT, fields
from tierpay.engine.outcome import Outcome
from tierpay.engine.pay import number
from tierpay.engine.records import Rejection, headed
from tierpay.engine.run import Decisions, Evaluation, PeriodResult, Records, as_frame, rejected_rows
from tierpay.engine.state import State
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

Target = CompiledRuleset | RulesetVersions
ZERO = Decimal(0)
_LISTED = 5  # agents named in a message before "and N more"


@dataclass(frozen=True)
class PeriodHistory:
    """One month as the ledger holds it: the decisions in force (the closing run's, or the last correction's)."""

    period: str
    closed: bool
    state_after: State
    hashes: Mapping[str, str]
    """Each agent's record hash, as decided."""
    paid: Mapping[str, Decimal]
    """Each agent's pay for the month's own work: the total less the adjustments it paid for other months."""
    levels: Mapping[str, str] = field(default_factory=dict)
    """Each agent's level after the month, as decided: to say which a correction changes."""


@dataclass(frozen=True)
class Owed:
    """An adjustment the ledger holds, and the open month it was paid in (None: not yet paid)."""

    agent_id: str
    adjustment: Adjustment
    paid_in: str | None = None
    key: Any = None
    """The ledger's own handle on it, handed back in ``LedgerRun.paid``."""


@dataclass(frozen=True)
class History:
    """What the ledger holds, as the engine needs it: the months decided, in order, and what is owed."""

    periods: Sequence[PeriodHistory] = ()
    start: State | None = None
    """The state the ledger's first month was decided from."""
    owed: Sequence[Owed] = ()

    def closed(self) -> list[str]:
        """The closed months, oldest first."""
        return [p.period for p in self.periods if p.closed]


@dataclass
class LedgerRun:
    """What a run against a history decided, and what the ledger is to store of it."""

    outcome: Outcome
    """The open months' decisions: what the run's files show."""
    results: list[PeriodResult]
    """Every month decided, closed ones decided again included, in order."""
    corrected: list[str]
    """The closed months decided again."""
    unchanged: list[str]
    """Closed months in the records as they were closed: not decided again."""
    start: State | None
    """The state the first month decided began from."""
    states: dict[str, State] = field(default_factory=dict)
    """The state after each month decided."""
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each month's record hash by agent."""
    new: list[Owed] = field(default_factory=list)
    """Adjustments this run found (``key`` None), in month then agent order."""
    paid: dict[tuple[str, str], list[Owed]] = field(default_factory=dict)
    """(month, agent) -> the adjustments paid in it: those the ledger held, and new ones (the very objects of ``new``)."""
    unpaid: list[Owed] = field(default_factory=list)
    """Adjustments the ledger held as paid in an open month this run decided again without paying them (no record)."""
    rejected_months: dict[str, str] = field(default_factory=dict)
    """Months whose every record was rejected before deciding, and why."""

    def moves(self, history: History) -> list[tuple[str, str, str, str]]:
        """(month, agent, level as closed, level now) for each agent a correction moves to another level."""
        held = {p.period: p for p in history.periods}
        found = []
        for result in self.results:
            if result.period not in self.corrected:
                continue
            before = held[result.period].levels
            for agent, level in result.cells.select("agent_id", "level").iter_rows():
                if agent in before and before[agent] != level:
                    found.append((result.period, agent, before[agent], level))
        return found


def record_hashes(target: Target, frame: pl.DataFrame) -> list[str]:
    """Each record's hash: what the rules read of it (never its row, file, or ``--keep`` columns).

    Numbers are compared as values, so ``95.0`` and ``95`` are one record; a blank is not a zero.
    """
    attributes, metrics = fields(target)
    kept = set()
    for version in [target] if isinstance(target, CompiledRuleset) else target.versions:
        kept |= set(version.model.keep)
    names = [n for n in attributes if n not in kept and n in frame.columns]
    texts = [m for m in metrics if m + TEXT in frame.columns]
    columns = ["agent_id", "period", "level", *names, *(m + TEXT for m in texts)]
    found = []
    for row in frame.select(columns).iter_rows():
        head = list(row[: 3 + len(names)])
        values = [None if v is None else number(Decimal(str(v))) for v in row[3 + len(names) :]]
        data = json.dumps([head, dict(zip(texts, values, strict=True))], ensure_ascii=False, default=str)
        found.append(hashlib.sha256(data.encode("utf-8")).hexdigest())
    return found


def run_with_history(
    ruleset: Target,
    records: Records,
    history: History,
    state: State | None = None,
    *,
    state_from_other_ruleset: bool = False,
    decisions: Decisions | None = None,
) -> LedgerRun:
    """Decide ``records`` after ``history``: resume, correct closed months, pay what is owed.

    ``records`` is anything ``evaluate`` takes; ``state`` is where a history with no month
    begins (``--state-in`` on a new ledger); ``decisions`` are people's, as ``evaluate`` takes them.
    """
    records = as_frame(ruleset, records)
    frame = records.frame
    hashes = record_hashes(ruleset, frame)
    frame = frame.with_columns(pl.Series("__hash", hashes, dtype=pl.String))
    by_period = {p.period: p for p in history.periods}
    closed = history.closed()
    last_closed = closed[-1] if closed else None
    months = sorted(set(frame["period"].to_list()))
    mine = {q: _hashes(frame, q) for q in months}
    rejected: dict[str, str] = {}
    changed: list[str] = []
    for q in months:
        held = by_period.get(q)
        if held is not None and held.closed:
            missing = sorted(set(held.hashes) - set(mine[q]))
            if missing:
                rejected[q] = (
                    f"period: {q} is closed with {len(held.hashes)} agents and the records hold "
                    f"{len(held.hashes) - len(missing)} of them: deciding a closed month again takes every "
                    f"record of it (missing: {_listed(missing)})"
                )
            elif mine[q] != dict(held.hashes):
                changed.append(q)
        elif last_closed is not None and q < last_closed:
            rejected[q] = f"period: {q} comes before {last_closed}, which is closed: it can no longer be decided"
    first = changed[0] if changed else None
    gone = [p for p in closed if first is not None and p > first and (p not in months or p in rejected)]
    if first is not None and gone:  # a later closed month would keep what the correction changes
        for q in months:
            if q in closed and q >= first and q not in rejected:
                rejected[q] = (
                    f"period: {first} is closed and these records change it; deciding it again decides {gone[0]} "
                    f"(closed after it) again too, and the records hold {'none' if gone[0] not in months else 'not all'} "
                    f"of {gone[0]}: give every record of every month from {first} on"
                )
        first = None
    decide = [q for q in months if q not in rejected and (q not in closed or (first is not None and q >= first))]
    unchanged = [q for q in months if q in closed and q not in decide and q not in rejected]
    if decide:  # a month the ledger holds between those decided must be decided again too
        for held in history.periods:
            if decide[0] < held.period < decide[-1] and held.period not in decide:
                after = [q for q in decide if q > held.period]
                for q in after:
                    rejected[q] = (
                        f"period: the ledger holds {held.period}, between the months these records decide "
                        f"({decide[0]} to {decide[-1]}): give the records of {held.period} too"
                    )
                decide = [q for q in decide if q < held.period]
                break
    if first is not None and first not in decide:
        first = None
    start = _start(history, decide[0] if decide else None, state)
    run = Evaluation(
        ruleset,
        start,
        keep=True,
        state_from_other_ruleset=state_from_other_ruleset,
        adjusting=True,
        decisions=decisions,
    )
    run.headers[records.source] = records.headers
    owed: dict[str, list[Owed]] = {}
    for item in history.owed:
        if item.paid_in is None or (item.paid_in in decide and item.paid_in not in closed):
            owed.setdefault(item.agent_id, []).append(item)
    found = _Found()
    early: list[Rejection] = []
    for q in months:
        if q in rejected:
            rows = frame.filter(pl.col("period") == q)
            early += rejected_rows(rows, records.source, rejected[q])
    for q in decide:
        rows = frame.filter(pl.col("period") == q)
        found.hashes[q] = _hashes(rows, q)
        if q in closed:
            result = run.period(q, rows.drop("__hash"), records.source, {})
            _compare(by_period[q], result, found, owed)
        else:
            texts = {a: adjustments_text(_merged(items)) for a, items in owed.items() if items}
            result = run.period(q, rows.drop("__hash"), records.source, texts)
            for agent in _paid_agents(result):
                if owed.get(agent):
                    found.paid[(q, agent)] = owed.pop(agent)
        found.results.append(result)
        found.states[q] = run.state
    open_results = [r for r in found.results if r.period not in closed]
    rejections = sorted(
        [*records.rejections, *headed(early, run.headers), *run.rejections], key=lambda r: (r.source, r.row)
    )
    outcome = Outcome(
        target=ruleset,
        rulesets=run.rulesets,
        periods=sorted(r.period for r in open_results),
        parts=[part for r in open_results for part in r.pieces()],
        rejections=rejections,
        gaps=list(run.gaps),
        warnings=[*run.warnings, *records.warnings],
        state=run.state,
        decided=run.decided,
        refused=[r for r in rejections if id(r) in run.refused],
        decisions_given=run.decisions_given,
        adjusting=True,
    )
    return LedgerRun(
        outcome=outcome,
        results=found.results,
        corrected=[q for q in decide if q in closed],
        unchanged=unchanged,
        start=start,
        states=found.states,
        hashes=found.hashes,
        new=found.new,
        paid=found.paid,
        unpaid=[o for items in owed.values() for o in items if o.paid_in is not None],
        rejected_months=dict(rejected),
    )


@dataclass
class _Found:
    """What the months decided so far gave, gathered for the ``LedgerRun``."""

    results: list[PeriodResult] = field(default_factory=list)
    states: dict[str, State] = field(default_factory=dict)
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    new: list[Owed] = field(default_factory=list)
    paid: dict[tuple[str, str], list[Owed]] = field(default_factory=dict)


def _hashes(frame: pl.DataFrame, period: str) -> dict[str, str]:
    """Each agent's record hash for ``period``; an agent-month of several records (segments) hashes them all."""
    rows = frame.filter(pl.col("period") == period)
    found: dict[str, list[str]] = {}
    for agent, digest in zip(rows["agent_id"].to_list(), rows["__hash"].to_list(), strict=True):
        found.setdefault(agent, []).append(digest)
    return {
        agent: digests[0] if len(digests) == 1 else hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()
        for agent, digests in found.items()
    }


def _listed(agents: list[str]) -> str:
    more = len(agents) - _LISTED
    return ", ".join(agents[:_LISTED]) + (f" and {more} more" if more > 0 else "")


def _start(history: History, first: str | None, state: State | None) -> State | None:
    """The state before ``first``: after the latest month the ledger holds before it, else where the ledger began."""
    before = [p for p in history.periods if first is not None and p.period < first]
    if before:
        return before[-1].state_after
    return history.start if history.periods else state


def _compare(held: PeriodHistory, result: PeriodResult, found: _Found, owed: dict[str, list[Owed]]) -> None:
    """Each agent whose pay for a closed month decided again differs from what it paid: owed the difference."""
    cells = result.cells
    if "pay_total" not in cells.columns:
        return
    totals = cells.select("agent_id", "pay_total").iter_rows()
    for agent, total in totals:
        if total is None:
            continue
        due = Decimal(total)
        paid = held.paid.get(agent, ZERO)
        if due == paid:
            continue
        item = Owed(agent, Adjustment(held.period, paid, due))
        found.new.append(item)
        owed.setdefault(agent, []).append(item)


def _merged(items: list[Owed]) -> list[Adjustment]:
    """One adjustment per month corrected: a month corrected twice before it is paid pays from the first paid to the last due."""
    by_month: dict[str, Adjustment] = {}
    for item in items:
        a = item.adjustment
        earlier = by_month.get(a.for_period)
        by_month[a.for_period] = a if earlier is None else Adjustment(a.for_period, earlier.paid, a.due)
    return [a for a in by_month.values() if a.amount]


def _paid_agents(result: PeriodResult) -> list[str]:
    """The agents a month decided a pay for."""
    cells = result.cells
    if "pay_total" not in cells.columns:
        return []
    return cells.filter(pl.col("pay_total").is_not_null())["agent_id"].to_list()


def own_pay(total: str | None, adjustment: str | None) -> Decimal | None:
    """A month's pay for its own work: its total less the adjustments it paid for closed months."""
    if total is None:
        return None
    return Decimal(total) - (Decimal(adjustment) if adjustment else ZERO)
