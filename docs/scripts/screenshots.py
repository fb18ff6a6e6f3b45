"""Draw the docs' screenshots of the HTML report and a pay slip in headless Chromium.

    python docs/scripts/screenshots.py

Renders the shipped sample as the how-to "Make the month's report and print pay slips" does
and writes docs/assets/report-zh.png and docs/assets/slip-zh.png. Needs Chromium (Debian's
``chromium`` and ``fonts-noto-cjk``) and the ``html`` extra. The tests draw the same pages
into build/test-artifacts/ on every run; these are the copies the docs show.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests import browser  # noqa: E402

from tierpay.cli import main  # noqa: E402

ASSETS = ROOT / "docs" / "assets"
RULESET = "rulesets/callcenter-stars.yaml"  # relative, as the how-to runs it from the checkout
RECORDS = "examples/data/agents-2026h1.csv"


def draw() -> None:
    """Render both pages and take their screenshots."""
    binary = browser.chromium()
    if binary is None:
        raise SystemExit(f"no Chromium: {browser.INSTALL}")
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory() as folder:
        month, slip = Path(folder) / "month.html", Path(folder) / "slip.html"
        quiet = open(Path(folder) / "stderr", "w", encoding="utf-8")  # noqa: SIM115 - closed below
        main(["report", RULESET, RECORDS, "--lang", "zh", "-o", str(month)], stderr=quiet)
        main(
            ["statement", RULESET, RECORDS, "--format", "html", "--lang", "zh", "--agent", "A011",
             "--period", "2026-06", "-o", str(slip)],
            stderr=quiet,
        )  # fmt: skip
        quiet.close()
        browser.screenshot(binary, month, ASSETS / "report-zh.png", 1100, 1500)
        browser.screenshot(binary, slip, ASSETS / "slip-zh.png", 900, 640)
    print(f"wrote {ASSETS / 'report-zh.png'} and {ASSETS / 'slip-zh.png'}")


if __name__ == "__main__":
    draw()
