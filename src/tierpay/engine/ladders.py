"""Several ladders in one period: each record routed to its ladder, each ladder decided on its own.

A ruleset with ``ladders`` is decided ladder by ladder: the period's rows are split by the
ladder their ``ladder_by`` attribute names (or a ``set_ladder`` decision gives), and each
ladder's rows go through a :class:`~tierpay.engine.period.PeriodRun` of the ladder's own
compiled ruleset, so cohorts, rankings, the fairness screen, criteria and pay never mix
ladders. One :class:`~tierpay.engine.book.Book` carries every agent: its levels are indexes
into the ladders' level ids end to end, and :class:`LadderBook` shows one ladder's run the
levels of its own ladder only.

What this module refuses before any ladder runs, each row naming its field: a ``ladder_by``
value that names no ladder, a stated level of another ladder than the record's, a carried
level of another ladder (a move between ladders is a person's decision, ``set_ladder``).
Pure: no files, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.engine.book import AGENT, INVALID, Book
from tierpay.engine.cells import decision_cells, decision_columns
from tierpay.engine.human import HumanDecision
from tierpay.engine.levels import NONE, Prior
from tierpay.engine.values import shown
from tierpay.ruleset.compiler import CompiledRuleset

if TYPE_CHECKING:
    from tierpay.engine.period import PeriodRun

Ints = npt.NDArray[np.int64]
LADDER_COLUMNS = ("ladder", "nominated")
"""The columns of the decisions CSV a ruleset with ladders adds: the ladder, and who may be nominated for which."""


@dataclass(frozen=True)
class Rungs:
    """Where each ladder's levels lie among the ladders' level ids end to end."""

    names: list[str]
    start: list[int]  # the first global level index of each ladder
    ids: list[str]  # every level id, ladder after ladder
    of_level: Ints  # global level index -> ladder index

    @classmethod
    def of(cls, ruleset: CompiledRuleset) -> Rungs:
        """The rungs of ``ruleset``'s ladders (in their declared order)."""
        names: list[str] = []
        start: list[int] = []
        ids: list[str] = []
        owner: list[int] = []
        for k, (name, ladder) in enumerate(ruleset.ladders.items()):
            names.append(name)
            start.append(len(ids))
            ids += ladder.level_ids
            owner += [k] * len(ladder.level_ids)
        return cls(names, start, ids, np.array(owner, dtype=np.int64))

    def ladder_of(self, level: str) -> str | None:
        """The ladder a level id belongs to, if any."""
        return self.names[int(self.of_level[self.ids.index(level)])] if level in self.ids else None


class _Names(Mapping[int, str]):
    """The carried level of agents whose level is not on the ladder, by agent number, looked up when asked."""

    def __init__(self, book: Book, ids: Sequence[str]) -> None:
        self.book, self.ids = book, ids

    def __getitem__(self, i: int) -> str:
        return self.book.bad_level.get(i) or self.ids[int(self.book.level[i])]

    def __iter__(self) -> Iterator[int]:
        return iter(self.book.bad_level)

    def __len__(self) -> int:
        return len(self.book.bad_level)


class LadderBook(Book):
    """One ladder's view of the book: the same arrays, with levels as indexes into the ladder's own ids."""

    def __init__(self, book: Book, ladder: CompiledRuleset, first: int) -> None:  # no Book.__init__: a view
        self.__dict__.update(book.__dict__)
        self.ruleset = ladder
        end = first + len(ladder.level_ids)
        level = book.level
        on = (level >= first) & (level < end)
        self.level = np.where(on, level - first, INVALID)
        self.streak_level = np.where(book.streak_level == NONE, NONE, book.streak_level - first)
        self.bad_level = _Names(book, book.ruleset.level_ids)  # type: ignore[assignment]


def global_prior(state: Prior, first: int) -> Prior:
    """A ladder run's new level state with levels as indexes into every ladder's ids."""
    return Prior(
        level=state.level + first,
        periods_in_level=state.periods_in_level,
        promote_streak=state.promote_streak,
        streak_level=np.where(state.streak_level == NONE, NONE, state.streak_level + first),
        maintain_fail_streak=state.maintain_fail_streak,
        on_probation=state.on_probation,
        probation_periods=state.probation_periods,
        probation_extension=state.probation_extension,
    )


@dataclass
class Move:
    """A ``set_ladder`` decision found valid before the run: the agent's row, ladder and level from now."""

    decision: HumanDecision
    row: int
    ladder: int
    level: int  # global level index
    before: str | None  # the level carried in, if any


@dataclass
class Routing:
    """Each row's ladder (-1: refused, with why), and the moves people decided."""

    ladder: Ints
    refused: dict[int, str] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    refused_decisions: list[tuple[HumanDecision, str]] = field(default_factory=list)


def route(
    ruleset: CompiledRuleset, rungs: Rungs, rows: pl.DataFrame, book: Book, decisions: Sequence[HumanDecision]
) -> Routing:
    """Each row's ladder: by ``ladder_by``, or by a person's ``set_ladder``; rows that cannot be placed refused."""
    model = ruleset.model
    assert model.ladders is not None
    assert model.ladder_by is not None
    by = model.ladder_by
    chosen = {value: k for k, (name, lad) in enumerate(model.ladders.items()) for value in lad.selects(name)}
    values = rows[by]
    ladder = values.replace_strict(chosen, default=-1, return_dtype=pl.Int64).to_numpy().copy()
    routing = Routing(ladder)
    row_of = {agent: i for i, agent in enumerate(rows["agent_id"].to_list())}
    for d in decisions:
        if d.decision != "set_ladder":
            continue
        name, _, level = str(d.value).partition(":")
        name, level = name.strip(), level.strip()
        i = row_of.get(d.agent_id)
        if name not in rungs.names:
            routing.refused_decisions.append(
                (d, f"value: {shown(name)} is not a ladder of {ruleset.name} ({', '.join(rungs.names)})")
            )
        elif rungs.ladder_of(level) != name:
            own = ruleset.ladders[name].level_ids
            routing.refused_decisions.append(
                (d, f"value: {shown(level)} is not a level of ladder {name} ({', '.join(own)})")
            )
        elif i is not None:
            a = int(rows[AGENT][i])
            if book.known[a] and book.on_probation[a]:
                routing.refused_decisions.append(
                    (
                        d,
                        f"decision: set_ladder, but {d.agent_id} is on probation: the ladder is fixed until "
                        "conversion (decide convert in an earlier period first)",
                    )
                )
                continue
            k = rungs.names.index(name)
            carried = book.bad_level.get(a) or book.ruleset.level_ids[int(book.level[a])] if book.known[a] else None
            before = carried if carried is not None else rows["level"][i]  # a new agent: the level it states
            routing.moves.append(Move(d, i, k, rungs.ids.index(level), before))
            ladder[i] = k
    moved = np.zeros(rows.height, dtype=bool)
    moved[[m.row for m in routing.moves]] = True
    blank = values.is_null().to_numpy() | (values == "").fill_null(True).to_numpy()
    names = ", ".join(rungs.names)
    for i in np.flatnonzero((ladder < 0) & ~moved).tolist():
        routing.refused[i] = (
            f"{by}: missing: it says which ladder the record is on ({names})"
            if blank[i]
            else f"{by}: {shown(values[i])} names no ladder (ladders: {names}; "
            + ", ".join(f"{n}: {'/'.join(model.ladders[n].selects(n))}" for n in rungs.names)
            + ")"
        )
    stated = rows["level"]
    index = {level: k for k, level in enumerate(rungs.ids)}
    stated_at = stated.replace_strict(index, default=-1, return_dtype=pl.Int64).to_numpy()
    stated_ladder = np.where(stated_at >= 0, rungs.of_level[np.maximum(stated_at, 0)], -1)
    wrong = (stated_ladder >= 0) & (ladder >= 0) & (stated_ladder != ladder) & ~moved
    for i in np.flatnonzero(wrong).tolist():
        routing.refused[i] = (
            f"level: {stated[i]} is a level of ladder {rungs.names[int(stated_ladder[i])]}, "
            f"but {by} {shown(values[i])} puts the record on ladder {rungs.names[int(ladder[i])]}"
        )
    agents = rows[AGENT].to_numpy()
    carried = book.level[agents]
    carried_ladder = np.where(carried >= 0, rungs.of_level[np.maximum(carried, 0)], -1)
    away = book.known[agents] & (carried_ladder >= 0) & (ladder >= 0) & (carried_ladder != ladder) & ~moved & ~wrong
    for i in np.flatnonzero(away).tolist():
        routing.refused[i] = (
            f"level: the carried level {rungs.ids[int(carried[i])]} is on ladder "
            f"{rungs.names[int(carried_ladder[i])]}, but {by} {shown(values[i])} puts the record on ladder "
            f"{rungs.names[int(ladder[i])]}: a move between ladders is a person's decision (set_ladder)"
        )
    ladder[list(routing.refused)] = -1
    return routing


def enter(book: Book, moves: Sequence[Move], rows: pl.DataFrame) -> dict[int, dict[str, Any]]:
    """Put each moved agent on its new level in the book, fresh in it; returns what it held, to undo."""
    saved: dict[int, dict[str, Any]] = {}
    fields = (
        "known",
        "level",
        "streak_level",
        "periods_in_level",
        "promote_streak",
        "maintain_fail_streak",
        "review_streak",
        "review_stage",
    )
    for m in moves:
        a = int(rows[AGENT][m.row])
        saved[a] = {f: getattr(book, f)[a] for f in fields} | {"bad": book.bad_level.pop(a, None)}
        book.known[a] = True
        book.level[a] = m.level
        book.streak_level[a] = NONE
        for counter in (book.periods_in_level, book.promote_streak, book.maintain_fail_streak, book.review_streak):
            counter[a] = 0
        book.review_stage[a] = None
    return saved


def undo(book: Book, saved: Mapping[int, Mapping[str, Any]], decided: npt.NDArray[np.int64]) -> None:
    """Give back what a moved agent held when its row was not decided (the move did not happen)."""
    done = set(decided.tolist())
    for a, held in saved.items():
        if a in done:
            continue
        for name, value in held.items():
            if name == "bad":
                if value is not None:
                    book.bad_level[a] = value
            else:
                getattr(book, name)[a] = value


def ladder_cells(
    run: PeriodRun, name: str, whole: CompiledRuleset, decided: bool, adjusting: bool = False
) -> pl.DataFrame:
    """A ladder run's decided rows as the decisions CSV's cells, with the ladder and the nominations.

    A row a ``set_ladder`` decision moved shows the level it held before the move in
    ``level_before`` (the run itself starts it at the level it enters).
    """
    cells = decision_cells(run)
    final = run.decided
    nominated = [
        pl.Series(np.where(held[final], nomination.to, ""), dtype=pl.String)
        for held, nomination in zip(run.nominated, run.ruleset.nominations, strict=True)
    ]
    extra = [pl.lit(name, pl.String).alias("ladder")]
    if nominated:
        joined = pl.concat_str(nominated, separator=";").str.strip_chars(";").str.replace_all(";;+", ";")
        extra.append(pl.when(joined != "").then(joined).alias("nominated"))
    else:
        extra.append(pl.lit(None, pl.String).alias("nominated"))
    moved = dict(run.moves.items())
    if moved:
        agent = pl.col("agent_id")
        extra.append(
            pl.when(agent.is_in(list(moved)))
            .then(agent.replace_strict(moved, default=None, return_dtype=pl.String))
            .otherwise(pl.col("level_before"))
            .alias("level_before")
        )
    return cells.with_columns(extra).select(decision_columns(whole, decided, adjusting))
