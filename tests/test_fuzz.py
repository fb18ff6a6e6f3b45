"""Fuzzing with Hypothesis (derandomized, so CI runs the same examples every time).

- Arbitrary ruleset documents, as YAML text or as data shaped like a ruleset, raise nothing
  but ``TierpayError``.
- Arbitrary record sets leave every record decided or rejected exactly once.
- The same records in any order give byte-identical decisions and state.
- Arbitrary people's decisions are each applied once or refused once, with a reason.
- Any text or JSON document read as a carried state, and evaluated with, raises nothing but
  ``StateError``; the state a run writes is always read back and accepted by the same rules.
"""

from __future__ import annotations

import contextlib
import copy
import json
from decimal import Decimal
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierpay import State, StateError, TierpayError, evaluate, parse_ruleset
from tierpay.outputs.report import decisions_csv

from .conftest import MINI, build

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "tierpay", "name", "version", "effective_from", "metrics", "attributes", "derived", "levels", "promotion",
    "demotion", "probation", "review", "pay", "scorecard", "grades", "id", "entry", "maintain", "when", "min",
    "max", "type", "values", "lines", "amount", "by_level", "weight", "metric", "normalise", "method", "tests",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["qa >= 80", "qa ** 99", "L1", "2026-01-01", "number", "integer", "linear", "(", "qa >"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=25,
)


@FUZZ
@given(st.text(max_size=400))
def test_any_text_raises_only_tierpay_errors(text: str) -> None:
    """Any text at all either loads or raises a TierpayError."""
    with contextlib.suppress(TierpayError):
        parse_ruleset(text, file="fuzz.yaml")


@FUZZ
@given(documents)
def test_any_document_raises_only_tierpay_errors(document: Any) -> None:
    """Any YAML document either loads or raises a TierpayError."""
    with contextlib.suppress(TierpayError):
        parse_ruleset(yaml.safe_dump(document, allow_unicode=True), file="fuzz.yaml")


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(MINI)), documents, max_size=4))
def test_mutated_rulesets_raise_only_tierpay_errors(changes: dict[str, Any]) -> None:
    """The mini ruleset with sections replaced by arbitrary data loads or raises a TierpayError."""
    data = copy.deepcopy(MINI)
    data.update(changes)
    with contextlib.suppress(TierpayError):
        parse_ruleset(yaml.safe_dump(data, allow_unicode=True), file="fuzz.yaml")


cells = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.integers(-5, 120),
    st.decimals(allow_nan=True, allow_infinity=True, places=2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(
        ["85%", "1,000", "８５", "NaN", "inf", "L1", "L2", "L9", "probation", "regular", "2026-01", "2026-13"]
    ),
)
records = st.lists(
    st.fixed_dictionaries(
        {
            "agent_id": st.one_of(st.sampled_from(["A", "B", "C", "D", ""]), cells),
            "period": st.one_of(st.sampled_from(["2026-01", "2026-02", "2026-03"]), cells),
        },
        optional={"level": cells, "qa": cells, "incidents": cells, "status": cells, "team": cells, "extra": cells},
    ),
    max_size=25,
)


@FUZZ
@given(records)
def test_every_record_is_decided_or_rejected_exactly_once(rows: list[dict[str, Any]]) -> None:
    """Whatever the records, each appears once: decided or rejected."""
    outcome = evaluate(build(), rows)
    seen = sorted([d.row for d in outcome.decisions] + [r.row for r in outcome.rejections])
    assert seen == list(range(1, len(rows) + 1))


@FUZZ
@given(records, st.randoms(use_true_random=False))
def test_record_order_does_not_change_the_output(rows: list[dict[str, Any]], rng: Any) -> None:
    """Shuffled records give byte-identical decisions and state."""
    ruleset = build()
    shuffled = list(rows)
    rng.shuffle(shuffled)
    first, second = evaluate(ruleset, rows), evaluate(ruleset, shuffled)
    assert decisions_csv(first) == decisions_csv(second)
    assert first.state.to_json() == second.state.to_json()
    assert sorted(r.reasons[0] for r in first.rejections) == sorted(r.reasons[0] for r in second.rejections)


def _decided_ruleset() -> Any:
    """The mini ruleset with grades and a review, so that every kind of people's decision can apply."""
    data = copy.deepcopy(MINI)
    data["grades"] = [{"grade": "A", "when": "qa >= 90"}, {"grade": "B"}]
    data["review"] = {"rank_by": "qa", "bottom_count": 1, "min_cohort_size": 2}
    return build(data)


DECIDED = _decided_ruleset()
people_decisions = st.lists(
    st.fixed_dictionaries(
        {
            "agent_id": st.one_of(st.sampled_from(["A", "B", "C", "D"]), cells),
            "period": st.one_of(st.sampled_from(["2026-01", "2026-02", "2026-03"]), cells),
            "decision": st.one_of(
                st.sampled_from(
                    ["convert", "extend_probation", "set_level", "set_grade", "clear_review", "exempt_review"]
                ),
                cells,
            ),
            "by": st.one_of(st.just("王敏"), cells),
            "reason": st.one_of(st.just("calibration"), cells),
        },
        optional={
            "value": st.one_of(st.sampled_from(["L1", "L2", "L3", "L9", "A", "Z", "1", "2", "6", "7"]), cells),
            "at": st.one_of(st.sampled_from(["2026-02-10", "2026-02-10T09:30:00+08:00"]), cells),
        },
    ),
    max_size=8,
)


@FUZZ
@given(records, people_decisions)
def test_every_people_decision_is_applied_or_refused_exactly_once(
    rows: list[dict[str, Any]], decisions: list[dict[str, Any]]
) -> None:
    """Whatever the records and decisions: each decision applies to one agent-period or is refused, with why."""
    outcome = evaluate(DECIDED, rows, decisions=decisions)
    applied = sorted(h.row for d in outcome.decisions for h in d.decided)
    refused = sorted(r.row for r in outcome.refused)
    assert sorted(applied + refused) == list(range(1, len(decisions) + 1))
    assert all(r.reasons for r in outcome.refused)
    assert State.from_json(outcome.state.to_json()) == outcome.state


STATE_KEYS = [
    "tierpay_state", "ruleset", "ruleset_version", "ruleset_sha256", "through", "agents", "agent_id", "level",
    "last_period", "periods_in_level", "promote_streak", "streak_level", "maintain_fail_streak", "on_probation",
    "probation_periods", "review_streak", "review_stage", "deductions_due", "loss",
]  # fmt: skip
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(["L1", "L2", "L3", "L9", "2026-01", "2026-13", "coaching", "890.00", "-1", "true", "mini"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(STATE_KEYS), children, max_size=6)
    ),
    max_leaves=30,
)
REVIEWED = build(
    review={
        "rank_by": "qa",
        "bottom_count": 1,
        "min_cohort_size": 2,
        "escalation": {
            "on_clear": "step_down",
            "stages": [{"code": "coaching", "after": 1}, {"code": "plan", "after": 2}],
        },
    }
)


def _decimal(low: str, high: str, places: int) -> st.SearchStrategy[str]:
    """Decimals from ``low`` to ``high`` with ``places`` places, the bounds themselves often, as text."""
    bounds = st.sampled_from([low, high, "0"] if Decimal(low) <= 0 <= Decimal(high) else [low, high])
    inside = st.decimals(min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False)
    return st.one_of(bounds, inside).map(str)


amounts = _decimal("-1000000000000", "1000000000000", 4)
coefficients = _decimal("0", "10", 4)
bars = _decimal("-1000000000000000", "1000000000000000", 10)
normalisations = st.one_of(
    st.tuples(bars, bars)
    .filter(lambda p: Decimal(p[0]) != Decimal(p[1]))
    .map(lambda p: {"method": "linear", "worst": p[0], "best": p[1]}),
    st.tuples(_decimal("0.0000000001", "1000000000000000", 10), _decimal("0.0000000001", "10", 10)).map(
        lambda p: {"method": "ratio", "target": p[0], "cap": p[1]}
    ),
    _decimal("0.0000000001", "10", 10).map(lambda c: {"method": "zscore", "clip": c}),
    st.just({"method": "percentile"}),
)


@st.composite
def rulesets_at_their_bounds(draw: st.DrawFn) -> dict[str, Any]:
    """A ruleset whose every number is drawn up to its bound: the worst case validate lets through."""
    weight = draw(_decimal("0.0001", "0.9999", 4))
    scorecard = {
        "scale": draw(_decimal("0.0001", "1000", 4)),
        "decimals": draw(st.integers(0, 6)),
        "parts": [
            {"metric": "qa", "weight": weight, "normalise": draw(normalisations)},
            {"metric": "calls", "weight": str(1 - Decimal(weight)), "normalise": draw(normalisations)},
        ],
        "vetoes": [{"code": "zero", "when": "calls == 0", "score": "0"}],
    }
    lines = [
        {"id": "fixed", "amount": draw(amounts), "times_coefficient": draw(st.booleans()), "prorate": True},
        {"id": "table", "by_level": {"L1": draw(amounts), "L2": draw(amounts)}, "times_coefficient": True},
        {
            "id": "formula",
            "formula": f"qa * {draw(st.sampled_from(['1', '0.0001', '1000000000000', '99999999999.9999']))}",
        },
    ]
    lines += [
        {"id": f"extra{i}", "amount": draw(amounts), "times_coefficient": True} for i in range(draw(st.integers(0, 20)))
    ]
    points = sorted({Decimal(draw(bars)) for _ in range(3)} | {Decimal(0), Decimal(10) ** 15})
    curve = {"of": "qa", "points": [[str(x), draw(coefficients)] for x in points]}
    return {
        **MINI,
        "metrics": {
            "qa": {"min": "-1000000000000000", "max": "1000000000000000"},
            "calls": {"type": "integer", "min": 0},
            "worked": {"min": 0},
            "scheduled": {"min": "0.0000000001"},
            "loss": {"min": 0, "default": 0},
        },
        "levels": [{"id": "L1", "name": "a"}, {"id": "L2", "name": "b", "entry": "calls == 0 or qa / calls > 0.05"}],
        "promotion": {},
        "demotion": {},
        "probation": None,
        "attributes": {"team": {"default": "T1"}},
        "scorecard": scorecard,
        "grades": [
            {"grade": "A", "when": "score >= 0", "coefficient": draw(coefficients)},
            {"grade": "B", "coefficient": draw(coefficients)},
        ],
        "pay": {
            "rounding": {
                "quantum": draw(st.sampled_from(["0.0001", "0.001", "0.01", "0.1", "1", "10", "100", "1000"])),
                "mode": draw(st.sampled_from(["half_up", "half_even", "up", "down"])),
                "stage": draw(st.sampled_from(["line", "total"])),
            },
            "proration": {"worked": "worked", "scheduled": "scheduled"},
            "coefficient": draw(st.sampled_from([{"source": "grade"}, {"source": "curve", "curve": curve}])),
            "lines": lines,
            "deductions": [{"id": "loss", "metric": "loss"}],
            "floors": {"deduction_cap_percent": draw(_decimal("0", "20", 4))},
        },
    }


extreme_values = st.one_of(
    _decimal("-1000000000000000", "1000000000000000", 10),
    st.sampled_from(["1e300", "-1e300", "1e-300", "0", "0.0000000001"]),
)


@FUZZ
@given(json_values)
def test_any_json_state_raises_only_state_errors(document: Any) -> None:
    """Any JSON document read as a state and evaluated with is used or refused with a StateError."""
    with contextlib.suppress(StateError):
        evaluate(REVIEWED, [], State.from_json(json.dumps(document), "fuzz.json"))


@FUZZ
@given(st.text(max_size=300))
def test_any_text_state_raises_only_state_errors(text: str) -> None:
    """Any text read as a JSON or CSV state, and evaluated with, is used or refused with a StateError."""
    for read in (State.from_json, State.from_csv):
        with contextlib.suppress(StateError):
            evaluate(REVIEWED, [], read(text, "fuzz"))


@FUZZ
@given(records)
def test_the_state_written_is_accepted_back(rows: list[dict[str, Any]]) -> None:
    """Month by month through JSON and CSV, every state a run writes is accepted, and ends as one run's."""
    months = ["2026-01", "2026-02", "2026-03"]
    state = None
    for month in months:
        step = evaluate(REVIEWED, [r for r in rows if r.get("period") == month], state)
        text = step.state.to_csv() if month == "2026-02" else step.state.to_json()
        state = State.from_csv(text) if month == "2026-02" else State.from_json(text)
    assert state is not None
    assert state.agents == evaluate(REVIEWED, [r for r in rows if r.get("period") in months]).state.agents


@FUZZ
@given(
    rulesets_at_their_bounds(),
    st.lists(st.tuples(extreme_values, st.integers(0, 10**9), extreme_values), min_size=1, max_size=6),
)
def test_a_ruleset_that_validates_evaluates_without_a_crash(data: dict[str, Any], rows: list[Any]) -> None:
    """Every number at its bound, records at extremes: each record is decided or rejected, and explained."""
    from tierpay.outputs.explain import explain

    ruleset = parse_ruleset(yaml.safe_dump(data, allow_unicode=True), file="bounds.yaml")
    records = [
        {
            "agent_id": f"A{i}",
            "period": "2026-01",
            "level": "L1",
            "qa": qa,
            "calls": calls,
            "worked": worked,
            "scheduled": "1",
            "loss": "1e300" if i == 0 else "0",
        }
        for i, (qa, calls, worked) in enumerate(rows)
    ]
    outcome = evaluate(ruleset, records)
    seen = sorted([d.row for d in outcome.decisions] + [r.row for r in outcome.rejections])
    assert seen == list(range(1, len(records) + 1))
    for decision in outcome.decisions:
        explain(decision, ruleset)
        assert decision.pay is not None
        assert sum(line.amount for line in decision.pay.lines) == decision.pay.total


def _laddered_ruleset() -> Any:
    """The mini ruleset as two ladders chosen by ``role``: agents L1-L3 as before, inspectors Q1-Q2 ranked apart."""
    data = copy.deepcopy(MINI)
    levels = data.pop("levels")
    data.pop("new_agents")
    data["attributes"]["role"] = {"values": ["agent", "qa"], "default": "agent"}
    data["grades"] = [{"grade": "A", "when": "qa >= 90"}, {"grade": "B"}]
    data["ladder_by"] = "role"
    data["ladders"] = {
        "agent": {
            "levels": levels,
            "new_agents": {"level": "L1"},
            "review": {"rank_by": "qa", "bottom_count": 1, "min_cohort_size": 2},
            "nominate": [{"to": "qa", "when": "level == 'L3' and periods_in_level >= 1"}],
        },
        "qa": {
            "levels": [{"id": "Q1", "name": "one"}, {"id": "Q2", "name": "two", "entry": "qa >= 85"}],
            "new_agents": {"level": "Q1"},
            "promotion": {"consecutive_periods": 1},
            "review": {"rank_by": "qa", "bottom_count": 1, "min_cohort_size": 2},
        },
    }
    return build(data)


LADDERED = _laddered_ruleset()
laddered_records = st.lists(
    st.fixed_dictionaries(
        {
            "agent_id": st.sampled_from(["A", "B", "C", "D"]),
            "period": st.sampled_from(["2026-01", "2026-02", "2026-03"]),
            "role": st.one_of(st.sampled_from(["agent", "qa"]), cells),
            "qa": st.one_of(st.integers(0, 100), cells),
        },
        optional={"level": st.one_of(st.sampled_from(["L1", "L2", "L3", "Q1", "Q2"]), cells)},
    ),
    max_size=20,
)
ladder_moves = st.lists(
    st.fixed_dictionaries(
        {
            "agent_id": st.sampled_from(["A", "B", "C", "D"]),
            "period": st.sampled_from(["2026-01", "2026-02", "2026-03"]),
            "decision": st.sampled_from(["set_ladder", "set_level", "clear_review"]),
            "by": st.just("王敏"),
            "reason": st.just("calibration"),
        },
        optional={"value": st.sampled_from(["qa:Q1", "qa:Q2", "agent:L2", "qa:L1", "trainer:T1", "Q1", "L2"])},
    ),
    max_size=6,
)


@FUZZ
@given(laddered_records, ladder_moves)
def test_with_ladders_every_record_and_decision_is_accounted_for_once(
    rows: list[dict[str, Any]], decisions: list[dict[str, Any]]
) -> None:
    """Two ladders: each record decided or rejected once, each decision applied or refused once, order irrelevant.

    And the decisions month by month, chained through the state, are those of the whole run.
    """
    outcome = evaluate(LADDERED, rows, decisions=decisions)
    seen = sorted([d.row for d in outcome.decisions] + [r.row for r in outcome.rejections if r not in outcome.refused])
    assert seen == list(range(1, len(rows) + 1))
    applied = sorted(h.row for d in outcome.decisions for h in d.decided)
    assert sorted(applied + [r.row for r in outcome.refused]) == list(range(1, len(decisions) + 1))
    assert all(d.ladder in ("agent", "qa") for d in outcome.decisions)
    assert all(d.level in LADDERED.ladders[str(d.ladder)].level_ids for d in outcome.decisions)
    assert decisions_csv(evaluate(LADDERED, list(reversed(rows)), decisions=decisions)) == decisions_csv(outcome)
    state, texts = None, []
    for month in ("2026-01", "2026-02", "2026-03"):
        mine = [r for r in rows if r["period"] == month]
        if not mine:
            continue
        one = evaluate(LADDERED, mine, state, decisions=[d for d in decisions if d["period"] == month])
        texts.append(one.csv(header=not texts))
        state = State.from_json(one.state.to_json())
    whole = outcome.csv()
    assert "".join(texts) == (whole if texts else "")
