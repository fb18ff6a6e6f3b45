"""The columnar pipeline against the reference path: the same CSV, rejections, gaps and state.

The differential test generates rulesets (the shipped one with its knobs turned: tie rules,
escalation, rounding, review calendars, gap policy...) and CSV files full of ties, boundary
values, blank cells, bad rows and duplicates, and requires both paths to agree byte for byte.
"""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierpay import CompiledRuleset, load_ruleset, parse_ruleset
from tierpay.cli import main
from tierpay.engine.fastpath import evaluate_frame, unsupported
from tierpay.engine.run import evaluate
from tierpay.engine.state import AgentState, State
from tierpay.io.frames import read_frame
from tierpay.io.sources import read_records
from tierpay.outputs.report import decision_rows

from .conftest import ROOT, SAMPLE_H1, STARS, generate_benchmark_data

CORPUS = ROOT / "tests" / "corpus" / "records"


def both(ruleset: CompiledRuleset, path: Path, state: State | None = None) -> None:
    """Assert that the two paths agree on everything the CSV run reports."""
    reference = evaluate(ruleset, read_records(ruleset, path), state)
    fast = evaluate_frame(ruleset, read_frame(ruleset, path), state)
    assert fast.csv() == decision_rows(reference.decisions, ruleset)
    assert [str(r) for r in fast.rejections] == [str(r) for r in reference.rejections]
    assert fast.gaps == reference.gaps
    assert fast.warnings == reference.warnings
    assert fast.state == reference.state
    assert fast.fallbacks == {}


def test_sample_history_is_identical(stars: CompiledRuleset) -> None:
    """Six months of the shipped sample, with its ten bad rows."""
    both(stars, SAMPLE_H1)


def test_generated_benchmark_data_is_identical(tmp_path: Path) -> None:
    """The benchmark generator's realistic data: thousands of teams, probationers, gaps."""
    path = tmp_path / "generated.csv"
    generate_benchmark_data(4000, path, seed=11)
    both(load_ruleset(ROOT / "benchmarks" / "ruleset.yaml"), path)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.csv") if "gbk" not in p.name))
def test_hostile_csv_files_get_the_same_answers(stars: CompiledRuleset, name: str) -> None:
    """Every hostile records file of the corpus: the same rejections, errors and decisions."""
    path = CORPUS / name
    refused: Exception | None = None
    try:
        reference = read_records(stars, path)
    except Exception as error:  # the file is refused: the fast reader refuses it with the same words
        refused = error
    if refused is not None:
        with pytest.raises(type(refused), match=re.escape(str(refused))):
            read_frame(stars, path)
        return
    assert [str(r) for r in read_frame(stars, path).rejections] == [str(r) for r in reference.rejections]
    both(stars, path)


def test_carried_state_and_its_problems(stars: CompiledRuleset, tmp_path: Path) -> None:
    """A state with a level the ruleset lacks, a month already evaluated, and ongoing streaks."""
    state = State(
        ruleset=stars.name,
        through="2026-01",
        agents=[
            AgentState(agent_id="E001", level="L9", last_period="2025-12"),
            AgentState(agent_id="E002", level="L3", last_period="2026-03", promote_streak=1, streak_level="L4"),
            AgentState(agent_id="E003", level="L2", last_period="2025-11", review_streak=2, review_stage="coaching"),
            AgentState(agent_id="Z999", level="L1", last_period="2025-12", on_probation=True, probation_periods=5),
        ],
    )
    both(stars, SAMPLE_H1, state)


def test_the_cli_writes_identical_files(tmp_path: Path) -> None:
    """``evaluate --fast --format csv`` and the reference run write the same bytes, state and messages."""
    outputs = []
    for fast in (True, False):
        out, err = io.StringIO(), io.StringIO()
        target = tmp_path / f"out-{fast}.csv"
        state = tmp_path / f"state-{fast}.json"
        args = ["evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv", "-o", str(target), "--state-out", str(state)]
        code = main([*args, "--fast"] if fast else args, out, err)
        outputs.append((code, target.read_bytes(), state.read_bytes(), err.getvalue()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 1  # the sample's bad rows


def test_unsupported_rulesets_say_so_and_keep_the_criteria_fast_path(tmp_path: Path) -> None:
    """A folder of versions is not for the columnar pipeline: a note, then the same output as before."""
    folder = ROOT / "examples" / "rulesets" / "versions"
    from tierpay import load_versions

    assert unsupported(load_versions(folder)) == "a folder of ruleset versions"
    out, err = io.StringIO(), io.StringIO()
    code = main(["evaluate", str(folder), str(SAMPLE_H1), "--format", "csv", "--fast"], out, err)
    assert code == 1
    assert "the columnar pipeline does not support a folder of ruleset versions" in err.getvalue()
    reference = io.StringIO()
    main(["evaluate", str(folder), str(SAMPLE_H1), "--format", "csv"], reference, io.StringIO())
    assert out.getvalue() == reference.getvalue()


# --- the differential test ------------------------------------------------------------------

BASE = yaml.safe_load(STARS.read_text(encoding="utf-8"))
BASE.pop("tests")

knobs = st.fixed_dictionaries(
    {
        "ties": st.sampled_from(["favour_employee", "include_all_tied"]),
        "min_cohort_size": st.integers(1, 4),
        "bottom_percent": st.sampled_from([10, 25, 34, 50]),
        "count_rounding": st.sampled_from(["floor", "ceil", "round"]),
        "on_clear": st.sampled_from(["reset", "step_down"]),
        "only_if": st.sampled_from([None, "score < 70", "score < 95"]),
        "missing_period": st.sampled_from(["pause", "reset"]),
        "consecutive": st.integers(1, 2),
        "min_periods": st.integers(0, 2),
        "max_steps": st.integers(1, 2),
        "pay_effective": st.sampled_from(["this_period", "next_period"]),
        "promotion_months": st.sampled_from([None, [2, 4]]),
        "demotion_months": st.sampled_from([None, [3]]),
        "demotion_consecutive": st.integers(1, 2),
        "stage": st.sampled_from(["line", "total"]),
        "mode": st.sampled_from(["half_up", "half_even", "down", "up"]),
        "cohort": st.sampled_from([[], ["team"]]),
        "percentile_metric": st.sampled_from(["calls_handled", "absences"]),
    }
)


def generated_ruleset(k: dict[str, Any]) -> CompiledRuleset:
    data = copy.deepcopy(BASE)
    review = data["review"]
    review.update(
        ties=k["ties"],
        min_cohort_size=k["min_cohort_size"],
        bottom_percent=k["bottom_percent"],
        count_rounding=k["count_rounding"],
    )
    review["escalation"]["on_clear"] = k["on_clear"]
    if k["only_if"] is None:
        review.pop("only_if")
    else:
        review["only_if"] = k["only_if"]
    data["missing_period"] = k["missing_period"]
    data["promotion"].update(
        consecutive_periods=k["consecutive"], min_periods_in_level=k["min_periods"], max_steps=k["max_steps"]
    )
    data["promotion"]["pay_effective"] = k["pay_effective"]
    if k["promotion_months"]:
        data["promotion"]["review_months"] = k["promotion_months"]
    data["demotion"]["consecutive_periods"] = k["demotion_consecutive"]
    if k["demotion_months"]:
        data["demotion"]["review_months"] = k["demotion_months"]
    data["pay"]["rounding"] = {"quantum": "0.01", "mode": k["mode"], "stage": k["stage"]}
    data["scorecard"]["cohort_by"] = k["cohort"]
    data["scorecard"]["parts"][5]["metric"] = k["percentile_metric"]
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return parse_ruleset(text, file="generated.yaml", base_dir=STARS.parent)


COLUMNS = [
    "agent_id", "period", "level", "team", "region", "status", "protected_leave", "calls_handled",
    "aht_seconds", "qa_score", "csat", "fcr", "adherence", "absences", "discipline_incidents",
    "complaints", "major_complaints", "fatal_errors", "worked_days", "scheduled_days",
    "night_shifts", "loss_deduction", "contract_wage",
]  # fmt: skip

# Values sit on and around the ruleset's thresholds, repeat (ties), and include blank and bad cells.
cell = {
    "level": st.sampled_from(["", "L1", "L2", "L3", "L4", "L5", "二星坐席", "L7"]),
    "team": st.sampled_from(["T1", "T2", "T2", "T6", ""]),
    "region": st.sampled_from(["tier1", "tier2", "tier2"]),
    "status": st.sampled_from(["", "regular", "probation", "regular", "on leave"]),
    "protected_leave": st.sampled_from(["", "false", "true", "是", "maybe"]),
    "calls_handled": st.sampled_from(["299", "300", "1000", "1100", "1100", "1200", "", " 1150", "1e3"]),
    "aht_seconds": st.sampled_from(["180", "300", "360", "420", "600", "240.5"]),
    "qa_score": st.sampled_from(["60", "75", "80", "84.99", "85", "88", "88.0", "92", "95", "101", "9x"]),
    "csat": st.sampled_from(["80", "85", "88", "90", "93", "95"]),
    "fcr": st.sampled_from(["60", "70", "75", "80", "85"]),
    "adherence": st.sampled_from(["80", "92", "94", "95", "96.5"]),
    "absences": st.sampled_from(["0", "0", "1", "3", ""]),
    "discipline_incidents": st.sampled_from(["0", "0", "0", "1"]),
    "complaints": st.sampled_from(["0", "1", "2"]),
    "major_complaints": st.sampled_from(["0", "0", "0", "1"]),
    "fatal_errors": st.sampled_from(["0", "0", "0", "1"]),
    "worked_days": st.sampled_from(["21", "20", "10.5", "0", "22"]),
    "scheduled_days": st.sampled_from(["21", "21", "22", "20", "0"]),
    "night_shifts": st.sampled_from(["0", "2", "5"]),
    "loss_deduction": st.sampled_from(["0", "0", "150.5", "2000"]),
    "contract_wage": st.sampled_from(["", "4000", "3000.25"]),
}


@st.composite
def records_file(draw: st.DrawFn) -> str:
    rows = []
    for month in range(1, draw(st.integers(1, 4)) + 1):
        for agent in range(draw(st.integers(3, 12))):
            if draw(st.integers(0, 9)) == 0:
                continue  # a gap
            row = {"agent_id": f"A{agent:02d}", "period": f"2026-{month:02d}"}
            row.update({name: draw(strategy) for name, strategy in cell.items()})
            rows.append(row)
    if rows and draw(st.booleans()):
        rows.append(dict(draw(st.sampled_from(rows))))  # a duplicate
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for row in rows:
        out.write(",".join(row[c] for c in COLUMNS) + "\n")
    return out.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=knobs, text=records_file())
def test_both_paths_agree_on_generated_rulesets_and_records(
    k: dict[str, Any], text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Decisions, flags, pay, rejections, gaps and state: identical, including ties and boundaries."""
    path = tmp_path_factory.mktemp("gen") / "records.csv"
    path.write_text(text, encoding="utf-8")
    both(generated_ruleset(k), path)
