"""The commands about a ruleset itself: ``validate``, ``test`` and ``schema``.

``validate`` loads no engine (no polars, no numpy): what ``test`` and ``schema`` need is imported when they run.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from tierpay.cli.exits import EXIT_OK, EXIT_REJECTED
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.lint import lint
from tierpay.ruleset.loading import load_ruleset, load_target
from tierpay.ruleset.schema import ruleset_json_schema


def validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    target = load_target(args.ruleset, allow_outside_files=args.allow_outside_files)
    versions = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    warnings = 0
    for ruleset in versions:
        span = f", in force from {ruleset.model.effective_from}" if len(versions) > 1 else ""
        found = lint(ruleset)
        warnings += len(found)
        note = f", {len(found)} warning{'s' if len(found) != 1 else ''}" if found else ""
        ladders = f", {len(ruleset.ladders)} ladders" if ruleset.ladders else ""
        count = sum(len(lad.expressions) for lad in ruleset.ladders.values()) or len(ruleset.expressions)
        out.write(
            f"{ruleset.file}: ok: {ruleset.name} {ruleset.version}{ladders}, {len(ruleset.model.levels)} levels, "
            f"{count} expressions, sha256 {ruleset.sha256[:12]}{span}{note}\n"
        )
        for problem in found:
            err.write(f"warning: {problem}\n")
    return EXIT_REJECTED if warnings and args.strict else EXIT_OK


def test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from tierpay.outputs.cases import report as cases_report  # the engine: only the commands that evaluate load it
    from tierpay.outputs.cases import run_cases

    ruleset = load_ruleset(args.ruleset, allow_outside_files=args.allow_outside_files)
    results = run_cases(ruleset)
    if not results:
        err.write(f"{args.ruleset}: the ruleset has no tests: block\n")
        return EXIT_REJECTED
    out.write(cases_report(results))
    return EXIT_OK if all(r.passed for r in results) else EXIT_REJECTED


def schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from tierpay.cli.opening import plan

    text = json.dumps(ruleset_json_schema(), indent=2, ensure_ascii=False) + "\n"
    with plan(args, out, {}) as outputs:
        outputs.write("-o", text)
        outputs.publish()
    return EXIT_OK
