"""Pay: named lines, a performance coefficient, proration, legal floors and capped deductions.

Money is ``Decimal`` from end to end and rounded only as the ruleset declares (each line, or
only the total with a visible rounding line), so the lines of a statement always add up to
its total exactly. Floors and caps never change a figure silently: each adds its own line.
Penalties are reduced performance pay (a lower coefficient), never fines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from itertools import pairwise
from typing import Any

from tierpay.engine.adjustments import PREFIX, Adjustment, is_adjustment, signed
from tierpay.engine.minimum_wage import MinimumWageFigure, minimum_wage_for
from tierpay.engine.results import Pay as PayResult
from tierpay.engine.results import PayLine as LineResult
from tierpay.engine.results import trusted
from tierpay.engine.segments import Segment
from tierpay.ruleset.model import (
    MAX_AMOUNT,
    AmountTable,
    BandLookup,
    Calendar,
    Curve,
    Floors,
    Grade,
    Pay,
    PayLine,
    Protection,
    Rounding,
    label_text,
)
from tierpay.words import Named, Phrase, named, phrase, render, say

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
MONEY = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
"""The context pay is computed in, whatever the caller's: 28 significant digits.

The ruleset's bounds (``tierpay.ruleset.model``: amounts to 10^12 with 4 places, coefficients
to 10, quanta from 0.0001) and the bound on what records and formulas bring in (``MAX_AMOUNT``)
keep every rounding within 28 digits, so no quantize can fail."""
_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
}


def round_money(amount: Decimal, rounding: Rounding) -> Decimal:
    """``amount`` rounded to the declared quantum and mode."""
    return _whole(_quantize(amount, rounding.quantum, _MODES[rounding.mode]))


def _quantize(amount: Decimal, quantum: Decimal, mode: str) -> Decimal:
    """``amount`` rounded to ``quantum``; an amount too large to round exactly is a ``ValueError`` (a rejection)."""
    try:
        return amount.quantize(quantum, rounding=mode)
    except InvalidOperation:  # more digits than the context holds: beyond any wage
        raise ValueError(f"an amount of {amount:.6E} is too large to pay: it cannot be rounded to {quantum}") from None


def _whole(amount: Decimal) -> Decimal:
    """An amount rounded to tens or more written with its zeros (``1800``, not ``1.8E+3``)."""
    exponent = amount.as_tuple().exponent
    return amount.quantize(ONE) if isinstance(exponent, int) and exponent > 0 else amount


def money(amount: Decimal) -> str:
    """Money as text with thousands separators and two places, for statements."""
    return f"{amount:,.2f}"


def number(value: Decimal) -> str:
    """A number without trailing zeros."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def band_coefficient(lookup: BandLookup, value: Decimal, of: Named | None = None) -> tuple[Decimal, Phrase]:
    """The coefficient of the band holding ``value``, and which band it was (``of`` names what is looked up)."""
    for band in lookup.bands:
        above_ok = band.above is None or (value >= band.above if band.above_inclusive else value > band.above)
        below_ok = band.below is None or (value <= band.below if band.below_inclusive else value < band.below)
        if above_ok and below_ok:
            low = "" if band.above is None else f"{'[' if band.above_inclusive else '('}{number(band.above)}"
            high = "" if band.below is None else f"{number(band.below)}{']' if band.below_inclusive else ')'}"
            return (
                band.coefficient,
                phrase(
                    "basis.band",
                    of=of or Named(lookup.of),
                    value=number(value),
                    low=low or "(-inf",
                    high=high or "+inf)",
                ),
            )
    raise AssertionError("bands are validated to cover every value")  # pragma: no cover


def curve_coefficient(curve: Curve, value: Decimal, of: Named | None = None) -> tuple[Decimal, Phrase]:
    """The coefficient on a linear curve through ``curve.points``, clamped at both ends."""
    points = curve.points
    name = of or Named(curve.of)
    if value <= points[0][0]:
        x, y = points[0]
        return y, phrase("basis.curve_low", of=name, value=number(value), x=number(x), y=number(y))
    if value >= points[-1][0]:
        x, y = points[-1]
        return y, phrase("basis.curve_high", of=name, value=number(value), x=number(x), y=number(y))
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 <= value <= x1:
            with localcontext(MONEY):
                y = y0 + (y1 - y0) * (value - x0) / (x1 - x0)
                y = y.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            return y, phrase(
                "basis.curve_between",
                of=name,
                value=number(value),
                x0=number(x0),
                y0=number(y0),
                x1=number(x1),
                y1=number(y1),
                y=number(y),
            )
    raise AssertionError("unreachable")  # pragma: no cover


def coefficient_for(pay: Pay, grade: Grade | None, values: Mapping[str, Any]) -> tuple[Decimal | None, Phrase]:
    """The performance coefficient for one record and how it was found."""
    source = pay.coefficient
    if source.source == "band" and source.band is not None:
        return band_coefficient(source.band, values[source.band.of])
    if source.source == "curve" and source.curve is not None:
        return curve_coefficient(source.curve, values[source.curve.of])
    if grade is None or grade.coefficient is None:
        return None, phrase("basis.no_coefficient")
    return grade.coefficient, phrase("basis.grade", grade=grade.grade)


def uses_coefficient(pay: Pay, grades: Sequence[Grade]) -> bool:
    """Whether any coefficient is declared: a band or curve, or a coefficient on some grade."""
    return pay.coefficient.source != "grade" or any(g.coefficient is not None for g in grades)


@dataclass(frozen=True)
class PayInputs:
    """What the engine evaluated for one record's pay."""

    period: str
    level: str
    values: Mapping[str, Any]
    coefficient: Decimal | None
    coefficient_basis: Phrase
    on_probation: bool
    line_applies: Mapping[str, bool]
    formulas: Mapping[str, Decimal]
    due: Mapping[str, Decimal] = field(default_factory=dict)
    """Deductions held back by the cap in earlier months, by deduction line, still to collect."""
    protected: bool = False
    """A statutory protected month: no line falls because of it (see ``Protection``)."""
    names: Mapping[str, Named] = field(default_factory=dict)
    """The ruleset's names (metrics, attributes) with their labels, for the words of each basis."""
    adjustments: tuple[Adjustment, ...] = ()
    """Closed periods decided again whose difference this month pays (see :mod:`tierpay.engine.adjustments`)."""
    segments: tuple[Segment, ...] = ()
    """A month of several segments (changes within it): what pay reads of each, with its calendar days."""

    def name(self, id: str) -> Named:
        """``id`` with its label, for a basis."""
        return self.names.get(id) or Named(id)


BUILT_IN_LINES = {
    "probation_floor": {"en": "Probation floor top-up", "zh": "试用期工资补足"},
    "minimum_wage": {"en": "Minimum wage top-up", "zh": "最低工资补足"},
    "sick_pay": {"en": "Sick pay", "zh": "病假工资"},
    "rounding": {"en": "Rounding", "zh": "舍入"},
}
"""The labels of the lines tierpay adds itself (floors and the rounding line)."""


def line_label(pay: Pay | None, line_id: str, lang: str, fallback: str = "") -> str:
    """A statement line's label in ``lang``: the ruleset's for its lines, tierpay's for the lines it adds."""
    if pay is not None:
        for line in pay.lines:
            if line.id == line_id:
                return label_text(line.label, lang, line_id)
        for deduction in pay.deductions:
            if deduction.id == line_id:
                return label_text(deduction.label, lang, line_id)
    if line_id in BUILT_IN_LINES:
        return BUILT_IN_LINES[line_id][lang if lang in ("en", "zh") else "en"]
    if is_adjustment(line_id):
        return say("line.adjustment", lang, period=line_id[len(PREFIX) :])
    return fallback or line_id


Basis = tuple[Phrase, ...]
"""How a line was computed: phrases written one after the other (see :mod:`tierpay.words`)."""


@dataclass
class _Sheet:
    """A statement being built: its lines and the running sums the floors and caps read."""

    pay: Pay
    lang: str
    lines: list[LineResult]
    gross: Decimal = ZERO  # everything paid so far
    counted: Decimal = ZERO  # what counts toward the minimum wage
    floored: bool = False  # a floor raised the pay or held a deduction back

    def raise_by(self, line_id: str, topup: Decimal, basis: Basis) -> None:
        """A floor's top-up line: it is paid, it counts toward the minimum wage, and rounding must keep it."""
        self.add(line_id, "floor", topup, basis)
        self.gross += topup
        self.counted += topup
        self.floored = True

    def add(self, line_id: str, kind: str, amount: Decimal, basis: Basis, label: Any = None) -> None:
        self.lines.append(
            trusted(
                LineResult,
                id=line_id,
                label=_label(label, self.lang, line_id),
                kind=kind,
                amount=amount,
                basis=render(basis, "en"),
                phrases=basis,
            )
        )


def _label(label: Any, lang: str, line_id: str) -> str:
    """A line's label in ``lang`` (the ruleset's, else tierpay's for the lines it adds), found once per label."""
    key = (id(label), lang, line_id)
    found = _LABELS.get(key)
    if found is None or found[0] is not label:
        text = label_text(label, lang, line_id) if label is not None else line_label(None, line_id, lang)
        if len(_LABELS) >= 4096:
            _LABELS.clear()
        found = _LABELS[key] = (label, text)
    return found[1]


_LABELS: dict[tuple[int, str, str], tuple[Any, str]] = {}


def compute_pay(
    pay: Pay,
    currency: str,
    inputs: PayInputs,
    lang: str = "zh",
    protection: Protection | None = None,
    calendar: Calendar | None = None,
) -> PayResult:
    """One agent-period's pay statement; its lines sum exactly to the total.

    The order is fixed: the ruleset's lines; the probation floor; the minimum wage; the
    month's deductions under one cap; the rounding of the total. Floors are statutory amounts
    and round up; deductions held back by a cap round down, and what they leave is carried.
    Each line's ``basis`` says how it was computed, in English; its phrases say it in any language.
    With a ``calendar`` (:class:`~tierpay.ruleset.model.Calendar`) lines are prorated by days in
    each segment and by FTE, sick leave adds a sick-pay line, and the minimum wage counts sick days
    at their floor and part-time hours at the hourly figure.
    Raises ``ValueError`` (the record's rejection) for an amount a record or a formula brings
    in beyond ``MAX_AMOUNT``.
    """
    with localcontext(MONEY):
        return _compute_pay(pay, currency, inputs, lang, protection, calendar)


def within(value: Decimal, what: str) -> Decimal:
    """``value``, an amount a record or a formula brings into pay, if pay can be computed exactly with it."""
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        raise ValueError(f"{what} is {value}, beyond the {MAX_AMOUNT:,} either way that pay is computed to exactly")
    return value


def _compute_pay(
    pay: Pay, currency: str, inputs: PayInputs, lang: str, protection: Protection | None, calendar: Calendar | None
) -> PayResult:
    rounding = pay.rounding
    parts = _parts(inputs, calendar)
    full: dict[str, Decimal] = {}  # each line before its coefficient and proration, for sick pay
    per_line = rounding.stage == "line"
    sheet = _Sheet(pay, lang, [])
    factor, days = _proration(pay, inputs.values)
    coefficient = inputs.coefficient if inputs.coefficient is not None else ONE
    coefficient_text = phrase("basis.coefficient", coefficient=number(coefficient), why=inputs.coefficient_basis)
    if inputs.protected and protection is not None:
        if factor != ONE:
            assert days is not None
            factor, days = ONE, phrase("basis.not_prorated", days=days)
        if coefficient < protection.coefficient:
            coefficient_text = phrase(
                "basis.coefficient_protected",
                floor=number(protection.coefficient),
                why=inputs.coefficient_basis,
                coefficient=number(coefficient),
            )
            coefficient = protection.coefficient
    for line in pay.lines:
        basis: Basis
        if inputs.line_applies.get(line.id, True):
            if parts is None:
                amount, found = _line_amount(line, inputs)
                basis = (found,)
            else:
                amount, basis = _parted_amount(line, parts)
            full[line.id] = amount
            if line.times_coefficient:
                amount *= coefficient
                basis += (phrase("basis.times", what=coefficient_text),)
            if line.prorate and factor != ONE:
                assert days is not None
                amount *= factor
                basis += (phrase("basis.times", what=days),)
            elif line.prorate and inputs.protected and days is not None:
                basis += (phrase("basis.in_brackets", what=days),)
            amount = _r(amount, rounding, per_line)
            if line.counts_for_minimum_wage:
                sheet.counted += amount
        else:
            unmet = (
                phrase("basis.not_paid_as", when=named(line.id, line.when_label))
                if line.when_label is not None
                else phrase("basis.not_paid")
            )  # a slip says the condition in words; the expression is explain's
            amount, basis = _r(ZERO, rounding, per_line), (unmet,)
        sheet.gross += amount
        sheet.add(line.id, "line", amount, basis, line.label)
    sick = ZERO
    if calendar is not None and calendar.sick_pay is not None and not (inputs.protected and protection is not None):
        sick = _sick_pay(sheet, calendar, inputs, full, per_line)
    minimum = ZERO
    if pay.floors is not None:
        if inputs.on_probation:
            _probation_floor(sheet, inputs, factor, days)
        minimum = _minimum_wage(sheet, inputs, factor, days, _MinimumShare(calendar, parts, sick))
    recover = _adjustments(sheet, inputs)
    due = _deductions(sheet, inputs, minimum, recover)
    total = sum((ln.amount for ln in sheet.lines), ZERO)
    if not per_line:
        rounded = round_money(total, rounding)
        if rounded < total and sheet.floored:
            rounded = _up(total, rounding)  # rounding may not take the pay back below a floor
        if rounded != total:
            mode = "rounding.floor_applies" if rounded > total and sheet.floored else f"rounding.{rounding.mode}"
            sheet.add(
                "rounding",
                "rounding",
                rounded - total,
                (phrase("basis.rounded", total=number(total), mode=phrase(mode), quantum=number(rounding.quantum)),),
            )
        total = rounded
    return trusted(
        PayResult,
        currency=currency,
        level=inputs.level,
        coefficient=inputs.coefficient,
        lines=sheet.lines,
        total=total,
        due=due,
    )


def _up(amount: Decimal, rounding: Rounding) -> Decimal:
    """``amount`` rounded up to the quantum: how a statutory floor is rounded."""
    return _whole(_quantize(amount, rounding.quantum, ROUND_CEILING))


def _down(amount: Decimal, rounding: Rounding) -> Decimal:
    """``amount`` rounded down to the quantum: how a capped deduction is rounded."""
    return _whole(_quantize(amount, rounding.quantum, ROUND_FLOOR))


def _floor_amount(amount: Decimal, rounding: Rounding) -> Decimal:
    """A floor, rounded up to the quantum when each line is rounded (never below the statute)."""
    return _up(amount, rounding) if rounding.stage == "line" else amount


def _probation_floor(sheet: _Sheet, inputs: PayInputs, factor: Decimal, days: Phrase | None) -> None:
    """Probation pay not below the declared share of the contract wage and of the post's lowest wage (art. 20)."""
    pay, floors = sheet.pay, sheet.pay.floors
    assert floors is not None
    if floors.probation_ratio is None or floors.contract_wage is None:
        return
    ratio = floors.probation_ratio
    contract = inputs.values.get(floors.contract_wage)
    if contract is None:
        raise ValueError(f"{floors.contract_wage}: missing; the probation floor needs the contract wage")
    within(contract, f"the contract wage {floors.contract_wage}")
    percent = number(ratio * HUNDRED)
    bases = [(contract, phrase("basis.of_contract_wage", percent=percent, amount=money(contract)))]
    post = _post_lowest_wage(floors, inputs)
    if post is not None:
        bases.append((post[0], phrase("basis.of_post_wage", percent=percent, what=post[1])))
    base, text = max(bases, key=lambda b: b[0])
    scale = factor if pay.proration else ONE
    floor = _floor_amount(base * ratio * scale, pay.rounding)
    if sheet.gross >= floor:
        return
    topup = floor - sheet.gross
    basis: Basis = (phrase("basis.probation_floor", what=text),)
    if pay.proration and factor != ONE:
        assert days is not None
        basis += (phrase("basis.times", what=days),)
    basis += (phrase("basis.equals", amount=money(floor)),)
    if floor != base * ratio * scale:
        basis += (phrase("basis.rounded_up"),)
    basis += (phrase("basis.probation_raised", amount=money(topup)),)
    sheet.raise_by("probation_floor", topup, basis)


def _post_lowest_wage(floors: Floors, inputs: PayInputs) -> tuple[Decimal, Phrase] | None:
    """The lowest wage of the agent's post (level, and region where declared), if the ruleset gives it."""
    table = floors.post_lowest_wage
    if table is None or inputs.level not in table:
        return None
    return _by_level(table, floors.post_by, inputs, "floors.post_lowest_wage")


def _minimum_wage(
    sheet: _Sheet, inputs: PayInputs, factor: Decimal, days: Phrase | None, share: _MinimumShare
) -> Decimal:
    """Counted pay not below the local minimum wage in force for the month.

    Returns what counted pay must reach (0 when the ruleset has no minimum wage): the prorated
    figure, plus the employee's own contributions where the figure excludes them.
    """
    pay, floors = sheet.pay, sheet.pay.floors
    assert floors is not None
    if floors.minimum_wage is None:
        return ZERO
    figure = minimum_wage_for(floors.minimum_wage, inputs.values, inputs.period)
    which = figure.phrase(inputs.name(floors.minimum_wage.by))
    monthly, multiplier = figure.amount, factor if pay.proration else ONE
    if share.calendar is not None:
        monthly, multiplier, which, days = share.minimum(sheet, inputs, figure, factor, days)
    prorated = _floor_amount(monthly * multiplier, pay.rounding)
    own = figure.contributions
    if own is not None:
        within(own, f"the contributions {floors.minimum_wage.contributions}")
    minimum = prorated + own if own is not None else prorated
    if sheet.counted < minimum:
        topup = minimum - sheet.counted
        basis: Basis = (phrase("basis.counted", amount=money(sheet.counted)),)
        if own is not None:
            basis += (phrase("basis.less_own", own=money(own), net=money(sheet.counted - own), figure=which),)
        else:
            basis += (phrase("basis.below", figure=which),)
        if pay.proration and multiplier != ONE:
            assert days is not None
            basis += (phrase("basis.times_equals", days=days, amount=money(prorated)),)
        if prorated != monthly * multiplier:
            basis += (phrase("basis.rounded_up"),)
        basis += (
            phrase(
                "basis.citation",
                date=figure.effective_from.isoformat(),
                source=figure.cited,
                amount=money(topup),
            ),
        )
        sheet.raise_by("minimum_wage", topup, basis)
    return minimum


def _adjustments(sheet: _Sheet, inputs: PayInputs) -> list[tuple[Adjustment, Decimal]]:
    """Pay each positive adjustment in full; return each negative one with the part set off against them.

    A back-payment for a closed month is not this month's wage: it counts neither toward the
    minimum wage nor in the pay the deduction cap is a share of. An overpayment is first set
    off against the month's back-payments (money for other months); only the rest is
    collected from this month's wage, as a deduction (``_deductions``).
    """
    items = sorted(inputs.adjustments)
    back = sum((a.amount for a in items if a.amount > 0), ZERO)
    for item in items:
        if item.amount > 0:
            sheet.add(item.line_id, "adjustment", item.amount, (_adjustment_basis(item),))
    recover = []
    for item in items:
        if item.amount < 0:
            off = min(-item.amount, back)
            back -= off
            recover.append((item, off))
    return recover


def _adjustment_basis(item: Adjustment) -> Phrase:
    return phrase(
        "basis.adjustment",
        period=item.for_period,
        amount=signed(item.amount),
        due=money(item.due),
        paid=money(item.paid),
    )


def _deductions(
    sheet: _Sheet, inputs: PayInputs, minimum: Decimal, recover: Sequence[tuple[Adjustment, Decimal]] = ()
) -> dict[str, Decimal]:
    """The month's deductions under one cap; returns what is left to collect, by line.

    工资支付暂行规定 art. 16: at most the cap's share of the month's wages for all deduction
    lines together, and the counted pay left must still reach the minimum wage. Amounts
    held back earlier are collected first, then this month's, each line in ruleset order,
    then what overpaid closed months (``recover``, less what was set off) ask back, oldest first.
    """
    pay = sheet.pay
    floors = pay.floors
    asked: dict[str, tuple[Decimal, Decimal]] = {}  # line -> (carried in, asked this month)
    for deduction in pay.deductions:
        carried = within(inputs.due.get(deduction.id, ZERO), f"the amount of {deduction.id} carried in")
        now = within(inputs.values[deduction.metric], f"the deduction {deduction.metric}")
        if carried or now:
            asked[deduction.id] = (carried, now)
    recovering = {item.line_id: (item, off) for item, off in recover}
    for line_id in sorted({*(k for k in inputs.due if is_adjustment(k)), *recovering}):
        carried = inputs.due.get(line_id, ZERO)
        item, off = recovering.get(line_id, (None, ZERO))
        now = -item.amount - off if item is not None else ZERO
        asked[line_id] = (carried, now)
    if not asked:
        return {}
    cap_percent = floors.deduction_cap_percent if floors is not None else HUNDRED
    cap = sheet.gross * cap_percent / HUNDRED
    room = max(ZERO, sheet.counted - minimum)
    wanted = sum((c + n for c, n in asked.values()), ZERO)
    allowed = min(wanted, cap, room)
    if allowed < wanted:
        allowed = _down(allowed, pay.rounding)
        if room < cap and room < wanted:
            sheet.floored = True
    left = allowed
    take: dict[str, Decimal] = {}
    for part in (0, 1):  # what was carried in first, then this month's
        for line_id, pair in asked.items():
            amount = min(pair[part], left)
            take[line_id] = take.get(line_id, ZERO) + amount
            left -= amount
    due: dict[str, Decimal] = {}
    by_id = {d.id: d for d in pay.deductions}
    for line_id, (carried, now) in asked.items():
        deducted = take[line_id]
        rest = carried + now - deducted
        item, off = recovering.get(line_id, (None, ZERO))
        parts: list[Phrase] = []
        if item is not None:
            parts.append(_adjustment_basis(item))
            if off:
                parts.append(phrase("basis.set_off", amount=money(off)))
        elif now:
            parts.append(phrase("basis.deduction_now", metric=inputs.name(by_id[line_id].metric), amount=money(now)))
        if carried:
            parts.append(phrase("basis.deduction_carried", amount=money(carried)))
        basis: Basis = ()
        for piece in parts:
            basis += (phrase("basis.plus"), piece) if basis and piece.key != "basis.set_off" else (piece,)
        if rest:
            due[line_id] = rest
            if cap <= room:
                limit = phrase("basis.capped", percent=number(cap_percent), amount=money(sheet.gross))
            else:
                limit = phrase("basis.kept_above_minimum", amount=money(minimum))
            basis += (limit, phrase("basis.carried", deducted=money(deducted), rest=money(rest)))
        if line_id in by_id:
            sheet.add(line_id, "deduction", -deducted, basis, by_id[line_id].label)
        else:
            sheet.add(line_id, "adjustment", ZERO - deducted - off, basis)
    return due


def _r(amount: Decimal, rounding: Rounding, per_line: bool) -> Decimal:
    return round_money(amount, rounding) if per_line else amount


def _proration(pay: Pay, values: Mapping[str, Any]) -> tuple[Decimal, Phrase | None]:
    if pay.proration is None:
        return ONE, None
    worked = values[pay.proration.worked]
    scheduled = values[pay.proration.scheduled]
    if scheduled <= 0:
        raise ValueError(f"{pay.proration.scheduled} is {number(scheduled)}: cannot prorate")
    factor = min(ONE, max(ZERO, worked / scheduled))
    return factor, phrase("basis.days", worked=number(worked), scheduled=number(scheduled))


def _line_amount(line: PayLine, inputs: PayInputs) -> tuple[Decimal, Phrase]:
    if line.amount is not None:
        return line.amount, phrase("basis.fixed", amount=money(line.amount))
    if line.formula is not None:
        value = within(inputs.formulas[line.id], f"the formula of line {line.id} `{line.formula}`")
        return value, phrase("basis.formula", formula=line.formula, amount=money(value))
    assert line.by_level is not None
    return _by_level(line.by_level, line.by, inputs, f"pay line {line.id}")


def _by_level(table: AmountTable, by: str | None, inputs: PayInputs, what: str) -> tuple[Decimal, Phrase]:
    """The amount of a table by level (and by the attribute ``by``) for this record, and its basis."""
    row = table[inputs.level]
    if not isinstance(row, dict):
        return row, phrase("basis.by_level", level=inputs.level, amount=money(row))
    key = str(inputs.values.get(by)) if by else ""
    if key not in row:
        raise ValueError(f"{what} has no figure for {inputs.level}, {by} {key}")
    return row[key], phrase(
        "basis.by_level_by", level=inputs.level, by=inputs.name(by or ""), value=key, amount=money(row[key])
    )


# --- the employment calendar: segments, part time, sick pay ----------------------------------


@dataclass(frozen=True)
class _Part:
    """One segment of a month as pay reads it: its calendar days, its inputs, its share of full time."""

    days: int
    inputs: PayInputs
    fte: Decimal


def _parts(inputs: PayInputs, calendar: Calendar | None) -> list[_Part] | None:
    """The month's segments (one for a month of one record), or None when nothing is prorated by them or by FTE."""
    if calendar is None:
        return None
    fte_name = calendar.part_time.fte if calendar.part_time is not None else None
    if not inputs.segments:
        fte = inputs.values.get(fte_name, ONE) if fte_name else ONE
        return None if fte == ONE else [_Part(1, inputs, fte)]
    parts = []
    for segment in inputs.segments:
        values = dict(inputs.values)
        for name, value in segment.values.items():
            values[name] = (
                Decimal(value) if name in inputs.values and isinstance(inputs.values[name], Decimal) else value
            )
        sub = replace(inputs, values=values, level=segment.level or inputs.level, segments=())
        parts.append(_Part(segment.days, sub, values.get(fte_name, ONE) if fte_name else ONE))
    return parts


def _parted_amount(line: PayLine, parts: list[_Part]) -> tuple[Decimal, Basis]:
    """A line over the month's segments: each segment's amount (times its FTE if prorated) by its share of days."""
    pieces: list[tuple[Decimal, Basis, int]] = []
    for part in parts:
        amount, found = _line_amount(line, part.inputs)
        basis: Basis = (found,)
        if line.prorate and part.fte != ONE:
            amount *= part.fte
            basis += (phrase("basis.times", what=phrase("basis.fte", fte=number(part.fte))),)
        pieces.append((amount, basis, part.days))
    if all(p[0] == pieces[0][0] and p[1] == pieces[0][1] for p in pieces):
        return pieces[0][0], pieces[0][1]
    total_days = sum(p[2] for p in pieces)
    amount = sum((a * d for a, _, d in pieces), ZERO) / total_days
    joined: Basis = ()
    for _a, basis, d in pieces:
        joined += (*((phrase("basis.plus"),) if joined else ()), *basis)
        joined += (phrase("basis.segment_days", days=str(d), total=str(total_days)),)
    return amount, (phrase("basis.grouped", what=_joined(joined)),)


def _sick_days(calendar: Calendar, inputs: PayInputs) -> Decimal:
    return sum((inputs.values[n] for n, leave in calendar.leave.items() if leave.paid == "sick"), ZERO)


def _sick_pay(
    sheet: _Sheet, calendar: Calendar, inputs: PayInputs, full: Mapping[str, Decimal], per_line: bool
) -> Decimal:
    """The sick-pay line: the declared share of the lines it is of, for each day of sick leave; the sick days."""
    pay, sick_pay = sheet.pay, calendar.sick_pay
    assert sick_pay is not None
    assert pay.proration is not None
    sick = _sick_days(calendar, inputs)
    if not sick:
        return ZERO
    scheduled = inputs.values[pay.proration.scheduled]
    if scheduled <= 0:
        raise ValueError(f"{pay.proration.scheduled} is {number(scheduled)}: cannot pay sick days")
    base = sum((full.get(line_id, ZERO) for line_id in sick_pay.of), ZERO)
    amount = _r(base * sick / scheduled * sick_pay.percent / HUNDRED, pay.rounding, per_line)
    basis: Basis = (
        phrase(
            "basis.sick_pay",
            percent=number(sick_pay.percent),
            base=money(base),
            sick=number(sick),
            scheduled=number(scheduled),
        ),
    )
    sheet.add("sick_pay", "line", amount, basis)
    sheet.gross += amount
    sheet.counted += amount
    return sick


@dataclass(frozen=True)
class _MinimumShare:
    """What the calendar changes in the minimum wage: the segments' figures, FTE, sick days, hours."""

    calendar: Calendar | None
    parts: list[_Part] | None
    sick: Decimal

    def minimum(
        self, sheet: _Sheet, inputs: PayInputs, figure: MinimumWageFigure, factor: Decimal, days: Phrase | None
    ) -> tuple[Decimal, Decimal, Phrase, Phrase | None]:
        """The month's figure, what it is multiplied by, and both in words.

        An agent paid by the hour is held to the hourly figure times the hours worked; anyone
        else to the monthly figure of each segment by its days and FTE, times the days paid as
        worked plus each sick day at the sick-pay floor's share, over the days scheduled.
        """
        cal, pay = self.calendar, sheet.pay
        assert cal is not None
        assert pay.floors is not None
        assert pay.floors.minimum_wage is not None
        mw = pay.floors.minimum_wage
        by = inputs.name(mw.by)
        parts = self.parts or [_Part(1, inputs, ONE)]
        figures = [
            (figure if p.inputs is inputs else minimum_wage_for(mw, p.inputs.values, inputs.period), p) for p in parts
        ]
        total_days = sum(p.days for p in parts)
        part_time = cal.part_time
        hourly = part_time is not None and part_time.hourly is not None and part_time.hours is not None
        if hourly:
            assert part_time is not None
            assert part_time.hourly is not None
            assert part_time.hours is not None
            attr = part_time.hourly.attribute
            hourly = str(inputs.values.get(attr)) == part_time.hourly.value
        if hourly:
            assert part_time is not None
            assert part_time.hours is not None
            hours = inputs.values[part_time.hours]
            pieces = []
            for f, p in figures:
                if f.hourly is None:
                    raise ValueError(
                        f"the minimum-wage table has no hourly figure for {f.area} in force for {inputs.period}, "
                        f"which a part-time agent paid by the hour is held to: add `hourly:` to its figure"
                    )
                pieces.append((f.hourly, p.days, f))
            rate = sum((r * d for r, d, _ in pieces), ZERO) / total_days
            f0 = pieces[-1][2]
            hourly_which = phrase(
                "basis.hourly_minimum", by=by, value=f0.value, area=f0.area_name, rate=money(rate), hours=number(hours)
            )
            return rate * hours, ONE, hourly_which, None
        monthly = sum((f.amount * p.fte * p.days for f, p in figures), ZERO) / total_days
        which: Phrase = figure.phrase(by)
        if len(figures) > 1 or figures[0][1].fte != ONE:
            joined: Basis = ()
            for f, p in figures:
                joined += (*((phrase("basis.plus"),) if joined else ()), f.phrase(by))
                if p.fte != ONE:
                    joined += (phrase("basis.times", what=phrase("basis.fte", fte=number(p.fte))),)
                if len(figures) > 1:
                    joined += (phrase("basis.segment_days", days=str(p.days), total=str(total_days)),)
            which = phrase("basis.in_brackets", what=_joined(joined))
        multiplier = factor if pay.proration else ONE
        sick_pay = cal.sick_pay
        if self.sick and sick_pay is not None and pay.proration is not None:
            scheduled = inputs.values[pay.proration.scheduled]
            paid = inputs.values[pay.proration.worked]
            multiplier = min(ONE, multiplier + self.sick * sick_pay.floor_percent / HUNDRED / scheduled)
            days = phrase(
                "basis.sick_share",
                paid=number(paid),
                percent=number(sick_pay.floor_percent),
                sick=number(self.sick),
                scheduled=number(scheduled),
            )
        return monthly, multiplier, which, days


def _joined(basis: Basis) -> Phrase:
    """Several phrases as one, written one after the other."""
    joined = basis[0]
    for piece in basis[1:]:
        joined = phrase("basis.pair", first=joined, then=piece)
    return joined
