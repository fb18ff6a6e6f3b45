"""Chart: level distribution and pay cost by level, month by month, as a PNG.

Who it is for: managers and analysts who want the picture. What it shows: how many agents
hold each star level in each month of the sample, and what each level costs, in two panels,
written to a PNG file. Needs the optional chart extra: pip install -e ".[charts]".

Run: python examples/level_chart.py [--out DIR]
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import tierpay

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Draw the chart; return the PNG path and the plotted numbers, for the tests."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tierpay-example-output"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    ruleset = tierpay.load_ruleset(RULESET)
    outcome = tierpay.evaluate(ruleset, tierpay.read_records(ruleset, RECORDS))
    levels = ruleset.level_ids
    periods = outcome.periods
    heads: dict[str, Counter[str]] = {p: Counter() for p in periods}
    cost: dict[str, dict[str, Decimal]] = {p: defaultdict(Decimal) for p in periods}
    for d in outcome.decisions:
        heads[d.period][d.level] += 1
        if d.pay is not None:
            cost[d.period][d.pay.level] += d.pay.total

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    base = [0] * len(periods)
    cost_base = [0.0] * len(periods)
    for level in levels:
        counts = [heads[p][level] for p in periods]
        amounts = [float(cost[p][level]) / 1000 for p in periods]  # plotting only: thousands of yuan
        top.bar(periods, counts, bottom=base, label=level)
        bottom.bar(periods, amounts, bottom=cost_base, label=level)
        base = [a + b for a, b in zip(base, counts, strict=True)]
        cost_base = [a + b for a, b in zip(cost_base, amounts, strict=True)]
    top.set_ylim(0, max(base) * 1.25)  # headroom for the legend
    top.set_ylabel("agents")
    top.set_title(f"{ruleset.name} {ruleset.version}: agents by star level")
    top.legend(ncol=len(levels), fontsize="small", loc="upper center")
    bottom.set_ylabel(f"pay (thousand {ruleset.model.currency})")
    bottom.set_title("pay cost by level")
    figure.tight_layout()
    path = args.out / "levels-and-pay.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"chart written to {path}")
    return {"png": path, "heads": heads, "cost": cost}


if __name__ == "__main__":
    main()
