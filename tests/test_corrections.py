"""Corrections of closed months, worked by hand: the engine's side of the ledger (no database here).

The ruleset LEDGER: two levels; L2 needs QA 85 in two consecutive months; grade A (QA 85
or more) has coefficient 1.2, B (75 or more) 1.0, D 0.5; pay is base by level (L1 3,000,
L2 3,500) plus performance by level (L1 1,000, L2 1,200) times the coefficient, each line
rounded half-up to 0.01; a minimum wage of 2,690 and a 20% cap on deductions.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from tierpay.engine.adjustments import Adjustment
from tierpay.engine.columns import RecordFrame
from tierpay.engine.corrections import History, LedgerRun, Owed, PeriodHistory, own_pay, run_with_history
from tierpay.engine.run import as_frame
from tierpay.ruleset.compiler import CompiledRuleset

from .conftest import build

LEDGER: dict[str, Any] = {
    "tierpay": 1,
    "name": "ledger-test",
    "version": "1",
    "effective_from": "2026-01-01",
    "metrics": {
        "qa": {"min": 0, "max": 100},
        "loss": {"min": 0, "default": 0},
    },
    "attributes": {"region": {"values": ["tier1"], "default": "tier1"}},
    "grades": [
        {"grade": "A", "when": "qa >= 85", "coefficient": "1.2"},
        {"grade": "B", "when": "qa >= 75", "coefficient": "1.0"},
        {"grade": "D", "coefficient": "0.5"},
    ],
    "levels": [
        {"id": "L1", "name": "一星"},
        {"id": "L2", "name": "二星", "entry": "qa >= 85"},
    ],
    "promotion": {"consecutive_periods": 2},
    "new_agents": {"level": "L1"},
    "pay": {
        "rounding": {"quantum": "0.01", "mode": "half_up", "stage": "line"},
        "lines": [
            {"id": "base", "by_level": {"L1": 3000, "L2": 3500}},
            {"id": "performance", "times_coefficient": True, "by_level": {"L1": 1000, "L2": 1200}},
        ],
        "deductions": [{"id": "loss", "metric": "loss"}],
        "floors": {
            "minimum_wage": {"by": "region", "table": {
                "tier1": {"name": "Tier-1 city", "figures": [{"monthly": 2690, "effective_from": "2024-07-01", "source": "test table"}]},
            }},
            "deduction_cap_percent": 20,
        },
    },
}  # fmt: skip


def ruleset() -> CompiledRuleset:
    return build(LEDGER)


def frame(target: CompiledRuleset, rows: list[dict[str, Any]]) -> RecordFrame:
    return as_frame(target, rows)


def closed_history(target: CompiledRuleset, rows: list[dict[str, Any]], closed: set[str]) -> History:
    """The history a ledger would hold after deciding ``rows`` and closing the months ``closed``."""
    run = run_with_history(target, frame(target, rows), History())
    periods = []
    for result in run.results:
        cells = result.cells
        paid = {
            a: own_pay(t, adj)
            for a, t, adj in cells.select("agent_id", "pay_total", "pay_adjustment").iter_rows()
            if t is not None
        }
        periods.append(
            PeriodHistory(
                period=result.period,
                closed=result.period in closed,
                state_after=run.states[result.period],
                hashes=run.hashes[result.period],
                paid={a: v for a, v in paid.items() if v is not None},
            )
        )
    return History(periods=periods, start=run.start)


def pay_of(run: LedgerRun, agent: str, period: str) -> dict[str, D]:
    decision = run.outcome.decision(agent, period)
    assert decision.pay is not None
    return {line.id: line.amount for line in decision.pay.lines} | {"total": decision.pay.total}


JAN = [{"agent_id": "A1", "period": "2026-01", "qa": 80}, {"agent_id": "A2", "period": "2026-01", "qa": 90}]
FEB = [{"agent_id": "A1", "period": "2026-02", "qa": 88}, {"agent_id": "A2", "period": "2026-02", "qa": 90}]
MAR = [{"agent_id": "A1", "period": "2026-03", "qa": 88}, {"agent_id": "A2", "period": "2026-03", "qa": 90}]


def test_a_corrected_closed_month_is_paid_as_an_adjustment_in_the_first_open_month() -> None:
    """January closed with A1 at QA 80; an appeal raises it to 86: +200.00 in March, January itself untouched."""
    target = ruleset()
    history = closed_history(target, JAN + FEB, {"2026-01", "2026-02"})
    corrected = [dict(JAN[0], qa=86), JAN[1]]
    # Feb: A1 qa 88 still A (1.2). Before: Jan 80 did not meet L2's entry, so Feb's streak was 1.
    # After: Jan 86 meets it, Feb 88 too: two in a row, A1 is promoted to L2 in February.
    run = run_with_history(target, frame(target, corrected + FEB + MAR), history)
    assert run.corrected == ["2026-01", "2026-02"]
    assert run.outcome.periods == ["2026-03"]
    # Jan: was B (1.0): 3,000 + 1,000 × 1.0 = 4,000.00; now A (1.2): 3,000 + 1,200.00 = 4,200.00: +200.00.
    # Feb: was L1, A: 3,000 + 1,200 = 4,200.00; now L2, A: 3,500 + 1,200 × 1.2 = 3,500 + 1,440 = 4,940.00: +740.00.
    assert run.new == [
        Owed("A1", Adjustment("2026-01", D("4000.00"), D("4200.00"))),
        Owed("A1", Adjustment("2026-02", D("4200.00"), D("4940.00"))),
    ]
    # March: A1 is L2 (promoted in the corrected February), A: 3,500 + 1,440 = 4,940.00,
    # plus 200.00 for January and 740.00 for February = 5,880.00.
    march = run.outcome.decision("A1", "2026-03")
    assert march.level_before == "L2"
    assert pay_of(run, "A1", "2026-03") == {
        "base": D("3500.00"),
        "performance": D("1440.00"),
        "adjustment:2026-01": D("200.00"),
        "adjustment:2026-02": D("740.00"),
        "total": D("5880.00"),
    }
    lines = {line.id: line.basis_in("en") for line in march.pay.lines}  # type: ignore[union-attr]
    assert lines["adjustment:2026-01"] == (
        "adjustment for 2026-01: +200.00 (2026-01 decided again after it closed: 4,200.00 due, 4,000.00 paid)"
    )
    zh = {line.id: line.basis_in("zh") for line in march.pay.lines}  # type: ignore[union-attr]
    assert zh["adjustment:2026-02"] == "2026-02 调整：+740.00（2026-02 结账后重新评定：应发 4,940.00，已发 4,200.00）"
    # A2 is unchanged: no adjustment, an empty pay_adjustment cell.
    cells = run.outcome.cells.filter(run.outcome.cells["agent_id"] == "A2")
    assert cells["pay_adjustment"].to_list() == [None]
    assert run.outcome.cells.filter(run.outcome.cells["agent_id"] == "A1")["pay_adjustment"].to_list() == ["940.00"]


def test_an_overpaid_closed_month_is_recovered_under_the_cap_and_the_rest_carried() -> None:
    """January closed with A2 at QA 90; corrected to 60: 2,100.00 overpaid, recovered 20% of March's pay at most."""
    target = ruleset()
    history = closed_history(target, JAN, {"2026-01"})
    corrected = [JAN[0], dict(JAN[1], qa=60)]
    run = run_with_history(target, frame(target, [*corrected, dict(FEB[0]), dict(FEB[1], qa=60)]), history)
    # Jan A2: was A: 3,000 + 1,200 = 4,200.00; now D (0.5): 3,000 + 500 = 3,500.00: -700.00.
    assert run.new == [Owed("A2", Adjustment("2026-01", D("4200.00"), D("3500.00")))]
    # Feb A2 (QA 60, and no longer promoted): D: 3,000 + 500 = 3,500.00. The cap: 20% of 3,500.00 = 700.00, and the room above the
    # minimum wage is 3,500 - 2,690 = 810.00: all 700.00 is recovered; nothing is carried.
    pay = pay_of(run, "A2", "2026-02")
    assert (pay["base"], pay["performance"], pay["adjustment:2026-01"]) == (D("3000.00"), D("500.00"), D("-700.00"))
    assert pay["total"] == D("2800.00")  # 3,500.00 - 700.00
    assert run.outcome.state.by_agent()["A2"].deductions_due == {}


def test_a_recovery_beyond_the_cap_is_carried_to_later_months() -> None:
    """Overpayments of 2,140.00 against a 4,200.00 month: 840.00 (20%) now, 1,300.00 carried in the state."""
    target = ruleset()
    history = closed_history(target, JAN + FEB, {"2026-01", "2026-02"})
    # As closed, A2 (QA 90 both months) was A in January (L1: 3,000 + 1,200 = 4,200.00) and promoted to L2
    # in February (two months in a row): 3,500 + 1,200 x 1.2 = 4,940.00. Corrected to QA 60 both months:
    # D (0.5) and no promotion: 3,000 + 500 = 3,500.00 each. January -700.00, February -1,440.00.
    corrected = [JAN[0], dict(JAN[1], qa=60), FEB[0], dict(FEB[1], qa=60)]
    run = run_with_history(target, frame(target, corrected + MAR), history)
    assert run.new == [
        Owed("A2", Adjustment("2026-01", D("4200.00"), D("3500.00"))),
        Owed("A2", Adjustment("2026-02", D("4940.00"), D("3500.00"))),
    ]
    # March A2 at QA 90, still L1: A, 4,200.00; cap 20% = 840.00, room above the minimum wage
    # 4,200 - 2,690 = 1,510.00. So 840.00 is recovered: January's 700.00 first, then 140.00 of
    # February's; 1,440.00 - 140.00 = 1,300.00 is carried.
    pay = pay_of(run, "A2", "2026-03")
    assert pay["adjustment:2026-01"] == D("-700.00")
    assert pay["adjustment:2026-02"] == D("-140.00")
    assert pay["total"] == D("3360.00")  # 4,200.00 - 840.00
    assert run.outcome.state.by_agent()["A2"].deductions_due == {"adjustment:2026-02": D("1300.00")}
    march = run.outcome.decision("A2", "2026-03")
    basis = {line.id: line.basis_in("en") for line in march.pay.lines}  # type: ignore[union-attr]
    assert basis["adjustment:2026-02"] == (
        "adjustment for 2026-02: -1,440.00 (2026-02 decided again after it closed: 3,500.00 due, 4,940.00 paid); "
        "deductions capped at 20% of the month's pay 4,200.00 (Interim Provisions on Wage Payment art. 16): "
        "140.00 deducted, 1,300.00 carried to later months"
    )


def test_an_overpayment_is_set_off_against_a_back_payment_first() -> None:
    """-500.00 for January and +700.00 for February: the back-payment covers the recovery, the wage is not touched."""
    target = ruleset()
    closed = [JAN[0], dict(FEB[0], qa=70)]
    history = closed_history(target, closed, {"2026-01", "2026-02"})
    # As closed: Jan QA 80, B: 3,000 + 1,000 = 4,000.00; Feb QA 70, D: 3,000 + 500 = 3,500.00.
    # Corrected: Jan QA 60, D: 3,500.00 (-500.00); Feb QA 88, A: 3,000 + 1,200 = 4,200.00 (+700.00).
    corrected = [dict(JAN[0], qa=60), dict(FEB[0], qa=88)]
    run = run_with_history(target, frame(target, [*corrected, MAR[0]]), history)
    # March QA 88: February and March meet L2's entry: promoted, A: 3,500 + 1,440 = 4,940.00.
    # +700.00 for February is paid; January's -500.00 is set off against it in full: no deduction
    # from March's wage. 4,940.00 + 700.00 - 500.00 = 5,140.00.
    pay = pay_of(run, "A1", "2026-03")
    assert pay == {
        "base": D("3500.00"),
        "performance": D("1440.00"),
        "adjustment:2026-02": D("700.00"),
        "adjustment:2026-01": D("-500.00"),
        "total": D("5140.00"),
    }
    march = run.outcome.decision("A1", "2026-03")
    basis = {line.id: line.basis_in("en") for line in march.pay.lines}  # type: ignore[union-attr]
    assert basis["adjustment:2026-01"] == (
        "adjustment for 2026-01: -500.00 (2026-01 decided again after it closed: 3,500.00 due, 4,000.00 paid); "
        "500.00 of it set off against this month's other adjustments"
    )


def test_a_closed_month_as_it_was_closed_is_not_decided_again() -> None:
    """Records of a closed month that match it hash for hash are left alone; the open month resumes after it."""
    target = ruleset()
    history = closed_history(target, JAN, {"2026-01"})
    again = [dict(JAN[0], qa="80.0"), JAN[1]]  # 80.0 is 80: the same record
    run = run_with_history(target, frame(target, again + FEB), history)
    assert run.unchanged == ["2026-01"]
    assert run.corrected == []
    assert run.outcome.periods == ["2026-02"]
    assert run.new == []
    assert run.start == history.periods[0].state_after


def test_a_run_resumes_from_the_state_after_the_last_month_held() -> None:
    """February alone, after a ledger holding January: the state comes from the ledger, as --state-in would."""
    target = ruleset()
    history = closed_history(target, JAN, set())
    run = run_with_history(target, frame(target, FEB), history)
    assert run.start == history.periods[0].state_after
    # A2 met L2's entry in January and February: promoted in February (two in a row).
    assert run.outcome.decision("A2", "2026-02").level == "L2"


def test_a_closed_month_missing_agents_is_rejected_whole() -> None:
    """A correction of January that holds only A1's record would drop A2: every January record is rejected."""
    target = ruleset()
    history = closed_history(target, JAN, {"2026-01"})
    run = run_with_history(target, frame(target, [dict(JAN[0], qa=86), *FEB]), history)
    assert [str(r) for r in run.outcome.rejections] == [
        "<records>:1 (A1 2026-01): period: 2026-01 is closed with 2 agents and the records hold 1 of them: "
        "deciding a closed month again takes every record of it (missing: A2)"
    ]
    assert run.corrected == []
    assert run.outcome.periods == ["2026-02"]


def test_a_month_before_a_closed_one_is_rejected() -> None:
    """December cannot be decided once January is closed."""
    target = ruleset()
    history = closed_history(target, JAN, {"2026-01"})
    december = [{"agent_id": "A1", "period": "2025-12", "qa": 80}]
    run = run_with_history(target, frame(target, december + FEB), history)
    assert [r.reasons for r in run.outcome.rejections] == [
        ["period: 2025-12 comes before 2026-01, which is closed: it can no longer be decided"]
    ]


def test_an_adjustment_waits_for_the_agents_next_record() -> None:
    """A1 has no March record: the +200.00 stays owed, and is paid in the first month A1 has one."""
    target = ruleset()
    history = closed_history(target, JAN, {"2026-01"})
    corrected = [dict(JAN[0], qa=86), JAN[1]]
    run = run_with_history(target, frame(target, [*corrected, FEB[1]]), history)
    assert run.new == [Owed("A1", Adjustment("2026-01", D("4000.00"), D("4200.00")))]
    assert run.paid == {}
    owed = History(
        periods=[*history.periods[:0], *closed_history(target, [*corrected, FEB[1]], {"2026-01"}).periods],
        start=history.start,
        owed=[Owed("A1", run.new[0].adjustment, key=7)],
    )
    later = run_with_history(target, frame(target, [dict(MAR[0]), MAR[1]]), owed)
    assert later.paid == {("2026-03", "A1"): [Owed("A1", run.new[0].adjustment, key=7)]}
    assert pay_of(later, "A1", "2026-03")["adjustment:2026-01"] == D("200.00")


def test_a_correction_without_the_closed_months_after_it_is_rejected() -> None:
    """January changed but closed February is not in the records: deciding January alone would keep February's old level."""
    target = ruleset()
    history = closed_history(target, JAN + FEB, {"2026-01", "2026-02"})
    run = run_with_history(target, frame(target, [dict(JAN[0], qa=86), JAN[1], *MAR]), history)
    reason = (
        "period: 2026-01 is closed and these records change it; deciding it again decides 2026-02 (closed after it) "
        "again too, and the records hold none of 2026-02: give every record of every month from 2026-01 on"
    )
    assert [r.reasons for r in run.outcome.rejections] == [[reason], [reason]]
    assert run.corrected == []
    assert run.new == []
    # March is decided from the state after February as closed: A1 still L1 (not promoted there).
    assert run.outcome.decision("A1", "2026-03").level_before == "L1"
