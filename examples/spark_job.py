"""A Spark job: evaluate a month (or a year) of records where they live, and write the results back.

Who it is for: data engineers running tierpay on an HR platform's Spark or Hive warehouse.
What it shows: the records read from a CSV file or a table, evaluated partition by partition by
``tierpay.spark.evaluate`` (the one engine inside Spark's workers, so every answer is a local
run's; teams an agent moved between are evaluated together), last month's carried state read back, and the decisions, rejections and new state
written as files or saved as tables for next month's run.

Exit status: 1 on the shipped sample, whose ten bad rows are rejected on purpose (0 when every
row is decided), as tierpay's own commands do.

Run: python examples/spark_job.py [--records CSV | --table NAME] [--partition-by team]
     [--state DIR] [--out DIR] [--save-as-tables PREFIX]
 or: spark-submit examples/spark_job.py … (the same options; Spark in local mode when run with python)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the job; return what it wrote and counted, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ruleset", type=Path, default=RULESET, help="the ruleset (default: the shipped one)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--records", default=str(RECORDS), help="a records CSV (default: the shipped sample)")
    source.add_argument("--table", help="a Spark or Hive table of records instead of a CSV file")
    parser.add_argument(
        "--partition-by", default="", help="columns that split the work, such as site or client (default: none)"
    )
    parser.add_argument("--state", help="the folder of the state an earlier run wrote (its state/ folder)")
    parser.add_argument("--out", type=Path, help="folder for the results (default: a new temporary folder)")
    parser.add_argument("--save-as-tables", metavar="PREFIX", help="also save PREFIX_decisions, ... as tables")
    args = parser.parse_args(argv)

    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError:
        print('this example needs Spark: pip install "tierpay[spark]" (and Java)', file=sys.stderr)
        sys.exit(2)
    import tierpay
    import tierpay.spark

    out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="tierpay-example-"))
    spark = (
        SparkSession.builder.appName("tierpay")
        .master("local[2]")  # spark-submit --master ... overrides it
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    ruleset = tierpay.load_ruleset(args.ruleset)
    records = spark.table(args.table) if args.table else spark.read.csv(args.records, header=True)
    state = spark.read.csv(args.state, header=True) if args.state else None
    partition_by = [name.strip() for name in args.partition_by.split(",") if name.strip()]
    result = tierpay.spark.evaluate(ruleset, records, partition_by=partition_by, state=state)

    decided, rejected = result.decisions.count(), result.rejections.count()
    result.decisions.write.csv(str(out / "decisions"), header=True)
    result.rejections.write.json(str(out / "rejections"))
    result.state.write.csv(str(out / "state"), header=True)
    if args.save_as_tables:
        for name in ("decisions", "rejections", "state"):
            getattr(result, name).write.mode("overwrite").saveAsTable(f"{args.save_as_tables}_{name}")
    split = f"partitioned by {', '.join(partition_by)}" if partition_by else "in one partition"
    print(f"{decided} agent-months decided, {rejected} records rejected, {split}")
    for row in result.rejections.orderBy("agent_id").collect():
        print(f"rejected: {row['source']} ({row['agent_id']} {row['period']}): {'; '.join(row['reasons'])}")
    print(f"decisions, rejections and state written to {out}")
    result.unpersist()
    return {"out": out, "decided": decided, "rejected": rejected, "exit": 1 if rejected else 0}


if __name__ == "__main__":
    sys.exit(int(main()["exit"]))  # type: ignore[call-overload]
