"""What-if: compare the ruleset in force with a proposal before adopting it.

Who it is for: payroll analysts and the people who approve rule changes. What it shows: the
shipped ruleset and a draft that raises every level's QA bar by 3 points, evaluated on the
same six months; who would lose a level, and the pay saved by level, team and region. The
draft is a small file that extends the ruleset in force.

Run: python examples/what_if.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tierpay
from tierpay.outputs import report
from tierpay.outputs.compare import compare

HERE = Path(__file__).resolve().parent
CURRENT = HERE.parent / "rulesets" / "callcenter-stars.yaml"
PROPOSAL = HERE / "rulesets" / "callcenter-stars-qa-raised.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Compare the two rulesets; return the comparison, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tierpay-example-output"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    old = tierpay.load_ruleset(CURRENT)
    new = tierpay.load_ruleset(PROPOSAL, allow_outside_files=True)  # it extends rulesets/, maybe outside the working folder
    comparison = compare(
        old,
        new,
        tierpay.evaluate(old, tierpay.read_records(old, RECORDS)),
        tierpay.evaluate(new, tierpay.read_records(new, RECORDS)),
    )
    print(report.comparison_text(comparison))
    path = args.out / "what-if.json"
    path.write_text(comparison.model_dump_json(indent=2), encoding="utf-8")
    return {"comparison": comparison, "json": path}


if __name__ == "__main__":
    main()
