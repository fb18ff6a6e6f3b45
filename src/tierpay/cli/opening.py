"""How a command begins and ends: its outputs planned, its ruleset loaded and its records read,
and its problems reported on standard error."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from tierpay.cli.parser import MONTH, STANDARD_INPUT, KeepError, OptionsClash, TextOnly
from tierpay.engine.columns import RecordFrame
from tierpay.engine.human import HumanDecisions
from tierpay.engine.outcome import Outcome
from tierpay.engine.run import Evaluation, evaluate
from tierpay.engine.state import State
from tierpay.io.decisions_file import read_decisions
from tierpay.io.outputs import STANDARD_OUTPUT, Outputs
from tierpay.io.sources import read_input
from tierpay.io.state_file import read_state
from tierpay.io.xlsx_book import check_writer, is_xlsx_output
from tierpay.outputs import report
from tierpay.ruleset.compiler import CompiledRuleset, keeping, kept_clash
from tierpay.ruleset.loading import load_target
from tierpay.ruleset.versions import RulesetVersions
from tierpay.words import say

if TYPE_CHECKING:
    from tierpay.outputs.html.month import Source


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
    """The command's outputs, refused before any work when two are one file or one is an input.

    ``-o FILE.xlsx`` is refused too for a command that writes text (only evaluate and statement
    write workbooks): Excel would not open what it wrote.
    """
    if args.command not in ("evaluate", "statement") and is_xlsx_output(args.output):
        raise TextOnly(
            f"-o {args.output}: {args.command} writes text, not an Excel workbook: name another file "
            "(evaluate and statement write workbooks)"
        )
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
    return {
        "the ruleset": args.ruleset,
        "the records file": args.records,
        "--state-in": args.state_in,
        "--decisions": getattr(args, "decisions", None),
    }


def state_text(state: State, path: str) -> str:
    """The carried state as CSV when ``path`` ends in ``.csv``, else JSON."""
    return state.to_csv() if path.lower().endswith(".csv") else state.to_json()


def outcome_of(
    args: argparse.Namespace,
    ruleset: CompiledRuleset | RulesetVersions,
    check: Callable[[RecordFrame], None] | None = None,
) -> Outcome:
    """Read the state and the records and evaluate them: the common middle of a command.

    ``check`` sees the records once read, before they are evaluated (a workbook refuses more
    rows than a sheet holds there). With ``--ledger``, after the ledger's history, as ``evaluate
    --ledger`` would (nothing is stored).
    """
    if getattr(args, "ledger", None):
        from tierpay.cli.ledgering import ledger_run
        from tierpay.ledger import open_ledger

        ledger = open_ledger(args.ledger)
        try:
            return ledger_run(ruleset, args, ledger)[0].outcome
        finally:
            ledger.close_connection()
    state = read_state(args.state_in) if args.state_in else None
    other = args.state_from_other_ruleset
    records = read_records(ruleset, args)
    if check is not None:
        check(records)
    decisions = decisions_of(args)
    return evaluate(ruleset, records, state, state_from_other_ruleset=other, decisions=decisions)


def workbooks(args: argparse.Namespace) -> dict[str, str]:
    """The outputs asked for as Excel workbooks (by their ``.xlsx`` extension): option -> path."""
    paths = {"-o": args.output, "--payroll": getattr(args, "payroll", None)}
    return {option: path for option, path in paths.items() if is_xlsx_output(path)}


def workbooks_asked(args: argparse.Namespace) -> dict[str, str]:
    """The outputs asked for as workbooks (option -> path), refused before any work (``OptionsClash``, exit 2) when
    ``--format``, ``--stream`` or ``--ledger`` stands beside one: the preamble of ``evaluate`` and ``statement``."""
    books = workbooks(args)
    clash = workbook_clash(args, books)
    if clash is not None:
        raise OptionsClash(clash)
    return books


def workbook_clash(args: argparse.Namespace, books: dict[str, str]) -> str | None:
    """Why the command line cannot write its workbooks as asked, or None: ``--format``, ``--stream`` or ``--ledger``
    beside one."""
    if "-o" in books and args.format is not None:
        return (
            f"-o {books['-o']} writes an Excel workbook; --format {args.format} writes text: "
            "leave out --format, or name a file of another extension"
        )
    if books and getattr(args, "ledger", None):
        option, path = next(iter(books.items()))
        return (
            f"--ledger writes its run's files as text; {option} {path} is a workbook: "
            "name a .csv file, or make the workbook from a run without --ledger"
        )
    if books and getattr(args, "stream", False):
        option, path = next(iter(books.items()))
        return f"--stream writes CSV; {option} {path} is a workbook, written whole: leave out --stream, or name a .csv file"
    return None


def check_workbooks(books: dict[str, str]) -> None:
    """Refuse, before any work, a workbook output when the excel extra is not installed."""
    for option, path in books.items():
        check_writer(f"{option} {path}")


def decisions_of(args: argparse.Namespace) -> HumanDecisions | None:
    """The people's decisions of ``--decisions``, read and checked row by row (None without the option)."""
    path = getattr(args, "decisions", None)
    return read_decisions(path) if path else None


def evaluation_of(target: CompiledRuleset | RulesetVersions, args: argparse.Namespace) -> Evaluation:
    """An evaluation starting from ``--state-in`` (checked against ``target``), or from no state."""
    state = read_state(args.state_in) if args.state_in else None
    other = args.state_from_other_ruleset
    return Evaluation(target, state, state_from_other_ruleset=other, decisions=decisions_of(args))


def no_period(outcome: Outcome, period: str | None, err: TextIO, lang: str = "en") -> bool:
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
    report_problems(outcome, err, lang=lang)
    return True


def report_problems(
    outcome: Outcome,
    err: TextIO,
    agents: Sequence[str] | None = None,
    period: str | None = None,
    lang: str = "en",
) -> bool:
    """Warnings, gaps and rejections on ``err`` (only those of ``agents``, of ``period``, when given), framed
    in ``lang``; whether any was rejected.

    A rejected record whose month cannot be read is kept for any ``period``: it may be that month's.
    """
    rejections, gaps = outcome.rejections, outcome.gaps
    if agents:
        rejections = [r for r in rejections if r.agent_id in agents]
        gaps = [g for g in gaps if g.agent_id in agents]
    if period is not None:
        rejections = [r for r in rejections if r.period == period or not MONTH.fullmatch(r.period or "")]
        gaps = [g for g in gaps if g.period == period]
    err.write(report.warnings_text(outcome.warnings, lang))
    err.write(report.gaps_text(gaps, lang))
    err.write(report.rejections_text(rejections, lang))
    return bool(rejections)


def sources(args: argparse.Namespace) -> list[Source]:
    """The files a run read, with their SHA-256, for the stamp of a report: the records and the state in."""
    from tierpay.outputs.html.month import Source

    found = [Source(say("page.records", args.lang), args.records, _sha256(args.records, args))]
    if args.state_in:
        found.append(Source(say("page.state", args.lang), args.state_in, _sha256(args.state_in, args)))
    if getattr(args, "decisions", None):
        found.append(Source(say("page.decisions", args.lang), args.decisions, _sha256(args.decisions, args)))
    return found


def _sha256(path: str, args: argparse.Namespace) -> str:
    if path == STANDARD_INPUT:
        return hashlib.sha256(getattr(args, "stdin_bytes", None) or b"").hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
