"""Checks beyond syntax: a ruleset that loads can still say something its editors did not mean.

Each finding is a warning with the place it concerns, shown by ``tierpay validate``:

- a level whose entry criteria cannot be met (a bar beyond the metric's range, or two bars
  that contradict each other), or that asks less than the level below;
- maintenance criteria that ask more than the entry criteria of the same level;
- pay that does not rise with the level;
- a metric declared but never used;
- a criterion that asks for a metric against its direction (``absences >= 2`` for a
  lower-is-better metric);
- settings the law advises against but a ruleset may have reasons for: pay with no
  minimum-wage floor, a review cohort under 5 agents, and an own-contributions metric with a
  default (a record that leaves it out would be compared gross with a net minimum);
- a percentile or z-score part with no ``min_cohort_size``, or one below 5;
- maintenance or an immediate demotion that reads a score with such a part (or a grade or
  derived value that reads it): demotion by rank is bottom ranking (SPC Guiding Case 18).

``validate --strict`` refuses a ruleset with any warning. Settings that contradict a statute
outright (probation pay under 80%, a deduction cap over 20% with no local rule, rules published
after they take effect) are not warnings: the ruleset does not load.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from tierpay.errors import Problem
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.employment import calendar_metrics, unpaid_leave_warning
from tierpay.ruleset.expressions import Bound
from tierpay.ruleset.model import PercentileNorm, ZScoreNorm
from tierpay.ruleset.yamlsource import Locations, PathKey

MIN_COHORT = 5
"""The smallest cohort a review or a percentile or z-score part should rank without a warning."""
UP = (">=", ">")
DOWN = ("<=", "<")


class _Linter:
    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.r = ruleset
        self.m = ruleset.model
        self.loc = ruleset.locations or Locations(ruleset.file)
        self.found: list[Problem] = []

    def warn(self, path: PathKey, message: str) -> None:
        self.found.append(self.loc.problem(path, message))

    def bounds(self, path: str) -> list[Bound]:
        expr = self.r.expr(path)
        return expr.bounds() if expr is not None else []

    def run(self) -> list[Problem]:
        self.levels()
        self.directions()
        self.pay()
        self.law()
        self.unused()
        why = unpaid_leave_warning(self.m)
        if why is not None:
            self.warn(("pay", "proration", "worked"), why)
        self.relative()
        return sorted(set(self.found))

    def levels(self) -> None:
        previous: dict[tuple[str, str], Decimal] = {}
        for i, level in enumerate(self.m.levels):
            entry = self.bounds(f"levels[{i}].entry")
            self.reachable(i, level.id, entry)
            bars = {(b.name, "up" if b.op in UP else "down"): b.value for b in entry if b.op in UP + DOWN}
            for (name, way), value in bars.items():
                below = previous.get((name, way))
                if below is not None and ((way == "up" and value < below) or (way == "down" and value > below)):
                    sign = ">=" if way == "up" else "<="
                    below_id = self.m.levels[i - 1].id
                    self.warn(
                        ("levels", i, "entry"),
                        f"{level.id} asks {name} {sign} {value}, less than {below_id} below it ({name} {sign} {below})",
                    )
            for key, value in bars.items():
                previous[key] = (
                    max(value, previous.get(key, value)) if key[1] == "up" else min(value, previous.get(key, value))
                )
            for b in self.bounds(f"levels[{i}].maintain"):
                if b.op not in UP + DOWN:
                    continue
                way = "up" if b.op in UP else "down"
                bar = bars.get((b.name, way))
                if bar is not None and ((way == "up" and b.value > bar) or (way == "down" and b.value < bar)):
                    self.warn(
                        ("levels", i, "maintain"),
                        f"keeping {level.id} asks {b.name} {b.op} {b.value}, more than entering it ({bar}): "
                        "an agent could be promoted and fail maintenance at once",
                    )

    def relative(self) -> None:
        """Relative score parts: a minimum cohort for ranking, and no demotion by rank."""
        card = self.m.scorecard
        if card is None:
            return
        parts = [(k, p) for k, p in enumerate(card.parts) if isinstance(p.normalise, PercentileNorm | ZScoreNorm)]
        if not parts:
            return
        if card.min_cohort_size is None:
            for k, part in parts:
                self.warn(
                    ("scorecard", "parts", k, "normalise"),
                    f"{part.metric} is a {part.normalise.method} part with no scorecard.min_cohort_size: it ranks "
                    f"cohorts of any size, one agent or two; declare {MIN_COHORT} or more",
                )
        elif card.min_cohort_size < MIN_COHORT:
            self.warn(
                ("scorecard", "min_cohort_size"),
                f"min_cohort_size {card.min_cohort_size} lets percentile and z-score parts rank cohorts "
                f"smaller than {MIN_COHORT}",
            )
        ranked = self.ranked_names(card.name)
        named = ", ".join(p.metric for _, p in parts) + (" parts" if len(parts) > 1 else " part")
        paths: list[tuple[PathKey, str, str]] = [
            (("levels", i, "maintain"), f"levels[{i}].maintain", f"keeping {lv.id}")
            for i, lv in enumerate(self.m.levels)
        ]
        paths += [
            (("demotion", "immediate_if", i, "when"), f"demotion.immediate_if[{i}].when", f"demotion {v.code}")
            for i, v in enumerate(self.m.demotion.immediate_if)
        ]
        for key, path, what in paths:
            expr = self.r.expr(path)
            read = sorted(expr.symbols & ranked) if expr is not None else []
            if read:
                self.warn(
                    key,
                    f"{what} reads {', '.join(read)}, partly a rank within the cohort (its {named}): "
                    "demotion by rank is bottom ranking (SPC Guiding Case 18); decide it on absolute measures",
                )

    def ranked_names(self, score: str) -> set[str]:
        """The score, and every derived value and the grade when they read it (or each other)."""
        ranked = {score}
        reads = {name: self.r.expr(f"derived.{name}.expr") for name in self.m.derived}
        grew = True
        while grew:
            grew = False
            for name, expr in reads.items():
                if name not in ranked and expr is not None and expr.symbols & ranked:
                    ranked.add(name)
                    grew = True
        for i in range(len(self.m.grades)):
            grade = self.r.expr(f"grades[{i}].when")
            if grade is not None and grade.symbols & ranked:
                ranked.add("grade")
        return ranked

    def reachable(self, index: int, level_id: str, bounds: list[Bound]) -> None:
        low: dict[str, Decimal] = {}
        high: dict[str, Decimal] = {}
        for b in bounds:
            metric = self.m.metrics.get(b.name)
            if metric is not None:
                if (
                    b.op in UP
                    and metric.max is not None
                    and (b.value > metric.max or (b.op == ">" and b.value == metric.max))
                ):
                    self.warn(
                        ("levels", index, "entry"), f"{level_id} can never be entered: {b.name} is at most {metric.max}"
                    )
                if (
                    b.op in DOWN
                    and metric.min is not None
                    and (b.value < metric.min or (b.op == "<" and b.value == metric.min))
                ):
                    self.warn(
                        ("levels", index, "entry"),
                        f"{level_id} can never be entered: {b.name} is at least {metric.min}",
                    )
            if b.op in UP:
                low[b.name] = max(b.value, low.get(b.name, b.value))
            elif b.op in DOWN:
                high[b.name] = min(b.value, high.get(b.name, b.value))
        for name in low.keys() & high.keys():
            if low[name] > high[name]:
                self.warn(
                    ("levels", index, "entry"),
                    f"{level_id} can never be entered: {name} must be at least {low[name]} and at most {high[name]}",
                )

    def directions(self) -> None:
        paths: list[tuple[PathKey, str]] = []
        for i in range(len(self.m.levels)):
            paths += [
                (("levels", i, "entry"), f"levels[{i}].entry"),
                (("levels", i, "maintain"), f"levels[{i}].maintain"),
            ]
        paths.append((("probation", "convert_if"), "probation.convert_if"))
        for key, path in paths:
            for b in self.bounds(path):
                metric = self.m.metrics.get(b.name)
                if metric is None or metric.better == "band":
                    continue
                if (metric.better == "lower" and b.op in UP and b.value > 0) or (
                    metric.better == "higher" and b.op in DOWN
                ):
                    self.warn(
                        key,
                        f"asks for {b.name} {b.op} {b.value}, but {metric.better} is better for {b.name}: "
                        "a criterion rewards the wrong direction",
                    )

    def pay(self) -> None:
        pay = self.m.pay
        if pay is None:
            return
        ids = [lv.id for lv in self.m.levels]
        for i, line in enumerate(pay.lines):
            if line.by_level is None:
                continue
            for lower, upper in pairwise(ids):
                a, b = line.by_level.get(lower), line.by_level.get(upper)
                if isinstance(a, dict) and isinstance(b, dict):
                    for key in a.keys() & b.keys():
                        if b[key] < a[key]:
                            self.warn(
                                ("pay", "lines", i, "by_level", upper),
                                f"pays {upper} less than {lower} for {line.by} {key} ({b[key]} < {a[key]})",
                            )
                elif isinstance(a, Decimal) and isinstance(b, Decimal) and b < a:
                    self.warn(("pay", "lines", i, "by_level", upper), f"pays {upper} less than {lower} ({b} < {a})")

    def law(self) -> None:
        """Settings that leave an agent without a protection the law gives."""
        review = self.m.review
        if review is not None and review.min_cohort_size < MIN_COHORT:
            self.warn(
                ("review", "min_cohort_size"),
                f"min_cohort_size {review.min_cohort_size} is below {MIN_COHORT}: the bottom of so small a cohort "
                "is one person picked by rank alone, which does not show incompetence (SPC Guiding Case No. 18)",
            )
        pay = self.m.pay
        if pay is None:
            return
        mw = pay.floors.minimum_wage if pay.floors is not None else None
        if mw is None:
            self.warn(
                ("pay",),
                "no minimum-wage floor (floors.minimum_wage): nothing checks that pay reaches the local minimum "
                "wage (PRC Labour Law art. 48)",
            )
        elif mw.contributions is not None:
            metric = self.m.metrics.get(mw.contributions)
            if metric is not None and metric.default is not None:
                self.warn(
                    ("metrics", mw.contributions),
                    f"{mw.contributions} has a default: a record that leaves it out is compared gross with a "
                    "minimum wage that excludes the employee's own contributions",
                )

    def unused(self) -> None:
        used: set[str] = set()
        for expr in self.r.expressions.values():
            used |= expr.symbols
        card = self.m.scorecard
        if card is not None:
            used |= {p.metric for p in card.parts}
            used |= {card.min_volume.metric} if card.min_volume else set()
        pay = self.m.pay
        if pay is not None:
            used |= {pay.proration.worked, pay.proration.scheduled} if pay.proration else set()
            used |= {d.metric for d in pay.deductions}
            if pay.floors is not None and pay.floors.contract_wage:
                used.add(pay.floors.contract_wage)
            if pay.floors is not None and pay.floors.minimum_wage and pay.floors.minimum_wage.contributions:
                used.add(pay.floors.minimum_wage.contributions)
            used |= calendar_metrics(self.m)
            for lookup in (pay.coefficient.band, pay.coefficient.curve):
                if lookup is not None:
                    used.add(lookup.of)
        if self.m.review is not None:
            used.add(self.m.review.rank_by)
        for name in self.m.metrics:
            if name not in used:
                self.warn(("metrics", name), f"{name} {_UNUSED}")


def lint(ruleset: CompiledRuleset) -> list[Problem]:
    """Warnings about a compiled ruleset, in line order; an empty list when nothing is odd.

    A ruleset with ladders is linted ladder by ladder; a metric is unused when no ladder uses it.
    """
    if not ruleset.ladders:
        return _Linter(ruleset).run()
    each = [_Linter(ladder).run() for ladder in ruleset.ladders.values()]
    unused = set.intersection(*({p.path for p in found if _UNUSED in p.message} for found in each))
    kept = [p for found in each for p in found if _UNUSED not in p.message]
    loc = ruleset.locations or Locations(ruleset.file)
    kept += [loc.problem(tuple(path.split(".")), f"{path.split('.')[1]} {_UNUSED}") for path in unused]
    return sorted(dict.fromkeys(kept))


_UNUSED = "is declared but never used"
