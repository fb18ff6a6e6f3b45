"""The engine: every record accounted for once, deterministic, failures become rejections."""

from __future__ import annotations

import re

from tierpay import evaluate, read_records

from .conftest import MINI, SAMPLE_H1, build


def test_every_record_decided_or_rejected_once(stars) -> None:
    """Over the six-month sample, each input row is in exactly one of decisions and rejections.

    A decision made from several records (the segments of a month) names the others in its notes.
    """
    batch = read_records(stars, SAMPLE_H1)
    outcome = evaluate(stars, batch)
    keys = [(d.source, d.row) for d in outcome.decisions] + [(r.source, r.row) for r in outcome.rejections]
    merged = [
        (source, int(row))
        for d in outcome.decisions
        for note in d.notes
        if note.startswith("one decision from")
        for source, row in re.findall(r"(\S+):(\d+) \(\d{4}-\d\d-\d\d to ", note)[1:]  # the first is the decision's
    ]
    assert len(merged) == 1  # A002's March
    keys += merged
    assert len(keys) == len(set(keys)) == len(batch.records) + len(batch.rejections)


def test_same_input_gives_byte_identical_output(stars) -> None:
    """Two evaluations of the same input serialise to the same bytes."""
    first = evaluate(stars, read_records(stars, SAMPLE_H1)).to_json()
    second = evaluate(stars, read_records(stars, SAMPLE_H1)).to_json()
    assert first == second


def test_evaluation_error_rejects_only_that_record() -> None:
    """A derived value that divides by zero rejects its record and names the expression."""
    data = dict(MINI, derived={"ratio": "qa / incidents"})
    outcome = evaluate(
        build(data),
        [
            {"agent_id": "A", "period": "2026-01", "qa": 80, "incidents": 0},
            {"agent_id": "B", "period": "2026-01", "qa": 80, "incidents": 2},
        ],
    )
    assert [d.agent_id for d in outcome.decisions] == ["B"]
    assert outcome.rejections[0].reasons == [
        "derived.ratio.expr: arithmetic error: division by zero in `qa / incidents`"
    ]


def test_every_action_appears_in_the_sample(stars) -> None:
    """The six-month sample shows each level action at least once, with a readable reason."""
    outcome = evaluate(stars, read_records(stars, SAMPLE_H1))
    actions = {d.action for d in outcome.decisions}
    assert actions == {"promote", "hold", "demote", "convert", "extend_probation", "probation_review"}
    assert all(d.why for d in outcome.decisions)


def test_results_are_stamped_with_the_ruleset(stars) -> None:
    """Every outcome names the ruleset, its version and content hash."""
    outcome = evaluate(stars, [])
    assert (outcome.ruleset.name, outcome.ruleset.version) == ("callcenter-stars", "2026.1")
    assert outcome.ruleset.sha256 == stars.sha256


def test_decisions_agree_with_the_columns(stars) -> None:
    """Each ``Decision`` built on demand says what its row of the decisions frame says."""
    outcome = evaluate(stars, read_records(stars, SAMPLE_H1))
    frame = outcome.to_polars()
    assert frame.height == len(outcome.decisions) == 416
    for row, d in zip(frame.iter_rows(named=True), outcome.decisions, strict=True):
        assert (row["agent_id"], row["period"], row["level"], row["action"]) == (
            d.agent_id,
            d.period,
            d.level,
            d.action,
        )
        assert row["score"] == (d.score.value if d.score else None)
        assert row["pay_total"] == (d.pay.total if d.pay else None)
        assert row["review_flagged"] == (d.review.flagged if d.review else None)


def test_decisions_survive_a_validating_round_trip(stars) -> None:
    """Objects the engine builds without validation are valid: re-reading the JSON gives them back."""
    from tierpay import Decision

    for d in evaluate(stars, read_records(stars, SAMPLE_H1)).decisions:
        text = d.model_dump_json()
        assert Decision.model_validate_json(text).model_dump_json() == text


def test_garbage_collection_is_restored(stars) -> None:
    """Evaluation pauses automatic collection and restores the host's setting, also when off."""
    import gc

    batch = read_records(stars, SAMPLE_H1)
    assert gc.isenabled()
    evaluate(stars, batch)
    assert gc.isenabled()
    gc.disable()
    try:
        evaluate(stars, batch)
        assert not gc.isenabled()
    finally:
        gc.enable()
