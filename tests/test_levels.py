"""The level ladder over time: a hand-worked six-month history and properties of the machine.

The mini ruleset (tests/conftest.py): L1 < L2 (entry qa >= 80, maintain qa >= 70) < L3 (entry
qa >= 90, maintain qa >= 85); promotion after 2 consecutive qualifying periods and at least 1
period in the level, blocked by any incident; demotion after 2 failing periods, at once on 3+
incidents; probation at least 2 and at most 3 calendar months, converting on qa >= 75.
Probationers start on 2026-01-01 on open-ended contracts: their probation is January to March.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tierpay import State, evaluate, load_ruleset, read_records

from .conftest import ROOT, SAMPLE_H1, build

CASES = ROOT / "tests" / "cases"

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]

# agent: (first level, status, qa per month (None: no record), incidents per month)
HISTORY: dict[str, tuple[str, str, list[int | None], list[int]]] = {
    "P1-climber": ("L1", "regular", [85, 85, 85, 92, 92, 92], [0] * 6),
    "P2-decliner": ("L3", "regular", [88, 80, 80, 60, 60, 60], [0] * 6),
    "P3-blocked": ("L1", "regular", [85] * 6, [0, 1, 0, 0, 0, 0]),
    "P4-major": ("L2", "regular", [85] * 6, [0, 0, 3, 0, 0, 0]),
    "P5-converts": ("L1", "probation", [70, 80, 80, 80, 80, 80], [0] * 6),
    "P6-no-convert": ("L1", "probation", [60] * 6, [0] * 6),
    "P7-gap": ("L1", "regular", [70, 85, None, 85, 85, 85], [0] * 6),
    "P8-joiner": ("L2", "regular", [None, None, None, 92, 92, 92], [0] * 6),
}

# agent: (action, reason, level after) per month; None where there is no record.
EXPECTED: dict[str, list[tuple[str, str, str] | None]] = {
    "P1-climber": [
        ("hold", "streak_short", "L1"),
        ("promote", "promoted", "L2"),
        ("hold", "entry_not_met", "L2"),
        ("hold", "streak_short", "L2"),
        ("promote", "promoted", "L3"),
        ("hold", "top_level", "L3"),
    ],
    "P2-decliner": [
        ("hold", "top_level", "L3"),
        ("hold", "maintain_warning", "L3"),
        ("demote", "maintain_failed", "L2"),
        ("hold", "maintain_warning", "L2"),
        ("demote", "maintain_failed", "L1"),
        ("hold", "entry_not_met", "L1"),
    ],
    "P3-blocked": [
        ("hold", "streak_short", "L1"),
        ("hold", "promotion_blocked", "L1"),
        ("hold", "streak_short", "L1"),
        ("promote", "promoted", "L2"),
        ("hold", "entry_not_met", "L2"),
        ("hold", "entry_not_met", "L2"),
    ],
    "P4-major": [
        ("hold", "entry_not_met", "L2"),
        ("hold", "entry_not_met", "L2"),
        ("demote", "immediate_demotion", "L1"),
        ("hold", "streak_short", "L1"),
        ("promote", "promoted", "L2"),
        ("hold", "entry_not_met", "L2"),
    ],
    "P5-converts": [
        ("hold", "probation_min_not_served", "L1"),
        ("convert", "converted", "L1"),
        ("hold", "streak_short", "L1"),
        ("promote", "promoted", "L2"),
        ("hold", "entry_not_met", "L2"),
        ("hold", "entry_not_met", "L2"),
    ],
    "P6-no-convert": [
        ("hold", "probation_min_not_served", "L1"),
        ("probation_review", "probation_ending", "L1"),
        ("convert", "probation_cap_reached", "L1"),
        ("hold", "entry_not_met", "L1"),
        ("hold", "entry_not_met", "L1"),
        ("hold", "entry_not_met", "L1"),
    ],
    "P7-gap": [
        ("hold", "entry_not_met", "L1"),
        ("hold", "streak_short", "L1"),
        None,
        ("promote", "promoted", "L2"),
        ("hold", "entry_not_met", "L2"),
        ("hold", "entry_not_met", "L2"),
    ],
    "P8-joiner": [
        None,
        None,
        None,
        ("hold", "streak_short", "L2"),
        ("promote", "promoted", "L3"),
        ("hold", "top_level", "L3"),
    ],
}


def history_records(months: list[str] = MONTHS) -> list[dict[str, Any]]:
    """The HISTORY table as records, first month carrying the level and status."""
    records = []
    for agent, (level, status, qas, incidents) in HISTORY.items():
        first = True
        for i, month in enumerate(MONTHS):
            if month not in months or qas[i] is None:
                if qas[i] is not None:
                    first = False
                continue
            records.append(
                {
                    "agent_id": agent,
                    "period": month,
                    "level": level if first else "",
                    "status": status,
                    **({"start_date": "2026-01-01", "contract_term": "open"} if status == "probation" else {}),
                    "qa": qas[i],
                    "incidents": incidents[i],
                }
            )
            first = False
    return records


def test_six_month_history_takes_every_path() -> None:
    """Each agent's six months match the hand-worked actions, reasons and levels."""
    outcome = evaluate(build(), history_records())
    got: dict[str, list[tuple[str, str, str] | None]] = {agent: [None] * 6 for agent in HISTORY}
    for d in outcome.decisions:
        got[d.agent_id][MONTHS.index(d.period)] = (d.action, d.reason, d.level)
    assert got == EXPECTED
    assert outcome.rejections == []


def test_gap_is_reported_and_named_in_the_next_decision() -> None:
    """A missing month is listed as a gap, and the next decision says the streak was paused."""
    outcome = evaluate(build(), history_records())
    assert [(g.agent_id, g.period) for g in outcome.gaps] == [("P7-gap", "2026-03")]
    april = outcome.decision("P7-gap", "2026-04")
    assert april.notes == ["no record for 2026-03: streaks paused (missing_period: pause)"]


def test_gap_with_reset_policy_restarts_the_streak() -> None:
    """Under ``missing_period: reset`` the streak starts again after a gap."""
    outcome = evaluate(build(missing_period="reset"), history_records())
    assert outcome.decision("P7-gap", "2026-04").reason == "streak_short"
    assert outcome.decision("P7-gap", "2026-05").action == "promote"


def test_probation_review_comes_before_the_cap_and_never_dismisses() -> None:
    """A month before the cap the outcome is a referral for human review; at the cap, regular by law."""
    outcome = evaluate(build(), history_records())
    review = outcome.decision("P6-no-convert", "2026-02")
    assert review.action == "probation_review"
    assert review.why == (
        "conversion criteria not met in month 2 of 3; probation ends on 2026-03-31: refer to HR for a human "
        "review before then (at the cap the agent is regular by law; tierpay never decides a dismissal)"
    )
    at_cap = outcome.decision("P6-no-convert", "2026-03")
    assert (at_cap.action, at_cap.on_probation) == ("convert", False)
    assert at_cap.why == (
        "conversion criteria not met, but probation ends on 2026-03-31 at the cap of 3 months from 2026-01-01 "
        "for an open-ended contract, shortened from 6 by max_periods: the agent is regular by law from the next "
        "month (Labor Contract Law art. 19); tierpay never decides a dismissal"
    )


def test_chained_months_equal_one_run() -> None:
    """Six monthly runs chained through the state give exactly the one-run decisions and state."""
    ruleset = build()
    whole = evaluate(ruleset, history_records())
    state: State | None = None
    chained = []
    for month in MONTHS:
        step = evaluate(ruleset, [r for r in history_records() if r["period"] == month], state)
        state = State.from_json(step.state.to_json())  # through the serialised form
        chained.extend(step.decisions)
    # Each call numbers its own input rows, so the record's row is left out of the comparison.
    assert [d.model_dump_json(exclude={"row"}) for d in chained] == [
        d.model_dump_json(exclude={"row"}) for d in whole.decisions
    ]
    assert state is not None
    assert state.to_json() == whole.state.to_json()
    assert State.from_csv(whole.state.to_csv(), ruleset="mini").agents == whole.state.agents


def test_stated_level_that_disagrees_with_state_is_reported() -> None:
    """A record whose level disagrees with the carried state is noted; the state wins."""
    ruleset = build()
    first = evaluate(ruleset, [{"agent_id": "A", "period": "2026-01", "level": "L2", "qa": 75}])
    second = evaluate(ruleset, [{"agent_id": "A", "period": "2026-02", "level": "L3", "qa": 75}], first.state)
    assert second.decisions[0].level_before == "L2"
    assert "record states level L3, carried state says L2: the carried state is used" in second.decisions[0].notes


def test_period_already_evaluated_is_rejected() -> None:
    """A record for a period at or before the state's last one is rejected, not re-counted."""
    ruleset = build()
    first = evaluate(ruleset, [{"agent_id": "A", "period": "2026-02", "qa": 75}])
    again = evaluate(ruleset, [{"agent_id": "A", "period": "2026-01", "qa": 75}], first.state)
    assert again.rejections[0].reasons == ["period: 2026-01 is not after 2026-02, already evaluated for this agent"]


def test_review_months_hold_promotions_until_the_review() -> None:
    """With half-yearly reviews a qualifying agent waits for June."""
    ruleset = build(promotion={"consecutive_periods": 2, "review_months": [6, 12]})
    records = [{"agent_id": "A", "period": m, "level": "L1" if m == MONTHS[0] else "", "qa": 85} for m in MONTHS]
    outcome = evaluate(ruleset, records)
    assert [d.reason for d in outcome.decisions] == ["streak_short"] + ["not_review_period"] * 4 + ["promoted"]


def test_max_steps_allows_a_double_promotion() -> None:
    """With ``max_steps: 2`` an agent qualifying for L3 throughout moves L1 to L3 at once."""
    ruleset = build(promotion={"consecutive_periods": 2, "max_steps": 2})
    records = [{"agent_id": "A", "period": m, "level": "L1" if m == MONTHS[0] else "", "qa": 95} for m in MONTHS[:2]]
    decision = evaluate(ruleset, records).decisions[-1]
    assert (decision.action, decision.level) == ("promote", "L3")
    assert decision.why == "met the entry criteria of L3 (三星) for 2 consecutive periods (2 steps)"


def test_pay_effective_next_period_keeps_this_months_pay_level(stars) -> None:
    """The shipped ruleset pays a promotion from the next period: this month pays the old level."""
    outcome = evaluate(stars, read_records(stars, SAMPLE_H1))
    promoted = [d for d in outcome.decisions if d.action == "promote"]
    assert promoted
    assert all(d.pay is not None and d.pay.level == d.level_before for d in promoted)
    after = [outcome.decision(d.agent_id, _next(d.period)) for d in promoted if d.period < "2026-06"]
    assert all(d.pay is not None and d.pay.level == d.level_before for d in after)


def _next(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


qa_values = st.one_of(st.none(), st.integers(min_value=50, max_value=100))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.lists(qa_values, min_size=6, max_size=6), st.lists(st.integers(0, 3), min_size=6, max_size=6)),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=1, max_value=3),
)
def test_properties_of_the_ladder(agents, consecutive: int, max_steps: int) -> None:
    """Never more than max_steps at once, never without the streak, chained equals one-shot."""
    ruleset = build(promotion={"consecutive_periods": consecutive, "max_steps": max_steps, "min_periods_in_level": 0})
    records = []
    for n, (qas, incidents) in enumerate(agents):
        for month, qa, inc in zip(MONTHS, qas, incidents, strict=True):
            if qa is not None:
                records.append({"agent_id": f"A{n}", "period": month, "qa": qa, "incidents": inc})
    whole = evaluate(ruleset, records)
    ids = ["L1", "L2", "L3"]
    for d in whole.decisions:
        moved = ids.index(d.level) - ids.index(d.level_before)
        assert -1 <= moved <= max_steps
        if moved > 0:
            assert d.action == "promote"
        if moved < 0:
            assert d.action == "demote"
    # A promotion needs `consecutive` qualifying periods in a row for that agent.
    by_agent: dict[str, list[Any]] = {}
    for d in whole.decisions:
        by_agent.setdefault(d.agent_id, []).append(d)
    for decisions in by_agent.values():
        for i, d in enumerate(decisions):
            if d.action == "promote":
                run = decisions[max(0, i - consecutive + 1) : i + 1]
                assert len(run) == consecutive
                assert all(x.qualified_level != x.level_before or x is d for x in run)
    state = None
    chained = []
    for month in MONTHS:
        step = evaluate(ruleset, [r for r in records if r["period"] == month], state)
        state = step.state
        chained.extend(step.decisions)
    assert [d.model_dump(exclude={"row"}) for d in chained] == [d.model_dump(exclude={"row"}) for d in whole.decisions]
    backwards = evaluate(ruleset, list(reversed(records)))
    assert [d.model_dump(exclude={"row"}) for d in backwards.decisions] == [
        d.model_dump(exclude={"row"}) for d in whole.decisions
    ]
    assert (backwards.state, backwards.gaps, backwards.periods) == (whole.state, whole.gaps, whole.periods)


def test_no_guessed_levels_rejection_names_level_and_new_agents_note() -> None:
    """Finding 9 of issue 14: no level and no state is rejected naming `level`; declared new agents say so."""
    rejected = evaluate(
        load_ruleset(CASES / "no-guessed-levels.yaml"), [{"agent_id": "A", "period": "2026-02", "qa": 85}]
    )
    assert len(rejected.decisions) == 0
    (rejection,) = rejected.rejections
    assert rejection.reasons == [
        "level: missing; the agent has no carried state, so the record must state a level "
        "(or the ruleset declare new_agents.level)"
    ]
    started = evaluate(
        load_ruleset(CASES / "new-agents-declared.yaml"), [{"agent_id": "N", "period": "2026-01", "qa": 50}]
    )
    (decision,) = started.decisions
    assert decision.level_before == "L1"
    assert decision.notes == ["new agent: no stated level and no carried state; starts at L1 (new_agents.level)"]
