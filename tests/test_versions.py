"""Versions in force: each month under the version in force on its first day."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierpay import RulesetError, evaluate, read_records
from tierpay.ruleset.loading import load_versions

from .conftest import ROOT, SAMPLE_H1
from .test_cli import run

VERSIONS = ROOT / "examples" / "rulesets" / "versions"


def test_each_period_uses_the_version_in_force() -> None:
    """January to March use 2026.1, April to June 2026.2; every decision is stamped."""
    versions = load_versions(VERSIONS, allow_outside_files=True)
    assert [v.version for v in versions.versions] == ["2026.1", "2026.2"]
    outcome = evaluate(versions, read_records(versions, SAMPLE_H1))
    used = {d.period: d.ruleset.version for d in outcome.decisions}
    assert used == {
        "2026-01": "2026.1",
        "2026-02": "2026.1",
        "2026-03": "2026.1",
        "2026-04": "2026.2",
        "2026-05": "2026.2",
        "2026-06": "2026.2",
    }
    assert [s.version for s in outcome.rulesets] == ["2026.1", "2026.2"]
    assert len({d.ruleset.sha256 for d in outcome.decisions}) == 2


def test_overlapping_versions_are_an_error(tmp_path: Path) -> None:
    """Two versions in force on the same day are refused, naming both."""
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(
            f"tierpay: 1\nname: x\nversion: '{name[0]}'\neffective_from: 2026-01-01\nmetrics: {{qa: {{}}}}\nlevels: [{{id: L1, name: one}}]\n",
            encoding="utf-8",
        )
    with pytest.raises(RulesetError) as caught:
        load_versions(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'b.yaml'}: effective_from: version b (from 2026-01-01) overlaps version a in "
        f"{tmp_path / 'a.yaml'} (from 2026-01-01 to open-ended)"
    )


def test_period_with_no_version_in_force_is_rejected(tmp_path: Path) -> None:
    """Records of a month before the first version are rejected with the reason."""
    (tmp_path / "v.yaml").write_text(
        "tierpay: 1\nname: x\nversion: '1'\neffective_from: 2026-02-01\nmetrics: {qa: {}}\nlevels: [{id: L1, name: one}]\n",
        encoding="utf-8",
    )
    versions = load_versions(tmp_path)
    outcome = evaluate(
        versions, [{"agent_id": "A", "period": "2026-01", "qa": 1}, {"agent_id": "A", "period": "2026-02", "qa": 1}]
    )
    assert [d.period for d in outcome.decisions] == ["2026-02"]
    assert outcome.rejections[0].reasons == ["period: no version of x is in force for 2026-01 (1 from 2026-02-01)"]


def test_cli_accepts_a_folder_of_versions() -> None:
    """``tierpay validate`` and ``evaluate`` take a folder of versions."""
    code, out, _ = run("validate", str(VERSIONS), "--allow-outside-files")
    assert code == 0
    assert out.count(": ok: callcenter-stars ") == 2
    code, out, _ = run("evaluate", str(VERSIONS), str(SAMPLE_H1), "--allow-outside-files")
    assert code == 1
    assert "ruleset callcenter-stars 2026.1 (" in out
    assert "; callcenter-stars 2026.2 (" in out
