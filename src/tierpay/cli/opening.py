"""How a command begins and ends: its outputs planned, its ruleset loaded and its records read,
and its problems reported on standard error."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, TextIO, TypeVar

from tierpay.cli.parser import MONTH, STANDARD_INPUT, KeepError
from tierpay.engine.columns import RecordFrame
from tierpay.engine.outcome import Outcome
from tierpay.engine.run import Evaluation, evaluate
from tierpay.engine.state import State
from tierpay.io.outputs import STANDARD_OUTPUT, Outputs
from tierpay.io.sources import read_input
from tierpay.io.state_file import read_state
from tierpay.outputs import report
from tierpay.ruleset.compiler import CompiledRuleset, keeping, kept_clash
from tierpay.ruleset.loading import load_target
from tierpay.ruleset.versions import RulesetVersions


def bom(args: argparse.Namespace, option: str) -> str:
    """The byte-order mark a CSV output begins with, or nothing.

    ``--bom`` and ``--no-bom`` decide; without either a CSV file (``-o``, ``--payroll``) written
    with ``--lang zh`` gets one, since Excel on a Chinese Windows reads CSV without one as GBK and
    garbles the Chinese; standard output never gets one unasked (a pipe or terminal has no use for it).
    """
    if args.bom is not None:
        return "\ufeff" if args.bom else ""
    path = args.output if option == "-o" else getattr(args, "payroll", None)
    return "\ufeff" if args.lang == "zh" and path not in (None, "-") else ""


def read_records(target: CompiledRuleset | RulesetVersions, args: argparse.Namespace) -> RecordFrame:
    """The records named on the command line, checked: a file, or standard input for ``-`` (read once)."""
    if args.records != STANDARD_INPUT:
        return read_input(target, args.records, args.encoding, sheet=args.sheet)
    if getattr(args, "stdin_bytes", None) is None:
        args.stdin_bytes = args.stdin.read() if args.stdin is not None else b""
    return read_input(target, "<stdin>", args.encoding, data=args.stdin_bytes, sheet=args.sheet)


_Loaded = TypeVar("_Loaded", bound=CompiledRuleset | RulesetVersions)


def plan(args: argparse.Namespace, out: TextIO, inputs: dict[str, str | None]) -> Outputs:
    """The command's outputs, refused before any work when two are one file or one is an input."""
    outputs = Outputs(out, args.force)
    outputs.add("-o", args.output, default=STANDARD_OUTPUT)
    outputs.add("--state-out", getattr(args, "state_out", None))
    outputs.add("--payroll", getattr(args, "payroll", None))
    outputs.refuse_inputs(inputs.items(), may_replace={"--state-out": "--state-in"})
    return outputs


def load(path: str, outputs: Outputs, loader: Callable[..., _Loaded], args: argparse.Namespace) -> _Loaded:
    """Load the ruleset at ``path``; refuse an output that is a file it was read from (a base, a wage table)."""
    target = loader(path, allow_outside_files=args.allow_outside_files)
    if getattr(args, "keep", None):
        target = keeping_columns(target, args.keep)
    rulesets = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    files = {r.file for r in rulesets} | {r.minimum_wage_source for r in rulesets if r.minimum_wage_source}
    for ruleset in rulesets:
        if ruleset.locations is not None:  # values from an extends: base name their file
            files |= {p.file for p in ruleset.locations.positions.values() if p.file}
    outputs.refuse_inputs([("a file of the ruleset", file) for file in sorted(files)])
    return target


def keeping_columns(target: Any, names: list[str]) -> Any:
    """``target`` (a ruleset or its versions) carrying the ``--keep`` columns; a field's name is a usage error."""
    rulesets = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    for ruleset in rulesets:
        for name in names:
            clash = kept_clash(ruleset.model, name)
            if clash is not None:
                raise KeepError(f"--keep: {clash}")
    kept = [keeping(r, names) for r in rulesets]
    return kept[0] if isinstance(target, CompiledRuleset) else RulesetVersions(tuple(kept))


def opened(args: argparse.Namespace, out: TextIO) -> tuple[Outputs, CompiledRuleset | RulesetVersions]:
    """An evaluating command's outputs, checked, and its ruleset (or versions), loaded: how each begins."""
    outputs = plan(args, out, inputs_of(args))
    return outputs, load(args.ruleset, outputs, load_target, args)


def inputs_of(args: argparse.Namespace) -> dict[str, str | None]:
    """The files an evaluating command reads, as messages name them."""
    return {"the ruleset": args.ruleset, "the records file": args.records, "--state-in": args.state_in}


def state_text(state: State, path: str) -> str:
    """The carried state as CSV when ``path`` ends in ``.csv``, else JSON."""
    return state.to_csv() if path.lower().endswith(".csv") else state.to_json()


def outcome_of(args: argparse.Namespace, ruleset: CompiledRuleset | RulesetVersions) -> Outcome:
    """Read the state and the records and evaluate them: the common middle of a command."""
    state = read_state(args.state_in) if args.state_in else None
    other = args.state_from_other_ruleset
    return evaluate(ruleset, read_records(ruleset, args), state, state_from_other_ruleset=other)


def evaluation_of(target: CompiledRuleset | RulesetVersions, args: argparse.Namespace) -> Evaluation:
    """An evaluation starting from ``--state-in`` (checked against ``target``), or from no state."""
    state = read_state(args.state_in) if args.state_in else None
    return Evaluation(target, state, state_from_other_ruleset=args.state_from_other_ruleset)


def no_period(outcome: Outcome, period: str | None, err: TextIO) -> bool:
    """Whether ``--period`` names a month with no decision; if so, say why (and list the rejections)."""
    if period is None or period in outcome.periods:
        return False
    held = sorted({*outcome.periods, *(r.period for r in outcome.rejections if r.period and MONTH.fullmatch(r.period))})
    if period in held:
        why = f"every record of {period} was rejected"
    elif held:
        why = f"the records hold no {period} (they hold {held[0]}{f' to {held[-1]}' if len(held) > 1 else ''})"
    else:
        why = "the records hold no period"
    err.write(f"error: --period {period}: no decision: {why}\n")
    report_problems(outcome, err)
    return True


def report_problems(
    outcome: Outcome, err: TextIO, agents: Sequence[str] | None = None, period: str | None = None
) -> bool:
    """Warnings, gaps and rejections on ``err`` (only those of ``agents`` when given); whether any was rejected."""
    rejections, gaps = outcome.rejections, outcome.gaps
    if agents:
        rejections = [r for r in rejections if r.agent_id in agents and period in (None, r.period)]
        gaps = [g for g in gaps if g.agent_id in agents and period in (None, g.period)]
    for warning in outcome.warnings:
        err.write(f"warning: {warning}\n")
    err.write(report.gaps_text(gaps))
    err.write(report.rejections_text(rejections))
    return bool(rejections)
