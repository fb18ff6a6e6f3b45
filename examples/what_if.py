"""What-if: compare the ruleset in force with a proposal before adopting it.

Who it is for: payroll analysts and the people who approve rule changes. What it shows: the
shipped ruleset and a draft that raises every level's QA bar by 3 points, evaluated on the
same six months; who would lose a level, and the pay saved by level, team and region. The
draft is a small file that extends the ruleset in force.

Exit status: 1 on the shipped sample, whose ten bad rows are rejected on purpose (0 when every
row is decided), as tierpay's own commands do.

Run: python examples/what_if.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import tierpay
from tierpay.outputs import report
from tierpay.outputs.compare import compare

HERE = Path(__file__).resolve().parent
CURRENT = HERE.parent / "rulesets" / "callcenter-stars.yaml"
PROPOSAL = HERE / "rulesets" / "callcenter-stars-qa-raised.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"


def output_folder(given: Path | None) -> Path:
    """The folder given on the command line, or a new temporary one: never the working tree."""
    folder = given if given is not None else Path(tempfile.mkdtemp(prefix="tierpay-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Compare the two rulesets; return the comparison, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the files written (default: a new temporary folder)")
    args = parser.parse_args(argv)
    out = output_folder(args.out)

    old = tierpay.load_ruleset(CURRENT)
    new = tierpay.load_ruleset(
        PROPOSAL, allow_outside_files=True
    )  # it extends rulesets/, maybe outside the working folder
    before = tierpay.evaluate(old, tierpay.read_records(old, RECORDS))
    after = tierpay.evaluate(new, tierpay.read_records(new, RECORDS))
    comparison = compare(old, new, before, after)
    print(report.comparison_text(comparison, "en", old, new))
    path = out / "what-if.json"
    path.write_text(comparison.model_dump_json(indent=2), encoding="utf-8")
    print(f"comparison written to {path}")
    if before.rejections:  # listed on stderr, as tierpay lists them
        print(report.rejections_text(before.rejections), end="", file=sys.stderr)
    return {"comparison": comparison, "json": path, "exit": 1 if before.rejections or after.rejections else 0}


if __name__ == "__main__":
    sys.exit(main()["exit"])
