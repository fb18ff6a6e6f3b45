"""Ruleset tests: the cases in a ruleset's ``tests:`` block, run and compared with expectations.

A case gives records (and optionally the carried state before them) and what must come out
for named agents: level, action, grade, score, review flag and stage, pay total and lines. Every
difference is reported as expected against actual, so an editor sees what a change broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from tierpay.engine.outcome import Outcome
from tierpay.engine.records import RecordBatch, records_from_dicts
from tierpay.engine.results import Decision
from tierpay.engine.run import evaluate
from tierpay.engine.state import AgentState, State
from tierpay.errors import StateError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import Expectation, RulesetTest


@dataclass(frozen=True)
class CaseResult:
    """One case's name and its failures (empty when it passed)."""

    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return not self.failures


def run_case(ruleset: CompiledRuleset, case: RulesetTest) -> CaseResult:
    """Evaluate one case and compare each expectation with the outcome."""
    try:
        agents = [AgentState.model_validate(item) for item in case.state or []]
    except ValidationError as error:
        return CaseResult(case.name, [f"state: {error.errors(include_url=False)[0]['msg']}"])
    state = None
    if agents:  # the ruleset's own state: stamped with it, each agent placed in the case
        placed = sorted(enumerate(agents), key=lambda pair: pair[1].agent_id)
        state = State(
            ruleset=ruleset.name,
            ruleset_version=ruleset.version,
            ruleset_sha256=ruleset.sha256,
            agents=[a for _, a in placed],
        )._located("tests", [f"tests[{case.name}].state[{i}] ({a.agent_id})" for i, a in placed], checked=False)
    good, rejected, _ = records_from_dicts(ruleset, case.records, source=f"tests[{case.name}]")
    try:
        outcome = evaluate(ruleset, RecordBatch(good, rejected), state)
    except StateError as error:
        return CaseResult(case.name, [f"state: {line}" for line in str(error).splitlines()])
    failures: list[str] = []
    for expectation in case.expect:
        failures.extend(_check(outcome, expectation))
    return CaseResult(case.name, failures)


def run_cases(ruleset: CompiledRuleset) -> list[CaseResult]:
    """Run every case of the ruleset's ``tests:`` block, in order."""
    return [run_case(ruleset, case) for case in ruleset.model.tests]


def _check(outcome: Outcome, expect: Expectation) -> list[str]:
    who = f"{expect.agent_id}" + (f" {expect.period}" if expect.period else "")
    rejections = [
        r
        for r in outcome.rejections
        if r.agent_id == expect.agent_id and (expect.period is None or r.period == expect.period)
    ]
    decisions = [
        d
        for d in outcome.decisions
        if d.agent_id == expect.agent_id and (expect.period is None or d.period == expect.period)
    ]
    if expect.rejected or expect.rejection is not None:
        if rejections:
            reasons = [reason for r in rejections for reason in r.reasons]
            if expect.rejection is not None and not any(expect.rejection in reason for reason in reasons):
                return [f"{who}: rejection: expected {expect.rejection!r}, got {'; '.join(reasons)}"]
            return []
        return [
            f"{who}: expected a rejection, got a decision"
            if decisions
            else f"{who}: expected a rejection, found no record"
        ]
    if rejections and not decisions:
        return [f"{who}: expected a decision, got a rejection: {'; '.join(rejections[0].reasons)}"]
    if not decisions:
        return [f"{who}: no decision for this agent" + (" in this period" if expect.period else "")]
    decision = decisions[-1]
    actual = _actuals(decision)
    failures = []
    wanted: dict[str, Any] = expect.model_dump(
        exclude={"agent_id", "period", "rejected", "rejection", "lines"}, exclude_none=True
    )
    for key, value in wanted.items():
        got = actual.get(key)
        if not _same(value, got):
            failures.append(f"{who}: {key}: expected {_show(value)}, got {_show(got)}")
    for line_id, amount in (expect.lines or {}).items():
        lines = {ln.id: ln.amount for ln in decision.pay.lines} if decision.pay else {}
        got = lines.get(line_id)
        if not _same(amount, got):
            failures.append(f"{who}: pay line {line_id}: expected {_show(amount)}, got {_show(got)}")
    return failures


def _actuals(d: Decision) -> dict[str, Any]:
    return {
        "qualified_level": d.qualified_level,
        "level": d.level,
        "action": d.action,
        "reason": d.reason,
        "on_probation": d.on_probation,
        "grade": d.grade,
        "score": d.score.value if d.score else None,
        "flagged": d.review.flagged if d.review else None,
        "stage": d.review.stage if d.review else None,
        "total": d.pay.total if d.pay else None,
        "ladder": d.ladder,
        "nominated": d.nominated,
    }


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Decimal) and isinstance(actual, Decimal):
        return expected == actual
    return bool(expected == actual)


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def report(results: list[CaseResult]) -> str:
    """The results as text: PASS or FAIL per case, each failure, and a count."""
    lines = []
    for result in results:
        lines.append(f"{'PASS' if result.passed else 'FAIL'}  {result.name}")
        lines.extend(f"      {failure}" for failure in result.failures)
    passed = sum(r.passed for r in results)
    lines.append(
        f"{len(results)} case{'' if len(results) == 1 else 's'}, {passed} passed, {len(results) - passed} failed"
    )
    return "\n".join(lines) + "\n"
