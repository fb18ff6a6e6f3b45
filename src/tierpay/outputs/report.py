"""Rendering outcomes for people and programs: tables, CSV, JSON, pay statements, summaries.

Every function returns text; writing it anywhere is the caller's business. Row order is
stable (period, then agent id) and decimals are printed exactly, so the same outcome always
renders to the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from string import Formatter
from typing import Any

import polars as pl
from tabulate import tabulate

from tierpay.engine.cells import attributes, has_ladders, line_ids
from tierpay.engine.levels import ACTIONS
from tierpay.engine.outcome import Outcome, PeriodPart
from tierpay.engine.pay import line_label, money, number, uses_coefficient
from tierpay.engine.pay_table import names_of as pay_names
from tierpay.engine.records import Rejection
from tierpay.engine.results import Decision, Gap
from tierpay.outputs.compare import Change, Comparison
from tierpay.outputs.fairness import FairnessReport, fairness_note, fairness_warnings
from tierpay.outputs.text_table import rows_table, text_table
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import Review, Stage, label_text
from tierpay.ruleset.versions import RulesetVersions, latest, version_of
from tierpay.words import WORDS, Named, named, said, say

ZERO = Decimal(0)


def _d(value: Decimal | None) -> str:
    return "" if value is None else number(value)


def level_change(d: Decision) -> str:
    """``L2`` when unchanged, ``L2→L3`` when it moved (from the month before to this one)."""
    return d.level if d.level == d.level_before else f"{d.level_before}→{d.level}"


def review_cell(d: Decision) -> str:
    """A short review status: ``FLAG coaching 3/16``, ``exempt: probation``, ``3/16``..."""
    r = d.review
    if r is None:
        return ""
    if r.exempt:
        return f"exempt: {r.exempt}"
    if not r.ranked:
        return "not ranked"
    text = f"{r.rank}/{r.cohort_size}"
    if r.flagged:
        text = f"FLAG {r.stage or ''} {text}".replace("  ", " ")
    elif r.tied_at_cutoff:
        text += " tie"
    return text


# --- the evaluate table and its totals ------------------------------------------------------


def grouping_attributes(ruleset: CompiledRuleset) -> list[str]:
    """The attributes a person groups decisions by, in the ruleset's order.

    Those the review and the scorecard rank within (a team), and those pay is looked up by (a
    region or site): the columns the first table shows and the summaries total by.
    """
    model = ruleset.model
    each = [ruleset, *ruleset.ladders.values()]
    used = {name for one in each for name in (*_cohort_attributes(one), *_pay_attributes(one))}
    return [name for name in model.attributes if name in used]


def _cohort_attributes(ruleset: CompiledRuleset) -> list[str]:
    model = ruleset.model
    found = list(model.review.cohort_by) if model.review is not None else []
    found += list(model.scorecard.cohort_by) if model.scorecard is not None else []
    return [name for name in found if name in model.attributes]


def _pay_attributes(ruleset: CompiledRuleset) -> list[str]:
    """The attributes pay amounts are looked up by (``by:`` of the pay lines and floors), in the ruleset's order."""
    pay = ruleset.model.pay
    if pay is None:
        return []
    found = [line.by for line in pay.lines if line.by]
    if pay.floors is not None:
        found += [pay.floors.post_by] if pay.floors.post_by else []
        found += [pay.floors.minimum_wage.by] if pay.floors.minimum_wage is not None else []
    return [name for name in ruleset.model.attributes if name in found]


def _names(ruleset: CompiledRuleset) -> dict[str, Named]:
    """Levels and attributes with their labels."""
    model = ruleset.model
    found = {lv.id: named(lv.id, lv.name, english_id=True) for lv in model.levels}
    found.update((n, named(n, a.label, english_id=True)) for n, a in model.attributes.items())
    return found


def ladder_name(ruleset: CompiledRuleset, ladder: str | None, lang: str) -> str | None:
    """A ladder as a cell shows it: its name in English, its label in Chinese (None: no ladder)."""
    declared = ruleset.model.ladders or {}
    if ladder is None or ladder not in declared:
        return None
    return named(ladder, declared[ladder].label, english_id=True).text(lang)


def _short(ruleset: CompiledRuleset, lang: str) -> dict[str, str]:
    """What a table cell shows for each level and attribute id: the id in English, else the label in ``lang``."""
    return {id: name.text(lang) for id, name in _names(ruleset).items()}


def decisions_table(outcome: Outcome, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """A table of every decision that fits a terminal 120 columns wide: the columns a payroll analyst reads first.

    Agent (with the kept columns, a name), period, team and region, the level (``L2→L3`` when it moved from the month
    before), the action, score and grade, the review and the pay; the last four only when the
    ruleset has a scorecard, grades, a review and pay. In Chinese, levels and attributes show
    the ruleset's Chinese labels. Every other column is in the CSV and JSON.
    """
    model = ruleset.model
    each = [ruleset, *ruleset.ladders.values()]  # a part a ladder has, the table shows
    ladders = {  # a ladder by its name in English, its label in Chinese, as levels are
        name: named(name, ladder.label, english_id=True).text(lang) for name, ladder in (model.ladders or {}).items()
    }
    attrs = grouping_attributes(ruleset)
    short = _short(ruleset, lang)
    levels = {id: text for id, text in short.items() if id in ruleset.level_ids}
    actions = {a: say(f"action.{a}", lang) for a in ACTIONS}
    before, after = pl.col("level_before").replace(levels), pl.col("level").replace(levels)
    columns: list[tuple[str, Callable[[PeriodPart], pl.Expr | pl.Series]]] = [
        (say("table.agent", lang), lambda _: pl.col("agent_id")),
        *[(k, lambda _, k=k: pl.col(k)) for k in model.keep],  # kept columns (a name) beside the agent
        (say("table.period", lang), lambda _: pl.col("period")),
        *[(short[a], lambda _, a=a: pl.col(a)) for a in attrs],
        *([(say("table.ladder", lang), lambda _: pl.col("ladder").replace(ladders))] if ladders else []),
        (
            say("table.level", lang),
            lambda _: (
                pl.when(pl.col("level") == pl.col("level_before"))
                .then(after)
                .otherwise(pl.concat_str(before, pl.lit("→"), after))
            ),
        ),
        (
            say("table.action", lang),
            lambda _: _action_cell(actions, lang, outcome.decided, outcome.cells.columns if ruleset.ladders else ()),
        ),
    ]
    if any(r.model.scorecard is not None for r in each):
        columns.append((say("table.score", lang), lambda _: pl.col("score")))
    if any(r.model.grades for r in each):
        columns.append((say("table.grade", lang), lambda _: pl.col("grade")))
    if any(r.model.review is not None for r in each):
        columns.append(
            (
                say("table.review", lang),
                lambda part: _review_cell(
                    _ties(part), part.run.ruleset if part.run is not None else ruleset, lang, outcome.decided
                ),
            )
        )
    paid = any(r.model.pay is not None for r in each)
    if paid:
        columns.append((say("table.pay", lang, currency=model.currency), lambda part: _money(part.cells["pay_total"])))
    names = [str(i) for i in range(len(columns))]
    frames = [
        part.cells.select([cell(part).alias(name) for name, (_, cell) in zip(names, columns, strict=True)])
        for part in outcome.parts
        if part.cells.height
    ]
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    right = {len(columns) - 1} if paid else set()
    return text_table([header for header, _ in columns], frame, right)


def _action_cell(actions: dict[str, str], lang: str, decided: bool, columns: Sequence[str] = ()) -> pl.Expr:
    """The action in words; one a person decided says by whom: ``promoted (by 王敏)``."""
    action = pl.col("action").replace_strict(actions, default=pl.col("action"))
    if not decided:
        return action
    by_person = pl.col("reason").str.ends_with("_by_decision")
    if "ladder" in columns:  # a move to another ladder is a person's decision too
        moved = pl.col("decided").str.contains("set_ladder=", literal=True).fill_null(False)
        by_person = by_person | moved
        action = pl.when(moved).then(pl.lit(say("table.moved", lang))).otherwise(action)
    return (
        pl.when(by_person).then(_fill("decided.table", lang, action=action, by=pl.col("decided_by"))).otherwise(action)
    )


def _ties(part: PeriodPart) -> pl.Series:
    """Whether each decided row of ``part`` is tied at its cohort's review cut-off."""
    run = part.run
    if run is None or run.review_out is None:
        return pl.Series("tie", [False] * part.cells.height)
    at = run.review_pos[run.decided]
    return pl.Series("tie", run.review_out.at_cutoff[at])


def _fill(key: str, lang: str, **columns: pl.Expr) -> pl.Expr:
    """The words ``key`` in ``lang`` with each blank filled from a column: one text per row."""
    en, zh = WORDS[key]
    pieces: list[pl.Expr] = []
    for literal, name, _, _ in Formatter().parse(zh if lang == "zh" else en):
        if literal:
            pieces.append(pl.lit(literal))
        if name:
            pieces.append(columns[name])
    return pl.concat_str(pieces)


def _review_cell(ties: pl.Series, ruleset: CompiledRuleset, lang: str, decided: bool = False) -> pl.Expr:
    """A short review status: ``FLAG coaching 3/16``, ``exempt: probation``, ``3/16 tie``, ``3/16 cleared (by 李雷)``...

    In English, stage and exemption codes; in Chinese, their labels in the ruleset.
    """
    rule = ruleset.model.review
    stages = {s.code: named(s.code, s.label, english_id=True).text(lang) for s in _stages(rule)}
    reasons = {e.code: named(e.code, e.reason, english_id=True).text(lang) for e in (rule.exempt if rule else [])}
    reasons.setdefault("decision", say("decided.exempt", lang))  # exempt_review, a person's decision
    place = pl.concat_str("review_rank", pl.lit("/"), "review_cohort_size")
    stage = pl.col("review_stage").replace(stages)
    return (
        pl.when(pl.col("review_cohort").is_null())
        .then(pl.lit(""))
        .when(pl.col("review_exempt").is_not_null())
        .then(_fill("review.exempt", lang, reason=pl.col("review_exempt").replace(reasons)))
        .when(pl.col("review_rank").is_null())
        .then(pl.lit(say("review.not_ranked", lang)))
        .when((pl.col("review_flagged") == "true") & pl.col("review_stage").is_not_null())
        .then(_fill("review.flag", lang, stage=stage, place=place))
        .when(pl.col("review_flagged") == "true")
        .then(_fill("review.flag_no_stage", lang, place=place))
        .when(pl.lit(ties))
        .then(_fill("review.tie", lang, place=place))
        .when(pl.lit(decided) & pl.col("decided" if decided else "review_rank").str.contains("clear_review"))
        .then(_fill("review.cleared", lang, place=place, by=pl.col("decided_by" if decided else "review_rank")))
        .otherwise(place)
        .alias("review")
    )


def _stages(rule: Review | None) -> list[Stage]:
    return list(rule.escalation.stages) if rule is not None and rule.escalation is not None else []


def _money(column: pl.Series) -> pl.Series:
    """Amounts as ``money`` writes them (thousands separated, two places), each distinct text once."""
    distinct = column.drop_nulls().unique().to_list()
    written = {text: money(Decimal(text)) for text in distinct}
    return column.replace_strict(written, default=None, return_dtype=pl.String).fill_null("").alias("pay")


def footer_text(outcome: Outcome, lang: str = "en") -> str:
    """What the table ends with: decided and rejected counts, the rulesets used, and the totals."""
    used = "; ".join(f"{s.name} {s.version} ({s.sha256[:12]})" for s in outcome.rulesets)
    decided = len(outcome.decisions)
    if outcome.decided:
        refused = len(outcome.refused)
        rejected = len(outcome.rejections) - refused
        given = outcome.decisions_given
        line = say(
            "table.footer_decided", lang, decided=decided, rejected=rejected, refused=refused, given=given, used=used
        )
    else:
        line = say("table.footer", lang, decided=decided, rejected=len(outcome.rejections), used=used)
    return f"{line}\n{totals_text(outcome, latest(outcome.target), lang)}"


def totals_text(outcome: Outcome, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """Agents and agent-months, and pay by the level paid and by region (the attribute pay is looked up by).

    Agents are counted once however many months they appear in; agent-months once per
    decision. The pay table has a column per region and a total column, and reconciles to
    the grand total both ways.
    """
    cells = outcome.cells
    head = say("totals.line", lang, agents=cells["agent_id"].n_unique(), months=cells.height)
    model = ruleset.model
    if model.pay is None or "pay_total" not in cells.columns:
        return head + "\n"
    regions = _pay_attributes(ruleset)
    region = regions[0] if regions and regions[0] in cells.columns else None
    paid = cells.filter(pl.col("pay_total").is_not_null())
    places = paid["pay_total"].str.extract(r"\.(\d+)$").str.len_chars().max()
    groups = (
        paid.select(
            pl.col("pay_level").fill_null("").alias("level"),
            (pl.col(region).fill_null("") if region else pl.lit("")).alias("place"),
            pl.col("pay_total").str.to_decimal(scale=int(places or 0)).alias("amount"),  # type: ignore[arg-type]
        )
        .group_by("level", "place")
        .agg(pl.col("amount").sum(), pl.len().alias("months"))
    )
    sums: dict[tuple[str, str], Decimal] = {}
    months: dict[str, int] = defaultdict(int)
    for level, place, amount, count in groups.iter_rows():
        sums[(level, place)] = Decimal(amount)
        months[level] += count
    total = sum(sums.values(), ZERO)
    head += say("totals.pay", lang, amount=money(total), currency=model.currency)
    short = _short(ruleset, lang)
    order = {id: i for i, id in enumerate(ruleset.level_ids)}
    level_rows = sorted(months, key=lambda lv: (order.get(lv, len(order)), lv))
    columns = sorted({place for _, place in sums}) if region else []
    headers = [say("totals.pay_level", lang), *columns, say("totals.total", lang), say("totals.months", lang)]
    rows: list[list[object]] = []
    for level in level_rows:
        by_place = [money(sums.get((level, c), ZERO)) for c in columns]
        row_total = sum((v for (lv, _), v in sums.items() if lv == level), ZERO)
        rows.append([short.get(level, level), *by_place, money(row_total), months[level]])
    column_totals = [money(sum((v for (_, c), v in sums.items() if c == place), ZERO)) for place in columns]
    rows.append([say("totals.total", lang), *column_totals, money(total), sum(months.values())])
    what = say("totals.pay_level", lang)
    title = (
        say("totals.title", lang, what=what, by=short[region], currency=model.currency)
        if region
        else say("totals.title_level", lang, what=what, currency=model.currency)
    )
    table = rows_table(headers, rows, right=set(range(1, len(headers))))
    return f"{head}\n\n{title}\n{table}\n"


def gaps_text(gaps: Sequence[Gap], lang: str = "en") -> str:
    """One line per agent-period with no record, in ``lang``."""
    return "".join(say("stderr.gap", lang, agent=g.agent_id, period=g.period, last=g.last_period) + "\n" for g in gaps)


SAID_ONCE = 5
"""Records of one file sharing every reason: more than this many are one line (a count and the first agents)."""


def rejections_text(rejections: Sequence[Rejection], lang: str = "en", *, together: bool = True) -> str:
    """A line per rejected record, with every reason: framed in ``lang``, the reasons in English as found.

    ``together``: the records of one file that share every reason, when more than ``SAID_ONCE``
    (February read without a state: every agent lacks a level), are one line where the first of
    them was, with their count, first row, first agents and months: sixty copies of one reason
    hide the one that differs.
    """
    groups: dict[tuple[str, tuple[str, ...]], list[Rejection]] = {}
    for r in rejections:
        groups.setdefault((r.source, tuple(r.reasons)), []).append(r)
    lines, said = [], set()
    for r in rejections:
        key = (r.source, tuple(r.reasons))
        group = groups[key]
        if not together or len(group) <= SAID_ONCE:
            lines.append(say("stderr.rejected", lang, record=r.text(lang)))
        elif key not in said:
            said.add(key)
            lines.append(say("stderr.rejected", lang, record=_shared(group, lang)))
    return "".join(line + "\n" for line in lines)


def _shared(group: Sequence[Rejection], lang: str) -> str:
    """Many records rejected for the same reasons, as one heading: ``f.csv, 69 records from row 2 (A001, … ; 2026-02)``."""
    first = group[0]
    agents = list(dict.fromkeys(r.agent_id for r in group if r.agent_id))
    shown_agents = say("rejection.some", lang).join(agents[:SAID_ONCE])
    if len(agents) > SAID_ONCE:
        shown_agents = say("rejection.more", lang, some=shown_agents, more=len(agents) - SAID_ONCE)
    months = sorted({r.period for r in group if r.period})
    span = (
        months[0]
        if len(months) == 1
        else say("rejection.span", lang, first=months[0], last=months[-1])
        if months
        else ""
    )
    who = say("rejection.separator", lang).join(x for x in (shown_agents, span) if x)
    return say(
        "rejection.many",
        lang,
        source=first.source,
        count=len(group),
        row=first.row,
        who=who,
        reasons=say("rejection.separator", lang).join(first.reasons),
    )


def warnings_text(warnings: Iterable[str], lang: str = "en") -> str:
    """One line per warning, in ``lang`` where its words are known (the others in English, as they were found)."""
    return "".join(say("stderr.warning", lang, text=said(w, lang)) + "\n" for w in warnings)


def decisions_csv(outcome: Outcome) -> str:
    """Every decision as a CSV row with fixed columns (``decision_columns``)."""
    return outcome.csv()


def outcome_json(outcome: Outcome) -> str:
    """The whole outcome as JSON, decimals as exact strings."""
    return outcome.to_json() + "\n"


# --- pay statements and payroll ------------------------------------------------------------


def agent_named(decision: Decision, ruleset: CompiledRuleset) -> str:
    """The agent's id, followed by the kept columns' texts (a pay slip carries the name)."""
    kept = [str(decision.values.get(k) or "") for k in ruleset.model.keep]
    return " ".join([decision.agent_id, *(k for k in kept if k)])


def statement_text(decision: Decision, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """One agent's pay statement in ``lang``: every line, how it was computed, and the total (and the ladder, with ladders)."""
    ladder = ladder_name(ruleset, decision.ladder, lang)
    ruleset = ruleset.on(decision.ladder)
    if decision.pay is None:
        return say("statement.no_pay", lang, agent=decision.agent_id, period=decision.period) + "\n"
    pay = decision.pay
    level = next(lv for lv in ruleset.model.levels if lv.id == pay.level)
    head = say("statement.level", lang, level=level.id, name=label_text(level.name, lang, level.id))
    if ladder is not None:
        head += say("statement.ladder", lang, ladder=ladder)
    if decision.grade:
        head += say("statement.grade", lang, grade=decision.grade)
    if pay.coefficient is not None:
        head += say("statement.coefficient", lang, coefficient=number(pay.coefficient))
    lines = [
        say("statement.title", lang, agent=agent_named(decision, ruleset), period=decision.period),
        head,
        say("statement.ruleset", lang, name=ruleset.name, version=ruleset.version, sha=ruleset.sha256[:12]),
        *(say("statement.decided", lang, text=h.quoted(lang)) for h in decision.decided),
        "",
    ]
    rows = [
        [line_label(ruleset.model.pay, line.id, lang, line.label), money(line.amount), line.basis_in(lang)]
        for line in pay.lines
    ]
    rows.append([say("statement.total", lang), money(pay.total), pay.currency])
    table = tabulate(
        rows,
        headers=[say("statement.line", lang), say("statement.amount", lang), say("statement.how", lang)],
        tablefmt="simple",
        disable_numparse=True,
        colalign=("left", "right", "left"),
    )
    return "\n".join(lines) + table + "\n"


def statement_csv(decisions: Iterable[Decision], keep: Sequence[str] = (), ladders: bool = False) -> str:
    """Pay statement lines as CSV: one row per line per agent-period, with the ``keep`` columns after the agent.

    With ``ladders`` (a ruleset with ladders), a ``ladder`` column after the period.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    ladder = ["ladder"] if ladders else []
    writer.writerow(["agent_id", *keep, "period", *ladder, "line", "kind", "amount", "currency", "basis"])
    for d in decisions:
        if d.pay is None:
            continue
        who = [
            d.agent_id,
            *(str(d.values.get(k) or "") for k in keep),
            d.period,
            *([d.ladder or ""] if ladders else []),
        ]
        for line in d.pay.lines:
            writer.writerow([*who, line.id, line.kind, line.amount, d.pay.currency, line.basis])
        writer.writerow([*who, "total", "total", d.pay.total, d.pay.currency, ""])
    return out.getvalue()


class Summary:
    """Agents, agent-months and pay by level paid and by attribute, added up period by period.

    An agent is counted once in a group however many months it is there, so the agents of
    a block's groups may add up to more than its total (an agent who changed level); the
    agent-months and the pay always add up. Each period is counted by a group-by on its
    cells, pay summed exactly as decimals; only the distinct agents of each group are kept.

    With ladders it counts by ladder first, and each level paid is shown with its ladder
    (``agent · S1``), ladder by ladder in the ruleset's order: one ladder's levels are never
    read as another's.
    """

    def __init__(
        self, by: Sequence[str] = ("level", "team", "region"), lang: str = "en", names: Mapping[str, str] | None = None
    ) -> None:
        self.by = list(by)
        self.lang = lang
        self.names = dict(names or {})
        self.groups: dict[str, dict[str, list[Any]]] = {key: defaultdict(lambda: [0, ZERO]) for key in self.by}
        self.count = 0
        self.total = ZERO
        self.ladder_of: dict[str, str] = {}
        """Each level id's ladder, with ladders (level ids are unique across ladders)."""
        self.ladder_names: dict[str, str] = {}
        """Each ladder as a cell shows it: its name in English, its label in Chinese."""
        self.order: dict[str, int] = {}
        """Ladders and levels in the ruleset's order, to list them so rather than by name."""
        self._seen = [pl.DataFrame(schema=dict.fromkeys(["agent_id", *self.by], pl.String))]
        """The (agent, level, team, region...) of each period so far: who is in each group.

        Made distinct only when read or when they grow large: one ``unique`` over many
        periods costs less than one per period."""

    @classmethod
    def of(cls, target: CompiledRuleset | RulesetVersions, lang: str = "en") -> Summary:
        """A summary by level paid and by the ruleset's grouping attributes (team, region), in ``lang``."""
        ruleset = latest(target)
        by = ["level", *grouping_attributes(ruleset)]
        if not ruleset.ladders:
            return cls(by, lang, _short(ruleset, lang))
        summary = cls(["ladder", *by], lang, _short(ruleset, lang))
        for k, (name, ladder) in enumerate(ruleset.ladders.items()):
            summary.ladder_names[name] = ladder_name(ruleset, name, lang) or name
            summary.order[name] = k
            summary.ladder_of.update(dict.fromkeys(ladder.level_ids, name))
        summary.order.update((level, k) for k, level in enumerate(ruleset.level_ids))
        return summary

    def add(self, cells: pl.DataFrame) -> Summary:
        """Count in these decisions (the decisions' CSV cells: agent, pay level, attributes, total)."""
        if not cells.height or "pay_total" not in cells.columns:
            return self
        paid = cells.filter(pl.col("pay_total").is_not_null())
        if not paid.height:
            return self
        places = _places(paid["pay_total"])
        columns = {key: "pay_level" if key == "level" else key for key in self.by}
        frame = paid.select(
            pl.col("agent_id"),
            *[
                (pl.col(column) if column in paid.columns else pl.lit(None, pl.String)).fill_null("").alias(key)
                for key, column in columns.items()
            ],
            *_exact(paid["pay_total"], places),
        )
        keys = ["", *self.by]  # "" is everyone
        found = _sums(frame.with_columns(pl.lit("").alias("")), keys, places)
        self.count += paid.height
        self.total += found[""][""][1]
        for key in self.by:
            for name, (months, total) in found[key].items():
                cell = self.groups[key][name]
                cell[0] += months
                cell[1] += total
        self._seen.append(frame.select("agent_id", *self.by))
        if sum(seen.height for seen in self._seen[1:]) > max(_COMPACT, self._seen[0].height):
            self._members()
        return self

    def _members(self) -> pl.DataFrame:
        """The distinct (agent, level, team, region...) counted."""
        if len(self._seen) > 1:
            self._seen = [pl.concat(self._seen).unique()]
        return self._seen[0]

    @property
    def agents(self) -> set[str]:
        """Every agent counted."""
        return set(self._members()["agent_id"].unique().to_list())

    @property
    def agent_count(self) -> int:
        """How many agents are counted (each once)."""
        return self._members()["agent_id"].n_unique()

    def counts(self, key: str) -> list[tuple[str, int, int, Decimal]]:
        """Per group of ``key``, sorted: the group, its agents (each once), its agent-months and its pay."""
        agents = self._agent_counts(key)
        return [(k, agents.get(k, 0), int(v[0]), v[1]) for k, v in self._sorted(key)]

    def _sorted(self, key: str) -> list[tuple[str, list[Any]]]:
        """The groups of ``key`` by name; ladders and their levels in the ruleset's order."""
        if key in ("ladder", "level") and self.order:
            last = len(self.order)
            return sorted(self.groups[key].items(), key=lambda item: (self.order.get(item[0], last), item[0]))
        return sorted(self.groups[key].items())

    def heading(self, key: str) -> str:
        """The heading of ``key``'s block: level paid, ladder, or the attribute as a cell names it."""
        if key == "level":
            return say("totals.pay_level", self.lang)
        if key == "ladder" and self.ladder_names:
            return say("table.ladder", self.lang)
        return self.names.get(key, key)

    def shown(self, key: str, group: str, names: Mapping[str, str] | None = None) -> str:
        """How a group of ``key`` is shown: a level by its name (``names``, else the table's), with its ladder."""
        if key == "ladder" and self.ladder_names:
            return self.ladder_names.get(group, group)
        if key != "level":  # an attribute's value as the records give it (team T1 is not level T1)
            return group
        text = (names if names is not None else self.names).get(group, group)
        if group in self.ladder_of:
            return f"{self.ladder_names[self.ladder_of[group]]} · {text}"
        return text

    def _agent_counts(self, key: str) -> dict[str, int]:
        """How many distinct agents each group of ``key`` holds."""
        counted = self._members().select(key, "agent_id").unique().group_by(key).len()
        return dict(zip(counted[key].to_list(), counted["len"].to_list(), strict=True))

    def rows(self, key: str) -> list[tuple[str, int, Decimal]]:
        """Agent-months and pay total per value of ``key``, sorted."""
        return [(k, int(v[0]), v[1]) for k, v in self._sorted(key)]

    def blocks(self) -> list[tuple[str, list[tuple[str, int, int, Decimal]]]]:
        """Per key, its heading and its rows (group, agents, agent-months, pay), the grand total last."""
        lang = self.lang
        found = []
        for key in self.by:
            heading = self.heading(key)
            rows = [(self.shown(key, k), agents, months, pay) for k, agents, months, pay in self.counts(key)]
            rows.append((say("totals.total", lang), self.agent_count, self.count, self.total))
            found.append((heading, rows))
        return found

    def table(self) -> str:
        """One block per key: agents, agent-months and pay by group, then the grand total."""
        lang = self.lang
        blocks = []
        for heading, rows in self.blocks():
            headers = [heading, say("totals.agents", lang), say("totals.months", lang), say("totals.pay_column", lang)]
            cells: list[list[object]] = [[name, agents, months, money(pay)] for name, agents, months, pay in rows]
            blocks.append(rows_table(headers, cells, right={1, 2, 3}))
        return "\n\n".join(blocks) + "\n"


_PLACES = 18
"""Totals with up to this many digits after the point are summed as polars decimals (exact in 38 digits)."""


_COMPACT = 1_000_000
"""Rows of (agent, group...) kept before they are made distinct."""


def _places(totals: pl.Series) -> int | None:
    """The most digits after the point among ``totals``, or None when some total is not plain decimal text."""
    if not totals.str.contains(r"^-?[0-9]+(\.[0-9]*)?$").all():
        return None
    after = totals.str.extract(r"\.([0-9]*)$").str.len_chars().fill_null(0).max()
    return int(after) if isinstance(after, int) and after <= _PLACES else None


def _exact(totals: pl.Series, places: int | None) -> list[pl.Expr]:
    """``totals`` as polars decimals with their own places (exact), or as text when ``places`` is None."""
    text = pl.lit(totals)
    if places is None:
        return [pl.lit(None, pl.Decimal(38, 0)).alias("__total"), pl.lit(0).alias("__places"), text.alias("__text")]
    own = text.str.extract(r"\.([0-9]*)$").str.len_chars().fill_null(0)
    return [
        text.str.to_decimal(scale=places).alias("__total"),
        own.alias("__places"),
        pl.lit(None, pl.String).alias("__text"),
    ]


def _sums(frame: pl.DataFrame, keys: list[str], places: int | None) -> dict[str, dict[str, tuple[int, Decimal]]]:
    """Agent-months and the exact pay total of each group of each key of ``frame`` (with the columns of ``_exact``).

    A total has as many places as the most any of its amounts has, as ``Decimal`` addition gives.
    """
    if places is None:  # text polars does not read as a decimal: added up as decimals, one by one
        slow: dict[str, dict[str, tuple[int, Decimal]]] = {key: {} for key in keys}
        for row in frame.select(*keys, "__text").iter_rows():
            for key, group in zip(keys, row, strict=False):
                months, total = slow[key].get(group, (0, ZERO))
                slow[key][group] = (months + 1, total + Decimal(row[-1]))
        return slow
    lazy = frame.lazy()
    queries = [
        lazy.group_by(key).agg(
            pl.len().alias("months"), pl.col("__total").sum().alias("sum"), pl.col("__places").max().alias("places")
        )
        for key in keys
    ]
    return {
        key: {
            group: (months, ZERO + total.quantize(Decimal(1).scaleb(-own)))
            for group, months, total, own in sums.iter_rows()
        }
        for key, sums in zip(keys, pl.collect_all(queries), strict=True)
    }


def summary_rows(outcome: Outcome, by: str) -> list[tuple[str, int, Decimal]]:
    """Agent-months and pay total per value of ``by`` (``level`` or an attribute), sorted."""
    return Summary([by]).add(outcome.cells).rows(by)


def summary_table(outcome: Outcome, lang: str = "en") -> str:
    """Agents, agent-months and pay by level paid, team and region; each block reconciles to the grand total."""
    return Summary.of(outcome.target, lang).add(outcome.cells).table()


def payroll_attributes(target: CompiledRuleset | RulesetVersions) -> list[str]:
    """The attributes the payroll export carries, in the ruleset's order: those decisions are grouped by (a team,
    a region: cost centres) and the kept columns (a name).

    Never the others (gender, protected leave, status, dates): finance has no use for them and
    should not receive them (data minimisation, PIPL art. 6).
    """
    rulesets = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    wanted = {name for one in rulesets for name in (*grouping_attributes(one), *one.model.keep)}
    return [name for name in attributes(target) if name in wanted]


def payroll_columns(ruleset: CompiledRuleset | RulesetVersions, adjusting: bool = False) -> list[str]:
    """The fixed columns of the payroll export (with ``adjustment`` before the total for a run kept in a ledger)."""
    return [
        "agent_id", "period", *payroll_attributes(ruleset), *(["ladder"] if has_ladders(ruleset) else []), "pay_level",
        "grade", "coefficient", *line_ids(ruleset), "probation_floor", "minimum_wage", "rounding",
        *(["adjustment"] if adjusting else []), "total", "currency", "ruleset_version", "ruleset_sha256",
    ]  # fmt: skip


def payroll_csv(outcome: Outcome, ruleset: CompiledRuleset | RulesetVersions) -> str:
    """One row per agent-period with fixed columns, ordered by period then agent id."""
    return payroll_rows([p.cells for p in outcome.parts], ruleset, adjusting=outcome.adjusting)


def payroll_rows(
    parts: Iterable[pl.DataFrame],
    ruleset: CompiledRuleset | RulesetVersions,
    header: bool = True,
    adjusting: bool = False,
) -> str:
    """Payroll export rows from decisions' CSV cells (fixed columns, in their order), with or without the header."""
    frame = payroll_frame(parts, ruleset, adjusting)
    text = "" if not header else ",".join(frame.columns) + "\n"
    if frame.height:
        text += frame.write_csv(include_header=False, quote_style="necessary", line_terminator="\n")
    return text


def payroll_frame(
    parts: Iterable[pl.DataFrame], ruleset: CompiledRuleset | RulesetVersions, adjusting: bool = False
) -> pl.DataFrame:
    """The payroll export's cells (text, null when empty) from decisions' CSV cells, in the fixed columns."""
    columns = payroll_columns(ruleset, adjusting)
    frames = []
    for cells in parts:
        if not cells.height or "pay_total" not in cells.columns:
            continue
        paid = cells.filter(pl.col("pay_total").is_not_null())
        version = paid["ruleset_sha256"][0] if paid.height else None
        if version is not None and "ladder" in paid.columns:  # each ladder's pay reads the coefficient or not
            for name, ladder in version_of(ruleset, version).ladders.items():
                if not _pays_coefficient(ladder):
                    drop = pl.col("ladder") == name
                    paid = paid.with_columns(
                        pl.when(drop).then(None).otherwise(pl.col("coefficient")).alias("coefficient")
                    )
        elif version is not None and not _uses_coefficient(ruleset, version):
            paid = paid.with_columns(pl.lit(None, pl.String).alias("coefficient"))
        renamed = {c: c[4:] for c in paid.columns if c.startswith("pay_") and c != "pay_level"}
        frames.append(paid.rename(renamed))
    if not frames:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    frame = pl.concat(frames, how="diagonal")
    return frame.select([pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns])


def _uses_coefficient(target: CompiledRuleset | RulesetVersions, sha256: str) -> bool:
    return _pays_coefficient(version_of(target, sha256))


def _pays_coefficient(ruleset: CompiledRuleset) -> bool:
    pay = ruleset.model.pay
    return pay is not None and uses_coefficient(pay, ruleset.model.grades)


def statement_json(decisions: Iterable[Decision]) -> str:
    """Pay statements as JSON: agent, period, level, grade and the lines with their basis."""
    import json

    items = [
        {
            "agent_id": d.agent_id,
            "period": d.period,
            **({"ladder": d.ladder} if d.ladder is not None else {}),  # with ladders only, as the decisions' JSON
            "grade": d.grade,
            "pay": d.pay.model_dump(mode="json"),
        }
        for d in decisions
        if d.pay is not None
    ]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


# --- review --------------------------------------------------------------------------------


def review_text(outcome: Outcome, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """Each period's cohorts ranked best first, with flags, stages, ties and exemptions, in ``lang``.

    With ladders, each ladder's cohorts under its own review rule, the ladder named with the cohort.
    """
    if ruleset.ladders:
        decisions = list(outcome.decisions)
        found = [
            block
            for name, ladder in ruleset.ladders.items()
            if ladder.model.review is not None
            for block in _review_blocks([d for d in decisions if d.ladder == name], ladder, lang, name)
        ]
        if not any(ladder.model.review is not None for ladder in ruleset.ladders.values()):
            return say("review.none", lang) + "\n"
    elif ruleset.model.review is None:
        return say("review.none", lang) + "\n"
    else:
        found = _review_blocks(outcome.decisions, ruleset, lang)
    blocks = [text for _, text in sorted(found, key=lambda b: b[0])]  # by period, ladders in order
    return "\n\n".join(blocks) + "\n\n" + say("review.footer", lang) + "\n"


def _review_blocks(
    decisions: Iterable[Decision], ruleset: CompiledRuleset, lang: str, ladder: str | None = None
) -> list[tuple[str, str]]:
    """``review_text``'s blocks of one ruleset (or ladder), each with its period."""
    rule = ruleset.model.review
    assert rule is not None
    names = pay_names(ruleset)
    by = names[rule.rank_by].text(lang) if rule.rank_by in names else rule.rank_by
    stages = {s.code: named(s.code, s.label).text(lang) for s in _stages(rule)}
    reasons = {e.code: named(e.code, e.reason, english_id=True).text(lang) for e in rule.exempt}
    keep = ruleset.model.keep

    def kept(d: Decision) -> list[str]:  # the kept columns (a name) beside the agent
        return [str(d.values.get(k) or "") for k in keep]

    reasons.setdefault("decision", say("decided.exempt", lang))  # exempt_review, a person's decision
    blocks: list[tuple[str, str]] = []
    by_cohort: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for d in decisions:
        if d.review is not None:
            by_cohort[(d.period, d.review.cohort)].append(d)
    for (period, code), members in sorted(by_cohort.items()):
        cohort = cohort_text(code, ruleset, lang)
        cohort = f"{ladder}: {cohort}" if ladder is not None else cohort
        ranked = sorted((d for d in members if d.review and d.review.ranked), key=_rank_key)
        others = sorted((d for d in members if d.review and not d.review.ranked), key=lambda d: d.agent_id)
        first = members[0].review
        assert first is not None
        if ranked:
            k = ranked[0].review.bottom_count if ranked[0].review else 0
            title = say("review.title", lang, period=period, cohort=cohort, ranked=len(ranked), by=by, bottom=k or 0)
        elif first.exempt:
            title = say("review.title_nobody", lang, period=period, cohort=cohort)
        else:
            why = say("review.too_small", lang, cohort=cohort, size=first.cohort_size, minimum=rule.min_cohort_size)
            title = say("review.title_not_ranked", lang, period=period, cohort=cohort, why=why)
        rows: list[list[object]] = []
        for d in ranked:
            r = d.review
            assert r is not None
            status = say("review.flagged", lang) if r.flagged else say("review.tied", lang) if r.tied_at_cutoff else ""
            cleared = next((h for h in d.decided if h.decision == "clear_review"), None)
            if cleared is not None:
                status = say("review.cleared_by", lang, by=cleared.by)
            stage = stages.get(r.stage, r.stage) if r.flagged and r.stage else ""
            rows.append([r.rank, d.agent_id, *kept(d), _d(r.value), _d(r.percentile), status, stage])
        for d in others:
            r = d.review
            assert r is not None
            status = (
                say("review.exempt", lang, reason=reasons.get(r.exempt, r.exempt))
                if r.exempt
                else say("review.not_ranked", lang)
            )
            rows.append(["-", d.agent_id, *kept(d), _d(r.value), "", status, ""])
        headers = [
            say("review.rank", lang),
            say("table.agent", lang),
            *keep,
            by,
            say("review.percentile", lang),
            say("review.status", lang),
            say("review.stage", lang),
        ]
        table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
        blocks.append((period, f"{title}\n{table}"))
    return blocks


def cohort_text(cohort: str, ruleset: CompiledRuleset, lang: str) -> str:
    """A review cohort (``team=T1, region=tier2``) with each attribute named in ``lang``: ids in English."""
    names = _short(ruleset, lang)
    parts = [part.partition("=") for part in cohort.split(", ")]
    return ", ".join(f"{names.get(k, k)}={v}" if eq else k for k, eq, v in parts)


def _rank_key(d: Decision) -> tuple[int, str]:
    return (d.review.rank or 0 if d.review else 0, d.agent_id)


def fairness_table(report: FairnessReport, lang: str = "en", ruleset: CompiledRuleset | None = None) -> str:
    """The fairness screen as a table in ``lang``, with a warning line per group a screen signals, and its note.

    In Chinese the attribute is named by its label in ``ruleset``; English shows its id.
    """
    attribute = (
        _names(ruleset).get(report.attribute, Named(report.attribute)).text(lang) if ruleset else report.attribute
    )
    signals = (
        ("fairness.below", "below_four_fifths"),
        ("fairness.ratio", "flag_ratio_signal"),
        ("fairness.fisher_signal", "fisher_signal"),
    )
    rows = [
        [
            g.group,
            g.ranked,
            g.flagged,
            _d(g.flag_rate),
            _d(g.rest_ratio) if g.rest_ratio is not None else ("∞" if g.flagged and g.rest_ranked else "-"),
            _d(g.pass_rate),
            _d(g.impact_ratio),
            _p(g.fisher_p),
            " ".join(say(key, lang) for key, field in signals if getattr(g, field)),
        ]
        for g in report.groups
    ]
    headers = [
        attribute,
        *(
            say(f"fairness.{key}", lang)
            for key in ("ranked", "flagged", "flag_rate", "rest", "pass_rate", "impact", "fisher", "screen")
        ),
    ]
    table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    warnings = "".join(say("fairness.warned", lang, text=w) + "\n" for w in fairness_warnings(report, lang, attribute))
    title = say("fairness.title", lang, attribute=attribute, periods=", ".join(report.periods))
    title = f"{report.ladder}: {title}" if report.ladder is not None else title
    return f"{title}\n{table}\n{warnings}{fairness_note(report, lang)}\n"


def _p(p: Decimal | None) -> str:
    """A p-value as printed: four significant figures, never in exponent form."""
    return "-" if p is None else format(p, "f")


def comparison_text(
    c: Comparison, lang: str = "en", old: CompiledRuleset | None = None, new: CompiledRuleset | None = None
) -> str:
    """A comparison for an analyst: how many change and of what kind, who moves, and the pay by group.

    The old ruleset is the one in force, the new one the proposal; columns say which is
    which (``old level``, ``new level``), never an arrow. In Chinese, levels show the labels
    of ``old`` and ``new``.
    """
    level_old = _short(old, lang) if old is not None else {}
    level_new = _short(new, lang) if new is not None else {}
    stamp = {"name": c.old.name, "version": c.old.version, "sha": c.old.sha256[:12]}
    lines = [
        say("diff.old", lang, **stamp),
        say("diff.new", lang, name=c.new.name, version=c.new.version, sha=c.new.sha256[:12]),
        say("diff.compared", lang, compared=c.compared, changed=len(c.changes)),
    ]
    kinds = [(kind, count) for kind, count in c.kinds.items() if count]
    if kinds:
        lines.append(say("diff.by_kind", lang))
        width = max(len(str(count)) for _, count in kinds)
        lines += [f"  {count:>{width}}  {say(f'diff.kind.{kind}', lang)}" for kind, count in kinds]
    none = say("diff.none", lang)
    lines.append(
        say("diff.lose", lang, agents=", ".join(sorted({ch.agent_id for ch in c.changes if ch.level_move < 0})) or none)
    )
    lines.append(
        say("diff.gain", lang, agents=", ".join(sorted({ch.agent_id for ch in c.changes if ch.level_move > 0})) or none)
    )
    change = (
        say("diff.saved", lang, amount=money(-c.delta))
        if c.delta < 0
        else say("diff.more", lang, amount=money(c.delta))
        if c.delta > 0
        else say("diff.same", lang)
    )
    lines.append(say("diff.pay", lang, old=money(c.pay_old), new=money(c.pay_new), change=change))
    blocks = ["\n".join(lines)]
    if c.changes:
        blocks.append(_changes_table(c, lang, level_old, level_new))
    for key, groups in c.by.items():
        heading = say("diff.level_old", lang) if key == "level" else (_short(old, lang).get(key, key) if old else key)
        names = level_old if key == "level" else {}
        table = [
            [names.get(g.group, g.group), g.agents, money(g.pay_old), money(g.pay_new), _signed(g.delta)]
            for g in groups
        ]
        headers = [
            heading,
            say("diff.months", lang),
            say("diff.pay_old", lang),
            say("diff.pay_new", lang),
            say("diff.difference", lang),
        ]
        blocks.append(rows_table(headers, table, right={1, 2, 3, 4}))
    if c.only_old or c.only_new:
        blocks.append(say("diff.only_one", lang, old=len(c.only_old), new=len(c.only_new)))
    return "\n\n".join(blocks) + "\n"


def _changes_table(c: Comparison, lang: str, level_old: Mapping[str, str], level_new: Mapping[str, str]) -> str:
    """One row per change: its kind, the level under each ruleset, what else differs, and the pay.

    Grade, review, probation and level-paid columns appear only when some change differs in them.
    """
    flagged = say("diff.flagged", lang)
    status = {True: say("diff.on_probation", lang), False: say("diff.regular", lang)}

    def old(level: str | None) -> str:
        return level_old.get(level or "", level or "")

    def new(level: str | None) -> str:
        return level_new.get(level or "", level or "")

    columns: list[tuple[str, Callable[[Change], str]]] = [
        ("diff.agent", lambda ch: ch.agent_id),
        ("diff.period", lambda ch: ch.period),
        ("diff.what", lambda ch: say(f"diff.short.{ch.kind}", lang)),
        ("diff.level_old", lambda ch: old(ch.level_old)),
        ("diff.level_new", lambda ch: new(ch.level_new)),
    ]
    if any(ch.grade_old != ch.grade_new for ch in c.changes):
        columns += [
            ("diff.grade_old", lambda ch: ch.grade_old or ""),
            ("diff.grade_new", lambda ch: ch.grade_new or ""),
        ]
    if any(ch.flagged_old != ch.flagged_new for ch in c.changes):
        columns += [
            ("diff.flag_old", lambda ch: flagged if ch.flagged_old else ""),
            ("diff.flag_new", lambda ch: flagged if ch.flagged_new else ""),
        ]
    if any(ch.probation_old != ch.probation_new for ch in c.changes):
        columns += [
            ("diff.probation_old", lambda ch: status[ch.probation_old]),
            ("diff.probation_new", lambda ch: status[ch.probation_new]),
        ]
    if any(ch.pay_level_old != ch.pay_level_new for ch in c.changes):
        columns += [
            ("diff.paid_old", lambda ch: old(ch.pay_level_old)),
            ("diff.paid_new", lambda ch: new(ch.pay_level_new)),
        ]
    columns += [
        ("diff.pay_old", lambda ch: money(ch.pay_old)),
        ("diff.pay_new", lambda ch: money(ch.pay_new)),
        ("diff.difference", lambda ch: _signed(ch.delta)),
    ]
    rows = [[cell(ch) for _, cell in columns] for ch in c.changes]
    n = len(columns)
    return rows_table([say(key, lang) for key, _ in columns], rows, right={n - 3, n - 2, n - 1})


def _signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + money(amount)
