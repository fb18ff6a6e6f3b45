"""What a month's report page shows, as plain values: the run's stamp and totals, the levels
and who moved, the review flags, the fairness screen, pay against the month before and the
rejections. With ladders, the levels are counted ladder by ladder and each ladder's review
and fairness screen are its own, the ladder named.

Pure: it reads an ``Outcome`` and returns text and numbers ready to lay out, so the page's
figures are the run's own (the totals are ``--summary``'s) and the template decides nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tierpay.engine.outcome import Outcome
from tierpay.engine.pay import money, number
from tierpay.engine.results import Decision
from tierpay.outputs.explain import why
from tierpay.outputs.fairness import FairnessReport, fairness_note, fairness_report, fairness_warnings
from tierpay.outputs.report import Summary, cohort_text, grouping_attributes
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import label_text
from tierpay.ruleset.versions import latest, version_of
from tierpay.words import named, say

ZERO = Decimal(0)


@dataclass(frozen=True)
class Source:
    """An input of the run as the stamp names it: what it is, its name and its SHA-256."""

    role: str
    name: str
    sha256: str


@dataclass(frozen=True)
class LevelCount:
    """One level in the focus month: agents at it before the month's decisions and after them."""

    id: str
    name: str
    before: int
    after: int
    ladder: str = ""
    """The level's ladder as the page names it (empty without ladders)."""
    colour: int = 0
    """The level's place among every level of the ruleset: its colour in the chart."""

    @property
    def change(self) -> str:
        """The change as people write it: ``+2``, ``-1``, or ``0``."""
        delta = self.after - self.before
        return f"+{delta}" if delta > 0 else str(delta)


@dataclass(frozen=True)
class Move:
    """An agent who moved up or down a level (or was converted) in the focus month, and why."""

    agent: str
    group: str
    before: str
    after: str
    action: str
    up: bool
    why: str


@dataclass(frozen=True)
class Flag:
    """An agent flagged by the bottom-ranking review in the focus month."""

    cohort: str
    agent: str
    rank: str
    value: str
    stage: str
    streak: int


@dataclass(frozen=True)
class PayRow:
    """Pay of one group (a level, team or region) in the focus month against the month before."""

    name: str
    months: int
    pay: Decimal
    before: Decimal | None
    id: str = ""
    """The group as the records give it (a level id)."""

    @property
    def difference(self) -> str:
        """The change in money, signed; a dash when there is no month before."""
        if self.before is None:
            return "—"
        delta = self.pay - self.before
        return ("+" if delta > 0 else "") + money(delta)


@dataclass(frozen=True)
class PayBlock:
    """Pay by one grouping (level paid, team or region): a row per group and the total row."""

    title: str
    rows: list[PayRow]
    total: PayRow
    key: str = ""
    """What it groups by: ``ladder``, ``level`` or an attribute."""


@dataclass(frozen=True)
class SummaryBlock:
    """One block of ``--summary`` over the whole run: group, agents, agent-months, pay."""

    title: str
    rows: list[tuple[str, int, int, str]]
    total: tuple[str, int, int, str]


@dataclass(frozen=True)
class FairnessRow:
    """One group of the fairness screen, as the review command's table shows it."""

    group: str
    ranked: int
    flagged: int
    flag_rate: str
    rest: str
    """The flag-rate ratio: this group's flag rate over the rest's."""
    impact: str
    fisher: str
    signals: str


@dataclass(frozen=True)
class Fairness:
    """The fairness screen of the review flags by one attribute over the run."""

    title: str
    rows: list[FairnessRow]
    warnings: list[str]
    note: str


@dataclass(frozen=True)
class Rejected:
    """A rejected record: where it is, whose and which month, and every reason."""

    place: str
    agent: str
    period: str
    reasons: list[str]


@dataclass
class MonthReport:
    """Everything the month's page shows, in the reader's language."""

    lang: str
    title: str
    period: str
    previous: str | None
    periods: list[str]
    currency: str
    stamp: list[tuple[str, str]]
    sources: list[Source]
    totals: list[tuple[str, str]]
    levels: list[LevelCount]
    """Every level, lowest first (with ladders, ladder after ladder)."""
    level_rows: list[tuple[str, list[LevelCount]]]
    """The levels as the table lists them: per ladder (one untitled block without), highest first."""
    history: list[tuple[str, list[int]]]
    """Agents at each level (in the ruleset's order) in every period of the run."""
    moves: list[Move]
    flags: list[Flag]
    exempt: int
    pay: list[PayBlock]
    summary: list[SummaryBlock]
    fairness: list[Fairness]
    """The fairness screen, or with ladders one per ladder whose review declares one."""
    rejected: list[Rejected]
    gaps: list[str]
    warnings: list[str] = field(default_factory=list)


def month_report(
    outcome: Outcome, sources: Sequence[Source], lang: str = "en", period: str | None = None
) -> MonthReport:
    """The page for ``period`` (the last month decided when left out), with the whole run around it."""
    ruleset = latest(outcome.target)
    model = ruleset.model
    periods = list(outcome.periods)
    focus = period or (periods[-1] if periods else "")
    previous = periods[periods.index(focus) - 1] if focus in periods and periods.index(focus) > 0 else None
    decisions = outcome.select(period=focus) if focus else []
    level_names = {lv.id: label_text(lv.name, lang, lv.id) for lv in model.levels}
    summary = Summary.of(outcome.target, lang).add(outcome.cells)
    paid = model.pay is not None or any(ladder.model.pay is not None for ladder in ruleset.ladders.values())
    levels = _levels(decisions, ruleset, level_names, summary)
    stamp = [
        (say("page.ruleset", lang), "; ".join(f"{s.name} {s.version}" for s in outcome.rulesets)),
        (say("page.sha256", lang), "; ".join(s.sha256 for s in outcome.rulesets)),
        (say("page.periods", lang), _span(periods)),
    ]
    totals = [
        (say("totals.agents", lang), f"{summary.agent_count:,}"),
        (say("totals.months", lang), f"{summary.count:,}"),
        (say("page.decided", lang), f"{len(outcome.decisions):,}"),
        (say("page.rejected", lang), f"{len(outcome.rejections):,}"),
    ]
    if paid:
        totals.append((say("page.pay_total", lang, currency=model.currency), money(summary.total)))
    return MonthReport(
        lang=lang,
        title=say("page.title", lang, name=ruleset.name, period=focus),
        period=focus,
        previous=previous,
        periods=periods,
        currency=model.currency,
        stamp=stamp,
        sources=list(sources),
        totals=totals,
        levels=levels,
        level_rows=_level_rows(levels),
        history=_history(outcome, ruleset),
        moves=_moves(decisions, outcome, ruleset, level_names, lang),
        flags=_flags(decisions, ruleset, lang),
        exempt=sum(1 for d in decisions if d.review is not None and d.review.exempt),
        pay=_pay(outcome, ruleset, focus, previous, level_names, lang) if paid else [],
        summary=_summary(summary, ruleset, level_names, lang) if paid else [],
        fairness=_fairness(outcome, ruleset, lang),
        rejected=[
            Rejected(f"{r.source}:{r.row}", r.agent_id or "", r.period or "", list(r.reasons))
            for r in outcome.rejections
        ],
        gaps=[say("page.gap", lang, agent=g.agent_id, period=g.period, last=g.last_period) for g in outcome.gaps],
        warnings=list(outcome.warnings),
    )


def _span(periods: Sequence[str]) -> str:
    if not periods:
        return "—"
    return periods[0] if len(periods) == 1 else f"{periods[0]} – {periods[-1]} ({len(periods)})"


def _levels(
    decisions: Sequence[Decision], ruleset: CompiledRuleset, names: dict[str, str], summary: Summary
) -> list[LevelCount]:
    before = Counter(d.level_before for d in decisions)
    after = Counter(d.level for d in decisions)
    ladders = {id: summary.ladder_names[ladder] for id, ladder in summary.ladder_of.items()}
    return [
        LevelCount(id, names[id], before[id], after[id], ladders.get(id, ""), k)
        for k, id in enumerate(ruleset.level_ids)
    ]


def _level_rows(levels: Sequence[LevelCount]) -> list[tuple[str, list[LevelCount]]]:
    """The levels per ladder, in the ruleset's order, each ladder's highest first."""
    blocks: dict[str, list[LevelCount]] = {}
    for level in levels:
        blocks.setdefault(level.ladder, []).append(level)
    return [(ladder, rows[::-1]) for ladder, rows in blocks.items()]


def _history(outcome: Outcome, ruleset: CompiledRuleset) -> list[tuple[str, list[int]]]:
    counts = outcome.cells.group_by("period", "level").len()
    found = {(p, lv): n for p, lv, n in counts.iter_rows()}
    return [(p, [int(found.get((p, lv), 0)) for lv in ruleset.level_ids]) for p in outcome.periods]


def _who(d: Decision, ruleset: CompiledRuleset) -> str:
    kept = [str(d.values.get(k) or "") for k in ruleset.model.keep]
    return " ".join([d.agent_id, *(k for k in kept if k)])


def _group(d: Decision, ruleset: CompiledRuleset) -> str:
    return " · ".join(str(d.values.get(a) or "") for a in grouping_attributes(ruleset))


def _moves(
    decisions: Sequence[Decision], outcome: Outcome, ruleset: CompiledRuleset, names: dict[str, str], lang: str
) -> list[Move]:
    order = {id: i for i, id in enumerate(ruleset.level_ids)}
    shown = Summary.of(ruleset, lang)  # with ladders, a level with its ladder: a move may change ladder
    moves = []
    for d in decisions:
        if d.level == d.level_before and d.action not in ("convert",):
            continue
        rules = version_of(outcome.target, d.ruleset.sha256)
        up = order[d.level] > order[d.level_before] or d.action == "convert"
        moves.append(
            Move(
                agent=_who(d, ruleset),
                group=_group(d, ruleset),
                before=shown.shown("level", d.level_before, names),
                after=shown.shown("level", d.level, names),
                action=say(f"action.{d.action}", lang),
                up=up,
                why=why(d, rules, lang),
            )
        )
    return sorted(moves, key=lambda m: (not m.up, m.agent))


def _flags(decisions: Sequence[Decision], ruleset: CompiledRuleset, lang: str) -> list[Flag]:
    """The flagged agents, each under its own review rule (its ladder's, with ladders), the ladder named."""
    names = Summary.of(ruleset, lang).ladder_names
    flags = []
    for d in decisions:
        r = d.review
        own = ruleset.ladders[d.ladder] if d.ladder is not None and d.ladder in ruleset.ladders else ruleset
        rule = own.model.review
        if r is None or not r.flagged or rule is None:
            continue
        stages = {
            s.code: named(s.code, s.label).text(lang) for s in (rule.escalation.stages if rule.escalation else [])
        }
        cohort = cohort_text(r.cohort, own, lang)
        flags.append(
            Flag(
                cohort=f"{names[d.ladder]} · {cohort}" if d.ladder in names else cohort,
                agent=_who(d, ruleset),
                rank=f"{r.rank}/{r.cohort_size}",
                value="" if r.value is None else number(r.value),
                stage=stages.get(r.stage or "", r.stage or ""),
                streak=r.streak,
            )
        )
    return sorted(flags, key=lambda f: (f.cohort, f.agent))


def _pay(
    outcome: Outcome,
    ruleset: CompiledRuleset,
    focus: str,
    previous: str | None,
    names: dict[str, str],
    lang: str,
) -> list[PayBlock]:
    now = Summary.of(outcome.target, lang).add(outcome.cells.filter(outcome.cells["period"] == focus))
    before = (
        Summary.of(outcome.target, lang).add(outcome.cells.filter(outcome.cells["period"] == previous))
        if previous
        else None
    )
    blocks = []
    attribute_names = {n: label_text(a.label, lang, n) for n, a in ruleset.model.attributes.items()}
    for key in now.by:
        then = {name: pay for name, _, pay in before.rows(key)} if before is not None else None
        rows = [
            PayRow(now.shown(key, name, names), months, pay, _get(then, name), name)
            for name, months, pay in now.rows(key)
        ]
        total = PayRow(say("totals.total", lang), now.count, now.total, before.total if before is not None else None)
        title = now.heading(key) if key in ("level", "ladder") else attribute_names.get(key, key)
        blocks.append(PayBlock(title, rows, total, key))
    return blocks


def _get(then: dict[str, Decimal] | None, name: str) -> Decimal | None:
    if then is None:
        return None
    return then.get(name, ZERO)


def _summary(summary: Summary, ruleset: CompiledRuleset, names: dict[str, str], lang: str) -> list[SummaryBlock]:
    attribute_names = {n: label_text(a.label, lang, n) for n, a in ruleset.model.attributes.items()}
    blocks = []
    for key in summary.by:
        rows = [
            (summary.shown(key, k, names), agents, months, money(pay)) for k, agents, months, pay in summary.counts(key)
        ]
        total = (say("totals.total", lang), summary.agent_count, summary.count, money(summary.total))
        title = summary.heading(key) if key in ("level", "ladder") else attribute_names.get(key, key)
        blocks.append(SummaryBlock(title, rows, total))
    return blocks


def _fairness(outcome: Outcome, ruleset: CompiledRuleset, lang: str) -> list[Fairness]:
    """The fairness screen; with ladders, each ladder's whose review declares one, among its own agents."""
    if not ruleset.ladders:
        rule = ruleset.model.review
        return (
            [_screen(fairness_report(outcome, rule.fairness.group_by), ruleset, lang)] if rule and rule.fairness else []
        )
    names = Summary.of(ruleset, lang).ladder_names
    return [
        _screen(fairness_report(outcome, ladder.model.review.fairness.group_by, name), ruleset, lang, names[name])
        for name, ladder in ruleset.ladders.items()
        if ladder.model.review is not None and ladder.model.review.fairness is not None
    ]


def _screen(report: FairnessReport, ruleset: CompiledRuleset, lang: str, ladder: str | None = None) -> Fairness:
    attribute = label_text(ruleset.model.attributes[report.attribute].label, lang, report.attribute)
    signals = (
        ("fairness.below", "below_four_fifths"),
        ("fairness.ratio", "flag_ratio_signal"),
        ("fairness.fisher_signal", "fisher_signal"),
    )
    rows = [
        FairnessRow(
            group=g.group,
            ranked=g.ranked,
            flagged=g.flagged,
            flag_rate="" if g.flag_rate is None else number(g.flag_rate),
            rest=number(g.rest_ratio) if g.rest_ratio is not None else ("∞" if g.flagged and g.rest_ranked else "-"),
            impact="" if g.impact_ratio is None else number(g.impact_ratio),
            fisher="-" if g.fisher_p is None else format(g.fisher_p, "f"),
            signals=" ".join(say(key, lang) for key, name in signals if getattr(g, name)),
        )
        for g in report.groups
    ]
    title = say("fairness.title", lang, attribute=attribute, periods=", ".join(report.periods))
    return Fairness(
        title=f"{ladder} · {title}" if ladder is not None else title,
        rows=rows,
        warnings=fairness_warnings(report, lang, attribute),
        note=fairness_note(report, lang),
    )
