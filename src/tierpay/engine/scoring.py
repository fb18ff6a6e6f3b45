"""The scorecard stage of a period, on columns, with the exact score wherever floats cannot vouch.

The definition of a score is :mod:`tierpay.engine.scorecard` (``Decimal`` arithmetic in a
fixed context). This stage computes it for a whole period at once:

- Linear, ratio, band and percentile parts on metrics are summed in float64 and rounded; a
  row whose sum lies within 1e-6 of a rounding boundary, or within the bound on its float
  error when that is larger (scores land exactly on a half-point often: one-decimal KPIs and
  round weights), is recomputed with the definition, from the exact metric values and the
  exact rank counts behind its percentiles.
- A percentile part in a cohort below the scorecard's ``min_cohort_size`` is neutral (0.5), as
  the definition has it; the rows are marked so their parts say why.
- A part on a derived value (a volume scaled to full time) reads its floats with the bound
  :mod:`tierpay.engine.bounds` keeps per row, which widens that row's margin; a percentile
  part on one ranks by the floats only where every row's is the exact value.
- A ruleset whose scorecard has z-score parts, or parts on derived values the bounds cannot
  follow, is scored with the definition for every row (``exact``): a cohort's mean and
  deviation leave no float shortcut worth its risk.

The stage keeps what a ``Score`` with its parts is built from later, for the rows asked for.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.engine.kernels import TOLERANCE
from tierpay.engine.results import Score
from tierpay.engine.scorecard import Neutral, Relative, compute_scores, percentile_share, row_score
from tierpay.ruleset.model import BandNorm, LinearNorm, PercentileNorm, RatioNorm, Scorecard, ZScoreNorm

if TYPE_CHECKING:
    from tierpay.engine.period import PeriodRun

Array = npt.NDArray[Any]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
ROUNDING_MARGIN = 1e-6
EPSILON = float(np.finfo(np.float64).eps)
Counts = tuple[Ints, Ints, Ints]  # others beaten, others tied, others in all


class ScoreStage:
    """A period's scores as scaled integers, and what each row's parts are built from."""

    def __init__(self, card: Scorecard, size: int) -> None:
        self.card = card
        self.name = card.name
        self.scaled = np.zeros(size, dtype=np.int64)
        self.low = np.zeros(size, dtype=bool)
        self.veto = np.full(size, -1, dtype=np.int64)
        self.counts: dict[int, Counts] = {}  # percentile part -> exact counts per row
        self.neutral: dict[int, Bools] = {}  # percentile part -> rows whose cohort is below the minimum
        self.exact: dict[int, Score] | None = None  # every row's score, when scored by the definition
        self.labels = pl.Series("cohort", [], dtype=pl.String)
        self._label_list: list[str] | None = None
        self.memo: dict[Any, Any] = {}  # distinct score parts, for building many rows' scores

    def label(self, i: int) -> str:
        """Row ``i``'s scorecard cohort (the labels as a list, made once until released)."""
        if self._label_list is None:
            self._label_list = self.labels.to_list()
        return str(self._label_list[i])

    def release(self) -> None:
        """Forget the lists and memos kept for building many rows' scores; made again on demand."""
        self._label_list = None
        self.memo.clear()

    def value(self, i: int) -> Decimal:
        """Row ``i``'s score as the exact decimal it was decided as."""
        return Decimal(int(self.scaled[i])).scaleb(-self.card.decimals)

    def of(self, run: PeriodRun, i: int) -> Score:
        """Row ``i``'s ``Score`` with every part, by the scorecard's definition."""
        if self.exact is not None:
            return self.exact[i]
        card, label = self.card, self.label(i)
        veto = card.vetoes[int(self.veto[i])] if self.veto[i] >= 0 else None
        return row_score(
            card,
            run.model.metrics,
            run.exact_row(i),
            bool(self.low[i]),
            veto,
            label,
            self.relative(i),
            memo=self.memo,
        )

    def relative(self, i: int) -> Relative:
        """Row ``i``'s percentile parts, from the exact counts kept for them."""

        def relative(k: int, value: Decimal, better: str) -> Decimal | Neutral:
            if self.neutral[k][i]:
                return Neutral(int(self.counts[k][2][i]) + 1)
            return percentile_share(*(int(c[i]) for c in self.counts[k]))

        return relative


def exact(card: Scorecard, metrics: Any, bounded: Collection[str] = ()) -> bool:
    """Whether every row is scored by the definition (z-score parts, or parts on derived values without bounds)."""
    return any(isinstance(p.normalise, ZScoreNorm) or p.metric not in {*metrics, *bounded} for p in card.parts)


def score_stage(run: PeriodRun) -> ScoreStage | None:
    """Score every live row of the period (None when the ruleset has no scorecard)."""
    card = run.model.scorecard
    if card is None or not run.alive.any():
        return None
    stage = ScoreStage(card, run.size)
    stage.veto = run.first_hit("scorecard.vetoes", len(card.vetoes), run.alive)
    live = run.alive & ~run.failed
    if card.min_volume is not None:
        stage.low = _low_volume(run, card.min_volume.metric, card.min_volume.at_least, live)
    stage.labels, cohort = run.cohorts(card.cohort_by)
    if exact(card, run.model.metrics, _bounded(run)):
        _exact_scores(run, stage, live)
    else:
        _float_scores(run, stage, live, cohort)
    quantum = Decimal(1).scaleb(-card.decimals)
    for k, v in enumerate(card.vetoes):
        stage.scaled[stage.veto == k] = int(v.score.quantize(quantum, "ROUND_HALF_UP").scaleb(card.decimals))
    run.columns.put(card.name, stage.scaled / 10**card.decimals, faithful=True)
    run.cache.clear()  # exact rows built before now lack the score
    return stage


def _bounded(run: PeriodRun) -> set[str]:
    """The derived values whose floats carry a bound per row (see :mod:`tierpay.engine.bounds`)."""
    return {name for name in run.derived if name in run.bounds}


def _low_volume(run: PeriodRun, name: str, bar: Decimal, live: Bools) -> Bools:
    """The live rows below the scorecard's minimum volume: by floats where clear of the bar, else exactly."""
    low = np.zeros(run.size, dtype=bool)
    if name not in run.bounds or name not in run.derived:
        low[live] = [v < bar for v in run.exact_decimals(name, live)]
        return low
    x, error, at = run.columns[name], run.bounds[name], float(bar)
    with np.errstate(invalid="ignore"):
        clear = np.abs(x - at) > error + TOLERANCE * (1 + np.abs(x) + abs(at))
    low[live] = (x < at)[live]
    for i in np.flatnonzero(live & ~clear).tolist():
        run.checks.exact_rows += 1
        low[i] = run.exact_row(i)[name] < bar
    return low


def _exact_scores(run: PeriodRun, stage: ScoreStage, live: Bools) -> None:
    """Every live row scored by the definition (``compute_scores``); the scores are kept whole."""
    card = stage.card
    rows = np.flatnonzero(live).tolist()
    vetoes = [card.vetoes[int(stage.veto[i])] if stage.veto[i] >= 0 else None for i in rows]
    scores = compute_scores(card, run.model.metrics, [run.exact_row(i) for i in rows], vetoes)
    stage.exact = dict(zip(rows, scores, strict=True))
    for i, score in stage.exact.items():
        stage.scaled[i] = int(score.value.scaleb(card.decimals))
    run.checks.exact_rows += len(rows)


def _float_scores(run: PeriodRun, stage: ScoreStage, live: Bools, cohort: Ints) -> None:
    """Linear, ratio, band and percentile parts summed in float64; rows near a boundary made exact.

    Alongside each row's float sum goes a bound on its error (:func:`_error`), so "near" means
    within that bound: large scales, fine decimals or values far from a part's range widen it.
    """
    card, metrics = stage.card, run.model.metrics
    low = stage.low
    full = float(sum((p.weight for p in card.parts if not p.rate), Decimal(0)))
    total = np.zeros(run.size, dtype=np.float64)
    error = np.zeros(run.size, dtype=np.float64)
    for k, part in enumerate(card.parts):
        graded = live & ~(low & part.rate)
        better = metrics[part.metric].better if part.metric in metrics else "higher"
        if isinstance(part.normalise, PercentileNorm):
            n, stage.counts[k] = _percentile(run.exact_key(part.metric, live), better, graded, cohort)
            least = card.min_cohort_size or 0  # too_small, on the column of cohort sizes (others + 1)
            stage.neutral[k] = graded & (stage.counts[k][2] + 1 < least)
            n = np.where(stage.neutral[k], 0.5, n)
            off = np.full(run.size, 4 * EPSILON)
        else:
            x = run.columns[part.metric]
            n = _normalised(part.normalise, x, better)
            off = _error(part.normalise, x, better)
            if part.metric not in metrics:  # a derived value: its own bound, carried through the part
                off = off + _carried(part.normalise, x, run.bounds[part.metric], better)
        weight = np.where(low, float(part.weight) / full if full else 0.0, float(part.weight))
        total += np.where(graded, n * weight * float(card.scale), 0.0)
        error += np.where(graded, (off + 4 * EPSILON * np.abs(n)) * weight * float(card.scale), 0.0)
    scaled = total * 10**card.decimals
    margin = ROUNDING_MARGIN + (error + (len(card.parts) + 4) * EPSILON * np.abs(total)) * 10**card.decimals
    stage.scaled = np.floor(scaled + 0.5).astype(np.int64)
    with np.errstate(invalid="ignore"):
        unsure = live & ~(np.abs(scaled - np.floor(scaled) - 0.5) >= margin) & (stage.veto < 0)
    for i in np.flatnonzero(unsure).tolist():
        label = stage.label(i)
        score = row_score(card, metrics, run.exact_row(i), bool(low[i]), None, label, stage.relative(i), parts=False)
        stage.scaled[i] = int(score.value.scaleb(card.decimals))
        run.checks.exact_rows += 1


def _normalised(norm: Any, x: Array, better: str) -> Array:
    """Linear, ratio and band normalisation on a float column (``scorecard.linear`` and friends)."""
    with np.errstate(all="ignore"):
        if isinstance(norm, LinearNorm):
            worst, best = float(norm.worst), float(norm.best)
            result: Array = np.clip((x - worst) / (best - worst), 0.0, 1.0)
            return result
        if isinstance(norm, RatioNorm):
            cap, target = float(norm.cap), float(norm.target)
            if better == "lower":
                return np.where(x <= 0, cap, np.clip(target / x, 0.0, cap))
            return np.clip(x / target, 0.0, cap)
        assert isinstance(norm, BandNorm)
        low, high = float(norm.low), float(norm.high)
        below = np.clip((x - float(norm.worst_low)) / (low - float(norm.worst_low)), 0.0, 1.0)
        above = np.clip((float(norm.worst_high) - x) / (float(norm.worst_high) - high), 0.0, 1.0)
        return np.where((x >= low) & (x <= high), 1.0, np.where(x < low, below, above))


def _error(norm: Any, x: Array, better: str) -> Array:
    """A bound on how far ``_normalised``'s float result can be from the exact one, per row.

    The value and the part's numbers each carry half an ulp from their decimals, and each
    operation one more: the bound is a few ulps of the largest magnitude involved, over the
    width the difference is divided by. A row whose bound is not finite is always unsure.
    """
    with np.errstate(all="ignore"):
        a = np.abs(x)
        if isinstance(norm, LinearNorm):
            worst, best = float(norm.worst), float(norm.best)
            result: Array = 8 * EPSILON * (a + abs(worst) + abs(best)) / abs(best - worst)
            return result
        if isinstance(norm, RatioNorm):
            cap, target = float(norm.cap), float(norm.target)
            ratio = (
                np.minimum(np.where(a > 0, target / a, cap), cap) if better == "lower" else np.minimum(a / target, cap)
            )
            return 8 * EPSILON * (ratio + 1)
        assert isinstance(norm, BandNorm)
        edges = [abs(float(e)) for e in (norm.worst_low, norm.low, norm.high, norm.worst_high)]
        width = min(float(norm.low) - float(norm.worst_low), float(norm.worst_high) - float(norm.high))
        return 8 * EPSILON * (a + max(edges)) / width


def _carried(norm: Any, x: Array, bound: Array, better: str) -> Array:
    """How far a part's normalised value can move when its input is off by up to ``bound`` (clipping only narrows it)."""
    with np.errstate(all="ignore"):
        if isinstance(norm, LinearNorm):
            result: Array = bound / abs(float(norm.best) - float(norm.worst))
        elif isinstance(norm, RatioNorm):
            target, a = float(norm.target), np.abs(x)
            if better == "lower":
                result = np.where(a > bound, target * bound / (a * (a - bound)), np.inf)
            else:
                result = bound / target
        else:
            assert isinstance(norm, BandNorm)
            width = min(float(norm.low) - float(norm.worst_low), float(norm.worst_high) - float(norm.high))
            result = bound / width
        return np.where(bound == 0, 0.0, np.where(np.isnan(result), np.inf, result))


def _percentile(x: Array, better: str, graded: Bools, cohort: Ints) -> tuple[Array, Counts]:
    """Share of the cohort's others each value beats, ties counting half (``scorecard.percentile_share``).

    Also returns the exact counts behind it (worse, tied, others), for exact recomputation.
    """
    size_all = len(x)
    share = np.zeros(size_all, dtype=np.float64)
    worse_all = np.zeros(size_all, dtype=np.int64)
    tied_all = np.zeros(size_all, dtype=np.int64)
    others_all = np.zeros(size_all, dtype=np.int64)
    idx = np.flatnonzero(graded)
    if len(idx):
        counted = pl.DataFrame({"c": cohort[idx], "v": x[idx]}).select(
            below=pl.col("v").rank("min").over("c").cast(pl.Int64) - 1,
            equal=pl.len().over(["c", "v"]).cast(pl.Int64),
            size=pl.len().over("c").cast(pl.Int64),
        )
        below = counted["below"].to_numpy()
        tied = counted["equal"].to_numpy() - 1
        size = counted["size"].to_numpy()
        worse = below if better != "lower" else size - below - tied - 1
        with np.errstate(all="ignore"):
            share[idx] = np.where(size - 1 <= 0, 1.0, (worse + 0.5 * tied) / (size - 1))
        worse_all[idx], tied_all[idx], others_all[idx] = worse, tied, size - 1
    return share, (worse_all, tied_all, others_all)
