"""The outcome as columns: typed frames out (polars, pandas, arrow), decisions built on demand."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl

from tierpay import CompiledRuleset, Decision, evaluate, read_records

from .conftest import SAMPLE_H1


def sample(stars: CompiledRuleset):  # type: ignore[no-untyped-def]
    """The six-month sample's outcome."""
    return evaluate(stars, read_records(stars, SAMPLE_H1))


def test_to_polars_has_the_csv_columns_typed_and_money_exact(stars: CompiledRuleset) -> None:
    """One row per agent-period, the decisions CSV's columns; money and scores are decimals, never floats."""
    outcome = sample(stars)
    frame = outcome.to_polars()
    assert frame.columns == outcome.csv().splitlines()[0].split(",")
    assert frame.height == len(outcome.decisions)
    schema = frame.schema
    assert schema["pay_total"] == pl.Decimal(38, 2)
    assert schema["score"] == pl.Decimal(38, 2)
    assert schema["review_flagged"] == pl.Boolean
    assert schema["on_probation"] == pl.Boolean
    assert schema["review_rank"] == pl.Int64
    assert not any(dtype in (pl.Float32, pl.Float64) for dtype in schema.values())
    a009 = frame.filter(pl.col("agent_id") == "A009", pl.col("period") == "2026-01").row(0, named=True)
    assert a009["pay_total"] == outcome.decision("A009", "2026-01").pay.total  # type: ignore[union-attr]


def test_to_pandas_and_to_arrow_keep_exact_decimals(stars: CompiledRuleset) -> None:
    """pandas gets ``decimal.Decimal`` objects, arrow gets ``decimal128``: the same figures as the CSV."""
    import pyarrow as pa

    outcome = sample(stars)
    table = outcome.to_arrow()
    assert table.num_rows == len(outcome.decisions)
    assert pa.types.is_decimal(table.schema.field("pay_total").type)
    frame = outcome.to_pandas()
    totals = [row.split(",") for row in outcome.csv().splitlines()]
    column = totals[0].index("pay_total")
    assert [str(v) for v in frame["pay_total"]] == [row[column] for row in totals[1:]]
    assert isinstance(frame["pay_total"].iloc[0], Decimal)


def test_decisions_are_built_only_for_the_rows_asked_for(stars: CompiledRuleset) -> None:
    """``decision``, ``select`` and ``only`` build the rows asked for, the same as iterating all."""
    outcome = sample(stars)
    everything = {(d.agent_id, d.period): d for d in outcome.decisions}
    a012 = outcome.select("A012")
    assert [d.period for d in a012] == sorted(p for a, p in everything if a == "A012")
    assert all(d == everything[(d.agent_id, d.period)] for d in a012)
    assert outcome.decision("A012") == a012[-1]
    march = outcome.only("2026-03")
    assert {d.period for d in march.decisions} == {"2026-03"}
    assert len(march.decisions) == sum(1 for _, p in everything if p == "2026-03")
    assert outcome.decisions[-1] == list(outcome.decisions)[-1]


def test_json_holds_every_decision_as_its_own_json(stars: CompiledRuleset) -> None:
    """The outcome's JSON, written a decision at a time, reads back as the decisions' own JSON."""
    outcome = sample(stars)
    data = json.loads(outcome.to_json())
    assert len(data["decisions"]) == len(outcome.decisions)
    for item, decision in zip(data["decisions"], outcome.decisions, strict=True):
        assert Decision.model_validate(item).model_dump_json() == decision.model_dump_json()
    assert data["state"] == json.loads(outcome.state.to_json())


def test_decimal_columns_have_the_rulesets_scale_whatever_the_figures(stars: CompiledRuleset) -> None:
    """Two months under one ruleset give frames of the same types, so they concatenate."""
    january = evaluate(stars, [r for r in read_records(stars, SAMPLE_H1).records if r.period == "2026-01"])
    whole = sample(stars)
    assert january.to_polars().schema == whole.to_polars().schema
    assert whole.to_polars().schema["pay_loss"] == pl.Decimal(38, 2)


def test_asking_for_a_missing_decision_says_why(stars: CompiledRuleset) -> None:
    """A rejected or unknown agent raises ``NoDecision`` (a ``TierpayError`` and a ``KeyError``) naming it."""
    import pytest

    from tierpay import NoDecision, TierpayError

    outcome = sample(stars)
    with pytest.raises(NoDecision) as found:
        outcome.decision("A901")
    assert (
        str(found.value) == f"no decision for agent A901: rejected ({SAMPLE_H1}:419 (A901 2026-01): qa_score: missing)"
    )
    assert isinstance(found.value, TierpayError)
    assert isinstance(found.value, KeyError)
    with pytest.raises(KeyError, match=r"no decision for agent NOPE in 2026-01$"):
        outcome.decision("NOPE", "2026-01")
