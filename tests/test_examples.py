"""Every example script runs as its header says, and produces what it claims."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT

EXAMPLES = ROOT / "examples"


def load(name: str) -> ModuleType:
    """Import an example script as a module."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPTS = sorted(EXAMPLES.glob("*.py"))
EXIT_STATUS = re.compile(r"^Exit status: (\d) on the shipped sample", re.M)
"""The header line .ci/run reads too: the exit status each script gives on the shipped sample."""


def declared_exit(path: Path) -> int:
    """The exit status ``path``'s header declares for the shipped sample."""
    found = EXIT_STATUS.search(load(path.stem).__doc__ or "")
    assert found is not None, f"{path.name}: no 'Exit status: N on the shipped sample' line in its header"
    return int(found.group(1))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_example_has_a_header_saying_who_and_what(path: Path) -> None:
    """Each script's docstring says who it is for, what it shows, how it exits and how to run it."""
    doc = load(path.stem).__doc__ or ""
    assert "Who it is for:" in doc
    assert "What it shows:" in doc
    assert f"Run: python examples/{path.name}" in doc
    assert declared_exit(path) in (0, 1)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_example_exits_as_declared_and_writes_outside_the_working_tree(path: Path, tmp_path: Path) -> None:
    """Run as a script from an empty folder, with no --out: it exits with the status its header
    declares (1: the sample's bad rows are rejected), leaves the folder empty and says where it wrote."""
    if path.name == "spark_job.py":
        from .test_spark import require_spark

        require_spark()
    cwd, temp = tmp_path / "cwd", tmp_path / "temp"
    cwd.mkdir()
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=cwd,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == declared_exit(path), done.stderr
    assert list(cwd.iterdir()) == []
    (written,) = temp.iterdir()
    assert written.name.startswith("tierpay-example-")
    assert str(written) in done.stdout
    assert any(written.iterdir())


def test_level_chart_without_matplotlib_names_the_extra(tmp_path: Path) -> None:
    """Without matplotlib the chart example says which extra installs it and exits 2, with no traceback."""
    script = (
        "import runpy, sys\n"
        "sys.modules['matplotlib'] = None  # as if it were not installed\n"
        f"sys.argv = ['level_chart.py', '--out', {str(tmp_path)!r}]\n"
        f"runpy.run_path({str(EXAMPLES / 'level_chart.py')!r}, run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert 'pip install "tierpay[charts]"' in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_monthly_payroll(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The payroll export has a row per paid agent and its total matches the printed total."""
    result = load("monthly_payroll").main(["--out", str(tmp_path)])
    with result["payroll"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 69
    assert sum(Decimal(r["total"]) for r in rows) == result["total"]
    out = capsys.readouterr().out
    assert f"69 agents paid, {result['total']:,.2f} CNY in total" in out
    assert "10 records were rejected; fix them before paying:" in out
    assert f"payroll export and statements written to {tmp_path}" in out
    assert result["exit"] == 1  # nobody should be paid from a month with rejected rows


def test_promotion_review(tmp_path: Path) -> None:
    """Six months show every level action, and the saved state is ready for July."""
    result = load("promotion_review").main(["--out", str(tmp_path)])
    assert set(result["actions"]) == {"promote", "hold", "demote", "convert", "extend_probation", "probation_review"}
    state = json.loads(result["state"].read_text(encoding="utf-8"))
    assert state["through"] == "2026-06"


def test_bottom_ranking_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report ranks every team and lists the flagged agents with their reasons."""
    result = load("bottom_ranking_report").main(["--out", str(tmp_path), "--period", "2026-01"])
    out = capsys.readouterr().out
    assert "2026-01  team=T2: 14 ranked by score, bottom 1 flagged for review" in out
    assert "tie at cut-off, not flagged" in out
    assert result["flagged"] == ["A011", "A041", "A057"]
    with result["csv"].open(encoding="utf-8") as handle:
        assert [r["agent_id"] for r in csv.DictReader(handle)] == result["flagged"]


def test_what_if(tmp_path: Path) -> None:
    """Raising the QA bar costs some agents a level and saves pay."""
    result = load("what_if").main(["--out", str(tmp_path)])
    assert result["comparison"].lose_level > 0
    assert json.loads(result["json"].read_text(encoding="utf-8"))["delta"] == "-17520.00"


def test_hr_integration(tmp_path: Path) -> None:
    """Every KPI row in the stand-in HR database ends up decided or rejected."""
    result = load("hr_integration").main(["--out", str(tmp_path)])
    assert result["kpi_rows"] == result["rows_decided"] + result["rejected"] == 427
    assert result["decided"] == 416  # A002's two records for March are one decision
    assert json.loads(result["final_state"])["through"] == "2026-06"


def test_level_chart(tmp_path: Path) -> None:
    """The chart is a PNG, and its head counts add up to the decisions of each month."""
    result = load("level_chart").main(["--out", str(tmp_path)])
    assert result["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sum(result["heads"]["2026-01"].values()) == 69
