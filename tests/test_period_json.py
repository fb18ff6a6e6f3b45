"""The period writer of decisions: the same text as the row-by-row writer, for every decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tierpay import evaluate, load_ruleset, read_records
from tierpay.engine.decision_json import DecisionJson
from tierpay.engine.decisions import decision_fields
from tierpay.engine.period_json import period_texts

from .test_decision_json import CASES


@pytest.mark.parametrize(("ruleset", "records"), CASES, ids=lambda p: Path(p).stem)
def test_period_text_is_the_row_by_row_text(ruleset: Path, records: Path) -> None:
    """Each decision written for its whole period at once is the text the row-by-row writer gives."""
    compiled = load_ruleset(ruleset, allow_outside_files=True)  # golden inputs extend ../rulesets/
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
