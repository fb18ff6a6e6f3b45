"""Bottom-ranking review: hand-computed rankings, ties, small cohorts, exemptions, escalation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

import numpy as np
import pytest

from tierpay import ReviewResult, evaluate
from tierpay.engine.review import bottom_count, review_arrays, review_result
from tierpay.ruleset.model import Review

from .conftest import build


def rule(**extra: object) -> Review:
    """A review flagging the bottom 20% (floor) of cohorts of at least 5."""
    data: dict[str, object] = {"rank_by": "score", "bottom_percent": 20, "min_cohort_size": 5}
    data.update(extra)
    return Review.model_validate(data)


@dataclass(frozen=True)
class ReviewInput:
    """One agent's place in a one-cohort review, as the engine would hand it over."""

    agent_id: str
    cohort: str
    value: D
    exempt: tuple[str, str] | None
    below_floor: bool
    prior_streak: int


def review_period(rule: Review, better: str, items: list[ReviewInput]) -> list[ReviewResult]:
    """The engine's review arrays and result sentences for ``items`` (agent ids sorted, one cohort)."""
    order = np.argsort([i.agent_id for i in items], kind="stable")
    arrays = review_arrays(
        rule,
        better,
        np.zeros(len(items), dtype=np.int64),
        np.array([float(i.value) for i in items]),
        np.argsort(order),
        np.array([i.exempt is not None for i in items]),
        np.array([i.below_floor for i in items]),
        np.array([i.prior_streak for i in items], dtype=np.int64),
    )
    return [
        review_result(rule, arrays, j, i.cohort, i.value, i.below_floor, i.exempt, i.prior_streak)
        for j, i in enumerate(items)
    ]


def inputs(values: dict[str, int], cohort: str = "team=A") -> list[ReviewInput]:
    """Review inputs for agents with the given scores."""
    return [
        ReviewInput(agent_id=a, cohort=cohort, value=D(v), exempt=None, below_floor=True, prior_streak=0)
        for a, v in values.items()
    ]


def flags(results) -> list[bool]:
    """The flagged column."""
    return [r.flagged for r in results]


@pytest.mark.parametrize(
    ("rounding", "size", "expected"),
    [("floor", 14, 2), ("ceil", 14, 3), ("round", 14, 3), ("round", 12, 2), ("floor", 9, 1), ("floor", 4, 0)],
)
def test_bottom_count_rounding(rounding: str, size: int, expected: int) -> None:
    """The bottom count is percent x size with the declared rounding (round is half-up)."""
    assert bottom_count(rule(count_rounding=rounding), size) == expected


def test_percent_and_count_together_take_the_smaller() -> None:
    """With both a percent and a count, the smaller (kinder) number is flagged."""
    assert bottom_count(rule(bottom_count=1), 14) == 1


def test_ranking_flags_the_bottom_share() -> None:
    """Ten agents, bottom 20% = 2: the two lowest are flagged with rank and percentile."""
    scores = {f"A{i}": 50 + i for i in range(10)}
    results = review_period(rule(), "higher", inputs(scores))
    assert flags(results) == [True, True] + [False] * 8
    assert (results[0].rank, results[0].percentile, results[0].cohort_size) == (10, D("0.00"), 10)
    assert (results[9].rank, results[9].percentile) == (1, D("100.00"))
    assert results[0].reason == "rank 10 of 10 in team=A: in the bottom 2 of 10"


def test_tie_across_the_cutoff_goes_the_employees_way() -> None:
    """Agents tied across the cut-off are not flagged by default; include_all_tied flags them."""
    scores = {"A": 50, "B": 60, "C": 60, "D": 70, "E": 80, "F": 90, "G": 91, "H": 92, "I": 93, "J": 94}
    kind = review_period(rule(), "higher", inputs(scores))
    assert flags(kind)[:4] == [True, False, False, False]
    assert [r.tied_at_cutoff for r in kind[:4]] == [False, True, True, False]
    assert "ties go the employee's way" in kind[1].reason
    strict = review_period(rule(ties="include_all_tied"), "higher", inputs(scores))
    assert flags(strict)[:4] == [True, True, True, False]


def test_tie_inside_the_bottom_is_flagged() -> None:
    """A tie wholly inside the bottom share is not a tie across the cut-off."""
    scores = {"A": 50, "B": 50, "C": 70, "D": 71, "E": 72, "F": 73, "G": 74, "H": 75, "I": 76, "J": 77}
    assert flags(review_period(rule(), "higher", inputs(scores)))[:3] == [True, True, False]


def test_small_cohort_is_not_ranked_and_says_why() -> None:
    """A cohort below the minimum size is not ranked."""
    [first, *_] = review_period(rule(), "higher", inputs({"A": 1, "B": 2, "C": 3, "D": 4}))
    assert not first.ranked
    assert first.reason == "cohort team=A has 4 agents, below the minimum of 5: not ranked"


def test_absolute_floor_protects_competent_agents() -> None:
    """With an absolute floor, an agent in the bottom share but above the floor is not flagged."""
    items = inputs({f"A{i}": 80 + i for i in range(10)})
    items[0] = ReviewInput(agent_id="A0", cohort="team=A", value=D(80), exempt=None, below_floor=False, prior_streak=0)
    [first, second, *_] = review_period(rule(), "higher", items)
    assert not first.flagged
    assert first.reason.endswith("in the bottom 2 of 10, but above the absolute floor: not flagged")
    assert second.flagged


def test_lower_is_better_ranks_the_other_way() -> None:
    """For a lower-is-better measure, the highest values are the bottom."""
    results = review_period(rule(), "lower", inputs({f"A{i}": i for i in range(10)}))
    assert flags(results) == [False] * 8 + [True, True]


def test_exempt_agents_are_not_ranked_and_do_not_count() -> None:
    """Exempt agents are left out of the ranking and the cohort size, with their reason."""
    items = inputs({f"A{i}": 50 + i for i in range(10)})
    items[0] = ReviewInput(
        agent_id="A0",
        cohort="team=A",
        value=D(50),
        exempt=("probation", "on probation"),
        below_floor=True,
        prior_streak=0,
    )
    results = review_period(rule(), "higher", items)
    assert results[0].reason == "exempt (probation): on probation"
    assert results[1].cohort_size == 9
    assert flags(results) == [False, True] + [False] * 8  # 20% of 9 = 1


def test_escalation_over_three_periods_and_reset() -> None:
    """Consecutive flags climb the stages; a period out of the bottom resets (or steps down)."""
    data = build().model.model_dump(mode="json", exclude_none=True)
    data["review"] = {
        "rank_by": "qa",
        "bottom_count": 1,
        "min_cohort_size": 3,
        "escalation": {
            "stages": [
                {"code": "coaching", "after": 1},
                {"code": "plan", "after": 2},
                {"code": "hr_review", "after": 3},
            ]
        },
    }
    data["promotion"] = {"consecutive_periods": 1}
    ruleset = build(data)
    months = ["2026-01", "2026-02", "2026-03", "2026-04"]
    weak = [60, 61, 62, 95]
    records = []
    for i, month in enumerate(months):
        records += [
            {"agent_id": "W", "period": month, "qa": weak[i]},
            {"agent_id": "X", "period": month, "qa": 80},
            {"agent_id": "Y", "period": month, "qa": 90},
        ]
    outcome = evaluate(ruleset, records)
    w = [outcome.decision("W", m).review for m in months]
    assert [(r.flagged, r.streak, r.stage) for r in w if r] == [
        (True, 1, "coaching"),
        (True, 2, "plan"),
        (True, 3, "hr_review"),
        (False, 0, None),
    ]
    assert outcome.state.by_agent()["W"].review_streak == 0
    data["review"]["escalation"]["on_clear"] = "step_down"
    stepped = evaluate(build(data), records).decision("W", "2026-04").review
    assert stepped is not None
    assert (stepped.streak, stepped.stage) == (2, "plan")


def test_review_never_outputs_a_dismissal(stars) -> None:
    """Across the sample, the only outcomes are flags, stages and reasons: no dismissal words."""
    from tierpay import read_records

    from .conftest import SAMPLE_H1

    outcome = evaluate(stars, read_records(stars, SAMPLE_H1))
    text = outcome.to_json().lower()
    for word in ('dismiss"', "terminate", 'fire"'):
        assert word not in text
    stages = {d.review.stage for d in outcome.decisions if d.review and d.review.flagged}
    assert stages == {"coaching", "improvement_plan", "hr_review"}
