"""What runs inside a Spark worker: one partition's records (and carried state), as Arrow, through the one engine.

Spark hands :func:`evaluate_partition` a partition's rows as a ``pyarrow.Table``; it evaluates
all of their months in order with :func:`tierpay.evaluate`, exactly as a local run would, and
returns one Arrow table holding the decisions, rejections, gaps, warnings and the state after,
each row marked by ``_kind`` (Spark's grouped map returns one schema). Plain Arrow and polars
in, Arrow out: no Spark here, so it is tested without a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from tierpay.engine.cells import decision_columns
from tierpay.engine.outcome import Outcome
from tierpay.engine.run import evaluate
from tierpay.engine.state import RULESET_COLUMNS, STATE_COLUMNS, State
from tierpay.io.sources import read_input
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

KIND = "_kind"
DECISION, REJECTION, GAP, WARNING, STATE = "decision", "rejection", "gap", "warning", "state"
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


def evaluate_partition(
    target: CompiledRuleset | RulesetVersions,
    layout: Layout,
    key: Sequence[object],
    records: pa.Table,
    state: pa.Table | None = None,
    *,
    state_from_other_ruleset: bool = False,
    row_column: str | None = None,
    source: str = "<spark>",
) -> pa.Table:
    """One partition evaluated: ``key`` is its partition values, ``records`` its rows, ``state`` its agents' state.

    The rows are sorted (period, agent, then every column) so that the answer does not depend
    on the order Spark delivers them in. Rows whose every column is text are read as the CSV
    they would be (the fast columnar reader); others as a table of typed values.
    ``row_column``, when given, is a column whose value names each row in rejections (a line
    number in the source file); it is not a field of the records.
    """
    where = _where(source, layout.partition_by, key)
    frame = pl.from_arrow(records) if records.num_rows else None
    if not isinstance(frame, pl.DataFrame) or frame.is_empty():
        rows = pl.DataFrame()
    else:
        order = [c for c in ("period", "agent_id") if c in frame.columns]
        rows = frame.sort([*order, *(c for c in frame.columns if c not in order)], nulls_last=True)
    numbers = rows[row_column].cast(pl.Int64, strict=False).to_list() if row_column in rows.columns else None
    if row_column in rows.columns:
        rows = rows.drop(row_column)
    carried = _state(state, where, layout.partition_by) if state is not None and state.num_rows else None
    if rows.is_empty():
        outcome = evaluate(target, [], carried, state_from_other_ruleset=state_from_other_ruleset)
    else:
        outcome = evaluate(
            target, _records(target, rows, where), carried, state_from_other_ruleset=state_from_other_ruleset
        )
    return _combined(outcome, layout, key, _Places(where, source, numbers))


def _where(source: str, partition_by: Sequence[str], key: Sequence[object]) -> str:
    """How rejections name a partition: ``<spark team=T1>``."""
    named = ", ".join(f"{k}={v}" for k, v in zip(partition_by, key, strict=False))
    return f"{source[:-1]} {named}>" if named and source.endswith(">") else source


def _records(target: CompiledRuleset | RulesetVersions, rows: pl.DataFrame, where: str) -> object:
    if all(dtype == pl.String for dtype in rows.dtypes):
        text = rows.write_csv(quote_style="necessary", line_terminator="\n")
        return read_input(target, where, data=text.encode("utf-8"))
    return rows.to_arrow()


def _state(state: pa.Table, where: str, partition_by: Sequence[str]) -> State:
    frame = pl.from_arrow(state)
    assert isinstance(frame, pl.DataFrame)
    names = {STATE_PREFIX + n: n for n in STATE_FIELDS}
    columns = [c for c in frame.columns if c in names or c in STATE_FIELDS]
    frame = frame.select(columns).rename({c: names[c] for c in columns if c in names})
    frame = frame.select([pl.col(n).cast(pl.String) if n in frame.columns else pl.lit(None, pl.String).alias(n)
                          for n in STATE_FIELDS])  # fmt: skip
    return State.from_csv(
        frame.write_csv(line_terminator="\n"), f"{where[:-1]} state>" if where.endswith(">") else where
    )


@dataclass(frozen=True)
class _Places:
    """How a partition's rows are named: by ``row_column``'s values in ``source`` when given, else by partition."""

    where: str
    source: str
    numbers: list[int | None] | None

    def row(self, row: int) -> int | None:
        """The user's row for the engine's ``row`` (a line of the partition's CSV: data row k is line k + 1)."""
        index = row - 2
        if self.numbers is None or not 0 <= index < len(self.numbers):
            return None
        return self.numbers[index]

    def name(self, row: int) -> str:
        """``source:LINE`` when the row's line is known, else the partition (``<spark team=T1>``)."""
        line = self.row(row)
        return self.where if line is None else f"{self.source}:{line}"

    def reasons(self, reasons: Sequence[str]) -> list[str]:
        """The reasons with the partition's lines (``another record at <spark team=T1>:22``) named as the user's."""
        pattern = re.compile(re.escape(self.where) + r":(\d+)")
        return [pattern.sub(lambda m: self.name(int(m.group(1))), reason) for reason in reasons]


def _combined(outcome: Outcome, layout: Layout, key: Sequence[object], places: _Places) -> pa.Table:
    schema = layout.schema
    parts: list[pl.DataFrame] = []
    cells = outcome.cells
    if cells.height:
        parts.append(cells.with_columns(pl.lit(DECISION).alias(KIND)))
    if outcome.rejections:
        parts.append(
            pl.DataFrame(
                {
                    KIND: [REJECTION] * len(outcome.rejections),
                    "agent_id": [r.agent_id for r in outcome.rejections],
                    "period": [r.period for r in outcome.rejections],
                    "rejection_source": [
                        places.source if places.row(r.row) is not None else r.source for r in outcome.rejections
                    ],
                    "rejection_row": [places.row(r.row) for r in outcome.rejections],
                    "rejection_reasons": [places.reasons(r.reasons) for r in outcome.rejections],
                },
                schema_overrides={"rejection_row": pl.Int64, "rejection_reasons": pl.List(pl.String)},
            )
        )
    if outcome.gaps:
        parts.append(
            pl.DataFrame(
                {
                    KIND: [GAP] * len(outcome.gaps),
                    "agent_id": [g.agent_id for g in outcome.gaps],
                    "period": [g.period for g in outcome.gaps],
                    "gap_last_period": [g.last_period for g in outcome.gaps],
                }
            )
        )
    if outcome.warnings:
        parts.append(pl.DataFrame({KIND: [WARNING] * len(outcome.warnings), "warning": list(outcome.warnings)}))
    if outcome.state.agents:
        state = pl.read_csv(outcome.state.to_csv().encode("utf-8"), infer_schema=False)
        parts.append(state.rename({n: STATE_PREFIX + n for n in state.columns}).with_columns(pl.lit(STATE).alias(KIND)))
    keys = [(k, None if v is None else str(v)) for k, v in zip(layout.partition_by, key, strict=False)]
    frames = [p.with_columns([pl.lit(v, pl.String).alias(k) for k, v in keys if k not in p.columns]) for p in parts]
    empty = pl.DataFrame(schema=pl.Schema(pl.from_arrow(schema.empty_table()).schema))  # type: ignore[union-attr]
    combined = pl.concat([empty, *frames], how="diagonal_relaxed").select(schema.names)
    return combined.to_arrow().cast(schema)
