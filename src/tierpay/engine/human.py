"""Decisions by people: HR's outcomes taken as input, each in place of the engine's own rule for one field.

A probation panel's conversion, a calibration session's level or grade, a review flag cleared
after a coaching talk: the engine cannot take these itself, and a state file edited by hand
records no one and no reason. A ``HumanDecision`` names the agent and period, the kind, its
value, who decided (``by``) and why (``reason``), and optionally when (``at``): the fields a
ledger of runs stores. Seven kinds:

==================  =============  ================================================================
decision            value          applies, in its period, in place of
==================  =============  ================================================================
convert             (none)         ``probation.convert_if``: the probationer is regular from now
extend_probation    months         the probation cap: the probation being served runs that many
                                   months longer, never past the legal cap of the contract term
set_level           a level id     the level state machine: the agent holds that level after it
set_grade           a grade        the grade bands (and so the grade's coefficient)
clear_review        (none)         the review's flag: cleared, and the escalation reset to none
exempt_review       (none)         the review's exemptions: not ranked this period
set_ladder          LADDER:LEVEL   the ladder the record's ``ladder_by`` names: the agent is decided on
                                   that ladder, entering it at that level, from this period on
==================  =============  ================================================================

This module holds the model, the checks a decision meets on its own (:func:`check_rows`: its
fields) and against its file (two of one kind for one agent-period), and the checks and
effects a period's run applies (:func:`apply_grades`, :func:`apply_levels`,
:func:`exempt_by_decision`, :func:`clear_flags`), which follow the law as the engine does: no
extension past the cap the contract term allows (Labor Contract Law art. 19), no lower level
in a statutory protected month, no level set for a probationer still on probation. A decision
that cannot apply is a ``Rejection`` naming its file, line, field and why; the rest of the
run stands. Pure: no files, no clock.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tierpay.engine.levels import ACTIONS, NONE, REASONS
from tierpay.engine.months import read_month
from tierpay.engine.probation import legal_cap, probation_end, term_text, term_words
from tierpay.engine.records import PROBLEMS, RawRow, Rejection
from tierpay.engine.values import shown
from tierpay.ruleset.model import label_text
from tierpay.words import say

if TYPE_CHECKING:
    from tierpay.engine.period import PeriodRun

Kind = Literal["convert", "extend_probation", "set_level", "set_grade", "clear_review", "exempt_review", "set_ladder"]
KINDS: tuple[str, ...] = get_args(Kind)
"""The decisions tierpay takes, in the order they are applied within a period."""
WITH_VALUE = ("extend_probation", "set_level", "set_grade", "set_ladder")
COLUMNS = ("agent_id", "period", "decision", "value", "by", "reason", "at")
REQUIRED = ("agent_id", "period", "decision", "by", "reason")
MAX_EXTENSION = 6
"""The longest extension asked of any contract: the legal cap itself (open-ended or 3 years and more)."""
DECIDED_EXEMPT = -2
"""``PeriodRun.review_exempt`` for a row a person exempted (the rule exemptions are 0, 1, ...; -1 is none)."""
_MONTHS = re.compile(r"^\s*([0-9]{1,3})\s*$")


class HumanDecision(BaseModel):
    """One decision a person made for one agent-period, with who made it and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_id: str = Field(min_length=1)
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="The month it applies in, YYYY-MM.")
    decision: Kind
    value: str | None = Field(
        None,
        description="Months for extend_probation, a level id for set_level, a grade for set_grade, "
        "LADDER:LEVEL for set_ladder; else none.",
    )
    by: str = Field(min_length=1, description="Who decided: a person, a panel.")
    reason: str = Field(min_length=1, description="Why, in the words of the decision.")
    at: dt.datetime | None = Field(None, description="When it was decided (ISO date-time), if known.")
    source: str = Field("<decisions>", description="Where it was read from, for messages.")
    row: int = Field(0, description="Its line in that file (an item's number in JSON), for messages.")

    @model_validator(mode="after")
    def _whole(self) -> HumanDecision:
        """A value of the form its kind takes, and someone and some reason to it (as a file's row is checked)."""
        problems = [f"{name}: missing: {_NEEDED[name]}" for name in ("by", "reason") if not getattr(self, name).strip()]
        problems += value_problems(self.decision, self.value)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def months(self) -> int:
        """An extension's months (``extend_probation`` only)."""
        return int(self.value or 0)

    def when(self) -> str:
        """When it was decided, as written in sentences: ``2026-02-10`` at midnight, else the date-time."""
        if self.at is None:
            return ""
        return (
            self.at.date().isoformat()
            if self.at.time() == dt.time() and self.at.tzinfo is None
            else self.at.isoformat()
        )

    def said(self) -> str:
        """The decision in a short text for a CSV cell: ``set_level=L3``, ``clear_review``."""
        return f"{self.decision}={self.value}" if self.value is not None else self.decision

    def quoted(self, lang: str = "en") -> str:
        """The decision as explanations quote it, in ``lang``: what was decided, by whom, when, and why."""
        when = self.when()
        at = say("decided.at", lang, when=when) if when else ("" if lang == "en" else " ")
        return say(f"decided.{self.decision}", lang, value=self.value or "", by=self.by, at=at, reason=self.reason)

    def rejected(self, reason: str) -> Rejection:
        """This decision refused, with ``reason`` (``field: why``)."""
        return Rejection(source=self.source, row=self.row, agent_id=self.agent_id, period=self.period, reasons=[reason])


@dataclass
class HumanDecisions:
    """People's decisions for a run: those that may apply, and those refused as read (with why)."""

    decisions: list[HumanDecision] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def by_period(self) -> dict[str, list[HumanDecision]]:
        """The decisions that may apply, by period."""
        found: dict[str, list[HumanDecision]] = {}
        for d in self.decisions:
            found.setdefault(d.period, []).append(d)
        return found


def human_decisions(items: Iterable[HumanDecision] | HumanDecisions | None) -> HumanDecisions:
    """Decisions given as models (or already read), with two of one kind for one agent-period refused.

    Both of two such decisions are refused, each naming the other's line: which one holds is
    for the people who made them to say, not for the order of a file. So are a ``convert`` and
    an ``extend_probation`` of one agent-period, which cannot both hold.
    """
    if isinstance(items, HumanDecisions):
        given, rejections, warnings = list(items.decisions), list(items.rejections), list(items.warnings)
    else:
        given, rejections, warnings = list(items or []), [], []
    seen: dict[tuple[str, str, str], list[HumanDecision]] = {}
    for d in given:
        kind = "probation" if d.decision in ("convert", "extend_probation") else str(d.decision)
        seen.setdefault((d.agent_id, d.period, kind), []).append(d)
    refused: set[int] = set()
    for (agent, period, _), same in seen.items():
        if len(same) < 2:
            continue
        for d in same:
            others = [o for o in same if o is not d]
            where = ", ".join(_place(o, d.source) for o in others)
            if all(o.decision == d.decision for o in others):
                why = f"decision: {d.decision} for {agent} in {period} is also on {where}: give one decision of a kind per agent and period"
            else:
                kinds = " and ".join(sorted({d.decision, *(o.decision for o in others)}))
                why = f"decision: {kinds} for {agent} in {period} cannot both hold (see {where}): give one"
            rejections.append(d.rejected(why))
            refused.add(id(d))
    kept = [d for d in given if id(d) not in refused]
    return HumanDecisions(kept, sorted(rejections, key=lambda r: (r.source, r.row)), warnings)


def _place(d: HumanDecision, source: str) -> str:
    return f"line {d.row}" if d.source == source else f"{d.source}:{d.row}"


# --- reading rows ------------------------------------------------------------------------------


def check_rows(rows: Iterable[RawRow], source: str) -> HumanDecisions:
    """Raw rows of a decisions file (line -> column -> cell text) as checked decisions.

    Every field of a row is checked and every problem named (``by: missing: ...``); a row with
    any is a rejection. Columns other than ``COLUMNS`` are ignored with a warning.
    """
    decisions: list[HumanDecision] = []
    rejections: list[Rejection] = []
    unknown: dict[str, None] = {}
    for line, row in rows:
        unknown.update((k, None) for k in row if k not in COLUMNS and k != PROBLEMS and k)
        made, problems = _decision(row, source, line)
        if made is not None:
            decisions.append(made)
        else:
            agent, period = _text(row.get("agent_id")), _text(row.get("period"))
            rejections.append(Rejection(source=source, row=line, agent_id=agent, period=period, reasons=problems))
    warnings = [f"{source}: columns tierpay does not read were ignored: {', '.join(unknown)}"] if unknown else []
    return human_decisions(HumanDecisions(decisions, rejections, warnings))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _decision(row: Mapping[str, Any], source: str, line: int) -> tuple[HumanDecision | None, list[str]]:
    problems: list[str] = list(row.get(PROBLEMS, []))
    if problems and not any(k in row for k in COLUMNS):  # not a row of cells at all: that is all there is to say
        return None, problems
    values: dict[str, Any] = {name: _text(row.get(name)) for name in COLUMNS}
    for name in REQUIRED:
        if values[name] is None:
            problems.append(f"{name}: missing: {_NEEDED[name]}")
    if values["period"] is not None:
        try:
            values["period"] = read_month(values["period"])
        except ValueError as why:
            problems.append(f"period: {shown(values['period'])} {why}")
    kind, value = values["decision"], values["value"]
    if kind is not None and kind not in KINDS:
        near = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean {near[0]}?)" if near else f" ({', '.join(KINDS)})"
        problems.append(f"decision: {shown(kind)} is not a decision tierpay takes{hint}")
    elif kind is not None:
        problems += value_problems(kind, value)
        if kind == "extend_probation" and not problems and value is not None:
            values["value"] = str(int(value))
    if values["at"] is not None:
        try:
            values["at"] = _moment(values["at"])
        except ValueError:
            problems.append(
                f"at: {shown(values['at'])} is not a date-time: write it ISO (2026-02-10T15:30 or 2026-02-10)"
            )
    if problems:
        return None, problems
    return HumanDecision(**values, source=source, row=line), []


_NEEDED = {
    "agent_id": "whose decision it is",
    "period": "the month it applies in (YYYY-MM)",
    "decision": f"one of {', '.join(KINDS)}",
    "by": "a decision names the person who made it",
    "reason": "a decision says why it was made",
}
_VALUE = {
    "extend_probation": "a number of months",
    "set_level": "a level id",
    "set_grade": "a grade",
    "set_ladder": "a ladder and the level to enter it at, LADDER:LEVEL",
}


def value_problems(kind: str, value: str | None) -> list[str]:
    """What is wrong with ``value`` for a decision of ``kind`` (nothing: an empty list)."""
    if kind in WITH_VALUE and value is None:
        return [f"value: missing: {kind} needs {_VALUE[kind]}"]
    if kind not in WITH_VALUE and value is not None:
        return [f"value: {shown(value)} given, but {kind} takes no value: leave it empty"]
    if kind == "extend_probation" and value is not None:
        found = _MONTHS.match(value)
        if found is None or not 1 <= int(found[1]) <= MAX_EXTENSION:
            return [f"value: {shown(value)} is not a whole number of months from 1 to {MAX_EXTENSION}"]
    if kind in ("set_level", "set_grade") and value is not None and not value.strip():
        return [f"value: missing: {kind} needs {_VALUE[kind]}"]
    if kind == "set_ladder" and value is not None:
        ladder, colon, level = value.partition(":")
        if not (colon and ladder.strip() and level.strip()):
            return [
                f"value: {shown(value)} is not LADDER:LEVEL (a ladder and the level to enter it at, `team_lead:T1`)"
            ]
    return []


def _moment(text: str) -> dt.datetime:
    """An ISO date-time (or date, at midnight)."""
    found = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return found


def decision_items(items: Iterable[Mapping[str, Any]], source: str) -> HumanDecisions:
    """Plain mappings (a data frame's rows, JSON objects) as checked decisions, numbered from 1."""
    return check_rows(((n, {k: _cell(v) for k, v in item.items()}) for n, item in enumerate(items, start=1)), source)


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN: a frame's blank
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- in a period's run ---------------------------------------------------------------------------


@dataclass
class Applied:
    """What people decided for one period's rows: by row, the decisions applied; and those refused."""

    of_row: dict[int, list[HumanDecision]] = field(default_factory=dict)
    refused: list[Rejection] = field(default_factory=list)
    pending: list[tuple[int, HumanDecision]] = field(default_factory=list)  # matched to a row, not yet applied
    replaced: dict[tuple[int, str], str] = field(default_factory=dict)  # (row, kind) -> what the rules alone gave
    same: list[tuple[int, HumanDecision, str]] = field(default_factory=list)  # applied, but as the rules decided

    def anyway(self, i: int, d: HumanDecision, what: str) -> None:
        """Note that ``d`` on row ``i`` decides ``what`` the rules decided anyway (a warning, once it stands)."""
        self.same.append((i, d, what))

    def warnings(self) -> list[str]:
        """The decisions applied that changed nothing: perhaps meant for another agent or month, so said."""
        standing = {id(d) for ds in self.of_row.values() for d in ds}
        return [
            f"{d.source}:{d.row}: decision for {d.agent_id} in {d.period} {what}, which the rules gave anyway"
            for _, d, what in self.same
            if id(d) in standing
        ]

    def kind(self, kind: str) -> list[tuple[int, HumanDecision]]:
        """The pending decisions of ``kind``, with their rows."""
        return [(i, d) for i, d in self.pending if d.decision == kind]

    def apply(self, i: int, d: HumanDecision) -> None:
        """Record ``d`` as applied to row ``i`` (a row's decisions kept in the order of ``KINDS``)."""
        found = self.of_row.setdefault(i, [])
        found.append(d)
        found.sort(key=lambda h: KINDS.index(h.decision))

    def refuse(self, d: HumanDecision, reason: str) -> None:
        self.refused.append(d.rejected(reason))

    def decided(self, i: int, kind: str) -> HumanDecision | None:
        """Row ``i``'s applied decision of ``kind``, if any."""
        return next((d for d in self.of_row.get(i, []) if d.decision == kind), None)


def match_rows(
    run: PeriodRun, decisions: Sequence[HumanDecision], rejected: Collection[tuple[str | None, str | None]] = ()
) -> Applied:
    """Each decision of the period matched to its agent's row.

    One for an agent with no record (``rejected`` holds the agent-periods whose record was
    rejected as read, to say so), or of a kind the ruleset has nothing for, is refused.
    """
    applied = Applied()
    row_of = {agent: i for i, agent in enumerate(run.rows["agent_id"].to_list())}
    for d in sorted(decisions, key=lambda d: KINDS.index(d.decision)):
        i = row_of.get(d.agent_id)
        lacking = _lacking(run, d.decision)
        if lacking is not None:
            applied.refuse(d, f"decision: {d.decision}, but {_ruleset(run)} has no {lacking}")
        elif i is None and (d.agent_id, d.period) in rejected:
            applied.refuse(d, record_rejected(d))
        elif i is None:
            applied.refuse(
                d, f"agent_id: {d.agent_id} has no record in {d.period}: the decision has nothing to apply to"
            )
        else:
            applied.pending.append((i, d))
    return applied


def _lacking(run: PeriodRun, kind: str) -> str | None:
    """What the ruleset lacks that a decision of ``kind`` needs (None: nothing)."""
    model = run.model
    if kind in ("clear_review", "exempt_review") and model.review is None:
        return "review"
    if kind == "set_grade" and not model.grades:
        return "grades"
    if kind in ("convert", "extend_probation") and model.probation is None:
        return "probation"
    if kind == "set_ladder" and run.ruleset.ladder is None:
        return "ladders"
    return None


def record_rejected(d: HumanDecision) -> str:
    """Why a decision whose agent's record was rejected cannot apply."""
    return f"agent_id: {d.agent_id}'s record for {d.period} was rejected: the decision has nothing to apply to"


def apply_moves(run: PeriodRun, applied: Applied) -> None:
    """``set_ladder``: the row is on this ladder already (routed before the run, :mod:`tierpay.engine.ladders`)."""
    for i, d in applied.kind("set_ladder"):
        before = run.moves.get(d.agent_id)
        applied.replaced[i, d.decision] = f"level {before}" if before else "no level"
        applied.apply(i, d)


def apply_grades(run: PeriodRun, applied: Applied) -> None:
    """``set_grade``: the grade given in place of the grade bands' (before anything reads the grade)."""
    grades = [g.grade for g in run.model.grades]
    for i, d in applied.kind("set_grade"):
        if d.value not in grades:
            applied.refuse(d, f"value: {shown(d.value)} is not a grade of {_ruleset(run)} ({', '.join(grades)})")
        elif run.alive[i]:
            own = int(run.grade_index[i])
            applied.replaced[i, d.decision] = f"grade {grades[own]}" if own >= 0 else "no grade"
            if own >= 0 and grades[own] == d.value:
                applied.anyway(i, d, f"sets grade {d.value}")
            run.grade_index[i] = grades.index(str(d.value))
            applied.apply(i, d)


def apply_levels(run: PeriodRun, applied: Applied) -> None:
    """``convert``, ``extend_probation``, ``set_ladder`` and ``set_level``, over the state machine's answers.

    A ``set_ladder`` row holds the level it entered its new ladder at for the period (the
    person decided the level; the new ladder's rules take over from the next period).

    Within the law as the engine keeps it: a conversion or an extension is of a probation the
    agent serves this month; an extension never takes probation past the cap its contract term
    allows (Labor Contract Law art. 19); a level is not set for an agent still on probation
    (unless converted by a decision of the same period), nor lowered in a protected month.
    """
    levels, cal, model = run.levels_out, run.calendar, run.model
    assert levels is not None
    pos = np.cumsum(run.level_rows) - 1
    convert, extend = ACTIONS.index("convert"), ACTIONS.index("extend_probation")
    st = levels.state
    for kind in ("convert", "extend_probation"):
        for i, d in applied.kind(kind):
            if not run.level_rows[i]:
                continue  # the record failed before its level: refused with it
            j = int(pos[i])
            serving = bool(cal.carried[i] and cal.month[i]) and model.probation is not None
            if not serving:
                applied.refuse(d, f"decision: {d.decision}, but {_not_serving(run, i)}")
                continue
            applied.replaced[i, d.decision] = f"{ACTIONS[int(levels.action[j])]} ({REASONS[int(levels.reason[j])]})"
            if kind == "convert":
                levels.action[j], levels.reason[j] = convert, REASONS.index("converted_by_decision")
                st.on_probation[j], st.probation_extension[j] = False, 0
                applied.apply(i, d)
                continue
            if cal.stated_regular[i]:
                applied.refuse(
                    d,
                    f"decision: extend_probation, but the record says {d.agent_id} is no longer on probation "
                    f"in {d.period} (converted by the employer): one of the two is wrong",
                )
                continue
            term = term_text(int(cal.term[i]))
            legal, cap = legal_cap(term), int(cal.cap[i])
            if cap + d.months > legal:
                room = legal - cap
                more = f"at most {room} more" if room else "no more"
                applied.refuse(
                    d,
                    f"value: {d.months} more month{'s' if d.months != 1 else ''} would make probation {cap + d.months} "
                    f"months; {term_words(term)} allows at most {legal} (Labor Contract Law art. 19): {more}",
                )
                continue
            levels.action[j], levels.reason[j] = extend, REASONS.index("probation_extended_by_decision")
            st.on_probation[j] = True
            st.probation_extension[j] = run.prior.probation_extension[i] + d.months
            cal.cap[i] += d.months
            cal.left[i] += d.months
            cal.end[i] = probation_end(dt.date.fromordinal(int(cal.start[i])), int(cal.cap[i])).toordinal()
            applied.apply(i, d)
    ids = run.ruleset.level_ids
    for i in [i for i, _ in applied.kind("set_ladder") if run.level_rows[i]]:
        # set_ladder: the agent holds the level it entered at for the month, as after set_level
        j = int(pos[i])
        entered = int(run.prior.level[i])
        levels.action[j], levels.reason[j] = ACTIONS.index("hold"), REASONS.index("level_set_by_decision")
        st.level[j], levels.pay_level[j] = entered, entered
        st.periods_in_level[j] = run.prior.periods_in_level[i] + 1
        st.promote_streak[j], st.streak_level[j], st.maintain_fail_streak[j] = 0, NONE, 0
    for i, d in applied.kind("set_level"):
        if not run.level_rows[i]:
            continue
        j = int(pos[i])
        if d.value not in ids:
            applied.refuse(d, f"value: {shown(d.value)} is not a level of {_ruleset(run)} ({', '.join(ids)})")
            continue
        if bool(cal.carried[i] and cal.month[i]) and applied.decided(i, "convert") is None:
            applied.refuse(
                d,
                f"decision: set_level, but {d.agent_id} is on probation in {d.period}: the level is fixed until "
                "conversion (decide convert for the same period first)",
            )
            continue
        before, target = int(run.prior.level[i]), ids.index(str(d.value))
        if run.protected[i] and target < before:
            shield = model.protection
            said = label_text(shield.reason, "en", f"`{shield.when}` holds") if shield is not None else ""
            applied.refuse(
                d,
                f"value: {d.value} is below {ids[before]}, and {d.period} is a statutory protected period ({said}): "
                "no demotion because of it (Labor Contract Law art. 42; 女职工劳动保护特别规定 art. 5)",
            )
            continue
        moved = target != before
        own = f"{ACTIONS[int(levels.action[j])]} ({REASONS[int(levels.reason[j])]}) at {ids[int(st.level[j])]}"
        if applied.decided(i, "convert") is None:  # a conversion stays the month's action, the level its sequel
            applied.replaced[i, d.decision] = own
            if int(st.level[j]) == target:
                applied.anyway(i, d, f"sets level {d.value}")
            levels.action[j] = ACTIONS.index("promote" if target > before else "demote" if moved else "hold")
            levels.reason[j] = REASONS.index("level_set_by_decision")
        st.level[j] = target
        st.periods_in_level[j] = 0 if moved else run.prior.periods_in_level[i] + 1
        st.promote_streak[j], st.streak_level[j], st.maintain_fail_streak[j] = 0, NONE, 0
        if target > before and model.promotion.pay_effective == "this_period" and not levels.probation_month[j]:
            levels.pay_level[j] = target
        else:
            levels.pay_level[j] = before if not levels.probation_month[j] else levels.pay_level[j]
        applied.apply(i, d)


def _not_serving(run: PeriodRun, i: int) -> str:
    """Why row ``i``'s agent is not on probation this month, in words."""
    cal, agent = run.calendar, run.column("agent_id")[i]
    if run.model.probation is None:
        return f"{_ruleset(run)} has no probation"
    if cal.carried[i] and cal.cap[i] == 0:
        return f"{agent}'s contract allows no probation (Labor Contract Law art. 19)"
    if cal.carried[i]:
        end = dt.date.fromordinal(int(cal.end[i])).isoformat()
        return f"{agent}'s probation ended on {end}: regular by law (Labor Contract Law art. 19)"
    return f"{agent} is not on probation in {run.period}"


def exempt_by_decision(run: PeriodRun, applied: Applied, exempt: Any) -> None:
    """``exempt_review``: the row is exempt this period (marked ``DECIDED_EXEMPT`` in ``exempt``)."""
    for i, d in applied.kind("exempt_review"):
        if run.alive[i]:
            exempt[i] = DECIDED_EXEMPT
            applied.apply(i, d)


def clear_flags(run: PeriodRun, applied: Applied, rows: Any, arrays: Any) -> None:
    """``clear_review``: the flag cleared and the escalation reset (streak 0, no stage) in the review's arrays."""
    place = {int(i): j for j, i in enumerate(rows.tolist())}
    for i, d in applied.kind("clear_review"):
        j = place.get(i)
        if j is None:
            continue
        arrays.flagged[j], arrays.streak[j], arrays.stage[j] = False, 0, None
        applied.apply(i, d)


def unreached(run: PeriodRun, applied: Applied) -> None:
    """Decisions of rows that failed (their record is rejected): refused, saying so."""
    done = {id(d) for ds in applied.of_row.values() for d in ds}
    refused = {(r.source, r.row) for r in applied.refused}
    for _, d in applied.pending:
        if id(d) in done or (d.source, d.row) in refused:
            continue
        applied.refuse(d, record_rejected(d))
    for i in [i for i in applied.of_row if not run.decided[i]]:
        for d in applied.of_row.pop(i):
            applied.refuse(d, record_rejected(d))


def _ruleset(run: PeriodRun) -> str:
    return f"{run.ruleset.name} {run.ruleset.version}"
