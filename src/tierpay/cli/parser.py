"""The argument parser of every ``tierpay`` command, with the checks its option values get."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from typing import Any

from tierpay.cli.exits import EPILOG
from tierpay.io.textfile import encoding_name
from tierpay.words import LANGS


class Parser(argparse.ArgumentParser):
    """An argument parser that reports usage errors as an exception instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}")


class UsageError(Exception):
    """A command line argparse refuses: printed with the usage (exit 2)."""


class KeepError(Exception):
    """A ``--keep`` column that is a field: a usage error (exit 2)."""


class TextOnly(Exception):
    """``-o FILE.xlsx`` for a command that writes text (review, explain, diff, schema): a usage error (exit 2)."""


class OptionsClash(Exception):
    """Two options that cannot be given together in this case (``--state-in`` with a ledger that holds runs): exit 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``tierpay`` command."""
    parser = Parser(
        prog="tierpay",
        description="Evaluate call-centre agents against a YAML ruleset: levels, review flags and pay.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from tierpay import __version__

    parser.add_argument("--version", action="version", version=f"tierpay {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    validate = _command(commands, "validate", "check a ruleset and list every problem")
    validate.add_argument("ruleset", help="the ruleset YAML file, or a folder of its versions")
    validate.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    _outside_option(validate)

    ev = _command(commands, "evaluate", "evaluate records: levels, grades, review and pay")
    _inputs(ev)
    ev.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        help="output format (default: table; -o FILE.xlsx writes an Excel workbook, and takes no --format)",
    )
    _output_options(ev)
    _state_options(ev)
    ev.add_argument(
        "--payroll",
        metavar="FILE",
        help="also write the payroll export (one row per agent-period; an Excel workbook when FILE ends in .xlsx)",
    )
    ev.add_argument(
        "--summary", action="store_true", help="also print agents, agent-months and pay by level, team and region"
    )
    _lang_option(
        ev,
        "of the table, summaries, workbook sheets and headers, and warnings and rejections (CSV and JSON stay in English)",
    )
    bom_option(ev)
    _ledger_option(ev, "keep this run in the ledger (made if missing), resume from it, correct closed months")
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
    _ledger_option(rv, READING)

    stmt = _command(commands, "statement", "pay statements: every line and how it was computed")
    _inputs(stmt)
    who = stmt.add_mutually_exclusive_group()
    who.add_argument(
        "--all", action="store_true", help="every agent (the default): with --format html, one printable file"
    )
    who.add_argument(
        "--agent",
        action="append",
        type=_agent,
        metavar="ID",
        help="only this agent (repeatable); all agents when left out",
    )
    stmt.add_argument("--period", type=_period, help="only this period (YYYY-MM)")
    stmt.add_argument(
        "--format",
        choices=["text", "csv", "json", "html"],
        help="output format (default: text; html: pay slips to print, a page each; "
        "-o FILE.xlsx writes an Excel workbook, and takes no --format)",
    )
    _lang_option(stmt, "of the statement: line names and how each was computed")
    bom_option(stmt)
    _output_options(stmt)
    _state_options(stmt, state_out=False)
    _ledger_option(stmt, READING)

    rp = _command(commands, "report", "the month's run as one HTML page: totals, levels, moves, review, pay")
    _inputs(rp)
    rp.add_argument(
        "--period", type=_period, help="the month the page is about (YYYY-MM; default: the last month decided)"
    )
    _lang_option(rp, "of the page")
    _output_options(rp)
    _state_options(rp, state_out=False)
    _ledger_option(rp, READING)

    ex = _command(commands, "explain", "explain one agent's decisions: every criterion, score, review and pay line")
    _inputs(ex)
    ex.add_argument("--agent", required=True, type=_agent, metavar="ID", help="the agent to explain")
    ex.add_argument(
        "--period", type=_period, help="only this period (YYYY-MM); every period of the agent when left out"
    )
    _lang_option(ex, "of the explanation")
    _output_options(ex)
    _state_options(ex, state_out=False)
    _ledger_option(ex, READING)

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

    close = _command(commands, "close", "make a month final in a ledger: later changes to it are paid as adjustments")
    close.add_argument("period", type=_period, help="the month to close (YYYY-MM)")
    _ledger_option(close, "the ledger (a file, or a postgresql+psycopg:// URL)", required=True)
    close.add_argument("--by", required=True, type=_who, metavar="NAME", help="who closes it (kept in the ledger)")
    close.add_argument(
        "--at", type=_moment, metavar="TIME", help="when it was closed, ISO 8601 (2026-02-05T09:00:00Z; default: now)"
    )

    ledger = _command(commands, "ledger", "list a ledger's runs, its months (open or closed) and the adjustments owed")
    _ledger_option(ledger, "the ledger (a file, or a postgresql+psycopg:// URL)", required=True)
    ledger.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    _output_options(ledger)
    return parser


READING = "decide as a run with this ledger would (resume, corrections, adjustments owed), storing nothing"


def _ledger_option(parser: argparse.ArgumentParser, what: str, required: bool = False) -> None:
    parser.add_argument("--ledger", metavar="PATH_OR_URL", required=required, help=what)


def _who(text: str) -> str:
    """A ``--by`` value: a name, not blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError("say who: a name, not blank")
    return text.strip()


def _moment(text: str) -> dt.datetime:
    """An ``--at`` value: a date and time in ISO 8601 with its offset, which says where the month ends (``Z``, ``+08:00``)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date and time: write 2026-02-05T09:00:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: write Z for UTC, or +08:00")
    return moment.replace(microsecond=0)


def _command(commands: Any, name: str, help: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser


def bom_option(parser: argparse.ArgumentParser) -> None:
    bom = parser.add_mutually_exclusive_group()
    bom.add_argument(
        "--bom",
        action="store_true",
        default=None,
        help="begin CSV output with a byte-order mark, so that Excel reads it as UTF-8 (default: on for --lang zh files)",
    )
    bom.add_argument("--no-bom", dest="bom", action="store_false", help="write CSV without a byte-order mark")


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
    parser.add_argument(
        "--decisions",
        metavar="FILE",
        help="people's decisions to apply (CSV, JSON or .xlsx: agent_id, period, decision, value, by, reason, at): "
        "convert, extend_probation, set_level, set_grade, clear_review, exempt_review",
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


def _outside_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-outside-files",
        action="store_true",
        help="let the ruleset name files (extends:, table_file:) outside its own folder and the folders below it",
    )


MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _period(text: str) -> str:
    """A ``--period`` value: a month written ``YYYY-MM``; anything else is a usage error naming the option."""
    if not MONTH.fullmatch(text) or text.startswith("0000"):
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
