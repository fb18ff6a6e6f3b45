"""Generated rulesets and records: what must hold whatever the ruleset's knobs and the file's cells.

The rulesets are the shipped one with its knobs turned (tie rules, escalation, rounding,
review calendars, gap policy...); the CSV files are full of ties, boundary values, blank
cells, bad rows and duplicates. For each, the engine must give the same bytes whichever way
the records arrive (the CSV read straight into columns, or checked record by record), in one
run or month by month through the carried state, and every record must end decided or
rejected exactly once. The hostile files of the corpus are held to the same.
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

from tierpay import CompiledRuleset, State, evaluate, parse_ruleset, read_records
from tierpay.io.frames import read_frame

from .conftest import ROOT, SAMPLE_H1, STARS, generate_benchmark_data

CORPUS = ROOT / "tests" / "corpus" / "records"


def agree(ruleset: CompiledRuleset, path: Path, state: State | None = None) -> None:
    """Both readers give the same outcome; month-by-month runs give the one run's bytes; nothing is lost."""
    whole = evaluate(ruleset, read_frame(ruleset, path), state)
    checked = evaluate(ruleset, read_records(ruleset, path), state)
    assert checked.to_json() == whole.to_json()
    rows = sorted([d.row for d in whole.decisions] + [r.row for r in whole.rejections])
    assert len(rows) == len(set(rows))
    chained_csv, carried = [], state
    batch = read_records(ruleset, path)
    for period in whole.periods:
        step = evaluate(ruleset, [r for r in batch.records if r.period == period], carried)
        chained_csv.append(step.csv(header=False))
        carried = step.state
    assert "".join(chained_csv) == whole.csv(header=False)
    if carried is not None:
        assert carried.agents == whole.state.agents


def test_sample_history(stars: CompiledRuleset) -> None:
    """Six months of the shipped sample, with its ten bad rows."""
    agree(stars, SAMPLE_H1)


def test_generated_benchmark_data(tmp_path: Path) -> None:
    """The benchmark generator's realistic data: thousands of teams, probationers, gaps."""
    from tierpay import load_ruleset

    path = tmp_path / "generated.csv"
    generate_benchmark_data(4000, path, seed=11)
    agree(load_ruleset(ROOT / "benchmarks" / "ruleset.yaml", allow_outside_files=True), path)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.csv") if "gbk" not in p.name))
def test_hostile_csv_files(stars: CompiledRuleset, name: str) -> None:
    """Every hostile records file of the corpus: both readers give the same rejections, errors and decisions."""
    path = CORPUS / name
    refused: Exception | None = None
    try:
        reference = read_records(stars, path)
    except Exception as error:  # the file is refused: the column reader refuses it with the same words
        refused = error
    if refused is not None:
        with pytest.raises(type(refused), match=re.escape(str(refused))):
            read_frame(stars, path)
        return
    assert [str(r) for r in read_frame(stars, path).rejections] == [str(r) for r in reference.rejections]
    agree(stars, path)


# --- generated rulesets and records -------------------------------------------------------

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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=knobs, text=records_file())
def test_generated_rulesets_and_records(k: dict[str, Any], text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Decisions, flags, pay, rejections, gaps and state: the same by either reader and month by month."""
    path = tmp_path_factory.mktemp("gen") / "records.csv"
    path.write_text(text, encoding="utf-8")
    agree(generated_ruleset(k), path)
