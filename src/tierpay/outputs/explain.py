"""Explanations: why an agent got a decision, clause by clause, in English or Chinese.

Decisions keep the values every expression saw, so an explanation re-traces the compiled
expressions on demand, only for the agents asked about. Each comparison is shown with the
metric's label, its value, the bar and, when missed, by how much::

    ✗ QA score 82 < 85: not met (short by 3)
    ✗ 质检得分 82 未达到 85（差 3）
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tabulate import tabulate

from tierpay.engine.pay import line_label, money, number
from tierpay.engine.probation import cap_of, legal_cap
from tierpay.engine.results import Decision, PayLine
from tierpay.outputs.report import agent_named, cohort_text, ladder_name
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.expressions import Clause, format_value
from tierpay.ruleset.model import label_text
from tierpay.words import LANGS, WHY_ZH, WORDS, say


class _Explainer:
    def __init__(self, ruleset: CompiledRuleset, decision: Decision, lang: str, ladder: str | None = None) -> None:
        self.ladder = ladder
        """The decision's ladder as a cell shows it, with ladders."""
        self.r = ruleset
        self.m = ruleset.model
        self.d = decision
        self.lang = lang
        self.lines: list[str] = []

    # --- words -----------------------------------------------------------------------------

    def t(self, key: str, **fields: str | int) -> str:
        return say(f"explain.{key}", self.lang, **fields)

    def label(self, name: str) -> str:
        if name in self.m.metrics:
            metric = self.m.metrics[name]
            return label_text(metric.label, self.lang, name)
        if name in self.m.attributes:
            return label_text(self.m.attributes[name].label, self.lang, name)
        if name in self.m.derived:
            return label_text(self.m.derived[name].label, self.lang, name)
        if self.m.scorecard is not None and name == self.m.scorecard.name:
            return label_text(self.m.scorecard.label, self.lang, name)
        return name

    def unit(self, name: str) -> str:
        metric = self.m.metrics.get(name)
        if metric is None or metric.unit is None:
            return ""
        unit = say(f"unit.{metric.unit}", self.lang) if f"unit.{metric.unit}" in WORDS else metric.unit
        return unit if unit == "%" else f" {unit}"

    def level_name(self, level_id: str) -> str:
        level = next((lv for lv in self.m.levels if lv.id == level_id), None)
        if level is None:  # a level of the ladder an agent was moved from (set_ladder)
            return level_id
        return f"{level_id} {label_text(level.name, self.lang, level_id)}"

    # --- clauses ----------------------------------------------------------------------------

    def clause(self, clause: Clause, depth: int) -> None:
        pad = "  " * depth
        if not clause.reached and clause.value is None:  # guarded by the part that decided the `and`/`or`
            self.lines.append(f"{pad}· `{clause.text}`: {self.t('skipped', error=str(clause.error))}")
            return
        mark = "✓" if clause.held else "✗"
        if clause.op in ("and", "or") and clause.children:
            self.lines.append(f"{pad}{mark} {self.t('all' if clause.op == 'and' else 'any')}")
            for child in clause.children:
                self.clause(child, depth + 1)
            return
        if clause.op == "not" and clause.children:
            self.lines.append(f"{pad}{mark} {self.t('not', text=clause.children[0].text)}")
            return
        if clause.left is not None and clause.right is not None and clause.op is not None:
            self.lines.append(f"{pad}{mark} {self.comparison(clause)}")
            return
        self.lines.append(f"{pad}{mark} `{clause.text}` = {format_value(clause.value)}")

    def comparison(self, clause: Clause) -> str:
        assert clause.left is not None
        assert clause.right is not None
        assert clause.op is not None
        (ltext, lvalue), (rtext, rvalue) = clause.left, clause.right
        name = self.label(ltext) if ltext.isidentifier() else f"`{ltext}`"
        unit = self.unit(ltext) if ltext.isidentifier() else ""
        lshow = format_value(lvalue).strip("'") + unit if not isinstance(lvalue, str) else lvalue
        rshow = format_value(rvalue) if not rtext.isidentifier() else f"{self.label(rtext)} {format_value(rvalue)}"
        if isinstance(rvalue, Decimal) and not rtext.isidentifier():
            rshow = format_value(rvalue) + unit
        gap = ""
        if (
            not clause.held
            and isinstance(lvalue, Decimal)
            and isinstance(rvalue, Decimal)
            and clause.op in (">=", ">", "<=", "<")
        ):
            short = clause.op in (">=", ">")
            gap = self.t("short" if short else "over", amount=number(abs(lvalue - rvalue)) + unit)
        key = f"explain.{'held' if clause.held else 'missed'}.{clause.op}"
        op = say(key, self.lang) if key in WORDS else clause.op if clause.held else f"not {clause.op}"
        met = self.t("met" if clause.held else "not_met")
        return self.t("clause", name=name, value=lshow, op=op, bar=rshow, met=met, gap=gap)

    def trace(self, title: str, path: str) -> None:
        expr = self.r.expr(path)
        if expr is None:
            return
        root = expr.trace(self.d.values)
        self.lines.append(self.t("criteria", title=title, met=self.t("met" if root.held else "not_met")))
        if root.op in ("and", "or"):
            for child in root.children:
                self.clause(child, 1)
        else:
            self.clause(root, 1)

    # --- sections ---------------------------------------------------------------------------

    def header(self) -> None:
        d = self.d
        move = (
            self.level_name(d.level) if d.level == d.level_before else f"{d.level_before} → {self.level_name(d.level)}"
        )
        action = say(f"action.{d.action}", self.lang)
        moves = [h for h in d.decided if h.decision == "set_ladder"]
        if moves:  # a move to another ladder is a person's decision, said as the table says it
            action = say("decided.table", self.lang, action=say("table.moved", self.lang), by=moves[0].by)
        period = d.period if self.ladder is None else d.period + say("statement.ladder", self.lang, ladder=self.ladder)
        self.lines.append(self.t("header", agent=agent_named(d, self.r), period=period, move=move, action=action))
        self.lines.append(f"  {d.why if self.lang == 'en' else self.why_zh()}")
        self.lines.append("")

    def why_zh(self) -> str:
        d = self.d
        m = self.m
        ids = self.r.level_ids
        state = d.state
        before = ids.index(d.level_before if d.level_before in ids else d.level)  # moved: entered at level
        nxt = self.level_name(ids[before + 1]) if before + 1 < len(ids) else ""
        held = {path for path, ok in d.checks.items() if ok}
        blocked = [v.code for i, v in enumerate(m.promotion.blocked_if) if f"promotion.blocked_if[{i}].when" in held]
        immediate = [
            v.code for i, v in enumerate(m.demotion.immediate_if) if f"demotion.immediate_if[{i}].when" in held
        ]
        probation = m.probation
        own = m.levels[before].min_periods
        minimum = own if own is not None else m.promotion.min_periods_in_level
        fields: dict[str, str | int] = {
            "level": self.level_name(d.level),
            "before": self.level_name(d.level_before),
            "level_id": d.level,
            "before_id": d.level_before,
            "next": nxt,
            "need": m.promotion.consecutive_periods,
            "streak": state.promote_streak,
            "in_level": state.periods_in_level,
            "minimum": minimum,
            "months": ", ".join(map(str, m.promotion.review_months or [])),
            "blocked": ", ".join(blocked),
            "immediate": ", ".join(immediate),
            "failed": state.maintain_fail_streak,
            "demote_after": m.demotion.consecutive_periods,
        }
        if probation is not None:
            longest = probation.max_periods + state.probation_extension
            fields.update(self.probation_fields(probation.start_date, probation.contract_term, longest))
        if d.decided:
            level_kinds = ("convert", "extend_probation", "set_level", "set_ladder")
            fields["decided"] = "；".join(h.quoted("zh") for h in d.decided if h.decision in level_kinds)
        if d.reason not in WHY_ZH:
            return d.why
        text = WHY_ZH[d.reason].format(**fields)
        if d.reason == "promoted" and m.promotion.pay_effective == "next_period":
            text += WHY_ZH["pay_next_period"]
        return text

    def probation_fields(self, start: str, term: str, max_periods: int) -> dict[str, str | int]:
        """What the probation reasons say: the month served, the cap, its end, the start date and term read."""
        d = self.d
        begun, agreed = (str(v) if v is not None else None for v in (d.values.get(start), d.values.get(term)))
        cap, _, end = cap_of(begun, agreed, max_periods)
        return {
            "served": d.state.probation_periods,
            "cap": cap,
            "legal": legal_cap(agreed) if agreed else "",
            "end": str(end),
            "begun": begun or "",
            "term": agreed or "",
            "from_month": self.m.probation.min_periods if self.m.probation else "?",
        }

    def levels(self) -> None:
        d = self.d
        ids = self.r.level_ids
        before = ids.index(d.level_before if d.level_before in ids else d.level)  # moved: entered at level
        if d.state.on_probation or d.action in ("convert", "extend_probation", "probation_review"):
            self.trace(self.t("convert"), "probation.convert_if")
            self.lines.append("")
            return
        target = ids.index(d.level) if d.action == "promote" else before + 1
        if target < len(ids):
            self.trace(self.t("next_entry", level=self.level_name(ids[target])), f"levels[{target}].entry")
        if self.m.levels[before].maintain is not None:
            self.trace(self.t("maintain", level=self.level_name(ids[before])), f"levels[{before}].maintain")
        self.vetoes(self.t("blocked"), "promotion.blocked_if", self.m.promotion.blocked_if)
        self.vetoes(self.t("immediate"), "demotion.immediate_if", self.m.demotion.immediate_if)
        self.lines.append("")

    def vetoes(self, title: str, prefix: str, vetoes: list[Any]) -> None:
        held = self.d.checks
        hits = [(i, v) for i, v in enumerate(vetoes) if held.get(f"{prefix}[{i}].when")]
        if not hits:
            return
        self.lines.append(self.t("section", title=title))
        for _, veto in hits:
            reason = label_text(veto.reason, self.lang, veto.when)
            self.lines.append("  ✗ " + self.t("veto", code=veto.code, reason=reason, when=veto.when))

    def score(self) -> None:
        s = self.d.score
        if s is None:
            return
        self.lines.append(f"{self.label(s.name)} {number(s.value)}  [{s.cohort}]")
        for part in s.parts:
            if part.normalised is None:
                self.lines.append(
                    f"  - {self.label(part.metric)} {number(part.value)}{self.unit(part.metric)}: {part.note}"
                )
                continue
            self.lines.append(
                f"  - {self.label(part.metric)} {number(part.value)}{self.unit(part.metric)} → "
                f"{number(part.normalised.quantize(Decimal('0.001')))} × {number(part.effective_weight)} × "
                f"{number(self.m.scorecard.scale if self.m.scorecard else Decimal(100))} = {number(part.points.quantize(Decimal('0.01')))}"
            )
        for note in s.notes:
            self.lines.append(f"  ! {note}")
        if self.d.grade is not None:
            grade = next(g for g in self.m.grades if g.grade == self.d.grade)
            rule = f"`{grade.when}`" if grade.when else self.t("the_rest")
            decided = next((h for h in self.d.decided if h.decision == "set_grade"), None)
            if decided is not None:  # a person's grade, not the band's
                rule = decided.quoted(self.lang)
            coefficient = (
                say("statement.coefficient", self.lang, coefficient=number(grade.coefficient))
                if grade.coefficient is not None
                else ""
            )
            name = label_text(grade.label, self.lang, "")
            self.lines.append(self.t("grade", grade=grade.grade, name=name, rule=rule) + coefficient)
        self.lines.append("")

    def review(self) -> None:
        r = self.d.review
        if r is None:
            return
        if self.lang == "en":  # the engine's sentence, as the JSON has it
            self.lines.append(self.t("review_line", text=r.reason))
            self.lines.append("")
            return
        rule = self.m.review
        by_person = {h.decision: h for h in self.d.decided}
        if r.exempt == "decision" and "exempt_review" in by_person:
            text = self.t("exempt", reason=by_person["exempt_review"].quoted(self.lang))
        elif r.exempt:
            exemption = next((e for e in rule.exempt if e.code == r.exempt), None) if rule else None
            text = self.t("exempt", reason=label_text(exemption.reason, self.lang, r.exempt) if exemption else r.exempt)
        elif not r.ranked:
            text = self.t("not_ranked", cohort=cohort_text(r.cohort, self.r, self.lang), size=r.cohort_size)
        else:
            flag = self.t("flagged" if r.flagged else "tied" if r.tied_at_cutoff else "not_flagged")
            percentile = number(r.percentile or Decimal(0))
            text = self.t(
                "ranked",
                cohort=cohort_text(r.cohort, self.r, self.lang),
                rank=r.rank or 0,
                size=r.cohort_size,
                percentile=percentile,
                flag=flag,
            )
            if r.flagged and r.stage:
                stage = (
                    next((st for st in rule.escalation.stages if st.code == r.stage), None)
                    if rule and rule.escalation
                    else None
                )
                name = label_text(stage.label, self.lang, r.stage) if stage else r.stage
                text += self.t("stage", stage=name, streak=r.streak)
        if "clear_review" in by_person:
            text += "；" + by_person["clear_review"].quoted(self.lang)
        self.lines.append(self.t("review_line", text=text))
        self.lines.append("")

    def pay(self) -> None:
        p = self.d.pay
        if p is None:
            return
        self.lines.append(self.t("pay", level=self.level_name(p.level)))
        rows = [
            [line_label(self.m.pay, line.id, self.lang, line.label), money(line.amount), self.basis(line)]
            for line in p.lines
        ]
        rows.append([say("statement.total", self.lang), money(p.total), p.currency])
        table = tabulate(rows, tablefmt="plain", disable_numparse=True, colalign=("left", "right", "left"))
        self.lines.extend(f"  {row}" for row in table.splitlines())
        self.lines.append("")

    def basis(self, line: PayLine) -> str:
        """How a line was computed; a line not paid adds its condition as the ruleset writes it (a slip has words only)."""
        text = line.basis_in(self.lang)
        unpaid = line.phrases and line.phrases[0].key in ("basis.not_paid", "basis.not_paid_as")
        model = next((m for m in (self.m.pay.lines if self.m.pay else []) if m.id == line.id), None)
        if unpaid and model is not None and model.when:
            text += say("basis.condition", self.lang, when=model.when)
        return text

    def decided(self) -> None:
        """Every decision people made for the agent-period, quoted: what, by whom, when and why."""
        if not self.d.decided:
            return
        self.lines.append(say("explain.section", self.lang, title=say("decided.title", self.lang)))
        self.lines.extend(f"  - {h.quoted(self.lang)}" for h in self.d.decided)
        self.lines.append("")

    def notes(self) -> None:
        if self.d.notes:
            self.lines.append(self.t("section", title=self.t("notes")))
            self.lines.extend(f"  - {note}" for note in self.d.notes)
            self.lines.append("")


def explain(decision: Decision, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """A readable explanation of ``decision``: the action and why, each criterion clause by
    clause, the score's parts, the grade, the review and the pay lines."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}")
    ex = _Explainer(ruleset.on(decision.ladder), decision, lang, ladder_name(ruleset, decision.ladder, lang))
    ex.header()
    ex.decided()
    ex.levels()
    ex.score()
    ex.review()
    ex.pay()
    ex.notes()
    return "\n".join(ex.lines).rstrip() + "\n"


def why(decision: Decision, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """Why the level decision was taken, in one sentence in ``lang`` (the engine's own words in English)."""
    return _Explainer(ruleset.on(decision.ladder), decision, lang).why_zh() if lang == "zh" else decision.why


def trace(decision: Decision, ruleset: CompiledRuleset) -> dict[str, Clause]:
    """The structured trace of ``decision``: every criterion it evaluated, clause by clause.

    Keys are ruleset fields (``levels[2].entry``); each ``Clause`` holds the clause's text,
    its value, and for comparisons the operator and both sides with the values they had.
    Built on demand from the values the decision kept, so it costs nothing until asked for.
    """
    out: dict[str, Clause] = {}
    for path in decision.checks:
        expr = ruleset.expr(path)
        if expr is not None:
            out[path] = expr.trace(decision.values)
    return out
