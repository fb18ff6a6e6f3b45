"""The JSON writer of decisions: the same text as ``Decision.model_dump_json``, without the objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tierpay import CompiledRuleset, evaluate, load_ruleset, read_records
from tierpay.engine.decision_json import DEPTH, DecisionJson
from tierpay.engine.decisions import build_decision, decision_fields
from tierpay.engine.outcome import Outcome

from .conftest import ROOT, SAMPLE_H1, STARS

INPUTS = ROOT / "tests" / "golden" / "inputs"
RULESETS = INPUTS / "rulesets"

CASES = [
    (STARS, SAMPLE_H1),
    (RULESETS / "zscore.yaml", INPUTS / "sample-h1-t1-t2.csv"),
    (RULESETS / "derived-score-part.yaml", INPUTS / "sample-h1-t1-t2.csv"),
    (RULESETS / "pay-derived.yaml", INPUTS / "sample-h1-t1-t2.csv"),
    (RULESETS / "percentile-volume-vetoes.yaml", INPUTS / "sample-h1-t1-t2.csv"),
    (RULESETS / "relative-min-cohort.yaml", INPUTS / "sample-h1-t1-t2.csv"),
    (RULESETS / "review-escalation.yaml", INPUTS / "sample-h1-t1-t2.csv"),
    (RULESETS / "floors-and-deductions.yaml", INPUTS / "sample-h1-t1-t2.csv"),
    (ROOT / "benchmarks" / "ruleset.yaml", INPUTS / "generated-seed7-2000.csv"),
]
"""Rulesets and records that between them turn on every kind of decision the writers write."""


def assert_same_text(outcome: Outcome) -> int:
    """Every decision's written text is its pydantic JSON, indented to its place; returns how many."""
    indent = " " * DEPTH
    count = 0
    for part in outcome.parts:
        if part.run is None:
            continue
        writer = DecisionJson()
        for i in part.rows:
            want = build_decision(part.run, i).model_dump_json(indent=2).replace("\n", "\n" + indent)
            assert writer.text(decision_fields(part.run, i)) == want
            count += 1
    return count


@pytest.mark.parametrize(("ruleset", "records"), CASES, ids=lambda p: Path(p).stem)
def test_written_decision_is_its_pydantic_json(ruleset: Path, records: Path) -> None:
    """For every decision of the outcome, the writer's text equals ``model_dump_json(indent=2)``."""
    compiled = load_ruleset(ruleset, allow_outside_files=True)
    outcome = evaluate(compiled, read_records(compiled, records))
    assert assert_same_text(outcome) > 0


def test_outcome_json_reads_back_as_its_decisions(stars: CompiledRuleset) -> None:
    """The whole outcome's JSON holds, in order, the decisions that ``decisions`` builds."""
    outcome = evaluate(stars, read_records(stars, SAMPLE_H1))
    written = json.loads(outcome.to_json())["decisions"]
    assert written == [json.loads(d.model_dump_json()) for d in outcome.decisions]
