"""Expressions: compiled once against typed symbols, traced clause by clause."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tierpay.errors import EvaluationError
from tierpay.ruleset.expressions import ExpressionProblem, compile_expression, format_value

SYMBOLS = {"qa": "number", "calls": "number", "team": "string", "flag": "boolean"}


def test_compiled_expression_reports_symbols_and_type() -> None:
    """A compiled expression knows the names it uses and the type it gives."""
    expr = compile_expression("qa >= 80 and team in ['A', 'B']", SYMBOLS, "x", "boolean")
    assert expr.symbols == {"qa", "team"}
    assert expr.result_type == "boolean"
    assert expr.evaluate({"qa": Decimal(85), "team": "A"}) is True


def test_decimal_arithmetic_is_exact() -> None:
    """Arithmetic happens in Decimal: 0.1 + 0.2 is 0.3."""
    expr = compile_expression("qa + 0.2", SYMBOLS, "x", "number")
    assert expr.evaluate({"qa": Decimal("0.1")}) == Decimal("0.3")


def test_division_by_zero_is_an_evaluation_error_naming_the_field() -> None:
    """A failing evaluation says where and in which expression."""
    expr = compile_expression("qa / calls", SYMBOLS, "derived.rate.expr", "number")
    with pytest.raises(EvaluationError) as caught:
        expr.evaluate({"qa": Decimal(1), "calls": Decimal(0)})
    assert str(caught.value) == "derived.rate.expr: arithmetic error: division by zero in `qa / calls`"


def test_trace_keeps_each_clause_with_its_values() -> None:
    """A trace splits `and` into clauses and keeps both sides of each comparison."""
    expr = compile_expression("qa >= 85 and calls > 1000 and not flag", SYMBOLS, "x", "boolean")
    trace = expr.trace({"qa": Decimal(82), "calls": Decimal(1200), "flag": False})
    assert trace.held is False
    assert [(c.text, c.held) for c in trace.children] == [
        ("qa >= 85", False),
        ("calls > 1000", True),
        ("not flag", True),
    ]
    first = trace.children[0]
    assert (first.left, first.op, first.right) == (("qa", Decimal(82)), ">=", ("85", Decimal(85)))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "expression is empty"),
        ("qa > " + "(" * 40 + "1" + ")" * 40, "brackets nested deeper than 32"),
        (" and ".join(["qa > 1"] * 130), "more than 120 `and`/`or` clauses"),
        ("qa > 1" + "0" * 30, "number literal longer than 24 characters"),
        ("qa.real > 1", "attribute access (`.name`) is not allowed"),
        ("qa > 1 # note", "comments are not allowed inside an expression (use YAML comments)"),
        ("{'a': 1} == {'a': 1}", "mappings and sets are not allowed"),
    ],
)
def test_precheck_refuses_what_could_hang_or_escape(source: str, message: str) -> None:
    """Size limits and an allow-list of tokens apply before rule-engine builds anything."""
    with pytest.raises(ExpressionProblem) as caught:
        compile_expression(source, SYMBOLS, "x")
    assert caught.value.message == message


def test_format_value_shows_literals() -> None:
    """Values render as expression literals do."""
    assert format_value(Decimal("85.50")) == "85.5"
    assert format_value("A") == "'A'"
    assert format_value(True) == "true"
