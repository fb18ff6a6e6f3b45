"""Write the generated inputs of the golden corpus (run once; the results are committed).

    python tests/golden/make_inputs.py

Everything here is seeded, so a rerun writes the same bytes; it is kept to show where each
input under ``tests/golden/inputs/`` came from, not to be rerun casually: the inputs are data
now, and the expected outputs were made from these exact bytes.

- ``sample-2026-02-to-06.csv``: the shipped six-month sample without January, for the chained run.
- ``sample-2026-01-t1-t2.csv``: January, teams T1 and T2 only, for the small JSON outputs.
- ``sample-h1-t1-t2.csv``: the six months of teams T1 and T2, for explanations under other rulesets.
- ``generated-seedN-ROWS.csv``: ``benchmarks/generate.py`` data, as ``tests/conftest.py`` makes it.
- ``differential/NN.yaml`` and ``NN.csv``: rulesets and records drawn like the differential test's
  (``tests/test_fastpath.py``): the shipped ruleset with its knobs turned, and files full of ties,
  boundary values, blank and bad cells, gaps and duplicates (most rows are rejected, as in the test),
  and ``NN-clean.csv``: four months of the same values without the bad cells, so that most rows are
  decided and the knobs (ties, escalation, calendars, rounding) have something to act on. Drawn with ``random.Random(seed)``
  from the same value lists, so they do not depend on Hypothesis' internals.
- ``state-carried-problems.json``: the carried state of ``test_carried_state_and_its_problems``.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "tests" / "golden" / "inputs"
sys.path.insert(0, str(ROOT))

from tests.conftest import SAMPLE_H1, generate_benchmark_data  # noqa: E402

from tierpay.engine.state import AgentState, State  # noqa: E402

GENERATED = [(11, 3000), (2026, 2500), (7, 2000), (3, 100)]
"""(seed, rows) of the benchmark generator's files; the last, small one also gets JSON output."""

# The differential test's knobs and cell values (tests/test_fastpath.py), as plain lists.
KNOBS: dict[str, list[Any]] = {
    "ties": ["favour_employee", "include_all_tied"],
    "min_cohort_size": [1, 2, 3, 4],
    "bottom_percent": [10, 25, 34, 50],
    "count_rounding": ["floor", "ceil", "round"],
    "on_clear": ["reset", "step_down"],
    "only_if": [None, "score < 70", "score < 95"],
    "missing_period": ["pause", "reset"],
    "consecutive": [1, 2],
    "min_periods": [0, 1, 2],
    "max_steps": [1, 2],
    "pay_effective": ["this_period", "next_period"],
    "promotion_months": [None, [2, 4]],
    "demotion_months": [None, [3]],
    "demotion_consecutive": [1, 2],
    "stage": ["line", "total"],
    "mode": ["half_up", "half_even", "down", "up"],
    "cohort": [[], ["team"]],
    "percentile_metric": ["calls_handled", "absences"],
}

COLUMNS = [
    "agent_id", "period", "level", "team", "region", "status", "start_date", "contract_term",
    "protected_leave", "calls_handled",
    "aht_seconds", "qa_score", "csat", "fcr", "adherence", "absences", "discipline_incidents",
    "complaints", "major_complaints", "fatal_errors", "worked_days", "scheduled_days",
    "night_shifts", "loss_deduction", "contract_wage", "own_contributions",
]  # fmt: skip
#: Own contributions follow the region (drawn from no random numbers, so the other cells are as before).
OWN_CONTRIBUTIONS = {"tier1": "975", "tier2": "640"}
#: Start dates and contract terms follow the agent number (no random numbers either): caps of
#: 6, 2, 1 and 6 months from December to February, so probation ends inside the half year.
STARTS = ["2025-12-01", "2026-01-05", "2026-02-16"]
TERMS = ["3y", "1y", "6m", "open"]

CELLS: dict[str, list[str]] = {
    "level": ["", "L1", "L2", "L3", "L4", "L5", "二星坐席", "L7"],
    "team": ["T1", "T2", "T2", "T6", ""],
    "region": ["tier1", "tier2", "tier2"],
    "status": ["", "regular", "probation", "regular", "on leave"],
    "protected_leave": ["", "false", "true", "是", "maybe"],
    "calls_handled": ["299", "300", "1000", "1100", "1100", "1200", "", " 1150", "1e3"],
    "aht_seconds": ["180", "300", "360", "420", "600", "240.5"],
    "qa_score": ["60", "75", "80", "84.99", "85", "88", "88.0", "92", "95", "101", "9x"],
    "csat": ["80", "85", "88", "90", "93", "95"],
    "fcr": ["60", "70", "75", "80", "85"],
    "adherence": ["80", "92", "94", "95", "96.5"],
    "absences": ["0", "0", "1", "3", ""],
    "discipline_incidents": ["0", "0", "0", "1"],
    "complaints": ["0", "1", "2"],
    "major_complaints": ["0", "0", "0", "1"],
    "fatal_errors": ["0", "0", "0", "1"],
    "worked_days": ["21", "20", "10.5", "0", "22"],
    "scheduled_days": ["21", "21", "22", "20", "0"],
    "night_shifts": ["0", "2", "5"],
    "loss_deduction": ["0", "0", "150.5", "2000"],
    "contract_wage": ["", "4000", "3000.25"],
}

DIFFERENTIAL = 12
"""How many ruleset and records pairs to draw."""

BAD = {"", "二星坐席", "L7", "T6", "on leave", "是", "maybe", " 1150", "1e3", "101", "9x"}
"""Cells that may reject their row: the ``NN-clean.csv`` files leave them out."""


def differential_ruleset(k: dict[str, Any]) -> str:
    """The knobs as a ruleset that extends the shipped one and names only what it changes."""
    review: dict[str, Any] = {
        "ties": k["ties"],
        "min_cohort_size": k["min_cohort_size"],
        "bottom_percent": k["bottom_percent"],
        "count_rounding": k["count_rounding"],
        "only_if": k["only_if"],  # null: anyone can be flagged
        "escalation": {"on_clear": k["on_clear"]},
    }
    promotion: dict[str, Any] = {
        "consecutive_periods": k["consecutive"],
        "min_periods_in_level": k["min_periods"],
        "max_steps": k["max_steps"],
        "pay_effective": k["pay_effective"],
    }
    if k["promotion_months"]:
        promotion["review_months"] = k["promotion_months"]
    demotion: dict[str, Any] = {"consecutive_periods": k["demotion_consecutive"]}
    if k["demotion_months"]:
        demotion["review_months"] = k["demotion_months"]
    stars = yaml.safe_load((ROOT / "rulesets" / "callcenter-stars.yaml").read_text(encoding="utf-8"))
    parts = stars["scorecard"]["parts"]
    parts[5]["metric"] = k["percentile_metric"]
    data = {
        "extends": "../../../../rulesets/callcenter-stars.yaml",
        "version": "2026.1-differential",
        "missing_period": k["missing_period"],
        "scorecard": {"cohort_by": k["cohort"], "parts": parts},
        "promotion": promotion,
        "demotion": demotion,
        "review": review,
        "pay": {"rounding": {"quantum": "0.01", "mode": k["mode"], "stage": k["stage"]}},
    }
    knobs = ", ".join(f"{name}={value}" for name, value in k.items())
    head = f"# Drawn by tests/golden/make_inputs.py like tests/test_fastpath.py's knobs:\n# {knobs}\n"
    return head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)


def _usable(name: str, value: str) -> bool:
    """Whether a cell value is decided (a blank absences cell defaults to 0; 0 scheduled days cannot prorate)."""
    if name == "absences":
        return True
    return value not in BAD and not (name == "scheduled_days" and value == "0")


def differential_records(rng: random.Random, clean: bool = False) -> str:
    """Records like the differential test's ``records_file`` strategy; ``clean``: four months, no bad cells."""
    cells = {name: [v for v in values if not clean or _usable(name, v)] for name, values in CELLS.items()}
    rows = []
    for month in range(1, (4 if clean else rng.randint(1, 4)) + 1):
        for agent in range(rng.randint(10, 12) if clean else rng.randint(3, 12)):
            if rng.randint(0, 9) == 0:
                continue  # a gap
            row = {"agent_id": f"A{agent:02d}", "period": f"2026-{month:02d}"}
            row.update({name: rng.choice(values) for name, values in cells.items()})
            row["own_contributions"] = OWN_CONTRIBUTIONS[row["region"]]
            row["start_date"], row["contract_term"] = STARTS[agent % 3], TERMS[agent % 4]
            rows.append(row)
    if rows and rng.random() < 0.5:
        rows.append(dict(rng.choice(rows)))  # a duplicate
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for row in rows:
        out.write(",".join(row[c] for c in COLUMNS) + "\n")
    return out.getvalue()


def sample_subsets() -> None:
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    cells = [next(csv.reader([line])) for line in body]
    later = [line for line, row in zip(body, cells, strict=True) if "2026-02" <= row[1] <= "2026-06"]
    (INPUTS / "sample-2026-02-to-06.csv").write_text(header + "".join(later), encoding="utf-8")
    small = [line for line, row in zip(body, cells, strict=True) if row[1] == "2026-01" and row[3] in ("T1", "T2")]
    (INPUTS / "sample-2026-01-t1-t2.csv").write_text(header + "".join(small), encoding="utf-8")
    teams = [line for line, row in zip(body, cells, strict=True) if row[3] in ("T1", "T2")]
    (INPUTS / "sample-h1-t1-t2.csv").write_text(header + "".join(teams), encoding="utf-8")


def carried_state() -> None:
    """A hand-made state with problems, in the format of an earlier tierpay (no ruleset hash)."""
    state = State(
        tierpay_state=1,
        ruleset="callcenter-stars",
        through="2026-01",
        agents=[
            AgentState(agent_id="E001", level="L9", last_period="2025-12"),
            AgentState(agent_id="E002", level="L3", last_period="2026-03", promote_streak=1, streak_level="L4"),
            AgentState(agent_id="E003", level="L2", last_period="2025-11", review_streak=2, review_stage="coaching"),
            AgentState(agent_id="Z999", level="L1", last_period="2025-12", on_probation=True, probation_periods=5),
            AgentState(agent_id="A011", level="L2", last_period="2025-12", review_streak=1, review_stage="coaching"),
            AgentState(agent_id="A016", level="L4", last_period="2025-11", maintain_fail_streak=1),
        ],
    )
    text = state.model_dump_json(indent=2, exclude={"ruleset_version", "ruleset_sha256"}) + "\n"
    (INPUTS / "state-carried-problems.json").write_text(text, encoding="utf-8")


def main() -> None:
    INPUTS.mkdir(parents=True, exist_ok=True)
    sample_subsets()
    carried_state()
    for seed, rows in GENERATED:
        generate_benchmark_data(rows, INPUTS / f"generated-seed{seed}-{rows}.csv", seed=seed)
    folder = INPUTS / "differential"
    folder.mkdir(exist_ok=True)
    for n in range(1, DIFFERENTIAL + 1):
        rng = random.Random(f"tierpay-golden-{n}")
        knobs = {name: rng.choice(values) for name, values in KNOBS.items()}
        (folder / f"{n:02d}.yaml").write_text(differential_ruleset(knobs), encoding="utf-8")
        (folder / f"{n:02d}.csv").write_text(differential_records(rng), encoding="utf-8")
        (folder / f"{n:02d}-clean.csv").write_text(differential_records(rng, clean=True), encoding="utf-8")


if __name__ == "__main__":
    main()
