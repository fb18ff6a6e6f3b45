"""What Spark costs: the same file evaluated by ``tierpay evaluate`` and by ``tierpay.spark`` in local mode.

Usage: python benchmarks/spark.py [--rows 1000000] [--partitions 2] [--buckets N] [--repeat 1] [--results FILE]

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
import json, sys, time
start = time.perf_counter()
import tierpay, tierpay.spark
from pyspark.sql import SparkSession
ruleset_path, records, out, threads, buckets = sys.argv[1:6]
spark = (SparkSession.builder.master(f"local[{threads}]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", str(4 * int(threads)))
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
session = time.perf_counter()
result = tierpay.spark.evaluate(tierpay.load_ruleset(ruleset_path), spark.read.csv(records, header=True),
                                partition_by=["team"], buckets=int(buckets) if buckets != "default" else None)
planned = time.perf_counter()
result.decisions.write.csv(out, header=True)
done = time.perf_counter()
import os
def cpu_of_tree(root):  # the JVM and its Python workers: user + system seconds, their reaped children's too
    parents, times = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(pid)] = int(fields[1])
        times[int(pid)] = sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    def under(pid):
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == root:
                return True
        return False
    return sum(t for pid, t in times.items() if under(pid))
own = os.times()
print(json.dumps({"imports_and_jvm": round(session - start, 2), "buckets_planned": round(planned - session, 2),
                  "evaluated_and_written": round(done - planned, 2), "driver_cpu": round(own.user + own.system, 2),
                  "jvm_and_workers_cpu": round(cpu_of_tree(os.getpid()), 2)}))
spark.stop()
"""
"""The Spark side: its phases timed (start-up, the driver's planning jobs, the grouped map with the write)."""


def timed(command: list[str]) -> tuple[float, int, float, str]:
    """Seconds, peak resident MiB, CPU seconds (the child and every child of it) and standard output of a child.

    Its standard error goes to a file: a pipe nobody reads fills up and stops the child (a run's
    rejections and gaps are many lines).
    """
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        before = os.times()
        child = subprocess.Popen(command, stdout=output, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        after = os.times()
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command[:3])}... failed:\n{errors.read().decode()[-2000:]}")
        output.seek(0)
        shown = output.read().decode("utf-8", "replace")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return seconds, usage.ru_maxrss // 1024, cpu, shown


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
    parser.add_argument("--buckets", default="default", help="tierpay.spark's buckets (default: twice the threads)")
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
                    [
                        sys.executable,
                        "-c",
                        SPARK_SIDE,
                        str(RULESET),
                        str(records),
                        str(spark_out),
                        str(args.partitions),
                        args.buckets,
                    ]
                )
            )
            if rows_of([local_out]) != rows_of(sorted(spark_out.glob("part-*.csv"))):
                print("the decisions differ between the command line and Spark", file=sys.stderr)
                return 1
    local = statistics.median(run[0] for run in local_runs)
    spark = statistics.median(run[0] for run in spark_runs)
    figures = {
        "rows": args.rows,
        "spark_threads": args.partitions,
        "buckets": args.buckets,
        "local_seconds": [round(run[0], 2) for run in local_runs],
        "local_cpu_seconds": [round(run[2], 2) for run in local_runs],
        "local_peak_mib": [run[1] for run in local_runs],
        "spark_seconds": [round(run[0], 2) for run in spark_runs],
        "spark_cpu_seconds": [round(run[2], 2) for run in spark_runs],
        "spark_driver_peak_mib": [run[1] for run in spark_runs],
        "spark_phases": [json.loads(run[3].strip().splitlines()[-1]) for run in spark_runs],
        "spark_over_local": round(spark / local, 2),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(figures, indent=2))
    if args.results:
        args.results.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
