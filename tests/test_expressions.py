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


def test_trace_follows_the_guard_of_an_or() -> None:
    """``calls == 0 or qa / calls > 0.05`` with no calls: the trace holds, as evaluation does, without dividing."""
    expr = compile_expression("calls == 0 or qa / calls > 0.05", SYMBOLS, "x", "boolean")
    values = {"qa": Decimal(3), "calls": Decimal(0)}
    assert expr.evaluate(values) is True
    trace = expr.trace(values)
    assert trace.held is True
    first, second = trace.children
    assert (first.text, first.held, first.reached) == ("calls == 0", True, True)
    assert (second.text, second.value, second.reached) == ("(qa / calls) > 0.05", None, False)
    assert second.error == "arithmetic error: division by zero"


def test_trace_of_an_and_stops_deciding_at_the_first_miss_but_shows_the_rest() -> None:
    """After the part that decides an ``and``, parts that can be evaluated are still shown, marked unreached."""
    expr = compile_expression("calls > 0 and qa / calls > 0.05 and qa > 1", SYMBOLS, "x", "boolean")
    trace = expr.trace({"qa": Decimal(3), "calls": Decimal(0)})
    assert trace.held is False
    assert [(c.text, c.value, c.reached) for c in trace.children] == [
        ("calls > 0", False, True),
        ("(qa / calls) > 0.05", None, False),
        ("qa > 1", True, False),
    ]


def test_evaluation_and_trace_ignore_the_callers_decimal_context() -> None:
    """A caller's two-digit context changes nothing: expressions run in their own."""
    import decimal

    expr = compile_expression("qa * calls", SYMBOLS, "x", "number")
    with decimal.localcontext(decimal.Context(prec=2, traps=[decimal.Inexact])):
        assert expr.evaluate({"qa": Decimal("123.45"), "calls": Decimal(1000)}) == Decimal("123450.00")
        assert expr.trace({"qa": Decimal("123.45"), "calls": Decimal(1000)}).value == Decimal("123450.00")


@pytest.mark.parametrize(
    ("source", "message", "offset"),
    [
        ("qa ≥ 80", "`≥` is not an operator here: write `>=`", 3),
        ("qa ≤ 80", "`≤` is not an operator here: write `<=`", 3),
        ("qa ≠ 80", "`≠` is not an operator here: write `!=`", 3),
        ("qa ＝ 80", "`＝` is not an operator here: write `==`", 3),
        ("qa = 80", "`=` does not compare: write `==`", 3),
        ("qa <> 80", "`<>` is not an operator here: write `!=`", 3),
        ("qa > 1 && calls > 1", "`&&` is not an operator here: write `and`", 7),
        ("qa > 1 || calls > 1", "`||` is not an operator here: write `or`", 7),
        ("!flag", "`!` is not an operator here: write `not` (`not flag`)", 0),
        ("team == “A”", "`“` is a typographic quote: put text between straight quotes ('A')", 8),
        ("team == ‘A’", "`‘` is a typographic quote: put text between straight quotes ('A')", 8),
        ("qa >= ８0", "`８` is a full-width character: write `8`", 6),
        ("（qa > 1)", "`（` is a full-width character: write `(`", 0),
        (
            "qa > 1，calls > 1",
            "`，` is a Chinese comma: write `,` between the items of a list, `and` between conditions",
            6,
        ),
        ("qa > 1 AND flag", "`AND`: write `and`, in lower case", 7),
        ("qa > 1 Or flag", "`Or`: write `or`, in lower case", 7),
        ("NOT flag", "`NOT`: write `not`, in lower case", 0),
        ("flag == TRUE", "`TRUE`: write `true`, in lower case", 8),
        ("qa\u3000> 1", "a full-width or non-breaking space: use an ordinary space", 2),
        (
            "质检 > 1",
            "`质` can only be inside quotes: names and operators are written in ASCII ('text' goes in quotes)",
            0,
        ),
    ],
)
def test_habits_from_elsewhere_get_what_to_write(source: str, message: str, offset: int) -> None:
    """A slip from another language or a Chinese keyboard names what to write, at its character."""
    with pytest.raises(ExpressionProblem) as caught:
        compile_expression(source, SYMBOLS, "x", "boolean")
    assert (caught.value.message, caught.value.offset) == (message, offset)


@pytest.mark.parametrize(
    "source",
    ["team == 'a = b! && “c”' and qa != 1", "qa >= 1 and qa <= 2 and not flag", "team == '质检，优秀'", "qa > 1e5"],
)
def test_text_inside_quotes_and_real_operators_are_left_alone(source: str) -> None:
    """Quoted text may hold anything, and the real operators compile."""
    assert compile_expression(source, SYMBOLS, "x", "boolean").result_type == "boolean"


def test_the_shipped_parse_tables_are_rule_engines() -> None:
    """The parse tables tierpay ships are those ply makes for the installed rule-engine's grammar, and are used."""
    import sys

    from tierpay.ruleset.parse_tables import SHIPPED, TABLES, tables_text

    assert SHIPPED.read_text(encoding="utf-8") == tables_text(), "run: python -m tierpay.ruleset.parse_tables"
    assert sys.modules[TABLES].__name__ == "tierpay.ruleset._rule_engine_tables"
