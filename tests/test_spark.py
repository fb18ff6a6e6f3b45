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
import re
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
from tierpay.spark.worker import DECISION, KIND, Layout, evaluate_bucket

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


MOVER = "A002"
"""The sample's agent who moves from T1 to T3 on 16 March: partitioned by team, T1 and T3 are evaluated together."""

LADDERS = ROOT / "examples" / "rulesets" / "callcenter-ladders.yaml"
LADDER_RECORDS = ROOT / "examples" / "data" / "ladders-2026q1.csv"


def without(folder: Path, name: str, drop: Any) -> Path:
    """The sample without the lines ``drop`` picks (given the line's cells), as a file in ``folder``."""
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    copy = folder / name
    copy.write_text("\n".join([lines[0], *(x for x in lines[1:] if not drop(x.split(",")))]) + "\n", encoding="utf-8")
    return copy


# --- the worker, without Spark --------------------------------------------------------------


def test_a_bucket_is_evaluated_as_the_local_engine_does() -> None:
    """T1 and T3 (linked by their mover) through the worker in one call give the local run's decisions for them."""
    ruleset = tierpay.load_ruleset(STARS)
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:] if line.split(",")[head.index("team")] in ("T1", "T3")]
    table = pa.table({name: [row[i] or None for row in rows] for i, name in enumerate(head)})
    layout = Layout.of(ruleset, ["team"])
    result = evaluate_bucket(ruleset, layout, table).to_pylist()
    decided = [{k: r[k] for k in layout.decisions} for r in result if r[KIND] == DECISION]
    local, _ = cli_csv(str(SAMPLE_H1))
    expected = [r for r in local if r["team"] in ("T1", "T3")]
    assert as_cells(decided) == as_cells(expected)
    assert len(decided) == len(expected) > 150  # T1's and T3's agent-months over the half year


def test_partitions_an_agent_moves_between_are_one_component() -> None:
    """A002 in T1 and T3 joins the two teams; a team nobody left or joined is a component alone."""
    from tierpay.spark.partitions import components

    pairs = [(("T2",), "A010"), (("T1",), "A001"), (("T3",), "A002"), (("T1",), "A002"), (("T4",), None)]
    assert components(pairs) == {("T1",): 0, ("T2",): 1, ("T3",): 0, ("T4",): 2}
    chain = [("a", "x"), ("b", "y"), ("c", "x"), ("b", "z"), ("c", "z"), ("d", "w")]
    assert components(chain) == {"a": 0, "b": 0, "c": 0, "d": 1}  # a-c through x, c-b through z


def test_components_are_packed_whole_into_the_fewest_loaded_buckets() -> None:
    """The largest component first, each into the bucket with fewest rows; never more buckets than components."""
    from tierpay.spark.partitions import pack

    assert pack({0: 10, 1: 7, 2: 5, 3: 4, 4: 1}, 2) == {0: 0, 1: 1, 2: 1, 3: 0, 4: 1}
    assert pack({0: 3, 1: 3}, 8) == {0: 0, 1: 1}
    assert pack({}, 4) == {}
    with pytest.raises(PartitionError, match="buckets must be 1 or more, not 0"):
        pack({0: 1}, 0)


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
    """Decisions, rejections (place and reasons), gaps and state: all the local run's, without partition_by."""
    ruleset = tierpay.load_ruleset(STARS)
    records = spark.read.csv(str(numbered(SAMPLE_H1, tmp_path)), header=True)
    result = tierpay.spark.evaluate(ruleset, records, row_column="line", source=str(SAMPLE_H1))
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


def outputs(result: Any) -> dict[str, Any]:
    """Every answer of a Spark run, collected and sorted: decisions, rejections, gaps, warnings and state."""
    return {
        "decisions": as_cells([row.asDict() for row in result.decisions.collect()]),
        "rejections": sorted(
            (r["source"], r["row"] or 0, r["agent_id"] or "", r["period"] or "", r["reasons"])
            for r in result.rejections.collect()
        ),
        "gaps": sorted(tuple(g) for g in result.gaps.collect()),
        "warnings": sorted(w["warning"] for w in result.warnings.collect()),
        "state": as_cells([row.asDict() for row in result.state.collect()]),
    }


def test_partitioned_by_team_on_spark_is_the_command_lines_run(spark: Any) -> None:
    """The issue's "done when": the sample read by Spark, partitioned by team, gives the command line's answers.

    A002 moves from T1 to T3 in March, so T1 and T3 are evaluated together; rejections name
    each row's own team.
    """
    ruleset = tierpay.load_ruleset(STARS)
    result = tierpay.spark.evaluate(ruleset, spark.read.csv(str(SAMPLE_H1), header=True), partition_by=["team"])
    local_rows, _ = cli_csv(str(SAMPLE_H1))
    spark_rows = [row.asDict() for row in result.decisions.collect()]
    assert result.decisions.columns == list(local_rows[0])
    assert as_cells(spark_rows) == as_cells(local_rows)
    moved = sorted((r["period"], r["team"]) for r in spark_rows if r["agent_id"] == MOVER)
    assert moved[1:4] == [("2026-02", "T1"), ("2026-03", "T3"), ("2026-04", "T3")]
    local = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, SAMPLE_H1))
    rejected = sorted((r["agent_id"] or "", r["period"] or "", r["reasons"]) for r in result.rejections.collect())
    assert rejected == sorted(
        (r.agent_id or "", r.period or "", [re.sub(r"at .*:\d+", "at <spark team=T1>", x) for x in r.reasons])
        for r in local.rejections
    )
    assert len(rejected) == 10
    teams = {(r["agent_id"], r["period"]): (r["source"], r["team"]) for r in result.rejections.collect()}
    assert teams[("A901", "2026-01")] == ("<spark team=T1>", "T1")
    gaps = sorted((g["agent_id"], g["period"], g["last_period"], g["team"]) for g in result.gaps.collect())
    assert gaps == [("A020", "2026-03", "2026-02", "T2")]
    assert [(g.agent_id, g.period, g.last_period) for g in local.gaps] == [g[:3] for g in gaps]
    assert result.local_state() == local.state
    assert {r["agent_id"]: r["team"] for r in result.state.collect()}[MOVER] == "T3"
    result.unpersist()


def test_buckets_do_not_change_the_answers(spark: Any, tmp_path: Path) -> None:
    """One bucket, three, or one per team: every answer the same, gaps included (T2 has no March here)."""
    ruleset = tierpay.load_ruleset(STARS)
    sample = without(tmp_path, "no-t2-march.csv", lambda cells: cells[3] == "T2" and cells[1] == "2026-03")
    records = spark.read.csv(str(sample), header=True)
    found = [outputs(tierpay.spark.evaluate(ruleset, records, partition_by=["team"], buckets=n)) for n in (1, 3, 50)]
    assert found[0] == found[1] == found[2]
    local = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, sample))
    gaps = [g[1:4] for g in found[0]["gaps"]]
    assert gaps == sorted((g.agent_id, g.period, g.last_period) for g in local.gaps)
    assert sum(1 for _, period, _ in gaps if period == "2026-03") > 10  # T2's agents, in a month other teams have


def test_state_carried_between_runs_on_spark(spark: Any, tmp_path: Path) -> None:
    """January to March, then April to June from the state Spark wrote: the whole half year's answers."""
    ruleset = tierpay.load_ruleset(STARS)
    sample = SAMPLE_H1
    lines = sample.read_text(encoding="utf-8").splitlines()
    q1, q2 = tmp_path / "q1.csv", tmp_path / "q2.csv"
    q1.write_text("\n".join([lines[0], *(x for x in lines[1:] if x.split(",")[1] <= "2026-03")]) + "\n", "utf-8")
    q2.write_text("\n".join([lines[0], *(x for x in lines[1:] if x.split(",")[1] > "2026-03")]) + "\n", "utf-8")
    first = tierpay.spark.evaluate(ruleset, spark.read.csv(str(q1), header=True), partition_by=["team"])
    second = tierpay.spark.evaluate(
        ruleset, spark.read.csv(str(q2), header=True), partition_by=["team"], state=first.state
    )
    whole, _ = cli_csv(str(sample))
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


def test_an_agent_in_the_state_without_records_keeps_its_state_and_gaps(spark: Any, tmp_path: Path) -> None:
    """A state agent with no record this run is carried over, with a gap in each month, as the local run does."""
    ruleset = tierpay.load_ruleset(STARS)
    q1 = without(tmp_path, "q1.csv", lambda cells: cells[1] > "2026-03")
    q2 = without(tmp_path, "q2.csv", lambda cells: cells[1] <= "2026-03" or cells[0] == "A007")
    first = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, q1))
    local = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, q2), first.state)
    result = tierpay.spark.evaluate(
        ruleset, spark.read.csv(str(q2), header=True), partition_by=["team"], state=first.state, buckets=3
    )
    gaps = sorted((g["agent_id"], g["period"], g["last_period"]) for g in result.gaps.collect())
    assert gaps == sorted((g.agent_id, g.period, g.last_period) for g in local.gaps)
    assert ("A007", "2026-04", "2026-03") in gaps
    assert result.local_state() == local.state


def test_two_ladders_on_spark_are_the_local_engines(spark: Any) -> None:
    """A ruleset with ladders, partitioned by its ladder_by column: ladder and nominated columns as locally.

    A4 is a team lead from March (role changes), so the agent and team-lead partitions go together.
    """
    ruleset = tierpay.load_ruleset(LADDERS)
    result = tierpay.spark.evaluate(ruleset, spark.read.csv(str(LADDER_RECORDS), header=True), partition_by=["role"])
    out = io.StringIO()
    main(["evaluate", str(LADDERS), str(LADDER_RECORDS), "--format", "csv"], out, io.StringIO())
    local = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {"ladder", "nominated"} <= set(result.decisions.columns)
    assert as_cells([r.asDict() for r in result.decisions.collect()]) == as_cells(local)
    outcome = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, LADDER_RECORDS))
    assert sorted((r["agent_id"], r["period"]) for r in result.rejections.collect()) == sorted(
        (r.agent_id, r.period) for r in outcome.rejections
    )
    assert result.local_state() == outcome.state


def test_partitioning_a_ladder_ruleset_across_a_ladders_cohort_is_refused() -> None:
    """The quality inspectors rank within their ladder: partitioning by team could split them."""
    from tierpay.spark.partitions import check_partitioning

    with pytest.raises(PartitionError) as refused:
        check_partitioning(tierpay.load_ruleset(LADDERS), ["team"])
    assert str(refused.value) == (
        f"{LADDERS}: ladders.qa.review.cohort_by (with the ladder's role) is [role]: partitioning by team could "
        "split a cohort and change its ranking; partition by columns among ['role']"
    )


def test_without_a_row_column_rejections_name_the_partition(spark: Any, tmp_path: Path) -> None:
    """Spark does not know a row's line in its file: without ``row_column`` a rejection names its partition."""
    ruleset = tierpay.load_ruleset(STARS)
    records = spark.read.csv(str(SAMPLE_H1), header=True)
    result = tierpay.spark.evaluate(ruleset, records, partition_by=["team"])
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
