"""The period writer of decisions: the same text as the row-by-row writer, for every decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tierpay import evaluate, load_ruleset, read_records
from tierpay.engine.decision_json import DecisionJson
from tierpay.engine.decisions import decision_fields
from tierpay.engine.period_json import period_texts

from .conftest import ROOT, SAMPLE_H1, STARS

INPUTS = ROOT / "tests" / "golden" / "inputs"
RULESETS = INPUTS / "rulesets"


@pytest.mark.parametrize(
    ("ruleset", "records"),
    [
        (STARS, SAMPLE_H1),
        (RULESETS / "zscore.yaml", INPUTS / "sample-h1-t1-t2.csv"),
        (RULESETS / "derived-score-part.yaml", INPUTS / "sample-h1-t1-t2.csv"),
        (RULESETS / "pay-derived.yaml", INPUTS / "sample-h1-t1-t2.csv"),
        (RULESETS / "percentile-volume-vetoes.yaml", INPUTS / "sample-h1-t1-t2.csv"),
        (RULESETS / "review-escalation.yaml", INPUTS / "sample-h1-t1-t2.csv"),
        (RULESETS / "floors-and-deductions.yaml", INPUTS / "sample-h1-t1-t2.csv"),
        (ROOT / "benchmarks" / "ruleset.yaml", INPUTS / "generated-seed7-2000.csv"),
    ],
    ids=lambda p: Path(p).stem,
)
def test_period_text_is_the_row_by_row_text(ruleset: Path, records: Path) -> None:
    """Each decision written for its whole period at once is the text the row-by-row writer gives."""
    compiled = load_ruleset(ruleset)
    outcome = evaluate(compiled, read_records(compiled, records))
    shared: dict[Any, Any] = {}  # one ruleset: its pieces shared by every period, as the outcome writes them
    for part in outcome.parts:
        if part.run is None:
            continue
        texts = period_texts(part.run, part.rows, DecisionJson(), shared)
        if texts is None:
            continue
        writer = DecisionJson()
        assert texts == [writer.text(decision_fields(part.run, i)) for i in part.rows]
