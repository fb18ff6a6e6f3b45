"""Evaluation: records and prior state in; decisions, rejections, gaps and new state out.

Pure: no files, no clock, no globals. The periods of the records are evaluated in order, each
as one :class:`~tierpay.engine.period.PeriodRun` over the period's columns, with the carried
state (:class:`~tierpay.engine.book.Book`) passed from one to the next. A whole history in
one call and month-by-month calls chained through the returned state give the same answers,
because both go through ``Evaluation``.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.engine.book import AGENT, Book
from tierpay.engine.cells import decision_cells, decision_columns, empty_cells
from tierpay.engine.columns import ROW, SOURCE, RecordFrame, records_frame
from tierpay.engine.decisions import stamp
from tierpay.engine.human import (
    HumanDecision,
    HumanDecisions,
    check_rows,
    decision_items,
    human_decisions,
    record_rejected,
)
from tierpay.engine.ladders import LadderBook, Rungs, enter, global_prior, ladder_cells, route, undo
from tierpay.engine.outcome import Outcome, PeriodPart
from tierpay.engine.period import CheckCache, PeriodRun
from tierpay.engine.records import (
    AgentPeriod,
    RecordBatch,
    Rejection,
    headed,
    records_from_dicts,
    split_duplicates,
)
from tierpay.engine.results import Gap, RulesetStamp
from tierpay.engine.segments import merge_segments, segment_key
from tierpay.engine.state import State
from tierpay.engine.state_fit import check_state
from tierpay.engine.tables import Table, is_table, parse_table, table_kind, table_rows
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions, not_in_force, ruleset_for

Target = CompiledRuleset | RulesetVersions


Records = RecordFrame | RecordBatch | Table | Iterable[AgentPeriod | Mapping[str, Any]]


Decisions = HumanDecisions | Iterable[HumanDecision | Mapping[str, Any]] | Table


def evaluate(
    ruleset: Target,
    records: Records,
    state: State | None = None,
    *,
    state_from_other_ruleset: bool = False,
    decisions: Decisions | None = None,
) -> Outcome:
    """Evaluate every period in ``records`` in order, carrying ``state`` from one to the next.

    ``records`` is what a reader gives (``read_records``, or ``read_frame``'s checked
    columns), ``AgentPeriod`` values, plain dicts (checked here), or a pandas or polars
    DataFrame or a pyarrow Table (checked as a CSV of the same data would be, rejections
    naming ``<DataFrame>`` or ``<Table>``). With ``RulesetVersions`` each period is
    evaluated under the version in force on its first day; records of a period no version
    covers (or, for one ruleset file, outside its ``effective_from``/``effective_to``) are
    rejected, naming the period. Returns the decisions (as columns, each ``Decision`` built on
    demand), the rejections, the gaps and the state after the last period. Evaluating
    several periods at once gives exactly what chaining single-period calls through the
    returned state gives.

    ``state`` must have been written under ``ruleset`` (one of its versions, by content hash):
    a state written under other rules raises ``StateError`` naming both, unless
    ``state_from_other_ruleset`` carries it over. Either way each agent's state is checked
    against the rules (:func:`tierpay.engine.state_fit.check_state`); a state without a hash,
    from an earlier tierpay, gives a warning in the outcome's ``warnings``.

    ``decisions`` are people's decisions (:mod:`tierpay.engine.human`): ``HumanDecision``
    models, what ``read_decisions`` read, plain dicts with a decisions file's columns (checked
    here, numbered from 1), or a pandas or polars DataFrame or pyarrow Table with those columns. Each applies in its period in place of the engine's rule for its
    field; one that cannot apply is a rejection, and the rest of the run stands. Given (even
    none), the decisions CSV has the ``decided`` and ``decided_by`` columns.
    """
    run = Evaluation(ruleset, state, keep=True, state_from_other_ruleset=state_from_other_ruleset, decisions=decisions)
    frame = as_frame(ruleset, records)
    for _ in run.feed(frame):
        pass
    return run.outcome(frame.rejections, frame.warnings)


@dataclass(frozen=True)
class PeriodResult:
    """What one period produced: its decisions as CSV cells (and the run they can be built from).

    A ruleset with ladders decides a period in one run per ladder: ``parts`` holds each
    ladder's cells and run, and ``cells`` all of them, ladder after ladder.
    """

    period: str
    cells: pl.DataFrame
    rejections: list[Rejection]
    gaps: list[Gap]
    run: PeriodRun | None = None
    parts: tuple[PeriodPart, ...] = ()

    def pieces(self) -> list[PeriodPart]:
        """The period's decisions as outcome parts: one per ladder, or the one run's."""
        return list(self.parts) if self.parts else [PeriodPart(self.cells, self.run)]


class Evaluation:
    """An evaluation in progress: periods fed in order, the state carried between them.

    ``evaluate`` uses it for a whole history in memory (``keep=True``: every period's run is
    kept, so decisions can be built on demand); a reader that streams a large file one period
    at a time feeds it the same way and keeps nothing but the carried state.
    """

    def __init__(
        self,
        ruleset: Target,
        state: State | None = None,
        keep: bool = False,
        *,
        state_from_other_ruleset: bool = False,
        decisions: Decisions | None = None,
        adjusting: bool = False,
    ) -> None:
        self.ruleset = ruleset
        self.adjusting = adjusting
        """Whether closed periods decided again are paid for (a run with a ledger): a ``pay_adjustment`` column."""
        self.warnings = check_state(ruleset, state, state_from_other_ruleset) if state is not None else []
        self.start = state or State(ruleset=ruleset.name)
        self.keep = keep
        self.book: Book | None = None
        self.checks: dict[str, CheckCache] = {}
        self.used: dict[str, RulesetStamp] = {}
        self.last_version: CompiledRuleset | None = None
        self.periods: list[str] = []
        self.results: list[PeriodResult] = []
        self.rejections: list[Rejection] = []
        self.gaps: list[Gap] = []
        self.headers: dict[str, dict[str, str]] = {}
        """By records source, each field its header names otherwise: reasons name the column as the file has it."""
        self.human = as_decisions(decisions) if decisions is not None else None
        self.rejected: set[tuple[str | None, str | None]] = set()  # agent-periods whose record was rejected as read
        self.refused: set[int] = set()  # the ids of the rejections that are people's decisions refused
        self.pending = self.human.by_period() if self.human is not None else {}
        if self.human is not None:
            self._refuse(self.human.rejections)
            self.warnings.extend(self.human.warnings)

    @property
    def decided(self) -> bool:
        """Whether people's decisions were given (the decisions CSV then has their columns)."""
        return self.human is not None

    def close(self) -> list[Rejection]:
        """Refuse the people's decisions of periods no record came for; returns them (once)."""
        left = [
            d.rejected(
                record_rejected(d)
                if (d.agent_id, d.period) in self.rejected
                else f"period: no record of {d.period} was read: the decision has nothing to apply to"
            )
            for ds in self.pending.values()
            for d in ds
        ]
        self.pending = {}
        self._refuse(left)
        return left

    def _refuse(self, refused: Iterable[Rejection]) -> None:
        """People's decisions that cannot apply, among the rejections (and counted apart)."""
        for r in refused:
            self.refused.add(id(r))
            self.rejections.append(r)

    def feed(self, records: RecordFrame, periods: Iterable[str] = ()) -> Iterator[PeriodResult]:
        """Evaluate every period of ``records`` in order, yielding each period's result as it is decided.

        ``periods`` are evaluated too when ``records`` have no row for them: a part of a larger
        run (one Spark bucket) then finds the gaps the whole run would (an agent with no record
        in a month that other records have).
        """
        self.rejected.update((r.agent_id, r.period) for r in records.rejections)
        self.headers[records.source] = records.headers
        frame = records.frame
        order = frame.select("period", "agent_id").with_row_index("__at").sort(["period", "agent_id"])
        groups = {str(period): at["__at"] for (period,), at in order.group_by("period", maintain_order=True)}
        for period in sorted(groups.keys() | set(periods)):
            at = groups.get(period)
            rows = frame.clear() if at is None else frame[at]  # one period's copy at a time
            yield self.period(period, rows, records.source)

    def period(
        self, period: str, rows: pl.DataFrame, source: str, adjustments: Mapping[str, str] | None = None
    ) -> PeriodResult:
        """Evaluate one period's rows (all of them: the review ranks the whole cohort).

        ``adjustments`` gives, by agent, what closed periods decided again pay this period
        (:func:`tierpay.engine.adjustments.adjustments_text`); only with ``adjusting``.
        """
        version = ruleset_for(self.ruleset, period)
        if self.periods and period <= self.periods[-1]:
            reason = (
                f"period: {period} comes after {self.periods[-1]} was evaluated: group the records by period, in order"
            )
            result = PeriodResult(period, self._empty(), rejected_rows(rows, source, reason), [])
        elif version is None:
            reason = not_in_force(self.ruleset, period)
            self.periods.append(period)
            result = PeriodResult(period, self._empty(), rejected_rows(rows, source, reason), [])
        else:
            self.periods.append(period)
            given = (adjustments or {}) if self.adjusting else None
            result = self._run(version, period, rows, source, given)
        if result.run is None and period in self.pending and not result.cells.height:
            refused = [d.rejected(record_rejected(d)) for d in self.pending.pop(period)]
            self.refused.update(id(r) for r in refused)
            result = PeriodResult(result.period, result.cells, [*result.rejections, *refused], result.gaps)
        if self.headers.get(source):  # the records' reasons name the file's columns as it has them
            result = dataclasses.replace(result, rejections=headed(result.rejections, self.headers))
        self.rejections.extend(result.rejections)
        self.gaps.extend(result.gaps)
        if self.keep:
            self.results.append(result)
        return result

    def _run(
        self,
        version: CompiledRuleset,
        period: str,
        rows: pl.DataFrame,
        source: str,
        adjustments: Mapping[str, str] | None = None,
    ) -> PeriodResult:
        self.used.setdefault(version.sha256, stamp(version))
        self.last_version = version
        if self.book is None:
            self.book = Book(version, self.start)
        else:
            self.book.rebase(version)
        book = self.book
        rows, unmerged = merge_segments(version, rows, source)
        self.rejected.update((r.agent_id, r.period) for r in unmerged)  # rejected as read, for people's decisions
        if version.ladders:
            result = self._run_ladders(version, period, rows, source, book, adjustments)
            return dataclasses.replace(result, rejections=[*unmerged, *result.rejections])
        checks = self.checks.setdefault(version.sha256, CheckCache())
        with collector_paused():
            human = self.pending.pop(period, []) if self.human is not None else None
            run = PeriodRun(
                version, period, book.numbered(rows), book, checks, source, human, self.rejected, adjustments
            )
            run.run()
            cells = decision_cells(run)
            run.finish()  # keep the answers, not the stages' working columns and row lists
        gaps = book.gaps(period, run.agent)
        book.advance(period, *run.new_state())
        self.refused.update(id(r) for r in run.applied.refused)
        self.warnings.extend(run.applied.warnings())
        return PeriodResult(period, cells, [*unmerged, *run.rejections()], gaps, run if self.keep else None)

    def _run_ladders(
        self,
        version: CompiledRuleset,
        period: str,
        rows: pl.DataFrame,
        source: str,
        book: Book,
        adjustments: Mapping[str, str] | None = None,
    ) -> PeriodResult:
        """One period of a ruleset with ladders: each row routed to its ladder, each ladder run on its own."""
        rows = book.numbered(rows)
        rungs = Rungs.of(version)
        human = self.pending.pop(period, []) if self.human is not None else None
        routing = route(version, rungs, rows, book, human or [])
        rejections = _rejected_rows(rows, source, routing.refused)
        self.rejected.update((r.agent_id, r.period) for r in rejections)
        refused = [d.rejected(why) for d, why in routing.refused_decisions]
        gaps = book.gaps(period, rows[AGENT].to_numpy())
        saved = enter(book, routing.moves, rows)
        parts: list[PeriodPart] = []
        decided: list[npt.NDArray[np.int64]] = []
        placed: set[int] = {id(d) for d, _ in routing.refused_decisions}
        for k, name in enumerate(rungs.names):
            mask = routing.ladder == k
            if not mask.any():
                continue
            ladder = version.ladders[name]
            part = rows.filter(pl.Series(mask))
            on = set(part["agent_id"].to_list())
            mine = None if human is None else [d for d in human if d.agent_id in on and id(d) not in placed]
            placed.update(id(d) for d in mine or [])
            checks = self.checks.setdefault(f"{version.sha256} {name}", CheckCache())
            with collector_paused():
                view = LadderBook(book, ladder, rungs.start[k])
                run = PeriodRun(ladder, period, part, view, checks, source, mine, self.rejected, adjustments)
                run.moves = {m.decision.agent_id: m.before for m in routing.moves if m.ladder == k}
                run.run()
                cells = ladder_cells(run, name, version, self.decided, self.adjusting)
                run.finish()
            agents, state, review, due = run.new_state()
            book.advance(period, agents, global_prior(state, rungs.start[k]), review, due)
            decided.append(agents)
            self.refused.update(id(r) for r in run.applied.refused)
            self.warnings.extend(run.applied.warnings())
            rejections += run.rejections()
            parts.append(PeriodPart(cells, run if self.keep else None))
        undo(book, saved, np.concatenate(decided) if decided else np.zeros(0, dtype=np.int64))
        for d in human or []:
            if id(d) not in placed:
                refused.append(
                    d.rejected(
                        record_rejected(d)
                        if (d.agent_id, d.period) in self.rejected
                        else f"agent_id: {d.agent_id} has no record in {d.period}: the decision has nothing to apply to"
                    )
                )
        self.refused.update(id(r) for r in refused)
        frames = [p.cells for p in parts]
        columns = decision_columns(self.ruleset, self.decided, self.adjusting)
        cells = pl.concat([self._empty(), *frames], how="diagonal").select(columns) if frames else self._empty()
        return PeriodResult(period, cells, [*rejections, *refused], gaps, parts[0].run if parts else None, tuple(parts))

    @property
    def rulesets(self) -> list[RulesetStamp]:
        """Every ruleset version used so far, oldest first (the latest version if none yet)."""
        if self.used:
            return list(self.used.values())
        latest = self.ruleset if isinstance(self.ruleset, CompiledRuleset) else self.ruleset.latest
        return [stamp(latest)]

    @property
    def state(self) -> State:
        """The carried state after the periods evaluated so far, stamped with the version that wrote it."""
        through = max([p for p in (self.start.through, *self.periods) if p], default=None)
        writer = self._writer(through)
        agents = self.book.agents() if self.book is not None else sorted(self.start.agents, key=lambda a: a.agent_id)
        return State(
            ruleset=writer.name,
            ruleset_version=writer.version,
            ruleset_sha256=writer.sha256,
            through=through,
            agents=agents,
        )._written()

    def _writer(self, through: str | None) -> CompiledRuleset:
        """The version a state ending with ``through`` is stamped with: the one in force then.

        Else (that month is not in force) the version of the last period evaluated, the version
        the state in was written under, or the latest.
        """
        if isinstance(self.ruleset, CompiledRuleset):
            return self.ruleset
        in_force = self.ruleset.for_period(through) if through else None
        home = next((v for v in self.ruleset.versions if v.sha256 == self.start.ruleset_sha256), None)
        return in_force or self.last_version or home or self.ruleset.latest

    def outcome(self, rejections: Iterable[Rejection] = (), warnings: Iterable[str] = ()) -> Outcome:
        """The outcome of the periods evaluated (``keep=True``), with the reader's rejections and warnings."""
        self.close()
        found = sorted([*rejections, *self.rejections], key=lambda r: (r.source, r.row))
        return Outcome(
            target=self.ruleset,
            rulesets=self.rulesets,
            periods=sorted(self.periods),
            parts=[part for r in self.results for part in r.pieces()],
            rejections=found,
            gaps=list(self.gaps),
            warnings=[*self.warnings, *warnings],
            state=self.state,
            decided=self.decided,
            refused=[r for r in found if id(r) in self.refused],
            decisions_given=self.decisions_given,
            adjusting=self.adjusting,
        )

    @property
    def decisions_given(self) -> int:
        """How many people's decisions the run was given, applied or refused."""
        return len(self.human.decisions) + len(self.human.rejections) if self.human is not None else 0

    def _empty(self) -> pl.DataFrame:
        return empty_cells(self.ruleset, self.decided, self.adjusting)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's automatic cyclic garbage collection while a period is evaluated.

    A period allocates many small objects and no reference cycles, yet each automatic
    collection rescans every live object (measured: half the evaluation time of a
    20,000-row run). Collection resumes afterwards, also on error, and stays off if the
    host had it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _rejected_rows(rows: pl.DataFrame, source: str, reasons: Mapping[int, str]) -> list[Rejection]:
    """The rows ``reasons`` names (by row index), each rejected with its reason."""
    if not reasons:
        return []
    at = sorted(reasons)
    picked = rows[at]
    sources = picked[SOURCE].to_list() if SOURCE in rows.columns else [source] * len(at)
    return [
        Rejection(source=s, row=row, agent_id=agent, period=period, reasons=[reasons[i]])
        for i, s, row, agent, period in zip(
            at, sources, picked[ROW].to_list(), picked["agent_id"].to_list(), picked["period"].to_list(), strict=True
        )
    ]


def rejected_rows(rows: pl.DataFrame, source: str, reason: str) -> list[Rejection]:
    """Every row of ``rows`` rejected for one ``reason`` (a period no version covers, one out of order...)."""
    sources = rows[SOURCE].to_list() if SOURCE in rows.columns else [source] * rows.height
    return [
        Rejection(source=s, row=row, agent_id=agent, period=period, reasons=[reason])
        for s, row, agent, period in zip(
            sources, rows[ROW].to_list(), rows["agent_id"].to_list(), rows["period"].to_list(), strict=True
        )
    ]


def as_decisions(decisions: Decisions) -> HumanDecisions:
    """Any of the decision inputs ``evaluate`` takes, checked (a frame as a CSV of the same data)."""
    if is_table(decisions):
        name = table_kind(decisions) or "<DataFrame>"
        return check_rows(table_rows(decisions, name), name)
    if isinstance(decisions, HumanDecisions):
        return human_decisions(decisions)
    items = list(decisions)
    models = [d for d in items if isinstance(d, HumanDecision)]
    if len(models) == len(items):
        return human_decisions(models)
    if models:
        raise TypeError("give either HumanDecision models or plain dicts, not a mix")
    return decision_items([d for d in items if not isinstance(d, HumanDecision)], "<decisions>")


def as_frame(target: Target, records: Records) -> RecordFrame:
    """Any of the record inputs ``evaluate`` takes, as checked columns."""
    if isinstance(records, RecordFrame):
        return records
    if is_table(records):
        batch = RecordBatch(*parse_table(target, records))
    elif isinstance(records, RecordBatch):
        batch = records
    else:
        batch = _as_batch(target, records)
    sources = {r.source for r in batch.records}
    source = sources.pop() if len(sources) == 1 else "<records>"
    frame = records_frame(target, batch.records, source)
    return RecordFrame(frame, source, list(batch.rejections), list(batch.warnings), dict(batch.headers))


def _as_batch(target: Target, records: Iterable[AgentPeriod | Mapping[str, Any]]) -> RecordBatch:
    items = list(records)
    checked = [r for r in items if isinstance(r, AgentPeriod)]
    raw = [r for r in items if not isinstance(r, AgentPeriod)]
    if not raw:
        good, dupes = split_duplicates(checked, _segment_key(target))
        return RecordBatch(good, dupes)
    if checked:
        raise TypeError("give either AgentPeriod records or plain dicts, not a mix")
    good, rejected, warnings = records_from_dicts(target, raw)
    return RecordBatch(good, rejected, warnings)


def _segment_key(target: Target) -> str | None:
    """The attribute that tells a month's segments apart, in any version of ``target``."""
    versions = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    return next((k for v in versions if (k := segment_key(v.model)) is not None), None)
