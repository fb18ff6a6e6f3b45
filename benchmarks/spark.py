"""What Spark costs: the same file evaluated by ``tierpay evaluate`` and by ``tierpay.spark`` in local mode.

Usage: python benchmarks/spark.py [--rows 1000000] [--partitions 2] [--repeat 1] [--results FILE]

Both sides read the same generated CSV (``generate.py``, seed 2026) with
``benchmarks/ruleset.yaml`` and write the decisions as CSV: the command line one file, Spark a
folder of parts. Each side runs in its own child process, so its time includes start-up (the
JVM for Spark) and its peak memory (``os.wait4``; for Spark the Python driver's, the JVM and its
Python workers are children of it and are counted as such by the kernel only when they end)
is its own. Before any time is reported the two sides' decisions must be equal, row for row.
Spark runs ``local[N]`` with ``--partitions`` worker threads, partitioned by team. Timing is
never asserted; the exit code is 1 only when a side fails or the answers differ.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULESET = HERE / "ruleset.yaml"

SPARK_SIDE = """
import sys, tierpay, tierpay.spark
from pyspark.sql import SparkSession
ruleset_path, records, out, threads = sys.argv[1:5]
spark = (SparkSession.builder.master(f"local[{threads}]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", str(4 * int(threads)))
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
result = tierpay.spark.evaluate(tierpay.load_ruleset(ruleset_path), spark.read.csv(records, header=True),
                                partition_by=["team"])
result.decisions.write.csv(out, header=True)
spark.stop()
"""


def timed(command: list[str]) -> tuple[float, int]:
    """Seconds and peak resident MiB of a child process; raises when it fails."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{' '.join(command[:3])}... failed:\n{stderr[-2000:]}")
    return seconds, usage.ru_maxrss // 1024


def rows_of(paths: list[Path]) -> list[tuple[str, ...]]:
    found = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            found.extend(tuple(row.values()) for row in csv.DictReader(handle))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=2, help="Spark's local threads (default 2)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--results", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from generate import generate

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        records = base / "agents.csv"
        generate(args.rows, records)
        local_runs, spark_runs = [], []
        for i in range(args.repeat):
            local_out, spark_out = base / f"local-{i}.csv", base / f"spark-{i}"
            local_runs.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "tierpay",
                        "evaluate",
                        str(RULESET),
                        str(records),
                        "--format",
                        "csv",
                        "-o",
                        str(local_out),
                    ]
                )
            )
            spark_runs.append(
                timed(
                    [sys.executable, "-c", SPARK_SIDE, str(RULESET), str(records), str(spark_out), str(args.partitions)]
                )
            )
            if rows_of([local_out]) != rows_of(sorted(spark_out.glob("part-*.csv"))):
                print("the decisions differ between the command line and Spark", file=sys.stderr)
                return 1
    local = statistics.median(s for s, _ in local_runs)
    spark = statistics.median(s for s, _ in spark_runs)
    figures = {
        "rows": args.rows,
        "spark_threads": args.partitions,
        "local_seconds": [round(s, 2) for s, _ in local_runs],
        "local_peak_mib": [m for _, m in local_runs],
        "spark_seconds": [round(s, 2) for s, _ in spark_runs],
        "spark_driver_peak_mib": [m for _, m in spark_runs],
        "spark_over_local": round(spark / local, 2),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(figures, indent=2))
    if args.results:
        args.results.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
