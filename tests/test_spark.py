"""The same ruleset on Apache Spark (local mode): exactly the local engine's decisions, rejections, gaps and state.

Spark needs Java and pyspark (the ``spark`` extra). ``.ci/run`` installs Java from the OS
packages and sets ``TIERPAY_REQUIRE_SPARK=1``, so there a missing Spark fails these tests;
elsewhere they are skipped, saying what to install.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import tierpay
import tierpay.spark
from tierpay import PartitionError
from tierpay.cli import main
from tierpay.spark.worker import DECISION, KIND, Layout, evaluate_partition

from .conftest import ROOT, SAMPLE_H1, STARS

INSTALL = 'pip install "tierpay[spark]" and a Java runtime (apt-get install openjdk-17-jre-headless)'


def cli_csv(*args: str) -> tuple[list[dict[str, str]], str]:
    """The decisions CSV the command line writes, as rows, and its standard error."""
    out, err = io.StringIO(), io.StringIO()
    main(["evaluate", str(STARS), *args, "--format", "csv"], stdout=out, stderr=err)
    return list(csv.DictReader(io.StringIO(out.getvalue()))), err.getvalue()


def as_cells(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Rows as sorted tuples of their cells, a missing cell written as the CSV writes it (empty)."""
    return sorted(tuple("" if v is None else str(v) for v in row.values()) for row in rows)


# --- the worker, without Spark --------------------------------------------------------------


def test_a_partition_is_evaluated_as_the_local_engine_does() -> None:
    """One partition's Arrow rows through the worker give the local run's decisions for them."""
    ruleset = tierpay.load_ruleset(STARS)
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    t1 = [line.split(",") for line in lines[1:] if line.split(",")[head.index("team")] == "T1"]
    table = pa.table({name: [row[i] or None for row in t1] for i, name in enumerate(head)})
    layout = Layout.of(ruleset, ["team"])
    result = evaluate_partition(ruleset, layout, ("T1",), table).to_pylist()
    decided = [{k: r[k] for k in layout.decisions} for r in result if r[KIND] == DECISION]
    local, _ = cli_csv(str(SAMPLE_H1))
    assert as_cells(decided) == as_cells([r for r in local if r["team"] == "T1"])
    assert len(decided) == 96  # T1's agent-months over the half year, as --summary counts them


def test_partitioning_that_would_cut_a_cohort_is_refused_before_any_work() -> None:
    from tierpay.spark.partitions import check_partitioning

    ruleset = tierpay.load_ruleset(STARS)
    check_partitioning(ruleset, ["team"])  # the review ranks within a team: a team is whole in one partition
    with pytest.raises(PartitionError) as refused:
        check_partitioning(ruleset, ["region"])
    assert str(refused.value) == (
        f"{STARS}: review.cohort_by is [team]: partitioning by region could split a cohort and change its "
        "ranking; partition by columns among ['team']"
    )


# --- on Spark -------------------------------------------------------------------------------


def require_spark() -> None:
    """Skip (or, with TIERPAY_REQUIRE_SPARK=1 as in CI, fail) when pyspark or Java is missing."""
    required = os.environ.get("TIERPAY_REQUIRE_SPARK", "") not in ("", "0")
    missing = None
    if importlib.util.find_spec("pyspark") is None:
        missing = "pyspark"
    elif shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing = "Java"
    if missing is not None:
        if required:
            pytest.fail(f"TIERPAY_REQUIRE_SPARK is set but {missing} is missing: {INSTALL}")
        pytest.skip(f"no {missing} to run Spark: {INSTALL}")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    require_spark()
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("tierpay-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def numbered(path: Path, folder: Path) -> Path:
    """``path`` with a ``line`` column holding each row's line in it, as an export job can add."""
    lines = path.read_text(encoding="utf-8").splitlines()
    copy = folder / f"numbered-{path.name}"
    rows = [lines[0] + ",line", *(f"{line},{n}" for n, line in enumerate(lines[1:], start=2))]
    copy.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return copy


def test_the_sample_on_spark_is_the_command_lines_run(spark: Any, tmp_path: Path) -> None:
    """Decisions, rejections (place and reasons), gaps and state: all the local run's."""
    ruleset = tierpay.load_ruleset(STARS)
    records = spark.read.csv(str(numbered(SAMPLE_H1, tmp_path)), header=True)
    result = tierpay.spark.evaluate(ruleset, records, partition_by=["team"], row_column="line", source=str(SAMPLE_H1))
    local_rows, _ = cli_csv(str(SAMPLE_H1))
    spark_rows = [row.asDict() for row in result.decisions.collect()]
    assert result.decisions.columns == list(local_rows[0])
    assert as_cells(spark_rows) == as_cells(local_rows)
    local = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, SAMPLE_H1))
    rejected = sorted(
        (r["source"], r["row"], r["agent_id"], r["period"], r["reasons"]) for r in result.rejections.collect()
    )
    assert rejected == [(r.source, r.row, r.agent_id, r.period, r.reasons) for r in local.rejections]
    assert len(rejected) == 10
    gaps = sorted((g["agent_id"], g["period"], g["last_period"]) for g in result.gaps.collect())
    assert gaps == sorted((g.agent_id, g.period, g.last_period) for g in local.gaps) == [("A020", "2026-03", "2026-02")]
    assert result.local_state() == local.state
    result.unpersist()


def test_state_carried_between_runs_on_spark(spark: Any, tmp_path: Path) -> None:
    """January to March, then April to June from the state Spark wrote: the whole half year's answers."""
    ruleset = tierpay.load_ruleset(STARS)
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    q1, q2 = tmp_path / "q1.csv", tmp_path / "q2.csv"
    q1.write_text("\n".join([lines[0], *(x for x in lines[1:] if x.split(",")[1] <= "2026-03")]) + "\n", "utf-8")
    q2.write_text("\n".join([lines[0], *(x for x in lines[1:] if x.split(",")[1] > "2026-03")]) + "\n", "utf-8")
    first = tierpay.spark.evaluate(ruleset, spark.read.csv(str(q1), header=True), partition_by=["team"])
    second = tierpay.spark.evaluate(
        ruleset, spark.read.csv(str(q2), header=True), partition_by=["team"], state=first.state
    )
    whole, _ = cli_csv(str(SAMPLE_H1))
    assert as_cells([r.asDict() for r in second.decisions.collect()]) == as_cells(
        [r for r in whole if r["period"] > "2026-03"]
    )
    # The same from a local State (a state file read on the driver).
    from_file = tierpay.spark.evaluate(
        ruleset, spark.read.csv(str(q2), header=True), partition_by=["team"], state=first.local_state()
    )
    assert as_cells([r.asDict() for r in from_file.decisions.collect()]) == as_cells(
        [r for r in whole if r["period"] > "2026-03"]
    )
    assert from_file.local_state() == second.local_state()


def test_an_agent_who_moves_between_partitions_is_refused(spark: Any, tmp_path: Path) -> None:
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    moved = [lines[0]] + [
        x.replace(",T1,", ",T2,") if x.startswith("A001,2026-02") else x for x in lines[1:] if not x.startswith("A9")
    ]
    records = tmp_path / "moved.csv"
    records.write_text("\n".join(moved) + "\n", encoding="utf-8")
    with pytest.raises(PartitionError) as refused:
        tierpay.spark.evaluate(
            tierpay.load_ruleset(STARS), spark.read.csv(str(records), header=True), partition_by=["team"]
        )
    assert str(refused.value).startswith(
        "agent A001 is in team=T1 and team=T2: an agent's carried state goes from month to month inside one partition"
    )


def test_without_a_row_column_rejections_name_the_partition(spark: Any) -> None:
    """Spark does not know a row's line in its file: without ``row_column`` a rejection names its partition."""
    ruleset = tierpay.load_ruleset(STARS)
    result = tierpay.spark.evaluate(ruleset, spark.read.csv(str(SAMPLE_H1), header=True), partition_by=["team"])
    found = {r["agent_id"]: r for r in result.rejections.collect() if r["agent_id"] in ("A901", "A905")}
    assert (found["A901"]["source"], found["A901"]["row"]) == ("<spark team=T1>", None)
    assert found["A901"]["reasons"] == ["qa_score: missing"]
    assert found["A905"]["reasons"] == ["duplicate: agent A905 has another record for 2026-01 at <spark team=T1>"]


GENERATED_ROWS = 200_000


def test_200000_generated_agent_periods_on_spark(spark: Any, tmp_path: Path) -> None:
    """The issue's yardstick: 200,000 generated agent-periods give exactly the command line's decisions."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate  # type: ignore[import-not-found]

    records = tmp_path / "agents.csv"
    generate(GENERATED_ROWS, records)
    ruleset = tierpay.load_ruleset(ROOT / "benchmarks" / "ruleset.yaml")
    result = tierpay.spark.evaluate(ruleset, spark.read.csv(str(records), header=True), partition_by=["team"])
    out = io.StringIO()
    main(["evaluate", str(ROOT / "benchmarks" / "ruleset.yaml"), str(records), "--format", "csv"], out, io.StringIO())
    local = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(local) > 190_000
    assert as_cells([r.asDict() for r in result.decisions.collect()]) == as_cells(local)


def test_the_example_job_runs_as_the_how_to_shows(tmp_path: Path) -> None:
    """The how-to's command, as written, from a folder holding the shipped files."""
    require_spark()
    page = (ROOT / "docs" / "how-to" / "spark.md").read_text(encoding="utf-8")
    (command,) = [line for line in page.splitlines() if line.startswith("python examples/spark_job.py")]
    for name in ("rulesets", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, *command.split()[1:]], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr  # the sample's ten bad rows
    assert "416 agent-months decided, 10 records rejected, partitioned by team" in done.stdout
    decisions = sorted((tmp_path / "results" / "decisions").glob("part-*.csv"))
    rows = [row for part in decisions for row in csv.DictReader(io.StringIO(part.read_text(encoding="utf-8")))]
    local, _ = cli_csv(str(SAMPLE_H1))
    assert as_cells(rows) == as_cells(local)


def test_the_example_job_without_pyspark_names_the_extra(tmp_path: Path) -> None:
    """Without pyspark the job says which extra installs it and exits 2, with no traceback."""
    script = (
        "import runpy, sys\n"
        "sys.modules['pyspark'] = None  # as if it were not installed\n"
        f"sys.argv = ['spark_job.py', '--out', {str(tmp_path)!r}]\n"
        f"runpy.run_path({str(ROOT / 'examples' / 'spark_job.py')!r}, run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert 'pip install "tierpay[spark]"' in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
