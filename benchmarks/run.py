"""Benchmarks: tierpay against zen-engine's fastest path and against a hand-written polars sketch.

Usage:
    python benchmarks/run.py                      # sizes 10k 100k 1M, the commands at 200k
    python benchmarks/run.py --sizes 100000 1000000 --commands-size 0
    python benchmarks/run.py --quick              # 2,000 rows, no zen-engine, one run each: the CI smoke run
    python benchmarks/run.py --sizes --results /tmp/commands.json   # start-up and the commands only

Each figure comes from its own child process, so its wall time and peak memory are its own;
the end-to-end figures are medians of ``--repeat`` runs (3), alternating the two sides:

1. ``startup``: ``tierpay --help`` and ``tierpay validate`` of the shipped ruleset.
2. ``decision`` (in memory): the tier-plus-pay-band decision (five levels' entry criteria on
   raw KPIs, the highest level met from the bottom up, the base pay of that level in the
   agent's city tier, as integer fen): rule-engine record by record, tierpay's column kernels,
   zen-engine's fastest Python path (``ZenEngine`` with a static loader, then
   ``engine.evaluate(KEY, context)``; the ratios are to it) and, as an extra row, zen's
   ``get_decision(KEY).evaluate(context)`` on the first 20,000 records. All must agree.
3. ``end_to_end``: the same records as one month in one CSV, ``tierpay evaluate ... --format
   csv -o OUT`` against a zen loop (read the CSV, one ``evaluate`` per record, write a CSV);
   the zen loop's answers must equal the in-memory ones. tierpay does the whole ruleset there,
   zen only the decision, so the ratio flatters zen.
4. ``full``: ``tierpay evaluate RULESET FILE --format csv -o OUT`` over twelve months against
   ``sketch.py`` (a polars lower bound of the same pipeline) on the same file; the ratio of
   their medians is the distance to the limit.
5. ``commands``: at one size (200,000 by default), ``tierpay evaluate R F`` (the table),
   ``--format json -o out.json`` and ``tierpay explain R F --agent ID``, one run each.

The commands run as ``python -m tierpay``; wall time includes the interpreter's start-up and
the peak is the child's maximum resident set (``os.wait4``). The data are
``benchmarks/generate.py``'s, seed 2026. Results print as tables and go to
``benchmarks/results/latest.json`` with zen-engine's version and the load average (``--quick``
writes no file unless ``--results`` is given). Timing is never asserted: the exit code is 1
only when a run failed or answers disagree.
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
ZEN = "zen-engine"  # the static loader and engine.evaluate: zen's fastest Python path, the yardstick
ZEN_SLOW = "zen get_decision"  # decision.evaluate: another call style, an extra row
DECISION_PATHS = ("rule-engine", "kernels", ZEN, ZEN_SLOW)
#: Records the slow call style is timed on (it runs about 4 thousand a second); every path's
#: answers on this prefix must agree.
PREFIX = 20_000
REPEAT = 3  # runs of each end-to-end measurement; the median is reported


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


ZEN_KEY = "tier-and-band"


def zen_engine() -> Any:
    """zen-engine with the graph in a static loader: its fastest Python path (``engine.evaluate``)."""
    import zen

    return zen.ZenEngine({"loader": {"type": "static", "content": {ZEN_KEY: zen_graph()}}})


def zen_context(row: dict[str, Any]) -> dict[str, Any]:
    """One record as zen-engine's input: the KPIs as floats, the city tier as text."""
    return {**{m: float(row[m]) for m in METRICS}, "region": row["region"]}


def zen_answer(result: dict[str, Any]) -> tuple[str, int]:
    """The level and base pay in fen from one zen-engine result."""
    return str(result["level"]), int(Decimal(str(result["base"])) * 100)


def prepare_zen() -> Decide:
    """zen-engine, record by record: ``ZenEngine(static loader).evaluate(KEY, context)``."""
    engine = zen_engine()
    engine.evaluate(ZEN_KEY, zen_context({**dict.fromkeys(METRICS, 0), "region": "tier1"}))  # warm up
    return lambda rows: decide_zen(lambda context: engine.evaluate(ZEN_KEY, context), rows)


def prepare_zen_decision() -> Decide:
    """zen-engine through ``get_decision(KEY).evaluate(context)``, a new async runtime per call in 2.1.3."""
    decision = zen_engine().get_decision(ZEN_KEY)
    decision.evaluate(zen_context({**dict.fromkeys(METRICS, 0), "region": "tier1"}))  # warm up
    return lambda rows: decide_zen(decision.evaluate, rows)


def decide_zen(evaluate: Any, rows: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """The zen-engine decision, one call per record."""
    levels, pay = [], []
    for row in rows:
        level, fen = zen_answer(evaluate(zen_context(row))["result"])
        levels.append(level)
        pay.append(fen)
    return levels, pay


PREPARE = {
    "rule-engine": prepare_rule_engine,
    "kernels": prepare_kernels,
    ZEN: prepare_zen,
    ZEN_SLOW: prepare_zen_decision,
}


def digest_of(levels: list[str], pay: list[int]) -> str:
    """The first 16 hex digits of the SHA-256 of every level and pay, in order."""
    return hashlib.sha256(json.dumps([levels, pay]).encode()).hexdigest()[:16]


def decide_once(path_name: str, data: Path) -> dict[str, Any]:
    """Run one decision path over a file's records in this process; return its figures.

    The slow zen call style runs on the first ``PREFIX`` records only; every path reports the
    digest of its answers on that prefix, and the others of all records too.
    """
    rows = load_rows(data)
    if path_name == ZEN_SLOW:
        rows = rows[:PREFIX]
    decide = PREPARE[path_name]()
    start = time.perf_counter()
    levels, pay = decide(rows)
    seconds = time.perf_counter() - start
    figures: dict[str, Any] = {"records": len(rows), "seconds": round(seconds, 4), "peak_mib": round(peak_mib(), 1)}
    figures["prefix_digest"] = digest_of(levels[:PREFIX], pay[:PREFIX])
    if path_name != ZEN_SLOW:
        figures["digest"] = digest_of(levels, pay)
    return figures


def zen_loop(source: Path, out: Path) -> str:
    """The decision end to end with zen-engine: read the CSV, one evaluate per record, write a CSV.

    The counterpart of ``tierpay evaluate`` on the same file; returns the digest of its answers.
    """
    engine = zen_engine()
    levels, pay = [], []
    with source.open(encoding="utf-8", newline="") as handle, out.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["agent_id", "period", "level", "base_fen"])
        for row in csv.DictReader(handle):
            level, fen = zen_answer(engine.evaluate(ZEN_KEY, zen_context(row))["result"])
            writer.writerow([row["agent_id"], row["period"], level, fen])
            levels.append(level)
            pay.append(fen)
    return digest_of(levels, pay)


def one_month(source: Path, out: Path) -> Path:
    """The same records as one month: each agent-period becomes its own agent in 2026-01.

    ``tierpay evaluate`` then decides every record without carried state, as the zen loop does;
    a record without a level (an agent absent in January) starts at L1.
    """
    import polars as pl

    frame = pl.read_csv(source, infer_schema=False)
    frame = frame.with_columns(
        agent_id=pl.col("agent_id") + "-" + pl.col("period").str.slice(5, 2),
        period=pl.lit("2026-01"),
        level=pl.col("level").fill_null("L1"),
        start_date=pl.when(pl.col("start_date").is_not_null()).then(pl.lit("2026-01-05")),
    )
    frame.write_csv(out)
    return out


# -- child processes ----------------------------------------------------------------------------


def run_child(argv: list[str], stdout: Path, stderr: Path, timeout: float, cwd: Path | None = None) -> dict[str, Any]:
    """Run ``argv`` with its output in files; its wall time, CPU time, its own peak memory and exit code.

    ``os.wait4`` gives the resource use of that one child (``RUSAGE_CHILDREN`` would be the
    maximum over every child so far). The CPU seconds (user and system, every thread) say how
    much work a run did when other work on the machine stretched its wall time.
    """
    with stdout.open("wb") as out, stderr.open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            child.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    result: dict[str, Any] = {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
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
        if path_name in (ZEN, ZEN_SLOW) and no_zen:
            runs[path_name] = {"skipped": no_zen}
            continue
        runs[path_name] = measure_decision(path_name, data, timeout)
    whole = {run["digest"] for run in runs.values() if "digest" in run}
    prefix = {run["prefix_digest"] for run in runs.values() if "prefix_digest" in run}
    return {"records": size, "paths": runs, "agree": len(whole) == 1 and len(prefix) == 1}


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time among repeats (an error, if any run failed), with every time kept."""
    failed = [run for run in runs if "error" in run]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda run: float(run["seconds"]))
    cpu = sorted(float(run["cpu_seconds"]) for run in runs if "cpu_seconds" in run)
    found = {**ordered[len(ordered) // 2], "all_seconds": [run["seconds"] for run in runs]}
    if cpu:  # the median CPU time, whichever run it was: on a loaded machine the steadier figure
        found["median_cpu_seconds"] = cpu[len(cpu) // 2]
        found["all_cpu_seconds"] = [run.get("cpu_seconds") for run in runs]
    return found


def run_end_to_end(
    size: int, data: Path, folder: Path, no_zen: str | None, repeat: int, timeout: float
) -> dict[str, Any]:
    """The decision end to end from one single-month CSV: ``tierpay evaluate`` against a zen loop.

    tierpay does the whole ruleset (scorecard, review, exact pay), the zen loop only the tier
    and base pay: the ratio flatters zen. The zen loop's answers must equal the in-memory ones.
    """
    single = one_month(data, folder / f"one-month-{size}.csv")
    work = folder / f"e2e-{size}"
    work.mkdir()
    command = ["evaluate", str(RULESET), str(single), "--format", "csv", "-o", "decisions.csv", *OUTSIDE]
    tierpay, zen = [], []
    for _ in range(repeat):
        tierpay.append(measure_command(command, work, "decisions.csv", timeout))
        if not no_zen:
            out, err = work / "zen-out.txt", work / "zen-err.txt"
            run = run_child(
                [sys.executable, __file__, "--zen-loop", str(single), str(work / "zen.csv")], out, err, timeout
            )
            if "error" not in run:
                run["digest"] = out.read_text(encoding="utf-8").strip()
                run["output_bytes"] = (work / "zen.csv").stat().st_size
            zen.append(run)
    result: dict[str, Any] = {"records": size, "tierpay evaluate": median_run(tierpay)}
    result[ZEN + " loop"] = median_run(zen) if zen else {"skipped": no_zen}
    return result


def run_full(size: int, data: Path, folder: Path, repeat: int, timeout: float) -> dict[str, Any]:
    """``tierpay evaluate`` of twelve months against the polars sketch, alternating; medians and their ratio."""
    work = folder / f"full-{size}"
    work.mkdir()
    command = ["evaluate", str(RULESET), str(data), "--format", "csv", "-o", "decisions.csv", *OUTSIDE]
    full, sketch = [], []
    for _ in range(repeat):
        full.append(measure_command(command, work, "decisions.csv", timeout))
        out, err = work / "sketch-out.txt", work / "sketch-err.txt"
        run = run_child(
            [sys.executable, str(HERE / "sketch.py"), str(data), str(work / "sketch.csv")], out, err, timeout
        )
        if "error" not in run:
            run["output_bytes"] = (work / "sketch.csv").stat().st_size
        sketch.append(run)
    result: dict[str, Any] = {"records": size, "tierpay": median_run(full), "sketch": median_run(sketch)}
    if "error" not in result["tierpay"] and "error" not in result["sketch"]:
        result["distance"] = round(result["tierpay"]["seconds"] / result["sketch"]["seconds"], 2)
        tierpay_cpu, sketch_cpu = (
            result["tierpay"].get("median_cpu_seconds"),
            result["sketch"].get("median_cpu_seconds"),
        )
        if tierpay_cpu and sketch_cpu:
            result["cpu_distance"] = round(tierpay_cpu / sketch_cpu, 2)
    return result


def run_startup(repeat: int, timeout: float, folder: Path) -> dict[str, Any]:
    """``tierpay --help`` and ``tierpay validate`` of the shipped ruleset: medians of ``repeat`` runs."""
    work = folder / "startup"
    work.mkdir(exist_ok=True)
    shipped = HERE.parent / "rulesets" / "callcenter-stars.yaml"
    commands = {"--help": ["--help"], "validate": ["validate", str(shipped)]}
    return {
        name: median_run([measure_command(c, work, None, timeout) for _ in range(repeat)])
        for name, c in commands.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Generate data, run every measurement, print and save the tables; 1 if anything failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="*", help="agent-periods for decision and full (10k 100k 1M; none: skip them)"
    )
    parser.add_argument("--commands-size", type=int, help="agent-periods for the commands (200000; 0: skip)")
    parser.add_argument("--quick", action="store_true", help="2,000 rows everywhere, no zen-engine, no results file")
    parser.add_argument("--no-zen", action="store_true", help="leave zen-engine out even when it is installed")
    parser.add_argument("--repeat", type=int, help=f"runs of each end-to-end measurement, median reported ({REPEAT})")
    parser.add_argument(
        "--results", type=Path, help=f"where to write the JSON (default {RESULTS.relative_to(HERE.parent)})"
    )
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds one run may take (1800)")
    parser.add_argument("--decide", nargs=2, metavar=("PATH", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--zen-loop", nargs=2, metavar=("FILE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.decide:
        print(json.dumps(decide_once(args.decide[0], Path(args.decide[1]))))
        return 0
    if args.zen_loop:
        print(zen_loop(Path(args.zen_loop[0]), Path(args.zen_loop[1])))
        return 0
    sizes = args.sizes if args.sizes is not None else ([2_000] if args.quick else [10_000, 100_000, 1_000_000])
    commands_size = args.commands_size if args.commands_size is not None else (2_000 if args.quick else 200_000)
    repeat = args.repeat or (1 if args.quick else REPEAT)
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
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "ruleset": str(RULESET.relative_to(HERE.parent)),
        "seed": SEED,
        "repeat": repeat,
        "startup": {},
        "decision": {},
        "end_to_end": {},
        "full": {},
        "commands": {},
    }
    with tempfile.TemporaryDirectory(prefix="tierpay-bench-") as tmp:
        folder = Path(tmp)
        results["startup"] = run_startup(repeat, args.timeout, folder)
        print(startup_table(results["startup"]), flush=True)
        for size in sizes:
            data = data_file(size, folder)
            key = str(size)
            results["decision"][key] = run_decision(size, data, no_zen, args.timeout)
            print(decision_table(size, results["decision"][key]), flush=True)
            results["end_to_end"][key] = run_end_to_end(size, data, folder, no_zen, repeat, args.timeout)
            print(end_to_end_table(size, results["end_to_end"][key]), flush=True)
            results["full"][key] = run_full(size, data, folder, repeat, args.timeout)
            print(full_table(size, results["full"][key]), flush=True)
        if commands_size:
            results["commands"] = run_commands(commands_size, folder, args.timeout)
    results["machine"]["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
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


def startup_table(startup: dict[str, Any]) -> str:
    """The start-up commands' median seconds."""
    lines = ["\nstart-up (median seconds, peak MiB)"]
    for name, run in startup.items():
        shown = run.get("error") or f"{run['seconds']:.2f} s, {run['peak_mib']:.0f} MiB"
        lines.append(f"  tierpay {name:<22}{shown}")
    return "\n".join(lines)


def decision_table(size: int, decision: dict[str, Any]) -> str:
    """One size's decision paths, with records per second and ratios to zen-engine's fastest path."""
    paths = decision["paths"]
    zen = paths.get(ZEN, {})
    zen_rate = zen["records"] / zen["seconds"] if "seconds" in zen else None
    agree = "agree on every record" if decision["agree"] else "DISAGREE"
    lines = [f"\ndecision in memory, {size:,} agent-periods (the paths {agree})"]
    lines.append(f"{'path':<24}{'records/s':>12}{'× zen':>8}{'seconds':>10}{'peak MiB':>10}")
    for name, run in paths.items():
        if "seconds" not in run:
            lines.append(f"{name:<24}  {run.get('error') or run.get('skipped')}")
            continue
        rate = run["records"] / run["seconds"]
        ratio = f"{rate / zen_rate:.2f}" if zen_rate else ""
        note = f"  (first {run['records']:,})" if name == ZEN_SLOW else ""
        lines.append(f"{name:<24}{rate:>12,.0f}{ratio:>8}{run['seconds']:>10.2f}{run['peak_mib']:>10.0f}{note}")
    return "\n".join(lines)


def end_to_end_table(size: int, e2e: dict[str, Any]) -> str:
    """The decision from one CSV to another: tierpay's command against the zen loop."""
    tierpay, zen = e2e["tierpay evaluate"], e2e[ZEN + " loop"]
    lines = [f"\ndecision end to end, {size:,} records as one month (median of {len(tierpay.get('all_seconds', [1]))})"]
    lines.append(command_line("tierpay evaluate", size, tierpay))
    if "skipped" in zen:
        lines.append(f"{'zen-engine loop':<24}  {zen['skipped']}")
    else:
        lines.append(command_line("zen-engine loop", size, zen))
        if "error" not in tierpay and "error" not in zen:
            lines.append(f"{'tierpay × zen':<24}{zen['seconds'] / tierpay['seconds']:>12.2f}")
    return "\n".join(lines)


def full_table(size: int, full: dict[str, Any]) -> str:
    """Twelve months through tierpay and through the sketch, and the distance between them."""
    lines = [f"\nfull pipeline, {size:,} agent-periods (median of {len(full['tierpay'].get('all_seconds', [1]))})"]
    lines.append(command_line("tierpay evaluate", size, full["tierpay"]))
    lines.append(command_line("polars sketch", size, full["sketch"]))
    if "distance" in full:
        lines.append(f"{'tierpay / sketch':<24}{full['distance']:>12.2f}")
    if "cpu_distance" in full:
        cpu = f"{full['tierpay']['median_cpu_seconds']:.2f} s / {full['sketch']['median_cpu_seconds']:.2f} s"
        lines.append(f"{'in CPU time':<24}{full['cpu_distance']:>12.2f}  ({cpu}, user + system)")
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
    failures = [f"start-up, {name}: {run['error']}" for name, run in results["startup"].items() if "error" in run]
    for size, decision in results["decision"].items():
        if not decision["agree"]:
            failures.append(f"decision, {size}: the paths disagree")
        failures += [f"decision, {size}, {n}: {r['error']}" for n, r in decision["paths"].items() if "error" in r]
        zen = results["end_to_end"][size][ZEN + " loop"]
        whole = decision["paths"]["kernels"].get("digest")
        if "digest" in zen and zen["digest"] != whole:
            failures.append(f"end to end, {size}: the zen loop's answers differ from the decision in memory")
        failures += [
            f"end to end, {size}, {n}: {r['error']}"
            for n, r in results["end_to_end"][size].items()
            if isinstance(r, dict) and "error" in r
        ]
    for size, full in results["full"].items():
        failures += [f"full, {size}, {n}: {full[n]['error']}" for n in ("tierpay", "sketch") if "error" in full[n]]
    commands = results["commands"].get("runs", {})
    failures += [f"{name}: {run['error']}" for name, run in commands.items() if "error" in run]
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
