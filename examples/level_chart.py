"""Chart: level distribution and pay cost by level, month by month, as a PNG.

Who it is for: managers and analysts who want the picture. What it shows: how many agents
hold each star level in each month of the sample, and what each level costs, in two panels,
written to a PNG file. Needs matplotlib, which tierpay's charts extra installs:
pip install "tierpay[charts]" (in a checkout: pip install -e ".[charts]"); without it the
script says so and exits 2.

Exit status: 1 on the shipped sample, whose ten bad rows are rejected on purpose (0 when every
row is decided), as tierpay's own commands do.

Run: python examples/level_chart.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import tierpay
from tierpay.outputs import report

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"
NEEDS_CHARTS = (
    "level_chart.py draws with matplotlib, which is not installed. It comes with tierpay's charts extra:\n"
    '    pip install "tierpay[charts]"\n'
    '(in a checkout of tierpay: pip install -e ".[charts]")'
)
EXIT_NEEDS_CHARTS = 2


def output_folder(given: Path | None) -> Path:
    """The folder given on the command line, or a new temporary one: never the working tree."""
    folder = given if given is not None else Path(tempfile.mkdtemp(prefix="tierpay-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Draw the chart; return the PNG path and the plotted numbers, for the tests.

    Without matplotlib, say which extra installs it and exit 2 (``SystemExit``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the files written (default: a new temporary folder)")
    args = parser.parse_args(argv)
    try:
        import matplotlib
    except ImportError:
        print(NEEDS_CHARTS, file=sys.stderr)
        raise SystemExit(EXIT_NEEDS_CHARTS) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = output_folder(args.out)

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
    path = out / "levels-and-pay.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"chart written to {path}")
    if outcome.rejections:  # listed on stderr, as tierpay lists them
        print(report.rejections_text(outcome.rejections), end="", file=sys.stderr)
    return {"png": path, "heads": heads, "cost": cost, "exit": 1 if outcome.rejections else 0}


if __name__ == "__main__":
    sys.exit(main()["exit"])
