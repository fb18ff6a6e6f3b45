"""The stepped-level state machine, asked of a whole period at once, and its reasons in sentences.

The order of questions is fixed and documented (docs/explanation/levels.md):

1. On probation? Then the level is fixed. Probation is calendar time from the start date for
   the cap the contract term allows (:mod:`tierpay.engine.probation`): convert when the
   record says the employer did, or the criteria are met; at the cap the agent is regular by
   law; a month before it an agent below the bar is referred for review; before that,
   probation is extended. Past the cap, or under a contract that allows none, the agent is
   regular. Never a dismissal.
2. An immediate-demotion veto holds? Demote one step.
3. Maintenance failed for the required consecutive periods? Demote one step.
4. Otherwise count the promotion streak and promote when the streak, the time in level and
   the review calendar all allow, by at most ``max_steps``.

The lowest level is a floor; the top level is a ceiling. ``decide_levels`` answers these for
every row of a period with ``numpy.select`` (the first question that holds decides);
``why`` words a decided row's reason code as a sentence, from the facts it was decided on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tierpay.engine.probation import Calendar, legal_cap, term_text, term_words
from tierpay.ruleset.model import Level, Ruleset, label_text

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
    "probation_ending",
    "conversion_not_met",
    "probation_min_not_served",
    "converted_by_employer",
    "probation_cap_reached",
    "probation_ended",
    "probation_not_allowed",
    "protected_period",
    "converted_by_decision",
    "probation_extended_by_decision",
    "level_set_by_decision",
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
    probation_extension: Ints  # months people's decisions added to the probation being served


@dataclass
class LevelArrays:
    """The level decisions of a period: action and reason codes, levels as indexes, new state.

    ``probation_month`` marks the rows worked on probation during the month, the month of
    conversion included: their probation pay floor applies (pay reads it, not the new state).
    """

    action: Ints  # index into ACTIONS
    reason: Ints  # index into REASONS
    qualified: Ints
    pay_level: Ints
    state: Prior
    probation_month: Bools  # the month was worked on probation (its pay floor applies)


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
    calendar: Calendar,
    protected: Bools | None = None,
) -> LevelArrays:
    """Every row's level action, reason and new state for one period, the first question that holds deciding.

    Rows that entered the month on probation (``calendar.carried``) are decided by the
    probation branch alone, also when the calendar says their probation is over. A protected
    month (``protected``) neither demotes nor promotes: the streaks pause.
    """
    promo, demo = ruleset.promotion, ruleset.demotion
    top = len(ruleset.levels) - 1
    cur = prior.level
    qualified = qualified_levels(entry_met)
    probation = calendar.carried & (ruleset.probation is not None)
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
    shield = (protected if protected is not None else np.zeros(len(cur), dtype=bool)) & ~probation
    veto = demotion_veto & ~probation & ~shield
    unmet = ~maintain_met & ~veto & ~probation & ~shield
    rest = ~probation & ~veto & maintain_met & ~shield
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
        (shield, "hold", "protected_period"),
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
        promote_streak=np.select([shield, kept_streak], [prior.promote_streak, streak], 0),
        streak_level=np.select([shield, kept_streak], [prior.streak_level, floor], NONE),
        maintain_fail_streak=np.where(shield, prior.maintain_fail_streak, np.where(moved, 0, fail)),
        on_probation=prior.on_probation.copy(),
        probation_periods=prior.probation_periods.copy(),
        probation_extension=prior.probation_extension.copy(),
    )
    # A month is paid at the level held during it: a demotion takes effect from the next
    # month; the ruleset decides whether a promotion's raise starts this month or the next.
    pay_level = cur.copy()
    if promo.pay_effective == "this_period":
        pay_level[promoted] = target[promoted]
    if ruleset.probation is not None:
        _probation(ruleset, prior, calendar, probation, convert_met, action, reason, state)
    probation_month = calendar.month & (ruleset.probation is not None)
    return LevelArrays(action, reason, qualified, np.where(probation, cur, pay_level), state, probation_month)


def _probation(
    ruleset: Ruleset,
    prior: Prior,
    cal: Calendar,
    rows: Bools,
    convert_met: Bools,
    action: Ints,
    reason: Ints,
    state: Prior,
) -> None:
    """The probation branch of ``decide_levels``, written into the period's arrays (first case that holds)."""
    rule = ruleset.probation
    assert rule is not None
    on = rows & cal.month
    employer = on & cal.stated_regular
    rest = on & ~employer
    met = rest & ((cal.served >= rule.min_periods) | (cal.left == 0)) & convert_met
    rest &= ~met
    at_cap = rest & (cal.left == 0)
    rest &= ~at_cap
    ending = rest & (cal.left == 1) & ~convert_met
    rest &= ~ending
    extended = rest & (cal.served >= rule.min_periods)
    serving = rest & ~extended
    ended = rows & ~cal.month & (cal.cap > 0)
    not_allowed = rows & ~cal.month & (cal.cap == 0)
    for mask, act, why in (
        (employer, "convert", "converted_by_employer"),
        (met, "convert", "converted"),
        (at_cap, "convert", "probation_cap_reached"),
        (ending, "probation_review", "probation_ending"),
        (extended, "extend_probation", "conversion_not_met"),
        (serving, "hold", "probation_min_not_served"),
        (ended, "convert", "probation_ended"),
        (not_allowed, "convert", "probation_not_allowed"),
    ):
        action[mask] = ACTIONS.index(act)
        reason[mask] = REASONS.index(why)
    state.level[rows] = prior.level[rows]
    state.probation_periods[rows] = cal.served[rows]
    state.periods_in_level[rows] = prior.periods_in_level[rows] + 1
    state.promote_streak[rows] = 0
    state.streak_level[rows] = NONE
    state.maintain_fail_streak[rows] = 0
    state.on_probation[rows] = (ending | extended | serving)[rows]
    state.probation_extension[rows & ~state.on_probation] = 0  # the probation it extended is over


def _name(level: Level) -> str:
    return f"{level.id} ({label_text(level.name, 'en', level.id)})"


def _months(months: list[int] | None) -> str:
    return ", ".join(str(m) for m in months or [])


@dataclass(frozen=True)
class Facts:
    """What one row's level decision was made from, for its sentence."""

    reason: str
    level: int  # the level before
    moved_to: int
    prior_promote_streak: int
    prior_maintain_fail_streak: int
    prior_periods_in_level: int
    probation_served: int  # calendar months of probation through this one
    probation_cap: int  # months; 0 when the contract allows none
    probation_start: int  # the start date as an ordinal (0: none)
    probation_end: int  # the last day of probation as an ordinal (0: none)
    contract_term: int  # months; -1 open-ended, -2 a task (see ``probation.term_code``)
    promotion_vetoes: list[str]
    demotion_vetoes: list[str]


def why(ruleset: Ruleset, facts: Facts) -> str:
    """A decided row's reason code as the sentence a person reads."""
    levels, promo, demo = ruleset.levels, ruleset.promotion, ruleset.demotion
    ids = [lv.id for lv in levels]
    current, reason = facts.level, facts.reason
    fail_streak = facts.prior_maintain_fail_streak + 1
    streak = facts.prior_promote_streak + 1
    upper = levels[min(current + 1, len(levels) - 1)]
    if reason == "protected_period":
        shield = ruleset.protection
        said = label_text(shield.reason, "en", f"protected period (`{shield.when}`)") if shield else "protected period"
        return f"{said}: not demoted, level streaks paused"
    if reason == "immediate_demotion":
        return f"immediate demotion: {', '.join(facts.demotion_vetoes)}"
    if reason == "lowest_level" and facts.demotion_vetoes:
        codes = ", ".join(facts.demotion_vetoes)
        return f"immediate-demotion condition {codes} held, but {ids[0]} is the lowest level"
    if reason == "lowest_level":
        return f"maintenance criteria of {ids[0]} not met, but it is the lowest level"
    if reason == "maintain_failed":
        need = demo.consecutive_periods
        return f"maintenance criteria of {_name(levels[current])} not met for {fail_streak} consecutive periods (demotion after {need})"
    if reason == "demotion_pending":
        return f"maintenance failed {fail_streak} periods; demotion waits for a review month ({_months(demo.review_months)})"
    if reason == "maintain_warning":
        need = demo.consecutive_periods
        return f"maintenance criteria of {_name(levels[current])} not met ({fail_streak} of {need} periods before demotion)"
    if reason == "top_level":
        return f"{ids[current]} is the top level"
    if reason == "entry_not_met":
        return f"entry criteria of {_name(upper)} not met"
    if reason == "promotion_blocked":
        codes = ", ".join(facts.promotion_vetoes)
        return f"meets the entry criteria of {_name(upper)}, but promotion is blocked: {codes}"
    if reason == "streak_short":
        return (
            f"meets the entry criteria of {_name(upper)}: {streak} of {promo.consecutive_periods} consecutive periods"
        )
    if reason == "min_periods_in_level":
        own = levels[current].min_periods
        need = own if own is not None else promo.min_periods_in_level
        have = facts.prior_periods_in_level + 1
        return f"qualifies for {_name(upper)}, but has {have} of the {need} periods required in {ids[current]}"
    if reason == "not_review_period":
        return f"qualifies for {_name(upper)}; promotions are decided in review months ({_months(promo.review_months)})"
    if reason == "promoted":
        steps = facts.moved_to - current
        return (
            f"met the entry criteria of {_name(levels[facts.moved_to])} for {streak} consecutive periods"
            + (f" ({steps} steps)" if steps > 1 else "")
            + ("; pay changes next period" if promo.pay_effective == "next_period" else "")
        )
    return _probation_why(ruleset, reason, facts)


def _probation_why(ruleset: Ruleset, reason: str, facts: Facts) -> str:
    """A probation reason as a sentence: the month of probation, its end and the cap it comes from."""
    probation = ruleset.probation
    assert probation is not None, reason
    served, cap = facts.probation_served, facts.probation_cap
    term = term_text(facts.contract_term) if facts.contract_term else ""
    if reason == "probation_not_allowed":
        return f"{term_words(term)} allows no probation (Labor Contract Law art. 19): the agent is regular"
    start = dt.date.fromordinal(facts.probation_start).isoformat()
    end = dt.date.fromordinal(facts.probation_end).isoformat()
    legal = legal_cap(term)
    cap_text = f"the cap of {_n(cap, 'month')} from {start} for {term_words(term)}" + (
        f", shortened from {legal} by max_periods" if cap < legal else ""
    )
    never = "tierpay never decides a dismissal"
    if reason == "converted_by_employer":
        return (
            f"the record says the agent is no longer on probation: converted by the employer in month {served} of {cap}"
        )
    if reason == "converted":
        return f"met the conversion criteria in month {served} of {cap} of probation"
    if reason == "probation_cap_reached":
        return (
            f"conversion criteria not met, but probation ends on {end} at {cap_text}: "
            f"the agent is regular by law from the next month (Labor Contract Law art. 19); {never}"
        )
    if reason == "probation_ending":
        return (
            f"conversion criteria not met in month {served} of {cap}; probation ends on {end}: "
            f"refer to HR for a human review before then (at the cap the agent is regular by law; {never})"
        )
    if reason == "conversion_not_met":
        return f"conversion criteria not met in month {served} of {cap}; probation continues until {end} at the latest"
    if reason == "probation_ended":
        return f"probation ended on {end} at {cap_text}: the agent is regular by law (Labor Contract Law art. 19)"
    return f"on probation: month {served} of {cap} (conversion possible from month {probation.min_periods})"


def _n(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"
