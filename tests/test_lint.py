"""Checks beyond syntax: warnings about rulesets that load but say something odd."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tierpay import parse_ruleset
from tierpay.ruleset.lint import lint

from .test_cli import run

ODD = textwrap.dedent(
    """\
    tierpay: 1
    name: odd
    version: "1"
    effective_from: 2026-01-01
    metrics:
      qa: {min: 0, max: 100}
      absences: {type: integer, min: 0, better: lower}
      calls: {type: integer, min: 0}
      unused_metric: {min: 0}
    attributes:
      region: {values: [tier1, tier2]}
    levels:
      - {id: L1, name: a}
      - {id: L2, name: b, entry: "qa >= 85 and absences >= 2", maintain: "qa >= 90"}
      - {id: L3, name: c, entry: "qa >= 80 and calls >= 1000"}
      - {id: L4, name: d, entry: "qa >= 101"}
      - {id: L5, name: e, entry: "calls >= 2000 and calls <= 1500 and qa >= 101"}
    pay:
      lines:
        - id: base
          by: region
          by_level:
            L1: {tier1: 3000, tier2: 2000}
            L2: {tier1: 3200, tier2: 2200}
            L3: {tier1: 3100, tier2: 2400}
            L4: {tier1: 3300, tier2: 2500}
            L5: {tier1: 3400, tier2: 2600}
    """
)


def test_each_check_finds_its_problem() -> None:
    """Unreachable, weaker-than-below, stricter maintenance, direction, falling pay, no floor, unused metric."""
    warnings = [str(p) for p in lint(parse_ruleset(ODD, file="odd.yaml"))]
    assert warnings == [
        "odd.yaml:9:3: metrics.unused_metric: unused_metric is declared but never used",
        "odd.yaml:14:23: levels[1].entry: asks for absences >= 2, but lower is better for absences: a criterion rewards the wrong direction",
        "odd.yaml:14:60: levels[1].maintain: keeping L2 asks qa >= 90, more than entering it (85): an agent could be promoted and fail maintenance at once",
        "odd.yaml:15:23: levels[2].entry: L3 asks qa >= 80, less than L2 below it (qa >= 85)",
        "odd.yaml:16:23: levels[3].entry: L4 can never be entered: qa is at most 100",
        "odd.yaml:17:23: levels[4].entry: L5 can never be entered: calls must be at least 2000 and at most 1500",
        "odd.yaml:17:23: levels[4].entry: L5 can never be entered: qa is at most 100",
        "odd.yaml:17:23: levels[4].entry: asks for calls <= 1500, but higher is better for calls: a criterion rewards the wrong direction",
        "odd.yaml:18:1: pay: no minimum-wage floor (floors.minimum_wage): nothing checks that pay reaches the local minimum wage (PRC Labour Law art. 48)",
        "odd.yaml:25:9: pay.lines[0].by_level.L3: pays L3 less than L2 for region tier1 (3100 < 3200)",
    ]


def test_shipped_rulesets_have_no_warnings(stars) -> None:
    """The shipped ruleset lints clean."""
    assert lint(stars) == []


def test_validate_prints_warnings_and_strict_fails(tmp_path: Path) -> None:
    """``tierpay validate`` shows warnings on stderr; ``--strict`` turns them into exit 1."""
    path = tmp_path / "odd.yaml"
    path.write_text(ODD, encoding="utf-8")
    code, out, err = run("validate", str(path))
    assert code == 0
    assert out.endswith(", 10 warnings\n")
    assert err.count("warning: ") == 10
    assert run("validate", "--strict", str(path))[0] == 1
