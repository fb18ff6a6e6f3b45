"""``tierpay evaluate``: the decisions as a table, CSV or JSON, whole or one period at a time."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

import polars as pl

from tierpay.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from tierpay.cli.opening import (
    bom,
    check_workbooks,
    evaluation_of,
    opened,
    outcome_of,
    read_records,
    report_problems,
    state_text,
    workbooks_asked,
)
from tierpay.cli.parser import STANDARD_INPUT
from tierpay.engine.cells import decision_columns
from tierpay.engine.columns import RecordFrame
from tierpay.engine.outcome import Outcome
from tierpay.io.behind import write_csv_rows
from tierpay.io.sources import STREAM_BYTES, stream_batches
from tierpay.io.xlsx_book import refuse_too_many, workbook_bytes
from tierpay.io.xlsx_records import is_xlsx_name
from tierpay.outputs import report
from tierpay.outputs.workbook import decisions_sheets, payroll_sheets
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions, latest


def evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    books = workbooks_asked(args)
    args.format = args.format or "table"
    if args.ledger:  # workbooks, --stream and --format csv's streaming are not for a ledger run
        from tierpay.cli import ledgering

        return ledgering.evaluate(args, out, err)
    if books:
        return _evaluate_whole(args, out, err, books)
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
    return _evaluate_whole(args, out, err)


def _evaluate_whole(args: argparse.Namespace, out: TextIO, err: TextIO, books: dict[str, str] | None = None) -> int:
    """``evaluate`` with every decision in memory: a table, JSON, or workbooks (``books``: option -> .xlsx path)."""
    books = books or {}
    outputs, ruleset = opened(args, out)
    check_workbooks(books)

    def fits(records: RecordFrame) -> None:  # a decision per record at most: known before evaluating
        for option, path in books.items():
            refuse_too_many(f"{option} {path}", len(records), "records")

    with outputs:
        outcome = outcome_of(args, ruleset, fits)
        if "-o" in books:
            outputs.write_bytes("-o", workbook_bytes(decisions_sheets(outcome, args.lang)))
        else:
            sink = outputs.stream("-o")
            assert sink is not None
            if args.format == "csv":  # beside a payroll workbook: the columnar path's CSV, mark and all
                sink.write(bom(args, "-o"))
            render(outcome, ruleset, args.format, sink, args.lang)
        if args.summary:  # for the person at the terminal, never into the -o file
            out.write("\n" + report.summary_table(outcome, args.lang))
        if args.state_out:
            outputs.write("--state-out", state_text(outcome.state, args.state_out))
        if "--payroll" in books:
            outputs.write_bytes("--payroll", workbook_bytes(payroll_sheets(outcome, args.lang)))
        elif args.payroll:
            outputs.write("--payroll", bom(args, "--payroll") + report.payroll_csv(outcome, ruleset))
        outputs.publish()
    report_problems(outcome, err, lang=args.lang)
    return EXIT_REJECTED if outcome.rejections else EXIT_OK


def _evaluate_columns(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``evaluate --format csv``: the whole file in columns, each period written as soon as it is decided.

    No decision is kept once written, so memory holds the input columns and one period's run.
    """
    outputs, target = opened(args, out)
    with outputs:
        run = evaluation_of(target, args)
        records = read_records(target, args)
        summary = report.Summary.of(target, args.lang)
        sink, payroll = outputs.stream("-o"), outputs.stream("--payroll")
        assert sink is not None
        sink.write(bom(args, "-o") + ",".join(decision_columns(target, run.decided, run.adjusting)) + "\n")
        if payroll is not None:
            payroll.write(bom(args, "--payroll") + report.payroll_rows([], target))
        for result in run.feed(records):
            _write_period(result.cells, target, sink, payroll, summary)
        run.close()
        if args.summary:  # for the person at the terminal, never into the -o file
            out.write("\n" + summary.table())
        if args.state_out:
            outputs.write("--state-out", state_text(run.state, args.state_out))
        outputs.publish()
    rejections = sorted([*records.rejections, *run.rejections], key=lambda r: (r.source, r.row))
    err.write(report.warnings_text([*run.warnings, *records.warnings], args.lang))
    err.write(report.gaps_text(run.gaps, args.lang))
    err.write(report.rejections_text(rejections, args.lang))
    return EXIT_REJECTED if rejections else EXIT_OK


def _write_period(
    cells: pl.DataFrame,
    target: CompiledRuleset | RulesetVersions,
    sink: TextIO,
    payroll: TextIO | None,
    summary: report.Summary,
) -> None:
    """One period's decisions as CSV rows, payroll rows and summary counts, as soon as it is decided."""
    write_csv_rows(cells, sink)  # by polars, as bytes, straight to the file: never a Python string
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
    if is_xlsx_name(args.records):
        err.write("error: --stream reads CSV files; save the workbook's sheet as CSV, or leave out --stream\n")
        return EXIT_USAGE
    if args.records == STANDARD_INPUT:
        err.write("error: --stream reads a file; standard input (-) is read whole: leave out --stream\n")
        return EXIT_USAGE
    outputs, target = opened(args, out)
    summary = report.Summary.of(target, args.lang)
    progress = Progress(err)
    rejected = 0
    warned: set[str] = set()
    with outputs:
        run = evaluation_of(target, args)
        batches = stream_batches(
            target, args.records, args.encoding
        )  # a file that cannot be read fails here, before any output
        err.write(report.warnings_text(run.warnings, args.lang))
        sink, payroll = outputs.stream("-o"), outputs.stream("--payroll")
        assert sink is not None
        sink.write(bom(args, "-o") + ",".join(decision_columns(target, run.decided, run.adjusting)) + "\n")
        if payroll is not None:
            payroll.write(bom(args, "--payroll") + report.payroll_rows([], target))
        read_first = list(run.rejections)  # the decisions file's own (a row that cannot be a decision)
        rejected += len(read_first)
        err.write(report.rejections_text(read_first))
        for period, batch, read in batches:
            rejections = list(batch.rejections)
            run.rejected.update((r.agent_id, r.period) for r in rejections)
            run.headers[batch.source] = batch.headers
            if period is not None and batch.frame.height:
                said = len(run.warnings)
                result = run.period(period, batch.frame, batch.source)
                err.write(
                    report.warnings_text(run.warnings[said:], args.lang)
                )  # people's decisions that change nothing
                _write_period(result.cells, target, sink, payroll, summary)
                rejections += result.rejections
                err.write(report.gaps_text(result.gaps, args.lang))
            for warning in batch.warnings:
                if warning not in warned:
                    warned.add(warning)
                    err.write(report.warnings_text([warning], args.lang))
            rejected += len(rejections)
            err.write(report.rejections_text(sorted(rejections, key=lambda r: r.row), args.lang))
            progress.show(read, period)
        progress.done()
        left = run.close()
        rejected += len(left)
        err.write(report.rejections_text(left))
        if args.state_out:
            outputs.write("--state-out", state_text(run.state, args.state_out))
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
