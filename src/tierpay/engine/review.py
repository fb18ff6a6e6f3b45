"""Bottom-ranking review (末位复核): rank within cohorts and flag the bottom share for review.

A flag asks a person to look, coach, or open an improvement plan. Bottom rank alone is not
lawful grounds for dismissal in China (SPC Guiding Case No. 18), so nothing here outputs a
dismissal. Ties across the cut-off go the employee's way by default, small cohorts are not
ranked, and exemptions (probation, protected leave, low volume) are evaluated first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from tierpay.engine.results import ReviewResult, trusted
from tierpay.ruleset.model import Review, label_text

HUNDRED = Decimal(100)


Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


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


@dataclass
class ReviewArrays:
    """The review of a period: one entry per row (exempt rows included)."""

    cohort_size: Ints
    ranked: Bools
    rank: Ints  # 0 where not ranked
    percentile_cents: Ints  # hundredths of a percent; -1 where not ranked
    flagged: Bools
    streak: Ints
    stage: npt.NDArray[Any]
    bottom: Ints  # the bottom count of the row's cohort
    in_bottom: Bools  # within the bottom count, counted from the worst
    at_cutoff: Bools  # tied with others across the cut-off


def review_arrays(
    rule: Review,
    better: str,
    cohort: Ints,
    value: npt.NDArray[Any],
    agent_order: Ints,
    exempt: Bools,
    below_floor: Bools,
    prior_streak: Ints,
) -> ReviewArrays:
    """Rank every cohort of one period and decide each agent's flag, streak and stage, all at once.

    ``cohort`` holds cohort numbers, ``value`` the ranked values (exact: integers or
    decimals that float64 holds exactly), ``agent_order`` each row's position in agent-id order.
    """
    size = len(cohort)
    ranked_rows = ~exempt
    counts = np.bincount(cohort[ranked_rows], minlength=int(cohort.max(initial=-1)) + 1)
    cohort_size = counts[cohort] if size else np.zeros(0, dtype=np.int64)
    ranked = ranked_rows & (cohort_size >= rule.min_cohort_size)
    sign = 1 if better == "higher" else -1
    key = sign * value.astype(np.float64)  # larger is better
    rank = np.zeros(size, dtype=np.int64)
    position = np.zeros(size, dtype=np.int64)  # place counted from the worst, 0-based
    cut = np.full(size, -1, dtype=np.int64)
    at_cutoff = np.zeros(size, dtype=bool)
    idx = np.flatnonzero(ranked)
    if len(idx):
        # Worst first: lower key first; among equals the later agent id first (the reverse of the best-first listing).
        order = idx[np.lexsort((-agent_order[idx], key[idx], cohort[idx]))]
        groups = cohort[order]
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        lengths = np.diff(np.r_[starts, len(order)])
        first = np.repeat(starts, lengths)
        position[order] = np.arange(len(order)) - first
        # Rank: 1 + the number of cohort members strictly better (ties share the best rank).
        keys = key[order]
        next_start = np.repeat(starts + lengths, lengths)
        upper = _upper_bounds(keys, first, next_start)
        rank[order] = next_start - upper + 1
        k_of = {n: bottom_count(rule, n) for n in np.unique(lengths).tolist()}
        k_rows = np.array([k_of[n] for n in cohort_size[order].tolist()], dtype=np.int64)
        cut[order] = k_rows
        has_cut = k_rows > 0
        cutoff_key = np.where(has_cut, keys[np.maximum(first + k_rows - 1, first)], np.nan)
        tied = has_cut & (keys == cutoff_key)
        beyond = tied & (position[order] >= k_rows)
        group_of = np.repeat(np.arange(len(starts)), lengths)
        tied_across = np.bincount(group_of, weights=beyond, minlength=len(starts)) > 0
        at_cutoff[order] = tied & tied_across[group_of]
    in_bottom = ranked & (cut > 0) & (position < cut)
    flagged = np.where(at_cutoff, rule.ties == "include_all_tied", in_bottom) & ranked & below_floor
    step_down = rule.escalation is not None and rule.escalation.on_clear == "step_down"
    cleared = np.maximum(0, prior_streak - 1) if step_down else np.zeros(size, dtype=np.int64)
    streak = np.where(flagged, prior_streak + 1, np.where(ranked, cleared, prior_streak))
    if size:
        most = int(streak.max())
        stages = np.array([stage_for(rule, s) for s in range(most + 1)], dtype=object)
        stage = stages[streak]
    else:
        stage = np.zeros(0, dtype=object)
    ranked_n = np.maximum(cohort_size - 1, 1)
    numerator = 10000 * (cohort_size - rank)
    cents = (2 * numerator + ranked_n) // (2 * ranked_n)  # half-up, as the reference quantizes
    percentile_cents = np.where(ranked, np.where(cohort_size == 1, 10000, cents), -1)
    return ReviewArrays(cohort_size, ranked, rank, percentile_cents, flagged, streak, stage, cut, in_bottom, at_cutoff)


def _upper_bounds(keys: npt.NDArray[Any], first: Ints, stop: Ints) -> Ints:
    """For each sorted position, the end of the run of keys equal to it within its group."""
    size = len(keys)
    change = np.r_[keys[1:] != keys[:-1], True] | np.r_[first[1:] != first[:-1], True]
    ends = np.flatnonzero(change) + 1  # one past each run's last item
    run_of = np.searchsorted(ends, np.arange(size), side="right")
    return np.minimum(ends[run_of], stop)


def review_result(
    rule: Review,
    arrays: ReviewArrays,
    j: int,
    cohort: str,
    value: Decimal,
    below_floor: bool,
    exempt: tuple[str, str] | None,
    prior_streak: int,
) -> ReviewResult:
    """Entry ``j`` of a period's review as a ``ReviewResult``, with its reason in a sentence."""
    size = int(arrays.cohort_size[j])
    streak, stage = int(arrays.streak[j]), arrays.stage[j]
    if exempt is not None or not arrays.ranked[j]:  # not ranked: the carried streak stands
        return trusted(
            ReviewResult,
            cohort=cohort,
            cohort_size=size,
            ranked=False,
            value=value,
            exempt=exempt[0] if exempt is not None else None,
            streak=prior_streak,
            stage=stage_for(rule, prior_streak),
            reason=f"exempt ({exempt[0]}): {exempt[1]}"
            if exempt is not None
            else f"cohort {cohort} has {size} agents, below the minimum of {rule.min_cohort_size}: not ranked",
        )
    rank, k, flagged = int(arrays.rank[j]), int(arrays.bottom[j]), bool(arrays.flagged[j])
    if arrays.at_cutoff[j]:
        verdict = f"tied with others across the bottom-{k} cut-off: " + (
            "all tied agents are flagged (include_all_tied)"
            if rule.ties == "include_all_tied"
            else "not flagged (ties go the employee's way)"
        )
        would_flag = rule.ties == "include_all_tied"
    elif arrays.in_bottom[j]:
        verdict, would_flag = f"in the bottom {k} of {size}", True
    else:
        verdict, would_flag = f"not in the bottom {k} of {size}", False
    if would_flag and not below_floor:
        verdict += ", but above the absolute floor: not flagged"
    reason = f"rank {rank} of {size} in {cohort}: {verdict}"
    if flagged and stage is not None:
        reason += f"; stage {stage} after {streak} consecutive flag(s)"
    cents = int(arrays.percentile_cents[j])
    return trusted(
        ReviewResult,
        cohort=cohort,
        cohort_size=size,
        ranked=True,
        value=value,
        rank=rank,
        percentile=HUNDRED if size == 1 else Decimal(cents).scaleb(-2),
        bottom_count=k,
        flagged=flagged,
        tied_at_cutoff=bool(arrays.at_cutoff[j]),
        streak=streak,
        stage=stage,
        reason=reason,
    )


def stage_label(rule: Review, code: str | None, lang: str) -> str:
    """A stage's display name."""
    if code is None or rule.escalation is None:
        return ""
    for stage in rule.escalation.stages:
        if stage.code == code:
            return label_text(stage.label, lang, code)
    return code
