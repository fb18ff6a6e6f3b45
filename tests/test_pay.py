"""Pay statements computed by hand, rounding modes and stages, floors, caps and reconciliation."""

from __future__ import annotations

import copy
from decimal import Decimal
from decimal import Decimal as D
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierpay import State, evaluate, read_records
from tierpay.engine.pay import band_coefficient, curve_coefficient, round_money
from tierpay.outputs.report import Summary, summary_rows
from tierpay.ruleset.model import BandLookup, Curve, Rounding

from .conftest import SAMPLE_H1, build

PAY: dict[str, Any] = {
    "tierpay": 1,
    "name": "pay-test",
    "version": "1",
    "effective_from": "2026-01-01",
    "metrics": {
        "qa": {"min": 0, "max": 100},
        "worked": {"min": 0, "max": 31},
        "scheduled": {"min": 0, "max": 31},
        "absences": {"type": "integer", "min": 0, "default": 0},
        "nights": {"type": "integer", "min": 0, "default": 0},
        "loss": {"min": 0, "default": 0},
        "contract": {"min": 0, "default": 0},
    },
    "attributes": {
        "region": {"values": ["tier1", "tier2"]},
        "status": {"values": ["probation", "regular"], "default": "regular"},
        "start_date": {"type": "date"},
        "contract_term": {"type": "term"},
    },
    "grades": [
        {"grade": "A", "when": "qa >= 90", "coefficient": "1.2"},
        {"grade": "B", "when": "qa >= 75", "coefficient": "1.0"},
        {"grade": "D", "coefficient": "0.5"},
    ],
    "levels": [
        {"id": "L1", "name": "一星"},
        {"id": "L2", "name": "二星", "entry": "qa > 100"},
        {"id": "L3", "name": "三星", "entry": "qa > 100"},
    ],
    "probation": {"min_periods": 3, "max_periods": 6, "convert_if": "qa > 100"},
    "pay": {
        "rounding": {"quantum": "0.01", "mode": "half_up", "stage": "line"},
        "proration": {"worked": "worked", "scheduled": "scheduled"},
        "lines": [
            {"id": "base", "by": "region", "prorate": True, "by_level": {"L1": {"tier1": 3000, "tier2": 2000}, "L2": {"tier1": 3500, "tier2": 2500}, "L3": {"tier1": 4000, "tier2": 3000}}},
            {"id": "allowance", "prorate": True, "by_level": {"L1": 0, "L2": 150, "L3": 300}},
            {"id": "performance", "by": "region", "times_coefficient": True, "prorate": True, "by_level": {"L1": {"tier1": 1000, "tier2": 600}, "L2": {"tier1": 1200, "tier2": 800}, "L3": {"tier1": 1500, "tier2": 1000}}},
            {"id": "attendance", "amount": 200, "when": "absences == 0"},
            {"id": "night", "formula": "nights * 25", "counts_for_minimum_wage": False},
        ],
        "deductions": [{"id": "loss", "metric": "loss"}],
        "floors": {
            "minimum_wage": {"by": "region", "table": {
                "tier1": {"name": "Tier-1 city", "figures": [{"monthly": 2690, "effective_from": "2024-07-01", "source": "test table"}]},
                "tier2": {"name": "Tier-2 city", "figures": [{"monthly": 2490, "effective_from": "2024-07-01", "source": "test table"}]},
            }},
            "probation_ratio": "0.8",
            "contract_wage": "contract",
            "deduction_cap_percent": 20,
        },
    },
}  # fmt: skip


def agent(
    agent_id: str, level: str, region: str, qa: int, worked: int, scheduled: int, **extra: object
) -> dict[str, object]:
    """A pay-test record."""
    return {
        "agent_id": agent_id,
        "period": "2026-01",
        "level": level,
        "region": region,
        "qa": qa,
        "worked": worked,
        "scheduled": scheduled,
        **({"start_date": "2026-01-05", "contract_term": "3y"} if extra.get("status") == "probation" else {}),
        **extra,
    }


AGENTS = [
    agent("A1", "L1", "tier1", 80, 21, 21),
    agent("A2", "L3", "tier2", 92, 15, 20, absences=2, nights=4),
    agent("A3", "L1", "tier2", 50, 21, 21, absences=1),
    agent("A4", "L1", "tier2", 80, 21, 21, status="probation", contract=4000),
    agent("A5", "L3", "tier1", 95, 22, 22, loss=2000),
    agent("A6", "L1", "tier2", 80, 21, 21, loss=500),
    agent("A7", "L2", "tier1", 85, 7, 21, nights=1),
    agent("A8", "L1", "tier2", 50, 21, 21, absences=1, nights=10),
]

# agent: [(line, amount), ...], total: worked out by hand, line by line.
STATEMENTS: dict[str, tuple[list[tuple[str, str]], str]] = {
    # Full month, grade B: 3000 + 0 + 1000 x 1.0 + 200.
    "A1": ([("base", "3000.00"), ("allowance", "0.00"), ("performance", "1000.00"), ("attendance", "200.00"), ("night", "0.00")], "4200.00"),
    # 15/20 days, grade A: 3000 x .75, 300 x .75, 1000 x 1.2 x .75, no attendance (2 absences), 4 nights x 25.
    "A2": ([("base", "2250.00"), ("allowance", "225.00"), ("performance", "900.00"), ("attendance", "0.00"), ("night", "100.00")], "3475.00"),
    # Grade D: 2000 + 600 x 0.5 = 2300 < tier2 minimum 2490: topped up by 190.
    "A3": ([("base", "2000.00"), ("allowance", "0.00"), ("performance", "300.00"), ("attendance", "0.00"), ("night", "0.00"), ("minimum_wage", "190.00")], "2490.00"),
    # Probation: 2000 + 600 + 200 = 2800 < 80% of the 4000 contract wage = 3200: topped up by 400.
    "A4": ([("base", "2000.00"), ("allowance", "0.00"), ("performance", "600.00"), ("attendance", "200.00"), ("night", "0.00"), ("probation_floor", "400.00")], "3200.00"),
    # 4000 + 300 + 1800 + 200 = 6300; a 2000 loss is capped at 20% = 1260.
    "A5": ([("base", "4000.00"), ("allowance", "300.00"), ("performance", "1800.00"), ("attendance", "200.00"), ("night", "0.00"), ("loss", "-1260.00")], "5040.00"),
    # 2800; a 500 loss may take at most 2800 - 2490 = 310, so the remainder stays at the minimum wage.
    "A6": ([("base", "2000.00"), ("allowance", "0.00"), ("performance", "600.00"), ("attendance", "200.00"), ("night", "0.00"), ("loss", "-310.00")], "2490.00"),
    # Mid-month hire, 7/21 days: 3500/3 = 1166.67, 150/3 = 50, 1200/3 = 400; attendance and nights not prorated.
    "A7": ([("base", "1166.67"), ("allowance", "50.00"), ("performance", "400.00"), ("attendance", "200.00"), ("night", "25.00")], "1841.67"),
    # Night-shift pay does not count toward the minimum wage: 2300 counted, topped up by 190, plus 250 nights.
    "A8": ([("base", "2000.00"), ("allowance", "0.00"), ("performance", "300.00"), ("attendance", "0.00"), ("night", "250.00"), ("minimum_wage", "190.00")], "2740.00"),
}  # fmt: skip


def test_hand_computed_statements() -> None:
    """Eight agents' statements match the hand computation line by line."""
    outcome = evaluate(build(PAY), AGENTS)
    assert outcome.rejections == []
    for d in outcome.decisions:
        assert d.pay is not None
        lines, total = STATEMENTS[d.agent_id]
        assert [(ln.id, str(ln.amount)) for ln in d.pay.lines] == lines, d.agent_id
        assert str(d.pay.total) == total, d.agent_id
        assert sum(ln.amount for ln in d.pay.lines) == d.pay.total


def test_statement_says_which_floor_or_cap_changed_the_figure() -> None:
    """Floors and caps explain themselves on their own line."""
    outcome = evaluate(build(PAY), AGENTS)
    basis = {d.agent_id: {ln.id: ln.basis for ln in d.pay.lines} for d in outcome.decisions if d.pay}
    assert basis["A3"]["minimum_wage"] == (
        "pay counted toward the minimum wage 2,300.00 is below the minimum wage for region tier2 (Tier-2 city) 2,490.00"
        " (effective 2024-07-01, test table); raised by 190.00"
    )
    assert basis["A4"]["probation_floor"] == (
        "probation pay may not be below 80% of the contract wage 4,000.00 = 3,200.00; raised by 400.00 (Labor Contract Law art. 20)"
    )
    assert basis["A5"]["loss"] == (
        "loss 2,000.00; deductions capped at 20% of the month's pay 6,300.00"
        " (Interim Provisions on Wage Payment art. 16): 1,260.00 deducted, 740.00 carried to later months"
    )
    assert basis["A6"]["loss"] == (
        "loss 500.00; limited so the pay counted toward the minimum wage stays at 2,490.00 or more"
        " (Interim Provisions on Wage Payment art. 16): 310.00 deducted, 190.00 carried to later months"
    )
    assert basis["A2"]["performance"] == "L3, region tier2: 1,000.00 × coefficient 1.2 (grade A) × 15/20 days"
    assert (
        basis["A2"]["attendance"] == "not paid: its condition was not met"
    )  # the expression is explain's, not a slip's


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("half_up", "2.345", "2.35"),
        ("half_up", "-2.345", "-2.35"),
        ("half_even", "2.345", "2.34"),
        ("half_even", "2.355", "2.36"),
        ("up", "2.341", "2.35"),
        ("down", "2.349", "2.34"),
    ],
)
def test_rounding_modes(mode: str, value: str, expected: str) -> None:
    """Each declared rounding mode rounds as its name says."""
    assert round_money(D(value), Rounding(mode=mode)) == D(expected)  # type: ignore[arg-type]


def test_rounding_to_whole_yuan() -> None:
    """The quantum can be a whole yuan."""
    assert round_money(D("1841.50"), Rounding(quantum=D(1))) == D(1842)


def test_an_amount_too_large_to_round_is_a_value_error() -> None:
    """An amount past what Decimal rounds to a cent rejects its record (it raised InvalidOperation)."""
    with pytest.raises(
        ValueError, match=r"^an amount of 1\.300000E\+26 is too large to pay: it cannot be rounded to 0\.01$"
    ):
        round_money(D("1.3e26"), Rounding())


def test_total_stage_rounds_once_with_a_visible_rounding_line() -> None:
    """With ``stage: total`` lines keep full precision and one rounding line closes the gap."""
    data = copy.deepcopy(PAY)
    data["pay"]["rounding"] = {"quantum": "0.01", "mode": "half_even", "stage": "total"}
    [d] = evaluate(build(data), [AGENTS[6]]).decisions
    assert d.pay is not None
    base = d.pay.lines[0]
    assert base.amount == D(3500) * D(7) / D(21)
    rounding = d.pay.lines[-1]
    assert rounding.id == "rounding"
    assert d.pay.total == D("1841.67")
    assert sum(ln.amount for ln in d.pay.lines) == d.pay.total
    assert rounding.basis == "total 1841.666666666666666666666667 rounded half-even to 0.01"


def test_band_lookup_edges_are_explicit() -> None:
    """Band edges are inclusive or exclusive exactly as declared."""
    lookup = BandLookup.model_validate(
        {
            "of": "score",
            "bands": [
                {"below": 60, "coefficient": "0.8"},
                {"above": 60, "below": 90, "below_inclusive": True, "coefficient": "1.0"},
                {"above": 90, "above_inclusive": False, "coefficient": "1.2"},
            ],
        }
    )
    assert band_coefficient(lookup, D("59.99"))[0] == D("0.8")
    assert band_coefficient(lookup, D(60))[0] == D("1.0")
    coefficient, basis = band_coefficient(lookup, D(90))
    assert (coefficient, basis.text("en")) == (D("1.0"), "score 90 in band [60, 90]")
    assert basis.text("zh") == "score 90 落在区间 [60, 90]"
    assert band_coefficient(lookup, D("90.01"))[0] == D("1.2")


def test_overlapping_bands_are_refused() -> None:
    """Two bands that both include an edge are a validation error."""
    with pytest.raises(ValueError, match=r"bands\[0\] and bands\[1\] both include 60"):
        BandLookup.model_validate(
            {
                "of": "s",
                "bands": [{"below": 60, "below_inclusive": True, "coefficient": 1}, {"above": 60, "coefficient": 1}],
            }
        )


def test_linear_pay_curve_is_interpolated_and_clamped() -> None:
    """The curve 0.8 at 60 to 1.2 at 100 gives 1.0 at 80 and clamps outside."""
    curve = Curve.model_validate({"of": "score", "points": [[60, "0.8"], [100, "1.2"]]})
    assert curve_coefficient(curve, D(80))[0] == D("1.0000")
    assert curve_coefficient(curve, D(50))[0] == D("0.8")
    assert curve_coefficient(curve, D(120))[0] == D("1.2")
    coefficient, basis = curve_coefficient(curve, D(70))
    assert (coefficient, basis.text("en")) == (D("0.9000"), "score 70 between 60 (0.8) and 100 (1.2): 0.9")


def test_no_float_reaches_money(stars) -> None:
    """Every amount in the sample's statements is a Decimal quantised to the cent."""
    outcome = evaluate(stars, read_records(stars, SAMPLE_H1))
    for d in outcome.decisions:
        assert d.pay is not None
        for line in d.pay.lines:
            assert isinstance(line.amount, D)
            assert line.amount == line.amount.quantize(D("0.01"))


def test_summary_reconciles_with_the_rows(stars) -> None:
    """Totals by level, team and region each add up to the sum of all statements."""
    outcome = evaluate(stars, read_records(stars, SAMPLE_H1))
    grand = sum(d.pay.total for d in outcome.decisions if d.pay)
    for key in ("level", "team", "region"):
        rows = summary_rows(outcome, key)
        assert sum(total for _, _, total in rows) == grand
        assert sum(n for _, n, _ in rows) == len(outcome.decisions)


def _cells(rows: list[tuple[str, str, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["agent_id", "pay_level", "region", "pay_total"], orient="row")


@pytest.mark.parametrize(
    "totals",
    [
        ["1.5", "2.25", "1800", None, "-0.10"],  # places differ from row to row
        ["0.1", "0.2", "0.30", "1E+3"],  # text polars does not read as a decimal: added one by one
        ["12345678901234.1234", "99999999999999.9999", "0.0001"],
    ],
)
def test_summary_totals_are_the_exact_decimal_sums(totals: list[str | None]) -> None:
    """Each group's total is the ``Decimal`` sum of its totals, places and all; agents counted once across periods."""
    rows = [(f"A{i % 2}", f"L{i % 2}", "tier1", t) for i, t in enumerate(totals)]
    summary = Summary(["level", "region"]).add(_cells(rows)).add(_cells(rows))
    paid = [(level, Decimal(t)) for _, level, _, t in rows if t is not None] * 2
    for level in ("L0", "L1"):
        expected = sum((t for lv, t in paid if lv == level), Decimal(0))
        found = {k: (n, total) for k, n, total in summary.rows("level")}[level]
        assert found == (sum(1 for lv, _ in paid if lv == level), expected)
        assert str(found[1]) == str(expected)
    assert str(summary.total) == str(sum((t for _, t in paid), Decimal(0)))
    assert summary.agents == {"A0", "A1"}
    table = summary.table().splitlines()
    assert [line.split()[:3] for line in table if line.startswith("tier1")] == [["tier1", "2", str(len(paid))]]


def test_sample_agent_below_minimum_wage_is_lifted(stars) -> None:
    """In the sample, a tier-2 one-star agent graded D is lifted to the minimum wage, and told so."""
    outcome = evaluate(stars, read_records(stars, SAMPLE_H1))
    lifted = [d for d in outcome.decisions if d.pay and any(ln.id == "minimum_wage" for ln in d.pay.lines)]
    assert lifted
    d = lifted[0]
    assert d.pay is not None
    line = next(ln for ln in d.pay.lines if ln.id == "minimum_wage")
    assert line.basis.startswith("pay counted toward the minimum wage")
    counted = sum(ln.amount for ln in d.pay.lines if ln.id not in ("night_shift", "minimum_wage", "loss"))
    assert counted + line.amount >= D("2490") * D(d.values["worked_days"]) / D(d.values["scheduled_days"]) - D("0.01")


amounts = st.decimals(min_value=0, max_value=100, places=0)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    qa=st.integers(0, 100),
    worked=st.integers(0, 23),
    absences=st.integers(0, 3),
    nights=st.integers(0, 10),
    loss=st.decimals(min_value=0, max_value=5000, places=2),
    contract=st.decimals(min_value=0, max_value=9000, places=2),
    level=st.sampled_from(["L1", "L2", "L3"]),
    region=st.sampled_from(["tier1", "tier2"]),
    status=st.sampled_from(["probation", "regular"]),
    stage=st.sampled_from(["line", "total"]),
    mode=st.sampled_from(["half_up", "half_even", "up", "down"]),
)
def test_lines_always_sum_to_the_total(
    qa, worked, absences, nights, loss, contract, level, region, status, stage, mode
) -> None:
    """Whatever the inputs, the lines add up exactly to a total that is quantised to the cent."""
    data = copy.deepcopy(PAY)
    data["pay"]["rounding"] = {"quantum": "0.01", "mode": mode, "stage": stage}
    record = agent(
        "X",
        level,
        region,
        qa,
        worked,
        23,
        absences=absences,
        nights=nights,
        loss=str(loss),
        contract=str(contract),
        status=status,
    )
    [d] = evaluate(build(data), [record]).decisions
    assert d.pay is not None
    assert sum(ln.amount for ln in d.pay.lines) == d.pay.total
    assert d.pay.total == d.pay.total.quantize(D("0.01"))
    deductions = -sum(ln.amount for ln in d.pay.lines if ln.kind == "deduction")
    assert deductions <= loss
    twin = dict(record, agent_id="Y", region="tier2" if region == "tier1" else "tier1", qa=100 - qa)
    outcome = evaluate(build(data), [record, twin])
    summary = Summary(["level", "region"]).add(outcome.cells)
    grand = sum(x.pay.total for x in outcome.decisions if x.pay)
    for key in ("level", "region"):
        assert sum(total for _, _, total in summary.rows(key)) == grand == summary.total


def test_pay_that_reads_no_record_value() -> None:
    """Fixed lines only (no proration, rates or floors): every agent shares one statement."""
    data = build().model.model_dump(mode="json", exclude_none=True)
    data["pay"] = {"lines": [{"id": "base", "label": "Base", "amount": "3000"}]}
    records = [{"agent_id": a, "period": "2026-01", "qa": 80} for a in ("A", "B")]
    outcome = evaluate(build(data), records)
    assert [d.pay.total for d in outcome.decisions if d.pay] == [D("3000.00"), D("3000.00")]
    assert outcome.to_polars()["pay_total"].to_list() == [D("3000.00"), D("3000.00")]


def test_what_the_cap_holds_back_is_carried_in_the_state_and_collected_later() -> None:
    """A5's 740 held back in January is collected in February under the same cap, through a saved state."""
    ruleset = build(PAY)
    january = evaluate(ruleset, [agent("A5", "L3", "tier1", 95, 22, 22, loss=2000)])
    assert january.state.by_agent()["A5"].deductions_due == {"loss": D("740.00")}
    assert january.decisions[0].state.deductions_due == {"loss": D("740.00")}
    for saved in (State.from_json(january.state.to_json()), State.from_csv(january.state.to_csv())):
        assert saved.by_agent()["A5"].deductions_due == {"loss": D("740.00")}
        # February: the same 6300 of pay, no new loss: the 740 carried is under the 1260 cap.
        february = evaluate(ruleset, [agent("A5", "L3", "tier1", 95, 20, 20) | {"period": "2026-02"}], saved)
        (decision,) = february.decisions
        assert decision.pay is not None
        assert [(ln.id, str(ln.amount)) for ln in decision.pay.lines][-1] == ("loss", "-740.00")
        assert decision.pay.lines[-1].basis == "740.00 held back from earlier months"
        assert str(decision.pay.total) == "5560.00"
        assert february.state.by_agent()["A5"].deductions_due == {}


def test_rounding_to_hundreds_rounds_to_hundreds() -> None:
    """``quantum: 100`` rounds to hundreds, written with its zeros (it used to round to whole units)."""
    rounding = Rounding(quantum=D(100))
    assert str(round_money(D("1841.50"), rounding)) == "1800"
    assert str(round_money(D("1850"), rounding)) == "1900"
    assert str(round_money(D("49.99"), rounding)) == "0"


def test_pay_ignores_the_callers_decimal_context() -> None:
    """Statements are the same whatever decimal context the caller has set (here 3 digits)."""
    import decimal

    with decimal.localcontext(decimal.Context(prec=3)):
        outcome = evaluate(build(PAY), AGENTS)
    assert outcome.rejections == []
    for d in outcome.decisions:
        assert d.pay is not None
        assert str(d.pay.total) == STATEMENTS[d.agent_id][1], d.agent_id


def test_amounts_beyond_exact_money_are_rejections_not_crashes() -> None:
    """A formula beyond 10^12 rejects the record naming the amount; a contract wage that large is refused as it is read."""
    data = copy.deepcopy(PAY)
    data["pay"]["lines"][4]["formula"] = "nights * 1000000000000000"
    outcome = evaluate(
        build(data),
        [
            agent("F", "L1", "tier1", 80, 21, 21, nights=10),
            agent("C", "L1", "tier1", 80, 21, 21, status="probation", contract="1e30"),
            AGENTS[0],
        ],
    )
    assert [d.agent_id for d in outcome.decisions] == ["A1"]
    assert [r.reasons for r in outcome.rejections] == [
        [
            "pay: the formula of line night `nights * 1000000000000000` is 10000000000000000, beyond the "
            "1,000,000,000,000 either way that pay is computed to exactly"
        ],
        ["contract: '1e30' is out of range: a number in a record is at most 10^12 (a trillion) either side of zero"],
    ]


def test_the_same_inputs_are_paid_under_each_months_minimum_wage() -> None:
    """The same inputs in four months: January's statement is February's; a figure from 15 March changes March's.

    Grade D in a tier-1 city: 3000 + 1000 x 0.5 + 200 = 3700. The minimum is 2690 until a
    4000 figure comes into force on 15 March: March (the higher figure within the month) and
    April are topped up by 300, January and February are not.
    """
    data = copy.deepcopy(PAY)
    figures = data["pay"]["floors"]["minimum_wage"]["table"]["tier1"]["figures"]
    figures.append({"monthly": 4000, "effective_from": "2026-03-15", "source": "a later table"})
    records = [
        {**agent("M1", "L1", "tier1", 60, 21, 21), "period": p} for p in ("2026-01", "2026-02", "2026-03", "2026-04")
    ]
    outcome = evaluate(build(data), records)
    assert outcome.rejections == []
    by_month = {d.period: d.pay for d in outcome.decisions}
    assert [str(by_month[p].total) for p in sorted(by_month)] == ["3700.00", "3700.00", "4000.00", "4000.00"]
    topped = {p: [ln.amount for ln in s.lines if ln.id == "minimum_wage"] for p, s in by_month.items()}
    assert topped == {"2026-01": [], "2026-02": [], "2026-03": [Decimal("300.00")], "2026-04": [Decimal("300.00")]}
    assert by_month["2026-02"] == by_month["2026-01"]
    assert "2026-03-15" in next(ln.basis for ln in by_month["2026-04"].lines if ln.id == "minimum_wage")
