"""The weighted scorecard: each metric normalised by its declared method, weighted, summed.

Percentile and z-score need the whole cohort, so scores are computed for a period's records
together. A minimum-volume rule leaves rate metrics out for agents with too little work and
re-spreads their weight; a veto (一票否决) sets the score to a declared value. In a cohort
smaller than the scorecard's ``min_cohort_size`` a percentile or z-score part is *neutral*: it
scores 0.5, the middle of the cohort (percentile 50, z-score 0), so half its weight, and says
why; a rank among two or three people says little. All arithmetic is ``Decimal`` in a fixed
context, so the same inputs give the same digits.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from tierpay.engine.results import Score, ScorePart, trusted
from tierpay.ruleset.model import (
    BandNorm,
    LinearNorm,
    Metric,
    PercentileNorm,
    RatioNorm,
    Scorecard,
    ScoreVeto,
    ZScoreNorm,
)

ZERO = Decimal(0)
ONE = Decimal(1)
HALF = Decimal("0.5")
CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)
"""The decimal context of every score computation (the columnar pipeline uses it too)."""
POINTS_PLACES = Decimal("0.000001")


def cohort_label(keys: Sequence[str], values: Mapping[str, Any]) -> str:
    """A cohort's name from its attribute values, such as ``team=A, site=SH``; ``all`` for none."""
    if not keys:
        return "all"
    return ", ".join(f"{k}={values[k]}" for k in keys)


def clamp(x: Decimal, low: Decimal = ZERO, high: Decimal = ONE) -> Decimal:
    """``x`` limited to ``[low, high]``."""
    return max(low, min(high, x))


def linear(value: Decimal, norm: LinearNorm) -> Decimal:
    """Position of ``value`` between worst (0) and best (1), clamped."""
    return clamp((value - norm.worst) / (norm.best - norm.worst))


def ratio(value: Decimal, norm: RatioNorm, better: str) -> Decimal:
    """Actual over target (target over actual when lower is better), from 0 up to the cap."""
    if better == "lower":
        return norm.cap if value <= 0 else clamp(norm.target / value, ZERO, norm.cap)
    return clamp(value / norm.target, ZERO, norm.cap)


def band(value: Decimal, norm: BandNorm) -> Decimal:
    """1 inside the target band, falling linearly to 0 at the worst values on either side."""
    if norm.low <= value <= norm.high:
        return ONE
    if value < norm.low:
        return clamp((value - norm.worst_low) / (norm.low - norm.worst_low))
    return clamp((norm.worst_high - value) / (norm.worst_high - norm.high))


class Population:
    """One metric's values in one cohort, prepared once so each agent's lookup is cheap."""

    def __init__(self, values: Sequence[Decimal]) -> None:
        self.sorted = sorted(values)
        n = len(self.sorted)
        with localcontext(CONTEXT):
            self.mean = sum(self.sorted, ZERO) / n if n else ZERO
            variance = sum(((p - self.mean) ** 2 for p in self.sorted), ZERO) / n if n else ZERO
            self.sd = variance.sqrt() if variance else ZERO

    def percentile(self, value: Decimal, better: str) -> Decimal:
        """``percentile`` of ``value`` in this population."""
        return percentile(value, self, better)

    def zscore(self, value: Decimal, better: str, clip: Decimal) -> Decimal:
        """``zscore`` of ``value`` in this population."""
        return zscore(value, self, better, clip)


def percentile(value: Decimal, population: Sequence[Decimal] | Population, better: str) -> Decimal:
    """Share of the others this value beats, ties counting half: 1 for the best, 0 for the worst."""
    pop = population if isinstance(population, Population) else Population(population)
    others = len(pop.sorted) - 1
    if others <= 0:
        return ONE
    below = bisect_left(pop.sorted, value)
    tied = bisect_right(pop.sorted, value) - below - 1
    worse = below if better != "lower" else len(pop.sorted) - below - tied - 1
    return percentile_share(worse, tied, others)


def percentile_share(worse: int, tied: int, others: int) -> Decimal:
    """The percentile from its counts: others beaten, others tied (counting half), others in all."""
    if others <= 0:
        return ONE
    return (Decimal(worse) + HALF * tied) / others


def absolute(norm: Any, value: Decimal, better: str) -> Decimal | None:
    """Normalisation that needs no cohort (linear, ratio, band); None for percentile and z-score."""
    if isinstance(norm, LinearNorm):
        return linear(value, norm)
    if isinstance(norm, RatioNorm):
        return ratio(value, norm, better)
    if isinstance(norm, BandNorm):
        return band(value, norm)
    return None


def zscore(value: Decimal, population: Sequence[Decimal] | Population, better: str, clip: Decimal) -> Decimal:
    """Standard score, signed by direction, clipped to ±clip and rescaled to [0, 1]."""
    pop = population if isinstance(population, Population) else Population(population)
    if pop.sd == 0:
        return HALF
    z = (value - pop.mean) / pop.sd
    if better == "lower":
        z = -z
    return (clamp(z, -clip, clip) + clip) / (2 * clip)


def compute_scores(
    card: Scorecard,
    metrics: Mapping[str, Metric],
    rows: Sequence[Mapping[str, Any]],
    vetoes: Sequence[ScoreVeto | None],
) -> list[Score]:
    """The score of every row of one period; ``vetoes`` holds the first veto that held per row.

    Percentile and z-score parts are relative to the row's cohort: every row of the cohort
    whose part is graded (a rate part is not, for a row below the minimum volume).
    """
    low = [card.min_volume is not None and row[card.min_volume.metric] < card.min_volume.at_least for row in rows]
    labels = [cohort_label(card.cohort_by, row) for row in rows]
    members: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for i, row in enumerate(rows):
        for k, part in enumerate(card.parts):
            if not (part.rate and low[i]):
                members[(k, labels[i])].append(row[part.metric])
    populations = {key: Population(values) for key, values in members.items()}

    def relative_in(label: str) -> Relative:
        def relative(k: int, value: Decimal, better: str) -> Decimal | Neutral:
            norm = card.parts[k].normalise
            population = populations[(k, label)]
            if too_small(card, len(population.sorted)):
                return Neutral(len(population.sorted))
            if isinstance(norm, ZScoreNorm):
                return population.zscore(value, better, norm.clip)
            return population.percentile(value, better)

        return relative

    return [
        row_score(card, metrics, row, low[i], vetoes[i], labels[i], relative_in(labels[i]))
        for i, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class Neutral:
    """A relative part whose cohort (``size`` graded agents) is below the minimum: it scores 0.5."""

    size: int

    def note(self, card: Scorecard) -> str:
        """Why the part scores half its weight, for the part's ``note``."""
        return (
            f"neutral: the cohort has {self.size} graded agents, fewer than min_cohort_size "
            f"{card.min_cohort_size}; scored at the middle (0.5)"
        )


def too_small(card: Scorecard, size: int) -> bool:
    """Whether a cohort of ``size`` graded agents is below the scorecard's minimum for relative parts."""
    return card.min_cohort_size is not None and size < card.min_cohort_size


Relative = Callable[[int, Decimal, str], Decimal | Neutral]
"""A cohort-relative part's normalised value: (part index, value, better) to 0..1, or neutral."""


def row_score(
    card: Scorecard,
    metrics: Mapping[str, Metric],
    row: Mapping[str, Any],
    low_volume: bool,
    veto: ScoreVeto | None,
    cohort: str,
    relative: Relative,
    parts: bool = True,
    memo: dict[Any, Any] | None = None,
) -> Score:
    """One row's score: each part normalised by its method, weighted, summed, then the veto.

    This is the definition of a score; the engine's float columns are held to it. With
    ``parts=False`` only the value is computed (the parts list is left empty). ``memo`` keeps
    each distinct part (a part is a function of its value, normalised value and volume rule),
    for a caller that builds many rows' scores.
    """
    with localcontext(CONTEXT):
        found: list[ScorePart] = []
        notes: list[str] = []
        total = ZERO
        full_weight = _full_weight(card)
        if low_volume and parts:
            mv = card.min_volume
            assert mv is not None
            rates = ", ".join(p.metric for p in card.parts if p.rate)
            notes.append(
                f"{mv.metric} {_show(row[mv.metric])} is below the minimum volume {_show(mv.at_least)}: "
                f"rate metrics ({rates}) are not graded and their weight is re-spread"
            )
        for k, part in enumerate(card.parts):
            value: Decimal = row[part.metric]
            metric = metrics.get(part.metric)
            better = metric.better if metric is not None else "higher"
            if part.rate and low_volume:
                if parts:
                    found.append(
                        trusted(
                            ScorePart,
                            metric=part.metric,
                            value=value,
                            normalised=None,
                            weight=part.weight,
                            effective_weight=ZERO,
                            points=ZERO,
                            note="not graded: low volume",
                        )
                    )
                continue
            shape = str(value)  # tells 2 from 2.0, like as_tuple(), at a sixth of the cost
            known = memo.get((k, shape)) if memo is not None else None
            neutral: Neutral | None = None
            if isinstance(part.normalise, (PercentileNorm, ZScoreNorm)):
                found_n = relative(k, value, better)
                if isinstance(found_n, Neutral):
                    neutral, n = found_n, HALF
                    if parts:
                        notes.append(
                            f"{part.metric} is scored at the middle of its cohort ({cohort}): {neutral.size} graded "
                            f"agents, fewer than min_cohort_size {card.min_cohort_size}"
                        )
                else:
                    n = found_n
            elif known is not None:
                n = known[1]
            else:
                n = _normalised(part.normalise, value, better)
                if memo is not None:
                    memo[(k, shape)] = (None, n)
            key = (k, shape, low_volume, str(n), neutral)
            done = memo.get(key) if memo is not None else None
            if done is None:
                weight = part.weight / full_weight if low_volume else part.weight
                points = n * weight * card.scale
                scored = trusted(
                    ScorePart,
                    metric=part.metric,
                    value=value,
                    normalised=n.quantize(POINTS_PLACES),
                    weight=part.weight,
                    effective_weight=weight.quantize(POINTS_PLACES),
                    points=points.quantize(POINTS_PLACES),
                    note=neutral.note(card) if neutral is not None else None,
                )
                done = (scored, points)
                if memo is not None:
                    memo[key] = done
            total += done[1]
            if parts:
                found.append(done[0])
        if veto is not None:
            notes.append(f"veto {veto.code}: the score is set to {_show(veto.score)}")
            total = veto.score
        return trusted(
            Score,
            name=card.name,
            value=total.quantize(Decimal(1).scaleb(-card.decimals), rounding=ROUND_HALF_UP),
            parts=found,
            cohort=cohort,
            veto=veto.code if veto is not None else None,
            notes=notes,
        )


def _normalised(norm: Any, value: Decimal, better: str) -> Decimal:
    found = absolute(norm, value, better)
    assert found is not None, "percentile and z-score parts are relative to the cohort"
    return found


def _full_weight(card: Scorecard) -> Decimal:
    """The weight of the parts that are always graded (rate parts drop out at low volume)."""
    return sum((p.weight for p in card.parts if not p.rate), ZERO)


def _show(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
