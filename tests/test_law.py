"""Settings that contradict a statute are refused when the ruleset loads, or warned about.

Hand-worked cases of issue 14's findings 10 (``published_on``) and 13 (unsafe settings), with
the statute each rule comes from (docs/explanation/law.md). A refusal is a ``RulesetError``
naming file, line and field; a warning is a lint finding, which ``validate --strict`` refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tierpay import RulesetError, parse_ruleset
from tierpay.ruleset.lint import lint

from .test_cli import run

HEAD = """\
tierpay: 1
name: t
version: "1"
effective_from: 2026-01-01
metrics:
  qa: {min: 0, max: 100}
  contract: {min: 0}
  loss: {min: 0, default: 0}
attributes:
  region: {values: [tier1]}
levels:
  - {id: L1, name: one}
"""

FLOOR = """\
    minimum_wage:
      by: region
      table:
        tier1:
          name: Somewhere
          figures: [{monthly: 2000, effective_from: 2025-01-01, source: test figure}]
"""


def problems(text: str) -> list[str]:
    """The problem lines of loading ``text``."""
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text, file="x.yaml")
    return [str(p).splitlines()[0] for p in caught.value.problems]


def pay(floors: str) -> str:
    """A pay block with one line, the deduction ``loss`` and ``floors``."""
    return "pay:\n  lines: [{id: base, amount: 3000}]\n  deductions: [{id: loss, metric: loss}]\n  floors:\n" + floors


def test_rules_published_after_they_take_effect_are_refused() -> None:
    """``published_on`` after ``effective_from`` is a load error (Labor Contract Law art. 4)."""
    text = HEAD.replace("effective_from: 2026-01-01\n", "effective_from: 2026-01-01\npublished_on: 2026-01-10\n")
    assert problems(text) == [
        "x.yaml:5:1: published_on: the rules are published on 2026-01-10, after they take effect on 2026-01-01: "
        "rules on pay and assessment bind staff only once made known (PRC Labor Contract Law art. 4)"
    ]


def test_rules_published_on_the_day_they_take_effect_load() -> None:
    """Publishing on the first day in force is in time."""
    text = HEAD.replace("effective_from: 2026-01-01\n", "effective_from: 2026-01-01\npublished_on: 2026-01-01\n")
    assert parse_ruleset(text, file="x.yaml").model.published_on is not None


def test_probation_ratio_below_the_statute_is_refused() -> None:
    """A probation floor under 80% of the contract wage contradicts LCL art. 20: refused."""
    text = HEAD + pay(FLOOR + "    probation_ratio: 0.5\n    contract_wage: contract\n")
    assert problems(text) == [
        "x.yaml:23:5: pay.floors.probation_ratio: probation_ratio 0.5 is below 0.8: probation pay may not be "
        "below 80% of the contract wage (PRC Labor Contract Law art. 20)"
    ]


def test_deduction_cap_above_twenty_percent_needs_a_declared_local_rule() -> None:
    """A cap above 20% without ``deduction_cap_rule`` contradicts 工资支付暂行规定 art. 16: refused."""
    text = HEAD + pay(FLOOR + "    deduction_cap_percent: 60\n")
    assert problems(text) == [
        "x.yaml:23:5: pay.floors.deduction_cap_percent: deduction_cap_percent 60 is above the 20% of a month's "
        "wages that 工资支付暂行规定 art. 16 allows: name the local regulation that permits more in "
        "deduction_cap_rule"
    ]


def test_deduction_cap_above_twenty_percent_with_a_declared_local_rule_loads() -> None:
    """Naming the local regulation that allows a higher cap makes it a declared choice."""
    text = HEAD + pay(
        FLOOR + "    deduction_cap_percent: 30\n    deduction_cap_rule: Example City Wage Payment Regulations art. 34\n"
    )
    floors = parse_ruleset(text, file="x.yaml").model.pay.floors  # type: ignore[union-attr]
    assert floors is not None
    assert floors.deduction_cap_rule == "Example City Wage Payment Regulations art. 34"


def test_pay_without_a_minimum_wage_floor_is_warned() -> None:
    """Pay with no minimum-wage floor loads, with a warning (Labour Law art. 48)."""
    ruleset = parse_ruleset(HEAD + "pay:\n  lines: [{id: base, amount: 3000}]\n", file="x.yaml")
    assert [str(p) for p in lint(ruleset) if "minimum" in p.message] == [
        "x.yaml:13:1: pay: no minimum-wage floor (floors.minimum_wage): nothing checks that pay reaches the "
        "local minimum wage (PRC Labour Law art. 48)"
    ]


def test_small_review_cohorts_are_warned() -> None:
    """A minimum cohort under 5 ranks groups too small to say anything about one agent: warned."""
    text = HEAD + "review: {rank_by: qa, bottom_percent: 10, min_cohort_size: 2}\n"
    assert [str(p) for p in lint(parse_ruleset(text, file="x.yaml")) if p.path.startswith("review")] == [
        "x.yaml:13:43: review.min_cohort_size: min_cohort_size 2 is below 5: the bottom of so small a cohort is "
        "one person picked by rank alone, which does not show incompetence (SPC Guiding Case No. 18)"
    ]


def test_validate_strict_refuses_the_warned_settings(tmp_path: Path) -> None:
    """``validate`` passes a ruleset with these warnings; ``validate --strict`` exits 1."""
    path = tmp_path / "unsafe.yaml"
    path.write_text(
        HEAD
        + "review: {rank_by: qa, bottom_percent: 10, min_cohort_size: 1}\npay:\n  lines: [{id: base, amount: 3000}]\n",
        encoding="utf-8",
    )
    code, _, err = run("validate", str(path))
    assert code == 0
    assert "review.min_cohort_size: min_cohort_size 1 is below 5" in err
    assert "pay: no minimum-wage floor" in err
    code, _, _ = run("validate", "--strict", str(path))
    assert code == 1


def test_shipped_ruleset_passes_validate_strict() -> None:
    """The shipped ruleset has a floor, a 20% cap, an 80% probation floor and cohorts of 8."""
    code, _, err = run(
        "validate", "--strict", str(Path(__file__).resolve().parents[1] / "rulesets" / "callcenter-stars.yaml")
    )
    assert (code, err) == (0, "")
