"""What a printed pay slip (工资条) shows, as plain values: who, which month, the level paid and
every pay line with how it was computed, floors, deductions and adjustments, and the total.

Pure, like ``month``: the template lays these out and decides nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tierpay.engine.outcome import Outcome
from tierpay.engine.pay import line_label, money, number
from tierpay.engine.results import Decision
from tierpay.outputs.report import grouping_attributes, ladder_name
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import label_text
from tierpay.ruleset.versions import version_of
from tierpay.words import say


@dataclass(frozen=True)
class SlipLine:
    """One line of the slip: its name, kind (line, deduction, floor, rounding...), amount and basis."""

    name: str
    kind: str
    amount: str
    negative: bool
    basis: str


@dataclass(frozen=True)
class Slip:
    """One agent-period's pay slip."""

    agent: str
    name: str
    period: str
    facts: list[tuple[str, str]]
    lines: list[SlipLine]
    total: str
    currency: str
    stamp: str
    paid: bool


def slips(outcome: Outcome, decisions: Sequence[Decision], lang: str = "en") -> list[Slip]:
    """A slip for each of ``decisions``, in ``lang``, each read under the ruleset it was decided by."""
    return [slip(d, version_of(outcome.target, d.ruleset.sha256), lang) for d in decisions]


def slip(d: Decision, ruleset: CompiledRuleset, lang: str = "en") -> Slip:
    """One decision's slip, read under ``ruleset`` (the version it was decided by): with ladders, its ladder's rules, named."""
    ladder = ladder_name(ruleset, d.ladder, lang)
    facts = [
        (label_text(ruleset.model.attributes[a].label, lang, a), str(d.values.get(a) or ""))
        for a in grouping_attributes(ruleset)
    ]
    if ladder is not None:
        facts.append((say("slip.ladder", lang), ladder))
    ruleset = ruleset.on(d.ladder)
    model = ruleset.model
    kept = [str(d.values.get(k) or "") for k in model.keep]
    level = next(lv for lv in model.levels if lv.id == (d.pay.level if d.pay else d.level))
    facts.append((say("slip.level", lang), f"{level.id} {label_text(level.name, lang, level.id)}"))
    if d.grade:
        facts.append((say("slip.grade", lang), d.grade))
    if d.pay is not None and d.pay.coefficient is not None:
        facts.append((say("slip.coefficient", lang), number(d.pay.coefficient)))
    stamp = say("statement.ruleset", lang, name=ruleset.name, version=ruleset.version, sha=ruleset.sha256[:12])
    if d.pay is None:
        return Slip(d.agent_id, " ".join(k for k in kept if k), d.period, facts, [], "", model.currency, stamp, False)
    lines = [
        SlipLine(
            name=line_label(model.pay, line.id, lang, line.label),
            kind=line.kind,
            amount=money(line.amount),
            negative=line.amount < 0,
            basis=line.basis_in(lang),
        )
        for line in d.pay.lines
    ]
    return Slip(
        agent=d.agent_id,
        name=" ".join(k for k in kept if k),
        period=d.period,
        facts=facts,
        lines=lines,
        total=money(d.pay.total),
        currency=d.pay.currency,
        stamp=stamp,
        paid=True,
    )
