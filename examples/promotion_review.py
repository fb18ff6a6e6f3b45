"""Promotion review over six months: who moved, when, and why.

Who it is for: operations and HR staff running the level review. What it shows: six months
evaluated in one call with the state carried between months, a table of every promotion,
demotion and probation decision with its reason, and the level head-count before and after.
The state after June is saved, ready for July.

Run: python examples/promotion_review.py [--out DIR]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from tabulate import tabulate

import tierpay

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the six months; return the counts, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tierpay-example-output"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

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

    state = args.out / "state-2026-06.json"
    state.write_text(outcome.state.to_json(), encoding="utf-8")
    actions = Counter(d.action for d in outcome.decisions)
    print(f"\n{dict(sorted(actions.items()))}; state for July written to {state}")
    return {"actions": actions, "state": state, "after": after}


if __name__ == "__main__":
    main()
