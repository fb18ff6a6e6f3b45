"""The impact of a ruleset change: both rulesets on the same records, and what moves.

This is what an analyst runs before a new ruleset is adopted: who changes level, grade or
review flag, and what the change costs or saves in total and by level, team and region.
Every change has one kind (``KINDS``), the first that applies, so the counts by kind add up
to the number of changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from tierpay.engine.outcome import Outcome
from tierpay.engine.results import Decision, RulesetStamp
from tierpay.ruleset.compiler import CompiledRuleset

ZERO = Decimal(0)

KINDS = ("lower_level", "higher_level", "other_level", "probation", "grade", "review_flag", "pay_level", "pay")
"""What changed, in the order a change is classed by: a level move first (to a level of
another id at the same rank is ``other_level``: the rulesets name their levels apart), then probation,
grade, review flag, the level paid at (a move in an earlier month, when pay follows it a
month later), and last the pay alone (the same level, grade and flag, other amounts)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Change(_Frozen):
    """One agent-period whose level, probation, grade, flag or pay differs between the rulesets."""

    agent_id: str
    period: str
    level_old: str
    level_new: str
    grade_old: str | None
    grade_new: str | None
    flagged_old: bool
    flagged_new: bool
    pay_old: Decimal
    pay_new: Decimal
    delta: Decimal
    level_move: int  # levels gained (+) or lost (-)
    probation_old: bool = False
    probation_new: bool = False
    pay_level_old: str | None = None
    pay_level_new: str | None = None
    kind: str = "pay"
    """The first of ``KINDS`` that applies."""


class GroupDelta(_Frozen):
    """Pay before and after for one group (a level, a team, a region)."""

    group: str
    agents: int
    pay_old: Decimal
    pay_new: Decimal
    delta: Decimal


class Comparison(_Frozen):
    """Both rulesets on the same records: changes, counts and pay deltas."""

    old: RulesetStamp
    new: RulesetStamp
    compared: int
    only_old: list[str]
    only_new: list[str]
    changes: list[Change]
    lose_level: int
    gain_level: int
    grade_changes: int
    flag_changes: int
    kinds: dict[str, int]
    """Changes by kind (``KINDS``); they add up to the number of changes."""
    pay_old: Decimal
    pay_new: Decimal
    delta: Decimal
    by: dict[str, list[GroupDelta]]


def _pay(d: Decision) -> Decimal:
    return d.pay.total if d.pay else ZERO


def _flag(d: Decision) -> bool:
    return bool(d.review and d.review.flagged)


def _pay_level(d: Decision) -> str | None:
    return d.pay.level if d.pay else None


def _kind(move: int, a: Decision, b: Decision) -> str:
    """The first of ``KINDS`` that applies to the change from ``a`` to ``b``."""
    if move:
        return "lower_level" if move < 0 else "higher_level"
    if a.level != b.level:
        return "other_level"
    if a.on_probation != b.on_probation:
        return "probation"
    if a.grade != b.grade:
        return "grade"
    if _flag(a) != _flag(b):
        return "review_flag"
    if _pay_level(a) != _pay_level(b):
        return "pay_level"
    return "pay"


def compare(
    old: CompiledRuleset,
    new: CompiledRuleset,
    old_outcome: Outcome,
    new_outcome: Outcome,
    by: Sequence[str] = ("level", "team", "region"),
) -> Comparison:
    """Compare two outcomes of the same records under ``old`` and ``new``."""
    before = {(d.agent_id, d.period): d for d in old_outcome.decisions}
    after = {(d.agent_id, d.period): d for d in new_outcome.decisions}
    common = sorted(before.keys() & after.keys(), key=lambda k: (k[1], k[0]))
    old_ids = old.level_ids
    new_ids = new.level_ids
    changes = []
    groups: dict[str, dict[str, list[Decimal]]] = {key: defaultdict(lambda: [ZERO, ZERO, ZERO]) for key in by}
    for key in common:
        a, b = before[key], after[key]
        move = _rank(new_ids, b.level) - _rank(old_ids, a.level)
        seen = (a.level, a.on_probation, a.grade, _flag(a), _pay_level(a), _pay(a))
        if seen != (b.level, b.on_probation, b.grade, _flag(b), _pay_level(b), _pay(b)):
            changes.append(
                Change(
                    agent_id=a.agent_id,
                    period=a.period,
                    level_old=a.level,
                    level_new=b.level,
                    grade_old=a.grade,
                    grade_new=b.grade,
                    flagged_old=_flag(a),
                    flagged_new=_flag(b),
                    pay_old=_pay(a),
                    pay_new=_pay(b),
                    delta=_pay(b) - _pay(a),
                    level_move=move,
                    probation_old=a.on_probation,
                    probation_new=b.on_probation,
                    pay_level_old=_pay_level(a),
                    pay_level_new=_pay_level(b),
                    kind=_kind(move, a, b),
                )
            )
        for group_key in by:
            value = a.level if group_key == "level" else str(a.values.get(group_key, ""))
            if group_key != "level" and group_key not in old.model.attributes:
                continue
            cell = groups[group_key][value]
            cell[0] += 1
            cell[1] += _pay(a)
            cell[2] += _pay(b)
    by_group = {
        key: [
            GroupDelta(group=g, agents=int(c[0]), pay_old=c[1], pay_new=c[2], delta=c[2] - c[1])
            for g, c in sorted(cells.items())
        ]
        for key, cells in groups.items()
        if cells
    }
    pay_old = sum((_pay(before[k]) for k in common), ZERO)
    pay_new = sum((_pay(after[k]) for k in common), ZERO)
    return Comparison(
        old=old_outcome.ruleset,
        new=new_outcome.ruleset,
        compared=len(common),
        only_old=[f"{a} {p}" for a, p in sorted(before.keys() - after.keys())],
        only_new=[f"{a} {p}" for a, p in sorted(after.keys() - before.keys())],
        changes=changes,
        lose_level=sum(1 for c in changes if c.level_move < 0),
        gain_level=sum(1 for c in changes if c.level_move > 0),
        grade_changes=sum(1 for c in changes if c.grade_old != c.grade_new),
        flag_changes=sum(1 for c in changes if c.flagged_old != c.flagged_new),
        kinds={kind: sum(1 for c in changes if c.kind == kind) for kind in KINDS},
        pay_old=pay_old,
        pay_new=pay_new,
        delta=pay_new - pay_old,
        by=by_group,
    )


def _rank(ids: list[str], level: str) -> int:
    return ids.index(level) if level in ids else -1
