"""Whether a carried state fits the rules it is used under: the same ruleset by hash, every value meaningful.

A state is written under one ruleset version and names it by content hash (``ruleset_sha256``,
the version in force for its last period). Under rules with another hash it is refused: its
levels, streaks and stages meant something under the rules that wrote it. The caller may carry
it over anyway (``state_from_other_ruleset``); then, as always, each agent's state is checked
against the version it is read under. It holds only what the level state machine writes (a
promotion streak names the level it counts toward, no streak runs while on probation, a review
stage comes with a flag), every level it names exists, a promotion streak counts
toward a level above the agent's, the review stage is the one the escalation gives for the
review streak, probation exists if the agent is on it, and deductions due are the ruleset's
deduction lines. A state without a hash (written by an earlier tierpay) cannot be matched: it
is accepted with a warning, and its agents are checked the same way.
"""

from __future__ import annotations

from tierpay.engine.adjustments import is_adjustment
from tierpay.engine.review import stage_for
from tierpay.engine.state import AgentState, State
from tierpay.engine.state_text import combination_problems, raise_all, shown, state_problems
from tierpay.errors import StateError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions, first_day

Target = CompiledRuleset | RulesetVersions
OVERRIDE = "--state-from-other-ruleset (state_from_other_ruleset=True in Python)"


def check_state(target: Target, state: State, other_ruleset: bool = False) -> list[str]:
    """Refuse a state that does not fit ``target`` (``StateError`` listing every problem); return warnings.

    ``other_ruleset`` accepts a state written under other rules (another hash or name); its
    agents are checked against ``target`` all the same.
    """
    if not state.checked:
        raise_all(state_problems(state))
    home = _home(target, state)
    other = home is None and (
        state.ruleset_sha256 is not None or (state.ruleset is not None and state.ruleset != target.name)
    )
    if other and not other_ruleset:
        raise StateError(
            f"{state.source}: written under {_writer(state)}, not under {_named(target)}: "
            f"to carry it over, checked agent by agent against the new rules, give {OVERRIDE}"
        )
    warnings = []
    if state.ruleset_sha256 is None and state.agents and not other:
        warnings.append(
            f"{state.source}: the state names no ruleset hash (written by an earlier tierpay), so it cannot be "
            f"checked that it was written under {_named(target)}; its agents are checked against it"
        )
    problems = []
    for agent, where in zip(state.agents, state.places(), strict=True):
        version = _version_for(target, agent, home)
        found = combination_problems(agent, state.through)
        named = {p.split(":", 1)[0] for p in found}  # one problem per field: the first found says it
        found += [p for p in fit_problems(version, agent) if p.split(":", 1)[0] not in named]
        problems += [f"{where}: {p}" for p in found]
    raise_all(problems)
    return warnings


def fit_problems(version: CompiledRuleset, agent: AgentState) -> list[str]:
    """What in one agent's state ``version`` has no meaning for, each as ``field: why``."""
    ids, model = version.level_ids, version.model
    named = f"{version.name} {version.version}"
    found = []
    for name in ("level", "streak_level"):
        value = getattr(agent, name)
        if value is not None and value not in ids:
            found.append(f"{name}: {shown(value)} is not a level of {named} (levels: {', '.join(ids)})")
    level, streak = agent.level, agent.streak_level
    if streak is not None and level in ids and streak in ids and ids.index(streak) <= ids.index(level):
        found.append(
            f"streak_level: {streak} is not above level {level}; a promotion streak counts toward a higher "
            f"level (levels from the lowest: {', '.join(ids)})"
        )
    if agent.on_probation and model.probation is None:
        found.append(f"on_probation: true, but {named} has no probation section")
    rule = model.review
    if rule is not None:
        expected = stage_for(rule, agent.review_streak)
        stage = agent.review_stage
        codes = [s.code for s in rule.escalation.stages] if rule.escalation is not None else []
        if stage is not None and stage not in codes:
            known = f"stages: {', '.join(codes)}" if codes else "its review has no escalation stages"
            found.append(f"review_stage: {shown(stage)} is not a stage of {named} ({known})")
        elif stage != expected:
            flags = agent.review_streak
            found.append(
                f"review_stage: {stage or 'none'} with a review_streak of {flags}; {named} gives "
                f"{expected or 'no stage'} after {flags} consecutive flag{'s' if flags != 1 else ''}"
            )
    if model.pay is not None:
        lines = [d.id for d in model.pay.deductions]
        for line in agent.deductions_due:
            if line not in lines and not is_adjustment(line):  # an overpaid closed month, recovered under the cap
                known = f"deduction lines: {', '.join(lines)}" if lines else "it has no deduction lines"
                found.append(f"deductions_due: {line} is not a deduction line of {named} ({known})")
    return found


def _home(target: Target, state: State) -> CompiledRuleset | None:
    """The version of ``target`` that wrote ``state`` (by hash), if any."""
    versions = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    return next((v for v in versions if v.sha256 == state.ruleset_sha256), None)


def _version_for(target: Target, agent: AgentState, home: CompiledRuleset | None) -> CompiledRuleset:
    """The version an agent's state is read under: the one in force for its last period, else the next.

    With a folder of versions each agent's state was written by the version in force for its
    own last period; an agent with none falls back on the version that wrote the state, or the
    latest.
    """
    if isinstance(target, CompiledRuleset):
        return target
    if agent.last_period is not None:
        found = target.for_period(agent.last_period)
        day = first_day(agent.last_period)
        later = [v for v in target.versions if day is not None and v.model.effective_from > day]
        if found is not None or later:
            return found or later[0]
    return home or target.latest


def _named(target: Target) -> str:
    """A ruleset by name, version and short hash; a folder of versions by each version."""
    if isinstance(target, CompiledRuleset):
        return f"{target.name} {target.version} (sha256 {target.sha256[:12]})"
    each = ", ".join(f"{v.version} ({v.sha256[:12]})" for v in target.versions)
    return f"any version of {target.name}: {each}"


def _writer(state: State) -> str:
    """The ruleset a state says wrote it, by name, version and short hash, as far as it says."""
    name = " ".join(x for x in (state.ruleset, state.ruleset_version) if x) or "an unnamed ruleset"
    return f"{name} (sha256 {state.ruleset_sha256[:12]})" if state.ruleset_sha256 else f"{name} (no hash)"
