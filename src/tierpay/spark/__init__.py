"""The same ruleset on Apache Spark: records where they live, evaluated by the one engine in Spark's workers.

    from tierpay.spark import evaluate

    result = evaluate(ruleset, spark.read.csv("agents.csv", header=True), partition_by=["team"])
    result.decisions.write.parquet("decisions")      # the decisions CSV's columns
    result.state.write.parquet("state-2026-06")      # carried to next month's run

Each partition (a site, a client, a team) goes to a worker whole, as Arrow, and
:mod:`tierpay.spark.worker` evaluates all of its months in order with the one engine, so the
answers are exactly a local run's. For that, every cohort an answer depends on must lie inside
one partition (checked before any work, :mod:`tierpay.spark.partitions`); an agent who moves
between partitions joins them, so that its state goes from month to month in one worker. Whole
partitions are packed into a few buckets, each one call of the engine (one grouped-map group,
``applyInArrow``). ``pyspark`` is the optional ``spark`` extra: ``pip install "tierpay[spark]"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tierpay.engine.state import State
from tierpay.errors import PartitionError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions
from tierpay.spark.partitions import check_partitioning, components, pack
from tierpay.spark.worker import (
    DECISION,
    GAP,
    KIND,
    PERIOD,
    REJECTION,
    STATE,
    STATE_FIELDS,
    STATE_PREFIX,
    WARNING,
    Layout,
    evaluate_bucket,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["PartitionError", "SparkOutcome", "evaluate"]

INSTALL = 'pip install "tierpay[spark]"'
BUCKET = "_tierpay_bucket"
"""The column holding each row's bucket: whole partitions, several evaluated by one call of the engine."""
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$", re.ASCII)


@dataclass
class SparkOutcome:
    """What a run on Spark gives, as Spark DataFrames computed once (the combined result is cached).

    ``decisions`` has the decisions CSV's columns (text, exact: ``pay_total`` is ``"5750.00"``)
    and any partition column that is not an attribute; ``rejections`` the partition columns,
    ``agent_id``, ``period``, ``source``, ``row`` and ``reasons`` (a list); ``gaps`` the agents
    with no record for a month of the run (their last record's partition); ``state`` the carried state after the
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
    buckets: int | None = None,
) -> SparkOutcome:
    """Evaluate a Spark DataFrame of records with ``ruleset`` in Spark's workers, exactly as a local run would.

    ``records`` has the columns a records CSV has (text, as ``spark.read.csv(header=True)``
    gives them, or typed). ``partition_by`` names the columns that split the work; every review
    and relative-score cohort must lie inside one partition (``PartitionError`` otherwise,
    before any evaluation). An agent whose records are in two partitions (a team change) joins
    them: both are evaluated together, since its state goes from one month to the next. Whole
    joined partitions are packed into at most ``buckets`` buckets (default: twice Spark's
    default parallelism), each evaluated by one call of the engine over all its months.
    ``state`` is the carried state: a :class:`tierpay.State` or the ``state`` DataFrame of an
    earlier run; each agent's goes where its records are (an agent with no record is carried
    over, with its gaps, as locally). ``row_column`` names a column holding each row's line in
    the source, to name it in rejections (it is not a field). Rejections name ``source`` and
    the row's partition: ``<spark team=T1>``.
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
    if BUCKET in records.columns:
        raise PartitionError(f"the records have a column named {BUCKET}, which tierpay.spark uses for its buckets")
    spark = records.sparkSession
    wanted = buckets if buckets is not None else max(1, spark.sparkContext.defaultParallelism * 2)
    if wanted < 1:
        raise PartitionError(f"buckets must be 1 or more, not {wanted}")
    frame, homes, count = _bucketed(records, keys, wanted)
    periods = _periods(records)
    layout = Layout.of(ruleset, keys)
    schema = _ddl(layout)
    other = state_from_other_ruleset

    def one(_: tuple[Any, ...], table: Any) -> Any:
        return evaluate_bucket(
            ruleset, layout, _without_bucket(table), periods=periods,
            state_from_other_ruleset=other, row_column=row_column, source=source,
        )  # fmt: skip

    def with_state(_: tuple[Any, ...], table: Any, carried: Any) -> Any:
        return evaluate_bucket(
            ruleset, layout, _without_bucket(table), _without_bucket(carried), periods=periods,
            state_from_other_ruleset=other, row_column=row_column, source=source,
        )  # fmt: skip

    if state is None:
        combined = frame.groupBy(BUCKET).applyInArrow(one, schema)
    else:
        placed = _placed_state(spark, state, keys, homes, count)
        combined = frame.groupBy(BUCKET).cogroup(placed.groupBy(BUCKET)).applyInArrow(with_state, schema)
    combined = combined.persist()
    kind = F.col(KIND)
    state_columns = [F.col(STATE_PREFIX + n).alias(n) for n in STATE_FIELDS]
    seen = combined.filter(kind == PERIOD).select("period").distinct()
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
        gaps=combined.filter(kind == GAP)
        .join(seen, on="period", how="left_semi")  # a month no record anywhere was accepted for has no gaps locally
        .select(*keys, "agent_id", "period", F.col("gap_last_period").alias("last_period")),
        warnings=combined.filter(kind == WARNING).select("warning").distinct(),
        state=combined.filter(kind == STATE).select(*state_columns, *keys),
        combined=combined,
    )


def _ddl(layout: Layout) -> str:
    """The combined output's Spark schema, from the worker's Arrow schema."""
    types = {"string": "STRING", "int64": "BIGINT", "list<item: string>": "ARRAY<STRING>"}
    return ", ".join(f"`{f.name}` {types[str(f.type)]}" for f in layout.schema)


def _without_bucket(table: Any) -> Any:
    """An Arrow table without the bucket column (an empty side of a cogroup may lack it)."""
    return table.drop_columns([BUCKET]) if BUCKET in table.column_names else table


def _bucketed(records: DataFrame, keys: list[str], wanted: int) -> tuple[DataFrame, dict[str, int], int]:
    """The records with each row's bucket, each agent's bucket, and how many buckets there are.

    The driver collects the distinct (partition, agent) pairs with their row counts (small:
    one per agent and partition), joins partitions an agent moved between (:func:`components`)
    and packs whole components by rows (:func:`pack`); the buckets go back as a broadcast join.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StructField, StructType

    if not keys:
        return records.withColumn(BUCKET, F.lit(0)), {}, 1
    pairs = records.groupBy(*keys, "agent_id").count().collect()
    keyed = [(tuple(row[k] for k in keys), row["agent_id"], int(row["count"])) for row in pairs]
    component = components((key, agent) for key, agent, _ in keyed)
    sizes: dict[int, int] = {}
    for key, _, rows in keyed:
        sizes[component[key]] = sizes.get(component[key], 0) + rows
    placed = pack(sizes, wanted)
    bucket = {key: placed[c] for key, c in component.items()}
    homes = {str(agent): bucket[key] for key, agent, _ in keyed if agent is not None}
    named = [f"{BUCKET}_{i}" for i in range(len(keys))]
    fields = [StructField(n, records.schema[k].dataType, True) for n, k in zip(named, keys, strict=True)]
    table = records.sparkSession.createDataFrame(
        [(*key, b) for key, b in bucket.items()], StructType([*fields, StructField(BUCKET, IntegerType(), False)])
    )
    condition = [records[k].eqNullSafe(table[n]) for k, n in zip(keys, named, strict=True)]
    joined = records.join(F.broadcast(table), on=condition, how="inner").drop(*named)
    return joined, homes, len(set(placed.values())) or 1


def _periods(records: DataFrame) -> list[str]:
    """The run's months (the well-formed ``period`` values): every bucket evaluates each, for its gaps."""
    from pyspark.sql import functions as F

    if "period" not in records.columns:
        return []
    found = records.select(F.col("period").cast("string").alias("period")).distinct().collect()
    return sorted(p for row in found if (p := row["period"]) is not None and MONTH.match(p))


def _placed_state(
    spark: SparkSession, state: State | DataFrame, keys: list[str], homes: dict[str, int], count: int
) -> DataFrame:
    """The state as a DataFrame, each agent in its records' bucket (an agent with none in a bucket by its id's hash)."""
    from pyspark.sql import functions as F

    agent = F.col(STATE_PREFIX + "agent_id")
    if not isinstance(state, State):
        if "agent_id" not in state.columns:
            raise PartitionError(
                f"the state has no agent_id column (it has {', '.join(state.columns)}): pass the state an earlier run gave"
            )
        # Every column aliased: the state may come from the same lineage as the records (a Spark self-join).
        columns = [F.col(n).cast("string").alias(STATE_PREFIX + n) for n in STATE_FIELDS if n in state.columns]
        own = [F.col(k).cast("string").alias(k) for k in keys if k in state.columns]
        table = state.select(*columns, *own)
    else:
        import csv
        import io

        rows = [
            tuple(row.get(n) or None for n in STATE_FIELDS) for row in csv.DictReader(io.StringIO(state.to_csv()))
        ]  # by name: a column the state leaves out when unused (probation_extension) is empty here
        table = spark.createDataFrame(rows, schema=", ".join(f"`{STATE_PREFIX}{n}` STRING" for n in STATE_FIELDS))
    fallback = F.pmod(F.crc32(agent), F.lit(count)).cast("int")
    if not homes:
        return table.withColumn(BUCKET, fallback)
    where = spark.createDataFrame(list(homes.items()), f"`{BUCKET}_agent` STRING, `{BUCKET}` INT")
    placed = table.join(F.broadcast(where), agent == F.col(f"{BUCKET}_agent"), how="left")
    return placed.withColumn(BUCKET, F.coalesce(F.col(BUCKET), fallback)).drop(f"{BUCKET}_agent")
