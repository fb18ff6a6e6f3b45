"""Rendering outcomes for people and programs: tables, CSV, JSON, pay statements, summaries.

Every function returns text; writing it anywhere is the caller's business. Row order is
stable (period, then agent id) and decimals are printed exactly, so the same outcome always
renders to the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import polars as pl
from tabulate import tabulate

from tierpay.engine.cells import attributes, line_ids
from tierpay.engine.outcome import Outcome, PeriodPart
from tierpay.engine.pay import line_label, money, number, uses_coefficient
from tierpay.engine.records import Rejection
from tierpay.engine.results import Decision, Gap
from tierpay.outputs.compare import Comparison
from tierpay.outputs.fairness import FairnessReport
from tierpay.outputs.text_table import simple_table
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import label_text
from tierpay.ruleset.versions import RulesetVersions, version_of

ZERO = Decimal(0)


def _d(value: Decimal | None) -> str:
    return "" if value is None else number(value)


def level_change(d: Decision) -> str:
    """``L2`` when unchanged, ``L2→L3`` when it moved."""
    return d.level if d.level == d.level_before else f"{d.level_before}→{d.level}"


def review_cell(d: Decision) -> str:
    """A short review status: ``FLAG coaching``, ``exempt: probation``, ``3/16``..."""
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


def decisions_table(outcome: Outcome, ruleset: CompiledRuleset, tablefmt: str = "simple") -> str:
    """A readable table of every decision, rendered from the decisions' columns."""
    attrs = [a for a in ("team", "region") if a in ruleset.model.attributes]
    headers = [
        "agent",
        "period",
        *attrs,
        "level",
        "action",
        "qualifies",
        "score",
        "grade",
        "review",
        f"pay ({ruleset.model.currency})",
    ]
    frames = []
    for part in outcome.parts:
        cells = part.cells
        if not cells.height:
            continue
        frames.append(
            cells.select(
                "agent_id",
                "period",
                *[pl.col(a) for a in attrs],
                pl.when(pl.col("level") == pl.col("level_before"))
                .then(pl.col("level"))
                .otherwise(pl.concat_str("level_before", pl.lit("→"), "level"))
                .alias("level"),
                "action",
                "qualified_level",
                "score",
                "grade",
                _review_cell(_ties(part)),
                _money(cells["pay_total"]),
            )
        )
    empty = pl.DataFrame(schema=dict.fromkeys(headers, pl.String))
    frame = pl.concat([f.rename(dict(zip(f.columns, headers, strict=True))) for f in frames]) if frames else empty
    return simple_table(headers, frame)


def _ties(part: PeriodPart) -> pl.Series:
    """Whether each decided row of ``part`` is tied at its cohort's review cut-off."""
    run = part.run
    if run is None or run.review_out is None:
        return pl.Series("tie", [False] * part.cells.height)
    at = run.review_pos[run.decided]
    return pl.Series("tie", run.review_out.at_cutoff[at])


def _review_cell(ties: pl.Series) -> pl.Expr:
    """A short review status: ``FLAG coaching 3/16``, ``exempt: probation``, ``3/16 tie``..."""
    place = pl.concat_str("review_rank", pl.lit("/"), "review_cohort_size")
    flagged = pl.concat_str(pl.lit("FLAG "), pl.col("review_stage").fill_null(""), pl.lit(" "), place).str.replace(
        "  ", " ", literal=True
    )
    return (
        pl.when(pl.col("review_cohort").is_null())
        .then(pl.lit(""))
        .when(pl.col("review_exempt").is_not_null())
        .then(pl.concat_str(pl.lit("exempt: "), "review_exempt"))
        .when(pl.col("review_rank").is_null())
        .then(pl.lit("not ranked"))
        .when(pl.col("review_flagged") == "true")
        .then(flagged)
        .when(pl.lit(ties))
        .then(pl.concat_str(place, pl.lit(" tie")))
        .otherwise(place)
        .alias("review")
    )


def _money(column: pl.Series) -> pl.Series:
    """Amounts as ``money`` writes them (thousands separated, two places), each distinct text once."""
    distinct = column.drop_nulls().unique().to_list()
    written = {text: money(Decimal(text)) for text in distinct}
    return column.replace_strict(written, default=None, return_dtype=pl.String).fill_null("").alias("pay")


def gaps_text(gaps: Sequence[Gap]) -> str:
    """One line per agent-period with no record."""
    return "".join(f"gap: agent {g.agent_id} has no record for {g.period} (last seen {g.last_period})\n" for g in gaps)


def rejections_text(rejections: Sequence[Rejection]) -> str:
    """One line per rejected record, with every reason."""
    return "".join(f"rejected: {r}\n" for r in rejections)


def decisions_csv(outcome: Outcome) -> str:
    """Every decision as a CSV row with fixed columns (``decision_columns``)."""
    return outcome.csv()


def outcome_json(outcome: Outcome) -> str:
    """The whole outcome as JSON, decimals as exact strings."""
    return outcome.to_json() + "\n"


# --- pay statements and payroll ------------------------------------------------------------


def statement_text(decision: Decision, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """One agent's pay statement: every line, how it was computed, and the total."""
    if decision.pay is None:
        return f"{decision.agent_id} {decision.period}: no pay section in the ruleset\n"
    pay = decision.pay
    level = next(lv for lv in ruleset.model.levels if lv.id == pay.level)
    title = "Pay statement" if lang == "en" else "工资条"
    head = [
        f"{title}: {decision.agent_id}  {decision.period}",
        _statement_head(decision, ruleset, level.id, label_text(level.name, lang, level.id), lang),
        f"{'Ruleset' if lang == 'en' else '规则'} {ruleset.name} {ruleset.version} ({ruleset.sha256[:12]})",
        "",
    ]
    rows = [
        [line_label(ruleset.model.pay, line.id, lang, line.label), money(line.amount), line.basis] for line in pay.lines
    ]
    rows.append(["Total" if lang == "en" else "合计", money(pay.total), pay.currency])
    table = tabulate(
        rows,
        headers=["line", "amount", "how"] if lang == "en" else ["项目", "金额", "计算方式"],
        tablefmt="simple",
        disable_numparse=True,
        colalign=("left", "right", "left"),
    )
    return "\n".join(head) + table + "\n"


def _statement_head(decision: Decision, ruleset: CompiledRuleset, level_id: str, level_name: str, lang: str) -> str:
    pay = decision.pay
    assert pay is not None
    coefficient = number(pay.coefficient) if pay.coefficient is not None else None
    if lang == "zh":
        text = f"级别 {level_id} {level_name}"
        text += f"，绩效等级 {decision.grade}" if decision.grade else ""
        return text + (f"，绩效系数 {coefficient}" if coefficient else "")
    text = f"Level {level_id} {level_name}"
    text += f", grade {decision.grade}" if decision.grade else ""
    return text + (f", coefficient {coefficient}" if coefficient else "")


def statement_csv(decisions: Iterable[Decision]) -> str:
    """Pay statement lines as CSV: one row per line per agent-period."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["agent_id", "period", "line", "kind", "amount", "currency", "basis"])
    for d in decisions:
        if d.pay is None:
            continue
        for line in d.pay.lines:
            writer.writerow([d.agent_id, d.period, line.id, line.kind, line.amount, d.pay.currency, line.basis])
        writer.writerow([d.agent_id, d.period, "total", "total", d.pay.total, d.pay.currency, ""])
    return out.getvalue()


class Summary:
    """Head counts and pay totals by level and attributes, added up period by period."""

    def __init__(self, by: Sequence[str] = ("level", "team", "region")) -> None:
        self.by = list(by)
        self.groups: dict[str, dict[str, list[Any]]] = {key: defaultdict(lambda: [0, ZERO]) for key in self.by}
        self.count = 0
        self.total = ZERO

    def add(self, cells: pl.DataFrame) -> Summary:
        """Count in these decisions (the decisions' CSV cells: pay level, attributes, total)."""
        if not cells.height or "pay_total" not in cells.columns:
            return self
        paid = cells.filter(pl.col("pay_total").is_not_null())
        totals = [Decimal(t) for t in paid["pay_total"].to_list()]
        self.count += len(totals)
        self.total += sum(totals, ZERO)
        for key in self.by:
            column = "pay_level" if key == "level" else key
            names = paid[column].fill_null("").to_list() if column in paid.columns else [""] * len(totals)
            for name, total in zip(names, totals, strict=True):
                cell = self.groups[key][name]
                cell[0] += 1
                cell[1] += total
        return self

    def rows(self, key: str) -> list[tuple[str, int, Decimal]]:
        """Head count and pay total per value of ``key``, sorted."""
        return [(k, int(v[0]), v[1]) for k, v in sorted(self.groups[key].items())]

    def table(self, tablefmt: str = "simple") -> str:
        """One block per key; each block's total line is the grand total."""
        blocks = []
        for key in self.by:
            rows: list[list[Any]] = [[k, n, money(t)] for k, n, t in self.rows(key)]
            rows.append(["total", self.count, money(self.total)])
            blocks.append(
                tabulate(
                    rows,
                    headers=[key, "agents", "pay"],
                    tablefmt=tablefmt,
                    disable_numparse=True,
                    colalign=("left", "right", "right"),
                )
            )
        return "\n\n".join(blocks) + "\n"


def summary_rows(outcome: Outcome, by: str) -> list[tuple[str, int, Decimal]]:
    """Head count and pay total per value of ``by`` (``level`` or an attribute), sorted."""
    return Summary([by]).add(outcome.cells).rows(by)


def summary_table(outcome: Outcome, by: Sequence[str] = ("level", "team", "region"), tablefmt: str = "simple") -> str:
    """Pay totals by level, team and region; each block reconciles to the grand total."""
    return Summary(by).add(outcome.cells).table(tablefmt)


def payroll_columns(ruleset: CompiledRuleset | RulesetVersions) -> list[str]:
    """The fixed columns of the payroll export."""
    return [
        "agent_id", "period", *attributes(ruleset), "pay_level", "grade", "coefficient",
        *line_ids(ruleset), "probation_floor", "minimum_wage", "rounding", "total", "currency",
        "ruleset_version", "ruleset_sha256",
    ]  # fmt: skip


def payroll_csv(outcome: Outcome, ruleset: CompiledRuleset | RulesetVersions) -> str:
    """One row per agent-period with fixed columns, ordered by period then agent id."""
    return payroll_rows([p.cells for p in outcome.parts], ruleset)


def payroll_rows(parts: Iterable[pl.DataFrame], ruleset: CompiledRuleset | RulesetVersions, header: bool = True) -> str:
    """Payroll export rows from decisions' CSV cells (fixed columns, in their order), with or without the header."""
    columns = payroll_columns(ruleset)
    frames = []
    for cells in parts:
        if not cells.height or "pay_total" not in cells.columns:
            continue
        paid = cells.filter(pl.col("pay_total").is_not_null())
        version = paid["ruleset_sha256"][0] if paid.height else None
        if version is not None and not _uses_coefficient(ruleset, version):
            paid = paid.with_columns(pl.lit(None, pl.String).alias("coefficient"))
        renamed = {c: c[4:] for c in paid.columns if c.startswith("pay_") and c != "pay_level"}
        frames.append(paid.rename(renamed))
    text = "" if not header else ",".join(columns) + "\n"
    if frames:
        frame = pl.concat(frames, how="diagonal")
        frame = frame.select([pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns])
        text += frame.write_csv(include_header=False, quote_style="necessary", line_terminator="\n")
    return text


def _uses_coefficient(target: CompiledRuleset | RulesetVersions, sha256: str) -> bool:
    ruleset = version_of(target, sha256)
    pay = ruleset.model.pay
    return pay is not None and uses_coefficient(pay, ruleset.model.grades)


def statement_json(decisions: Iterable[Decision]) -> str:
    """Pay statements as JSON: agent, period, level, grade and the lines with their basis."""
    import json

    items = [
        {"agent_id": d.agent_id, "period": d.period, "grade": d.grade, "pay": d.pay.model_dump(mode="json")}
        for d in decisions
        if d.pay is not None
    ]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


# --- review --------------------------------------------------------------------------------


def review_text(outcome: Outcome, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """Each period's cohorts ranked best first, with flags, stages, ties and exemptions."""
    from tierpay.engine.review import stage_label

    rule = ruleset.model.review
    if rule is None:
        return "the ruleset declares no review\n"
    blocks: list[str] = []
    by_cohort: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for d in outcome.decisions:
        if d.review is not None:
            by_cohort[(d.period, d.review.cohort)].append(d)
    for (period, cohort), members in sorted(by_cohort.items()):
        ranked = sorted((d for d in members if d.review and d.review.ranked), key=_rank_key)
        others = sorted((d for d in members if d.review and not d.review.ranked), key=lambda d: d.agent_id)
        first = members[0].review
        assert first is not None
        if ranked:
            k = ranked[0].review.bottom_count if ranked[0].review else 0
            title = f"{period}  {cohort}: {len(ranked)} ranked by {rule.rank_by}, bottom {k} flagged for review"
        else:
            title = (
                f"{period}  {cohort}: not ranked ({first.reason})"
                if not first.exempt
                else f"{period}  {cohort}: nobody ranked"
            )
        rows = []
        for d in ranked:
            r = d.review
            assert r is not None
            status = (
                "FLAG" if r.flagged else ("tie at cut-off, not flagged" if r.tied_at_cutoff and not r.flagged else "")
            )
            stage = stage_label(rule, r.stage, lang) if r.flagged else ""
            rows.append([r.rank, d.agent_id, _d(r.value), _d(r.percentile), status, stage])
        for d in others:
            r = d.review
            assert r is not None
            rows.append(["-", d.agent_id, _d(r.value), "", f"exempt: {r.exempt}" if r.exempt else "not ranked", ""])
        table = tabulate(
            rows,
            headers=["rank", "agent", rule.rank_by, "percentile", "review", "stage"],
            tablefmt="simple",
            disable_numparse=True,
        )
        blocks.append(f"{title}\n{table}")
    footer = (
        "\nA flag asks a person to review, coach or agree an improvement plan. Bottom rank alone is not grounds "
        "for dismissal (SPC Guiding Case No. 18); tierpay never decides one.\n"
    )
    return "\n\n".join(blocks) + "\n" + footer


def _rank_key(d: Decision) -> tuple[int, str]:
    return (d.review.rank or 0 if d.review else 0, d.agent_id)


def fairness_table(report: FairnessReport) -> str:
    """The fairness screen as a table, with a warning line per group a screen signals, and its note."""
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
            " ".join(
                s
                for s, on in (
                    ("BELOW 4/5", g.below_four_fifths),
                    ("RATIO", g.flag_ratio_signal),
                    ("FISHER", g.fisher_signal),
                )
                if on
            ),
        ]
        for g in report.groups
    ]
    headers = [
        report.attribute,
        "ranked",
        "flagged",
        "flag rate",
        "× rest",
        "pass rate",
        "impact ratio",
        "Fisher p",
        "screen",
    ]
    table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    warnings = "".join(f"warning: {w}\n" for w in report.warnings)
    return f"Fairness screen by {report.attribute} ({', '.join(report.periods)})\n{table}\n{warnings}{report.note}\n"


def _p(p: Decimal | None) -> str:
    """A p-value as printed: four significant figures, never in exponent form."""
    return "-" if p is None else format(p, "f")


def comparison_text(c: Comparison) -> str:
    """A comparison for an analyst: who moves, and the pay delta by group."""
    head = (
        f"old: {c.old.name} {c.old.version} ({c.old.sha256[:12]})\n"
        f"new: {c.new.name} {c.new.version} ({c.new.sha256[:12]})\n"
        f"{c.compared} agent-periods compared, {len(c.changes)} changed: {c.lose_level} at a lower level, "
        f"{c.gain_level} at a higher level, {c.grade_changes} with another grade, "
        f"{c.flag_changes} with another review flag\n"
        f"agents who lose a level: {', '.join(sorted({ch.agent_id for ch in c.changes if ch.level_move < 0})) or 'none'}\n"
        f"agents who gain a level: {', '.join(sorted({ch.agent_id for ch in c.changes if ch.level_move > 0})) or 'none'}\n"
        f"pay: {money(c.pay_old)} → {money(c.pay_new)} ({_signed(c.delta)}"
        + (f", {money(-c.delta)} saved" if c.delta < 0 else f", {money(c.delta)} more" if c.delta > 0 else "")
        + ")\n"
    )
    rows = [
        [
            ch.agent_id,
            ch.period,
            ch.level_old if ch.level_old == ch.level_new else f"{ch.level_old}→{ch.level_new}",
            (ch.grade_old or "") if ch.grade_old == ch.grade_new else f"{ch.grade_old}→{ch.grade_new}",
            "" if ch.flagged_old == ch.flagged_new else ("now flagged" if ch.flagged_new else "no longer flagged"),
            money(ch.pay_old),
            money(ch.pay_new),
            _signed(ch.delta),
        ]
        for ch in c.changes
    ]
    blocks = [head]
    if rows:
        blocks.append(
            tabulate(
                rows,
                headers=["agent", "period", "level", "grade", "review", "pay old", "pay new", "delta"],
                tablefmt="simple",
                disable_numparse=True,
            )
        )
    for key, groups in c.by.items():
        table = [[g.group, g.agents, money(g.pay_old), money(g.pay_new), _signed(g.delta)] for g in groups]
        blocks.append(
            tabulate(
                table,
                headers=[key, "agent-periods", "pay old", "pay new", "delta"],
                tablefmt="simple",
                disable_numparse=True,
            )
        )
    if c.only_old or c.only_new:
        blocks.append(
            f"decided under one ruleset only: old {len(c.only_old)}, new {len(c.only_new)} (rejected under the other)"
        )
    return "\n\n".join(blocks) + "\n"


def _signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + money(amount)
