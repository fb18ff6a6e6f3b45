"""A ``Decision`` for one decided row, built on demand from what its period's run kept.

Nothing here decides: the action and reason codes, the new state, the score, the review's
rank and flag and the pay statement are the run's own. This module words them (the reason
as a sentence, the notes a person should read) and gathers the values the expressions saw,
so that ``explain`` can show each clause for the one agent asked about.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tierpay.engine.calendar import months_between, period_name
from tierpay.engine.columns import ROW, SOURCE
from tierpay.engine.human import DECIDED_EXEMPT, HumanDecision
from tierpay.engine.levels import ACTIONS, NONE, REASONS, Facts, why
from tierpay.engine.probation import legal_cap, term_text, term_words
from tierpay.engine.results import Decision, ReviewResult, RulesetStamp, trusted
from tierpay.engine.review import review_result
from tierpay.engine.segments import SEGMENTS, segment_note
from tierpay.engine.state import AgentState, due_of
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import label_text

if TYPE_CHECKING:
    from tierpay.engine.period import PeriodRun


def stamp(ruleset: CompiledRuleset) -> RulesetStamp:
    """The name, version and content hash that identify ``ruleset``."""
    return RulesetStamp(name=ruleset.name, version=ruleset.version, sha256=ruleset.sha256)


def build_decision(run: PeriodRun, i: int) -> Decision:
    """The decision of decided row ``i`` of ``run``."""
    fields = decision_fields(run, i)
    return trusted(Decision, **{**fields, "checks": dict(fields["checks"])})


def decision_fields(run: PeriodRun, i: int) -> dict[str, Any]:
    """The fields of the ``Decision`` of decided row ``i`` of ``run``, in declaration order.

    The one definition of what a decision holds: ``build_decision`` makes the pydantic object
    of it, :mod:`tierpay.engine.decision_json` writes its JSON text without one.
    """
    model, ids = run.model, run.ruleset.level_ids
    levels = run.levels_out
    assert levels is not None
    assert run.decided[i]
    j = int(run.level_pos[i])
    values = run.exact_row(i)
    level, moved_to = int(run.prior.level[i]), int(levels.state.level[j])
    reason = REASONS[int(levels.reason[j])]
    facts = Facts(
        reason=reason,
        level=level,
        moved_to=moved_to,
        prior_promote_streak=int(run.prior.promote_streak[i]),
        prior_maintain_fail_streak=int(run.prior.maintain_fail_streak[i]),
        prior_periods_in_level=int(run.prior.periods_in_level[i]),
        probation_served=int(run.calendar.served[i]),
        probation_cap=int(run.calendar.cap[i]),
        probation_start=int(run.calendar.start[i]),
        probation_end=int(run.calendar.end[i]),
        contract_term=int(run.calendar.term[i]),
        promotion_vetoes=_held(run, i, "promotion.blocked_if", [v.code for v in model.promotion.blocked_if]),
        demotion_vetoes=_held(run, i, "demotion.immediate_if", [v.code for v in model.demotion.immediate_if]),
    )
    decided = run.applied.of_row.get(i, [])
    review = _review(run, i, decided=decided)
    statement = run.pay_statements[int(run.pay_code[i])] if run.pay_statements else None
    streak_level = int(levels.state.streak_level[j])
    state = trusted(
        AgentState,
        agent_id=run.column("agent_id")[i],
        level=ids[moved_to],
        last_period=run.period,
        periods_in_level=int(levels.state.periods_in_level[j]),
        promote_streak=int(levels.state.promote_streak[j]),
        streak_level=ids[streak_level] if streak_level != NONE else None,
        maintain_fail_streak=int(levels.state.maintain_fail_streak[j]),
        on_probation=bool(levels.state.on_probation[j]),
        probation_periods=int(levels.state.probation_periods[j]),
        probation_extension=int(levels.state.probation_extension[j]),
        review_streak=review.streak if review is not None else int(run.review_streak[i]),
        review_stage=review.stage if review is not None else run.review_stage[i],
        deductions_due=statement.due if statement is not None else due_of(run.due_in[i]),
    )
    score = run.score_of(i)
    grade = int(run.grade_index[i])
    checks = run.checks_of(i)  # shared by the rows with the same answers: build_decision copies it
    run.cache.pop(i, None)  # a decision is built once: keep no row behind
    sources = run.column(SOURCE)
    return {
        "agent_id": state.agent_id,
        "period": run.period,
        "ladder": run.ruleset.ladder,
        "source": sources[i] if sources else run.source,
        "row": run.column(ROW)[i],
        "level_before": run.moves.get(state.agent_id) or ids[level] if run.moves else ids[level],
        "level": ids[moved_to],
        "qualified_level": ids[int(levels.qualified[j])],
        "action": ACTIONS[int(levels.action[j])],
        "reason": reason,
        "why": _decided_why(run, i, reason, decided)
        if decided and reason.endswith("_by_decision")
        else why(model, facts),
        "decided": decided,
        "nominated": [n.to for held, n in zip(run.nominated, run.ruleset.nominations, strict=True) if held[i]],
        "on_probation": state.on_probation,
        "grade": model.grades[grade].grade if grade >= 0 else None,
        "coefficient": values.get("coefficient"),
        "score": score,
        "review": review,
        "pay": statement,
        "checks": checks,
        "notes": [
            *_record_notes(run, i),
            *(score.notes if score is not None else []),
            *_decided_notes(run, i, decided),
        ],
        "state": state,
        "ruleset": run.stamp,
        "values": values,
    }


def _held(run: PeriodRun, i: int, prefix: str, codes: list[str]) -> list[str]:
    """The codes of the conditions ``prefix[k].when`` that held for row ``i``."""
    return [code for k, code in enumerate(codes) if run.held(i, f"{prefix}[{k}].when")]


def _review(
    run: PeriodRun,
    i: int,
    cohort: str | None = None,
    value: Decimal | None = None,
    decided: list[HumanDecision] | None = None,
) -> ReviewResult | None:
    """Row ``i``'s review (``cohort`` and ``value`` in place of the row's own, when given), quoting
    the people's decisions ``decided`` that exempted it or cleared its flag."""
    rule, arrays = run.model.review, run.review_out
    if rule is None or arrays is None or run.review_labels is None:
        return None
    j = int(run.review_pos[i])
    exempt = None
    hit = int(run.review_exempt[i])
    by_person = {d.decision: d for d in decided or []}
    if hit == DECIDED_EXEMPT:
        exempt = ("decision", by_person["exempt_review"].quoted())
    elif hit >= 0:
        ex = rule.exempt[hit]
        exempt = (ex.code, label_text(ex.reason, "en", f"`{ex.when}` holds"))
    prior_streak = int(run.prior_review_streak[i])
    if value is None:
        value = run.exact_row(i)[rule.rank_by]
    label = run.review_label(i) if cohort is None else cohort
    cleared = by_person.get("clear_review")
    if cleared is not None:
        prior_streak = 0  # reset: an exempt or unranked row shows the streak it carries on
    result = review_result(rule, arrays, j, label, value, bool(run.review_floor[i]), exempt, prior_streak)
    if cleared is None:
        return result
    return result.model_copy(update={"reason": f"{result.reason}; {cleared.quoted()}"})


def _decided_why(run: PeriodRun, i: int, reason: str, decided: list[HumanDecision]) -> str:
    """The sentence of a level decision a person made: their decision quoted, and where probation stands."""
    kinds = {d.decision: d for d in decided}
    cal = run.calendar
    served, cap = int(cal.served[i]), int(cal.cap[i])
    if reason == "converted_by_decision":
        text = f"{kinds['convert'].quoted()} (month {served} of {cap} of probation)"
        if "set_level" in kinds:
            text += f"; {kinds['set_level'].quoted()}"
        return text
    if reason == "probation_extended_by_decision":
        d = kinds["extend_probation"]
        end = dt.date.fromordinal(int(cal.end[i])).isoformat()
        term = term_text(int(cal.term[i]))
        return (
            f"{d.quoted()}; probation now ends on {end}, month {served} of {cap} "
            f"(the most {term_words(term)} allows is {legal_cap(term)}, Labor Contract Law art. 19)"
        )
    return (kinds.get("set_level") or kinds["set_ladder"]).quoted()


def _decided_notes(run: PeriodRun, i: int, decided: list[HumanDecision]) -> list[str]:
    """What the rules alone would have given where a person decided otherwise."""
    notes = []
    for d in decided:
        own = run.applied.replaced.get((i, d.decision))
        if own is not None:
            place = f" ({d.source}:{d.row})" if d.row else ""
            notes.append(f"{d.decision} by {d.by}{place}: the rules alone gave {own}")
    return notes


def _record_notes(run: PeriodRun, i: int) -> list[str]:
    """What a person should know about the record and the carried state it met."""
    model, ids = run.model, run.ruleset.level_ids
    stated = run.column("level")[i]
    level = ids[int(run.prior.level[i])]
    probation = model.probation
    notes: list[str] = []
    if SEGMENTS in run.rows.columns and model.calendar is not None and model.calendar.segments is not None:
        merged = segment_note(run.rows[SEGMENTS][i], model.calendar.segments.decide_by)
        if merged is not None:
            notes.append(merged)
    if not run.known[i]:
        if run.stated_probation[i]:
            if stated is not None and stated != level:
                notes.append(f"record states level {stated}, but probationers hold {level}")
        elif stated is None:
            notes.append(f"new agent: no stated level and no carried state; starts at {level} (new_agents.level)")
        return notes
    last = int(run.last_before[i])
    if last >= 0:
        missing = months_between(period_name(last), run.period)
        if missing:
            policy = model.missing_period
            notes.append(
                f"no record for {', '.join(missing)}: streaks {'paused' if policy == 'pause' else 'reset'} "
                f"(missing_period: {policy})"
            )
    if stated is not None and stated != level:
        notes.append(f"record states level {stated}, carried state says {level}: the carried state is used")
    if probation is not None and run.stated_probation[i] and not run.calendar.carried[i]:
        value = run.column(probation.attribute)[i]
        notes.append(
            f"record's {probation.attribute} is {value!r}, but the agent is already regular: there is one "
            "probation per employment (Labor Contract Law art. 19), so the carried state is used"
        )
    return notes
