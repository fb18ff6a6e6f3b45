"""How far a derived value's float64 can be from its exact value, row by row, so floats can stand in for it.

A derived value is defined by rule-engine's ``Decimal`` arithmetic; the kernels compute it in
float64 (:mod:`tierpay.engine.kernels`). Alongside each float this module carries a bound on
its distance from the exact value, worked out operation by operation from the inputs':

- a metric whose text is a plain integer of at most 15 digits is exact in float64 (bound 0);
  any other faithful metric is off by at most half an ulp; a metric that is not faithful, or
  a row the kernel is unsure of, has no bound (infinite);
- ``+``, ``-`` and ``*`` of exact integers below 10^15 are exact (so is ``/`` when the quotient
  is a whole number that multiplies back to the dividend); otherwise each operation adds the
  inputs' bounds as calculus propagates them, plus one ulp of the result, which also covers
  the ``Decimal`` rounding (28 digits) of the definition.

A bound of 0 means the float *is* the exact value, and the value is a plain integer as
rule-engine writes it: such rows compare, rank and print without the definition. A finite bound
lets a score part use the float where the rounding of the score is clear of it (a volume scaled
to full time: :mod:`tierpay.engine.scoring`). Everything else keeps the exact path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from tierpay.engine.kernels import Columns, Unsupported, compile_node
from tierpay.ruleset.expressions import CompiledExpression, Node

Array = npt.NDArray[Any]
Bools = npt.NDArray[np.bool_]
EPSILON = float(np.finfo(np.float64).eps)
WHOLE = 1e15
"""Integers below this are exact in float64 and in the definition's 28 digits, and print as they are."""

Errors = Callable[[str], Array | None]
"""A name's per-row bound (None: not a number the bounds know, so the expression has none)."""
Bounded = Callable[[Columns, Errors], tuple[Array, Array]]
"""Given the columns and the inputs' bounds: the values and each row's bound."""


def compile_bounds(expression: CompiledExpression) -> Bounded | None:
    """The values of a number-valued expression with a bound per row, or None for what it does not handle."""
    if expression.result_type != "number":
        return None
    try:
        return _bounded(expression.tree())
    except Unsupported:
        return None


def whole(values: Array) -> Bools:
    """Rows holding an integer small enough to be exact in float64 and in the definition."""
    with np.errstate(invalid="ignore"):
        result: Bools = (values == np.trunc(values)) & (np.abs(values) < WHOLE)
    return result


def input_error(values: Array, plain: Bools, faithful: bool) -> Array:
    """The bound of a metric column: 0 where the text is a plain integer, half an ulp where faithful, else none."""
    exact = plain & whole(values)
    if not faithful:
        return np.where(exact, 0.0, np.inf)
    return np.where(exact, 0.0, np.where(np.isfinite(values), EPSILON * np.abs(values), np.inf))


def _bounded(node: Node) -> Bounded:
    kind = node[0]
    if kind == "sym":
        name = node[1]

        def symbol(cols: Columns, errors: Errors) -> tuple[Array, Array]:
            values = cols[name]
            error = errors(name)
            if values.dtype != np.float64 or error is None:
                raise Unsupported(f"{name} has no bound")
            return values, error

        return symbol
    if kind == "num":
        value = float(node[1])
        exact = node[1] == int(node[1]) and abs(value) < WHOLE and node[1].as_tuple().exponent == 0

        def literal(cols: Columns, errors: Errors) -> tuple[Array, Array]:
            return np.full(cols.size, value), np.full(cols.size, 0.0 if exact else EPSILON * abs(value))

        return literal
    if kind == "neg":
        inner = _bounded(node[1])

        def minus(cols: Columns, errors: Errors) -> tuple[Array, Array]:
            v, e = inner(cols, errors)
            return -v, np.where(v == 0, np.where(e == 0, np.inf, e), e)  # rule-engine's -0 prints as "-0"

        return minus
    if kind == "if":
        cond = compile_node(node[1])
        then, other = _bounded(node[2]), _bounded(node[3])

        def choose(cols: Columns, errors: Errors) -> tuple[Array, Array]:
            cv, cu = cond(cols)
            tv, te = then(cols, errors)
            ov, oe = other(cols, errors)
            held = cv.astype(bool)
            return np.where(held, tv, ov), np.where(cu, np.inf, np.where(held, te, oe))

        return choose
    if kind == "arith" and node[1] in ("+", "-", "*", "/"):
        return _arithmetic(node[1], _bounded(node[2]), _bounded(node[3]))
    raise Unsupported(f"{kind} has no bound")


def _arithmetic(op: str, left: Bounded, right: Bounded) -> Bounded:
    def arith(cols: Columns, errors: Errors) -> tuple[Array, Array]:
        lv, le = left(cols, errors)
        rv, re = right(cols, errors)
        a, b = np.abs(lv), np.abs(rv)
        with np.errstate(all="ignore"):
            if op == "+":
                out, error = lv + rv, le + re
            elif op == "-":
                out, error = lv - rv, le + re
            elif op == "*":
                out, error = lv * rv, a * re + b * le + le * re
            else:
                out = lv / rv
                error = np.where(b > re, (le + np.abs(out) * re) / (b - re), np.inf)
            error = error * (1 + 4 * EPSILON) + 2 * EPSILON * np.abs(out)
            exact = (le == 0) & (re == 0) & whole(out)
            if op == "/":
                exact &= (rv != 0) & (out * rv == lv) & (np.abs(out * rv) < WHOLE)
            if op in ("*", "/"):
                exact &= out != 0  # a zero product may be "-0" in the definition
            error = np.where(exact, 0.0, error)
        return out, np.where(np.isfinite(out) & ~np.isnan(error), error, np.inf)

    return arith
