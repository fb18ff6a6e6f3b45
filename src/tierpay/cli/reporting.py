"""The commands that explain a run to people: ``review``, ``statement``, ``explain`` and ``diff``."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from tierpay.cli.exits import EXIT_OK, EXIT_REJECTED
from tierpay.cli.opening import (
    bom,
    check_workbooks,
    load,
    no_period,
    opened,
    outcome_of,
    plan,
    read_records,
    report_problems,
    sources,
    workbooks_asked,
)
from tierpay.engine.cells import has_ladders
from tierpay.engine.outcome import Outcome
from tierpay.engine.run import evaluate
from tierpay.io.state_file import read_state
from tierpay.io.xlsx_book import workbook_bytes
from tierpay.outputs import report
from tierpay.outputs.compare import compare
from tierpay.outputs.explain import explain
from tierpay.outputs.fairness import FairnessReport, fairness_report
from tierpay.outputs.workbook import statements_sheets
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.loading import load_ruleset
from tierpay.ruleset.versions import latest, version_of
from tierpay.words import say


def review(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    outputs, ruleset = opened(args, out)
    with outputs:
        outcome = outcome_of(args, ruleset)
        if no_period(outcome, args.period, err, args.lang):
            return EXIT_REJECTED
        if args.period:
            outcome = outcome.only(args.period)
        screens = fairness_screens(outcome, latest(ruleset))
        fairness = screens[0] if len(screens) == 1 and screens[0].ladder is None else None
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
            if latest(ruleset).ladders:  # each ladder's screen, its ladder named
                data["fairness"] = [screen.model_dump(mode="json") for screen in screens]
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        else:
            text = report.review_text(outcome, latest(ruleset), args.lang)
            for screen in screens:
                text += "\n" + report.fairness_table(screen, args.lang, latest(ruleset))
        outputs.write("-o", text)
        outputs.publish()
    rejected = report_problems(outcome, err, period=args.period, lang=args.lang)
    return EXIT_REJECTED if rejected else EXIT_OK


def fairness_screens(outcome: Outcome, ruleset: CompiledRuleset) -> list[FairnessReport]:
    """The fairness screens a review asks for: one, or with ladders one per ladder whose review has one."""
    if ruleset.ladders:
        return [
            fairness_report(outcome, ladder.model.review.fairness.group_by, name)
            for name, ladder in ruleset.ladders.items()
            if ladder.model.review is not None and ladder.model.review.fairness is not None
        ]
    rule = ruleset.model.review
    return [fairness_report(outcome, rule.fairness.group_by)] if rule and rule.fairness else []


def statement(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    books = workbooks_asked(args)
    args.format = args.format or "text"
    if args.format == "html":
        from tierpay.outputs.html.pages import require

        require()
    outputs, ruleset = opened(args, out)
    check_workbooks(books)
    with outputs:
        outcome = outcome_of(args, ruleset)
        if no_period(outcome, args.period, err, args.lang):
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
            report_problems(outcome, err, args.agent, args.period, args.lang)
            return EXIT_REJECTED
        if books:
            keep = latest(ruleset).model.keep
            sheets = statements_sheets(decisions, keep, ruleset, args.lang)
            outputs.write_bytes("-o", workbook_bytes(sheets))
            text = ""
        elif args.format == "csv":
            text = bom(args, "-o") + report.statement_csv(decisions, latest(ruleset).model.keep, has_ladders(ruleset))
        elif args.format == "html":
            from tierpay.outputs.html.pages import slips_page
            from tierpay.outputs.html.slips import slips

            span = args.period or ", ".join(outcome.periods)
            title = say("slip.document", args.lang, period=span)
            text = slips_page(slips(outcome, decisions, args.lang), args.lang, title)
        elif args.format == "json":
            text = report.statement_json(decisions)
        else:
            text = "\n".join(
                report.statement_text(d, version_of(ruleset, d.ruleset.sha256), args.lang) for d in decisions
            )
        outputs.write("-o", text)
        outputs.publish()
    rejected = report_problems(outcome, err, args.agent, args.period, args.lang)
    return EXIT_REJECTED if rejected else EXIT_OK


def report_page(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``tierpay report``: the month's run as one self-contained HTML page."""
    from tierpay.outputs.html.month import month_report
    from tierpay.outputs.html.pages import report_page, require

    require()
    outputs, ruleset = opened(args, out)
    with outputs:
        outcome = outcome_of(args, ruleset)
        if no_period(outcome, args.period, err, args.lang):
            return EXIT_REJECTED
        page = report_page(month_report(outcome, sources(args), args.lang, args.period))
        outputs.write("-o", page)
        outputs.publish()
    report_problems(outcome, err, lang=args.lang)  # the page covers the whole run, its rejections too
    return EXIT_REJECTED if outcome.rejections else EXIT_OK


def explain_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    outputs, ruleset = opened(args, out)
    with outputs:
        outcome = outcome_of(args, ruleset)
        err.write(report.warnings_text(outcome.warnings, args.lang))
        decisions = outcome.select(args.agent, args.period)
        rejected = [
            r for r in outcome.rejections if r.agent_id == args.agent and (not args.period or r.period == args.period)
        ]
        text = "\n".join(explain(d, version_of(ruleset, d.ruleset.sha256), args.lang) for d in decisions)
        text += report.rejections_text(rejected, args.lang, together=False)
        if not decisions and not rejected:
            err.write(f"error: no record for agent {args.agent}" + (f" in {args.period}" if args.period else "") + "\n")
            return EXIT_REJECTED
        outputs.write("-o", text)
        outputs.publish()
    return EXIT_REJECTED if rejected else EXIT_OK


def diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inputs = {"the old ruleset": args.old, "the new ruleset": args.new, "the records file": args.records}
    outputs = plan(args, out, {**inputs, "--state-in": args.state_in})
    old, new = load(args.old, outputs, load_ruleset, args), load(args.new, outputs, load_ruleset, args)
    with outputs:
        state = read_state(args.state_in) if args.state_in else None
        other = args.state_from_other_ruleset
        old_outcome = evaluate(old, read_records(old, args), state, state_from_other_ruleset=other)
        # The state in was written under the rules in force; the proposal carries it over, checked against it.
        new_outcome = evaluate(new, read_records(new, args), state, state_from_other_ruleset=True)
        comparison = compare(old, new, old_outcome, new_outcome)
        json_text = comparison.model_dump_json(indent=2) + "\n"
        outputs.write(
            "-o", json_text if args.format == "json" else report.comparison_text(comparison, args.lang, old, new)
        )
        outputs.publish()
    report_problems(old_outcome, err, lang=args.lang)
    return EXIT_REJECTED if old_outcome.rejections or new_outcome.rejections else EXIT_OK
