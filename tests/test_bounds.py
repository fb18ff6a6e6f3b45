"""Bounds on derived values' floats: never tighter than the exact value allows, zero only where the float is it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierpay.engine.bounds import compile_bounds, input_error
from tierpay.engine.kernels import Columns
from tierpay.engine.run import Evaluation
from tierpay.engine.scorecard import compute_scores
from tierpay.errors import EvaluationError
from tierpay.io.frames import read_frame
from tierpay.ruleset.expressions import compile_expression
from tierpay.ruleset.loading import load_ruleset

from .test_columnar import SYMBOLS

PLAIN = ["0", "1", "2", "3", "7", "14", "21", "90", "126", "1200"]
LITERALS = [*PLAIN, "0.1", "0.3", "0.35", "0.7", "2.5", "21.0"]
numbers = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["a", "b", "c", *LITERALS]),
        st.tuples(numbers, st.sampled_from(["+", "-", "*", "/"]), numbers).map(lambda x: f"({x[0]} {x[1]} {x[2]})"),
        numbers.map(lambda x: f"-{x}" if not x.startswith("-") else x),
        st.tuples(numbers, numbers).map(lambda x: f"(a > 0 and b > 0) ? {x[0]} : {x[1]}"),
    )
)
values = st.one_of(
    st.sampled_from([Decimal(v) for v in LITERALS]),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**6), max_value=10**6).map(Decimal),
)


def _floats_and_bounds(source: str, rows: list[dict[str, Any]]) -> tuple[Any, Any]:
    expression = compile_expression(source, SYMBOLS, "x", "number")
    bounded = compile_bounds(expression)
    assert bounded is not None
    cols = Columns(rows)
    names = ("a", "b", "c")
    plain = {n: np.array([str(r[n]) == str(int(r[n])) if r[n] == int(r[n]) else False for r in rows]) for n in names}

    def errors(name: str) -> Any:
        return input_error(cols[name], plain[name], cols.faithful[name])

    with np.errstate(all="ignore"):
        return expression, bounded(cols, errors)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(numbers, st.lists(st.fixed_dictionaries({"a": values, "b": values, "c": values}), min_size=1, max_size=20))
def test_the_exact_value_lies_within_the_bound(source: str, rows: list[dict[str, Any]]) -> None:
    """For any sum, product, quotient or choice of decimals, the exact value is within the bound of the float."""
    try:
        expression, (floats, bound) = _floats_and_bounds(source, rows)
    except Exception:  # a generated expression that does not type-check is not a case
        return
    for row, value, error in zip(rows, floats.tolist(), bound.tolist(), strict=True):
        try:
            exact = expression.evaluate(row)
        except EvaluationError:
            continue  # a division by zero: the kernel marks the row, the definition rejects it
        if not np.isfinite(error):
            continue
        assert abs(Decimal(value) - exact) <= Decimal(error), (source, row, value, exact, error)
        if error == 0:  # the float is the exact whole number, written as the definition writes it
            assert str(exact) == str(int(value)), (source, row, value, exact)


def test_a_full_month_at_full_time_is_exact_and_part_time_is_bounded() -> None:
    """The calendar's scaled volume: no leave and FTE 1 gives the calls themselves; 0.35 FTE a small bound."""
    rows = [
        {"a": Decimal(1200), "b": Decimal(21), "c": Decimal(1)},
        {"a": Decimal(126), "b": Decimal(14), "c": Decimal("0.35")},
    ]
    expression, (floats, bound) = _floats_and_bounds("(b > 0 and 21 > 0) ? a / (b / 21 * c) : a", rows)
    assert floats[0] == 1200
    assert bound[0] == 0
    assert 0 < bound[1] < 1e-9
    assert expression.evaluate(rows[1]) == Decimal("540.0000000000000000000000001")  # float64: 540.0
    assert floats[1] == 540.0


def test_a_decimal_whole_number_is_not_plain() -> None:
    """``21.0`` is 21 but is written ``21.0`` by the definition: bounded, never marked exact."""
    rows = [{"a": Decimal("21.0"), "b": Decimal(21), "c": Decimal(1)}]
    _, (floats, bound) = _floats_and_bounds("a - 0", rows)
    assert floats[0] == 21
    assert bound[0] > 0


CALENDAR = """\
tierpay: 1
name: scaled
version: "1"
effective_from: 2026-01-01
metrics:
  qa: {min: 0, max: 100}
  calls: {type: integer, min: 0}
  worked: {min: 0, max: 31}
  scheduled: {min: 0, max: 31}
  annual: {min: 0, max: 31, default: 0}
  fte: {min: 0.1, max: 1, default: 1}
attributes:
  team: {values: [T1, T2]}
scorecard:
  name: score
  scale: 100
  decimals: 2
  cohort_by: [team]
  min_volume: {metric: calls_full_time, at_least: 300}
  parts:
    - {metric: qa, weight: 0.5, rate: true, normalise: {method: linear, worst: 60, best: 100}}
    - {metric: calls_full_time, weight: 0.3, normalise: {method: linear, worst: 0, best: 1000}}
    - {metric: paid_days, weight: 0.2, normalise: {method: percentile}}
levels:
  - {id: L1, name: one}
  - {id: L2, name: two, entry: "calls_full_time >= 1000 and attended_days >= scheduled"}
calendar:
  worked: worked
  scheduled: scheduled
  leave:
    annual: {paid: full, attendance: true, volume: true}
  part_time: {fte: fte}
  volume: {calls: calls_full_time}
pay:
  proration: {worked: paid_days, scheduled: scheduled}
  lines:
    - {id: base, prorate: true, by_level: {L1: 3000, L2: 3500}}
"""


def _run(tmp_path: Any, lines: list[str]) -> tuple[Evaluation, Any]:
    path = tmp_path / "r.yaml"
    path.write_text(CALENDAR, encoding="utf-8")
    ruleset = load_ruleset(path)
    text = "agent_id,period,level,team,qa,calls,worked,scheduled,annual,fte\n" + "\n".join(lines) + "\n"
    frame = read_frame(ruleset, "r.csv", data=text.encode())
    evaluation = Evaluation(ruleset, keep=True)
    results = list(evaluation.feed(frame))
    return evaluation, results[0].run


def test_rows_without_a_calendar_effect_need_no_definition(tmp_path: Any) -> None:
    """Full-time agents with no leave: scored, ranked and leveled from floats, every score the definition's."""
    lines = [f"E{k:03d},2026-01,L1,T{k % 2 + 1},{60 + k % 40},{200 + 37 * k},21,21,0,1" for k in range(60)]
    evaluation, run = _run(tmp_path, lines)
    assert sum(c.exact_rows for c in evaluation.checks.values()) == 0
    assert run.score is not None
    assert run.score.exact is None
    _same_as_the_definition(run)


def test_scaled_volumes_keep_the_definitions_scores(tmp_path: Any) -> None:
    """Part time and leave: floats within their bounds decide, the rest goes exact; every score is the definition's."""
    lines = [
        f"E{k:03d},2026-01,L1,T{k % 2 + 1},{60 + k % 40},{100 + 29 * k},{21 - k % 8},21,{k % 8},{('1', '0.35', '0.7', '0.5')[k % 4]}"
        for k in range(80)
    ]
    _, run = _run(tmp_path, lines)
    assert run.score is not None
    assert run.score.exact is None
    _same_as_the_definition(run)


def _same_as_the_definition(run: Any) -> None:
    card = run.model.scorecard
    rows = [run.exact_row(i) for i in range(run.size)]
    expected = compute_scores(card, run.model.metrics, rows, [None] * run.size)
    assert [run.score.value(i) for i in range(run.size)] == [s.value for s in expected]
