"""The four-fifths screen: do review flags fall unevenly on the groups of one attribute?

For each group (say gender) it counts the ranked agent-periods and the flagged ones. The
favourable outcome is *not* being flagged; a group whose pass rate is below four fifths of the
best group's pass rate is marked for a closer look (EEOC Uniform Guidelines, 29 CFR 1607.4(D)).
It is a screen, not a finding: small groups give extreme ratios, and the report says how small.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict

from tierpay.engine.outcome import Outcome

FOUR_FIFTHS = Decimal("0.8")
PLACES = Decimal("0.0001")


class GroupRate(BaseModel):
    """Flag and pass rates of one group."""

    model_config = ConfigDict(frozen=True)

    group: str
    ranked: int
    flagged: int
    flag_rate: Decimal
    flag_rate_ratio: Decimal | None  # this group's flag rate over the lowest group's
    pass_rate: Decimal
    impact_ratio: Decimal  # this group's pass rate over the highest group's
    below_four_fifths: bool


class FairnessReport(BaseModel):
    """Flag rates by group for one attribute, over the periods of an outcome."""

    model_config = ConfigDict(frozen=True)

    attribute: str
    periods: list[str]
    groups: list[GroupRate]
    note: str


def fairness_report(outcome: Outcome, attribute: str) -> FairnessReport:
    """Flag rates by value of ``attribute`` among agents the review ranked."""
    ranked: dict[str, int] = defaultdict(int)
    flagged: dict[str, int] = defaultdict(int)
    for d in outcome.decisions:
        if d.review is None or not d.review.ranked:
            continue
        group = str(d.values.get(attribute, ""))
        ranked[group] += 1
        flagged[group] += int(d.review.flagged)
    rates = {g: Decimal(flagged[g]) / ranked[g] for g in ranked}
    passes = {g: 1 - rates[g] for g in ranked}
    lowest = min(rates.values(), default=Decimal(0))
    best_pass = max(passes.values(), default=Decimal(1))
    groups = []
    for g in sorted(ranked):
        impact = (passes[g] / best_pass) if best_pass else Decimal(1)
        groups.append(
            GroupRate(
                group=g,
                ranked=ranked[g],
                flagged=flagged[g],
                flag_rate=rates[g].quantize(PLACES, ROUND_HALF_UP),
                flag_rate_ratio=(rates[g] / lowest).quantize(PLACES, ROUND_HALF_UP) if lowest else None,
                pass_rate=passes[g].quantize(PLACES, ROUND_HALF_UP),
                impact_ratio=impact.quantize(PLACES, ROUND_HALF_UP),
                below_four_fifths=impact < FOUR_FIFTHS,
            )
        )
    smallest = min(ranked.values(), default=0)
    note = (
        "A screen, not a finding: a group below four fifths of the best group's pass rate deserves a closer "
        f"look at the criteria and data. The smallest group has {smallest} ranked agent-periods; small groups "
        "give extreme ratios."
    )
    return FairnessReport(attribute=attribute, periods=outcome.periods, groups=groups, note=note)
