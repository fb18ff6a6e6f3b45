"""What an evaluation returns: the decisions as columns, with ``Decision`` objects on demand.

An ``Outcome`` keeps each period's decisions as the cells of the decisions CSV and the run
that decided them. ``to_polars()``, ``to_pandas()`` and ``to_arrow()`` give one row per
agent-period with typed columns (money and scores as exact decimals, never floats);
``decision()``, ``select()`` and iterating ``decisions`` build the pydantic ``Decision`` of
just the rows asked for, so a payroll run of a million agent-months never holds a million
objects.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TextIO, overload

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from tierpay.engine.cells import decision_columns, empty_cells
from tierpay.engine.decision_json import DecisionJson
from tierpay.engine.decisions import build_decision, decision_fields
from tierpay.engine.period import PeriodRun
from tierpay.engine.period_json import period_column
from tierpay.engine.records import Rejection
from tierpay.engine.results import Decision, Gap, RulesetStamp
from tierpay.engine.state import State
from tierpay.errors import NoDecision
from tierpay.io.behind import write_texts
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

_CHUNK = 8192  # decisions written together: few polars calls each, and about 50 MB of text held

_BOOLEAN = ("on_probation", "review_flagged")
_INTEGER = ("review_rank", "review_cohort_size")
_DECIMAL_PREFIX = "pay_"
_DECIMAL = ("score", "coefficient", "review_percentile", "pay_total")


@dataclass(frozen=True)
class PeriodPart:
    """One period's decided rows as CSV cells, and the run they were decided by."""

    cells: pl.DataFrame
    run: PeriodRun | None

    @cached_property
    def rows(self) -> list[int]:
        """The run's row number of each decided row, in the order of ``cells``."""
        if self.run is None:
            return []
        found: list[int] = np.flatnonzero(self.run.decided).tolist()
        return found


class _Head(BaseModel):
    """The outcome's JSON, less its decisions (which are written one at a time)."""

    model_config = ConfigDict(frozen=True)

    ruleset: RulesetStamp
    rulesets: list[RulesetStamp]
    periods: list[str]
    decisions: list[Decision]
    rejections: list[Rejection]
    gaps: list[Gap]
    warnings: list[str]
    state: State


class Outcome:
    """The result of evaluating records: every input record is in the decisions or in ``rejections``."""

    def __init__(
        self,
        target: CompiledRuleset | RulesetVersions,
        rulesets: list[RulesetStamp],
        periods: list[str],
        parts: list[PeriodPart],
        rejections: list[Rejection],
        gaps: list[Gap],
        warnings: list[str],
        state: State,
        decided: bool = False,
        refused: Sequence[Rejection] = (),
        decisions_given: int = 0,
        adjusting: bool = False,
    ) -> None:
        self.target = target
        self.adjusting = adjusting
        """Whether the decisions have a ``pay_adjustment`` column (a run that keeps a ledger)."""
        self.rulesets = rulesets
        """Every ruleset version used, oldest first."""
        self.ruleset = rulesets[-1]
        """The ruleset (the latest version) the outcome was computed under."""
        self.periods = periods
        self.parts = parts
        self.rejections = rejections
        self.gaps = gaps
        self.warnings = warnings
        self.state = state
        """The carried state after the last period: store it for next month."""
        self.decided = decided
        """Whether people's decisions were given: the decisions CSV then has ``decided`` and ``decided_by``."""
        self.refused = list(refused)
        """The people's decisions that could not apply (also in ``rejections``), each with why."""
        self.decisions_given = decisions_given
        """How many people's decisions were given (rows of the decisions file)."""

    # --- decisions as columns --------------------------------------------------------------

    @cached_property
    def cells(self) -> pl.DataFrame:
        """The decisions as the decisions CSV's text cells (null for an empty cell)."""
        columns = decision_columns(self.target, self.decided, self.adjusting)
        empty = empty_cells(self.target, self.decided, self.adjusting)
        frames = [p.cells for p in self.parts if p.cells.height]
        return pl.concat([empty, *frames], how="diagonal").select(columns) if frames else empty

    def csv(self, header: bool = True) -> str:
        """The decisions CSV: fixed columns (``decision_columns``), quotes only where needed."""
        text: str = self.cells.write_csv(include_header=header, quote_style="necessary", line_terminator="\n")
        return text

    def to_polars(self) -> pl.DataFrame:
        """One row per agent-period, the decisions CSV's columns typed: decimals exact, flags boolean."""
        frame = self.cells
        casts = []
        for name in frame.columns:
            column = pl.col(name)
            if name in _BOOLEAN or name in self._boolean_attributes:
                casts.append((column == "true").alias(name))
            elif name in _INTEGER:
                casts.append(column.cast(pl.Int64))
            elif name in _DECIMAL or (name.startswith(_DECIMAL_PREFIX) and name != "pay_level"):
                places = max(self._declared_places(name), _places(frame[name]))
                casts.append(column.str.to_decimal(scale=places).alias(name))
        return frame.with_columns(casts) if casts else frame

    def to_pandas(self) -> Any:
        """``to_polars()`` as a pandas DataFrame (decimals as ``decimal.Decimal`` objects); needs pandas."""
        return self.to_polars().to_pandas()

    def to_arrow(self) -> Any:
        """``to_polars()`` as a pyarrow Table (decimals as ``decimal128``); needs pyarrow."""
        return self.to_polars().to_arrow()

    def _declared_places(self, name: str) -> int:
        """The digits after the point the ruleset declares for a decimal column (money: the quantum's).

        So that the column types of two runs under one ruleset match, whatever the figures.
        """
        versions = [self.target] if isinstance(self.target, CompiledRuleset) else self.target.versions
        places = [0]
        for version in versions:
            model = version.model
            if name == "score" and model.scorecard is not None:
                places.append(model.scorecard.decimals)
            elif name == "review_percentile":
                places.append(2)
            elif name.startswith(_DECIMAL_PREFIX) and model.pay is not None:
                places.append(max(0, -int(model.pay.rounding.quantum.normalize().as_tuple().exponent)))
        return max(places)

    @cached_property
    def _boolean_attributes(self) -> set[str]:
        versions = [self.target] if isinstance(self.target, CompiledRuleset) else self.target.versions
        return {n for v in versions for n, a in v.model.attributes.items() if a.type == "boolean"}

    # --- decisions as objects --------------------------------------------------------------

    @property
    def decisions(self) -> Decisions:
        """Every decision, in period then agent order, each built when it is reached."""
        return Decisions(self.parts)

    def select(self, agent_id: str | None = None, period: str | None = None) -> list[Decision]:
        """The decisions of one agent and/or one period, built for just those rows."""
        found: list[Decision] = []
        for part in self.parts:
            if part.run is None or (period is not None and part.run.period != period):
                continue
            if agent_id is None:
                found.extend(build_decision(part.run, i) for i in part.rows)
                continue
            at = part.cells["agent_id"].eq(agent_id).arg_true().to_list()
            found.extend(build_decision(part.run, part.rows[k]) for k in at)
        return found

    def decision(self, agent_id: str, period: str | None = None) -> Decision:
        """The decision for ``agent_id`` (in ``period``, or the latest one)."""
        found = self.select(agent_id, period)
        if not found:
            rejected = [r for r in self.rejections if r.agent_id == agent_id and period in (None, r.period)]
            why = f": rejected ({rejected[-1]})" if rejected else ""
            raise NoDecision(f"no decision for agent {agent_id}" + (f" in {period}" if period else "") + why)
        return found[-1]

    def only(self, period: str) -> Outcome:
        """The same outcome with the decisions of ``period`` only."""
        parts = [p for p in self.parts if p.run is not None and p.run.period == period]
        return Outcome(
            self.target,
            self.rulesets,
            [period],
            parts,
            self.rejections,
            self.gaps,
            self.warnings,
            self.state,
            self.decided,
            self.refused,
            self.decisions_given,
            self.adjusting,
        )

    # --- JSON --------------------------------------------------------------------------------

    def write_json(self, sink: TextIO) -> None:
        """The whole outcome as JSON (decimals as exact strings), one decision at a time."""
        head = _Head(
            ruleset=self.ruleset,
            rulesets=self.rulesets,
            periods=self.periods,
            decisions=[],
            rejections=self.rejections,
            gaps=self.gaps,
            warnings=self.warnings,
            state=self.state,
        ).model_dump_json(indent=2)
        before, after = head.split('  "decisions": [],\n', 1)
        sink.write(before)
        collecting = gc.isenabled()
        gc.disable()  # rows make no cycles; scanning the kept pieces again and again cost a tenth
        try:
            first = self._write_decisions(sink)
        finally:
            if collecting:
                gc.enable()
        sink.write('  "decisions": [],\n' if first else "\n  ],\n")
        sink.write(after)

    def _write_decisions(self, sink: TextIO) -> bool:
        """Every decision's JSON, comma-separated; True when there were none."""
        first = True
        shared: dict[int, tuple[CompiledRuleset, dict[Any, Any]]] = {}  # ruleset id -> (ruleset, its pieces)
        for part in self.parts:
            if part.run is None or not part.rows:
                continue
            writer = DecisionJson()  # one per period: it keeps that period's repeated pieces
            pieces = shared.setdefault(id(part.run.ruleset), (part.run.ruleset, {}))[1]
            for start in range(0, len(part.rows), _CHUNK):
                rows = part.rows[start : start + _CHUNK]
                lead = '  "decisions": [\n    ' if first else ",\n    "
                before = pl.Series([lead, *[",\n    "] * (len(rows) - 1)], dtype=pl.String)
                texts = period_column(part.run, rows, writer, pieces, before)
                if texts is None:  # not covered piece by piece: row by row
                    sink.write(lead + ",\n    ".join(writer.text(decision_fields(part.run, i)) for i in rows))
                else:
                    write_texts(texts, sink)
                first = False
            part.run.release()  # hold one period's row lists and memos at a time, not all of them
        return first

    def to_json(self) -> str:
        """The whole outcome as JSON text, decimals as exact strings."""
        out = io.StringIO()
        self.write_json(out)
        return out.getvalue()


class Decisions(Sequence[Decision]):
    """An outcome's decisions, built one at a time as they are reached."""

    def __init__(self, parts: list[PeriodPart]) -> None:
        self.parts = [p for p in parts if p.run is not None]
        self.starts = list(np.cumsum([0] + [len(p.rows) for p in self.parts]))

    def __len__(self) -> int:
        return int(self.starts[-1])

    @overload
    def __getitem__(self, index: int) -> Decision: ...

    @overload
    def __getitem__(self, index: slice) -> list[Decision]: ...

    def __getitem__(self, index: int | slice) -> Decision | list[Decision]:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        k = index + len(self) if index < 0 else index
        if not 0 <= k < len(self):
            raise IndexError(index)
        p = int(np.searchsorted(self.starts, k, side="right")) - 1
        part = self.parts[p]
        assert part.run is not None
        return build_decision(part.run, part.rows[k - int(self.starts[p])])

    def __iter__(self) -> Iterator[Decision]:
        for part in self.parts:
            assert part.run is not None
            for i in part.rows:
                yield build_decision(part.run, i)


def _places(column: pl.Series) -> int:
    """The most digits after the point in a column of decimal texts."""
    texts = column.drop_nulls()
    if not texts.len():
        return 0
    fraction = texts.str.extract(r"\.(\d+)$").str.len_chars().max()
    return int(fraction or 0)  # type: ignore[arg-type]
