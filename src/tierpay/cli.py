"""The ``tierpay`` command: a function from arguments and streams to an exit code.

Exit codes (also in ``tierpay --help`` and docs/reference/cli.md):

    0  done; every record was decided
    1  done, but some records were rejected (they are listed) or a check failed
    2  the command line is wrong
    3  the ruleset is invalid (every problem is listed with file, line and field)
    4  an input file (the ruleset named, records, state) cannot be read
    5  an output cannot be written, or exists and --force was not given
   70  internal error: a bug in tierpay (please report it)
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM); 129 hung up (SIGHUP)
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, TextIO, TypeVar, cast

import polars as pl

from tierpay.engine.cells import decision_columns
from tierpay.engine.columns import RecordFrame, records_frame
from tierpay.engine.outcome import Outcome
from tierpay.engine.run import Evaluation, evaluate
from tierpay.engine.state import State
from tierpay.errors import (
    OutputConflict,
    OutputError,
    RecordsError,
    RulesetError,
    RulesetUnreadable,
    StateError,
    TierpayError,
)
from tierpay.io.outputs import STANDARD_OUTPUT, Outputs
from tierpay.io.sources import STREAM_BYTES, read_input, stream_batches
from tierpay.io.state_file import read_state
from tierpay.io.textfile import encoding_name
from tierpay.io.xlsx_records import is_xlsx_name
from tierpay.outputs import report
from tierpay.outputs.cases import report as cases_report
from tierpay.outputs.cases import run_cases
from tierpay.outputs.compare import compare
from tierpay.outputs.explain import explain
from tierpay.outputs.fairness import fairness_report
from tierpay.ruleset.compiler import CompiledRuleset, keeping, kept_clash
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
EXIT_INTERNAL = 70  # EX_SOFTWARE of sysexits.h
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it; SIGTERM is 143, SIGHUP 129

EPILOG = """exit codes:
  0  done; every record was decided
  1  done, but some records were rejected (listed on stderr) or a check failed
  2  the command line is wrong
  3  the ruleset is invalid
  4  an input file cannot be read
  5  an output cannot be written, or exists and --force was not given
 70  internal error: a bug in tierpay (please report it)
130  interrupted (Ctrl-C); 143 terminated (SIGTERM); nothing is left behind
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
    _outside_option(validate)

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
    _bom_option(ev)
    ev.add_argument(
        "--stream",
        action="store_true",
        help="read the records one period at a time, in bounded memory (automatic for files over 256 MiB; "
        "the file must be grouped by period; CSV output)",
    )

    rv = _command(commands, "review", "bottom-ranking review: each cohort's ranking, flags and stages")
    _inputs(rv)
    rv.add_argument("--period", type=_period, help="only this period (YYYY-MM)")
    rv.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    _lang_option(rv, "of the ranking and the fairness screen")
    _output_options(rv)
    _state_options(rv, state_out=False)

    stmt = _command(commands, "statement", "pay statements: every line and how it was computed")
    _inputs(stmt)
    stmt.add_argument(
        "--agent",
        action="append",
        type=_agent,
        metavar="ID",
        help="only this agent (repeatable); all agents when left out",
    )
    stmt.add_argument("--period", type=_period, help="only this period (YYYY-MM)")
    stmt.add_argument("--format", choices=["text", "csv", "json"], default="text", help="output format (default: text)")
    _lang_option(stmt, "of the statement: line names and how each was computed")
    _bom_option(stmt)
    _output_options(stmt)
    _state_options(stmt, state_out=False)

    ex = _command(commands, "explain", "explain one agent's decisions: every criterion, score, review and pay line")
    _inputs(ex)
    ex.add_argument("--agent", required=True, type=_agent, metavar="ID", help="the agent to explain")
    ex.add_argument(
        "--period", type=_period, help="only this period (YYYY-MM); every period of the agent when left out"
    )
    _lang_option(ex, "of the explanation")
    _output_options(ex)
    _state_options(ex, state_out=False)

    tst = _command(commands, "test", "run the cases in a ruleset's tests: block")
    tst.add_argument("ruleset", help="the ruleset YAML file")
    _outside_option(tst)

    df = _command(commands, "diff", "compare two rulesets on the same records: level, grade, flag and pay changes")
    df.add_argument("old", help="the ruleset in force")
    df.add_argument("new", help="the proposed ruleset")
    df.add_argument("records", help="agent-period records, CSV, JSON or an Excel workbook (.xlsx)")
    _encoding_option(df)
    _sheet_option(df)
    _outside_option(df)
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


def _bom_option(parser: argparse.ArgumentParser) -> None:
    bom = parser.add_mutually_exclusive_group()
    bom.add_argument(
        "--bom",
        action="store_true",
        default=None,
        help="begin CSV output with a byte-order mark, so that Excel reads it as UTF-8 (default: on for --lang zh files)",
    )
    bom.add_argument("--no-bom", dest="bom", action="store_false", help="write CSV without a byte-order mark")


def _bom(args: argparse.Namespace, option: str) -> str:
    """The byte-order mark a CSV output begins with, or nothing.

    ``--bom`` and ``--no-bom`` decide; without either a CSV file (``-o``, ``--payroll``) written
    with ``--lang zh`` gets one, since Excel on a Chinese Windows reads CSV without one as GBK and
    garbles the Chinese; standard output never gets one unasked (a pipe or terminal has no use for it).
    """
    if args.bom is not None:
        return "\ufeff" if args.bom else ""
    path = args.output if option == "-o" else getattr(args, "payroll", None)
    return "\ufeff" if args.lang == "zh" and path not in (None, "-") else ""


def _lang_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--lang", choices=LANGS, default="en", help=f"language {what} (en or zh; default: en)")


def _inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ruleset", help="the ruleset YAML file, or a folder of its versions")
    parser.add_argument(
        "records",
        help="agent-period records, CSV, JSON or an Excel workbook (.xlsx) (one or more periods); "
        "- reads standard input",
    )
    _encoding_option(parser)
    _sheet_option(parser)
    parser.add_argument(
        "--keep",
        type=_names,
        metavar="COLUMNS",
        help="extra columns (姓名,部门) carried to every output beside each decision, never into the rules",
    )
    _outside_option(parser)


def _names(text: str) -> list[str]:
    """A ``--keep`` value: column names separated by commas."""
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r}: name each column to keep, separated by commas (姓名,部门)")
    return names


def _encoding_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoding",
        type=_encoding,
        metavar="NAME",
        help="the records file's encoding (utf-8, gb18030, gbk...); default: UTF-8, or GB18030 when it reads as that",
    )


def _sheet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sheet", metavar="NAME", help="the sheet of an .xlsx records workbook to read (default: the first)"
    )


def _encoding(text: str) -> str:
    """An ``--encoding`` value: a text encoding Python knows; anything else is a usage error."""
    try:
        encoding_name(text)
    except LookupError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an encoding: write utf-8, gb18030 or gbk") from None
    return text


STANDARD_INPUT = "-"
"""The records path that names standard input."""


def _read(target: CompiledRuleset | RulesetVersions, args: argparse.Namespace) -> RecordFrame:
    """The records named on the command line, checked: a file, or standard input for ``-`` (read once)."""
    if args.records != STANDARD_INPUT:
        return read_input(target, args.records, args.encoding, sheet=args.sheet)
    if getattr(args, "stdin_bytes", None) is None:
        args.stdin_bytes = args.stdin.read() if args.stdin is not None else b""
    return read_input(target, "<stdin>", args.encoding, data=args.stdin_bytes, sheet=args.sheet)


def _outside_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-outside-files",
        action="store_true",
        help="let the ruleset name files (extends:, table_file:) outside its own folder and the folders below it",
    )


_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _period(text: str) -> str:
    """A ``--period`` value: a month written ``YYYY-MM``; anything else is a usage error naming the option."""
    if not _MONTH.fullmatch(text) or text.startswith("0000"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: write YYYY-MM, month 01 to 12 (2026-03)")
    return text


def _agent(text: str) -> str:
    """An ``--agent`` value: an agent id, not blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an agent id cannot be blank")
    return text


def _state_options(parser: argparse.ArgumentParser, state_out: bool = True) -> None:
    parser.add_argument("--state-in", metavar="FILE", help="carried state from the previous run (JSON, or .csv)")
    parser.add_argument(
        "--state-from-other-ruleset",
        action="store_true",
        help="use a --state-in written under another ruleset (or version), checked agent by agent against this one",
    )
    if state_out:
        parser.add_argument("--state-out", metavar="FILE", help="write the state after the last period (JSON, or .csv)")


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument("--force", action="store_true", help="overwrite output files that exist")


def main(
    argv: Sequence[str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: BinaryIO | None = None,
) -> int:
    """Run ``tierpay`` with ``argv``; write to the given streams; return the exit code.

    Every way a run can end has its exit code and a plain message: an unexpected exception is
    one line asking for a report (the traceback too when ``TIERPAY_DEBUG=1``), never a bare
    traceback; Ctrl-C is ``interrupted`` and 130.
    """
    out = stdout or sys.stdout or cast(TextIO, _Closed())  # None when started with standard output closed (>&-)
    err = stderr or sys.stderr or open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the whole process
    try:
        source = stdin if stdin is not None else (sys.stdin.buffer if sys.stdin is not None else None)
        return _main(argv, out, err, source)
    except KeyboardInterrupt:
        return _stopped(err, "interrupted", EXIT_INTERRUPTED)
    except Stopped as stop:
        return _stopped(err, stop.message, stop.code)
    except BrokenPipeError:  # the reader stopped early (| head): its choice, not an error to report
        return EXIT_OUTPUT
    except OSError as error:
        if error.filename is None:  # a write to standard output failed (> /dev/full); files are named
            _say(err, f"error: standard output: cannot write: {error.strerror or error}\n")
            return EXIT_OUTPUT
        return _internal(error, err)
    except Exception as error:
        return _internal(error, err)


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO, stdin: BinaryIO | None = None) -> int:
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out):  # --help and --version print to the given stream
            args = parser.parse_args(argv)
    except _UsageError as error:
        err.write(parser.format_usage())
        err.write(f"{error}\n")
        return EXIT_USAGE
    except SystemExit as done:  # --help and --version
        out.flush()
        return int(done.code or 0)
    if args.command is None:
        err.write(parser.format_help())
        return EXIT_USAGE
    args.stdin = stdin  # records given as "-"
    try:
        code = int(_COMMANDS[args.command](args, out, err))
        out.flush()
        return code
    except _KeepError as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    except RulesetUnreadable as error:  # the file named on the command line, not what it says
        err.write(f"error: {error}\n")
        return EXIT_INPUT
    except RulesetError as error:
        err.write(f"{error}\n")
        count = len(error.problems)
        err.write(f"{count} problem{'s' if count != 1 else ''} found\n")
        return EXIT_RULESET
    except OutputConflict as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    except (RecordsError, StateError) as error:
        err.write("".join(f"error: {line}\n" for line in str(error).splitlines()))
        return EXIT_INPUT
    except OutputError as error:
        err.write(f"error: {error}\n")
        return EXIT_OUTPUT
    except TierpayError as error:  # pragma: no cover - every subclass is handled above
        err.write(f"error: {error}\n")
        return EXIT_INPUT


class Stopped(BaseException):
    """A signal asked the run to stop (SIGTERM, SIGHUP): raised so that cleanup runs, like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        self.code = 128 + signum
        self.message = "hung up" if signum == getattr(signal, "SIGHUP", None) else "terminated"
        super().__init__(self.message)


def _stopped(err: TextIO, message: str, code: int) -> int:
    _say(err, f"{message}\n")
    return code


def _internal(error: BaseException, err: TextIO) -> int:
    """An exception tierpay did not expect: one line, and the traceback only when asked for."""
    if os.environ.get("TIERPAY_DEBUG", "") not in ("", "0"):
        _say(err, "".join(traceback.format_exception(error)))
    text = str(error).splitlines()[0] if str(error) else ""
    _say(err, f"internal error: {type(error).__name__}{': ' + text if text else ''} (please report)\n")
    return EXIT_INTERNAL


def _say(err: TextIO, text: str) -> None:
    """Write to standard error when it still can be written: a last message must not fail in turn."""
    with contextlib.suppress(OSError, ValueError):
        err.write(text)
        err.flush()


class _Closed(io.TextIOBase):
    """Standard output when the process was started without one: writing to it fails as a closed file does."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "it is closed")


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    target = load_target(args.ruleset, allow_outside_files=args.allow_outside_files)
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


_Loaded = TypeVar("_Loaded", bound=CompiledRuleset | RulesetVersions)


def _plan(args: argparse.Namespace, out: TextIO, inputs: dict[str, str | None]) -> Outputs:
    """The command's outputs, refused before any work when two are one file or one is an input."""
    outputs = Outputs(out, args.force)
    outputs.add("-o", args.output, default=STANDARD_OUTPUT)
    outputs.add("--state-out", getattr(args, "state_out", None))
    outputs.add("--payroll", getattr(args, "payroll", None))
    outputs.refuse_inputs(inputs.items(), may_replace={"--state-out": "--state-in"})
    return outputs


def _load(path: str, outputs: Outputs, loader: Callable[..., _Loaded], args: argparse.Namespace) -> _Loaded:
    """Load the ruleset at ``path``; refuse an output that is a file it was read from (a base, a wage table)."""
    target = loader(path, allow_outside_files=args.allow_outside_files)
    if getattr(args, "keep", None):
        target = _keeping(target, args.keep)
    rulesets = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    files = {r.file for r in rulesets} | {r.minimum_wage_source for r in rulesets if r.minimum_wage_source}
    for ruleset in rulesets:
        if ruleset.locations is not None:  # values from an extends: base name their file
            files |= {p.file for p in ruleset.locations.positions.values() if p.file}
    outputs.refuse_inputs([("a file of the ruleset", file) for file in sorted(files)])
    return target


def _keeping(target: Any, names: list[str]) -> Any:
    """``target`` (a ruleset or its versions) carrying the ``--keep`` columns; a field's name is a usage error."""
    rulesets = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    for ruleset in rulesets:
        for name in names:
            clash = kept_clash(ruleset.model, name)
            if clash is not None:
                raise _KeepError(f"--keep: {clash}")
    kept = [keeping(r, names) for r in rulesets]
    return kept[0] if isinstance(target, CompiledRuleset) else RulesetVersions(tuple(kept))


class _KeepError(Exception):
    """A ``--keep`` column that is a field: a usage error (exit 2)."""


def _opened(args: argparse.Namespace, out: TextIO) -> tuple[Outputs, CompiledRuleset | RulesetVersions]:
    """An evaluating command's outputs, checked, and its ruleset (or versions), loaded: how each begins."""
    outputs = _plan(args, out, _inputs_of(args))
    return outputs, _load(args.ruleset, outputs, load_target, args)


def _inputs_of(args: argparse.Namespace) -> dict[str, str | None]:
    """The files an evaluating command reads, as messages name them."""
    return {"the ruleset": args.ruleset, "the records file": args.records, "--state-in": args.state_in}


def _state_text(state: State, path: str) -> str:
    """The carried state as CSV when ``path`` ends in ``.csv``, else JSON."""
    return state.to_csv() if path.lower().endswith(".csv") else state.to_json()


def _outcome(args: argparse.Namespace, ruleset: CompiledRuleset | RulesetVersions) -> Outcome:
    """Read the state and the records and evaluate them: the common middle of a command."""
    state = read_state(args.state_in) if args.state_in else None
    other = args.state_from_other_ruleset
    return evaluate(ruleset, _read(ruleset, args), state, state_from_other_ruleset=other)


def _evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = Path(args.records)
    if args.stream or (
        args.records != STANDARD_INPUT
        and path.suffix.lower() != ".json"
        and not is_xlsx_name(args.records)
        and path.is_file()
        and path.stat().st_size >= STREAM_BYTES
    ):
        return _evaluate_streaming(args, out, err)
    if args.format == "csv":
        return _evaluate_columns(args, out, err)
    outputs, ruleset = _opened(args, out)
    with outputs:
        outcome = _outcome(args, ruleset)
        sink = outputs.stream("-o")
        assert sink is not None
        render(outcome, ruleset, args.format, sink, args.lang)
        if args.summary:  # for the person at the terminal, never into the -o file
            out.write("\n" + report.summary_table(outcome, args.lang))
        if args.state_out:
            outputs.write("--state-out", _state_text(outcome.state, args.state_out))
        if args.payroll:
            outputs.write("--payroll", _bom(args, "--payroll") + report.payroll_csv(outcome, ruleset))
        outputs.publish()
    _report_problems(outcome, err)
    return EXIT_REJECTED if outcome.rejections else EXIT_OK


def _evaluate_columns(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``evaluate --format csv``: the whole file in columns, each period written as soon as it is decided.

    No decision is kept once written, so memory holds the input columns and one period's run.
    """
    outputs, target = _opened(args, out)
    with outputs:
        run = _evaluation(target, args)
        records = _read(target, args)
        summary = report.Summary.of(target, args.lang)
        sink, payroll = outputs.stream("-o"), outputs.stream("--payroll")
        assert sink is not None
        sink.write(_bom(args, "-o") + ",".join(decision_columns(target)) + "\n")
        if payroll is not None:
            payroll.write(_bom(args, "--payroll") + report.payroll_rows([], target))
        for result in run.feed(records):
            _write_period(result.cells, target, sink, payroll, summary)
        if args.summary:  # for the person at the terminal, never into the -o file
            out.write("\n" + summary.table())
        if args.state_out:
            outputs.write("--state-out", _state_text(run.state, args.state_out))
        outputs.publish()
    rejections = sorted([*records.rejections, *run.rejections], key=lambda r: (r.source, r.row))
    for warning in [*run.warnings, *records.warnings]:
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


def _evaluation(target: CompiledRuleset | RulesetVersions, args: argparse.Namespace) -> Evaluation:
    """An evaluation starting from ``--state-in`` (checked against ``target``), or from no state."""
    state = read_state(args.state_in) if args.state_in else None
    return Evaluation(target, state, state_from_other_ruleset=args.state_from_other_ruleset)


def _evaluate_streaming(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``evaluate`` one period at a time: CSV rows are written as each period is decided."""
    if args.format != "csv":
        err.write("error: reading one period at a time (--stream, or a file over 256 MiB) needs --format csv\n")
        return EXIT_USAGE
    if Path(args.records).suffix.lower() == ".json":
        err.write("error: --stream reads CSV files; convert the JSON records to CSV\n")
        return EXIT_USAGE
    if is_xlsx_name(args.records):
        err.write("error: --stream reads CSV files; save the workbook's sheet as CSV, or leave out --stream\n")
        return EXIT_USAGE
    if args.records == STANDARD_INPUT:
        err.write("error: --stream reads a file; standard input (-) is read whole: leave out --stream\n")
        return EXIT_USAGE
    outputs, target = _opened(args, out)
    summary = report.Summary.of(target, args.lang)
    progress = Progress(err)
    rejected = 0
    warned: set[str] = set()
    with outputs:
        run = _evaluation(target, args)
        batches = stream_batches(
            target, args.records, args.encoding
        )  # a file that cannot be read fails here, before any output
        for warning in run.warnings:
            err.write(f"warning: {warning}\n")
        sink, payroll = outputs.stream("-o"), outputs.stream("--payroll")
        assert sink is not None
        sink.write(_bom(args, "-o") + ",".join(decision_columns(target)) + "\n")
        if payroll is not None:
            payroll.write(_bom(args, "--payroll") + report.payroll_rows([], target))
        for period, batch, read in batches:
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
            outputs.write("--state-out", _state_text(run.state, args.state_out))
        if args.summary:
            out.write("\n" + summary.table())
        outputs.publish()
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


def _no_period(outcome: Outcome, period: str | None, err: TextIO) -> bool:
    """Whether ``--period`` names a month with no decision; if so, say why (and list the rejections)."""
    if period is None or period in outcome.periods:
        return False
    held = sorted(
        {*outcome.periods, *(r.period for r in outcome.rejections if r.period and _MONTH.fullmatch(r.period))}
    )
    if period in held:
        why = f"every record of {period} was rejected"
    elif held:
        why = f"the records hold no {period} (they hold {held[0]}{f' to {held[-1]}' if len(held) > 1 else ''})"
    else:
        why = "the records hold no period"
    err.write(f"error: --period {period}: no decision: {why}\n")
    _report_problems(outcome, err)
    return True


def _review(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    outputs, ruleset = _opened(args, out)
    with outputs:
        outcome = _outcome(args, ruleset)
        if _no_period(outcome, args.period, err):
            return EXIT_REJECTED
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
        outputs.write("-o", text)
        outputs.publish()
    _report_problems(outcome, err)
    return EXIT_REJECTED if outcome.rejections else EXIT_OK


def _statement(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    outputs, ruleset = _opened(args, out)
    with outputs:
        outcome = _outcome(args, ruleset)
        if _no_period(outcome, args.period, err):
            return EXIT_REJECTED
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
            text = _bom(args, "-o") + report.statement_csv(decisions, latest(ruleset).model.keep)
        elif args.format == "json":
            text = report.statement_json(decisions)
        else:
            text = "\n".join(
                report.statement_text(d, version_of(ruleset, d.ruleset.sha256), args.lang) for d in decisions
            )
        outputs.write("-o", text)
        outputs.publish()
    rejected = _report_problems(outcome, err, args.agent, args.period)
    return EXIT_REJECTED if rejected else EXIT_OK


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    outputs, ruleset = _opened(args, out)
    with outputs:
        outcome = _outcome(args, ruleset)
        for warning in outcome.warnings:
            err.write(f"warning: {warning}\n")
        decisions = outcome.select(args.agent, args.period)
        rejected = [
            r for r in outcome.rejections if r.agent_id == args.agent and (not args.period or r.period == args.period)
        ]
        text = "\n".join(explain(d, version_of(ruleset, d.ruleset.sha256), args.lang) for d in decisions)
        text += "".join(f"rejected: {r}\n" for r in rejected)
        if not decisions and not rejected:
            err.write(f"error: no record for agent {args.agent}" + (f" in {args.period}" if args.period else "") + "\n")
            return EXIT_REJECTED
        outputs.write("-o", text)
        outputs.publish()
    return EXIT_REJECTED if rejected else EXIT_OK


def _test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ruleset = load_ruleset(args.ruleset, allow_outside_files=args.allow_outside_files)
    results = run_cases(ruleset)
    if not results:
        err.write(f"{args.ruleset}: the ruleset has no tests: block\n")
        return EXIT_REJECTED
    out.write(cases_report(results))
    return EXIT_OK if all(r.passed for r in results) else EXIT_REJECTED


def _diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inputs = {"the old ruleset": args.old, "the new ruleset": args.new, "the records file": args.records}
    outputs = _plan(args, out, {**inputs, "--state-in": args.state_in})
    old, new = _load(args.old, outputs, load_ruleset, args), _load(args.new, outputs, load_ruleset, args)
    with outputs:
        state = read_state(args.state_in) if args.state_in else None
        other = args.state_from_other_ruleset
        old_outcome = evaluate(old, _read(old, args), state, state_from_other_ruleset=other)
        # The state in was written under the rules in force; the proposal carries it over, checked against it.
        new_outcome = evaluate(new, _read(new, args), state, state_from_other_ruleset=True)
        comparison = compare(old, new, old_outcome, new_outcome)
        json_text = comparison.model_dump_json(indent=2) + "\n"
        outputs.write(
            "-o", json_text if args.format == "json" else report.comparison_text(comparison, args.lang, old, new)
        )
        outputs.publish()
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
    with _plan(args, out, {}) as outputs:
        outputs.write("-o", text)
        outputs.publish()
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
    """The console script: ``sys.exit(main())``, with SIGTERM and SIGHUP stopping the run as Ctrl-C does.

    A signal raises ``Stopped`` wherever the run is, so that the outputs' cleanup runs. When
    standard output was closed by its reader (``| head``) or failed, it is pointed at
    ``/dev/null`` so that the flush at exit does not fail again.
    """
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) != signal.SIG_IGN:
            signal.signal(getattr(signal, name), _stop)
    code = main()
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError:
        code = code or EXIT_OUTPUT
    if code == EXIT_OUTPUT and sys.stdout is not None:
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)
