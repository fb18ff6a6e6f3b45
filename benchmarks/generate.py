"""A seeded generator of realistic agent-period records for benchmarks and large-input tests.

Usage: python benchmarks/generate.py ROWS OUT.csv [--seed N]

Agents are spread over teams of 12-20 in two city tiers, each with a stable skill drawn once
and month-to-month noise, so KPIs correlate as they do in a call centre: QA 60-100, CSAT
80-100 %, FCR 55-90 %, AHT around 6-9 minutes, adherence 82-99 %, calls handled 700-1500 a
month (a few part-timers below 300). About 6 % start on probation, 2 % of agent-months are
missing (leave, data gaps), and rare incidents, complaints and QA fatal items occur. Rows are
written grouped by month, as an HR export is. The same seed gives the same file.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

COLUMNS = [
    "agent_id", "period", "level", "team", "region", "status", "start_date", "contract_term", "gender",
    "protected_leave", "calls_handled", "aht_seconds", "qa_score", "csat", "fcr", "adherence", "absences",
    "discipline_incidents", "complaints", "major_complaints", "fatal_errors", "worked_days",
    "scheduled_days", "night_shifts", "loss_deduction", "contract_wage", "own_contributions",
]  # fmt: skip
#: The employee's own social insurance and housing fund contributions by region, as in the
#: shipped sample (tier1 is Shanghai, whose minimum wage excludes them): illustrative figures.
OWN_CONTRIBUTIONS = {"tier1": "975", "tier2": "640"}
LEVELS = ["L1", "L2", "L3", "L4", "L5"]
SCHEDULED = [21, 19, 22, 21, 20, 21, 22, 22, 21, 22, 20, 22]


def agents_and_months(rows: int) -> tuple[int, int]:
    """Agents and months for about ``rows`` agent-periods: up to 12 months, then more agents."""
    months = 12 if rows >= 12_000 else max(1, rows // 1000)
    return int(rows / months / 0.975) + 1, months  # 2 % of agent-months are missing


def generate(rows: int, out: Path, seed: int = 2026) -> int:
    """Write about ``rows`` agent-period records to ``out``; return how many were written."""
    rng = random.Random(seed)
    agents, months = agents_and_months(rows)
    roster = []
    team_size = 0
    team = 0
    for n in range(agents):
        if team_size == 0:
            team += 1
            team_size = rng.randint(12, 20)
        team_size -= 1
        skill = min(1.0, max(0.0, rng.gauss(0.62, 0.16)))
        level = LEVELS[min(4, max(0, int(skill * 5 + rng.gauss(0, 0.6))))]
        probation = rng.random() < 0.06
        roster.append(
            (
                f"E{n + 1:07d}",
                f"T{team:05d}",
                "tier1" if team % 3 else "tier2",
                skill,
                "L1" if probation else level,
                probation,
            )
        )
    written = 0
    started: set[str] = set()  # agents with a record written: the first one states the level
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for m in range(months):
            period = f"2026-{m + 1:02d}" if m < 12 else f"{2026 + m // 12}-{m % 12 + 1:02d}"
            scheduled = SCHEDULED[m % 12]
            for agent_id, team_id, region, skill, level, probation in roster:
                if written >= rows:
                    break
                if rng.random() < 0.02:
                    continue  # a missing agent-month
                q = min(1.0, max(0.0, skill + rng.gauss(0, 0.05)))
                absences = 0 if rng.random() < 0.8 else rng.randint(1, 3)
                part_timer = rng.random() < 0.01
                stated = level if agent_id not in started else ""
                started.add(agent_id)
                writer.writerow(
                    [
                        agent_id, period, stated, team_id, region,
                        "probation" if probation else "regular",
                        "2026-01-05" if probation else "", "3y" if probation else "",
                        rng.choice("FM"), "false",
                        rng.randint(150, 290) if part_timer else int(700 + 800 * q + rng.gauss(0, 40)),
                        round(330 + (1 - q) * 220 + rng.gauss(0, 15), 1),
                        round(min(100.0, 60 + 38 * q + rng.gauss(0, 1.5)), 1),
                        round(min(100.0, 80 + 18 * q + rng.gauss(0, 1.0)), 1),
                        round(min(100.0, 55 + 33 * q + rng.gauss(0, 1.5)), 1),
                        round(min(100.0, 82 + 16 * q + rng.gauss(0, 0.8)), 1),
                        absences,
                        1 if rng.random() < 0.01 else 0,
                        rng.choice([0, 0, 0, 0, 1, 2]) if rng.random() < 0.1 else 0,
                        1 if rng.random() < 0.002 else 0,
                        1 if rng.random() < 0.005 else 0,
                        scheduled - absences, scheduled,
                        rng.randint(0, 8) if rng.random() < 0.2 else 0,
                        rng.choice(["0", "300", "800"]) if rng.random() < 0.01 else "0",
                        "4200" if probation else "",
                        OWN_CONTRIBUTIONS[region],
                    ]
                )  # fmt: skip
                written += 1
    return written


def main() -> None:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    print(f"{generate(args.rows, args.out, args.seed)} rows written to {args.out}")


if __name__ == "__main__":
    main()
