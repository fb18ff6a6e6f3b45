"""Several ladders in one run (issue 22): each case worked by hand before it was run.

The example ruleset ``examples/rulesets/callcenter-ladders.yaml``: ``ladder_by: role``;

- agent: S1, S2 (entry score >= 70 and calls >= 900), S3 (entry score >= 85 and calls >= 1000);
  score = 50 x linear(qa_score, 60..95) + 50 x linear(csat, 80..95); review of the bottom 1
  per team, cohorts of 5 or more, only below 60; pay base S1 4000 / S2 4400 / S3 4800 plus
  1000 x coefficient; nominated for team_lead at S3 held six months;
- qa: Q1, Q2 (entry score >= 80 and calibration >= 90);
  score = 40 x linear(audits, 100..300) + 60 x linear(calibration, 80..100); review of the
  bottom 1 of the ladder, cohorts of 5 or more, only below 60; pay Q1 5000 / Q2 5600 plus
  800 x coefficient;
- team_lead: T1, T2 (entry score >= 85, 3 consecutive months, 3 months in T1);
  score = 100 x linear(team_csat, 80..95); no review; pay T1 6500 / T2 7200 plus 1500 x coefficient.

Shared grades: S at 90 (1.2), A at 75 (1.0), B below (0.8). Promotion one step, one month.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tierpay import State, evaluate, load_ruleset, parse_ruleset, read_decisions, read_records
from tierpay.cli import main
from tierpay.errors import RulesetError

ROOT = Path(__file__).resolve().parent.parent
RULESET = ROOT / "examples" / "rulesets" / "callcenter-ladders.yaml"
RECORDS = ROOT / "examples" / "data" / "ladders-2026q1.csv"
DECISIONS = ROOT / "examples" / "data" / "ladders-decisions.csv"


@pytest.fixture(scope="module")
def ruleset() -> Any:
    return load_ruleset(RULESET)


def row(agent: str, period: str, role: str, team: str, level: str | None = None, **metrics: Any) -> dict[str, Any]:
    """A record with every metric 0 but those given (each ladder reads its own)."""
    values = {"calls_handled": 0, "qa_score": 0, "csat": 0, "audits": 0, "calibration": 0, "team_csat": 0}
    record = {"agent_id": agent, "period": period, "role": role, "team": team, "own_contributions": 600}
    if level is not None:
        record["level"] = level
    return {**record, **values, **metrics}


def cells(outcome: Any, agent: str, period: str = "2026-01") -> dict[str, Any]:
    frame = outcome.cells
    found = frame.filter((frame["agent_id"] == agent) & (frame["period"] == period)).to_dicts()
    assert len(found) == 1, (agent, period, found)
    one: dict[str, Any] = found[0]
    return one


def _january(ruleset: Any) -> list[Any]:
    """The sample file's January records."""
    return [r for r in read_records(ruleset, RECORDS).records if r.period == "2026-01"]


# --- two ladders in one run ------------------------------------------------------------------


def test_agents_and_inspectors_are_decided_in_one_run_each_on_their_own_criteria_and_pay(ruleset: Any) -> None:
    """January, worked by hand: each row's ladder, score, grade, level and pay."""
    outcome = evaluate(ruleset, _january(ruleset))
    expected = {
        # agent  ladder   level before -> after, score, grade, pay
        # A1: qa 95 -> 1, csat 95 -> 1: 100, S; qualifies for S3 but moves one step to S2: 4400 + 1000 x 1.2 = 5600
        "A1": ("agent", "S1", "S2", "100", "S", "5600.00"),
        # A2: qa 81 -> 21/35 = 0.6, csat 86 -> 6/15 = 0.4: 50, B; below S2's 70: 4000 + 800 = 4800
        "A2": ("agent", "S1", "S1", "50", "B", "4800.00"),
        # A3: qa 88 -> 0.8, csat 89 -> 0.6: 70, B; S2 needs 70 and 900 calls (950): 4400 + 800 = 5200
        "A3": ("agent", "S1", "S2", "70", "B", "5200.00"),
        # A4: qa 91.5 -> 0.9, csat 92 -> 0.8: 85, A; S3 needs 85 and 1000 calls: 4800 + 1000 = 5800
        "A4": ("agent", "S2", "S3", "85", "A", "5800.00"),
        # A5: qa 74 -> 0.4, csat 83 -> 0.2: 30, B: 4000 + 800 = 4800
        "A5": ("agent", "S1", "S1", "30", "B", "4800.00"),
        # I1: audits 300 -> 1, calibration 100 -> 1: 100, S; Q2 needs 80 and 90: 5600 + 800 x 1.2 = 6560
        "I1": ("qa", "Q1", "Q2", "100", "S", "6560.00"),
        # I2: audits 200 -> 0.5, calibration 90 -> 0.5: 50, B: 5000 + 640 = 5640
        "I2": ("qa", "Q1", "Q1", "50", "B", "5640.00"),
        # I3: audits 150 -> 0.25, calibration 85 -> 0.25: 25, B: 5640
        "I3": ("qa", "Q1", "Q1", "25", "B", "5640.00"),
        # I4: audits 250 -> 0.75, calibration 95 -> 0.75: 75, A; Q2 needs 80: 5000 + 800 = 5800
        "I4": ("qa", "Q1", "Q1", "75", "A", "5800.00"),
        # I5: audits 100 -> 0, calibration 100 -> 1: 60, B; holds Q2: 5600 + 640 = 6240
        "I5": ("qa", "Q2", "Q2", "60", "B", "6240.00"),
    }
    for agent, (ladder, before, level, score, grade, total) in expected.items():
        c = cells(outcome, agent)
        got = (c["ladder"], c["level_before"], c["level"], c["score"], c["grade"], c["pay_total"])
        assert got == (ladder, before, level, score, grade, total), agent
    # Each ladder's own pay lines: an inspector's base is Q2's 5600, never an agent table's.
    pay = outcome.decision("I1").pay
    assert pay is not None
    assert pay.lines[0].amount == Decimal("5600.00")
    assert outcome.decision("I1").ladder == "qa"


def test_cohorts_rankings_and_the_review_stay_within_a_ladder(ruleset: Any) -> None:
    """A5 (30) is the bottom of the agents' T1 cohort and I3 (25) of the inspectors': both flagged.

    Ranked together, the ten would form one cohort and only I3, the lowest, would be flagged.
    """
    outcome = evaluate(ruleset, _january(ruleset))
    flagged = {c["agent_id"] for c in outcome.cells.to_dicts() if c["review_flagged"] == "true"}
    assert flagged == {"A5", "I3"}
    assert {(c["ladder"], c["review_cohort"], c["review_cohort_size"]) for c in outcome.cells.to_dicts()} == {
        ("agent", "team=T1", "5"),
        ("qa", "all", "5"),
    }
    assert (cells(outcome, "A5")["review_rank"], cells(outcome, "I3")["review_rank"]) == ("5", "5")


def test_a_level_of_another_ladder_is_rejected_naming_level(ruleset: Any) -> None:
    """W1 says role qa but level S2, an agent level: rejected, the rest of the run stands."""
    outcome = evaluate(ruleset, _january(ruleset))
    assert [str(r) for r in outcome.rejections] == [
        f"{RECORDS}:12 (W1 2026-01): level: S2 is a level of ladder agent, but role 'qa' puts the record on ladder qa"
    ]
    assert len(outcome.cells) == 10


def test_a_carried_level_of_another_ladder_is_rejected_naming_level(ruleset: Any) -> None:
    """A4 carries S3 (agent ladder); a record saying role qa without a set_ladder decision is refused."""
    state = State(ruleset="callcenter-ladders", agents=[{"agent_id": "A4", "level": "S3", "last_period": "2026-01"}])
    outcome = evaluate(ruleset, [row("A4", "2026-02", "qa", "QA", audits=200, calibration=90)], state)
    assert [r.reasons for r in outcome.rejections] == [
        [
            "level: the carried level S3 is on ladder agent, but role 'qa' puts the record on ladder qa: "
            "a move between ladders is a person's decision (set_ladder)"
        ]
    ]


def test_a_role_that_names_no_ladder_is_rejected_naming_the_attribute() -> None:
    """A role the attribute allows but no ladder takes: rejected, naming role and each ladder's values."""
    text = RULESET.read_text(encoding="utf-8").replace(
        "values: [agent, qa, team_lead]", "values: [agent, qa, team_lead, trainer]"
    )
    ruleset = parse_ruleset(text, str(RULESET), base_dir=RULESET.parent)
    outcome = evaluate(ruleset, [row("X1", "2026-01", "trainer", "T1", "S1")])
    assert [r.reasons for r in outcome.rejections] == [
        ["role: 'trainer' names no ladder (ladders: agent, qa, team_lead; agent: agent, qa: qa, team_lead: team_lead)"]
    ]


# --- set_ladder: a person moves an agent to another ladder -----------------------------------


def test_set_ladder_moves_an_agent_to_team_lead_from_its_period_on(ruleset: Any) -> None:
    """A4, S3 after January, is made team lead T1 in February by the centre manager.

    February (role still agent in the export): decided on team_lead; team_csat 92 -> 12/15 =
    0.8: 80, A; holds T1, the level the decision gives; pay 6500 + 1500 x 1.0 = 8000. March (role
    team_lead): team_csat 95 -> 100, S; still T1 (1 of the 3 months T2 needs); 6500 + 1800 = 8300.
    """
    outcome = evaluate(ruleset, read_records(ruleset, RECORDS), decisions=read_decisions(DECISIONS))
    feb, mar = cells(outcome, "A4", "2026-02"), cells(outcome, "A4", "2026-03")
    assert (feb["ladder"], feb["level_before"], feb["level"], feb["score"], feb["grade"], feb["pay_total"]) == (
        "team_lead",
        "S3",
        "T1",
        "80",
        "A",
        "8000.00",
    )
    assert (feb["decided"], feb["decided_by"]) == ("set_ladder=team_lead:T1", "Wang Fang (centre manager)")
    assert (feb["action"], feb["reason"]) == ("hold", "level_set_by_decision")
    assert (mar["ladder"], mar["level"], mar["score"], mar["pay_total"]) == ("team_lead", "T1", "100", "8300.00")
    assert feb["review_cohort"] is None  # team leads have no review; A4 left the agents' cohort
    agents_feb = outcome.cells.filter((outcome.cells["period"] == "2026-02") & (outcome.cells["ladder"] == "agent"))
    assert set(agents_feb["review_cohort_size"].to_list()) == {"4"}
    a4 = outcome.decision("A4", "2026-02")
    assert (a4.level_before, a4.ladder, a4.decided[0].value) == ("S3", "team_lead", "team_lead:T1")
    assert next(s for s in outcome.state.agents if s.agent_id == "A4").level == "T1"


def test_after_a_move_a_record_of_the_old_role_is_rejected(ruleset: Any) -> None:
    """A4 moved to T1 in February; a March record still saying role agent contradicts the carried level."""
    first = evaluate(ruleset, read_records(ruleset, RECORDS), decisions=read_decisions(DECISIONS))
    march = evaluate(ruleset, [row("A4", "2026-04", "agent", "T1", qa_score=90, csat=90)], first.state)
    assert [r.reasons for r in march.rejections] == [
        [
            "level: the carried level T1 is on ladder team_lead, but role 'agent' puts the record on ladder agent: "
            "a move between ladders is a person's decision (set_ladder)"
        ]
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("trainer:R1", "value: 'trainer' is not a ladder of callcenter-ladders (agent, qa, team_lead)"),
        ("team_lead:S2", "value: 'S2' is not a level of ladder team_lead (T1, T2)"),
    ],
)
def test_a_set_ladder_that_cannot_apply_is_refused_and_the_record_decided_as_before(
    ruleset: Any, value: str, reason: str
) -> None:
    """An unknown ladder, or a level of another ladder: the decision is refused, the record decided on its role's ladder."""
    decision = {
        "agent_id": "A1",
        "period": "2026-01",
        "decision": "set_ladder",
        "value": value,
        "by": "王敏",
        "reason": "r",
    }
    outcome = evaluate(
        ruleset,
        [row("A1", "2026-01", "agent", "T1", "S1", qa_score=95, csat=95, calls_handled=1000)],
        decisions=[decision],
    )
    assert [r.reasons for r in outcome.refused] == [[reason]]
    assert cells(outcome, "A1")["ladder"] == "agent"


def test_set_ladder_needs_a_ruleset_with_ladders() -> None:
    """With one ladder there is nothing to move between: refused, saying so."""
    from .conftest import MINI, build

    ruleset = build(MINI)
    decision = {
        "agent_id": "A",
        "period": "2026-01",
        "decision": "set_ladder",
        "value": "x:L1",
        "by": "王敏",
        "reason": "r",
    }
    outcome = evaluate(ruleset, [{"agent_id": "A", "period": "2026-01", "level": "L1", "qa": 70}], decisions=[decision])
    assert [r.reasons for r in outcome.refused] == [["decision: set_ladder, but mini 1 has no ladders"]]


def test_a_set_ladder_value_must_be_ladder_colon_level() -> None:
    """``team_lead`` alone is refused as read: the value says the ladder and the level."""
    decisions = read_decisions_text(
        "agent_id,period,decision,value,by,reason\nA4,2026-02,set_ladder,team_lead,王敏,r\n"
    )
    assert [r.reasons for r in decisions.rejections] == [
        ["value: 'team_lead' is not LADDER:LEVEL (a ladder and the level to enter it at, `team_lead:T1`)"]
    ]


def read_decisions_text(text: str) -> Any:
    import csv

    from tierpay.engine.human import check_rows

    rows = list(csv.DictReader(io.StringIO(text)))
    return check_rows(((n, r) for n, r in enumerate(rows, start=2)), "decisions.csv")


# --- nominations -----------------------------------------------------------------------------


def test_an_agent_eligible_for_another_ladder_is_flagged_never_moved(ruleset: Any) -> None:
    """S3 held five months before this one (six with it): nominated for team_lead, and still an S3 agent.

    N1 has held S3 for 4 months before: not yet.
    """
    state = State(
        ruleset="callcenter-ladders",
        agents=[
            {"agent_id": "N0", "level": "S3", "last_period": "2026-05", "periods_in_level": 5},
            {"agent_id": "N1", "level": "S3", "last_period": "2026-05", "periods_in_level": 4},
        ],
    )
    records = [row(a, "2026-06", "agent", "T1", qa_score=90, csat=90, calls_handled=1000) for a in ("N0", "N1")]
    outcome = evaluate(ruleset, records, state)
    assert [(c["agent_id"], c["ladder"], c["level"], c["nominated"]) for c in outcome.cells.to_dicts()] == [
        ("N0", "agent", "S3", "team_lead"),
        ("N1", "agent", "S3", None),
    ]
    assert outcome.decision("N0").nominated == ["team_lead"]
    assert outcome.decision("N0").checks["nominate[0].when"] is True


# --- one answer, whichever way it is asked ---------------------------------------------------


def test_whole_stream_api_and_month_by_month_agree(ruleset: Any, tmp_path: Path) -> None:
    """The decisions CSV is the same from the whole file, --stream, the Python API and chained months."""

    def cli(*more: str) -> str:
        target = tmp_path / f"out{len(more)}.csv"
        code = main(
            [
                "evaluate",
                str(RULESET),
                str(RECORDS),
                "--decisions",
                str(DECISIONS),
                "--format",
                "csv",
                "-o",
                str(target),
                *more,
            ],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        assert code == 1  # W1 is rejected
        return target.read_text(encoding="utf-8")

    whole, streamed = cli(), cli("--stream")
    api = evaluate(ruleset, read_records(ruleset, RECORDS), decisions=read_decisions(DECISIONS))
    assert whole == streamed == api.csv()
    state, texts = None, []
    for month in ("2026-01", "2026-02", "2026-03"):
        batch = [r for r in read_records(ruleset, RECORDS).records if r.period == month]
        one = evaluate(
            ruleset, batch, state, decisions=[d for d in read_decisions(DECISIONS).decisions if d.period == month]
        )
        texts.append(one.csv(header=month == "2026-01"))
        state = State.model_validate_json(one.state.to_json())
    assert "".join(texts) == whole
    document = json.loads(api.to_json())
    assert {d["ladder"] for d in document["decisions"]} == {"agent", "qa", "team_lead"}
    assert [d.model_dump(mode="json") for d in api.decisions] == document["decisions"]


def test_outputs_of_a_ruleset_with_one_ladder_are_unchanged() -> None:
    """No ladder column, no ladder field: a one-ladder ruleset's outputs are as before."""
    from .conftest import MINI, build

    outcome = evaluate(build(MINI), [{"agent_id": "A", "period": "2026-01", "level": "L1", "qa": 70}])
    assert "ladder" not in outcome.cells.columns
    assert "nominated" not in outcome.cells.columns
    assert '"ladder"' not in outcome.to_json()
    assert '"nominated"' not in outcome.to_json()


# --- ruleset problems, each at its field -----------------------------------------------------


def _problems(text: str) -> list[str]:
    with pytest.raises(RulesetError) as error:
        parse_ruleset(text, "x.yaml")
    return [str(p) for p in error.value.problems]


BASE = """\
tierpay: 1
name: two
version: "1"
effective_from: 2026-01-01
metrics:
  qa: {min: 0, max: 100}
attributes:
  role: {values: [agent, qa]}
ladder_by: role
ladders:
  agent:
    levels:
      - {id: A1, name: one}
      - {id: A2, name: two, entry: "qa >= 80"}
  qa:
    levels:
      - {id: Q1, name: one}
"""


def test_a_ruleset_with_two_ladders_loads() -> None:
    """The smallest two-ladder ruleset: its levels are the ladders' levels, ladder after ladder."""
    ruleset = parse_ruleset(BASE, "x.yaml")
    assert ruleset.level_ids == ["A1", "A2", "Q1"]
    assert list(ruleset.ladders) == ["agent", "qa"]
    assert ruleset.ladders["qa"].level_ids == ["Q1"]


def test_level_ids_are_unique_across_ladders() -> None:
    """Q1 reused on the agent ladder is a problem at its id."""
    text = BASE.replace("- {id: A2, name: two,", "- {id: Q1, name: two,")
    assert _problems(text) == [
        # line 17 is `      - {id: Q1, name: one}` in the qa ladder: its key `id` starts in column 10
        "x.yaml:17:10: ladders.qa.levels[0].id: level id 'Q1' is already a level of ladder 'agent': "
        "level ids are unique across ladders"
    ]


def test_ladder_problems_name_the_ladder() -> None:
    """A typo in a ladder's criterion is at ladders.NAME; ladder_by must be a text attribute."""
    text = BASE.replace('entry: "qa >= 80"', 'entry: "qa_scor >= 80"').replace("ladder_by: role", "ladder_by: rol")
    found = _problems(text)
    assert found[0] == "x.yaml:9:1: ladder_by: 'rol' is not a declared attribute"
    assert found[1].startswith("x.yaml:14:37: ladders.agent.levels[1].entry: unknown name 'qa_scor'")


def test_a_part_taken_from_the_top_level_says_which_ladder_took_it() -> None:
    """Top-level pay by level covers the agent ladder only: the qa ladder that takes it is named."""
    text = BASE + "pay:\n  lines:\n    - {id: base, by_level: {A1: 4000, A2: 4400}}\n"
    took = " (in ladder 'qa', which takes it from the top level)"
    # line 20 is `    - {id: base, by_level: {A1: 4000, A2: 4400}}`: by_level at column 18, A1 at 29, A2 at 39
    assert _problems(text) == [
        f"x.yaml:20:18: pay.lines[0].by_level: no amount for level 'Q1'{took}",
        f"x.yaml:20:29: pay.lines[0].by_level.A1: 'A1' is not a level id{took}",
        f"x.yaml:20:39: pay.lines[0].by_level.A2: 'A2' is not a level id{took}",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("ladder_by: role\n", ""),
            [
                "x.yaml:9:1: ladders: `ladders` need `ladder_by`: the attribute that says which ladder a record is on",
            ],
        ),
        (
            ("ladder_by: role\n", "ladder_by: role\nlevels: [{id: L1, name: one}]\n"),
            ["x.yaml:10:1: levels: give `levels` inside each ladder, not at the top level, with `ladders`"],
        ),
        (
            ("ladders:\n  agent:", "levels: [{id: L1, name: one}]\nladders_gone:\n  agent:"),
            ["x.yaml:11:1: ladders_gone: unknown key 'ladders_gone' (did you mean 'ladders'?)"],
        ),
    ],
)
def test_levels_or_ladders_never_both(change: tuple[str, str], expected: list[str]) -> None:
    """A ruleset has top-level levels, or ladders chosen by ladder_by: each problem at its key."""
    assert _problems(BASE.replace(*change)) == expected


def test_levels_are_required_without_ladders() -> None:
    """No levels and no ladders: levels is a required key, as it always was."""
    text = BASE[: BASE.index("ladder_by:")]
    assert _problems(text) == ["x.yaml:1:1: levels: required key is missing"]


def test_a_nomination_names_another_ladder() -> None:
    """``to`` must be another ladder of the ruleset."""
    text = BASE + "    nominate: [{to: trainer, when: \"level == 'Q1'\"}]\n"
    assert _problems(text) == [
        "x.yaml:18:17: ladders.qa.nominate[0].to: 'trainer' is not a ladder (ladders: agent, qa)"
    ]


def test_each_ladder_decides_as_its_own_ruleset_would_alone(ruleset: Any) -> None:
    """Three months of both ladders together give each ladder what its rules alone give its records.

    Nothing crosses between ladders: the same scores, ranks, cohorts, levels and pay as a run
    of the ladder's own ruleset over its own records. (No decisions here: A4 stays an agent.)
    """
    records = read_records(ruleset, RECORDS).records
    together = evaluate(ruleset, records).cells
    for name in ("agent", "qa"):
        mine = [r for r in records if r.attributes["role"] == name and r.agent_id != "W1"]  # W1: a wrong-ladder level
        alone = evaluate(ruleset.ladders[name], mine).cells
        columns = [c for c in alone.columns if c not in ("ruleset_sha256",)]
        picked = together.filter(together["ladder"] == name)
        assert picked.select(columns).to_dicts() == alone.select(columns).to_dicts(), name


def test_a_ledger_keeps_every_ladders_decisions(tmp_path: Path) -> None:
    """A run kept in a ledger holds both ladders' decisions: January's pay is the ten rows' total.

    Agents 5600 + 4800 + 5200 + 5800 + 4800 = 26,200; inspectors 6560 + 5640 + 5640 + 5800 +
    6240 = 29,880; together 56,080.00.
    """
    pytest.importorskip("sqlalchemy")
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    argv = ["evaluate", str(RULESET), str(RECORDS), "--decisions", str(DECISIONS), "--ledger", ledger]
    assert (
        main([*argv, "--format", "csv", "-o", str(tmp_path / "out.csv")], stdout=io.StringIO(), stderr=io.StringIO())
        == 1
    )
    out = io.StringIO()
    assert main(["ledger", "--ledger", ledger], stdout=out, stderr=io.StringIO()) == 0
    assert "2026-01  open    run 1     1         10  56,080.00" in out.getvalue()


# --- every output names the ladder ----------------------------------------------------------
#
# January of the example (ladders-2026-01.csv), worked by hand: agents A1 S2 5,600.00, A2 S1
# 4,800.00, A3 S2 5,200.00, A4 S3 5,800.00, A5 S1 4,800.00 (26,200.00); inspectors I1 Q2
# 6,560.00, I2 Q1 5,640.00, I3 Q1 5,640.00, I4 Q1 5,800.00, I5 Q2 6,240.00 (29,880.00).

JANUARY = ROOT / "examples" / "data" / "ladders-2026-01.csv"
A4_FEBRUARY = ["--decisions", str(DECISIONS), "--agent", "A4", "--period", "2026-02"]


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``tierpay`` with ``argv``; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def site_ladders(folder: Path) -> tuple[Path, Path]:
    """The example with a ``site`` attribute and a fairness screen by site in the agents' and the inspectors' review.

    January's records, each with a site: agents A1-A3 north, A4-A5 south; inspectors I1-I2
    north, I3-I5 south. The flagged A5 and I3 are both south.
    """
    text = RULESET.read_text(encoding="utf-8").replace(
        "../../rulesets/minimum-wage-2026.yaml", "minimum-wage-2026.yaml"
    )
    data = yaml.safe_load(text)
    del data["tests"]
    data["attributes"]["site"] = {"values": ["north", "south"]}
    for name in ("agent", "qa"):
        data["ladders"][name]["review"]["fairness"] = {"group_by": "site"}
    rules = folder / "site-ladders.yaml"
    rules.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shutil.copy(ROOT / "rulesets" / "minimum-wage-2026.yaml", folder / "minimum-wage-2026.yaml")
    south = {"A4", "A5", "I3", "I4", "I5"}
    lines = JANUARY.read_text(encoding="utf-8").splitlines()
    sited = [lines[0] + ",site"] + [
        f"{line},{'south' if line.split(',')[0] in south else 'north'}" for line in lines[1:]
    ]
    records = folder / "site-2026-01.csv"
    records.write_text("\n".join(sited) + "\n", encoding="utf-8")
    return rules, records


def test_the_summary_counts_pay_by_ladder_and_names_each_levels_ladder() -> None:
    """--summary: a block by ladder, and each level paid with its ladder, ladder after ladder in the ruleset's order."""
    code, out, _ = run("evaluate", str(RULESET), str(JANUARY), "--summary")
    assert code == 1  # W1's level of another ladder
    blocks = out.split("\n\n")
    assert blocks[-4:-2] == [
        "ladder  agents  agent-months        pay\n"
        "------  ------  ------------  ---------\n"
        "agent        5             5  26,200.00\n"
        "qa           5             5  29,880.00\n"
        "total       10            10  56,080.00",
        "level paid  agents  agent-months        pay\n"
        "----------  ------  ------------  ---------\n"
        "agent · S1       2             2   9,600.00\n"
        "agent · S2       2             2  10,800.00\n"
        "agent · S3       1             1   5,800.00\n"
        "qa · Q1          3             3  17,080.00\n"
        "qa · Q2          2             2  12,800.00\n"
        "total           10            10  56,080.00",
    ]


def test_the_chinese_summary_shows_a_team_as_its_value_never_as_a_level_of_that_name() -> None:
    """Team T1 and the team-lead level T1 share an id: the team block shows T1, not the level's name 领班."""
    code, out, _ = run("evaluate", str(RULESET), str(JANUARY), "--summary", "--lang", "zh")
    assert code == 1
    team = out.split("\n\n")[-2]
    assert team.splitlines()[2:4] == ["QA       5     5  29,880.00", "T1       5     5  26,200.00"]
    assert "坐席 · 一星坐席" in out  # a level with its ladder, by their Chinese labels


def test_a_statement_names_the_ladder_and_reads_its_pay_lines() -> None:
    """A4 in February, moved to team lead: 6,500.00 + 1,500.00 x 1 (grade A, score 80) = 8,000.00, ladder team_lead."""
    code, text, _ = run("statement", str(RULESET), str(RECORDS), *A4_FEBRUARY)
    assert code == 0  # W1's January rejection is not A4's
    assert text.splitlines()[1] == "Level T1 Team lead (ladder team_lead), grade A, coefficient 1"
    code, text, _ = run("statement", str(RULESET), str(RECORDS), *A4_FEBRUARY, "--format", "csv")
    assert text.splitlines() == [
        "agent_id,period,ladder,line,kind,amount,currency,basis",
        'A4,2026-02,team_lead,base,line,6500.00,CNY,"T1: 6,500.00"',
        'A4,2026-02,team_lead,performance,line,1500.00,CNY,"fixed 1,500.00 × coefficient 1 (grade A)"',
        "A4,2026-02,team_lead,total,total,8000.00,CNY,",
    ]
    code, text, _ = run("statement", str(RULESET), str(RECORDS), *A4_FEBRUARY, "--format", "json")
    (item,) = json.loads(text)
    assert (item["ladder"], item["pay"]["total"]) == ("team_lead", "8000.00")


def test_a_statement_without_ladders_has_no_ladder_field() -> None:
    """A ruleset with one ladder: the statement's JSON and CSV are as they were."""
    from .conftest import SAMPLE_MONTH, STARS

    code, text, _ = run("statement", str(STARS), str(SAMPLE_MONTH), "--agent", "A001", "--format", "json")
    assert code == 0
    assert "ladder" not in json.loads(text)[0]
    _, text, _ = run("statement", str(STARS), str(SAMPLE_MONTH), "--agent", "A001", "--format", "csv")
    assert text.splitlines()[0] == "agent_id,period,line,kind,amount,currency,basis"


def test_an_explanation_names_the_ladder() -> None:
    """explain says which ladder the month was decided on, in English and Chinese (the ladder's label).

    A4's February is a set_ladder move: said as the decisions table says it (moved, by whom), not "kept".
    """
    code, text, _ = run("explain", str(RULESET), str(RECORDS), *A4_FEBRUARY)
    assert code == 0
    assert (
        text.splitlines()[0]
        == "A4  2026-02 (ladder team_lead): S3 → T1 Team lead, moved (by Wang Fang (centre manager))"
    )
    _, text, _ = run("explain", str(RULESET), str(RECORDS), *A4_FEBRUARY, "--lang", "zh")
    assert text.splitlines()[0] == "A4  2026-02（序列 领班）：S3 → T1 领班，调岗（Wang Fang (centre manager) 决定）"


def test_the_workbook_carries_the_ladder_in_its_decisions_statements_and_summary(tmp_path: Path) -> None:
    """-o x.xlsx: the decisions sheet's ladder column, the statements' ladder column, the summary by ladder."""
    import openpyxl

    book = tmp_path / "run.xlsx"
    assert run("evaluate", str(RULESET), str(JANUARY), "-o", str(book))[0] == 1
    decisions, _, summary = openpyxl.load_workbook(book).worksheets
    header = [c.value for c in decisions[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in decisions.iter_rows(min_row=2, values_only=True)}
    assert (rows["A1"]["ladder"], rows["I1"]["ladder"]) == ("agent", "qa")
    by = [r for r in summary.iter_rows(min_row=2, values_only=True) if r[0] in ("ladder", "level paid")]
    assert by[:3] == [
        ("ladder", "agent", 5, 5, 26200),
        ("ladder", "qa", 5, 5, 29880),
        ("ladder", "total", 10, 10, 56080),
    ]
    assert by[3:5] == [("level paid", "agent · S1", 2, 2, 9600), ("level paid", "agent · S2", 2, 2, 10800)]
    slips = tmp_path / "statements.xlsx"
    assert run("statement", str(RULESET), str(RECORDS), *A4_FEBRUARY, "-o", str(slips))[0] == 0
    sheet = openpyxl.load_workbook(slips).worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["agent_id", "period", "ladder", "line"]
    assert [c.value for c in sheet[2]][:6] == ["A4", "2026-02", "team_lead", "base", "line", 6500]


def test_the_payroll_and_the_json_carry_the_ladder(tmp_path: Path) -> None:
    """--payroll has a ladder column after the attributes; the decisions' JSON a ladder field."""
    payroll = tmp_path / "payroll.csv"
    code, text, _ = run("evaluate", str(RULESET), str(JANUARY), "--format", "json", "--payroll", str(payroll))
    assert code == 1
    rows = {r["agent_id"]: r for r in csv.DictReader(io.StringIO(payroll.read_text(encoding="utf-8")))}
    assert (rows["A4"]["ladder"], rows["A4"]["total"]) == ("agent", "5800.00")
    assert (rows["I1"]["ladder"], rows["I1"]["total"]) == ("qa", "6560.00")
    decided = {d["agent_id"]: d for d in json.loads(text)["decisions"]}
    assert (decided["A4"]["ladder"], decided["I1"]["ladder"]) == ("agent", "qa")


def test_each_ladders_fairness_screen_counts_its_own_agents(tmp_path: Path) -> None:
    """review --format json: one screen per ladder, each over its own five ranked agents.

    Agents: north 3 ranked, 0 flagged; south 2 ranked, A5 flagged (0.5): pass rate 0.5 of
    north's 1 (below 4/5), the rest's flag rate 0 (ratio unbounded), Fisher p = 2/5 = 0.4
    (P(1) = C(2,1)C(3,0)/C(5,1) = 0.4 and P(0) = 0.6). Inspectors: north 2, 0 flagged;
    south 3, I3 flagged (1/3): impact 2/3, Fisher p = 1 (P(1) = 0.6, P(0) = 0.4). Ranked
    together, each site would count both ladders' agents.
    """
    rules, records = site_ladders(tmp_path)
    code, text, _ = run("review", str(rules), str(records), "--format", "json")
    assert code == 1  # W1
    screens = json.loads(text)["fairness"]
    found = [
        (s["ladder"], g["group"], g["ranked"], g["flagged"], *map(Decimal, (g["impact_ratio"], g["fisher_p"])))
        for s in screens
        for g in s["groups"]
    ]
    assert [g["below_four_fifths"] for s in screens for g in s["groups"]] == [False, True, False, True]
    assert found == [
        ("agent", "north", 3, 0, 1, Decimal("0.4")),
        ("agent", "south", 2, 1, Decimal("0.5"), Decimal("0.4")),
        ("qa", "north", 2, 0, 1, 1),
        ("qa", "south", 3, 1, Decimal("0.6667"), 1),
    ]
