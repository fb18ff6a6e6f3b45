"""The fairness screen: do review flags fall unevenly on the groups of one attribute?

For each group (say gender) it counts the ranked agent-periods and the flagged ones, and
applies three screens, each a reason for a closer look and none a finding:

- **four fifths** (EEOC Uniform Guidelines, 29 CFR 1607.4(D)): the favourable outcome is *not*
  being flagged; a group whose pass rate is below 4/5 of the best group's is marked. With a
  small bottom share every pass rate is near 1, so this alone misses flags that all fall on
  one group (twelve of twelve flags still give 0.80);
- **flag-rate ratio**: the group's flag rate over the rest's (the other groups pooled) signals
  at 5/4 or more (the inverse of 4/5, on the adverse outcome), and without bound when the rest
  has no flag. Against the rest, not the lowest group: one small group with no flag would
  otherwise make every other group with one flag signal;
- **Fisher's exact test** on the same comparison: the two-sided p-value of the 2x2 table
  flagged / not flagged, group against rest, computed exactly from the hypergeometric
  distribution; it signals below 0.05 when the group is flagged more often than the rest.

Small groups give extreme ratios, and the agent-periods of one agent are not independent
draws, so a signal asks a person to look at the criteria and data; the report says how small.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from math import comb
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from tierpay.engine.outcome import Outcome
from tierpay.words import say

FOUR_FIFTHS = Decimal("0.8")
FLAG_RATIO_SIGNAL = Fraction(5, 4)
"""A flag rate this many times the rest's signals: the inverse of the four-fifths rule."""
FISHER_SIGNAL = Fraction(1, 20)
"""A Fisher p-value below this (0.05) signals, when the group is flagged more often than the rest."""
PLACES = Decimal("0.0001")
P_DIGITS = Context(prec=4, rounding=ROUND_HALF_UP)
"""P-values are shown to four significant figures (signals are decided on the exact fraction)."""


class GroupRate(BaseModel):
    """Flag and pass rates of one group, and the screens' verdicts on it."""

    model_config = ConfigDict(frozen=True)

    group: str
    ranked: int
    flagged: int
    flag_rate: Decimal
    rest_ranked: int  # the other groups pooled
    rest_flagged: int
    rest_flag_rate: Decimal
    rest_ratio: Decimal | None  # this group's flag rate over the rest's; none when the rest's is 0
    pass_rate: Decimal
    impact_ratio: Decimal  # this group's pass rate over the highest group's
    below_four_fifths: bool
    flag_ratio_signal: bool  # flag rate at least 1.25 × the rest's (or any flag when the rest has none)
    fisher_p: Decimal | None  # two-sided, this group against the rest; none when there is no rest
    fisher_signal: bool  # p below 0.05 and this group flagged more often than the rest


class FairnessReport(BaseModel):
    """Flag rates by group for one attribute, over the periods of an outcome."""

    model_config = ConfigDict(frozen=True)

    attribute: str
    periods: list[str]
    groups: list[GroupRate]
    warnings: list[str]
    note: str
    ladder: str | None = None
    """The ladder whose review it screens, when the ruleset has ladders (each ladder is screened apart)."""

    @model_serializer(mode="wrap")
    def _ladder_when_there_are_ladders(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The fields, less ``ladder`` with one ladder (the JSON stays as it was)."""
        data: dict[str, Any] = handler(self)
        if data.get("ladder") is None:
            data.pop("ladder", None)
        return data


def fisher_exact(a: int, b: int, c: int, d: int) -> Fraction:
    """Two-sided p-value of Fisher's exact test on the 2x2 table ``[[a, b], [c, d]]``, exactly.

    With the margins fixed, ``a`` is hypergeometric: P(x) = C(a+b, x) C(c+d, a+c-x) / C(N, a+c).
    The p-value sums P(x) over every x no more probable than the observed ``a``; the terms are
    integers over one denominator, so the comparison and the sum are exact.
    """
    n, m, k = a + b, c + d, a + c
    observed = comb(n, a) * comb(m, k - a)
    low, high = max(0, k - m), min(n, k)
    term, total = comb(n, low) * comb(m, k - low), 0  # C(n, x) C(m, k - x) at x = low
    for x in range(low, high + 1):
        if term <= observed:
            total += term
        # the next term from this one; the division is exact (both sides are the same integer)
        term = term * (n - x) * (k - x) // ((x + 1) * (m - k + x + 1))
    return Fraction(total, comb(n + m, k))


def fairness_report(outcome: Outcome, attribute: str, ladder: str | None = None) -> FairnessReport:
    """Flag rates by value of ``attribute`` among agents the review ranked, with the three screens.

    With ``ladder``, among the agents of that ladder only: each ladder's review is its own.
    """
    ranked: dict[str, int] = defaultdict(int)
    flagged: dict[str, int] = defaultdict(int)
    for d in outcome.decisions:
        if d.review is None or not d.review.ranked or (ladder is not None and d.ladder != ladder):
            continue
        group = str(d.values.get(attribute, ""))
        ranked[group] += 1
        flagged[group] += int(d.review.flagged)
    rates = {g: Decimal(flagged[g]) / ranked[g] for g in ranked}
    passes = {g: 1 - rates[g] for g in ranked}
    best_pass = max(passes.values(), default=Decimal(1))
    all_ranked, all_flagged = sum(ranked.values()), sum(flagged.values())
    groups, warnings = [], []
    for g in sorted(ranked):
        impact = (passes[g] / best_pass) if best_pass else Decimal(1)
        rest_ranked, rest_flagged = all_ranked - ranked[g], all_flagged - flagged[g]
        rest_rate = Decimal(rest_flagged) / rest_ranked if rest_ranked else Decimal(0)
        mine, rest = Fraction(flagged[g], ranked[g]), Fraction(rest_flagged, rest_ranked or 1)
        p = None
        if rest_ranked:
            p = fisher_exact(flagged[g], ranked[g] - flagged[g], rest_flagged, rest_ranked - rest_flagged)
        rate = GroupRate(
            group=g,
            ranked=ranked[g],
            flagged=flagged[g],
            flag_rate=rates[g].quantize(PLACES, ROUND_HALF_UP),
            rest_ranked=rest_ranked,
            rest_flagged=rest_flagged,
            rest_flag_rate=rest_rate.quantize(PLACES, ROUND_HALF_UP),
            rest_ratio=(rates[g] / rest_rate).quantize(PLACES, ROUND_HALF_UP) if rest_rate else None,
            pass_rate=passes[g].quantize(PLACES, ROUND_HALF_UP),
            impact_ratio=impact.quantize(PLACES, ROUND_HALF_UP),
            below_four_fifths=impact < FOUR_FIFTHS,
            flag_ratio_signal=rest_ranked > 0 and mine > 0 and mine >= FLAG_RATIO_SIGNAL * rest,
            fisher_p=P_DIGITS.divide(Decimal(p.numerator), Decimal(p.denominator)) if p is not None else None,
            fisher_signal=p is not None and mine > rest and p < FISHER_SIGNAL,
        )
        groups.append(rate)
        warning = _warning(attribute, rate, "en")
        if warning:
            warnings.append(warning)
    smallest = min(ranked.values(), default=0)
    note = say("fairness.note", "en", smallest=smallest)
    return FairnessReport(
        attribute=attribute, periods=outcome.periods, groups=groups, warnings=warnings, note=note, ladder=ladder
    )


def fairness_note(report: FairnessReport, lang: str) -> str:
    """What the screen is and is not, in ``lang``, with the size of the smallest group."""
    return say("fairness.note", lang, smallest=min((g.ranked for g in report.groups), default=0))


def fairness_warnings(report: FairnessReport, lang: str, attribute: str | None = None) -> list[str]:
    """The warning line of each group that one screen or more signals, in ``lang``."""
    found = [_warning(attribute or report.attribute, g, lang) for g in report.groups]
    return [w for w in found if w]


def _warning(attribute: str, g: GroupRate, lang: str = "en") -> str | None:
    """The warning line for a group that one screen or more signals; None when none does."""
    signals = []
    if g.below_four_fifths:
        signals.append(say("fairness.signal_four_fifths", lang, ratio=_n(g.impact_ratio)))
    if g.flag_ratio_signal:
        ratio = (
            say("fairness.times", lang, ratio=_n(g.rest_ratio))
            if g.rest_ratio is not None
            else say("fairness.unbounded", lang)
        )
        signals.append(say("fairness.signal_ratio", lang, ratio=ratio))
    if g.fisher_signal:
        signals.append(say("fairness.signal_fisher", lang, p=f"{g.fisher_p:f}"))
    if not signals:
        return None
    return say(
        "fairness.warning",
        lang,
        attribute=attribute,
        group=g.group,
        flagged=g.flagged,
        ranked=g.ranked,
        rate=_n(g.flag_rate),
        rest_flagged=g.rest_flagged,
        rest_ranked=g.rest_ranked,
        rest_rate=_n(g.rest_flag_rate),
        signals=say("fairness.separator", lang).join(signals),
    )


def _n(number: Decimal | None) -> str:
    """A rate or ratio without trailing zeros (0.2, not 0.2000)."""
    assert number is not None
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
