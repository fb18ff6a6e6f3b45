"""Fuzzing with Hypothesis (derandomized, so CI runs the same examples every time).

- Arbitrary ruleset documents, as YAML text or as data shaped like a ruleset, raise nothing
  but ``TierpayError``.
- Arbitrary record sets leave every record decided or rejected exactly once.
- The same records in any order give byte-identical decisions and state.
- Any text or JSON document read as a carried state, and evaluated with, raises nothing but
  ``StateError``; the state a run writes is always read back and accepted by the same rules.
"""

from __future__ import annotations

import contextlib
import copy
import json
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
