"""Scorecard normalisation against hand-computed values, minimum volume and vetoes."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from tierpay.engine.scorecard import band, compute_scores, linear, percentile, ratio, zscore
from tierpay.ruleset.model import BandNorm, LinearNorm, Metric, RatioNorm, Scorecard, ScoreVeto


def test_linear_clamps_between_worst_and_best() -> None:
    """Linear: 0 at worst, 1 at best, proportional between, clamped outside; works reversed."""
    norm = LinearNorm(method="linear", worst=D(60), best=D(95))
    assert linear(D(60), norm) == 0
    assert linear(D("77.5"), norm) == D("0.5")
    assert linear(D(100), norm) == 1
    assert linear(D(50), norm) == 0
    aht = LinearNorm(method="linear", worst=D(600), best=D(300))  # lower is better
    assert linear(D(450), aht) == D("0.5")


def test_ratio_to_target_follows_direction_and_cap() -> None:
    """Ratio: actual/target (target/actual when lower is better), capped."""
    norm = RatioNorm(method="ratio", target=D(1000), cap=D("1.2"))
    assert ratio(D(900), norm, "higher") == D("0.9")
    assert ratio(D(1500), norm, "higher") == D("1.2")
    assert ratio(D(1250), norm, "lower") == D("0.8")
    assert ratio(D(0), norm, "lower") == D("1.2")


def test_band_is_best_inside_and_falls_off_both_sides() -> None:
    """Band: 1 inside [low, high], linear to 0 at worst_low and worst_high."""
    norm = BandNorm(method="band", worst_low=D(180), low=D(300), high=D(420), worst_high=D(600))
    assert band(D(360), norm) == 1
    assert band(D(240), norm) == D("0.5")
    assert band(D(510), norm) == D("0.5")
    assert band(D(700), norm) == 0


def test_percentile_counts_ties_as_half() -> None:
    """Percentile: share of the others beaten, a tie counting half."""
    population = [D(10), D(20), D(20), D(40)]
    assert percentile(D(40), population, "higher") == 1
    assert percentile(D(10), population, "higher") == 0
    assert percentile(D(20), population, "higher") == D("0.5")  # beats 1, ties 1: (1 + 0.5) / 3
    assert percentile(D(10), population, "lower") == 1
    assert percentile(D(5), [D(5)], "higher") == 1


def test_zscore_is_clipped_and_rescaled() -> None:
    """Z-score: (x - mean) / sd, signed by direction, clipped to ±clip and mapped to [0, 1]."""
    population = [D(2), D(4), D(4), D(4), D(5), D(5), D(7), D(9)]  # mean 5, sd 2
    assert zscore(D(9), population, "higher", D(3)) == (D(2) + 3) / 6
    assert zscore(D(9), population, "lower", D(3)) == (D(-2) + 3) / 6
    assert zscore(D(5), [D(5), D(5)], "higher", D(3)) == D("0.5")


def card(**extra: object) -> Scorecard:
    """A two-part scorecard: QA (0.6, linear 60-100) and CSAT (0.4, a rate, linear 80-100)."""
    data: dict[str, object] = {
        "parts": [
            {"metric": "qa", "weight": "0.6", "normalise": {"method": "linear", "worst": 60, "best": 100}},
            {
                "metric": "csat",
                "weight": "0.4",
                "rate": True,
                "normalise": {"method": "linear", "worst": 80, "best": 100},
            },
        ],
        "min_volume": {"metric": "calls", "at_least": 300},
    }
    data.update(extra)
    return Scorecard.model_validate(data)


METRICS = {"qa": Metric(), "csat": Metric(), "calls": Metric(type="integer")}


def test_weighted_score_and_parts() -> None:
    """Score = sum of normalised x weight x scale, and each part is kept for explanations."""
    [score] = compute_scores(card(), METRICS, [{"qa": D(90), "csat": D(90), "calls": D(1000)}], [None])
    assert score.value == D("65.00")  # 0.75 * 0.6 * 100 + 0.5 * 0.4 * 100
    assert [(p.metric, p.normalised, p.points) for p in score.parts] == [
        ("qa", D("0.750000"), D("45.000000")),
        ("csat", D("0.500000"), D("20.000000")),
    ]


def test_low_volume_leaves_rate_metrics_out_and_respreads_weight() -> None:
    """Under the minimum volume the rate metric is not graded and the others carry its weight."""
    [score] = compute_scores(card(), METRICS, [{"qa": D(90), "csat": D(90), "calls": D(250)}], [None])
    assert score.value == D("75.00")  # QA alone, weight 0.6 / 0.6 = 1
    assert score.parts[1].note == "not graded: low volume"
    assert score.notes == [
        "calls 250 is below the minimum volume 300: rate metrics (csat) are not graded and their weight is re-spread"
    ]


def test_veto_sets_the_score() -> None:
    """A veto item (一票否决) sets the score to its declared value, keeping the parts."""
    veto = ScoreVeto(code="fatal", when="x", score=D(40))
    [score] = compute_scores(card(), METRICS, [{"qa": D(100), "csat": D(100), "calls": D(900)}], [veto])
    assert (score.value, score.veto) == (D("40.00"), "fatal")
    assert score.parts[0].points == D("60.000000")


def test_percentile_part_is_computed_within_the_cohort() -> None:
    """Percentile parts compare an agent with its own cohort only."""
    sc = Scorecard.model_validate(
        {"cohort_by": ["team"], "parts": [{"metric": "calls", "weight": 1, "normalise": {"method": "percentile"}}]}
    )
    rows = [
        {"team": "A", "calls": D(100)},
        {"team": "A", "calls": D(200)},
        {"team": "B", "calls": D(50)},
    ]
    scores = compute_scores(sc, METRICS, rows, [None, None, None])
    assert [(s.cohort, s.value) for s in scores] == [
        ("team=A", D("0.00")),
        ("team=A", D("100.00")),
        ("team=B", D("100.00")),
    ]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=30), st.sampled_from(["higher", "lower"]))
def test_percentile_matches_its_definition(values: list[int], better: str) -> None:
    """The sorted lookup gives the plain definition: others beaten plus half the ties, over others."""
    population = [D(v) for v in values]
    for value in population:
        sign = 1 if better == "higher" else -1
        worse = sum(1 for p in population if sign * p < sign * value)
        tied = sum(1 for p in population if p == value) - 1
        expected = (D(worse) + D("0.5") * tied) / (len(population) - 1) if len(population) > 1 else D(1)
        assert percentile(value, population, better) == expected


def test_relative_parts_are_neutral_below_the_minimum_cohort() -> None:
    """Below min_cohort_size a percentile or z-score part scores 0.5 (half its weight) and says why."""
    sc = Scorecard.model_validate(
        {
            "cohort_by": ["team"],
            "min_cohort_size": 3,
            "parts": [
                {"metric": "calls", "weight": "0.5", "normalise": {"method": "percentile"}},
                {"metric": "qa", "weight": "0.5", "normalise": {"method": "zscore"}},
            ],
        }
    )
    rows = [
        {"team": "A", "calls": D(100), "qa": D(60)},
        {"team": "A", "calls": D(200), "qa": D(90)},  # best of two: 100 without the minimum
        {"team": "B", "calls": D(50), "qa": D(70)},
        {"team": "B", "calls": D(60), "qa": D(80)},
        {"team": "B", "calls": D(70), "qa": D(90)},
    ]
    scores = compute_scores(sc, METRICS, rows, [None] * 5)
    # Team A (2 < 3): both parts neutral, 25 + 25. Team B: calls percentiles 0, 0.5, 1 score 0, 25, 50;
    # qa 70, 80, 90 has mean 80, sd sqrt(200/3) = 8.165, z -1.2247, 0, 1.2247, (z + 3) / 6 x 50 points
    # = 14.79, 25, 35.21. Rows: 0 + 14.79, 25 + 25, 50 + 35.21.
    assert [s.value for s in scores] == [D("50.00"), D("50.00"), D("14.79"), D("50.00"), D("85.21")]
    part = scores[1].parts[0]
    assert (part.normalised, part.points) == (D("0.500000"), D("25.000000"))
    assert (
        part.note == "neutral: the cohort has 2 graded agents, fewer than min_cohort_size 3; scored at the middle (0.5)"
    )
    assert scores[1].notes == [
        "calls is scored at the middle of its cohort (team=A): 2 graded agents, fewer than min_cohort_size 3",
        "qa is scored at the middle of its cohort (team=A): 2 graded agents, fewer than min_cohort_size 3",
    ]
    assert scores[3].parts[0].note is None  # team B has three: ranked as before


def test_float_path_rounds_a_large_scale_exactly() -> None:
    """At scale 1000 with 6 decimals the float sum misses an exact half by 2e-6: its error bound sends it to the exact path.

    0.1 × 5.6541917951 + 0.2 × 7.7805264230 + 0.3 × 7.9718890433 + 0.4 × 6.7605329460 = 7.2173043555
    exactly, × 1000 = 7217.3043555: half-up to 6 places is 7217.304356. In float64 the scaled sum
    is 7217304355.499998, which a fixed 1e-6 margin took for a value below the half: 7217.304355.
    """
    from tierpay import evaluate

    from .conftest import MINI, build

    values = ["5.6541917951", "7.7805264230", "7.9718890433", "6.7605329460"]
    metrics = {**MINI["metrics"], **{f"m{k}": {"min": 0, "max": 10} for k in range(4)}}
    parts = [
        {"metric": f"m{k}", "weight": w, "normalise": {"method": "ratio", "target": 1, "cap": 10}}
        for k, w in enumerate(["0.1", "0.2", "0.3", "0.4"])
    ]
    ruleset = build(metrics=metrics, scorecard={"scale": 1000, "decimals": 6, "parts": parts})
    record = {
        "agent_id": "A",
        "period": "2026-01",
        "level": "L1",
        "qa": 80,
        **{f"m{k}": v for k, v in enumerate(values)},
    }
    outcome = evaluate(ruleset, [record])
    assert outcome.to_polars()["score"].to_list() == [D("7217.304356")]
    assert outcome.decision("A").score is not None
    assert outcome.decision("A").score.value == D("7217.304356")
