"""Kernels: criteria and derived values compiled once into numpy operations over whole columns.

A compiled expression's syntax tree (plain data, from ``CompiledExpression.tree``) becomes a
function over columns of a period's records. Numbers are float64 there, which is not how a
ruleset counts (exact decimals, as rule-engine evaluates them), so every numeric comparison
whose two sides are closer than a relative 1e-9, and every row where arithmetic left the
finite numbers, is marked *uncertain* and re-evaluated exactly by rule-engine. The answer is
therefore always the exact answer; the floats only decide the clear-cut rows, which are
nearly all of them. Expressions the compiler does not handle are evaluated by rule-engine
for every row, visibly (``FastCheck.fallback`` says why).

True/false criteria (``compile_check``) and derived values (``compile_values``) take this
path. A derived value's floats serve later comparisons, which treat them as inexact except
in the rows ``Columns.exact`` marks (where :mod:`tierpay.engine.bounds` shows the float is the
exact integer); wherever a value must be exact otherwise (pay formulas, money, a review key),
it is evaluated by rule-engine from the exact record values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from tierpay.ruleset.expressions import CompiledExpression, Node

TOLERANCE = 1e-9

Array = npt.NDArray[Any]
Kernel = Callable[["Columns"], tuple[Array, Array]]  # values, uncertain


class Unsupported(Exception):
    """The expression uses something the columnar compiler does not handle."""


class Columns:
    """A period's values as columns, converted once per name and cached."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows = rows
        self.size = len(rows)
        self._cache: dict[str, Array] = {}
        self.faithful: dict[str, bool] = {}
        self.exact: dict[str, npt.NDArray[np.bool_]] = {}
        """Per row, where a column that is not faithful as a whole holds the exact value (a derived value)."""

    def put(self, name: str, column: Array, faithful: bool = False, exact: npt.NDArray[np.bool_] | None = None) -> None:
        """Give a column ready-made (the columnar pipeline builds its columns from frames).

        ``exact`` marks the rows whose float is the exact value when the column is not faithful throughout.
        """
        self._cache[name] = column
        self.faithful[name] = faithful
        if exact is not None:
            self.exact[name] = exact
        else:
            self.exact.pop(name, None)

    def __contains__(self, name: str) -> bool:
        return name in self._cache

    def __getitem__(self, name: str) -> Array:
        column = self._cache.get(name)
        if column is None:
            values = [row[name] for row in self.rows]
            first = values[0] if values else None
            if isinstance(first, bool):
                column = np.fromiter(values, dtype=bool, count=self.size)
            elif isinstance(first, str):
                column = np.array(values, dtype=object)
            else:
                column = np.fromiter((float(v) for v in values), dtype=np.float64, count=self.size)
                self.faithful[name] = all(_faithful(v) for v in values)
            self._cache[name] = column
        return column


def _faithful(value: Any) -> bool:
    """Whether float64 keeps this decimal's order and equality exactly.

    True for decimals written in at most 15 characters with no exponent (so at most 15
    significant digits, well inside the float range); anything else is reported unfaithful,
    which only means its comparisons take the guarded path.
    """
    if not isinstance(value, Decimal):
        return False
    text = str(value)
    return len(text) <= 15 and text[-1].isdigit() and "E" not in text


def _compile(node: Node) -> tuple[str, Kernel]:
    """A kernel for ``node`` and the kind of value it gives: number, text or boolean."""
    kind = node[0]
    if kind == "sym":
        name = node[1]

        def symbol(cols: Columns) -> tuple[Array, Array]:
            column = cols[name]
            return column, np.zeros(cols.size, dtype=bool)

        return "any", symbol
    if kind in ("num", "str", "bool"):
        value = float(node[1]) if kind == "num" else node[1]
        dtype: Any = np.float64 if kind == "num" else (object if kind == "str" else bool)

        def literal(cols: Columns) -> tuple[Array, Array]:
            return np.full(cols.size, value, dtype=dtype), np.zeros(cols.size, dtype=bool)

        return {"num": "number", "str": "text", "bool": "boolean"}[kind], literal
    if kind in ("and", "or"):
        _, left = _compile(node[1])
        _, right = _compile(node[2])
        combine = np.logical_and if kind == "and" else np.logical_or

        def logic(cols: Columns) -> tuple[Array, Array]:
            lv, lu = left(cols)
            rv, ru = right(cols)
            return combine(lv.astype(bool), rv.astype(bool)), lu | ru

        return "boolean", logic
    if kind == "not":
        _, inner = _compile(node[1])

        def negate(cols: Columns) -> tuple[Array, Array]:
            v, u = inner(cols)
            return ~v.astype(bool), u

        return "boolean", negate
    if kind == "cmp":
        return "boolean", _comparison(node[1], node[2], node[3])
    if kind == "arith":
        return "number", _arithmetic(node[1], node[2], node[3])
    if kind == "neg":
        _, inner = _compile(node[1])

        def minus(cols: Columns) -> tuple[Array, Array]:
            v, u = inner(cols)
            return -v, u

        return "number", minus
    if kind == "if":
        _, cond = _compile(node[1])
        kind_a, then = _compile(node[2])
        _, other = _compile(node[3])

        def choose(cols: Columns) -> tuple[Array, Array]:
            cv, cu = cond(cols)
            tv, tu = then(cols)
            ov, ou = other(cols)
            return np.where(cv.astype(bool), tv, ov), cu | tu | ou

        return kind_a, choose
    if kind == "in" and node[2][0] == "array":
        _, member = _compile(node[1])
        items = [_compile(item)[1] for item in node[2][1]]

        def contains(cols: Columns) -> tuple[Array, Array]:
            mv, mu = member(cols)
            found = np.zeros(cols.size, dtype=bool)
            uncertain = mu.copy()
            for item in items:
                iv, iu = item(cols)
                hit, close = _equal(mv, iv)
                found |= hit
                uncertain |= iu | close
            return found, uncertain

        return "boolean", contains
    raise Unsupported(f"{kind} is not compiled to columns")


def _equal(left: Array, right: Array) -> tuple[Array, Array]:
    if left.dtype == np.float64 and right.dtype == np.float64:
        close = np.abs(left - right) <= TOLERANCE * (1 + np.abs(left) + np.abs(right))
        return left == right, close | ~np.isfinite(left) | ~np.isfinite(right)
    return left == right, np.zeros(len(left), dtype=bool)


_ORDER: dict[str, Callable[[Array, Array], Array]] = {
    ">=": np.greater_equal,
    ">": np.greater,
    "<=": np.less_equal,
    "<": np.less,
}


_EXACT: dict[str, Callable[[Array, Array], Array]] = {"==": np.equal, "!=": np.not_equal, **_ORDER}


def _exact(node: Node, cols: Columns) -> bool | npt.NDArray[np.bool_]:
    """Whether a side's float64 values keep the decimals' order and equality exactly (per row, where known)."""
    if node[0] == "num":
        return _faithful(node[1])
    if node[0] == "sym":
        if cols.faithful.get(node[1], False):
            return True
        return cols.exact.get(node[1], False)
    return False


def _comparison(op: str, left_node: Node, right_node: Node) -> Kernel:
    _, left = _compile(left_node)
    _, right = _compile(right_node)

    def compare(cols: Columns) -> tuple[Array, Array]:
        lv, lu = left(cols)
        rv, ru = right(cols)
        numeric = lv.dtype == np.float64 and rv.dtype == np.float64
        both = _exact(left_node, cols) & _exact(right_node, cols) if numeric else False
        if both is True:
            # Both sides are decimals of at most 15 digits: float64 orders them exactly.
            return _EXACT[op](lv, rv), lu | ru
        doubt = ~np.broadcast_to(np.asarray(both, dtype=bool), lv.shape)  # rows not both exact
        if op in ("==", "!="):
            hit, close = _equal(lv, rv)
            return (hit if op == "==" else ~hit), lu | ru | (close & doubt)
        if not numeric:
            raise Unsupported("ordering of text")
        close = np.abs(lv - rv) <= TOLERANCE * (1 + np.abs(lv) + np.abs(rv))
        bad = ~np.isfinite(lv) | ~np.isfinite(rv)
        return _ORDER[op](lv, rv), lu | ru | ((close | bad) & doubt)

    return compare


def _truncating_divide(left: Array, right: Array) -> Array:
    return np.trunc(np.true_divide(left, right))


# ``//`` and ``%`` follow Decimal, as rule-engine does: they truncate toward zero
# (-7 // 2 == -3 and -7 % 2 == -1), unlike numpy's floor_divide and mod.
_ARITH: dict[str, Callable[[Array, Array], Array]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.true_divide,
    "//": _truncating_divide,
    "%": np.fmod,
}


def _arithmetic(op: str, left_node: Node, right_node: Node) -> Kernel:
    _, left = _compile(left_node)
    _, right = _compile(right_node)
    if op not in _ARITH:
        raise Unsupported(f"operator {op}")
    function = _ARITH[op]

    def arith(cols: Columns) -> tuple[Array, Array]:
        lv, lu = left(cols)
        rv, ru = right(cols)
        if lv.dtype != np.float64 or rv.dtype != np.float64:
            raise Unsupported("arithmetic on text")
        with np.errstate(all="ignore"):
            out = function(lv, rv)
        # Floor division and remainder jump at integers: near one, the float may land on the other side.
        near_step = np.zeros(len(out), dtype=bool)
        if op in ("//", "%"):
            with np.errstate(all="ignore"):
                quotient = lv / rv
            near_step = np.abs(quotient - np.round(quotient)) <= TOLERANCE * (1 + np.abs(quotient))
        return out, lu | ru | ~np.isfinite(out) | near_step

    return arith


@dataclass
class FastCheck:
    """A criterion compiled for columns, or the reason it is evaluated by rule-engine row by row."""

    expression: CompiledExpression
    kernel: Kernel | None = None
    fallback: str | None = None
    exact_rows: int = field(default=0)

    def evaluate(self, rows: Sequence[Mapping[str, Any]], columns: Columns | None = None) -> list[bool]:
        """The criterion for every row: columns for the clear cases, exactly for the rest."""
        if self.kernel is None or not rows:
            return [bool(v) for v in self.expression.evaluate_many(rows)]
        cols = columns if columns is not None and columns.rows is rows else Columns(rows)
        try:
            with np.errstate(all="ignore"):  # non-finite rows are marked uncertain and decided exactly
                values, uncertain = self.kernel(cols)
        except Unsupported as why:  # a type only seen at run time (text where a number was expected)
            self.kernel, self.fallback = None, str(why)
            return [bool(v) for v in self.expression.evaluate_many(rows)]
        result: list[bool] = values.astype(bool).tolist()
        for i in np.flatnonzero(uncertain).tolist():
            result[i] = bool(self.expression.evaluate(rows[i]))
            self.exact_rows += 1
        return result


def compile_check(expression: CompiledExpression) -> FastCheck:
    """Compile a true/false criterion for columns; unsupported ones are evaluated by rule-engine."""
    if expression.result_type != "boolean":
        return FastCheck(expression, fallback="not a true/false criterion")
    try:
        _, kernel = _compile(expression.tree())
    except Unsupported as why:
        return FastCheck(expression, fallback=str(why))
    return FastCheck(expression, kernel)


def compile_node(node: Node) -> Kernel:
    """A kernel for one node of an expression's tree (raises ``Unsupported`` for what it does not handle)."""
    return _compile(node)[1]


def compile_values(expression: CompiledExpression) -> Kernel | None:
    """A kernel giving ``expression``'s values (float64 for numbers) and uncertain rows, or None.

    The engine uses it for derived values; rows it marks uncertain, and every value that
    must be exact, are evaluated by rule-engine.
    """
    try:
        return _compile(expression.tree())[1]
    except Unsupported:
        return None
