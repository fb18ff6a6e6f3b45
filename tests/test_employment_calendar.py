"""The employment calendar, worked out by hand: leave by type, sick pay and its floor, part time, changes within a month."""

from __future__ import annotations

import copy
import io
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import yaml

from tierpay import RulesetError, evaluate, read_records
from tierpay.cli import main
from tierpay.io.frames import read_frame

from .conftest import build
from .test_pay import PAY

CAL: dict[str, Any] = copy.deepcopy(PAY)
CAL["metrics"].update(
    {
        "annual": {"min": 0, "max": 31, "default": 0},
        "sick": {"min": 0, "max": 31, "default": 0},
        "maternity": {"min": 0, "max": 31, "default": 0},
        "unpaid": {"min": 0, "max": 31, "default": 0},
        "fte": {"min": "0.1", "max": 1, "default": 1},
        "hours": {"min": 0, "max": 400, "default": 0},
        "calls": {"type": "integer", "min": 0, "default": 0},
    }
)
CAL["attributes"].update(
    {
        "from": {"type": "date"},
        "to": {"type": "date"},
        "employment": {"values": ["full_time", "part_time"], "default": "full_time"},
    }
)
CAL["protection"] = {"when": "on_protected_leave"}
CAL["pay"]["proration"] = {"worked": "paid_days", "scheduled": "scheduled"}
CAL["pay"]["lines"][3]["when"] = "absences == 0 and attended_days >= scheduled"
CAL["pay"]["floors"]["minimum_wage"]["table"]["tier1"]["figures"][0]["hourly"] = 24
CAL["pay"]["floors"]["minimum_wage"]["table"]["tier2"]["figures"][0]["hourly"] = 22
CAL["calendar"] = {
    "worked": "worked",
    "scheduled": "scheduled",
    "leave": {
        "annual": {"paid": "full", "attendance": True, "volume": True},
        "sick": {"paid": "sick", "volume": True},
        "maternity": {"paid": "full", "attendance": True, "volume": True, "protected": True},
        "unpaid": {"paid": "none"},
    },
    "sick_pay": {"percent": 60, "of": ["base"]},
    "part_time": {"fte": "fte", "hours": "hours", "hourly": {"attribute": "employment", "value": "part_time"}},
    "segments": {"decide_by": "last", "sum": ["calls"]},
    "volume": {"calls": "calls_full_time"},
}


def record(
    agent_id: str, level: str, region: str, qa: int, worked: int, scheduled: int, **extra: Any
) -> dict[str, Any]:
    """A calendar-test record for January 2026."""
    return {
        "agent_id": agent_id,
        "period": "2026-01",
        "level": level,
        "region": region,
        "qa": qa,
        "worked": worked,
        "scheduled": scheduled,
        **extra,
    }


def lines_of(ruleset: Any, records: list[dict[str, Any]]) -> dict[str, tuple[dict[str, D], D]]:
    """Each agent's pay lines and total."""
    outcome = evaluate(ruleset, records)
    assert outcome.rejections == []
    found = {}
    for d in outcome.decisions:
        assert d.pay is not None
        found[d.agent_id] = ({ln.id: ln.amount for ln in d.pay.lines}, d.pay.total)
    return found


# agent: lines, total, worked out by hand. Grade B (qa 80) has coefficient 1.0, grade D (qa 60) 0.5.
HAND: dict[str, tuple[dict[str, str], str]] = {
    # Paid annual leave is paid as worked: 16 worked + 5 annual = 21 of 21 days, nothing prorated,
    # and the days count as attended: 3500 + 150 + 1200 x 1.0 + 200 = 5050.
    "ANNUAL": ({"base": "3500.00", "allowance": "150.00", "performance": "1200.00", "attendance": "200.00"}, "5050.00"),
    # Sick leave above the floor: paid 16/21 days. 3500 x 16/21 = 2666.67, 150 x 16/21 = 114.29,
    # 1200 x 16/21 = 914.29; no attendance bonus (16 attended < 21). Sick pay 60% of base 3500
    # x 5/21 = 500.00. Counted 4195.25 against the minimum 2690 x (16 + 80% x 5)/21 = 2561.90...: no top-up.
    "SICK": (
        {"base": "2666.67", "allowance": "114.29", "performance": "914.29", "attendance": "0.00", "sick_pay": "500.00"},
        "4195.25",
    ),
    # A month off sick, at the floor: no day paid as worked, sick pay 60% x 2000 x 21/21 = 1200.00,
    # below 80% of the tier-2 minimum 2490 = 1992.00: topped up by 792.00.
    "FLOOR": (
        {"base": "0.00", "performance": "0.00", "sick_pay": "1200.00", "minimum_wage": "792.00"},
        "1992.00",
    ),
    # Part time by the hour, below the hourly minimum: FTE 0.5 halves the prorated lines,
    # 3000 x 0.5 + 1000 x 1.0 x 0.5 + 200 = 2200, below 24/hour x 100 hours = 2400: topped up by 200.
    "PT_LOW": (
        {"base": "1500.00", "performance": "500.00", "attendance": "200.00", "minimum_wage": "200.00"},
        "2400.00",
    ),
    # The same at 80 hours: 2200 is above 24 x 80 = 1920, no top-up.
    "PT_HIGH": ({"base": "1500.00", "performance": "500.00", "attendance": "200.00"}, "2200.00"),
}


def test_hand_worked_leave_sick_and_part_time() -> None:
    """Paid annual leave, sick leave above and at its floor, part time below and above the hourly minimum."""
    ruleset = build(CAL)
    found = lines_of(
        ruleset,
        [
            record("ANNUAL", "L2", "tier1", 80, 16, 21, annual=5),
            record("SICK", "L2", "tier1", 80, 16, 21, sick=5),
            record("FLOOR", "L1", "tier2", 60, 0, 21, sick=21, absences=0),
            record("PT_LOW", "L1", "tier1", 80, 21, 21, employment="part_time", fte="0.5", hours=100),
            record("PT_HIGH", "L1", "tier1", 80, 21, 21, employment="part_time", fte="0.5", hours=80),
        ],
    )
    for agent_id, (lines, total) in HAND.items():
        got, got_total = found[agent_id]
        for line_id, amount in lines.items():
            assert got[line_id] == D(amount), (agent_id, line_id)
        assert got_total == D(total), agent_id
        assert sum(got.values(), D(0)) == got_total


# A transfer on the 16th from a tier-1 to a tier-2 city, at L2 with grade B (January has 31 days):
# base (3500 x 15 + 2500 x 16)/31 = 92500/31 = 2983.87; allowance 150 in both; performance
# (1200 x 15 + 800 x 16)/31 x 1.0 = 30800/31 = 993.55; attendance 200 (21 attended of 21).
# Total 4327.42. The minimum (2690 x 15 + 2490 x 16)/31 = 2586.77 is well below.
TRANSFER = [
    record("T1", "L2", "tier1", 70, 10, 10, **{"from": "2026-01-01", "to": "2026-01-15", "calls": 500}),
    record("T1", "L2", "tier2", 80, 11, 11, **{"from": "2026-01-16", "to": "2026-01-31", "calls": 600}),
]


def test_transfer_between_city_tiers_is_prorated_by_days_in_each_segment() -> None:
    """Two segments of one month make one decision and one statement, each city's figures by its days."""
    outcome = evaluate(build(CAL), TRANSFER)
    assert outcome.rejections == []
    (decision,) = outcome.decisions
    assert decision.pay is not None
    lines = {ln.id: ln.amount for ln in decision.pay.lines}
    assert lines["base"] == D("2983.87")
    assert lines["allowance"] == D("150.00")
    assert lines["performance"] == D("993.55")
    assert lines["attendance"] == D("200.00")
    assert decision.pay.total == D("4327.42")
    assert decision.grade == "B"  # the last segment decides: qa 80, not 70
    assert decision.values["region"] == "tier2"
    assert decision.values["worked"] == D(21)  # days are added up over the segments
    assert decision.values["calls"] == D(1100)  # and so are the metrics listed in segments.sum
    base = next(ln for ln in decision.pay.lines if ln.id == "base")
    assert base.basis == "(L2, region tier1: 3,500.00 × 15/31 days + L2, region tier2: 2,500.00 × 16/31 days)"


def test_the_longest_segment_decides_when_declared() -> None:
    """With decide_by: longest, the segment with the most days gives the grade and the attributes."""
    data = copy.deepcopy(CAL)
    data["calendar"]["segments"]["decide_by"] = "longest"
    records = [
        record("T2", "L2", "tier1", 92, 20, 20, **{"from": "2026-01-01", "to": "2026-01-25"}),
        record("T2", "L2", "tier2", 60, 4, 4, **{"from": "2026-01-26", "to": "2026-01-31"}),
    ]
    (decision,) = evaluate(build(data), records).decisions
    assert decision.grade == "A"
    assert decision.values["region"] == "tier1"


def test_volume_is_scaled_to_the_days_available_and_full_time() -> None:
    """Leave excused from volume and part time scale calls to a full-time month: 600 calls in 10 of 20 days at FTE 0.5 is 2400."""
    outcome = evaluate(build(CAL), [record("V1", "L1", "tier1", 80, 10, 20, annual=10, fte="0.5", calls=600)])
    (decision,) = outcome.decisions
    assert decision.values["available_days"] == D(10)
    assert decision.values["calls_full_time"] == D(2400)


def test_protected_leave_sets_the_protected_period() -> None:
    """Maternity leave declared protected: prorated lines paid in full, as the protection rules say."""
    found = lines_of(build(CAL), [record("M1", "L1", "tier1", 60, 5, 21, maternity=16)])
    lines, total = found["M1"]
    # Protected: not prorated, coefficient at least 1: 3000 + 0 + 1000 x 1 + 200 (21 attended of 21).
    assert lines["performance"] == D("1000.00")
    assert total == D("4200.00")


@pytest.mark.parametrize(
    ("segments", "reason"),
    [
        (
            [("2026-01-01", "2026-01-15"), ("2026-01-18", "2026-01-31")],
            "from: 2026-01-18 at <records>:2 leaves 2026-01-16 to 2026-01-17 uncovered after the segment ending "
            "2026-01-15 at <records>:1: segments of a month follow on without a gap",
        ),
        (
            [("2026-01-01", "2026-01-15"), ("2026-01-10", "2026-01-31")],
            "from: 2026-01-10 at <records>:2 overlaps the segment 2026-01-01 to 2026-01-15 at <records>:1: "
            "a day belongs to one segment",
        ),
        (
            [("2026-01-01", "2026-01-15"), ("2026-01-16", "2026-02-02")],
            "to: 2026-02-02 at <records>:2 is not in 2026-01",
        ),
        (
            [("2026-01-01", "2026-01-15"), ("2026-01-20", "2026-01-16")],
            "from: 2026-01-20 is after to 2026-01-16 at <records>:2",
        ),
        (
            [("2026-01-01", "2026-01-15"), (None, None)],
            "from: missing at <records>:2: agent G has 2 records for 2026-01 (<records>:1, <records>:2); "
            "each is a segment and needs from and to",
        ),
    ],
)
def test_gappy_or_overlapping_segments_reject_the_month(
    segments: list[tuple[str | None, str | None]], reason: str
) -> None:
    """Every record of a month whose segments leave a gap, overlap, or stray outside it is rejected, saying where."""
    records = []
    for start, end in segments:
        dates = {"from": start, "to": end} if start else {}
        records.append(record("G", "L1", "tier1", 80, 10, 10, **dates))
    outcome = evaluate(build(CAL), records)
    assert list(outcome.decisions) == []
    assert [r.row for r in outcome.rejections] == [1, 2]
    assert all(r.reasons == [reason] for r in outcome.rejections)
    assert str(outcome.rejections[0]).startswith("<records>:1 (G 2026-01): ")


def test_two_records_starting_the_same_day_are_duplicates() -> None:
    """Segments tell records apart by their first day: two from the same day are copies, as before."""
    records = [
        record("D", "L1", "tier1", 80, 10, 10, **{"from": "2026-01-01", "to": "2026-01-31"}),
        record("D", "L1", "tier1", 80, 10, 10, **{"from": "2026-01-01", "to": "2026-01-31"}),
    ]
    outcome = evaluate(build(CAL), records)
    assert [r.reasons for r in outcome.rejections] == [
        ["duplicate: agent D has another record for 2026-01 at <records>:2"],
        ["duplicate: agent D has another record for 2026-01 at <records>:1"],
    ]


CSV = """agent_id,period,level,region,qa,worked,scheduled,annual,sick,fte,hours,employment,from,to,calls
T1,2026-01,L2,tier1,70,10,10,0,0,1,0,full_time,2026-01-01,2026-01-15,500
T1,2026-01,L2,tier2,80,11,11,0,0,1,0,full_time,2026-01-16,2026-01-31,600
S1,2026-01,L2,tier1,80,16,21,0,5,1,0,full_time,,,900
P1,2026-01,L1,tier1,80,21,21,0,0,0.5,100,part_time,,,400
G1,2026-01,L1,tier1,80,10,10,0,0,1,0,full_time,2026-01-01,2026-01-15,300
G1,2026-01,L1,tier1,80,10,10,0,0,1,0,full_time,2026-01-17,2026-01-31,300
"""


def test_columnar_streamed_and_api_paths_agree(tmp_path: Path) -> None:
    """The whole-file columnar reader, --stream and the Python API give the same decisions and rejections."""
    ruleset = build(CAL)
    path = tmp_path / "cal.csv"
    path.write_text(CSV)
    rules = tmp_path / "cal.yaml"
    rules.write_text(yaml.safe_dump(CAL, allow_unicode=True, sort_keys=False))
    by_frame = evaluate(ruleset, read_frame(ruleset, path))
    by_rows = evaluate(ruleset, read_records(ruleset, path))
    assert by_frame.csv() == by_rows.csv()
    assert [str(r) for r in by_frame.rejections] == [str(r) for r in by_rows.rejections]
    assert len(by_frame.rejections) == 2
    outputs = []
    for extra in ([], ["--stream"]):
        out = tmp_path / f"o{len(extra)}.csv"
        code = main(
            ["evaluate", str(rules), str(path), "--format", "csv", "-o", str(out), *extra],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        assert code == 1  # G1's gap is rejected
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_calendar_declarations_are_checked() -> None:
    """A leave that is no metric, sick pay of an unknown line, segments without date attributes: each named."""
    data = copy.deepcopy(CAL)
    data["calendar"]["leave"]["paternity"] = {"paid": "full"}
    data["calendar"]["sick_pay"]["of"] = ["basic"]
    data["calendar"]["segments"]["start"] = "begins"
    with pytest.raises(RulesetError) as error:
        build(data)
    text = str(error.value)
    assert "calendar.leave.paternity: 'paternity' is not a declared metric" in text
    assert "calendar.sick_pay.of[0]: 'basic' is not a pay line" in text
    assert "calendar.segments.start: 'begins' is not a declared attribute of type date" in text


def test_a_sick_pay_floor_below_80_percent_is_refused() -> None:
    """Sick pay may not fall below 80% of the minimum wage: a lower floor_percent does not load."""
    data = copy.deepcopy(CAL)
    data["calendar"]["sick_pay"]["floor_percent"] = 70
    with pytest.raises(RulesetError, match="floor_percent"):
        build(data)
