"""Benchmarks: tierpay's reference and fast paths against zen-engine, on the same data.

Usage: python benchmarks/run.py [--sizes 10000 100000 1000000] [--full-max 100000]

Two measurements per size, each path in its own subprocess (so peak memory is its own):

1. The tier-plus-pay-band decision: five levels' entry criteria on raw KPIs, the highest level
   met from the bottom up, and the base pay of that level in the agent's city tier. Run by
   tierpay's reference path (rule-engine, record by record), tierpay's fast path (criteria on
   numpy columns, exact money as integer fen), and zen-engine (a GoRules decision graph of two
   first-hit tables, record by record). All three must agree on every record before a speed
   is reported.
2. The full pipeline (read the CSV, carry state over 12 months, scorecard with cohort
   percentiles, bottom-ranking review, exact pay, write the decisions CSV): the columnar
   pipeline (``tierpay evaluate --fast --format csv``) at every size; the reference path and
   the criteria-only fast path up to ``--full-max`` records. Their outputs must be identical.

Results print as a table and go to benchmarks/results/latest.json. No timing is asserted
anywhere: the targets are ratios, read from the table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"

LEVELS = ["L1", "L2", "L3", "L4", "L5"]
ENTRY = {
    "L2": "qa_score >= 80 and csat >= 85 and calls_handled >= 1000",
    "L3": "qa_score >= 85 and csat >= 88 and fcr >= 70 and calls_handled >= 1100",
    "L4": "qa_score >= 88 and csat >= 90 and fcr >= 75 and adherence >= 92",
    "L5": "qa_score >= 92 and csat >= 93 and fcr >= 80 and adherence >= 94",
}
BASE = {
    "L1": {"tier1": 3200, "tier2": 2100},
    "L2": {"tier1": 3600, "tier2": 2500},
    "L3": {"tier1": 4000, "tier2": 2900},
    "L4": {"tier1": 4400, "tier2": 3300},
    "L5": {"tier1": 4800, "tier2": 3700},
}
METRICS = ["qa_score", "csat", "fcr", "adherence", "calls_handled"]


def peak_mib() -> float:
    """This process's peak resident memory in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The KPI columns of a generated file as exact decimals, plus the city tier."""
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        return [{**{m: Decimal(r[m]) for m in METRICS}, "region": r["region"]} for r in csv.DictReader(handle)]


Decide = Any  # rows -> (levels, pay in fen)


def prepare_reference() -> Decide:
    """rule-engine, record by record: the tier and the base pay in fen."""
    from tierpay.ruleset.expressions import compile_expression

    symbols: dict[str, Any] = dict.fromkeys(METRICS, "number")
    rules = [(level, compile_expression(ENTRY[level], symbols, level, "boolean")) for level in LEVELS[1:]]
    return lambda rows: decide_reference(rules, rows)


def decide_reference(rules: list[Any], rows: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """The reference decision with compiled rules."""
    levels, pay = [], []
    for row in rows:
        level = "L1"
        for name, rule in rules:
            if not rule.evaluate(row):
                break
            level = name
        levels.append(level)
        pay.append(BASE[level][row["region"]] * 100)
    return levels, pay


def prepare_fast() -> Decide:
    """Criteria compiled for columns, then integer lookups: the same tier and base pay in fen."""
    from tierpay.engine.kernels import compile_check
    from tierpay.ruleset.expressions import compile_expression

    symbols: dict[str, Any] = dict.fromkeys(METRICS, "number")
    checks = [compile_check(compile_expression(ENTRY[level], symbols, level, "boolean")) for level in LEVELS[1:]]
    return lambda rows: decide_fast(checks, rows)


def decide_fast(checks: list[Any], rows: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """The fast decision with compiled checks."""
    import numpy as np

    from tierpay.engine.kernels import Columns

    columns = Columns(rows)
    tier = np.zeros(len(rows), dtype=np.int64)
    still = np.ones(len(rows), dtype=bool)
    for index, check in enumerate(checks, start=1):
        still &= np.array(check.evaluate(rows, columns))
        tier[still] = index
    region = np.array([r["region"] == "tier2" for r in rows])
    table = np.array([[BASE[lv]["tier1"] * 100, BASE[lv]["tier2"] * 100] for lv in LEVELS], dtype=np.int64)
    pay = table[tier, region.astype(np.int64)]
    return [LEVELS[i] for i in tier.tolist()], pay.tolist()


def zen_graph() -> dict[str, Any]:
    """The same decision as a GoRules JSON decision model: two first-hit tables."""
    inputs = [{"id": m, "name": m, "field": m} for m in ("qa_score", "csat", "fcr", "adherence", "calls_handled")]
    # tierpay's qualified level needs every lower level's criteria too, so each row carries the
    # criteria of its level and all below (the highest bar per metric); first hit from the top.
    tier_rules = []
    for top in reversed(range(1, len(LEVELS))):
        bars: dict[str, Decimal] = {}
        for level in LEVELS[1 : top + 1]:
            for clause in ENTRY[level].split(" and "):
                name, _, value = clause.split()
                bars[name] = max(bars.get(name, Decimal(value)), Decimal(value))
        rule = {"_id": LEVELS[top], "level": f'"{LEVELS[top]}"'}
        rule.update({name: f">= {value}" for name, value in bars.items()})
        tier_rules.append(rule)
    tier_rules.append({"_id": "L1", "level": '"L1"'})
    band_rules = [
        {"_id": f"{lv}-{region}", "lv": f'"{lv}"', "region": f'"{region}"', "base": str(BASE[lv][region])}
        for lv in LEVELS
        for region in ("tier1", "tier2")
    ]
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "in", "position": {"x": 0, "y": 0}},
            {
                "id": "tier",
                "type": "decisionTableNode",
                "name": "tier",
                "position": {"x": 1, "y": 0},
                "content": {
                    "hitPolicy": "first",
                    "inputs": inputs,
                    "outputs": [{"id": "level", "name": "level", "field": "level"}],
                    "rules": tier_rules,
                },
            },
            {
                "id": "band",
                "type": "decisionTableNode",
                "name": "band",
                "position": {"x": 2, "y": 0},
                "content": {
                    "hitPolicy": "first",
                    "inputs": [
                        {"id": "lv", "name": "level", "field": "level"},
                        {"id": "region", "name": "region", "field": "region"},
                    ],
                    "outputs": [{"id": "base", "name": "base", "field": "base"}],
                    "rules": band_rules,
                },
            },
            {"id": "out", "type": "outputNode", "name": "out", "position": {"x": 3, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": "tier"},
            {"id": "e2", "sourceId": "tier", "targetId": "band"},
            {"id": "e3", "sourceId": "in", "targetId": "band"},  # a table sees only its parents' outputs
            {"id": "e4", "sourceId": "band", "targetId": "out"},
            {"id": "e5", "sourceId": "tier", "targetId": "out"},
        ],
    }


def prepare_zen() -> Decide:
    """zen-engine, record by record, with the graph loaded once."""
    import zen

    graph = json.dumps(zen_graph())
    engine = zen.ZenEngine({"loader": lambda key: graph})
    decision = engine.get_decision("tier-and-band")
    decision.evaluate({**dict.fromkeys(METRICS, 0.0), "region": "tier1"})  # warm up
    return lambda rows: decide_zen(decision, rows)


def decide_zen(decision: Any, rows: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """The zen-engine decision, one call per record."""
    levels, pay = [], []
    for row in rows:
        context = {**{m: float(row[m]) for m in METRICS}, "region": row["region"]}
        result = decision.evaluate(context)["result"]
        levels.append(result["level"])
        pay.append(int(Decimal(str(result["base"])) * 100))
    return levels, pay


def one(kind: str, path: Path) -> dict[str, Any]:
    """Run one measurement in this process; return its figures."""
    if kind.startswith("decision-"):
        rows = load_rows(path)
        decide = {"decision-reference": prepare_reference, "decision-fast": prepare_fast, "decision-zen": prepare_zen}[
            kind
        ]()
        start = time.perf_counter()
        levels, pay = decide(rows)
        seconds = time.perf_counter() - start
        digest = hashlib.sha256(json.dumps([levels, pay]).encode()).hexdigest()[:16]
        return {"records": len(rows), "seconds": seconds, "peak_mib": peak_mib(), "digest": digest}
    import tierpay
    from tierpay.outputs import report

    if kind == "full-columnar":
        return one_columnar(path)
    fast = kind == "full-fast"
    stages: dict[str, float] = {}
    start = time.perf_counter()
    ruleset = tierpay.load_ruleset(HERE / "ruleset.yaml")
    batch = tierpay.read_records(ruleset, path)
    stages["read"] = time.perf_counter() - start
    outcome = tierpay.evaluate(ruleset, batch, fast=fast)
    stages["evaluate"] = time.perf_counter() - start - stages["read"]
    text = report.decisions_csv(outcome, ruleset)
    stages["write"] = time.perf_counter() - start - stages["read"] - stages["evaluate"]
    return {
        "records": len(outcome.decisions) + len(outcome.rejections),
        "seconds": time.perf_counter() - start,
        "stages": stages,
        "peak_mib": peak_mib(),
        "digest": hashlib.sha256(text.encode()).hexdigest()[:16],
    }


def one_columnar(path: Path) -> dict[str, Any]:
    """The columnar pipeline as ``tierpay evaluate --fast --format csv -o FILE`` runs it."""
    import tierpay
    from tierpay.engine.fastpath import evaluate_frame
    from tierpay.io.frames import read_frame

    stages: dict[str, float] = {}
    start = time.perf_counter()
    ruleset = tierpay.load_ruleset(HERE / "ruleset.yaml")
    records = read_frame(ruleset, path)
    stages["read"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "decisions.csv"
        with out.open("w", encoding="utf-8", newline="") as sink:
            outcome = evaluate_frame(ruleset, records, sink=sink)
        stages["evaluate+write"] = time.perf_counter() - start - stages["read"]
        seconds = time.perf_counter() - start
        digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
        decided = sum(1 for _ in out.open(encoding="utf-8")) - 1
    return {
        "records": decided + len(outcome.rejections),
        "seconds": seconds,
        "stages": stages,
        "peak_mib": peak_mib(),
        "digest": digest,
    }


def measure(kind: str, path: Path) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter, so its peak memory is its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return dict(json.loads(done.stdout))


def main() -> None:
    """Generate data, run every path at every size, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--full-max", type=int, default=100_000, help="largest size for the full-pipeline runs")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], Path(args.one[1]))))
        return
    sys.path.insert(0, str(HERE))
    from generate import generate

    results: dict[str, Any] = {"machine": f"{platform.machine()}, {platform.python_version()}", "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"agents-{size}.csv"
            generate(size, path)
            runs: dict[str, Any] = {}
            for kind in ("decision-reference", "decision-fast", "decision-zen"):
                runs[kind] = measure(kind, path)
            if size <= args.full_max:
                for kind in ("full-reference", "full-fast"):
                    runs[kind] = measure(kind, path)
            runs["full-columnar"] = measure("full-columnar", path)
            results["sizes"][str(size)] = runs
            print(table_for(size, runs), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults written to {RESULTS}")


def table_for(size: int, runs: dict[str, Any]) -> str:
    """One size's runs as a table, with records per second and ratios to zen-engine."""
    zen = runs.get("decision-zen", {})
    zen_rate = zen["records"] / zen["seconds"] if "seconds" in zen else None
    digests = {
        runs[k].get("digest") for k in ("decision-reference", "decision-fast", "decision-zen") if "digest" in runs[k]
    }
    full = {
        runs[k].get("digest") for k in ("full-reference", "full-fast", "full-columnar") if "digest" in runs.get(k, {})
    }
    agree = "agree" if len(digests) == 1 else "DISAGREE"
    same = (
        ""
        if not full
        else ("; full pipeline: identical output" if len(full) == 1 else "; full pipeline: outputs DIFFER")
    )
    lines = [f"\n{size:,} agent-periods (the three decision paths {agree}{same})"]
    lines.append(f"{'path':<22}{'records/s':>12}{'× zen':>8}{'seconds':>10}{'peak MiB':>10}  stages")
    for kind, run in runs.items():
        if "error" in run:
            lines.append(f"{kind:<22}  error: {run['error']}")
            continue
        rate = run["records"] / run["seconds"]
        ratio = f"{rate / zen_rate:.1f}" if zen_rate and kind.startswith("decision") else ""
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in run.get("stages", {}).items())
        lines.append(f"{kind:<22}{rate:>12,.0f}{ratio:>8}{run['seconds']:>10.2f}{run['peak_mib']:>10.0f}  {stages}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
