"""The stepped-level state machine: one agent, one period, prior state in, decision out.

The order of questions is fixed and documented (docs/explanation/levels.md):

1. On probation? Then the level is fixed; convert, extend, or refer for review at the legal
   maximum. Never a dismissal.
2. An immediate-demotion veto holds? Demote one step.
3. Maintenance failed for the required consecutive periods? Demote one step.
4. Otherwise count the promotion streak and promote when the streak, the time in level and
   the review calendar all allow, by at most ``max_steps``.

The lowest level is a floor; the top level is a ceiling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tierpay.engine.results import Action
from tierpay.engine.state import AgentState
from tierpay.ruleset.model import Level, Ruleset, label_text


@dataclass(frozen=True)
class LevelInputs:
    """What the criteria said about one record, evaluated by the engine."""

    entry_met: Sequence[bool]  # per level, lowest first; the lowest is always True
    maintain_met: bool
    promotion_vetoes: Sequence[str]
    demotion_vetoes: Sequence[str]
    convert_met: bool | None
    period_month: int


@dataclass(frozen=True)
class LevelDecision:
    """The action for one agent-period, why, and the state after it."""

    action: Action
    reason: str
    why: str
    qualified_level: str
    pay_level: str
    state: AgentState
    notes: list[str] = field(default_factory=list)


def qualified_index(entry_met: Sequence[bool]) -> int:
    """The highest level whose entry criteria are met together with every level below it."""
    index = 0
    for i, met in enumerate(entry_met[1:], start=1):
        if not met:
            break
        index = i
    return index


def _name(level: Level) -> str:
    return f"{level.id} ({label_text(level.name, 'en', level.id)})"


def decide(ruleset: Ruleset, prior: AgentState, inputs: LevelInputs) -> LevelDecision:
    """Decide one agent's level action for one period from its prior state and criteria."""
    levels = ruleset.levels
    ids = [lv.id for lv in levels]
    current = ids.index(prior.level)
    qualified = qualified_index(inputs.entry_met)
    qualified_id = ids[qualified]

    if prior.on_probation and ruleset.probation is not None:
        return _probation(ruleset, prior, inputs, qualified_id)

    promo = ruleset.promotion
    demo = ruleset.demotion
    fail_streak = 0 if inputs.maintain_met else prior.maintain_fail_streak + 1
    base = prior.model_copy(
        update={"periods_in_level": prior.periods_in_level + 1, "maintain_fail_streak": fail_streak}
    )

    def moved(to: int, action: Action, reason: str, why: str) -> LevelDecision:
        state = base.model_copy(
            update={
                "level": ids[to],
                "periods_in_level": 0,
                "promote_streak": 0,
                "streak_level": None,
                "maintain_fail_streak": 0,
            }
        )
        pay_level = ids[current] if action == "promote" and promo.pay_effective == "next_period" else ids[to]
        return LevelDecision(action, reason, why, qualified_id, pay_level, state)

    def hold(state: AgentState, reason: str, why: str) -> LevelDecision:
        return LevelDecision("hold", reason, why, qualified_id, ids[current], state)

    demotion_due_now = demo.review_months is None or inputs.period_month in demo.review_months
    if inputs.demotion_vetoes and current > 0:
        codes = ", ".join(inputs.demotion_vetoes)
        return moved(current - 1, "demote", "immediate_demotion", f"immediate demotion: {codes}")
    if inputs.demotion_vetoes:
        why = f"immediate-demotion condition {', '.join(inputs.demotion_vetoes)} held, but {ids[0]} is the lowest level"
        return hold(base.model_copy(update={"promote_streak": 0, "streak_level": None}), "lowest_level", why)
    if not inputs.maintain_met:
        state = base.model_copy(update={"promote_streak": 0, "streak_level": None})
        need = demo.consecutive_periods
        if current == 0:
            return hold(
                state,
                "lowest_level",
                f"maintenance criteria of {ids[0]} not met, but it is the lowest level",
            )
        if fail_streak >= need and demotion_due_now:
            why = f"maintenance criteria of {_name(levels[current])} not met for {fail_streak} consecutive periods (demotion after {need})"
            return moved(current - 1, "demote", "maintain_failed", why)
        if fail_streak >= need:
            why = f"maintenance failed {fail_streak} periods; demotion waits for a review month ({_months(demo.review_months)})"
            return hold(state, "demotion_pending", why)
        why = f"maintenance criteria of {_name(levels[current])} not met ({fail_streak} of {need} periods before demotion)"
        return hold(state, "maintain_warning", why)

    # Promotion.
    if current == len(levels) - 1:
        return hold(
            base.model_copy(update={"promote_streak": 0, "streak_level": None}),
            "top_level",
            f"{ids[current]} is the top level",
        )
    next_level = levels[current + 1]
    if qualified <= current:
        state = base.model_copy(update={"promote_streak": 0, "streak_level": None})
        return hold(state, "entry_not_met", f"entry criteria of {_name(next_level)} not met")
    if inputs.promotion_vetoes:
        state = base.model_copy(update={"promote_streak": 0, "streak_level": None})
        codes = ", ".join(inputs.promotion_vetoes)
        return hold(
            state,
            "promotion_blocked",
            f"meets the entry criteria of {_name(next_level)}, but promotion is blocked: {codes}",
        )
    streak = prior.promote_streak + 1
    floor = qualified if prior.streak_level is None else min(qualified, ids.index(prior.streak_level))
    state = base.model_copy(update={"promote_streak": streak, "streak_level": ids[floor]})
    need = promo.consecutive_periods
    if streak < need:
        return hold(
            state,
            "streak_short",
            f"meets the entry criteria of {_name(next_level)}: {streak} of {need} consecutive periods",
        )
    own = levels[current].min_periods
    min_in_level = own if own is not None else promo.min_periods_in_level
    if state.periods_in_level < min_in_level:
        why = f"qualifies for {_name(next_level)}, but has {state.periods_in_level} of the {min_in_level} periods required in {ids[current]}"
        return hold(state, "min_periods_in_level", why)
    if promo.review_months is not None and inputs.period_month not in promo.review_months:
        why = f"qualifies for {_name(next_level)}; promotions are decided in review months ({_months(promo.review_months)})"
        return hold(state, "not_review_period", why)
    target = min(floor, current + promo.max_steps)
    steps = target - current
    why = (
        f"met the entry criteria of {_name(levels[target])} for {streak} consecutive periods"
        + (f" ({steps} steps)" if steps > 1 else "")
        + ("; pay changes next period" if promo.pay_effective == "next_period" else "")
    )
    return moved(target, "promote", "promoted", why)


def _months(months: list[int] | None) -> str:
    return ", ".join(str(m) for m in months or [])


def _probation(ruleset: Ruleset, prior: AgentState, inputs: LevelInputs, qualified_id: str) -> LevelDecision:
    probation = ruleset.probation
    assert probation is not None
    served = prior.probation_periods + 1
    state = prior.model_copy(
        update={
            "probation_periods": served,
            "periods_in_level": prior.periods_in_level + 1,
            "promote_streak": 0,
            "streak_level": None,
            "maintain_fail_streak": 0,
        }
    )
    level = prior.level
    if served >= probation.min_periods and inputs.convert_met:
        converted = state.model_copy(update={"on_probation": False})
        why = f"met the conversion criteria after {served} periods of probation"
        return LevelDecision("convert", "converted", why, qualified_id, level, converted)
    if served >= probation.max_periods:
        why = (
            f"probation has reached its maximum of {probation.max_periods} periods without meeting the "
            "conversion criteria: refer to HR for a human review (tierpay never decides a dismissal)"
        )
        return LevelDecision("probation_review", "probation_max_reached", why, qualified_id, level, state)
    if served >= probation.min_periods:
        why = (
            f"conversion criteria not met after {served} periods; probation continues (maximum {probation.max_periods})"
        )
        return LevelDecision("extend_probation", "conversion_not_met", why, qualified_id, level, state)
    why = f"on probation: period {served} of at least {probation.min_periods}"
    return LevelDecision("hold", "probation_min_not_served", why, qualified_id, level, state)
