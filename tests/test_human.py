"""Decisions by people: each kind worked by hand, the refusals the law and the ruleset call for, and reading them.

The small ruleset (``conftest.MINI``): levels L1, L2 (entry qa >= 80, maintain qa >= 70) and L3
(entry qa >= 90, maintain qa >= 85); promotion after 2 consecutive periods; probation of at
least 2 and at most 3 months (``max_periods``), converted when qa >= 75.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tierpay import HumanDecision, State, evaluate, read_decisions
from tierpay.cli import main
from tierpay.engine.human import check_rows
from tierpay.errors import RecordsError

from .conftest import MINI, build

R = "decisions.csv"


def hd(agent: str, period: str, decision: str, value: str | None = None, row: int = 2, **more: Any) -> HumanDecision:
    """A decision by 王敏 for a reason, read from line ``row`` of decisions.csv."""
    fields = {"by": "王敏", "reason": "calibration", **more}
    return HumanDecision(
        agent_id=agent,
        period=period,
        decision=decision,
        value=value,
        source=R,
        row=row,
        **fields,  # type: ignore[arg-type]
    )


def probationer(period: str, qa: int, agent: str = "P1") -> dict[str, Any]:
    """A probationer's record: started 2026-01-05 on a 3-year contract (legal cap 6 months, MINI caps at 3)."""
    return {
        "agent_id": agent,
        "period": period,
        "status": "probation",
        "start_date": "2026-01-05",
        "contract_term": "3y",
        "qa": qa,
    }


def rejected(outcome: Any) -> list[str]:
    return [str(r) for r in outcome.rejections]


# --- convert -------------------------------------------------------------------------------------


def test_convert_passes_a_probationer_before_the_rules_would() -> None:
    """Month 1 of 3 with qa 60: the rules hold (the minimum is 2 months); the panel converts in their place."""
    outcome = evaluate(build(), [probationer("2026-01", 60)], decisions=[hd("P1", "2026-01", "convert")])
    d = outcome.decision("P1", "2026-01")
    assert (d.action, d.reason, d.on_probation) == ("convert", "converted_by_decision", False)
    assert d.why == "converted to regular by 王敏: calibration (month 1 of 3 of probation)"
    assert d.notes == ["convert by 王敏 (decisions.csv:2): the rules alone gave hold (probation_min_not_served)"]
    assert [h.decision for h in d.decided] == ["convert"]
    state = outcome.state.by_agent()["P1"]
    assert (state.on_probation, state.probation_periods, state.probation_extension) == (False, 1, 0)
    assert not outcome.rejections


def test_convert_of_an_agent_not_on_probation_is_refused() -> None:
    """A regular agent has no probation to pass: the decision is refused, the record still decided."""
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85}]
    outcome = evaluate(build(), records, decisions=[hd("A1", "2026-01", "convert")])
    assert rejected(outcome) == [
        "decisions.csv:2 (A1 2026-01): decision: convert, but A1 is not on probation in 2026-01"
    ]
    assert outcome.decision("A1", "2026-01").reason == "streak_short"


# --- extend_probation ----------------------------------------------------------------------------


def test_an_extension_moves_the_end_of_probation_and_the_state_carries_it() -> None:
    """Started 2026-01-05, cap 3 months; extended by 2 in January: 5 months, ending 2026-06-04.

    With qa 60 throughout: Jan extended by the decision; Feb, Mar month 2, 3 of 5, not met,
    continue; Apr (1 month left) referred to HR; May, the last month, regular by law at the
    cap. Without the extension March would have been the cap.
    """
    months = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    records = [probationer(m, 60) for m in months]
    outcome = evaluate(build(), records, decisions=[hd("P1", "2026-01", "extend_probation", "2")])
    got = [(d.action, d.reason, d.state.probation_extension) for d in outcome.decisions]
    assert got == [
        ("extend_probation", "probation_extended_by_decision", 2),
        ("extend_probation", "conversion_not_met", 2),
        ("extend_probation", "conversion_not_met", 2),
        ("probation_review", "probation_ending", 2),
        ("convert", "probation_cap_reached", 0),
    ]
    first = outcome.decision("P1", "2026-01")
    assert first.why == (
        "probation extended by 2 month(s) by 王敏: calibration; probation now ends on 2026-06-04, month 1 of 5 "
        "(the most a 3-year contract allows is 6, Labor Contract Law art. 19)"
    )
    assert "ends on 2026-06-04" in outcome.decision("P1", "2026-05").why
    without = evaluate(build(), records)
    assert without.decision("P1", "2026-03").reason == "probation_cap_reached"


def test_an_extension_past_the_legal_cap_is_refused() -> None:
    """3 months + 4 = 7 > the 6 a 3-year contract allows (art. 19): refused, saying 3 more at most."""
    outcome = evaluate(build(), [probationer("2026-01", 60)], decisions=[hd("P1", "2026-01", "extend_probation", "4")])
    assert rejected(outcome) == [
        "decisions.csv:2 (P1 2026-01): value: 4 more months would make probation 7 months; a 3-year contract "
        "allows at most 6 (Labor Contract Law art. 19): at most 3 more"
    ]
    assert outcome.decision("P1", "2026-01").reason == "probation_min_not_served"  # the rules' own answer stands


def test_an_extension_of_a_probation_the_record_says_is_over_is_refused() -> None:
    """February's record says regular (the employer converted P1): an extension contradicts it, and is refused."""
    records = [probationer("2026-01", 60), {**probationer("2026-02", 60), "status": "regular"}]
    outcome = evaluate(build(), records, decisions=[hd("P1", "2026-02", "extend_probation", "1")])
    assert rejected(outcome) == [
        "decisions.csv:2 (P1 2026-02): decision: extend_probation, but the record says P1 is no longer on probation "
        "in 2026-02 (converted by the employer): one of the two is wrong"
    ]
    assert outcome.decision("P1", "2026-02").reason == "converted_by_employer"


def test_extensions_add_up_across_runs_chained_through_the_state() -> None:
    """+2 in January (5 months) then +2 in February: 7 > 6, refused with 1 more at most; the state said 2."""
    decisions = [hd("P1", "2026-01", "extend_probation", "2"), hd("P1", "2026-02", "extend_probation", "2", row=3)]
    january = evaluate(build(), [probationer("2026-01", 60)], decisions=decisions[:1])
    carried = State.from_json(january.state.to_json())
    assert carried.by_agent()["P1"].probation_extension == 2
    february = evaluate(build(), [probationer("2026-02", 60)], carried, decisions=decisions[1:])
    assert rejected(february) == [
        "decisions.csv:3 (P1 2026-02): value: 2 more months would make probation 7 months; a 3-year contract "
        "allows at most 6 (Labor Contract Law art. 19): at most 1 more"
    ]
    whole = evaluate(build(), [probationer("2026-01", 60), probationer("2026-02", 60)], decisions=decisions)
    assert whole.state == february.state
    assert whole.csv().splitlines()[2] == february.csv().splitlines()[1]


def test_a_state_written_without_extensions_is_as_before() -> None:
    """No extension: no probation_extension key in JSON, no column in CSV (states stay byte for byte)."""
    outcome = evaluate(build(), [probationer("2026-01", 60)])
    assert "probation_extension" not in outcome.state.to_json()
    assert "probation_extension" not in outcome.state.to_csv()
    extended = evaluate(build(), [probationer("2026-01", 60)], decisions=[hd("P1", "2026-01", "extend_probation", "1")])
    assert State.from_csv(extended.state.to_csv()) == extended.state


# --- set_level -----------------------------------------------------------------------------------


def test_set_level_replaces_the_state_machine_and_starts_the_level_afresh() -> None:
    """L1 with qa 85 is 1 of 2 periods toward L2; set to L3: a promotion, 0 periods in L3, no streak.

    February, qa 86: L3's maintenance (qa >= 85) holds and L3 is the top level.
    """
    records = [
        {"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85},
        {"agent_id": "A1", "period": "2026-02", "qa": 86},
    ]
    outcome = evaluate(build(), records, decisions=[hd("A1", "2026-01", "set_level", "L3", at="2026-02-10T00:00")])
    jan, feb = outcome.decisions
    assert (jan.level_before, jan.level, jan.action, jan.reason) == ("L1", "L3", "promote", "level_set_by_decision")
    assert jan.why == "set to L3 by 王敏 on 2026-02-10: calibration"
    assert (jan.state.periods_in_level, jan.state.promote_streak, jan.state.streak_level) == (0, 0, None)
    assert jan.notes == ["set_level by 王敏 (decisions.csv:2): the rules alone gave hold (streak_short) at L1"]
    assert (feb.level_before, feb.reason) == ("L3", "top_level")
    assert outcome.csv().splitlines()[1].split(",")[9:13] == [
        "promote",
        "level_set_by_decision",
        "set_level=L3",
        "王敏",
    ]


def test_set_level_refuses_a_level_the_ruleset_lacks_and_a_probationer() -> None:
    """L9 is no level; a probationer's level is fixed until conversion, unless converted in the same period."""
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85}, probationer("2026-01", 80)]
    decisions = [hd("A1", "2026-01", "set_level", "L9"), hd("P1", "2026-01", "set_level", "L2", row=3)]
    outcome = evaluate(build(), records, decisions=decisions)
    assert rejected(outcome) == [
        "decisions.csv:2 (A1 2026-01): value: 'L9' is not a level of mini 1 (L1, L2, L3)",
        "decisions.csv:3 (P1 2026-01): decision: set_level, but P1 is on probation in 2026-01: the level is fixed "
        "until conversion (decide convert for the same period first)",
    ]
    both = evaluate(build(), [probationer("2026-01", 80)], decisions=[decisions[1], hd("P1", "2026-01", "convert")])
    d = both.decision("P1")
    assert (d.action, d.reason, d.level, d.on_probation) == ("convert", "converted_by_decision", "L2", False)
    assert not both.rejections


def test_set_level_cannot_lower_a_level_in_a_protected_month() -> None:
    """Statutory protection (art. 42; 女职工劳动保护特别规定 art. 5): no demotion because of the period, by person or rule."""
    data = copy.deepcopy(MINI)
    data["attributes"]["leave"] = {"type": "boolean", "default": False}
    data["protection"] = {"when": "leave", "reason": "maternity leave"}
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L3", "qa": 60, "leave": True}]
    outcome = evaluate(build(data), records, decisions=[hd("A1", "2026-01", "set_level", "L1")])
    assert rejected(outcome) == [
        "decisions.csv:2 (A1 2026-01): value: L1 is below L3, and 2026-01 is a statutory protected period "
        "(maternity leave): no demotion because of it (Labor Contract Law art. 42; 女职工劳动保护特别规定 art. 5)"
    ]
    assert outcome.decision("A1").level == "L3"


# --- set_grade -----------------------------------------------------------------------------------


def graded() -> Any:
    data = copy.deepcopy(MINI)
    data["grades"] = [
        {"grade": "A", "when": "qa >= 90", "coefficient": "1.2"},
        {"grade": "B", "coefficient": "1.0"},
    ]
    return build(data)


def test_set_grade_replaces_the_bands_and_its_coefficient_follows() -> None:
    """qa 80 is grade B by the bands; an appeal sets A (what the grade's coefficient reads: see the corpus runs)."""
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 80}]
    outcome = evaluate(graded(), records, decisions=[hd("A1", "2026-01", "set_grade", "A")])
    d = outcome.decision("A1")
    assert (d.grade, d.values["grade"], d.reason) == ("A", "A", "streak_short")
    assert d.notes == ["set_grade by 王敏 (decisions.csv:2): the rules alone gave grade B"]
    refused = evaluate(graded(), records, decisions=[hd("A1", "2026-01", "set_grade", "Z")])
    assert rejected(refused) == ["decisions.csv:2 (A1 2026-01): value: 'Z' is not a grade of mini 1 (A, B)"]
    no_grades = evaluate(build(), records, decisions=[hd("A1", "2026-01", "set_grade", "A")])
    assert rejected(no_grades) == ["decisions.csv:2 (A1 2026-01): decision: set_grade, but mini 1 has no grades"]


def test_a_decision_that_changes_nothing_is_applied_with_a_warning() -> None:
    """Setting the grade or level the rules gave anyway is kept (by whom) but said: perhaps the wrong agent or month."""
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 95}]
    same = [hd("A1", "2026-01", "set_grade", "A"), hd("A1", "2026-01", "set_level", "L1", row=3)]
    outcome = evaluate(graded(), records, decisions=same)
    assert outcome.warnings == [
        "decisions.csv:2: decision for A1 in 2026-01 sets grade A, which the rules gave anyway",
        "decisions.csv:3: decision for A1 in 2026-01 sets level L1, which the rules gave anyway",
    ]
    d = outcome.decision("A1")
    assert (d.grade, d.level, [h.decision for h in d.decided]) == ("A", "L1", ["set_level", "set_grade"])
    assert not outcome.rejections
    other = evaluate(graded(), records, decisions=[hd("A1", "2026-01", "set_grade", "B")])
    assert other.warnings == []


# --- the review ----------------------------------------------------------------------------------


def reviewed() -> Any:
    """Bottom 1 of cohorts of at least 3 by qa, stages coaching (1), plan (2), hr_review (3)."""
    data = copy.deepcopy(MINI)
    data["review"] = {
        "rank_by": "qa",
        "bottom_count": 1,
        "min_cohort_size": 3,
        "escalation": {"stages": [{"code": "coaching", "after": 1}, {"code": "plan", "after": 2}]},
    }
    return build(data)


def month(period: str, w: int) -> list[dict[str, Any]]:
    return [
        {"agent_id": "W", "period": period, "level": "L1", "qa": w},
        {"agent_id": "X", "period": period, "level": "L1", "qa": 80},
        {"agent_id": "Y", "period": period, "level": "L1", "qa": 90},
        {"agent_id": "Z", "period": period, "level": "L1", "qa": 95},
    ]


def test_clear_review_clears_the_flag_and_resets_the_escalation() -> None:
    """W is the bottom 1 of 4 each month: Jan coaching (1), Feb plan (2) but cleared: 0; Mar coaching again (1)."""
    records = month("2026-01", 60) + month("2026-02", 61) + month("2026-03", 62)
    outcome = evaluate(reviewed(), records, decisions=[hd("W", "2026-02", "clear_review")])
    w = [outcome.decision("W", m).review for m in ("2026-01", "2026-02", "2026-03")]
    assert [(r.flagged, r.streak, r.stage) for r in w if r] == [
        (True, 1, "coaching"),
        (False, 0, None),
        (True, 1, "coaching"),
    ]
    assert w[1] is not None
    assert w[1].reason == (
        "rank 4 of 4 in all: in the bottom 1 of 4; review flag cleared and escalation reset by 王敏: calibration"
    )
    assert outcome.decision("X", "2026-02").review.flagged is False  # type: ignore[union-attr]  # no one takes W's place


def test_exempt_review_takes_the_agent_out_of_the_ranking_this_period_only() -> None:
    """W exempt in January: X is the bottom 1 of the 3 ranked; in February W is ranked again, and flagged."""
    records = month("2026-01", 60) + month("2026-02", 60)
    outcome = evaluate(reviewed(), records, decisions=[hd("W", "2026-01", "exempt_review")])
    jan_w, jan_x = outcome.decision("W", "2026-01").review, outcome.decision("X", "2026-01").review
    assert jan_w is not None
    assert jan_x is not None
    assert (jan_w.ranked, jan_w.exempt, jan_w.reason) == (
        False,
        "decision",
        "exempt (decision): exempted from the review this period by 王敏: calibration",
    )
    assert (jan_x.flagged, jan_x.cohort_size) == (True, 3)
    feb_w = outcome.decision("W", "2026-02").review
    assert feb_w is not None
    assert (feb_w.flagged, feb_w.streak) == (True, 1)
    assert "review_exempt" in outcome.csv().splitlines()[0]
    header, first = (line.split(",") for line in outcome.csv().splitlines()[:2])
    assert dict(zip(header, first, strict=True))["review_exempt"] == "decision"


def test_review_decisions_need_a_review() -> None:
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85}]
    outcome = evaluate(build(), records, decisions=[hd("A1", "2026-01", "clear_review")])
    assert rejected(outcome) == ["decisions.csv:2 (A1 2026-01): decision: clear_review, but mini 1 has no review"]


# --- what cannot apply ---------------------------------------------------------------------------


def test_two_of_a_kind_or_a_conversion_and_an_extension_are_both_refused() -> None:
    """Which of two holds is for the people who made them to say, not for the order of the file."""
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85}, probationer("2026-01", 60)]
    decisions = [
        hd("A1", "2026-01", "set_level", "L2", row=2),
        hd("A1", "2026-01", "set_level", "L3", row=3),
        hd("P1", "2026-01", "convert", row=4),
        hd("P1", "2026-01", "extend_probation", "1", row=5),
    ]
    outcome = evaluate(build(), records, decisions=decisions)
    assert rejected(outcome) == [
        "decisions.csv:2 (A1 2026-01): decision: set_level for A1 in 2026-01 is also on line 3: give one decision "
        "of a kind per agent and period",
        "decisions.csv:3 (A1 2026-01): decision: set_level for A1 in 2026-01 is also on line 2: give one decision "
        "of a kind per agent and period",
        "decisions.csv:4 (P1 2026-01): decision: convert and extend_probation for P1 in 2026-01 cannot both hold "
        "(see line 5): give one",
        "decisions.csv:5 (P1 2026-01): decision: convert and extend_probation for P1 in 2026-01 cannot both hold "
        "(see line 4): give one",
    ]
    assert outcome.decision("A1").reason == "streak_short"


def test_a_decision_with_no_record_to_apply_to_is_refused_and_the_rest_stand() -> None:
    """An unknown agent, a month with no records, a record that was rejected: each named; the good one applies."""
    records = [
        {"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85},
        {"agent_id": "A2", "period": "2026-01", "level": "L1", "qa": 185},
    ]
    decisions = [
        hd("A9", "2026-01", "set_level", "L2", row=2),
        hd("A1", "2026-03", "set_level", "L2", row=3),
        hd("A2", "2026-01", "set_level", "L2", row=4),
        hd("A1", "2026-01", "set_level", "L2", row=5),
    ]
    outcome = evaluate(build(), records, decisions=decisions)
    assert [r for r in rejected(outcome) if r.startswith(R)] == [
        "decisions.csv:2 (A9 2026-01): agent_id: A9 has no record in 2026-01: the decision has nothing to apply to",
        "decisions.csv:3 (A1 2026-03): period: no record of 2026-03 was read: the decision has nothing to apply to",
        "decisions.csv:4 (A2 2026-01): agent_id: A2's record for 2026-01 was rejected: the decision has nothing "
        "to apply to",
    ]
    assert outcome.decision("A1").level == "L2"


def test_without_decisions_nothing_changes_and_with_none_the_columns_are_there() -> None:
    """``decisions=None`` is the run as before; an empty list adds the decided columns, empty."""
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85}]
    before, empty = evaluate(build(), records), evaluate(build(), records, decisions=[])
    assert "decided" not in before.csv().splitlines()[0]
    header, row = empty.csv().splitlines()
    assert header.split(",")[11:13] == ["decided", "decided_by"]
    assert row.split(",")[11:13] == ["", ""]
    assert before.state == empty.state
    assert "decided" not in before.decision("A1").model_dump()


# --- reading -------------------------------------------------------------------------------------


def test_every_problem_of_a_row_is_named_with_its_field() -> None:
    rows = [
        (2, {"agent_id": "A1", "period": "2026-13", "decision": "set_levle", "by": " ", "reason": ""}),
        (
            3,
            {"agent_id": "A1", "period": "2026-01", "decision": "clear_review", "value": "x", "by": "b", "reason": "r"},
        ),
        (
            4,
            {
                "agent_id": "A1",
                "period": "2026-01",
                "decision": "extend_probation",
                "value": "two",
                "by": "b",
                "reason": "r",
            },
        ),
        (
            5,
            {
                "agent_id": "A1",
                "period": "2026/1",
                "decision": "set_level",
                "by": "b",
                "reason": "r",
                "at": "yesterday",
            },
        ),
    ]
    read = check_rows(rows, R)
    assert not read.decisions
    assert [str(r) for r in read.rejections] == [
        "decisions.csv:2 (A1 2026-13): by: missing: a decision names the person who made it; reason: missing: a "
        "decision says why it was made; period: '2026-13' is not a month: months are 1 to 12; decision: "
        "'set_levle' is not a decision tierpay takes (did you mean set_level?)",
        "decisions.csv:3 (A1 2026-01): value: 'x' given, but clear_review takes no value: leave it empty",
        "decisions.csv:4 (A1 2026-01): value: 'two' is not a whole number of months from 1 to 6",
        "decisions.csv:5 (A1 2026/1): value: missing: set_level needs a level id; at: 'yesterday' is not a "
        "date-time: write it ISO (2026-02-10T15:30 or 2026-02-10)",
    ]


def test_a_decision_made_in_python_is_checked_as_a_row_is() -> None:
    """The model refuses what a file's row would be refused for: a blank by, a value of the wrong form."""
    with pytest.raises(ValueError, match=r"by: missing: a decision names the person who made it"):
        hd("A1", "2026-01", "convert", by=" ")
    with pytest.raises(ValueError, match=r"value: 'two' is not a whole number of months from 1 to 6"):
        hd("A1", "2026-01", "extend_probation", "two")
    with pytest.raises(ValueError, match=r"value: missing: set_level needs a level id"):
        hd("A1", "2026-01", "set_level")


def test_csv_json_xlsx_and_a_data_frame_read_alike(tmp_path: Path) -> None:
    """The same two decisions from each form; a month written 2026/1 and a date cell read as 2026-01."""
    header = ["agent_id", "period", "decision", "value", "by", "reason", "at"]
    rows = [
        ["A1", "2026/1", "set_level", "L3", "王敏", "calibration", "2026-02-10T09:30:00"],
        ["P1", "2026-01", "extend_probation", "2", "HR panel", "needs another month", ""],
    ]
    (tmp_path / "d.csv").write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    items = [{k: v for k, v in zip(header, r, strict=True) if v} for r in rows]
    items[1]["value"] = 2  # type: ignore[assignment]  # a JSON number
    (tmp_path / "d.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    frame = pd.DataFrame(rows, columns=header)
    frame["at"] = [pd.Timestamp("2026-02-10 09:30"), None]
    frame.to_excel(tmp_path / "d.xlsx", index=False)
    read = [read_decisions(tmp_path / f"d.{ext}").decisions for ext in ("csv", "json", "xlsx")]
    records = [{"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85}, probationer("2026-01", 60)]
    framed = evaluate(build(), records, decisions=frame)
    assert not framed.rejections
    assert [(d.level, d.state.probation_extension) for d in framed.decisions] == [("L3", 0), ("L1", 2)]
    assert framed.decision("A1").decided[0].at == dt.datetime(2026, 2, 10, 9, 30)
    for found in read:
        assert [(d.agent_id, d.period, d.decision, d.value, d.by, d.at) for d in found] == [
            ("A1", "2026-01", "set_level", "L3", "王敏", dt.datetime(2026, 2, 10, 9, 30)),
            ("P1", "2026-01", "extend_probation", "2", "HR panel", None),
        ]
    assert [d.row for d in read[0]] == [2, 3]
    assert [d.row for d in read[1]] == [1, 2]
    assert read[2][0].source == f"{tmp_path / 'd.xlsx'}[Sheet1]"


def test_a_file_that_is_no_decisions_file_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text('{"agent_id": "A1"}', encoding="utf-8")
    with pytest.raises(RecordsError, match=r"d.json: expected a list of decisions"):
        read_decisions(tmp_path / "d.json")
    with pytest.raises(RecordsError, match=r"nothing.csv: cannot read"):
        read_decisions(tmp_path / "nothing.csv")


# --- outputs -------------------------------------------------------------------------------------


def test_the_json_of_decided_rows_is_what_pydantic_writes() -> None:
    """The period's JSON writer falls back to row by row for decided rows: the text is the model's, field by field."""
    records = [*month("2026-01", 60), probationer("2026-01", 60), *month("2026-02", 61), probationer("2026-02", 60)]
    decisions = [
        hd("W", "2026-01", "clear_review"),
        hd("X", "2026-01", "set_level", "L2", row=3),
        hd("Y", "2026-01", "exempt_review", row=4),
        hd("P1", "2026-01", "extend_probation", "2", row=5),
    ]
    outcome = evaluate(reviewed(), records, decisions=decisions)
    written = json.loads(outcome.to_json())["decisions"]
    assert [json.loads(d.model_dump_json()) for d in outcome.decisions] == written
    assert written[0]["decided"][0]["decision"] == "extend_probation"  # P1 sorts first
    assert "decided" not in written[4]  # Z: nothing decided
    assert written[5]["state"]["probation_extension"] == 2  # P1 in February: carried, no decision that month


def test_reading_one_period_at_a_time_refuses_the_same_decisions(tmp_path: Path) -> None:
    """``--stream`` applies and refuses people's decisions as reading the whole file does."""
    case = Path(__file__).parent / "corpus" / "runs" / "decisions-unknown-agent-and-period"
    outputs = []
    for extra in ([], ["--stream"]):
        out, err = io.StringIO(), io.StringIO()
        argv = [str(case / "ruleset.yaml"), str(case / "records.csv"), "--decisions", str(case / "decisions.csv")]
        code = main(["evaluate", *argv, "--format", "csv", *extra], stdout=out, stderr=err)
        outputs.append((code, sorted(out.getvalue().splitlines()), err.getvalue()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 1
