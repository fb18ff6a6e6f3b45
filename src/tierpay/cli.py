"""The ``tierpay`` command: a function from arguments and streams to an exit code.

Exit codes (also in ``tierpay --help`` and docs/reference/cli.md):

    0  done; every record was decided
    1  done, but some records were rejected (they are listed) or a check failed
    2  the command line is wrong
    3  the ruleset is invalid (every problem is listed with file, line and field)
    4  an input file (records, state) cannot be read
    5  an output cannot be written, or exists and --force was not given
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from tierpay.engine.cells import decision_columns
from tierpay.engine.columns import records_frame
from tierpay.engine.outcome import Outcome
from tierpay.engine.run import Evaluation, evaluate
from tierpay.engine.state import State
from tierpay.errors import OutputError, RecordsError, RulesetError, StateError, TierpayError
from tierpay.io.behind import written_behind
from tierpay.io.sources import STREAM_BYTES, read_input, read_state, stream_batches
from tierpay.outputs import report
from tierpay.outputs.cases import report as cases_report
from tierpay.outputs.cases import run_cases
from tierpay.outputs.compare import compare
from tierpay.outputs.explain import explain
from tierpay.outputs.fairness import fairness_report
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.lint import lint
from tierpay.ruleset.loading import load_ruleset, load_target
from tierpay.ruleset.schema import ruleset_json_schema
from tierpay.ruleset.versions import RulesetVersions, latest, version_of
from tierpay.words import LANGS

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_RULESET = 3
EXIT_INPUT = 4
EXIT_OUTPUT = 5

EPILOG = """exit codes:
  0  done; every record was decided
  1  done, but some records were rejected (listed on stderr) or a check failed
  2  the command line is wrong
  3  the ruleset is invalid
  4  an input file cannot be read
  5  an output cannot be written, or exists and --force was not given
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports usage errors as an exception instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``tierpay`` command."""
    parser = _Parser(
        prog="tierpay",
        description="Evaluate call-centre agents against a YAML ruleset: levels, review flags and pay.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from tierpay import __version__

    parser.add_argument("--version", action="version", version=f"tierpay {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    validate = _command(commands, "validate", "check a ruleset and list every problem")
    validate.add_argument("ruleset", help="the ruleset YAML file, or a folder of its versions")
    validate.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")

    ev = _command(commands, "evaluate", "evaluate records: levels, grades, review and pay")
    _inputs(ev)
    ev.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output format (default: table)",
    )
    _output_options(ev)
    _state_options(ev)
    ev.add_argument("--payroll", metavar="FILE", help="also write the payroll export (one row per agent-period)")
    ev.add_argument(
        "--summary", action="store_true", help="also print agents, agent-months and pay by level, team and region"
    )
    _lang_option(ev, "of the table and summaries (CSV and JSON stay in English)")
    ev.add_argument(
        "--stream",
        action="store_true",
        help="read the records one period at a time, in bounded memory (automatic for files over 256 MiB; "
        "the file must be grouped by period; CSV output)",
    )

    rv = _command(commands, "review", "bottom-ranking review: each cohort's ranking, flags and stages")
    _inputs(rv)
    rv.add_argument("--period", help="only this period (YYYY-MM)")
    rv.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    _lang_option(rv, "of the ranking and the fairness screen")
    _output_options(rv)
    _state_options(rv, state_out=False)

    stmt = _command(commands, "statement", "pay statements: every line and how it was computed")
    _inputs(stmt)
    stmt.add_argument(
        "--agent", action="append", metavar="ID", help="only this agent (repeatable); all agents when left out"
    )
    stmt.add_argument("--period", help="only this period (YYYY-MM)")
    stmt.add_argument("--format", choices=["text", "csv", "json"], default="text", help="output format (default: text)")
    _lang_option(stmt, "of the statement: line names and how each was computed")
    _output_options(stmt)
    _state_options(stmt, state_out=False)

    ex = _command(commands, "explain", "explain one agent's decisions: every criterion, score, review and pay line")
    _inputs(ex)
    ex.add_argument("--agent", required=True, metavar="ID", help="the agent to explain")
    ex.add_argument("--period", help="only this period (YYYY-MM); every period of the agent when left out")
    _lang_option(ex, "of the explanation")
    _output_options(ex)
    _state_options(ex, state_out=False)

    tst = _command(commands, "test", "run the cases in a ruleset's tests: block")
    tst.add_argument("ruleset", help="the ruleset YAML file")

    df = _command(commands, "diff", "compare two rulesets on the same records: level, grade, flag and pay changes")
    df.add_argument("old", help="the ruleset in force")
    df.add_argument("new", help="the proposed ruleset")
    df.add_argument("records", help="agent-period records, CSV or JSON")
    df.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    _lang_option(df, "of the comparison table")
    _output_options(df)
    _state_options(df, state_out=False)

    schema = _command(commands, "schema", "print the JSON Schema of the ruleset format")
    _output_options(schema)
    return parser


def _command(commands: Any, name: str, help: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser


def _lang_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--lang", choices=LANGS, default="en", help=f"language {what} (en or zh; default: en)")


def _inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ruleset", help="the ruleset YAML file, or a folder of its versions")
    parser.add_argument("records", help="agent-period records, CSV or JSON (one or more periods)")


def _state_options(parser: argparse.ArgumentParser, state_out: bool = True) -> None:
    parser.add_argument("--state-in", metavar="FILE", help="carried state from the previous run (JSON, or .csv)")
    if state_out:
        parser.add_argument("--state-out", metavar="FILE", help="write the state after the last period (JSON, or .csv)")


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument("--force", action="store_true", help="overwrite output files that exist")


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run ``tierpay`` with ``argv``; write to the given streams; return the exit code."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out):  # --help and --version print to the given stream
            args = parser.parse_args(argv)
    except _UsageError as error:
        err.write(parser.format_usage())
        err.write(f"{error}\n")
        return EXIT_USAGE
    except SystemExit as done:  # --help and --version
        return int(done.code or 0)
    if args.command is None:
        err.write(parser.format_help())
        return EXIT_USAGE
    try:
        return int(_COMMANDS[args.command](args, out, err))
    except RulesetError as error:
        err.write(f"{error}\n")
        count = len(error.problems)
        err.write(f"{count} problem{'s' if count != 1 else ''} found\n")
        return EXIT_RULESET
    except (RecordsError, StateError) as error:
        err.write(f"error: {error}\n")
        return EXIT_INPUT
    except OutputError as error:
        err.write(f"error: {error}\n")
        return EXIT_OUTPUT
    except TierpayError as error:  # pragma: no cover - every subclass is handled above
        err.write(f"error: {error}\n")
        return EXIT_INPUT


def write_output(text: str, path: str | None, out: TextIO, force: bool) -> None:
    """Write ``text`` to ``path`` atomically (or to ``out``); refuse to overwrite without force."""
    with open_output(path, out, force) as sink:
        assert sink is not None
        sink.write(text)


@contextlib.contextmanager
def open_output(path: str | None, out: TextIO | None, force: bool) -> Iterator[TextIO | None]:
    """A stream for ``path`` that appears under its name only when complete (or ``out`` for none or ``-``).

    The text goes to a temporary file beside the target, renamed over it at the end; an error
    or Ctrl-C removes the temporary file and leaves any existing file as it was.
    """
    if path is None or path == "-":
        yield out
        return
    target = Path(path)
    if target.exists() and not force:
        raise OutputError(f"{path} exists; use --force to overwrite it")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from None
    try:
        with written_behind(fd) as handle:  # synced to disk on leaving
            yield handle
        os.replace(tmp, target)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    target = load_target(args.ruleset)
    versions = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    warnings = 0
    for ruleset in versions:
        span = f", in force from {ruleset.model.effective_from}" if len(versions) > 1 else ""
        found = lint(ruleset)
        warnings += len(found)
        note = f", {len(found)} warning{'s' if len(found) != 1 else ''}" if found else ""
        out.write(
            f"{ruleset.file}: ok: {ruleset.name} {ruleset.version}, {len(ruleset.model.levels)} levels, "
            f"{len(ruleset.expressions)} expressions, sha256 {ruleset.sha256[:12]}{span}{note}\n"
        )
        for problem in found:
            err.write(f"warning: {problem}\n")
    return EXIT_REJECTED if warnings and args.strict else EXIT_OK


def _refuse_existing(force: bool, *paths: str | None) -> None:
    """Stop before any work when an output file exists and ``--force`` was not given."""
    for path in paths:
        if path and path != "-" and Path(path).exists() and not force:
            raise OutputError(f"{path} exists; use --force to overwrite it")


def _write_state(state: State, path: str, out: TextIO, force: bool) -> None:
    """The carried state as CSV when ``path`` ends in ``.csv``, else JSON."""
    write_output(state.to_csv() if path.lower().endswith(".csv") else state.to_json(), path, out, force)


def _run(args: argparse.Namespace, *outputs: str | None) -> tuple[CompiledRuleset | RulesetVersions, Outcome]:
    """Load, check outputs can be written, read inputs and evaluate: the common first half."""
    ruleset = load_target(args.ruleset)
    _refuse_existing(args.force, *outputs)
    state = read_state(args.state_in) if args.state_in else None
    return ruleset, evaluate(ruleset, read_input(ruleset, args.records), state)


def _evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = Path(args.records)
    if args.stream or (path.suffix.lower() != ".json" and path.is_file() and path.stat().st_size >= STREAM_BYTES):
        return _evaluate_streaming(args, out, err)
    if args.format == "csv":
        return _evaluate_columns(args, out, err)
    ruleset, outcome = _run(args, args.output, args.state_out, args.payroll)
    with open_output(args.output, out, args.force) as sink:
        assert sink is not None
        render(outcome, ruleset, args.format, sink, args.lang)
    if args.summary:  # for the person at the terminal, never into the -o file
        out.write("\n" + report.summary_table(outcome, args.lang))
    if args.state_out:
        _write_state(outcome.state, args.state_out, out, args.force)
    if args.payroll:
        write_output(report.payroll_csv(outcome, ruleset), args.payroll, out, args.force)
    _report_problems(outcome, err)
    return EXIT_REJECTED if outcome.rejections else EXIT_OK


def _evaluate_columns(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``evaluate --format csv``: the whole file in columns, each period written as soon as it is decided.

    No decision is kept once written, so memory holds the input columns and one period's run.
    """
    target = load_target(args.ruleset)
    _refuse_existing(args.force, args.output, args.state_out, args.payroll)
    run = Evaluation(target, read_state(args.state_in) if args.state_in else None)
    records = read_input(target, args.records)
    summary = report.Summary.of(target, args.lang)
    with open_output(args.output, out, args.force) as sink, open_output(args.payroll, None, args.force) as payroll:
        assert sink is not None
        sink.write(",".join(decision_columns(target)) + "\n")
        if payroll is not None:
            payroll.write(report.payroll_rows([], target))
        for result in run.feed(records):
            _write_period(result.cells, target, sink, payroll, summary)
    if args.summary:  # for the person at the terminal, never into the -o file
        out.write("\n" + summary.table())
    if args.state_out:
        _write_state(run.state, args.state_out, out, args.force)
    rejections = sorted([*records.rejections, *run.rejections], key=lambda r: (r.source, r.row))
    for warning in records.warnings:
        err.write(f"warning: {warning}\n")
    err.write(report.gaps_text(run.gaps))
    err.write(report.rejections_text(rejections))
    return EXIT_REJECTED if rejections else EXIT_OK


def _write_period(
    cells: pl.DataFrame,
    target: CompiledRuleset | RulesetVersions,
    sink: TextIO,
    payroll: TextIO | None,
    summary: report.Summary,
) -> None:
    """One period's decisions as CSV rows, payroll rows and summary counts, as soon as it is decided."""
    sink.write(cells.write_csv(include_header=False, quote_style="necessary", line_terminator="\n"))
    if payroll is not None:
        payroll.write(report.payroll_rows([cells], target, header=False))
    summary.add(cells)


def _evaluate_streaming(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``evaluate`` one period at a time: CSV rows are written as each period is decided."""
    if args.format != "csv":
        err.write("error: reading one period at a time (--stream, or a file over 256 MiB) needs --format csv\n")
        return EXIT_USAGE
    if Path(args.records).suffix.lower() == ".json":
        err.write("error: --stream reads CSV files; convert the JSON records to CSV\n")
        return EXIT_USAGE
    target = load_target(args.ruleset)
    _refuse_existing(args.force, args.output, args.state_out, args.payroll)
    run = Evaluation(target, read_state(args.state_in) if args.state_in else None)
    summary = report.Summary.of(target, args.lang)
    progress = Progress(err)
    rejected = 0
    warned: set[str] = set()
    with open_output(args.output, out, args.force) as sink, open_output(args.payroll, None, args.force) as payroll:
        assert sink is not None
        sink.write(",".join(decision_columns(target)) + "\n")
        if payroll is not None:
            payroll.write(report.payroll_rows([], target))
        for period, batch, read in stream_batches(target, args.records):
            rejections = list(batch.rejections)
            if period is not None and batch.records:
                source = batch.records[0].source
                result = run.period(period, records_frame(target, batch.records, source), source)
                _write_period(result.cells, target, sink, payroll, summary)
                rejections += result.rejections
                err.write(report.gaps_text(result.gaps))
            for warning in batch.warnings:
                if warning not in warned:
                    warned.add(warning)
                    err.write(f"warning: {warning}\n")
            rejected += len(rejections)
            err.write(report.rejections_text(sorted(rejections, key=lambda r: r.row)))
            progress.show(read, period)
    progress.done()
    if args.state_out:
        _write_state(run.state, args.state_out, out, args.force)
    if args.summary:
        out.write("\n" + summary.table())
    return EXIT_REJECTED if rejected else EXIT_OK


class Progress:
    """A one-line progress report on a terminal; silent when stderr is not one."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.on = bool(getattr(err, "isatty", lambda: False)())

    def show(self, rows: int, period: str | None) -> None:
        """Rows read so far and the period just decided."""
        if self.on and period is not None:
            self.err.write(f"\r{rows:,} rows read, {period} decided")
            self.err.flush()

    def done(self) -> None:
        """End the progress line."""
        if self.on:
            self.err.write("\n")


def _review(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ruleset, outcome = _run(args, args.output)
    if args.period:
        outcome = outcome.only(args.period)
    rule = latest(ruleset).model.review
    fairness = fairness_report(outcome, rule.fairness.group_by) if rule and rule.fairness else None
    if args.format == "json":
        items = [
            {"agent_id": d.agent_id, "period": d.period, "review": d.review.model_dump(mode="json")}
            for d in outcome.decisions
            if d.review is not None
        ]
        data = {
            "ruleset": outcome.ruleset.model_dump(),
            "review": items,
            "fairness": fairness.model_dump(mode="json") if fairness else None,
        }
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = report.review_text(outcome, latest(ruleset), args.lang)
        if fairness is not None:
            text += "\n" + report.fairness_table(fairness, args.lang, latest(ruleset))
    write_output(text, args.output, out, args.force)
    _report_problems(outcome, err)
    return EXIT_REJECTED if outcome.rejections else EXIT_OK


def _statement(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ruleset, outcome = _run(args, args.output)
    if args.agent:
        decisions = [d for agent in args.agent for d in outcome.select(agent, args.period)]
        decisions.sort(key=lambda d: (d.period, d.agent_id))
    else:
        decisions = outcome.select(period=args.period)
    if args.agent and not decisions:
        err.write(
            f"error: no decision for agent {', '.join(args.agent)}"
            + (f" in {args.period}" if args.period else "")
            + "\n"
        )
        _report_problems(outcome, err, args.agent, args.period)
        return EXIT_REJECTED
    if args.format == "csv":
        text = report.statement_csv(decisions)
    elif args.format == "json":
        text = report.statement_json(decisions)
    else:
        text = "\n".join(report.statement_text(d, version_of(ruleset, d.ruleset.sha256), args.lang) for d in decisions)
    write_output(text, args.output, out, args.force)
    rejected = _report_problems(outcome, err, args.agent, args.period)
    return EXIT_REJECTED if rejected else EXIT_OK


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ruleset, outcome = _run(args, args.output)
    decisions = outcome.select(args.agent, args.period)
    rejected = [
        r for r in outcome.rejections if r.agent_id == args.agent and (not args.period or r.period == args.period)
    ]
    text = "\n".join(explain(d, version_of(ruleset, d.ruleset.sha256), args.lang) for d in decisions)
    text += "".join(f"rejected: {r}\n" for r in rejected)
    if not decisions and not rejected:
        err.write(f"error: no record for agent {args.agent}" + (f" in {args.period}" if args.period else "") + "\n")
        return EXIT_REJECTED
    write_output(text, args.output, out, args.force)
    return EXIT_REJECTED if rejected else EXIT_OK


def _test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ruleset = load_ruleset(args.ruleset)
    results = run_cases(ruleset)
    if not results:
        err.write(f"{args.ruleset}: the ruleset has no tests: block\n")
        return EXIT_REJECTED
    out.write(cases_report(results))
    return EXIT_OK if all(r.passed for r in results) else EXIT_REJECTED


def _diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.output and args.output != "-" and Path(args.output).exists() and not args.force:
        raise OutputError(f"{args.output} exists; use --force to overwrite it")
    old, new = load_ruleset(args.old), load_ruleset(args.new)
    state = read_state(args.state_in) if args.state_in else None
    old_outcome = evaluate(old, read_input(old, args.records), state)
    new_outcome = evaluate(new, read_input(new, args.records), state)
    comparison = compare(old, new, old_outcome, new_outcome)
    json_text = comparison.model_dump_json(indent=2) + "\n"
    write_output(
        json_text if args.format == "json" else report.comparison_text(comparison, args.lang, old, new),
        args.output,
        out,
        args.force,
    )
    _report_problems(old_outcome, err)
    return EXIT_REJECTED if old_outcome.rejections or new_outcome.rejections else EXIT_OK


def render(
    outcome: Outcome, ruleset: CompiledRuleset | RulesetVersions, fmt: str, sink: TextIO, lang: str = "en"
) -> None:
    """An outcome in one of the ``--format`` choices, written to ``sink`` (a table in ``lang``)."""
    if fmt == "json":
        outcome.write_json(sink)
        sink.write("\n")
        return
    if fmt == "csv":
        sink.write(outcome.csv())
        return
    sink.write(report.decisions_table(outcome, latest(ruleset), lang) + "\n")
    sink.write("\n" + report.footer_text(outcome, lang))


def _report_problems(
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


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    text = json.dumps(ruleset_json_schema(), indent=2, ensure_ascii=False) + "\n"
    write_output(text, args.output, out, args.force)
    return EXIT_OK


_COMMANDS = {
    "validate": _validate,
    "evaluate": _evaluate,
    "review": _review,
    "statement": _statement,
    "explain": _explain,
    "test": _test,
    "diff": _diff,
    "schema": _schema,
}


def entry_point() -> None:
    """The console script: ``sys.exit(main())``, quiet when the reader of a pipe stops early.

    ``tierpay evaluate ... | head`` closes the pipe after ten lines; that is the reader's
    choice, not a crash: no traceback, and exit code 5 (the output could not be written).
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the flush at exit does not fail again
        code = EXIT_OUTPUT
    sys.exit(code)
