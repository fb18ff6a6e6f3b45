"""The shipped ruleset's statements for the six-month sample keep every pay rule of issue 14.

Each rule is checked on every decided agent-month from the statement's own lines, not from
the engine's arithmetic: one deduction cap a month, the minimum wage on counted pay (net of
own contributions where the figure excludes them; each sick day at 80% of it; a part-timer paid by the
hour at the hourly figure), the probation floor in every month worked on probation, pay at the
level held during the month, and English statements in English.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tierpay import Decision, evaluate, read_records
from tierpay.engine.minimum_wage import minimum_wage_for
from tierpay.outputs.report import statement_text

from .conftest import SAMPLE_H1

HUNDRED = Decimal(100)
UNCOUNTED = {"night_shift"}  # the shipped ruleset's line with counts_for_minimum_wage: false


@pytest.fixture(scope="module")
def decided(stars) -> list[Decision]:
    return [d for d in evaluate(stars, read_records(stars, SAMPLE_H1)).decisions if d.pay is not None]


def _value(d: Decision, name: str) -> Decimal:
    return Decimal(str(d.values[name]))


def _days(d: Decision) -> Decimal:
    """The proration factor the month's floors use: days paid as worked (protected months are not prorated)."""
    if d.reason == "protected_period":
        return Decimal(1)
    return min(Decimal(1), _value(d, "paid_days") / _value(d, "scheduled_days"))


def _minimum(d: Decision, monthly: Decimal, hourly: Decimal | None) -> Decimal:
    """The month's minimum wage by law: the hourly figure times the hours for a part-timer paid by the
    hour (非全日制); else the monthly figure times the share of full time and the days paid as worked,
    each sick day counted at 80% (劳部发〔1995〕309号 art. 59)."""
    if d.values["employment"] == "part_time":
        assert hourly is not None
        return hourly * _value(d, "hours_worked")
    sick = Decimal("0.8") * _value(d, "sick_leave_days") / _value(d, "scheduled_days")
    share = Decimal(1) if d.reason == "protected_period" else min(Decimal(1), _days(d) + sick)
    return monthly * _value(d, "fte") * share


def test_lines_add_up_and_deductions_share_one_cap(decided) -> None:
    """Lines sum to the total; all deductions together take at most 20% of the month's pay."""
    for d in decided:
        assert d.pay is not None
        assert sum(ln.amount for ln in d.pay.lines) == d.pay.total
        deducted = -sum(ln.amount for ln in d.pay.lines if ln.kind == "deduction")
        paid = sum(ln.amount for ln in d.pay.lines if ln.kind != "deduction")
        assert deducted <= paid * 20 / HUNDRED, (d.agent_id, d.period)


def test_counted_pay_after_deductions_reaches_the_minimum_wage(stars, decided) -> None:
    """Counted pay, less deductions (and own contributions where excluded), is at least the prorated minimum."""
    floors = stars.model.pay.floors
    checked = 0
    for d in decided:
        assert d.pay is not None
        figure = minimum_wage_for(floors.minimum_wage, d.values, d.period)
        counted = sum(ln.amount for ln in d.pay.lines if ln.kind != "rounding" and ln.id not in UNCOUNTED)
        if d.reason == "protected_period":
            continue  # paid in full whatever the days: above the floor by construction
        minimum = _minimum(d, figure.amount, figure.hourly)
        own = figure.contributions or Decimal(0)
        assert counted - own >= minimum.quantize(Decimal("0.01")) - Decimal("0.01"), (d.agent_id, d.period)
        checked += 1
    assert checked > 300
    assert {"A010", "A016"} <= {d.agent_id for d in decided}  # a sick month and a part-timer are among them


def test_months_worked_on_probation_keep_the_probation_floor(decided) -> None:
    """A month that began on probation (the conversion month too) pays at least 80% of the contract wage."""
    months = [d for d in decided if d.action == "convert" or d.on_probation]
    assert any(d.action == "convert" for d in months)
    for d in months:
        assert d.pay is not None
        before_deductions = sum(ln.amount for ln in d.pay.lines if ln.kind != "deduction")
        floor = Decimal(str(d.values["contract_wage"])) * Decimal("0.8") * _days(d)
        assert before_deductions >= floor.quantize(Decimal("0.01")) - Decimal("0.01"), (d.agent_id, d.period)


def test_a_month_is_paid_at_the_level_held_during_it(decided) -> None:
    """Demotions take effect next month; the shipped ruleset pays a promotion from the next month too."""
    moved = [d for d in decided if d.action in ("demote", "promote")]
    assert {d.action for d in moved} == {"demote", "promote"}
    for d in moved:
        assert d.pay is not None
        assert d.pay.level == d.level_before, (d.agent_id, d.period, d.action)


def test_english_statements_have_no_chinese_words(stars, decided) -> None:
    """`--lang en` statements are English throughout, floor and deduction lines included."""
    floored = [d for d in decided if any(ln.kind in ("floor", "deduction") for ln in d.pay.lines)]  # type: ignore[union-attr]
    assert floored
    han = re.compile(r"[\u4e00-\u9fff]")
    for d in floored:
        text = statement_text(d, stars, "en")
        assert not han.search(text), text
