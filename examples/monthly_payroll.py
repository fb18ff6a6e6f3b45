"""Monthly payroll run: evaluate one month, write the payroll export and print the summary.

Who it is for: payroll analysts. What it shows: the whole monthly job in a few calls:
load the ruleset, read the month's records, evaluate, write the payroll export (one row per
agent, fixed columns) and the pay statements as CSV, and print totals by level, team and
region that reconcile with the export. Rejected records are listed so they can be fixed
before anyone is paid.

Run: python examples/monthly_payroll.py [--out DIR]
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import tierpay
from tierpay.outputs import report

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026-01.csv"


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the month; return what was written, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tierpay-example-output"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    ruleset = tierpay.load_ruleset(RULESET)
    outcome = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, RECORDS))

    payroll = args.out / "payroll-2026-01.csv"
    payroll.write_text(report.payroll_csv(outcome, ruleset), encoding="utf-8")
    statements = args.out / "statements-2026-01.csv"
    statements.write_text(report.statement_csv(outcome.decisions), encoding="utf-8")

    total = sum((d.pay.total for d in outcome.decisions if d.pay), Decimal(0))
    print(f"{len(outcome.decisions)} agents paid, {total:,.2f} {ruleset.model.currency} in total")
    print(report.summary_table(outcome))
    if outcome.rejections:
        print(f"{len(outcome.rejections)} records were rejected; fix them before paying:")
        print(report.rejections_text(outcome.rejections), end="")
    return {"payroll": payroll, "statements": statements, "total": total, "rejected": len(outcome.rejections)}


if __name__ == "__main__":
    main()
