"""Bottom-ranking review (末位复核): rank within cohorts and flag the bottom share for review.

A flag asks a person to look, coach, or open an improvement plan. Bottom rank alone is not
lawful grounds for dismissal in China (SPC Guiding Case No. 18), so nothing here outputs a
dismissal. Ties across the cut-off go the employee's way by default, small cohorts are not
ranked, and exemptions (probation, protected leave, low volume) are evaluated first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tierpay.engine.results import ReviewResult, trusted
from tierpay.ruleset.model import Review, label_text

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class ReviewInput:
    """One agent's place in the review, as the engine evaluated it."""

    agent_id: str
    cohort: str
    value: Decimal
    exempt: tuple[str, str] | None  # (code, reason)
    below_floor: bool  # only_if held (or there is no absolute floor)
    prior_streak: int


def bottom_count(rule: Review, size: int) -> int:
    """How many of ``size`` ranked agents form the bottom share, with the declared rounding.

    With both a percent and a count, the smaller applies.
    """
    counts = []
    if rule.bottom_percent is not None:
        raw = rule.bottom_percent * size / HUNDRED
        if rule.count_rounding == "floor":
            counts.append(math.floor(raw))
        elif rule.count_rounding == "ceil":
            counts.append(math.ceil(raw))
        else:
            counts.append(int(raw.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    if rule.bottom_count is not None:
        counts.append(rule.bottom_count)
    return max(0, min(min(counts), size))


def stage_for(rule: Review, streak: int) -> str | None:
    """The escalation stage reached after ``streak`` consecutive flags."""
    if rule.escalation is None or streak == 0:
        return None
    reached = [s.code for s in rule.escalation.stages if s.after <= streak]
    return reached[-1] if reached else None


def review_period(rule: Review, better: str, items: Sequence[ReviewInput]) -> list[ReviewResult]:
    """Rank every cohort of one period and decide each agent's flag, stage and reason."""
    cohorts: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        if item.exempt is None:
            cohorts[item.cohort].append(i)
    results: dict[int, ReviewResult] = {}
    sizes = {name: len(members) for name, members in cohorts.items()}
    for i, item in enumerate(items):
        if item.exempt is not None:
            code, reason = item.exempt
            results[i] = trusted(
                ReviewResult,
                cohort=item.cohort,
                cohort_size=sizes.get(item.cohort, 0),
                ranked=False,
                value=item.value,
                exempt=code,
                streak=item.prior_streak,
                stage=stage_for(rule, item.prior_streak),
                reason=f"exempt ({code}): {reason}",
            )
    for name, members in cohorts.items():
        for i, result in _rank_cohort(rule, better, name, [(i, items[i]) for i in members]).items():
            results[i] = result
    return [results[i] for i in range(len(items))]


def _rank_cohort(
    rule: Review, better: str, name: str, members: list[tuple[int, ReviewInput]]
) -> dict[int, ReviewResult]:
    size = len(members)
    out: dict[int, ReviewResult] = {}
    if size < rule.min_cohort_size:
        for i, item in members:
            out[i] = trusted(
                ReviewResult,
                cohort=name,
                cohort_size=size,
                ranked=False,
                value=item.value,
                streak=item.prior_streak,
                stage=stage_for(rule, item.prior_streak),
                reason=f"cohort {name} has {size} agents, below the minimum of {rule.min_cohort_size}: not ranked",
            )
        return out
    sign = 1 if better == "higher" else -1
    # Best first; ties share the best rank (1, 2, 2, 4). Agent id only orders the listing.
    ordered = sorted(members, key=lambda m: (-sign * m[1].value, m[1].agent_id))
    rank_of: dict[int, int] = {}
    for position, (i, item) in enumerate(ordered, start=1):
        if position > 1 and item.value == ordered[position - 2][1].value:
            rank_of[i] = rank_of[ordered[position - 2][0]]
        else:
            rank_of[i] = position
    k = bottom_count(rule, size)
    worst_first = list(reversed(ordered))
    cutoff = worst_first[k - 1][1].value if k > 0 else None
    tied_across = False
    if cutoff is not None:
        tied_positions = [p for p, (_, it) in enumerate(worst_first) if it.value == cutoff]
        tied_across = any(p >= k for p in tied_positions)
    for position, (i, item) in enumerate(worst_first):
        rank = rank_of[i]
        pct = HUNDRED if size == 1 else (HUNDRED * (size - rank) / (size - 1)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        in_bottom = k > 0 and position < k
        at_cutoff = cutoff is not None and item.value == cutoff and tied_across
        flagged = False
        if at_cutoff:
            flagged = rule.ties == "include_all_tied"
            verdict = f"tied with others across the bottom-{k} cut-off: " + (
                "all tied agents are flagged (include_all_tied)"
                if flagged
                else "not flagged (ties go the employee's way)"
            )
        elif in_bottom:
            flagged = True
            verdict = f"in the bottom {k} of {size}"
        else:
            verdict = f"not in the bottom {k} of {size}"
        if flagged and not item.below_floor:
            flagged = False
            verdict += ", but above the absolute floor: not flagged"
        if flagged:
            streak = item.prior_streak + 1
        elif rule.escalation is not None and rule.escalation.on_clear == "step_down":
            streak = max(0, item.prior_streak - 1)
        else:
            streak = 0
        stage = stage_for(rule, streak)
        reason = f"rank {rank} of {size} in {name}: {verdict}"
        if flagged and stage is not None:
            reason += f"; stage {stage} after {streak} consecutive flag(s)"
        out[i] = trusted(
            ReviewResult,
            cohort=name,
            cohort_size=size,
            ranked=True,
            value=item.value,
            rank=rank,
            percentile=pct,
            bottom_count=k,
            flagged=flagged,
            tied_at_cutoff=at_cutoff,
            streak=streak,
            stage=stage,
            reason=reason,
        )
    return out


def stage_label(rule: Review, code: str | None, lang: str) -> str:
    """A stage's display name."""
    if code is None or rule.escalation is None:
        return ""
    for stage in rule.escalation.stages:
        if stage.code == code:
            return label_text(stage.label, lang, code)
    return code
