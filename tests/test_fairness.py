"""The four-fifths screen of review flags across groups."""

from __future__ import annotations

from decimal import Decimal as D

from tierpay import evaluate
from tierpay.outputs.fairness import fairness_report

from .conftest import MINI, build


def test_four_fifths_screen_by_group() -> None:
    """Group pass rates are compared with the best group's; below 0.8 is marked."""
    data = dict(
        MINI,
        attributes={**MINI["attributes"], "gender": {"values": ["F", "M"]}},
        review={"rank_by": "qa", "bottom_count": 2, "min_cohort_size": 2},
    )
    records = [{"agent_id": f"F{i}", "period": "2026-01", "gender": "F", "qa": 90 + i} for i in range(5)]
    records += [{"agent_id": f"M{i}", "period": "2026-01", "gender": "M", "qa": 50 + i} for i in range(5)]
    report = fairness_report(evaluate(build(data), records), "gender")
    f, m = report.groups
    assert (f.group, f.ranked, f.flagged, f.pass_rate, f.impact_ratio, f.below_four_fifths) == (
        "F",
        5,
        0,
        D(1),
        D(1),
        False,
    )
    assert (m.group, m.flagged, m.flag_rate, m.impact_ratio, m.below_four_fifths) == ("M", 2, D("0.4"), D("0.6"), True)
    assert f.flag_rate_ratio is None  # the lowest flag rate is zero: no ratio to it
    assert "The smallest group has 5 ranked agent-periods" in report.note
