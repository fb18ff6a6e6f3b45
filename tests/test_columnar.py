"""The fast path gives the reference path's answers: a differential test with Hypothesis."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierpay.engine.kernels import compile_check
from tierpay.errors import EvaluationError
from tierpay.ruleset.expressions import compile_expression

SYMBOLS = {"a": "number", "b": "number", "c": "number", "t": "string", "f": "boolean"}
LITERALS = ["0", "1", "2", "0.1", "0.2", "0.3", "80", "85", "84.99", "100", "2.5", "3"]

numbers = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["a", "b", "c", *LITERALS]),
        st.tuples(numbers, st.sampled_from(["+", "-", "*", "/", "//", "%"]), numbers).map(
            lambda x: f"({x[0]} {x[1]} {x[2]})"
        ),
        numbers.map(lambda x: f"-{x}" if not x.startswith("-") else x),
    )
)
booleans = st.deferred(
    lambda: st.one_of(
        st.tuples(numbers, st.sampled_from([">=", ">", "<=", "<", "==", "!="]), numbers).map(
            lambda x: f"{x[0]} {x[1]} {x[2]}"
        ),
        st.sampled_from(["t == 'x'", "t != 'y'", "t in ['x', 'z']", "f", "a in [0.3, 80, 85]"]),
        booleans.map(lambda x: f"not ({x})"),
        st.tuples(booleans, st.sampled_from(["and", "or"]), booleans).map(lambda x: f"({x[0]}) {x[1]} ({x[2]})"),
        st.tuples(booleans, booleans, booleans).map(lambda x: f"({x[0]}) ? ({x[1]}) : ({x[2]})"),
    )
)
values = st.one_of(
    st.sampled_from([Decimal(v) for v in LITERALS]),
    st.sampled_from([Decimal("0.1") + Decimal("0.2"), Decimal("84.999999999"), Decimal("85.000000001"), Decimal("-1")]),
    # More than 15 significant digits: float64 cannot tell these from 85 and 0.3.
    st.sampled_from(
        [Decimal("85.00000000000000001"), Decimal("84.99999999999999999"), Decimal("0.30000000000000000001")]
    ),
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
)
rows = st.lists(
    st.fixed_dictionaries(
        {"a": values, "b": values, "c": values, "t": st.sampled_from(["x", "y", "z"]), "f": st.booleans()}
    ),
    min_size=1,
    max_size=40,
)


def reference(expression: Any, data: list[dict[str, Any]]) -> list[bool] | None:
    """rule-engine's answers, or None when any row fails."""
    try:
        return [bool(v) for v in expression.evaluate_many(data)]
    except EvaluationError:
        return None


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(booleans, rows)
def test_fast_path_equals_reference(source: str, data: list[dict[str, Any]]) -> None:
    """For any criterion and any records (with ties and exact decimals), the answers are the same."""
    try:
        expression = compile_expression(source, SYMBOLS, "x", "boolean")
    except Exception:  # a generated expression that does not type-check is not a case
        return
    check = compile_check(expression)
    expected = reference(expression, data)
    try:
        got: list[bool] | None = check.evaluate(data)
    except EvaluationError:
        got = None
    assert got == expected


def test_long_decimals_are_not_trusted_to_floats() -> None:
    """A value with more than 15 digits that float64 rounds onto the bar is decided exactly."""
    check = compile_check(compile_expression("a > 85", SYMBOLS, "x", "boolean"))
    data = [{"a": Decimal("85.00000000000000001"), "b": Decimal(0), "c": Decimal(0), "t": "x", "f": True}]
    assert check.evaluate(data) == [True]
    assert check.exact_rows == 1


def test_short_decimals_need_no_exact_evaluation_even_when_equal() -> None:
    """Equal decimals of at most 15 digits compare exactly in float64: no fallback needed."""
    check = compile_check(compile_expression("a >= 85 and b == 0", SYMBOLS, "x", "boolean"))
    data = [{"a": Decimal("85"), "b": Decimal("0"), "c": Decimal(0), "t": "x", "f": True}] * 50
    assert check.evaluate(data) == [True] * 50
    assert check.exact_rows == 0


def test_boundary_values_are_decided_exactly() -> None:
    """0.1 + 0.2 == 0.3 holds, as on the reference path, though float64 says otherwise."""
    check = compile_check(compile_expression("a + b == c", SYMBOLS, "x", "boolean"))
    assert check.kernel is not None
    data = [{"a": Decimal("0.1"), "b": Decimal("0.2"), "c": Decimal("0.3"), "t": "x", "f": True}]
    assert check.evaluate(data) == [True]
    assert check.exact_rows == 1


@pytest.mark.parametrize("source", ["a >= 80 and t in ['x', 'y']", "not f or (a - b) / 2 > c"])
def test_clear_rows_need_no_exact_evaluation(source: str) -> None:
    """Rows far from any boundary are decided by the columns alone."""
    check = compile_check(compile_expression(source, SYMBOLS, "x", "boolean"))
    data = [{"a": Decimal(90), "b": Decimal(10), "c": Decimal(1), "t": "x", "f": True}] * 100
    assert check.evaluate(data) == [True] * 100
    assert check.exact_rows == 0


def test_a_number_valued_expression_stays_on_the_reference_path() -> None:
    """Only criteria take the columnar path; values that become money stay exact."""
    check = compile_check(compile_expression("a * 2", SYMBOLS, "x", "number"))
    assert check.kernel is None
    assert check.fallback == "not a true/false criterion"
