"""Bottom-ranking review report per team: flags for a person to review, never dismissals.

Who it is for: team leads and HR business partners. What it shows: each team's ranking for
one month with flags, escalation stages, ties at the cut-off and exemptions, then the
four-fifths fairness screen; and a CSV of the flagged agents with the reason to discuss with
each one.

Exit status: 1 on the shipped sample, whose ten bad rows are rejected on purpose (0 when every
row is decided), as tierpay's own commands do.

Run: python examples/bottom_ranking_report.py [--out DIR] [--period 2026-03]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import tierpay
from tierpay.outputs import report
from tierpay.outputs.fairness import fairness_report

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"


def output_folder(given: Path | None) -> Path:
    """The folder given on the command line, or a new temporary one: never the working tree."""
    folder = given if given is not None else Path(tempfile.mkdtemp(prefix="tierpay-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Report one month's review; return the flagged agents, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the files written (default: a new temporary folder)")
    parser.add_argument("--period", default="2026-03")
    args = parser.parse_args(argv)
    out = output_folder(args.out)

    ruleset = tierpay.load_ruleset(RULESET)
    outcome = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, RECORDS))
    month = outcome.only(args.period)

    print(report.review_text(month, ruleset))
    print(report.fairness_table(fairness_report(month, "gender")))

    flagged = [d for d in month.decisions if d.review and d.review.flagged]
    path = out / f"review-{args.period}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["agent_id", "team", "rank", "cohort_size", "score", "stage", "reason"])
        for d in flagged:
            r = d.review
            assert r is not None
            writer.writerow([d.agent_id, d.values.get("team"), r.rank, r.cohort_size, r.value, r.stage, r.reason])
    print(f"{len(flagged)} agents flagged for review in {args.period}; list written to {path}")
    if outcome.rejections:  # listed on stderr, as tierpay lists them
        print(report.rejections_text(outcome.rejections), end="", file=sys.stderr)
    return {"flagged": [d.agent_id for d in flagged], "csv": path, "exit": 1 if outcome.rejections else 0}


if __name__ == "__main__":
    sys.exit(main()["exit"])
