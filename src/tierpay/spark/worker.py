"""What runs inside a Spark worker: one bucket's records (and carried state), as Arrow, through the one engine.

Spark hands :func:`evaluate_bucket` a bucket's rows as a ``pyarrow.Table``: whole partitions,
linked by the agents who move between them, several packed together. It evaluates all of
their months in order in one call of the engine, exactly as a local run would (the engine
ranks within each cohort, and every cohort lies inside one partition), and returns one Arrow
table holding the decisions, rejections, gaps, warnings and the state after, each row marked
by ``_kind`` (Spark's grouped map returns one schema) and carrying its own partition's values.
Plain Arrow and polars in, Arrow out: no Spark here, so it is tested without a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from tierpay.engine.cells import decision_columns
from tierpay.engine.columns import RecordFrame
from tierpay.engine.outcome import Outcome
from tierpay.engine.records import RecordBatch
from tierpay.engine.run import Evaluation, as_frame
from tierpay.engine.state import RULESET_COLUMNS, STATE_COLUMNS, State
from tierpay.engine.tables import parse_table
from tierpay.io.sources import read_input
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

KIND = "_kind"
DECISION, REJECTION, GAP, WARNING, STATE = "decision", "rejection", "gap", "warning", "state"
PERIOD = "period"
"""A month some record of the bucket was accepted for (a gap is only found in such a month, as a local run finds it)."""
STATE_PREFIX = "state_"
STATE_FIELDS = STATE_COLUMNS + RULESET_COLUMNS
"""The carried state's columns, as the state CSV has them."""


@dataclass(frozen=True)
class Layout:
    """The columns of a run's combined output, shared by the driver (its Spark schema) and the workers."""

    decisions: list[str]
    partition_by: list[str]

    @classmethod
    def of(cls, target: CompiledRuleset | RulesetVersions, partition_by: Sequence[str]) -> Layout:
        """The layout of ``target``'s decisions with the partition columns (added where they are not attributes)."""
        columns = decision_columns(target)
        return cls(columns + [p for p in partition_by if p not in columns], list(partition_by))

    @property
    def schema(self) -> pa.Schema:
        """The combined output's Arrow schema: every column text but the rejection's row and reasons."""
        fields = [pa.field(KIND, pa.string())]
        fields += [pa.field(name, pa.string()) for name in self.decisions]
        fields += [
            pa.field("rejection_source", pa.string()),
            pa.field("rejection_row", pa.int64()),
            pa.field("rejection_reasons", pa.list_(pa.string())),
            pa.field("gap_last_period", pa.string()),
            pa.field("warning", pa.string()),
        ]
        fields += [pa.field(STATE_PREFIX + name, pa.string()) for name in STATE_FIELDS]
        return pa.schema(fields)


def evaluate_bucket(
    target: CompiledRuleset | RulesetVersions,
    layout: Layout,
    records: pa.Table,
    state: pa.Table | None = None,
    *,
    periods: Sequence[str] = (),
    state_from_other_ruleset: bool = False,
    row_column: str | None = None,
    source: str = "<spark>",
) -> pa.Table:
    """One bucket evaluated in one call of the engine: ``records`` its rows (whole partitions), ``state`` its agents'.

    A bucket holds whole partitions (and every partition an agent of them moved to), so its
    cohorts and its agents' months are all here. ``periods`` are the run's months: one the
    bucket has no record for is evaluated too, giving the gaps a local run gives. The rows are
    sorted (period, agent, then every column) so that the answer does not depend on the order
    Spark delivers them in. Rows whose every column is text are read as the CSV they would be
    (the fast columnar reader); others as a table of typed values. ``row_column``, when given,
    is a column whose value names each row in rejections (a line number in the source file);
    it is not a field of the records. Every output row carries its own partition's values.
    """
    frame = pl.from_arrow(records) if records.num_rows else None
    if not isinstance(frame, pl.DataFrame) or frame.is_empty():
        rows = pl.DataFrame()
    else:
        order = [c for c in ("period", "agent_id") if c in frame.columns]
        rows = frame.sort([*order, *(c for c in frame.columns if c not in order)], nulls_last=True)
    numbers = rows[row_column].cast(pl.Int64, strict=False).to_list() if row_column in rows.columns else None
    if row_column in rows.columns:
        rows = rows.drop(row_column)
    keys = layout.partition_by
    places = _Places(source, keys, _texts(rows, keys), numbers)
    carried = _state(state, source) if state is not None and state.num_rows else None
    run = Evaluation(target, carried, keep=True, state_from_other_ruleset=state_from_other_ruleset)
    read = as_frame(target, _records(target, rows, source) if not rows.is_empty() else [])
    for _ in run.feed(read, periods):
        pass
    outcome = run.outcome(read.rejections, read.warnings)
    seen = sorted({str(p) for p in read.frame["period"].unique().to_list()}) if read.frame.height else []
    return _combined(outcome, layout, places, _Homes.of(rows, keys, state), seen)


def _texts(rows: pl.DataFrame, keys: Sequence[str]) -> list[tuple[str | None, ...]]:
    """Each row's partition values as text (None for a missing one), in the rows' order."""
    if not keys or rows.is_empty():
        return [()] * rows.height
    columns = [rows[k].cast(pl.String).to_list() if k in rows.columns else [None] * rows.height for k in keys]
    return list(zip(*columns, strict=True))


def _where(source: str, partition_by: Sequence[str], key: Sequence[object]) -> str:
    """How rejections name a partition: ``<spark team=T1>``."""
    named = ", ".join(f"{k}={v}" for k, v in zip(partition_by, key, strict=False))
    return f"{source[:-1]} {named}>" if named and source.endswith(">") else source


def _records(target: CompiledRuleset | RulesetVersions, rows: pl.DataFrame, source: str) -> RecordFrame | RecordBatch:
    if all(dtype == pl.String for dtype in rows.dtypes):
        text = rows.write_csv(quote_style="necessary", line_terminator="\n")
        return read_input(target, source, data=text.encode("utf-8"))
    return RecordBatch(*parse_table(target, rows.to_arrow(), source))


def _state(state: pa.Table, source: str) -> State:
    frame = pl.from_arrow(state)
    assert isinstance(frame, pl.DataFrame)
    names = {STATE_PREFIX + n: n for n in STATE_FIELDS}
    columns = [c for c in frame.columns if c in names]
    frame = frame.select(columns).rename({c: names[c] for c in columns})
    frame = frame.select([pl.col(n).cast(pl.String) if n in frame.columns else pl.lit(None, pl.String).alias(n)
                          for n in STATE_FIELDS])  # fmt: skip
    return State.from_csv(
        frame.write_csv(line_terminator="\n"), f"{source[:-1]} state>" if source.endswith(">") else source
    )


@dataclass(frozen=True)
class _Places:
    """How a bucket's rows are named: by ``row_column``'s values in ``source`` when given, else by their partition.

    The engine reads the bucket as one CSV named ``source``: data row k is its line k + 2.
    """

    source: str
    keys: Sequence[str]
    partitions: list[tuple[str | None, ...]]
    numbers: list[int | None] | None

    def index(self, row: int) -> int | None:
        """The bucket's row for the engine's ``row``, None when it names none."""
        index = row - 2
        return index if 0 <= index < len(self.partitions) else None

    def line(self, row: int) -> int | None:
        """The user's line for the engine's ``row``, when ``row_column`` gave it."""
        index = self.index(row)
        return None if self.numbers is None or index is None else self.numbers[index]

    def partition(self, row: int) -> tuple[str | None, ...] | None:
        """The partition values of the engine's ``row``."""
        index = self.index(row)
        return None if index is None else self.partitions[index]

    def name(self, row: int) -> str:
        """``source:LINE`` when the row's line is known, else its partition (``<spark team=T1>``)."""
        line = self.line(row)
        if line is not None:
            return f"{self.source}:{line}"
        key = self.partition(row)
        return self.source if key is None else _where(self.source, self.keys, key)

    def reasons(self, reasons: Sequence[str]) -> list[str]:
        """The reasons with the bucket's lines (``another record at <spark>:22``) named as the user's."""
        pattern = re.compile(re.escape(self.source) + r":(\d+)")
        return [pattern.sub(lambda m: self.name(int(m.group(1))), reason) for reason in reasons]


@dataclass(frozen=True)
class _Homes:
    """Which partition each agent's answers belong to: its record's in that month, else its latest record's."""

    keys: Sequence[str]
    by_month: dict[tuple[str | None, str | None], tuple[str | None, ...]]
    latest: dict[str | None, tuple[str | None, ...]]

    @classmethod
    def of(cls, rows: pl.DataFrame, keys: Sequence[str], state: pa.Table | None) -> _Homes:
        """From the bucket's sorted rows, and the carried state's partition columns for agents with no row."""
        latest: dict[str | None, tuple[str | None, ...]] = {}
        if state is not None and state.num_rows and all(k in state.column_names for k in keys):
            carried = pl.from_arrow(state.select([STATE_PREFIX + "agent_id", *keys]))
            assert isinstance(carried, pl.DataFrame)
            for agent, *values in carried.cast(pl.String).iter_rows():
                latest[agent] = tuple(values)
        by_month: dict[tuple[str | None, str | None], tuple[str | None, ...]] = {}
        if keys and not rows.is_empty() and {"agent_id", "period"} <= set(rows.columns):
            agents = rows["agent_id"].cast(pl.String).to_list()
            months = rows["period"].cast(pl.String).to_list()
            for agent, month, key in zip(agents, months, _texts(rows, keys), strict=True):
                by_month[(agent, month)] = key  # rows sorted by month: the last one wins
                latest[agent] = key
        return cls(keys, by_month, latest)

    def of_agent(self, agent: str | None, month: str | None = None) -> tuple[str | None, ...]:
        """The partition an agent's answer for ``month`` belongs to (all None when unknown)."""
        found = self.by_month.get((agent, month)) or self.latest.get(agent)
        return found if found is not None else (None,) * len(self.keys)

    def columns(self, agents: Sequence[str | None], months: Sequence[str | None]) -> dict[str, list[str | None]]:
        """The partition columns for answers of ``agents`` in ``months``."""
        found = [self.of_agent(a, m) for a, m in zip(agents, months, strict=True)]
        return {k: [key[i] for key in found] for i, k in enumerate(self.keys)}


def _combined(outcome: Outcome, layout: Layout, places: _Places, homes: _Homes, seen: Sequence[str]) -> pa.Table:
    schema = layout.schema
    parts: list[pl.DataFrame] = []
    cells = outcome.cells
    keys = layout.partition_by
    if cells.height:
        missing = [k for k in keys if k not in cells.columns]
        if missing:
            found = homes.columns(cells["agent_id"].to_list(), cells["period"].to_list())
            cells = cells.with_columns([pl.Series(k, found[k], pl.String) for k in missing])
        parts.append(cells.with_columns(pl.lit(DECISION).alias(KIND)))
    if outcome.rejections:
        rejected = outcome.rejections
        own = [places.partition(r.row) if r.source == places.source else None for r in rejected]
        where = [
            k if k is not None else homes.of_agent(r.agent_id, r.period) for k, r in zip(own, rejected, strict=True)
        ]
        lines = [places.line(r.row) if r.source == places.source else None for r in rejected]
        parts.append(
            pl.DataFrame(
                {
                    KIND: [REJECTION] * len(rejected),
                    "agent_id": [r.agent_id for r in rejected],
                    "period": [r.period for r in rejected],
                    "rejection_source": [
                        places.source
                        if line is not None
                        else (places.name(r.row) if r.source == places.source else r.source)
                        for line, r in zip(lines, rejected, strict=True)
                    ],
                    "rejection_row": lines,
                    "rejection_reasons": [places.reasons(r.reasons) for r in rejected],
                    **{k: [w[i] for w in where] for i, k in enumerate(keys)},
                },
                schema_overrides={"rejection_row": pl.Int64, "rejection_reasons": pl.List(pl.String)},
            )
        )
    if outcome.gaps:
        gaps = outcome.gaps
        parts.append(
            pl.DataFrame(
                {
                    KIND: [GAP] * len(gaps),
                    "agent_id": [g.agent_id for g in gaps],
                    "period": [g.period for g in gaps],
                    "gap_last_period": [g.last_period for g in gaps],
                    **homes.columns([g.agent_id for g in gaps], [g.last_period for g in gaps]),
                }
            )
        )
    if outcome.warnings:
        parts.append(pl.DataFrame({KIND: [WARNING] * len(outcome.warnings), "warning": list(outcome.warnings)}))
    if seen:
        parts.append(pl.DataFrame({KIND: [PERIOD] * len(seen), "period": list(seen)}))
    if outcome.state.agents:
        state = pl.read_csv(outcome.state.to_csv().encode("utf-8"), infer_schema=False)
        agents = state["agent_id"].to_list()
        state = state.rename({n: STATE_PREFIX + n for n in state.columns})
        parts.append(state.with_columns(pl.lit(STATE).alias(KIND), *(
            pl.Series(k, v, pl.String) for k, v in homes.columns(agents, [None] * len(agents)).items()
        )))  # fmt: skip
    empty = pl.DataFrame(schema=pl.Schema(pl.from_arrow(schema.empty_table()).schema))  # type: ignore[union-attr]
    frames = [p.with_columns([pl.col(c).cast(pl.String) for c in keys if c in p.columns]) for p in parts]
    combined = pl.concat([empty, *frames], how="diagonal_relaxed").select(schema.names)
    return combined.to_arrow().cast(schema)
