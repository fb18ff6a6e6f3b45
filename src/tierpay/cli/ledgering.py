"""The ledger's commands: ``evaluate --ledger`` (a run kept), ``close`` and ``ledger`` (the list).

The order of a run with a ledger: the ruleset, the records and the ledger's history are read;
the months are decided; the files are written to their temporaries; the run's rows are
written to the ledger in one open transaction; the files are published (renamed into place);
then the transaction commits. A run that fails before the files appear leaves the ledger as it
was; a commit that fails once they have is said (exit 5), and the run is simply made again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from typing import TYPE_CHECKING, TextIO

from tierpay.cli.exits import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from tierpay.cli.opening import bom, decisions_of, opened, read_records, report_problems, state_text
from tierpay.cli.parser import OptionsClash
from tierpay.engine.adjustments import Adjustment, signed
from tierpay.engine.corrections import History, LedgerRun, run_with_history
from tierpay.engine.pay import money
from tierpay.errors import LedgerError
from tierpay.io.outputs import STANDARD_OUTPUT, Outputs
from tierpay.io.state_file import read_state
from tierpay.ledger import open_ledger
from tierpay.outputs import report
from tierpay.outputs.text_table import rows_table
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

if TYPE_CHECKING:  # the store imports SQLAlchemy: only open_ledger does, saying which extra is missing
    from tierpay.ledger.store import Ledger, Month, Run


def now() -> str:
    """This moment in UTC, ISO 8601 to the second; ``SOURCE_DATE_EPOCH`` fixes it (reproducible docs and tests)."""
    return _iso(_clock())


def _clock() -> dt.datetime:
    """This moment in the machine's time zone; ``SOURCE_DATE_EPOCH`` fixes it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).astimezone()
    return dt.datetime.now(dt.UTC).astimezone()  # noqa: TID251 - the command line's edge reads the clock, the core never


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _shown(moment: dt.datetime) -> str:
    """A moment as the person wrote it: in its own offset, ``Z`` for UTC."""
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def month_end(period: str, zone: dt.tzinfo) -> dt.datetime:
    """The first moment after ``period`` (``YYYY-MM``) in ``zone``: midnight as the next month begins."""
    year, month = int(period[:4]), int(period[5:7])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return dt.datetime(year, month, 1, tzinfo=zone)


def ledger_run(
    target: CompiledRuleset | RulesetVersions, args: argparse.Namespace, ledger: Ledger
) -> tuple[LedgerRun, History]:
    """The records decided after the ledger's history: what ``evaluate`` stores and the reading commands show."""
    if args.state_in and not ledger.is_empty():
        raise OptionsClash(
            f"--state-in {args.state_in}: the ledger {ledger.shown} holds runs (through {ledger.last_period()}), "
            "and a run resumes from it: leave out --state-in"
        )
    records = read_records(target, args)
    state = read_state(args.state_in) if args.state_in else None
    history = ledger.history(sorted(set(records.frame["period"].to_list())))
    other, decisions = args.state_from_other_ruleset, decisions_of(args)
    run = run_with_history(target, records, history, state, state_from_other_ruleset=other, decisions=decisions)
    return run, history


def evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``evaluate --ledger``: decide, write the files, and keep the run in the ledger, all or nothing."""
    from tierpay.cli.evaluating import render

    if args.stream:
        err.write("error: --stream and --ledger: a run kept in a ledger is read whole; leave out --stream\n")
        return EXIT_USAGE
    outputs, target = opened(args, out)
    _refuse_ledger_as_output(outputs, args.ledger)
    ledger = open_ledger(args.ledger, create=True)
    try:
        with outputs:
            run, history = ledger_run(target, args, ledger)
            outcome = run.outcome
            sink = outputs.stream("-o")
            assert sink is not None
            render(outcome, target, args.format, sink, args.lang)
            if args.summary:  # for the person at the terminal, never into the -o file
                out.write("\n" + report.summary_table(outcome, args.lang))
            if args.state_out:
                outputs.write("--state-out", state_text(outcome.state, args.state_out))
            if args.payroll:
                outputs.write("--payroll", bom(args, "--payroll") + report.payroll_csv(outcome, target))
            state_in = read_state(args.state_in) if args.state_in else None
            with ledger.recording(target, run, at=now(), records=args.records, state_in=state_in) as run_id:
                outputs.publish()
    finally:
        ledger.close_connection()
    err.write(notes(run, history, run_id, ledger.shown))
    report_problems(outcome, err)
    return EXIT_REJECTED if outcome.rejections else EXIT_OK


def _refuse_ledger_as_output(outputs: Outputs, where: str) -> None:
    if "://" not in where:
        outputs.refuse_inputs([("the ledger", where)])


def notes(run: LedgerRun, history: History, run_id: int | None, shown: str) -> str:
    """What the ledger did with the run, for the person at the terminal (standard error)."""
    lines = []
    held = {p.period: p for p in history.periods}
    for period in run.unchanged:
        lines.append(f"ledger: {period} is closed and its records are as closed: not decided again")
    if run.corrected:
        first = run.corrected[0]
        before, now_ = held[first].hashes, run.hashes[first]
        agents = sorted(a for a in now_ if before.get(a) != now_[a])
        shown_agents = ", ".join(agents[:5]) + (f" and {len(agents) - 5} more" if len(agents) > 5 else "")
        rest = run.corrected[1:]
        also = f", with {', '.join(rest)}," if rest else ""
        lines.append(
            f"ledger: {first} is closed and its records changed ({shown_agents}): decided again{also} as a "
            "correction; its rows stay as they were closed"
        )
    for period, agent, was, now in run.moves(history):
        lines.append(f"correction: {agent} {period}: level {now}, where the month closed with {was}")
    paid_in = {id(item): period for (period, _), items in run.paid.items() for item in items}
    for item in run.new:
        where = paid_in.get(id(item))
        when = f"paid in {where}" if where else f"owed: no record of {item.agent_id} yet to pay it in"
        a = item.adjustment
        lines.append(
            f"adjustment: {item.agent_id} {signed(a.amount)} for {a.for_period} "
            f"({money(a.due)} due, {money(a.paid)} paid), {when}"
        )
    for (period, agent), items in sorted(run.paid.items()):
        for item in items:
            if item.key is not None:
                a = item.adjustment
                lines.append(f"adjustment: {agent} {signed(a.amount)} for {a.for_period}, owed, paid in {period}")
    if run_id is not None:
        months = ", ".join(r.period for r in run.results) or "no month"
        lines.append(f"ledger: run {run_id} kept in {shown} ({months})")
    return "".join(line + "\n" for line in lines)


def close(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``tierpay close``: make a month final; refused (exit 1) out of order, twice, or for a month not held.

    A close before the month has ended, or before the previous month's close, is a wrong
    ``--at`` (exit 2): the month ends at midnight in the offset ``--at`` is written in (the
    machine's time zone for "now").
    """
    at = args.at if args.at is not None else _clock()
    said = f"--at {_shown(at)}" if args.at is not None else f"now ({_shown(at)})"
    zone = at.tzinfo
    assert zone is not None
    end = month_end(args.period, zone)
    if at < end:
        raise OptionsClash(
            f"{said} is before {args.period} ends ({_shown(end)}): "
            f"the earliest --at allowed for closing {args.period} is {_shown(end)}"
        )
    ledger = open_ledger(args.ledger)
    try:
        last = ledger.last_closing(args.period)
        if last is not None:
            closed = dt.datetime.fromisoformat(last[1]).astimezone(zone)
            if at < closed:
                raise OptionsClash(
                    f"{said} is before {last[0]} was closed ({_shown(closed)}): months close in order, "
                    f"so the earliest --at allowed for closing {args.period} is {_shown(closed)}"
                )
        run_id = ledger.close_period(args.period, args.by, _iso(at))
    except LedgerError as error:
        err.write(f"error: {error}\n")
        return EXIT_REJECTED
    finally:
        ledger.close_connection()
    out.write(f"{args.period} closed by {args.by}: the decisions of run {run_id} are final\n")
    return EXIT_OK


def listing(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``tierpay ledger``: every run, every month with its status, and every adjustment found."""
    outputs = Outputs(out, args.force)
    outputs.add("-o", args.output, default=STANDARD_OUTPUT)
    _refuse_ledger_as_output(outputs, args.ledger)
    ledger = open_ledger(args.ledger)
    try:
        runs, months, owed = ledger.runs(), ledger.months(), ledger.owed()
    finally:
        ledger.close_connection()
    if args.format == "json":
        data = {
            "runs": [vars(r) for r in runs],
            "months": [
                dict(
                    vars(m),
                    pay_total=str(m.pay_total),
                    ladders=[dict(vars(lad), pay_total=str(lad.pay_total)) for lad in m.ladders],
                )
                for m in months
            ],
            "adjustments": [
                {
                    "agent_id": agent,
                    "for_period": a.for_period,
                    "paid": str(a.paid),
                    "due": str(a.due),
                    "amount": str(a.amount),
                    "paid_in": paid_in,
                }
                for agent, a, paid_in in owed
            ],
        }
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = _listing_text(runs, months, owed)
    with outputs:
        outputs.write("-o", text)
        outputs.publish()
    return EXIT_OK


def _listing_text(runs: list[Run], months: list[Month], owed: list[tuple[str, Adjustment, str | None]]) -> str:
    run_rows = [
        [
            r.id,
            r.kind if r.part_of is None else f"{r.kind} (in run {r.part_of})",
            r.at,
            r.ruleset,
            r.records,
            _span(r.periods),
            r.agents,
            r.rejected,
        ]
        for r in runs
    ]
    blocks = [
        rows_table(
            ["run", "kind", "at", "ruleset", "records", "months", "agents", "rejected"], run_rows, right={0, 6, 7}
        )
    ]
    month_rows = [
        [
            m.period,
            f"closed {m.closed_at} by {m.closed_by}" if m.closed_by else "open",
            f"run {m.run_id}",
            ", ".join(str(k) for k in m.runs),
            m.agents,
            money(m.pay_total),
        ]
        for m in months
    ]
    blocks.append(rows_table(["month", "status", "in force", "runs", "agents", "pay"], month_rows, right={4, 5}))
    ladder_rows = [[m.period, lad.ladder, lad.agents, money(lad.pay_total)] for m in months for lad in m.ladders]
    if ladder_rows:  # a ruleset with ladders: each month in force, ladder by ladder
        blocks.append(rows_table(["month", "ladder", "agents", "pay"], ladder_rows, right={2, 3}))
    if owed:
        adjustment_rows = [
            [agent, a.for_period, signed(a.amount), money(a.paid), money(a.due), paid_in or "owed"]
            for agent, a, paid_in in owed
        ]
        blocks.append(
            rows_table(["agent", "for", "adjustment", "paid", "due", "paid in"], adjustment_rows, right={2, 3, 4})
        )
    else:
        blocks.append("no adjustments")
    return "\n\n".join(blocks) + "\n"


def _span(periods: list[str]) -> str:
    if not periods:
        return ""
    return periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}"
