"""The carried state: its ruleset stamp, every field read strictly, and its fit to the rules it is used under.

The mini ruleset (tests/conftest.py): levels L1 < L2 < L3, probation, no review and no pay;
``reviewed`` adds an escalation ladder (coaching after 1 flag, plan after 2) and a loss
deduction line.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tierpay import AgentState, State, StateError, evaluate, load_ruleset, read_records, read_state
from tierpay.cli import main
from tierpay.engine.state_text import MAX_COUNT, MAX_DEPTH
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import check_versions

from .conftest import MINI, ROOT, SAMPLE_MONTH, STARS, build

JANUARY = [
    {"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": 85},
    {"agent_id": "A2", "period": "2026-01", "level": "L2", "qa": 72},
]
FEBRUARY = [{"agent_id": "A1", "period": "2026-02", "qa": 85}]
REVIEW = {
    "rank_by": "qa",
    "bottom_count": 1,
    "min_cohort_size": 1,
    "escalation": {"stages": [{"code": "coaching", "after": 1}, {"code": "plan", "after": 2}]},
}
PAY = {
    "lines": [{"id": "base", "amount": 3000}],
    "deductions": [{"id": "loss", "metric": "loss"}],
}


def reviewed() -> CompiledRuleset:
    """The mini ruleset with a review ladder and a deduction line."""
    metrics = {**MINI["metrics"], "loss": {"type": "number", "min": 0, "default": 0}}
    return build(review=REVIEW, pay=PAY, metrics=metrics)


def agent(**fields: Any) -> dict[str, Any]:
    """An agent's JSON fields: A1 at L1, evaluated in January, with ``fields`` changed."""
    return {"agent_id": "A1", "level": "L1", "last_period": "2026-01", **fields}


def state_json(stamp: CompiledRuleset | None, *agents: dict[str, Any], **top: Any) -> str:
    """State JSON with ``agents``, stamped with ``stamp`` (unstamped when None), top-level fields in ``top``."""
    data: dict[str, Any] = {"tierpay_state": 2, "through": "2026-01"}
    if stamp is not None:
        data.update(ruleset=stamp.name, ruleset_version=stamp.version, ruleset_sha256=stamp.sha256)
    data.update(top)
    data["agents"] = list(agents)
    return json.dumps(data)


def refusal(ruleset: CompiledRuleset, text: str, **options: Any) -> str:
    """The StateError message of reading ``text`` as s.json and evaluating February with it."""
    with pytest.raises(StateError) as caught:
        evaluate(ruleset, FEBRUARY, State.from_json(text, "s.json"), **options)
    return str(caught.value)


def read_refusal(text: str, name: str = "s.json") -> str:
    """The StateError message of reading ``text`` alone (as JSON, or CSV when ``name`` ends .csv)."""
    with pytest.raises(StateError) as caught:
        State.from_csv(text, name) if name.endswith(".csv") else State.from_json(text, name)
    return str(caught.value)


def short(ruleset: CompiledRuleset) -> str:
    return ruleset.sha256[:12]


# --- the stamp --------------------------------------------------------------------------------


def test_a_written_state_names_the_version_that_wrote_it() -> None:
    """JSON and CSV both carry the ruleset's name, version and sha256; format 2."""
    mini = build()
    state = evaluate(mini, JANUARY).state
    assert (state.tierpay_state, state.ruleset, state.ruleset_version, state.ruleset_sha256) == (
        2,
        "mini",
        "1",
        mini.sha256,
    )
    header, first = state.to_csv().splitlines()[:2]
    assert header.endswith(",deductions_due,ruleset,ruleset_version,ruleset_sha256")
    assert first.endswith(f",mini,1,{mini.sha256}")
    for saved in (State.from_json(state.to_json()), State.from_csv(state.to_csv())):
        assert saved == state


def test_a_state_from_another_ruleset_is_refused_naming_both() -> None:
    """Another hash: exit-4 error naming both rulesets by name, version and short hash, and the way out."""
    mini, other = build(), build(version="2")
    text = evaluate(mini, JANUARY).state.to_json()
    assert refusal(other, text) == (
        f"s.json: written under mini 1 (sha256 {short(mini)}), not under mini 2 (sha256 {short(other)}): "
        "to carry it over, checked agent by agent against the new rules, give --state-from-other-ruleset "
        "(state_from_other_ruleset=True in Python)"
    )


def test_the_override_carries_a_state_over_and_stamps_the_new_ruleset() -> None:
    """With state_from_other_ruleset the state is used, and the state out names the new ruleset."""
    mini, other = build(), build(version="2")
    january = evaluate(mini, JANUARY).state
    february = evaluate(other, FEBRUARY, State.from_json(january.to_json()), state_from_other_ruleset=True)
    assert february.decision("A1", "2026-02").action == "promote"
    assert february.state.ruleset_sha256 == other.sha256
    assert february.warnings == []


def test_the_override_still_checks_each_agent_against_the_new_rules() -> None:
    """Carried over to a ruleset without L3 or probation, the agents using them are refused by name and field."""
    mini = build()
    two = build(levels=MINI["levels"][:2], probation=None)
    text = state_json(mini, agent(level="L3"), agent(agent_id="A2", on_probation=True))
    assert refusal(two, text, state_from_other_ruleset=True) == (
        "s.json: agents[0] (A1): level: 'L3' is not a level of mini 1 (levels: L1, L2)\n"
        "s.json: agents[1] (A2): on_probation: true, but mini 1 has no probation section"
    )


def test_a_state_without_a_hash_is_accepted_with_a_warning() -> None:
    """An earlier tierpay's state: used, with a warning that it cannot be matched to the ruleset."""
    mini = build()
    text = state_json(None, agent(promote_streak=1, streak_level="L2"), tierpay_state=1, ruleset="mini")
    outcome = evaluate(mini, FEBRUARY, State.from_json(text, "s.json"))
    assert outcome.decision("A1", "2026-02").action == "promote"
    assert outcome.warnings == [
        "s.json: the state names no ruleset hash (written by an earlier tierpay), so it cannot be checked that "
        f"it was written under mini 1 (sha256 {short(mini)}); its agents are checked against it"
    ]


def test_a_state_without_a_hash_naming_another_ruleset_is_refused() -> None:
    """No hash but another name: refused as another ruleset's state."""
    text = state_json(None, agent(), ruleset="stars")
    assert refusal(build(), text).startswith(
        f"s.json: written under stars (no hash), not under mini 1 (sha256 {short(build())}):"
    )


def test_a_state_with_no_agents_needs_no_hash() -> None:
    """An empty state names nothing that could be wrong: no warning."""
    outcome = evaluate(build(), FEBRUARY, State.from_json('{"agents": []}'))
    assert outcome.warnings == []


def test_versions_accept_a_state_written_by_any_of_them() -> None:
    """A folder of versions reads a state written under one of its versions, by hash; the state out names
    the version in force for its last period."""
    first = build(version="2026.1", levels=MINI["levels"])
    second = build(version="2026.2", effective_from="2026-02-01")
    versions = check_versions([first, second])
    january = evaluate(first, JANUARY).state
    february = evaluate(versions, FEBRUARY, State.from_json(january.to_json()))
    assert february.warnings == []
    assert february.state.ruleset_version == "2026.2"
    assert february.state.ruleset_sha256 == second.sha256
    with pytest.raises(StateError) as caught:
        evaluate(check_versions([second]), FEBRUARY, State.from_json(january.to_json()))
    assert str(caught.value).startswith(
        f"<state>: written under mini 2026.1 (sha256 {short(first)}), "
        f"not under any version of mini: 2026.2 ({short(second)}):"
    )


# --- hand edits the state machine never writes ------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"level": "L3", "promote_streak": 1, "streak_level": "L2"},
            "streak_level: L2 is not above level L3; a promotion streak counts toward a higher level "
            "(levels from the lowest: L1, L2, L3)",
        ),
        (
            {"level": "L2", "promote_streak": 1, "streak_level": "L2"},
            "streak_level: L2 is not above level L2; a promotion streak counts toward a higher level "
            "(levels from the lowest: L1, L2, L3)",
        ),
        (
            {"promote_streak": 1, "streak_level": "L9"},
            "streak_level: 'L9' is not a level of mini 1 (levels: L1, L2, L3)",
        ),
        ({"level": "L9"}, "level: 'L9' is not a level of mini 1 (levels: L1, L2, L3)"),
        (
            {"promote_streak": 2},
            "streak_level: missing; a promote_streak of 2 counts toward a level above L1, named in streak_level",
        ),
        (
            {"streak_level": "L2"},
            "streak_level: L2 with a promote_streak of 0; a streak level belongs to a running streak "
            "(leave it empty, or give the streak)",
        ),
        (
            {"level": "L2", "promote_streak": 1, "streak_level": "L3", "maintain_fail_streak": 1},
            "maintain_fail_streak: 1 with a promote_streak of 1; a period that fails maintenance ends a "
            "promotion streak",
        ),
        (
            {"on_probation": True, "promote_streak": 1, "streak_level": "L2"},
            "promote_streak: 1 while on_probation is true; probation holds the level, with no promotion or "
            "demotion streak",
        ),
        (
            {"review_stage": "coaching"},
            "review_stage: coaching with a review_streak of 0; a stage is reached by consecutive flags",
        ),
        (
            {"last_period": "2026-02"},
            "last_period: 2026-02 is after the state's through 2026-01, the last period evaluated",
        ),
    ],
)
def test_inconsistent_combinations_are_refused(fields: dict[str, Any], message: str) -> None:
    """Each combination the level state machine never writes is refused, naming the agent and the field."""
    mini = build()
    assert refusal(mini, state_json(mini, agent(**fields))) == f"s.json: agents[0] (A1): {message}"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"review_streak": 2, "review_stage": "coaching"},
            "review_stage: coaching with a review_streak of 2; mini 1 gives plan after 2 consecutive flags",
        ),
        (
            {"review_streak": 1},
            "review_stage: none with a review_streak of 1; mini 1 gives coaching after 1 consecutive flag",
        ),
        (
            {"review_streak": 1, "review_stage": "warning"},
            "review_stage: 'warning' is not a stage of mini 1 (stages: coaching, plan)",
        ),
        (
            {"deductions_due": {"tools": "20.00"}},
            "deductions_due: tools is not a deduction line of mini 1 (deduction lines: loss)",
        ),
    ],
)
def test_review_stages_and_deduction_lines_must_be_the_rulesets(fields: dict[str, Any], message: str) -> None:
    """A review stage is the one the ladder gives for the streak; dues are owed on the ruleset's lines."""
    ruleset = reviewed()
    assert refusal(ruleset, state_json(ruleset, agent(**fields))) == f"s.json: agents[0] (A1): {message}"


def test_every_problem_is_listed_at_once_in_file_order() -> None:
    """Several agents' problems come in one error, agent by agent."""
    mini = build()
    text = state_json(mini, agent(level="L9"), agent(agent_id="A2", promote_streak=1))
    assert refusal(mini, text).splitlines() == [
        "s.json: agents[0] (A1): level: 'L9' is not a level of mini 1 (levels: L1, L2, L3)",
        "s.json: agents[1] (A2): streak_level: missing; a promote_streak of 1 counts toward a level above L1, "
        "named in streak_level",
    ]


def test_a_state_made_in_python_is_checked_when_used() -> None:
    """AgentState values built in code go through the same checks, placed by index."""
    state = State(agents=[AgentState(agent_id="A1", level="L1", last_period="garbage")])
    with pytest.raises(StateError) as caught:
        evaluate(build(), FEBRUARY, state)
    assert str(caught.value) == "<state>: agents[0] (A1): last_period: 'garbage' is not a month written YYYY-MM"


def test_a_copy_of_a_checked_state_with_other_agents_is_checked_again() -> None:
    """A state read or written is trusted only while it holds the agents it was checked with."""
    mini = build()
    written = evaluate(mini, JANUARY).state
    copy = written.model_copy(update={"agents": [written.agents[0].model_copy(update={"last_period": "garbage"})]})
    with pytest.raises(StateError) as caught:
        evaluate(mini, FEBRUARY, copy)
    assert str(caught.value) == "<state>: agents[0] (A1): last_period: 'garbage' is not a month written YYYY-MM"


# --- fields read strictly ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"last_period": "garbage"}, "last_period: 'garbage' is not a month written YYYY-MM"),
        ({"last_period": "2026-13"}, "last_period: '2026-13' is not a month written YYYY-MM"),
        ({"last_period": 202601}, "last_period: 202601 is not a month written YYYY-MM"),
        ({"periods_in_level": -2}, f"periods_in_level: -2 is not a whole number from 0 to {MAX_COUNT}"),
        ({"periods_in_level": 1.5}, f"periods_in_level: 1.5 is not a whole number from 0 to {MAX_COUNT}"),
        ({"periods_in_level": "3"}, f"periods_in_level: '3' is not a whole number from 0 to {MAX_COUNT}"),
        ({"periods_in_level": True}, f"periods_in_level: true is not a whole number from 0 to {MAX_COUNT}"),
        ({"periods_in_level": None}, f"periods_in_level: null is not a whole number from 0 to {MAX_COUNT}"),
        ({"review_streak": 10**30}, f"review_streak: {10**30} is not a whole number from 0 to {MAX_COUNT}"),
        ({"on_probation": "yes"}, "on_probation: 'yes' is not true or false"),
        ({"on_probation": 1}, "on_probation: 1 is not true or false"),
        ({"level": ["L1"]}, "level: a list is not text"),
        ({"level": None}, "level: missing"),
        (
            {"deductions_due": {"loss": "-5"}},
            "deductions_due: loss: '-5' is not an exact amount from 0 up to 1,000,000,000,000 with at most 10 "
            "decimal places",
        ),
        (
            {"deductions_due": {"loss": "NaN"}},
            "deductions_due: loss: 'NaN' is not an exact amount from 0 up to 1,000,000,000,000 with at most 10 "
            "decimal places",
        ),
        (
            {"deductions_due": {"loss": 1e13}},
            "deductions_due: loss: 10000000000000.0 is not an exact amount from 0 up to 1,000,000,000,000 with "
            "at most 10 decimal places",
        ),
        (
            {"deductions_due": {"loss": "0.00000000001"}},
            "deductions_due: loss: '0.00000000001' is not an exact amount from 0 up to 1,000,000,000,000 with "
            "at most 10 decimal places",
        ),
        (
            {"deductions_due": {"Loss!": "5"}},
            "deductions_due: 'Loss!' is not a deduction line id (lower-case letters, digits and _)",
        ),
        ({"deductions_due": [1]}, "deductions_due: a list is not an object of deduction lines and amounts"),
        ({"promote_streek": 1}, "'promote_streek': unknown field (did you mean promote_streak?)"),
    ],
)
def test_each_bad_field_is_named_with_the_form_it_takes(fields: dict[str, Any], message: str) -> None:
    """A bad value is refused when read, naming the agent, the field, the value and the accepted form."""
    assert read_refusal(state_json(None, agent(**fields))) == f"s.json: agents[0] (A1): {message}"


def test_amounts_due_are_kept_exact() -> None:
    """An amount written as text or as a JSON number is read exactly as written."""
    text = state_json(None, agent(deductions_due={"loss": "890.10"}), tierpay_state=1)
    assert State.from_json(text).agents[0].deductions_due == {"loss": Decimal("890.10")}
    number = '{"agents": [{"agent_id": "A1", "level": "L1", "deductions_due": {"loss": 0.1}}]}'
    assert State.from_json(number).agents[0].deductions_due == {"loss": Decimal("0.1")}


def test_top_level_fields_are_checked() -> None:
    """The state's own fields: format, hash, period and the agents list, each named."""
    text = json.dumps(
        {"tierpay_state": 3, "ruleset_sha256": "abc", "through": "soon", "agent": [], "agents": {"A1": {}}}
    )
    assert read_refusal(text).splitlines() == [
        "s.json: 'agent': unknown field (did you mean agents?)",
        "s.json: ruleset_sha256: 'abc' is not a SHA-256 hash (64 lower-case hex digits)",
        "s.json: tierpay_state: 3 is a newer state format than this tierpay reads (1 or 2): use the tierpay "
        "that wrote it, or a newer one",
        "s.json: through: 'soon' is not a month written YYYY-MM",
        "s.json: agents: an object is not a list; a state lists its agents (an empty list for none)",
    ]


def test_a_key_given_twice_is_refused() -> None:
    """JSON keys given twice (where the last would win unseen) are refused, at the top and in an agent."""
    text = '{"agents": [{"agent_id": "A1", "level": "L1", "level": "L3"}], "agents": []}'
    assert read_refusal(text) == "s.json: agents: given twice"
    text = '{"agents": [{"agent_id": "A1", "level": "L1", "level": "L3"}]}'
    assert read_refusal(text) == "s.json: agents[0] (A1): level: given twice"


def test_an_agent_listed_twice_is_refused_naming_both_places() -> None:
    """JSON: both indexes; CSV: both lines."""
    text = state_json(None, agent(), agent(agent_id="A2"), agent(level="L2"))
    assert read_refusal(text) == (
        "s.json: agents[2] (A1): agent_id: A1 is listed twice, also at s.json: agents[0] (A1); an agent has one state"
    )
    csv_text = "agent_id,level\nA1,L1\nA2,L1\nA1,L2\n"
    assert read_refusal(csv_text, "s.csv") == (
        "s.csv:4 (A1): agent_id: A1 is listed twice, also at s.csv:2 (A1); an agent has one state"
    )


def test_json_that_is_not_a_state_is_refused_with_its_place() -> None:
    """Not JSON: line and column; not an object; nested too deep: refused before parsing, no RecursionError."""
    assert read_refusal('{"agents": [') == "s.json:1:13: not valid JSON: Expecting value"
    assert read_refusal("[]") == "s.json: expected a JSON object with an `agents` list, found a list"
    assert read_refusal("[" * 100_000) == (
        f"s.json: nested more than {MAX_DEPTH} levels deep; a state is 4 deep "
        "(the state, its agents list, an agent, its deductions_due)"
    )
    brackets_in_text = state_json(None, agent(agent_id="[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["))
    assert State.from_json(brackets_in_text).agents[0].agent_id == "[" * 30


def test_a_state_file_over_the_size_limit_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the limit (64 MiB; made small here): refused by its size, before it is read."""
    monkeypatch.setattr("tierpay.io.state_file.MAX_STATE_BYTES", 1024 * 1024)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(StateError) as caught:
        read_state(big)
    assert str(caught.value) == f"{big}: 1.0 MiB, more than the 1 MiB a state file may be"


# --- CSV --------------------------------------------------------------------------------------


def test_csv_cells_are_read_strictly_naming_line_and_field() -> None:
    """Every bad cell of every row, each with its line, agent and field."""
    text = (
        "agent_id,level,last_period,periods_in_level,on_probation,deductions_due\n"
        "A1,L1,2026-1,x,yes,loss\n"
        "\n"
        "A2,L1,2026-01,1,TRUE,loss=5;loss=6\n"
        "A3,,2026-01,1,false,\n"
        "A4,L1\n"
    )
    assert read_refusal(text, "s.csv").splitlines() == [
        "s.csv:2 (A1): last_period: '2026-1' is not a month written YYYY-MM",
        f"s.csv:2 (A1): periods_in_level: 'x' is not a whole number from 0 to {MAX_COUNT}",
        "s.csv:2 (A1): on_probation: 'yes' is not true or false",
        "s.csv:2 (A1): deductions_due: 'loss' is not line=amount (for example loss=890.00)",
        "s.csv:4 (A2): deductions_due: loss: given twice",
        "s.csv:5 (A3): level: missing",
        "s.csv:6: has 2 cells, the header has 6",
    ]


def test_csv_header_problems_are_refused() -> None:
    """An unknown column, a column twice and a missing required column, all from the header line."""
    assert read_refusal("agent_id,agent_id,levle\n", "s.csv").splitlines() == [
        "s.csv:1: 'levle': unknown column (did you mean level?)",
        "s.csv:1: agent_id: a column given twice",
        "s.csv:1: no level column",
    ]
    assert read_refusal("", "s.csv") == "s.csv: the file is empty; a state CSV starts with its header row"


def test_csv_rows_must_agree_on_the_ruleset() -> None:
    """The ruleset columns repeat on every row; rows that disagree are refused."""
    mini = build()
    state = evaluate(mini, JANUARY).state.to_csv()
    edited = state.replace(f"mini,1,{mini.sha256}\n", "mini,2,0\n", 1)
    assert read_refusal(edited, "s.csv").splitlines() == [
        "s.csv:3 (A2): ruleset_version: '1' differs from '2' on line 2; a state is written under one ruleset version",
        f"s.csv:3 (A2): ruleset_sha256: '{mini.sha256[:40]}...' differs from '0' on line 2; a state is written "
        "under one ruleset version",
        "s.csv:2 (A1): ruleset_sha256: '0' is not a SHA-256 hash (64 lower-case hex digits)",
    ]


def test_an_earlier_csv_state_without_ruleset_columns_is_read() -> None:
    """The CSV of an earlier tierpay (no ruleset columns) is read as format 1, with no hash."""
    state = State.from_csv("agent_id,level,last_period\nA1,L1,2026-01\n", "s.csv", ruleset="mini")
    assert (state.tierpay_state, state.ruleset, state.ruleset_sha256, state.through) == (1, "mini", None, "2026-01")


# --- every path answers the same --------------------------------------------------------------


@pytest.mark.parametrize("mode", [[], ["--format", "csv"], ["--format", "csv", "--stream"], ["--format", "json"]])
@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_every_cli_path_refuses_an_unknown_streak_level(tmp_path: Path, mode: list[str], suffix: str) -> None:
    """An unknown streak level: the same exit 4 and message on every output path, JSON or CSV state."""
    (tmp_path / "mini.yaml").write_text(yaml.safe_dump(MINI, allow_unicode=True, sort_keys=False), encoding="utf-8")
    mini = load_ruleset(tmp_path / "mini.yaml")
    (tmp_path / "records.csv").write_text("agent_id,period,qa\nA1,2026-02,85\n", encoding="utf-8")
    good = evaluate(mini, JANUARY).state
    bad = good.model_copy(
        update={"agents": [good.agents[0].model_copy(update={"promote_streak": 1, "streak_level": "L9"})]}
    )
    path = tmp_path / f"state{suffix}"
    path.write_text(bad.to_csv() if suffix == ".csv" else bad.to_json(), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    argv = ["evaluate", str(tmp_path / "mini.yaml"), str(tmp_path / "records.csv"), "--state-in", str(path), *mode]
    assert main(argv, stdout=out, stderr=err) == 4
    where = f"{path}:2 (A1)" if suffix == ".csv" else f"{path}: agents[0] (A1)"
    assert err.getvalue() == f"error: {where}: streak_level: 'L9' is not a level of mini 1 (levels: L1, L2, L3)\n"
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "{new}", "{records}"],
        ["review", "{new}", "{records}"],
        ["statement", "{new}", "{records}"],
        ["explain", "{new}", "{records}", "--agent", "A1"],
        ["diff", "{new}", "{old}", "{records}"],
    ],
)
def test_every_command_with_state_in_refuses_another_rulesets_state_unless_told(
    tmp_path: Path, command: list[str]
) -> None:
    """evaluate, review, statement, explain and diff (its ruleset in force): exit 4 for a state written under
    mini 1 read under mini 2; --state-from-other-ruleset carries it over."""
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(MINI, allow_unicode=True, sort_keys=False), encoding="utf-8")
    two = yaml.safe_dump({**MINI, "version": "2"}, allow_unicode=True, sort_keys=False)
    (tmp_path / "new.yaml").write_text(two, encoding="utf-8")
    (tmp_path / "records.csv").write_text("agent_id,period,qa\nA1,2026-02,85\n", encoding="utf-8")
    old = load_ruleset(tmp_path / "old.yaml")
    (tmp_path / "state.json").write_text(evaluate(old, JANUARY).state.to_json(), encoding="utf-8")
    paths = {"old": tmp_path / "old.yaml", "new": tmp_path / "new.yaml", "records": tmp_path / "records.csv"}
    argv = [a.format(**paths) for a in command] + ["--state-in", str(tmp_path / "state.json")]
    err = io.StringIO()
    assert main(argv, stdout=io.StringIO(), stderr=err) == 4
    assert err.getvalue().startswith(f"error: {tmp_path / 'state.json'}: written under mini 1 (sha256 ")
    assert main([*argv, "--state-from-other-ruleset"], stdout=io.StringIO(), stderr=io.StringIO()) == 0


def test_diff_carries_the_state_over_to_the_proposed_ruleset(tmp_path: Path) -> None:
    """diff OLD NEW: a state written under OLD is accepted for both sides, NEW checked agent by agent."""
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(MINI, allow_unicode=True, sort_keys=False), encoding="utf-8")
    two = {**MINI, "version": "2", "levels": MINI["levels"][:2]}
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(two, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp_path / "records.csv").write_text("agent_id,period,qa\nA1,2026-02,85\n", encoding="utf-8")
    old = load_ruleset(tmp_path / "old.yaml")
    state = tmp_path / "state.json"
    state.write_text(evaluate(old, JANUARY).state.to_json(), encoding="utf-8")
    argv = ["diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), str(tmp_path / "records.csv")]
    assert main([*argv, "--state-in", str(state)], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    state.write_text(state_json(old, agent(level="L3")), encoding="utf-8")
    err = io.StringIO()
    assert main([*argv, "--state-in", str(state)], stdout=io.StringIO(), stderr=err) == 4
    assert err.getvalue() == f"error: {state}: agents[0] (A1): level: 'L3' is not a level of mini 2 (levels: L1, L2)\n"


def shown_error(page: Path, words: str) -> list[str]:
    """The lines of the text block of a docs page that contains ``words``."""
    text = page.read_text(encoding="utf-8")
    [block] = [b for b in text.split("```text\n")[1:] if words in b.split("```")[0]]
    return block.split("```")[0].splitlines()


def test_the_errors_shown_in_the_docs_are_what_tierpay_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state errors in the records and errors references: the corpus's hand edit, and January's state read
    under the 2026.2 version."""
    expected = (ROOT / "tests" / "corpus" / "runs" / "state-streak-below-level" / "expected").read_text(
        encoding="utf-8"
    )
    printed = expected.split("--- stderr\n")[1].split("--- files\n")[0].splitlines()
    assert shown_error(ROOT / "docs" / "reference" / "records.md", "is not above level") == printed
    monkeypatch.chdir(tmp_path)
    stars = load_ruleset(STARS)
    Path("state.json").write_text(evaluate(stars, read_records(stars, SAMPLE_MONTH)).state.to_json(), encoding="utf-8")
    newer = ROOT / "examples" / "rulesets" / "versions" / "callcenter-stars-2026.2.yaml"
    err = io.StringIO()
    argv = ["evaluate", str(newer), str(SAMPLE_MONTH), "--state-in", "state.json", "--allow-outside-files"]
    assert main(argv, stdout=io.StringIO(), stderr=err) == 4
    assert shown_error(ROOT / "docs" / "reference" / "errors.md", "written under") == err.getvalue().splitlines()


@pytest.mark.parametrize("mode", [[], ["--format", "csv"], ["--format", "csv", "--stream"]])
def test_every_cli_path_warns_of_a_state_without_a_hash(tmp_path: Path, mode: list[str]) -> None:
    """An earlier tierpay's state: each output path decides the records and prints the same warning once."""
    (tmp_path / "mini.yaml").write_text(yaml.safe_dump(MINI, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp_path / "records.csv").write_text("agent_id,period,qa\nA1,2026-02,85\n", encoding="utf-8")
    mini = load_ruleset(tmp_path / "mini.yaml")
    (tmp_path / "state.json").write_text(state_json(None, agent(), ruleset="mini", tierpay_state=1), encoding="utf-8")
    err = io.StringIO()
    argv = ["evaluate", str(tmp_path / "mini.yaml"), str(tmp_path / "records.csv")]
    assert main([*argv, "--state-in", str(tmp_path / "state.json"), *mode], stdout=io.StringIO(), stderr=err) == 0
    assert err.getvalue() == (
        f"warning: {tmp_path / 'state.json'}: the state names no ruleset hash (written by an earlier tierpay), so it "
        f"cannot be checked that it was written under mini 1 (sha256 {short(mini)}); its agents are checked against it\n"
    )
