"""Data-driven cases in tests/cases/, and ruleset tests through ``tierpay test``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tierpay import load_ruleset, parse_ruleset
from tierpay.outputs.cases import run_cases

from .conftest import MINI, ROOT, STARS
from .test_cli import run

CASES = sorted((ROOT / "tests" / "cases").glob("*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_file(path: Path) -> None:
    """Every case in the file passes (same format as a ruleset's tests: block)."""
    results = run_cases(load_ruleset(path))
    assert results
    assert [(r.name, r.failures) for r in results if not r.passed] == []


def test_shipped_ruleset_passes_its_own_tests() -> None:
    """``tierpay test`` on the shipped ruleset passes every case and exits 0."""
    code, out, _ = run("test", str(STARS))
    assert code == 0
    assert out.splitlines()[-1] == "13 cases, 13 passed, 0 failed"


def test_broken_expectation_fails_with_a_readable_difference(tmp_path: Path) -> None:
    """A wrong expectation fails, showing expected against actual, and exits 1."""
    text = STARS.read_text(encoding="utf-8").replace("{agent_id: D1, total: 4600.00,", "{agent_id: D1, total: 4700.00,")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text, encoding="utf-8")
    (tmp_path / "minimum-wage-2026.yaml").write_text(
        (STARS.parent / "minimum-wage-2026.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    code, out, _ = run("test", str(broken))
    assert code == 1
    assert (
        "FAIL  a deduction for losses is capped at 20% of the month's pay\n"
        "      D1: total: expected 4700.00, got 4600.00\n"
    ) in out
    assert out.splitlines()[-1] == "13 cases, 12 passed, 1 failed"


def test_ruleset_without_tests_says_so(tmp_path: Path) -> None:
    """A ruleset with no tests block is reported, with exit 1."""
    path = ROOT / "tests" / "cases" / "pay-band-and-curve.yaml"
    bare = tmp_path / "bare.yaml"
    bare.write_text(path.read_text(encoding="utf-8").split("tests:")[0], encoding="utf-8")
    code, _, err = run("test", str(bare))
    assert code == 1
    assert err == f"{bare}: the ruleset has no tests: block\n"


def test_a_case_whose_state_does_not_fit_fails_naming_the_place() -> None:
    """A case's carried state the rules could not have written fails the case (not the run), placed in the case."""
    data = {**MINI, "tests": [
        {
            "name": "streak below the level",
            "state": [{"agent_id": "A1", "level": "L3", "last_period": "2026-01", "promote_streak": 1, "streak_level": "L2"}],
            "records": [{"agent_id": "A1", "period": "2026-02", "qa": 95}],
            "expect": [{"agent_id": "A1", "level": "L3"}],
        }
    ]}  # fmt: skip
    [result] = run_cases(parse_ruleset(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), file="mini.yaml"))
    assert result.failures == [
        "state: tests[streak below the level].state[0] (A1): streak_level: L2 is not above level L3; a promotion "
        "streak counts toward a higher level (levels from the lowest: L1, L2, L3)"
    ]
