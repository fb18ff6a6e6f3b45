"""The level state machine and the bottom-ranking review on arrays, for the columnar pipeline.

Each function here is the array form of a reference function (:func:`tierpay.engine.levels.decide`
and :func:`tierpay.engine.review.review_period`): the same questions in the same order, asked of a
whole period at once with ``numpy.select``. The differential tests hold them to the reference
answers, branch by branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tierpay.engine.review import bottom_count, stage_for
from tierpay.ruleset.model import Review, Ruleset

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
NONE = -1  # "no level" in an index array (streak_level)
ACTIONS = ["hold", "promote", "demote", "convert", "extend_probation", "probation_review"]
"""Action codes, indexed by ``LevelArrays.action``."""
REASONS = [
    "",
    "immediate_demotion",
    "lowest_level",
    "maintain_failed",
    "demotion_pending",
    "maintain_warning",
    "top_level",
    "entry_not_met",
    "promotion_blocked",
    "streak_short",
    "min_periods_in_level",
    "not_review_period",
    "promoted",
    "converted",
    "probation_max_reached",
    "conversion_not_met",
    "probation_min_not_served",
]
"""Reason codes, indexed by ``LevelArrays.reason``."""


@dataclass
class Prior:
    """Every live row's carried state, as arrays (levels as indexes)."""

    level: Ints
    periods_in_level: Ints
    promote_streak: Ints
    streak_level: Ints
    maintain_fail_streak: Ints
    on_probation: Bools
    probation_periods: Ints


@dataclass
class LevelArrays:
    """The level decisions of a period: action and reason codes, levels as indexes, new state."""

    action: Ints  # index into ACTIONS
    reason: Ints  # index into REASONS
    qualified: Ints
    pay_level: Ints
    state: Prior


def qualified_levels(entry_met: list[Bools]) -> Ints:
    """Per row, the highest level whose entry is met together with every level below it."""
    size = len(entry_met[0]) if entry_met else 0
    running = np.ones(size, dtype=bool)
    qualified = np.zeros(size, dtype=np.int64)
    for i, met in enumerate(entry_met[1:], start=1):
        running &= met
        qualified[running] = i
    return qualified


def decide_levels(
    ruleset: Ruleset,
    prior: Prior,
    entry_met: list[Bools],
    maintain_met: Bools,
    promotion_veto: Bools,
    demotion_veto: Bools,
    convert_met: Bools,
    month: int,
) -> LevelArrays:
    """``levels.decide`` for every row of a period at once."""
    promo, demo = ruleset.promotion, ruleset.demotion
    top = len(ruleset.levels) - 1
    cur = prior.level
    qualified = qualified_levels(entry_met)
    probation = prior.on_probation & (ruleset.probation is not None)
    fail = np.where(maintain_met, 0, prior.maintain_fail_streak + 1)
    pil = prior.periods_in_level + 1
    streak = prior.promote_streak + 1
    floor = np.where(prior.streak_level == NONE, qualified, np.minimum(qualified, prior.streak_level))
    own = np.array(
        [lv.min_periods if lv.min_periods is not None else promo.min_periods_in_level for lv in ruleset.levels]
    )
    demotion_due = demo.review_months is None or month in demo.review_months
    promotion_due = promo.review_months is None or month in promo.review_months
    target = np.minimum(floor, cur + promo.max_steps)

    # The regular ladder, in the reference's order of questions; the first that holds decides.
    veto = demotion_veto & ~probation
    unmet = ~maintain_met & ~veto & ~probation
    rest = ~probation & ~veto & maintain_met
    at_top = rest & (cur == top)
    rest &= cur != top
    not_qualified = rest & (qualified <= cur)
    rest &= qualified > cur
    blocked = rest & promotion_veto
    rest &= ~promotion_veto
    short = rest & (streak < promo.consecutive_periods)
    rest &= streak >= promo.consecutive_periods
    too_new = rest & (pil < own[cur])
    rest &= pil >= own[cur]
    waiting = rest & (not promotion_due)
    promoted = rest & promotion_due
    cases = [
        (veto & (cur > 0), "demote", "immediate_demotion"),
        (veto & (cur == 0), "hold", "lowest_level"),
        (unmet & (cur == 0), "hold", "lowest_level"),
        (unmet & (cur > 0) & (fail >= demo.consecutive_periods) & demotion_due, "demote", "maintain_failed"),
        (unmet & (cur > 0) & (fail >= demo.consecutive_periods) & (not demotion_due), "hold", "demotion_pending"),
        (unmet & (cur > 0) & (fail < demo.consecutive_periods), "hold", "maintain_warning"),
        (at_top, "hold", "top_level"),
        (not_qualified, "hold", "entry_not_met"),
        (blocked, "hold", "promotion_blocked"),
        (short, "hold", "streak_short"),
        (too_new, "hold", "min_periods_in_level"),
        (waiting, "hold", "not_review_period"),
        (promoted, "promote", "promoted"),
    ]
    conditions = [c for c, _, _ in cases]
    action = np.select(conditions, [ACTIONS.index(a) for _, a, _ in cases], default=ACTIONS.index("hold"))
    reason = np.select(conditions, [REASONS.index(r) for _, _, r in cases], default=0)
    demoted = (veto & (cur > 0)) | (unmet & (reason == REASONS.index("maintain_failed")))
    moved = demoted | promoted
    moved_to = np.select([demoted, promoted], [cur - 1, target], default=cur)
    kept_streak = short | too_new | waiting
    state = Prior(
        level=moved_to,
        periods_in_level=np.where(moved, 0, pil),
        promote_streak=np.where(kept_streak, streak, 0),
        streak_level=np.where(kept_streak, floor, NONE),
        maintain_fail_streak=np.where(moved, 0, fail),
        on_probation=prior.on_probation.copy(),
        probation_periods=prior.probation_periods.copy(),
    )
    pay_level = moved_to.copy()
    if promo.pay_effective == "next_period":
        pay_level[promoted] = cur[promoted]
    if ruleset.probation is not None:
        _probation(ruleset, prior, probation, convert_met, action, reason, state)
    return LevelArrays(action, reason, qualified, np.where(probation, cur, pay_level), state)


def _probation(
    ruleset: Ruleset,
    prior: Prior,
    rows: Bools,
    convert_met: Bools,
    action: Ints,
    reason: Ints,
    state: Prior,
) -> None:
    """The probation branch of ``levels._probation``, written into the period's arrays."""
    rule = ruleset.probation
    assert rule is not None
    served = prior.probation_periods + 1
    converts = rows & (served >= rule.min_periods) & convert_met
    at_max = rows & ~converts & (served >= rule.max_periods)
    extended = rows & ~converts & ~at_max & (served >= rule.min_periods)
    serving = rows & ~converts & ~at_max & ~extended
    for mask, act, why in (
        (converts, "convert", "converted"),
        (at_max, "probation_review", "probation_max_reached"),
        (extended, "extend_probation", "conversion_not_met"),
        (serving, "hold", "probation_min_not_served"),
    ):
        action[mask] = ACTIONS.index(act)
        reason[mask] = REASONS.index(why)
    state.level[rows] = prior.level[rows]
    state.probation_periods[rows] = served[rows]
    state.periods_in_level[rows] = prior.periods_in_level[rows] + 1
    state.promote_streak[rows] = 0
    state.streak_level[rows] = NONE
    state.maintain_fail_streak[rows] = 0
    state.on_probation[converts] = False


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
    """``review.review_period`` for a period at once.

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
    return ReviewArrays(cohort_size, ranked, rank, percentile_cents, flagged, streak, stage)


def _upper_bounds(keys: npt.NDArray[Any], first: Ints, stop: Ints) -> Ints:
    """For each sorted position, the end of the run of keys equal to it within its group."""
    size = len(keys)
    change = np.r_[keys[1:] != keys[:-1], True] | np.r_[first[1:] != first[:-1], True]
    ends = np.flatnonzero(change) + 1  # one past each run's last item
    run_of = np.searchsorted(ends, np.arange(size), side="right")
    return np.minimum(ends[run_of], stop)
