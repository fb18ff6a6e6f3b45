"""The same ruleset on Apache Spark: records where they live, evaluated by the one engine in Spark's workers.

    from tierpay.spark import evaluate

    result = evaluate(ruleset, spark.read.csv("agents.csv", header=True), partition_by=["team"])
    result.decisions.write.parquet("decisions")      # the decisions CSV's columns
    result.state.write.parquet("state-2026-06")      # carried to next month's run

Each partition (a site, a client, a team) is one group of a grouped map (``applyInArrow``):
its rows arrive in a worker as Arrow, and :mod:`tierpay.spark.worker` evaluates all of its
months in order with :func:`tierpay.evaluate`, so the answers are exactly a local run's. For
that, every cohort an answer depends on must lie inside one partition (checked before any
work, :mod:`tierpay.spark.partitions`) and every agent must stay in one partition (checked on
the data). ``pyspark`` is the optional ``spark`` extra: ``pip install "tierpay[spark]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tierpay.engine.state import State
from tierpay.errors import PartitionError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions
from tierpay.spark.partitions import check_partitioning
from tierpay.spark.worker import (
    DECISION,
    GAP,
    KIND,
    REJECTION,
    STATE,
    STATE_FIELDS,
    STATE_PREFIX,
    WARNING,
    Layout,
    evaluate_partition,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["PartitionError", "SparkOutcome", "evaluate"]

INSTALL = 'pip install "tierpay[spark]"'
ALL = "_tierpay_all"
"""The one group's key when the run is not partitioned."""


@dataclass
class SparkOutcome:
    """What a run on Spark gives, as Spark DataFrames computed once (the combined result is cached).

    ``decisions`` has the decisions CSV's columns (text, exact: ``pay_total`` is ``"5750.00"``)
    and any partition column that is not an attribute; ``rejections`` the partition columns,
    ``agent_id``, ``period``, ``source``, ``row`` and ``reasons`` (a list); ``gaps`` the agents
    with no record for a month their partition evaluated; ``state`` the carried state after the
    last month, the state CSV's columns with the partition columns, ready to be the next run's
    ``state``; ``warnings`` one ``warning`` column.
    """

    decisions: DataFrame
    rejections: DataFrame
    gaps: DataFrame
    warnings: DataFrame
    state: DataFrame
    combined: DataFrame

    def local_state(self) -> State:
        """The carried state collected to the driver as a :class:`tierpay.State` (for a state file)."""
        columns = list(STATE_FIELDS)
        rows = self.state.select(*columns).orderBy("agent_id").collect()
        lines = [",".join(columns)] + [",".join(_csv_cell(row[c]) for c in columns) for row in rows]
        return State.from_csv("\n".join(lines) + "\n", "<spark state>")

    def unpersist(self) -> None:
        """Free the cached result on the cluster."""
        self.combined.unpersist()


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def evaluate(
    ruleset: CompiledRuleset | RulesetVersions,
    records: DataFrame,
    partition_by: Sequence[str] = (),
    state: State | DataFrame | None = None,
    *,
    state_from_other_ruleset: bool = False,
    row_column: str | None = None,
    source: str = "<spark>",
) -> SparkOutcome:
    """Evaluate a Spark DataFrame of records with ``ruleset``, partition by partition, in Spark's workers.

    ``records`` has the columns a records CSV has (text, as ``spark.read.csv(header=True)``
    gives them, or typed). ``partition_by`` names the columns that split the work; every review
    and relative-score cohort must lie inside one partition and every agent must stay in one
    (``PartitionError`` otherwise, before any evaluation). ``state`` is the carried state: a
    :class:`tierpay.State` (each agent goes to the partition its records are in; an agent with no
    record is carried over unchanged) or the ``state`` DataFrame of an earlier run.
    ``row_column`` names a column holding each row's line in the source, to name it in
    rejections (it is not a field). Rejections name ``source`` and the partition: ``<spark team=T1>``.
    """
    try:
        from pyspark.sql import functions as F
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"tierpay.spark needs pyspark: {INSTALL}") from None
    keys = list(partition_by)
    check_partitioning(ruleset, keys)
    missing = [k for k in [*keys, "agent_id"] if k not in records.columns]
    if missing:
        raise PartitionError(
            f"the records have no {', '.join(missing)} column (they have {', '.join(records.columns)})"
        )
    if keys:
        _check_agents_stay(records, keys)
    layout = Layout.of(ruleset, keys)
    schema = _ddl(layout)
    group = keys or [ALL]
    frame = records if keys else records.withColumn(ALL, F.lit(0))
    other = state_from_other_ruleset

    def one(key: tuple[Any, ...], table: Any) -> Any:
        return evaluate_partition(
            ruleset, layout, key if keys else (), table.drop_columns([ALL]) if not keys else table,
            state_from_other_ruleset=other, row_column=row_column, source=source,
        )  # fmt: skip

    def with_state(key: tuple[Any, ...], table: Any, carried: Any) -> Any:
        if not keys:
            table, carried = table.drop_columns([ALL]), carried.drop_columns([ALL])
        return evaluate_partition(
            ruleset, layout, key if keys else (), table, carried,
            state_from_other_ruleset=other, row_column=row_column, source=source,
        )  # fmt: skip

    carried_over = None
    if state is None:
        combined = frame.groupBy(*group).applyInArrow(one, schema)
    else:
        placed, carried_over = _placed_state(records.sparkSession, state, records, keys)
        if not keys:
            placed = placed.withColumn(ALL, F.lit(0))
        combined = frame.groupBy(*group).cogroup(placed.groupBy(*group)).applyInArrow(with_state, schema)
    if carried_over is not None:
        combined = combined.unionByName(carried_over, allowMissingColumns=True)
    combined = combined.persist()
    kind = F.col(KIND)
    state_columns = [F.col(STATE_PREFIX + n).alias(n) for n in STATE_FIELDS]
    return SparkOutcome(
        decisions=combined.filter(kind == DECISION).select(*layout.decisions),
        rejections=combined.filter(kind == REJECTION).select(
            *keys,
            "agent_id",
            "period",
            F.col("rejection_source").alias("source"),
            F.col("rejection_row").alias("row"),
            F.col("rejection_reasons").alias("reasons"),
        ),
        gaps=combined.filter(kind == GAP).select(
            *keys, "agent_id", "period", F.col("gap_last_period").alias("last_period")
        ),
        warnings=combined.filter(kind == WARNING).select("warning").distinct(),
        state=combined.filter(kind == STATE).select(*state_columns, *keys),
        combined=combined,
    )


def _ddl(layout: Layout) -> str:
    """The combined output's Spark schema, from the worker's Arrow schema."""
    types = {"string": "STRING", "int64": "BIGINT", "list<item: string>": "ARRAY<STRING>"}
    return ", ".join(f"`{f.name}` {types[str(f.type)]}" for f in layout.schema)


def _check_agents_stay(records: DataFrame, keys: list[str]) -> None:
    """Refuse records in which an agent appears in two partitions: its state could not go month to month."""
    from pyspark.sql import functions as F

    moved = (
        records.groupBy("agent_id")
        .agg(F.sort_array(F.collect_set(F.struct(*keys))).alias("partitions"))
        .filter(F.size("partitions") > 1)
        .orderBy("agent_id")
        .limit(5)
        .collect()
    )
    if moved:
        shown = "; ".join(
            f"agent {row['agent_id']} is in "
            + " and ".join(", ".join(f"{k}={p[k]}" for k in keys) for p in row["partitions"])
            for row in moved
        )
        raise PartitionError(
            f"{shown}: an agent's carried state goes from month to month inside one partition, so an agent must "
            f"stay in one; partition by a column that does not change for an agent (a site, a client), or split "
            f"the run at the month of the move"
        )


def _placed_state(
    spark: SparkSession, state: State | DataFrame, records: DataFrame, keys: list[str]
) -> tuple[DataFrame, DataFrame | None]:
    """The state as a DataFrame with each agent's partition, and the agents no partition has (carried as they are)."""
    from pyspark.sql import functions as F

    if not isinstance(state, State):
        absent = [k for k in [*keys, "agent_id"] if k not in state.columns]
        if absent:
            raise PartitionError(f"the state has no {', '.join(absent)} column: pass the state an earlier run gave")
        # Every column aliased: the state may come from the same lineage as the records (a Spark self-join).
        columns = [F.col(n).cast("string").alias(STATE_PREFIX + n) for n in STATE_FIELDS]
        return state.select(*columns, *[F.col(k).alias(k) for k in keys]), None
    import csv
    import io

    rows = [
        tuple(row.get(n) or None for n in STATE_FIELDS) for row in csv.DictReader(io.StringIO(state.to_csv()))
    ]  # by name: a column the state leaves out when unused (probation_extension) is empty here
    table = spark.createDataFrame(rows, schema=", ".join(f"`{STATE_PREFIX}{n}` STRING" for n in STATE_FIELDS))
    if not keys:
        return table, None
    where = records.select(F.col("agent_id").alias(STATE_PREFIX + "agent_id"), *[F.col(k).alias(k) for k in keys])
    where = where.distinct()
    placed = table.join(where, on=STATE_PREFIX + "agent_id", how="inner")
    unplaced = table.join(where, on=STATE_PREFIX + "agent_id", how="left_anti").withColumn(KIND, F.lit(STATE))
    return placed, unplaced
