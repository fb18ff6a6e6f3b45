"""A hand-written polars lower bound of the full pipeline, for ``benchmarks/run.py``'s distance row.

Usage: python benchmarks/sketch.py AGENTS.csv OUT.csv

It does comparable work to ``tierpay evaluate benchmarks/ruleset.yaml FILE --format csv -o OUT``
in one polars query: a typed read of the generated CSV, the ~35 expressions of the ruleset's
criteria (scorecard parts and veto, grade, the four levels' entry and maintain criteria,
promotion blocks, immediate demotion, probation conversion, protection, review exemptions),
window ranks of the score within each team and month for the bottom-ranking review, pay in
integer fen (base, star allowance, performance times the grade's coefficient, prorated;
full-attendance and night-shift lines; a minimum-wage floor and the 20 % deduction cap), and
the decisions CSV written.

What it leaves out, so that it is a lower bound and not a second implementation: no
validation of the input or messages pointing at it, no exactness fallbacks (floats, not
decimals; rounding to fen once, at the end, not per line), no state machine (the level is the
agent's first level carried forward, the streaks, probation calendar, escalation and
carried deductions are not kept), no fairness report, no rejected records, and only a few
of tierpay's output columns. Its output is not compared with tierpay's; only its time is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import polars as pl

INT = ["calls_handled", "absences", "discipline_incidents", "complaints", "major_complaints", "fatal_errors"]
INT += ["night_shifts"]
FLOAT = ["aht_seconds", "qa_score", "csat", "fcr", "adherence", "worked_days", "scheduled_days"]
FLOAT += ["loss_deduction", "contract_wage", "own_contributions"]
TEXT = ["agent_id", "period", "level", "team", "region", "status", "start_date", "contract_term", "gender"]
LEVELS = ["L1", "L2", "L3", "L4", "L5"]
BASE = {"L1": (3200, 2100), "L2": (3600, 2500), "L3": (4000, 2900), "L4": (4400, 3300), "L5": (4800, 3700)}
STAR = {"L1": 0, "L2": 200, "L3": 400, "L4": 700, "L5": 1000}
PERFORMANCE = {"L1": (800, 500), "L2": (900, 600), "L3": (1000, 700), "L4": (1200, 800), "L5": (1400, 900)}
MINIMUM = (2740, 2490)  # Shanghai, Hangzhou


def linear(name: str, worst: float, best: float) -> pl.Expr:
    """A metric scaled to 0..1 between ``worst`` and ``best``."""
    return ((pl.col(name) - worst) / (best - worst)).clip(0, 1)


def by_level(table: dict[str, tuple[int, int]], level: pl.Expr) -> pl.Expr:
    """A per-level, per-region amount in yuan."""
    tier1 = pl.col("region") == "tier1"
    out = pl.lit(0.0)
    for name, (one, two) in table.items():
        out = pl.when(level == name).then(pl.when(tier1).then(one).otherwise(two)).otherwise(out)
    return out


def pipeline(source: Path) -> pl.LazyFrame:
    """The whole evaluation as one lazy query."""
    schema: dict[str, Any] = dict.fromkeys(TEXT, pl.String) | dict.fromkeys(INT, pl.Int64)
    schema |= dict.fromkeys(FLOAT, pl.Float64) | {"protected_leave": pl.Boolean}
    frame = pl.scan_csv(source, schema_overrides=schema)
    c = pl.col
    aht = c("aht_seconds")
    band = (
        pl.when(aht < 300)
        .then(((aht - 180) / 120).clip(0, 1))
        .when(aht > 420)
        .then(((600 - aht) / 180).clip(0, 1))
        .otherwise(1.0)
    )
    raw = 100 * (
        0.30 * linear("qa_score", 60, 95)
        + 0.20 * linear("csat", 80, 95)
        + 0.15 * linear("fcr", 60, 85)
        + 0.10 * band
        + 0.10 * linear("adherence", 80, 95)
        + 0.15 * linear("calls_handled", 600, 1400)
    )
    score = pl.when(c("fatal_errors") > 0).then(40.0).otherwise(raw).round(2)
    frame = frame.with_columns(
        score=score, level=c("level").forward_fill().over("agent_id", order_by="period").fill_null("L1")
    )
    s, qa = c("score"), c("qa_score")
    entry = {
        "L2": (qa >= 80) & (c("csat") >= 85) & (c("calls_handled") >= 1000) & (s >= 70),
        "L3": (qa >= 85) & (c("csat") >= 88) & (c("fcr") >= 70) & (c("calls_handled") >= 1100) & (s >= 78),
        "L4": (qa >= 88) & (c("csat") >= 90) & (c("fcr") >= 75) & (c("adherence") >= 92) & (s >= 84),
        "L5": (qa >= 92) & (c("csat") >= 93) & (c("fcr") >= 80) & (c("adherence") >= 94) & (s >= 90),
    }
    maintain = {"L2": (qa >= 75) & (s >= 60), "L3": (qa >= 80) & (s >= 68), "L4": (qa >= 84) & (s >= 75)}
    maintain["L5"] = (qa >= 88) & (s >= 82)
    qualified = pl.lit("L1")
    still = pl.lit(True)
    for name in LEVELS[1:]:
        still = still & entry[name]
        qualified = pl.when(still).then(pl.lit(name)).otherwise(qualified)
    keeps = pl.lit(True)
    for name in LEVELS[1:]:
        keeps = pl.when(c("level") == name).then(maintain[name]).otherwise(keeps)
    blocked = (c("discipline_incidents") > 0) | (c("complaints") >= 2)
    protected = c("protected_leave").fill_null(False)
    grade = (
        pl.when(s >= 90)
        .then(pl.lit("S"))
        .when(s >= 80)
        .then(pl.lit("A"))
        .when(s >= 70)
        .then(pl.lit("B"))
        .when(s >= 60)
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
    )
    by_grade = pl.when(s >= 90).then(1.3).when(s >= 80).then(1.15).when(s >= 70).then(1.0)
    graded = by_grade.when(s >= 60).then(0.8).otherwise(0.6)
    coefficient = pl.when(protected).then(pl.max_horizontal(graded, 1.0)).otherwise(graded)
    on_probation = c("status") == "probation"
    converts = (qa >= 80) & (s >= 65) & (c("absences") <= 2) & (c("discipline_incidents") == 0)
    converts = converts & (c("fatal_errors") == 0)
    exempt = on_probation | protected | (c("calls_handled") < 300)
    frame = frame.with_columns(
        qualified=qualified,
        keeps=keeps,
        blocked=blocked,
        demote_now=c("major_complaints") > 0,
        grade=grade,
        coefficient=coefficient,
        converts=on_probation & converts,
        exempt=exempt,
    )
    cohort = ["period", "team"]
    ranked = pl.when(~c("exempt")).then(c("score"))
    frame = frame.with_columns(
        rank=ranked.rank("min").over(cohort),
        cohort_size=ranked.count().over(cohort),
    )
    flagged = (
        (c("cohort_size") >= 8) & (c("rank") <= (c("cohort_size") * 0.10).floor()) & (c("score") < 70) & ~c("exempt")
    )
    action = (
        pl.when(c("demote_now") & ~protected)
        .then(pl.lit("demote"))
        .when(~c("keeps") & ~protected)
        .then(pl.lit("demote"))
        .when((c("qualified") > c("level")) & ~c("blocked"))
        .then(pl.lit("promote"))
        .otherwise(pl.lit("hold"))
    )
    ratio = pl.when(protected).then(1.0).otherwise((c("worked_days") / c("scheduled_days")).clip(0, 1))
    tier1 = c("region") == "tier1"
    level = c("level")
    prorated = (
        by_level(BASE, level)
        + level.replace_strict(STAR, return_dtype=pl.Float64)
        + by_level(PERFORMANCE, level) * c("coefficient")
    ) * ratio
    attendance = pl.when(protected | ((c("absences") == 0) & (c("worked_days") >= c("scheduled_days")))).then(200)
    gross = prorated + attendance.otherwise(0) + c("night_shifts") * 30
    minimum = pl.when(tier1).then(MINIMUM[0]).otherwise(MINIMUM[1]) * ratio
    floor = pl.max_horizontal(minimum, pl.when(on_probation).then(c("contract_wage") * 0.8).otherwise(0.0))
    gross = pl.max_horizontal(gross, floor)
    deduction = pl.min_horizontal(c("loss_deduction"), gross * 0.2)
    fen = ((gross - deduction) * 100).round(0).cast(pl.Int64)
    return frame.select(
        "agent_id",
        "period",
        "level",
        "qualified",
        "score",
        "grade",
        flagged=flagged,
        action=action,
        converts="converts",
        gross_fen=(gross * 100).round(0).cast(pl.Int64),
        total_fen=fen,
    )


def main(argv: list[str]) -> int:
    """Run the sketch from ``argv[0]`` to ``argv[1]``."""
    source, out = Path(argv[0]), Path(argv[1])
    pipeline(source).collect().write_csv(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
