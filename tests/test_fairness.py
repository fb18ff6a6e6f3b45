"""The four-fifths screen of review flags across groups."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

from tierpay import evaluate
from tierpay.outputs.fairness import fairness_report, fisher_exact

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
    assert (f.rest_ratio, m.rest_ratio) == (D(0), None)  # M over F's zero flag rate: unbounded, shown as none
    assert m.flag_ratio_signal
    assert m.fisher_p == D("0.4444")  # C(5,2) C(5,0) / C(10,2) = 10/45, and the mirror table x = 0: 20/45
    assert not m.fisher_signal
    assert "The smallest group has 5 ranked agent-periods" in report.note


def test_one_sided_flags_are_caught_though_they_pass_four_fifths() -> None:
    """Twelve of twelve flags on one group over six months: four-fifths passes, the ratio and Fisher warn.

    Issue 14, finding 12, worked by hand. One team of 20 agents, ten F and ten M, ranked on qa
    every month for six months with a 10% bottom share: floor(10% x 20) = 2 flags a month, and
    the M agents always hold the bottom two places, so all 2 x 6 = 12 flags fall on M.

        group  ranked (agent-months)  flagged  flag rate       pass rate
        F      10 x 6 = 60            0        0/60  = 0       60/60 = 1
        M      10 x 6 = 60            12       12/60 = 0.2     48/60 = 0.8

    Four-fifths (29 CFR 1607.4(D)): M's pass rate over the best group's is 0.8 / 1 = 0.80, not
    below 0.80, so the screen passes. Flag-rate ratio: M's flag rate over the rest's (F's) is
    0.2 / 0, unbounded, at or above the 1.25 threshold (the inverse of 4/5): it signals.

    Fisher's exact test, M against the rest (F), on the 2x2 table

                  flagged  not flagged
        M         12       48             60
        F          0       60             60
                  12       108            N = 120

    With the margins fixed, the number of M's flags X is hypergeometric:
    P(X = x) = C(60, x) C(60, 12 - x) / C(120, 12). The observed x = 12 gives
    C(60, 12) C(60, 0) / C(120, 12) = 1,399,358,844,975 / 10,542,859,559,688,820
    = 5,565 / 41,927,068 = 0.000132730... The distribution is symmetric about 6 and unimodal,
    so the only other table as unlikely is x = 0, with the same probability. The two-sided p
    (the sum over every x no more probable than the observed) is 2 x 5,565 / 41,927,068 =
    5,565 / 20,963,534 = 0.000265461..., below 0.05: it signals. F's table is the same one
    mirrored, so F's p is the same; F has no flags, so for F the screen does not warn.
    """
    data = dict(
        MINI,
        attributes={**MINI["attributes"], "gender": {"values": ["F", "M"]}},
        review={"rank_by": "qa", "bottom_percent": 10, "count_rounding": "floor", "fairness": {"group_by": "gender"}},
    )
    records = [
        {"agent_id": f"{g}{i:02}", "period": f"2026-{month:02}", "gender": g, "qa": (50 if g == "M" else 80) + i}
        for month in range(1, 7)
        for g in ("F", "M")
        for i in range(10)
    ]
    report = fairness_report(evaluate(build(data), records), "gender")
    f, m = report.groups
    assert (f.ranked, f.flagged, m.ranked, m.flagged) == (60, 0, 60, 12)
    assert (m.pass_rate, m.impact_ratio, m.below_four_fifths) == (D("0.8"), D("0.8"), False)
    assert m.rest_ratio is None  # over the rest's zero flag rate: unbounded
    assert m.flag_ratio_signal
    assert m.fisher_p == D("0.0002655")  # 5,565 / 20,963,534, to four significant figures
    assert m.fisher_signal
    assert f.fisher_p == m.fisher_p
    assert (f.flag_ratio_signal, f.fisher_signal, f.below_four_fifths) == (False, False, False)
    assert report.warnings == [
        "gender=M: 12 of 60 flagged (0.2), the rest 0 of 60 (0): flag rate unbounded × the rest's "
        "(1.25 or more signals); Fisher's exact p = 0.0002655 against the rest (below 0.05 signals)"
    ]


def test_fisher_exact_matches_published_values() -> None:
    """Fisher's two-sided p is exact: the lady tasting tea, a perfect split, and R's fisher.test example."""
    # Fisher (1935): tables x = 0..4 weigh 1, 16, 36, 16, 1 of 70; all but the 36 are as unlikely as x = 3
    assert fisher_exact(3, 1, 1, 3) == Fraction(17, 35)
    assert fisher_exact(0, 5, 5, 0) == Fraction(2, 252)  # the two extreme tables of C(10, 5) = 252
    assert float(fisher_exact(1, 11, 9, 3)) == 0.0027594561852200836  # R: p-value = 0.002759
    assert fisher_exact(0, 4, 0, 6) == 1  # no flags at all: one possible table
