"""Monthly payroll run: evaluate one month, write the payroll export and print the summary.

Who it is for: payroll analysts. What it shows: the whole monthly job in a few calls:
load the ruleset, read the month's records, evaluate, write the payroll export (one row per
agent, fixed columns) and the pay statements as CSV, and print totals by level, team and
region that reconcile with the export. Rejected records are listed so they can be fixed
before anyone is paid.

Exit status: 1 on the shipped sample, whose ten bad rows are rejected on purpose (0 when every
row is decided), as tierpay's own commands do.

Run: python examples/monthly_payroll.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import tierpay
from tierpay.outputs import report

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026-01.csv"


def output_folder(given: Path | None) -> Path:
    """The folder given on the command line, or a new temporary one: never the working tree."""
    folder = given if given is not None else Path(tempfile.mkdtemp(prefix="tierpay-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the month; return what was written, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the files written (default: a new temporary folder)")
    args = parser.parse_args(argv)
    out = output_folder(args.out)

    ruleset = tierpay.load_ruleset(RULESET)
    outcome = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, RECORDS))

    payroll = out / "payroll-2026-01.csv"
    payroll.write_text(report.payroll_csv(outcome, ruleset), encoding="utf-8")
    statements = out / "statements-2026-01.csv"
    statements.write_text(report.statement_csv(outcome.decisions), encoding="utf-8")

    total = sum((d.pay.total for d in outcome.decisions if d.pay), Decimal(0))
    print(f"{len(outcome.decisions)} agents paid, {total:,.2f} {ruleset.model.currency} in total")
    print(report.summary_table(outcome))
    print(f"payroll export and statements written to {out}")
    if outcome.rejections:
        print(f"{len(outcome.rejections)} records were rejected; fix them before paying:")
        print(report.rejections_text(outcome.rejections), end="")
    return {
        "payroll": payroll,
        "statements": statements,
        "total": total,
        "rejected": len(outcome.rejections),
        "exit": 1 if outcome.rejections else 0,
    }


if __name__ == "__main__":
    sys.exit(main()["exit"])
