"""Pay: named lines, a performance coefficient, proration, legal floors and capped deductions.

Money is ``Decimal`` from end to end and rounded only as the ruleset declares (each line, or
only the total with a visible rounding line), so the lines of a statement always add up to
its total exactly. Floors and caps never change a figure silently: each adds its own line.
Penalties are reduced performance pay (a lower coefficient), never fines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from itertools import pairwise
from typing import Any

from tierpay.engine.minimum_wage import minimum_wage_for
from tierpay.engine.results import Pay as PayResult
from tierpay.engine.results import PayLine as LineResult
from tierpay.engine.results import trusted
from tierpay.ruleset.model import BandLookup, Curve, Grade, Pay, PayLine, Rounding, label_text

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
}


def round_money(amount: Decimal, rounding: Rounding) -> Decimal:
    """``amount`` rounded to the declared quantum and mode."""
    return amount.quantize(rounding.quantum, rounding=_MODES[rounding.mode])


def money(amount: Decimal) -> str:
    """Money as text with thousands separators and two places, for statements."""
    return f"{amount:,.2f}"


def number(value: Decimal) -> str:
    """A number without trailing zeros."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def band_coefficient(lookup: BandLookup, value: Decimal) -> tuple[Decimal, str]:
    """The coefficient of the band holding ``value``, and which band it was."""
    for band in lookup.bands:
        above_ok = band.above is None or (value >= band.above if band.above_inclusive else value > band.above)
        below_ok = band.below is None or (value <= band.below if band.below_inclusive else value < band.below)
        if above_ok and below_ok:
            low = "" if band.above is None else f"{'[' if band.above_inclusive else '('}{number(band.above)}"
            high = "" if band.below is None else f"{number(band.below)}{']' if band.below_inclusive else ')'}"
            return (
                band.coefficient,
                f"{lookup.of} {number(value)} in band {low or '(-inf'}, {high or '+inf)'}",
            )
    raise AssertionError("bands are validated to cover every value")  # pragma: no cover


def curve_coefficient(curve: Curve, value: Decimal) -> tuple[Decimal, str]:
    """The coefficient on a linear curve through ``curve.points``, clamped at both ends."""
    points = curve.points
    if value <= points[0][0]:
        return points[0][1], f"{curve.of} {number(value)} at or below {number(points[0][0])}: {number(points[0][1])}"
    if value >= points[-1][0]:
        return (
            points[-1][1],
            f"{curve.of} {number(value)} at or above {number(points[-1][0])}: {number(points[-1][1])}",
        )
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 <= value <= x1:
            y = y0 + (y1 - y0) * (value - x0) / (x1 - x0)
            y = y.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            return (
                y,
                f"{curve.of} {number(value)} between {number(x0)} ({number(y0)}) and {number(x1)} ({number(y1)}): {number(y)}",
            )
    raise AssertionError("unreachable")  # pragma: no cover


def coefficient_for(pay: Pay, grade: Grade | None, values: Mapping[str, Any]) -> tuple[Decimal | None, str]:
    """The performance coefficient for one record and how it was found."""
    source = pay.coefficient
    if source.source == "band" and source.band is not None:
        return band_coefficient(source.band, values[source.band.of])
    if source.source == "curve" and source.curve is not None:
        return curve_coefficient(source.curve, values[source.curve.of])
    if grade is None or grade.coefficient is None:
        return None, "no coefficient"
    return grade.coefficient, f"grade {grade.grade}"


def uses_coefficient(pay: Pay, grades: Sequence[Grade]) -> bool:
    """Whether any coefficient is declared: a band or curve, or a coefficient on some grade."""
    return pay.coefficient.source != "grade" or any(g.coefficient is not None for g in grades)


@dataclass(frozen=True)
class PayInputs:
    """What the engine evaluated for one record's pay."""

    level: str
    period: str
    """The month paid (``YYYY-MM``): it chooses the minimum wage in force."""
    values: Mapping[str, Any]
    coefficient: Decimal | None
    coefficient_basis: str
    on_probation: bool
    line_applies: Mapping[str, bool]
    formulas: Mapping[str, Decimal]


def compute_pay(pay: Pay, currency: str, inputs: PayInputs, lang: str = "zh") -> PayResult:
    """One agent-period's pay statement; its lines sum exactly to the total."""
    rounding = pay.rounding
    per_line = rounding.stage == "line"
    values = inputs.values
    factor, factor_text = _proration(pay, values)
    lines: list[LineResult] = []
    counted = ZERO  # what counts toward the minimum-wage comparison
    for line in pay.lines:
        if inputs.line_applies.get(line.id, True):
            amount, basis = _line_amount(line, inputs)
            if line.times_coefficient:
                coefficient = inputs.coefficient if inputs.coefficient is not None else ONE
                amount *= coefficient
                basis += f" × coefficient {number(coefficient)} ({inputs.coefficient_basis})"
            if line.prorate and factor != ONE:
                amount *= factor
                basis += f" × {factor_text}"
            amount = _r(amount, rounding, per_line)
            if line.counts_for_minimum_wage:
                counted += amount
        else:
            amount, basis = _r(ZERO, rounding, per_line), f"not paid: condition `{line.when}` not met"
        lines.append(
            trusted(
                LineResult,
                id=line.id,
                label=_label(line.label, line.id, lang),
                kind="line",
                amount=amount,
                basis=basis,
            )
        )
    gross = sum((ln.amount for ln in lines), ZERO)
    floors = pay.floors
    minimum = ZERO
    if (
        floors is not None
        and floors.probation_ratio is not None
        and floors.contract_wage is not None
        and inputs.on_probation
    ):
        contract = values[floors.contract_wage]
        floor = contract * floors.probation_ratio * (factor if pay.proration else ONE)
        floor = _r(floor, rounding, per_line)
        if gross < floor:
            topup = floor - gross
            basis = f"probation pay may not be below {number(floors.probation_ratio * HUNDRED)}% of the contract wage {money(contract)}"
            if pay.proration and factor != ONE:
                basis += f" × {factor_text}"
            basis += f" = {money(floor)}; raised by {money(topup)} (Labor Contract Law art. 20)"
            lines.append(
                _floor_line(
                    "probation_floor", {"en": "Probation floor top-up", "zh": "试用期工资补足"}, topup, basis, lang
                )
            )
            gross += topup
            counted += topup
    if floors is not None and floors.minimum_wage is not None:
        figure = minimum_wage_for(floors.minimum_wage, values, inputs.period, lang)
        minimum = figure.amount * (factor if pay.proration else ONE)
        minimum = _r(minimum, rounding, per_line)
        own = figure.contributions
        prorated = minimum
        if own is not None:
            minimum += own  # what counted pay must reach: the minimum excludes the employee's own contributions
        if counted < minimum:
            topup = minimum - counted
            basis = f"pay counted toward the minimum wage {money(counted)}"
            if own is not None:
                basis += f" less the employee's own social insurance and housing fund contributions {money(own)} is {money(counted - own)}, below {figure.basis}"
            else:
                basis += f" is below {figure.basis}"
            if pay.proration and factor != ONE:
                basis += f" × {factor_text} = {money(prorated)}"
            basis += f" ({figure.citation}); raised by {money(topup)}"
            lines.append(
                _floor_line("minimum_wage", {"en": "Minimum wage top-up", "zh": "最低工资补足"}, topup, basis, lang)
            )
            gross += topup
    for deduction in pay.deductions:
        asked = values[deduction.metric]
        if asked == 0:
            continue
        cap_percent = floors.deduction_cap_percent if floors is not None else HUNDRED
        cap = gross * cap_percent / HUNDRED
        room = max(ZERO, gross - minimum)
        allowed = min(asked, cap, room)
        allowed = _r(allowed, rounding, per_line)
        basis = f"{deduction.metric} {money(asked)}"
        if allowed < asked:
            limits = []
            if cap <= room:
                limits.append(f"capped at {number(cap_percent)}% of the month's pay {money(gross)}")
            if room < asked and room <= cap:
                limits.append(f"limited so the remainder is not below the minimum wage {money(minimum)}")
            basis += f", {' and '.join(limits) or 'capped'}: {money(allowed)} deducted, {money(asked - allowed)} not deducted this month"
        lines.append(
            trusted(
                LineResult,
                id=deduction.id,
                label=_label(deduction.label, deduction.id, lang),
                kind="deduction",
                amount=-allowed,
                basis=basis,
            )
        )
        gross -= allowed
    total = sum((ln.amount for ln in lines), ZERO)
    if not per_line:
        rounded = round_money(total, rounding)
        if rounded != total:
            lines.append(
                trusted(
                    LineResult,
                    id="rounding",
                    label=_label({"en": "Rounding", "zh": "舍入"}, "", lang),
                    kind="rounding",
                    amount=rounded - total,
                    basis=f"total {number(total)} rounded {rounding.mode.replace('_', '-')} to {number(rounding.quantum)}",
                )
            )
        total = rounded
    return trusted(
        PayResult,
        currency=currency,
        level=inputs.level,
        coefficient=inputs.coefficient,
        lines=lines,
        total=total,
    )


def _floor_line(line_id: str, label: dict[str, str], amount: Decimal, basis: str, lang: str) -> LineResult:
    """A statement line for a floor that raised the pay, saying which and by how much."""
    return trusted(LineResult, id=line_id, label=_label(label, "", lang), kind="floor", amount=amount, basis=basis)


def _r(amount: Decimal, rounding: Rounding, per_line: bool) -> Decimal:
    return round_money(amount, rounding) if per_line else amount


def _label(label: Any, fallback: str, lang: str) -> str:
    return label_text(label, lang, fallback)


def _proration(pay: Pay, values: Mapping[str, Any]) -> tuple[Decimal, str]:
    if pay.proration is None:
        return ONE, ""
    worked = values[pay.proration.worked]
    scheduled = values[pay.proration.scheduled]
    if scheduled <= 0:
        raise ValueError(f"{pay.proration.scheduled} is {number(scheduled)}: cannot prorate")
    factor = min(ONE, max(ZERO, worked / scheduled))
    return factor, f"{number(worked)}/{number(scheduled)} days"


def _line_amount(line: PayLine, inputs: PayInputs) -> tuple[Decimal, str]:
    if line.amount is not None:
        return line.amount, f"fixed {money(line.amount)}"
    if line.formula is not None:
        value = inputs.formulas[line.id]
        return value, f"`{line.formula}` = {money(value)}"
    assert line.by_level is not None
    row = line.by_level[inputs.level]
    if isinstance(row, dict):
        key = str(inputs.values[line.by]) if line.by else ""
        return row[key], f"{inputs.level}, {line.by} {key}: {money(row[key])}"
    return row, f"{inputs.level}: {money(row)}"
