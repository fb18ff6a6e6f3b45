"""Benchmarks: the tier decision against zen-engine, and the ``tierpay`` commands end to end.

Usage:
    python benchmarks/run.py                      # sizes 10k 100k 1M, the commands at 200k
    python benchmarks/run.py --sizes 10000 100000 --commands-size 200000
    python benchmarks/run.py --quick              # 2,000 rows, no zen-engine: the CI smoke run
    python benchmarks/run.py --sizes --results /tmp/commands.json   # only the commands at 200k

Three measurements, each run in its own subprocess so that its wall time and peak memory are
its own:

1. ``decision``: the tier-plus-pay-band decision (five levels' entry criteria on raw KPIs, the
   highest level met from the bottom up, the base pay of that level in the agent's city tier,
   as integer fen), three ways: rule-engine record by record (``compile_expression``), tierpay's
   column kernels (``compile_check`` over ``Columns``), and zen-engine if it is importable (a
   GoRules graph of two first-hit tables, one call per record). All must agree on every record;
   the time is the decision alone, the data already in memory.
2. ``full``: ``tierpay evaluate RULESET FILE --format csv -o OUT`` at every size: read the CSV,
   twelve months with carried state, scorecard, review, exact pay, the decisions CSV written.
3. ``commands``: at one size (200,000 agent-periods by default), ``tierpay evaluate R F`` (the
   table, to a file), ``tierpay evaluate R F --format json -o out.json`` and
   ``tierpay explain R F --agent ID``.

``full`` and ``commands`` run ``python -m tierpay`` (that is, ``tierpay.cli.main``) in a child
process; the wall time includes the interpreter's start-up and the peak is the child's maximum
resident set (``os.wait4``). The data are ``benchmarks/generate.py``'s, seed 2026.

Results print as tables and go to ``benchmarks/results/latest.json`` (``--quick`` writes no file
unless ``--results`` is given). Timing is never asserted: the exit code is 1 only when a run
failed or the decision paths disagree.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RULESET = HERE / "ruleset.yaml"
OUTSIDE = ["--allow-outside-files"]  # the ruleset extends ../rulesets/callcenter-stars.yaml
RESULTS = HERE / "results" / "latest.json"
SEED = 2026
TIMEOUT = 1800.0  # seconds for one run; a run that takes longer is reported, not waited for

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
DECISION_PATHS = ("rule-engine", "kernels", "zen-engine")


# -- the decision, in one process ---------------------------------------------------------------


def peak_mib() -> float:
    """This process's peak resident memory in MiB."""
    return max_rss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def max_rss_mib(ru_maxrss: int) -> float:
    """``ru_maxrss`` in MiB: kibibytes on Linux, bytes on macOS."""
    return ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The KPI columns of a generated file as exact decimals, plus the city tier."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [{**{m: Decimal(r[m]) for m in METRICS}, "region": r["region"]} for r in csv.DictReader(handle)]


Decide = Any  # rows -> (levels, pay in fen)


def prepare_rule_engine() -> Decide:
    """rule-engine, record by record: the tier and the base pay in fen."""
    from tierpay.ruleset.expressions import compile_expression

    symbols: dict[str, Any] = dict.fromkeys(METRICS, "number")
    rules = [(level, compile_expression(ENTRY[level], symbols, level, "boolean")) for level in LEVELS[1:]]
    return lambda rows: decide_rule_engine(rules, rows)


def decide_rule_engine(rules: list[Any], rows: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """The decision with compiled rule-engine rules, one record at a time."""
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


def prepare_kernels() -> Decide:
    """Criteria compiled for columns, then integer lookups: the same tier and base pay in fen."""
    from tierpay.engine.kernels import compile_check
    from tierpay.ruleset.expressions import compile_expression

    symbols: dict[str, Any] = dict.fromkeys(METRICS, "number")
    checks = [compile_check(compile_expression(ENTRY[level], symbols, level, "boolean")) for level in LEVELS[1:]]
    return lambda rows: decide_kernels(checks, rows)


def decide_kernels(checks: list[Any], rows: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """The decision with the column kernels, all records at once."""
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
    inputs = [{"id": m, "name": m, "field": m} for m in METRICS]
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


PREPARE = {"rule-engine": prepare_rule_engine, "kernels": prepare_kernels, "zen-engine": prepare_zen}


def decide_once(path_name: str, data: Path) -> dict[str, Any]:
    """Run one decision path over a file's records in this process; return its figures."""
    rows = load_rows(data)
    decide = PREPARE[path_name]()
    start = time.perf_counter()
    levels, pay = decide(rows)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256(json.dumps([levels, pay]).encode()).hexdigest()[:16]
    return {"records": len(rows), "seconds": round(seconds, 4), "peak_mib": round(peak_mib(), 1), "digest": digest}


# -- child processes ----------------------------------------------------------------------------


def run_child(argv: list[str], stdout: Path, stderr: Path, timeout: float, cwd: Path | None = None) -> dict[str, Any]:
    """Run ``argv`` with its output in files; its wall time, its own peak memory and exit code.

    ``os.wait4`` gives the resource use of that one child (``RUSAGE_CHILDREN`` would be the
    maximum over every child so far).
    """
    with stdout.open("wb") as out, stderr.open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd)
        killed = threading.Event()
        timer = threading.Timer(timeout, lambda: (killed.set(), child.kill()))
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    result: dict[str, Any] = {
        "seconds": round(seconds, 3),
        "peak_mib": round(max_rss_mib(usage.ru_maxrss), 1),
        "exit_code": child.returncode,
    }
    if hasattr(os, "getloadavg"):  # above the machine's CPU count, other work shared it
        result["load_1min_after"] = round(os.getloadavg()[0], 2)
    if killed.is_set():
        result["error"] = f"killed after the {timeout:.0f} s time limit"
    elif child.returncode != 0:
        lines = stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        result["error"] = lines[-1] if lines else f"exit code {child.returncode}"
    return result


def measure_decision(path_name: str, data: Path, timeout: float) -> dict[str, Any]:
    """One decision path in a fresh interpreter, so its peak memory is its own."""
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp) / "out.json", Path(tmp) / "err.txt"
        run = run_child([sys.executable, __file__, "--decide", path_name, str(data)], out, err, timeout)
        if "error" in run:
            return {"error": run["error"]}
        figures = dict(json.loads(out.read_text(encoding="utf-8")))
        if "load_1min_after" in run:
            figures["load_1min_after"] = run["load_1min_after"]
        return figures


def measure_command(args: list[str], workdir: Path, output: str | None, timeout: float) -> dict[str, Any]:
    """``python -m tierpay ARGS`` in ``workdir``: time, peak memory, and the output's size and digest.

    ``output`` names the file the command writes with ``-o``; without it, standard output is the
    output (written to a file, as a redirect would).
    """
    stdout, stderr = workdir / "stdout.txt", workdir / "stderr.txt"
    for stale in (stdout, stderr, *([workdir / output] if output else [])):
        stale.unlink(missing_ok=True)
    run = run_child([sys.executable, "-m", "tierpay", *args], stdout, stderr, timeout, cwd=workdir)
    written = workdir / output if output else stdout
    if written.exists():
        run["output_bytes"] = written.stat().st_size
        run["digest"] = file_digest(written)
    run["stderr_lines"] = sum(1 for _ in stderr.open(encoding="utf-8", errors="replace"))
    return run


def file_digest(path: Path) -> str:
    """The first 16 hex digits of a file's SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


# -- the run ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    if hasattr(os, "getloadavg"):  # other work on the machine slows every figure down
        info["load_average_at_start"] = [round(load, 2) for load in os.getloadavg()]
    with_memory = Path("/proc/meminfo")
    if with_memory.exists():
        total_kib = int(with_memory.read_text().split("\n", 1)[0].split()[1])
        info["memory_gib"] = round(total_kib / 1024 / 1024, 1)
    for package in ("tierpay", "polars", "numpy", "rule-engine", "zen-engine"):
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = None
    return info


def data_file(size: int, folder: Path) -> Path:
    """The generated file of ``size`` agent-periods (seed 2026), made once per run."""
    path = folder / f"agents-{size}.csv"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from generate import generate

        generate(size, path, seed=SEED)
    return path


def first_agent(path: Path) -> str:
    """The agent of a file's first record: present in the data, with every month."""
    with path.open(encoding="utf-8", newline="") as handle:
        return str(next(csv.DictReader(handle))["agent_id"])


def run_decision(size: int, data: Path, no_zen: str | None, timeout: float) -> dict[str, Any]:
    """The decision at one size, every path (zen-engine left out when ``no_zen`` says why); whether they agree."""
    runs: dict[str, Any] = {}
    for path_name in DECISION_PATHS:
        if path_name == "zen-engine" and no_zen:
            runs[path_name] = {"skipped": no_zen}
            continue
        runs[path_name] = measure_decision(path_name, data, timeout)
    digests = {run["digest"] for run in runs.values() if "digest" in run}
    return {"records": size, "paths": runs, "agree": len(digests) == 1}


def main(argv: list[str] | None = None) -> int:
    """Generate data, run every measurement, print and save the tables; 1 if anything failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="*", help="agent-periods for decision and full (10k 100k 1M; none: skip them)"
    )
    parser.add_argument("--commands-size", type=int, help="agent-periods for the commands (200000; 0: skip)")
    parser.add_argument("--quick", action="store_true", help="2,000 rows everywhere, no zen-engine, no results file")
    parser.add_argument("--no-zen", action="store_true", help="leave zen-engine out even when it is installed")
    parser.add_argument(
        "--results", type=Path, help=f"where to write the JSON (default {RESULTS.relative_to(HERE.parent)})"
    )
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds one run may take (1800)")
    parser.add_argument("--decide", nargs=2, metavar=("PATH", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.decide:
        print(json.dumps(decide_once(args.decide[0], Path(args.decide[1]))))
        return 0
    sizes = args.sizes if args.sizes is not None else ([2_000] if args.quick else [10_000, 100_000, 1_000_000])
    commands_size = args.commands_size if args.commands_size is not None else (2_000 if args.quick else 200_000)
    results_path = args.results or (None if args.quick else RESULTS)
    no_zen = (
        "left out by --quick"
        if args.quick
        else "left out by --no-zen"
        if args.no_zen
        else "not importable (pip install zen-engine)"
        if importlib.util.find_spec("zen") is None
        else None
    )
    if no_zen:
        print(f"note: zen-engine {no_zen}", flush=True)

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "ruleset": str(RULESET.relative_to(HERE.parent)),
        "seed": SEED,
        "decision": {},
        "full": {},
        "commands": {},
    }
    with tempfile.TemporaryDirectory(prefix="tierpay-bench-") as tmp:
        folder = Path(tmp)
        for size in sizes:
            data = data_file(size, folder)
            results["decision"][str(size)] = run_decision(size, data, no_zen, args.timeout)
            print(decision_table(size, results["decision"][str(size)]), flush=True)
            work = folder / f"full-{size}"
            work.mkdir()
            command = ["evaluate", str(RULESET), str(data), "--format", "csv", "-o", "decisions.csv", *OUTSIDE]
            full = measure_command(command, work, "decisions.csv", args.timeout)
            results["full"][str(size)] = {"records": size, **full}
            print(command_line(f"full, {size:,}", size, full), flush=True)
        if commands_size:
            results["commands"] = run_commands(commands_size, folder, args.timeout)
    if results_path is not None:
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {results_path}")
    return report_failures(results)


def run_commands(size: int, folder: Path, timeout: float) -> dict[str, Any]:
    """The three everyday commands on one generated file, each in its own process."""
    data = data_file(size, folder)
    agent = first_agent(data)
    commands = {
        "evaluate (table)": (["evaluate", str(RULESET), str(data), *OUTSIDE], None),
        "evaluate --format json": (
            ["evaluate", str(RULESET), str(data), "--format", "json", "-o", "out.json", *OUTSIDE],
            "out.json",
        ),
        "explain --agent": (["explain", str(RULESET), str(data), "--agent", agent, *OUTSIDE], None),
    }
    runs: dict[str, Any] = {}
    print(f"\nthe commands on {size:,} agent-periods (explain: agent {agent})")
    for name, (command, output) in commands.items():
        work = folder / f"command-{len(runs)}"
        work.mkdir()
        shown = " ".join(["tierpay", *(Path(a).name if a.startswith("/") else a for a in command)])
        runs[name] = {"command": shown, **measure_command(command, work, output, timeout)}
        print(command_line(name, size, runs[name]), flush=True)
    return {"records": size, "agent": agent, "runs": runs}


def decision_table(size: int, decision: dict[str, Any]) -> str:
    """One size's decision paths, with records per second and ratios to zen-engine."""
    paths = decision["paths"]
    zen = paths.get("zen-engine", {})
    zen_rate = zen["records"] / zen["seconds"] if "seconds" in zen else None
    agree = "agree on every record" if decision["agree"] else "DISAGREE"
    lines = [f"\ndecision, {size:,} agent-periods (the paths {agree})"]
    lines.append(f"{'path':<24}{'records/s':>12}{'× zen':>8}{'seconds':>10}{'peak MiB':>10}")
    for name, run in paths.items():
        if "seconds" not in run:
            lines.append(f"{name:<24}  {run.get('error') or run.get('skipped')}")
            continue
        rate = run["records"] / run["seconds"]
        ratio = f"{rate / zen_rate:.1f}" if zen_rate else ""
        lines.append(f"{name:<24}{rate:>12,.0f}{ratio:>8}{run['seconds']:>10.2f}{run['peak_mib']:>10.0f}")
    return "\n".join(lines)


def command_line(name: str, size: int, run: dict[str, Any]) -> str:
    """One command's figures as a line."""
    if "error" in run:
        return f"{name:<24}  error: {run['error']}"
    size_mib = run.get("output_bytes", 0) / 1024 / 1024
    return (
        f"{name:<24}{size / run['seconds']:>12,.0f}{'':>8}{run['seconds']:>10.2f}{run['peak_mib']:>10.0f}"
        f"  output {size_mib:,.1f} MiB"
    )


def report_failures(results: dict[str, Any]) -> int:
    """Print what failed (a run's error, disagreeing decision paths); 1 if anything did."""
    failures = []
    for size, decision in results["decision"].items():
        if not decision["agree"]:
            failures.append(f"decision, {size}: the paths disagree")
        failures += [f"decision, {size}, {n}: {r['error']}" for n, r in decision["paths"].items() if "error" in r]
    failures += [f"full, {size}: {run['error']}" for size, run in results["full"].items() if "error" in run]
    commands = results["commands"].get("runs", {})
    failures += [f"{name}: {run['error']}" for name, run in commands.items() if "error" in run]
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
