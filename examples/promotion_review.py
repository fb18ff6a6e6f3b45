"""Promotion review over six months: who moved, when, and why.

Who it is for: operations and HR staff running the level review. What it shows: six months
evaluated in one call with the state carried between months, a table of every promotion,
demotion and probation decision with its reason, and the level head-count before and after.
The state after June is saved, ready for July.

Exit status: 1 on the shipped sample, whose ten bad rows are rejected on purpose (0 when every
row is decided), as tierpay's own commands do.

Run: python examples/promotion_review.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tabulate import tabulate

import tierpay
from tierpay.outputs import report

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"


def output_folder(given: Path | None) -> Path:
    """The folder given on the command line, or a new temporary one: never the working tree."""
    folder = given if given is not None else Path(tempfile.mkdtemp(prefix="tierpay-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the six months; return the counts, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the files written (default: a new temporary folder)")
    args = parser.parse_args(argv)
    out = output_folder(args.out)

    ruleset = tierpay.load_ruleset(RULESET)
    outcome = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, RECORDS))

    moves = [d for d in outcome.decisions if d.action != "hold"]
    rows = [[d.period, d.agent_id, f"{d.level_before}→{d.level}", d.action, d.why] for d in moves]
    print(tabulate(rows, headers=["period", "agent", "level", "action", "why"], tablefmt="simple"))

    first = outcome.periods[0]
    before = Counter(d.level_before for d in outcome.decisions if d.period == first)
    after = Counter(a.level for a in outcome.state.agents)
    levels = ruleset.level_ids
    print()
    print(
        tabulate([[lv, before[lv], after[lv]] for lv in levels], headers=["level", f"start of {first}", "after June"])
    )

    state = out / "state-2026-06.json"
    state.write_text(outcome.state.to_json(), encoding="utf-8")
    actions = Counter(d.action for d in outcome.decisions)
    print(f"\n{dict(sorted(actions.items()))}; state for July written to {state}")
    if outcome.rejections:  # listed on stderr, as tierpay lists them
        print(report.rejections_text(outcome.rejections), end="", file=sys.stderr)
    return {"actions": actions, "state": state, "after": after, "exit": 1 if outcome.rejections else 0}


if __name__ == "__main__":
    sys.exit(main()["exit"])
