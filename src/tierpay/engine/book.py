"""The carried state of every agent as arrays, between periods: the engine's memory.

A ``Book`` is the columnar form of :class:`tierpay.engine.state.State`: one array per state
field, indexed by agent number. Agents are admitted as their first record arrives, so a run
that reads one period at a time never needs the whole file's agents up front. Levels are
held as indexes into the ruleset's level ids; when a folder of versions moves to a version
with other levels, the book is re-based by level id, and a carried level the new version
does not have is kept by name so that the agent's next record is rejected saying so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.engine.calendar import month_index, period_name
from tierpay.engine.levels import NONE, Prior
from tierpay.engine.results import Gap
from tierpay.engine.state import AgentState, State
from tierpay.ruleset.compiler import CompiledRuleset

INVALID = -2  # a carried level the ruleset does not have
AGENT = "__agent"  # the agent-number column joined onto a period's rows


def _grow(array: npt.NDArray[Any], n: int, fill: Any) -> npt.NDArray[Any]:
    return np.concatenate([array, np.full(n, fill, dtype=array.dtype)])


class Book:
    """Every agent's carried state as arrays, indexed by agent number."""

    def __init__(self, ruleset: CompiledRuleset, start: State) -> None:
        self.ruleset = ruleset
        self.start = start
        self.ids: list[str] = []
        self.number: dict[str, int] = {}
        self._numbers = pl.DataFrame(schema={"agent_id": pl.String, AGENT: pl.Int64})  # the same, as a frame
        self.known = np.zeros(0, dtype=bool)
        self.level = np.zeros(0, dtype=np.int64)
        self.streak_level = np.zeros(0, dtype=np.int64)
        self.on_probation = np.zeros(0, dtype=bool)
        self.last = np.zeros(0, dtype=np.int64)
        self.review_stage = np.zeros(0, dtype=object)
        self.periods_in_level = np.zeros(0, dtype=np.int64)
        self.promote_streak = np.zeros(0, dtype=np.int64)
        self.maintain_fail_streak = np.zeros(0, dtype=np.int64)
        self.probation_periods = np.zeros(0, dtype=np.int64)
        self.probation_extension = np.zeros(0, dtype=np.int64)
        self.review_streak = np.zeros(0, dtype=np.int64)
        self.bad_level: dict[int, str] = {}
        self.due: dict[int, dict[str, Decimal]] = {}  # deductions held back by the cap, by agent (few have any)
        self.admit(sorted(a.agent_id for a in start.agents))
        ids = ruleset.level_ids
        for agent in start.agents:
            i = self.number[agent.agent_id]
            self.known[i] = True
            if agent.level in ids:
                self.level[i] = ids.index(agent.level)
            else:
                self.level[i] = INVALID
                self.bad_level[i] = agent.level
            self.streak_level[i] = ids.index(agent.streak_level) if agent.streak_level in ids else NONE
            self.on_probation[i] = agent.on_probation
            self.review_stage[i] = agent.review_stage
            self.last[i] = month_index(agent.last_period) if agent.last_period else -1
            self.periods_in_level[i] = agent.periods_in_level
            self.promote_streak[i] = agent.promote_streak
            self.maintain_fail_streak[i] = agent.maintain_fail_streak
            self.probation_periods[i] = agent.probation_periods
            self.probation_extension[i] = agent.probation_extension
            self.review_streak[i] = agent.review_streak
            if agent.deductions_due:
                self.due[i] = dict(agent.deductions_due)

    def admit(self, agent_ids: Iterable[str]) -> None:
        """Give a number to each agent not seen before (no state yet: ``known`` stays false)."""
        new = [a for a in dict.fromkeys(agent_ids) if a not in self.number]
        if not new:
            return
        for agent in new:
            self.number[agent] = len(self.ids)
            self.ids.append(agent)
        n = len(new)
        added = pl.DataFrame(
            {"agent_id": new, AGENT: range(len(self.ids) - n, len(self.ids))}, schema=self._numbers.schema
        )
        self._numbers = pl.concat([self._numbers, added], rechunk=False)
        self.known = _grow(self.known, n, False)
        self.level = _grow(self.level, n, 0)
        self.streak_level = _grow(self.streak_level, n, NONE)
        self.on_probation = _grow(self.on_probation, n, False)
        self.last = _grow(self.last, n, -1)
        self.review_stage = _grow(self.review_stage, n, None)
        self.periods_in_level = _grow(self.periods_in_level, n, 0)
        self.promote_streak = _grow(self.promote_streak, n, 0)
        self.maintain_fail_streak = _grow(self.maintain_fail_streak, n, 0)
        self.probation_periods = _grow(self.probation_periods, n, 0)
        self.probation_extension = _grow(self.probation_extension, n, 0)
        self.review_streak = _grow(self.review_streak, n, 0)

    def numbered(self, rows: pl.DataFrame) -> pl.DataFrame:
        """``rows`` with each agent's number in an ``__agent`` column (agents admitted first)."""
        ids = rows.select("agent_id").unique(maintain_order=True)
        self.admit(ids.join(self._numbers, on="agent_id", how="anti", maintain_order="left")["agent_id"].to_list())
        if self._numbers.n_chunks() > 1:
            self._numbers = self._numbers.rechunk()
        found = rows.select("agent_id").join(self._numbers, on="agent_id", how="left", maintain_order="left")
        return rows.with_columns(found[AGENT])

    def rebase(self, ruleset: CompiledRuleset) -> None:
        """Hold levels as indexes into ``ruleset``'s level ids (a new version in force)."""
        if ruleset.level_ids == self.ruleset.level_ids:
            self.ruleset = ruleset
            return
        old, new = self.ruleset.level_ids, ruleset.level_ids
        for i in np.flatnonzero(self.known).tolist():
            name = self.bad_level.get(i) or old[int(self.level[i])]
            if name in new:
                self.level[i] = new.index(name)
                self.bad_level.pop(i, None)
            else:
                self.level[i] = INVALID
                self.bad_level[i] = name
            streak = int(self.streak_level[i])
            self.streak_level[i] = new.index(old[streak]) if streak != NONE and old[streak] in new else NONE
        self.ruleset = ruleset

    def gaps(self, period: str, present: npt.NDArray[Any]) -> list[Gap]:
        """Agents evaluated before who have no record in ``period``, by agent id."""
        month = month_index(period)
        absent = self.known & (self.last >= 0) & (self.last < month)
        absent[present] = False
        found = [
            Gap(agent_id=self.ids[i], period=period, last_period=period_name(int(self.last[i])))
            for i in np.flatnonzero(absent).tolist()
        ]
        return sorted(found, key=lambda g: g.agent_id)

    def advance(
        self,
        period: str,
        agents: npt.NDArray[np.int64],
        state: Prior,
        review: Sequence[Any],
        due: Sequence[dict[str, Decimal] | None] = (),
    ) -> None:
        """Write the period's new states (``state``; review streak and stage in ``review``; deductions
        still due per agent in ``due``, None where pay was not decided) into the book."""
        if not len(agents):
            return
        for i, owed in zip(agents.tolist(), due, strict=False) if self.due or any(due) else ():
            if owed is None:
                continue
            if owed:
                self.due[i] = owed
            else:
                self.due.pop(i, None)
        streak, stage = review
        self.known[agents] = True
        self.level[agents] = state.level
        self.streak_level[agents] = state.streak_level
        self.on_probation[agents] = state.on_probation
        self.periods_in_level[agents] = state.periods_in_level
        self.promote_streak[agents] = state.promote_streak
        self.maintain_fail_streak[agents] = state.maintain_fail_streak
        self.probation_periods[agents] = state.probation_periods
        self.probation_extension[agents] = state.probation_extension
        self.review_streak[agents] = streak
        self.review_stage[agents] = stage
        self.last[agents] = month_index(period)
        for i in agents.tolist() if self.bad_level else ():
            self.bad_level.pop(i, None)

    def agents(self) -> list[AgentState]:
        """Every known agent's carried state after the periods evaluated, sorted by agent id."""
        ids = self.ruleset.level_ids
        agents = []
        for i in sorted(np.flatnonzero(self.known).tolist(), key=lambda k: self.ids[k]):
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
                    probation_extension=int(self.probation_extension[i]),
                    review_streak=int(self.review_streak[i]),
                    review_stage=self.review_stage[i],
                    deductions_due=self.due.get(i, {}),
                )
            )
        return agents
