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
from tierpay.engine.probation import cap_of
from tierpay.engine.results import Decision
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.expressions import Clause, format_value
from tierpay.ruleset.model import label_text

NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
ZH_HELD = {">=": "达到", ">": "超过", "<=": "未超过", "<": "低于", "==": "等于", "!=": "不等于", "in": "属于"}
ZH_MISSED = {">=": "未达到", ">": "未超过", "<=": "超过", "<": "未低于", "==": "不等于", "!=": "等于", "in": "不属于"}
ACTIONS_ZH = {
    "promote": "晋级",
    "hold": "保持",
    "demote": "降级",
    "convert": "转正",
    "extend_probation": "延长试用",
    "probation_review": "试用期人工复核",
}
T = {
    "en": {
        "next_entry": "Entry criteria of {level}",
        "maintain": "Maintenance criteria of {level}",
        "convert": "Conversion criteria (probation)",
        "blocked": "Promotion vetoes",
        "immediate": "Immediate-demotion conditions",
        "grade": "Grade",
        "review": "Bottom-ranking review",
        "pay": "Pay",
        "notes": "Notes",
        "met": "met",
        "not_met": "not met",
        "all": "all of:",
        "any": "any of:",
        "short": "short by",
        "over": "over by",
        "veto_held": "holds",
        "veto_clear": "does not hold",
        "total": "Total",
        "skipped": "not evaluated: the parts before it decide (evaluating it here fails: {error})",
    },
    "zh": {
        "next_entry": "{level} 晋级标准",
        "maintain": "{level} 保级标准",
        "convert": "转正标准",
        "blocked": "晋级否决项",
        "immediate": "立即降级条件",
        "grade": "绩效等级",
        "review": "末位复核",
        "pay": "工资",
        "notes": "备注",
        "met": "达标",
        "not_met": "未达标",
        "all": "须全部满足：",
        "any": "满足其一即可：",
        "short": "差",
        "over": "超出",
        "veto_held": "触发",
        "veto_clear": "未触发",
        "total": "合计",
        "skipped": "未计算：前面的条件已决定结果（在此计算会失败：{error}）",
    },
}


class _Explainer:
    def __init__(self, ruleset: CompiledRuleset, decision: Decision, lang: str) -> None:
        self.r = ruleset
        self.m = ruleset.model
        self.d = decision
        self.lang = lang
        self.t = T[lang]
        self.lines: list[str] = []

    # --- words -----------------------------------------------------------------------------

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
        return metric.unit if metric.unit == "%" else f" {metric.unit}"

    def level_name(self, level_id: str) -> str:
        level = next(lv for lv in self.m.levels if lv.id == level_id)
        return f"{level_id} {label_text(level.name, self.lang, level_id)}"

    # --- clauses ----------------------------------------------------------------------------

    def clause(self, clause: Clause, depth: int) -> None:
        pad = "  " * depth
        if not clause.reached and clause.value is None:  # guarded by the part that decided the `and`/`or`
            self.lines.append(f"{pad}· `{clause.text}`: {self.t['skipped'].format(error=clause.error)}")
            return
        mark = "✓" if clause.held else "✗"
        if clause.op in ("and", "or") and clause.children:
            self.lines.append(f"{pad}{mark} {self.t['all'] if clause.op == 'and' else self.t['any']}")
            for child in clause.children:
                self.clause(child, depth + 1)
            return
        if clause.op == "not" and clause.children:
            self.lines.append(f"{pad}{mark} not ({clause.children[0].text})")
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
            word = self.t["short"] if clause.op in (">=", ">") else self.t["over"]
            diff = number(abs(lvalue - rvalue))
            gap = f" ({word} {diff}{unit})" if self.lang == "en" else f"（{word} {diff}{unit}）"
        if self.lang == "zh":
            verb = (ZH_HELD if clause.held else ZH_MISSED).get(clause.op, clause.op)
            return f"{name} {lshow} {verb} {rshow}{gap}"
        op = clause.op if clause.held else NEGATED.get(clause.op, f"not {clause.op}")
        return f"{name} {lshow} {op} {rshow}: {self.t['met'] if clause.held else self.t['not_met']}{gap}"

    def trace(self, title: str, path: str) -> None:
        expr = self.r.expr(path)
        if expr is None:
            return
        root = expr.trace(self.d.values)
        self.lines.append(f"{title}: {self.t['met'] if root.held else self.t['not_met']}")
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
        action = d.action if self.lang == "en" else ACTIONS_ZH[d.action]
        self.lines.append(f"{d.agent_id}  {d.period}: {move}, {action}")
        self.lines.append(f"  {d.why if self.lang == 'en' else self.why_zh()}")
        self.lines.append("")

    def why_zh(self) -> str:
        d = self.d
        m = self.m
        ids = self.r.level_ids
        state = d.state
        before = ids.index(d.level_before)
        nxt = self.level_name(ids[before + 1]) if before + 1 < len(ids) else ""
        held = {path for path, ok in d.checks.items() if ok}
        blocked = [v.code for i, v in enumerate(m.promotion.blocked_if) if f"promotion.blocked_if[{i}].when" in held]
        immediate = [
            v.code for i, v in enumerate(m.demotion.immediate_if) if f"demotion.immediate_if[{i}].when" in held
        ]
        probation = m.probation
        own = m.levels[before].min_periods
        minimum = own if own is not None else m.promotion.min_periods_in_level
        texts = {
            "promoted": f"连续 {m.promotion.consecutive_periods} 期以上达到晋级标准，晋升为 {self.level_name(d.level)}"
            + ("；工资自下期起调整" if m.promotion.pay_effective == "next_period" else ""),
            "streak_short": f"达到 {nxt} 的晋级标准，已连续 {state.promote_streak}/{m.promotion.consecutive_periods} 期",
            "entry_not_met": f"未达到 {nxt} 的晋级标准",
            "min_periods_in_level": f"已达到晋级标准，但在 {d.level_before} 仅满 {state.periods_in_level}/{minimum} 期",
            "not_review_period": f"已达到晋级标准；晋级在评审月（{', '.join(map(str, m.promotion.review_months or []))} 月）进行",
            "promotion_blocked": f"达到 {nxt} 的晋级标准，但被否决项阻止：{', '.join(blocked)}",
            "top_level": f"{d.level} 已是最高级别",
            "maintain_warning": f"未达到 {self.level_name(d.level)} 的保级标准（已 {state.maintain_fail_streak} 期，连续 {m.demotion.consecutive_periods} 期将降级）",
            "demotion_pending": f"已连续 {state.maintain_fail_streak} 期未达保级标准，待评审月降级",
            "maintain_failed": f"连续 {m.demotion.consecutive_periods} 期未达到 {self.level_name(d.level_before)} 的保级标准，降为 {self.level_name(d.level)}",
            "immediate_demotion": f"触发立即降级条件：{', '.join(immediate)}，降为 {self.level_name(d.level)}",
            "lowest_level": f"{d.level} 已是最低级别",
            "protected_period": "法定保护期内：不降级，晋降级连续期数暂停计算",
        }
        if probation is not None:
            texts.update(self.probation_zh(probation.start_date, probation.contract_term, probation.max_periods))
        return texts.get(d.reason, d.why)

    def probation_zh(self, start: str, term: str, max_periods: int) -> dict[str, str]:
        """The probation reasons in Chinese, from the start date and term the decision read."""
        d, served = self.d, self.d.state.probation_periods
        begun, agreed = (str(v) if v is not None else None for v in (d.values.get(start), d.values.get(term)))
        cap, _, end = cap_of(begun, agreed, max_periods)
        never = "tierpay 不做解除劳动合同的决定"
        law = "《劳动合同法》第十九条"
        return {
            "probation_min_not_served": f"试用期第 {served}/{cap} 个月（第 {self.m.probation.min_periods if self.m.probation else '?'} 个月起可转正）",
            "converted": f"试用第 {served}/{cap} 个月达到转正标准，转正",
            "converted_by_employer": f"记录显示已不在试用期：用人单位于试用第 {served}/{cap} 个月办理转正",
            "conversion_not_met": f"试用第 {served}/{cap} 个月未达到转正标准，试用期继续（最迟至 {end}）",
            "probation_ending": f"试用第 {served}/{cap} 个月未达到转正标准；试用期至 {end} 届满：请在届满前转交人力资源人工复核（届满即依法转正；{never}）",
            "probation_cap_reached": f"未达到转正标准，但试用期至 {end} 届满（自 {begun} 起 {cap} 个月，合同期限 {agreed}）：依法自下月起为正式员工（{law}）；{never}",
            "probation_ended": f"试用期已于 {end} 届满（自 {begun} 起 {cap} 个月）：依法为正式员工（{law}）",
            "probation_not_allowed": f"合同期限 {agreed} 不得约定试用期（{law}）：为正式员工",
        }  # fmt: skip

    def levels(self) -> None:
        d = self.d
        ids = self.r.level_ids
        before = ids.index(d.level_before)
        if d.state.on_probation or d.action in ("convert", "extend_probation", "probation_review"):
            self.trace(self.t["convert"], "probation.convert_if")
            self.lines.append("")
            return
        target = ids.index(d.level) if d.action == "promote" else before + 1
        if target < len(ids):
            self.trace(self.t["next_entry"].format(level=self.level_name(ids[target])), f"levels[{target}].entry")
        if self.m.levels[before].maintain is not None:
            self.trace(self.t["maintain"].format(level=self.level_name(ids[before])), f"levels[{before}].maintain")
        self.vetoes(self.t["blocked"], "promotion.blocked_if", self.m.promotion.blocked_if)
        self.vetoes(self.t["immediate"], "demotion.immediate_if", self.m.demotion.immediate_if)
        self.lines.append("")

    def vetoes(self, title: str, prefix: str, vetoes: list[Any]) -> None:
        held = self.d.checks
        hits = [(i, v) for i, v in enumerate(vetoes) if held.get(f"{prefix}[{i}].when")]
        if not hits:
            return
        self.lines.append(f"{title}:")
        for _, veto in hits:
            reason = label_text(veto.reason, self.lang, veto.when)
            self.lines.append(f"  ✗ {veto.code}: {reason} (`{veto.when}`) {self.t['veto_held']}")

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
            rule = f"`{grade.when}`" if grade.when else ("the rest" if self.lang == "en" else "其余")
            coefficient = f", coefficient {number(grade.coefficient)}" if grade.coefficient is not None else ""
            if self.lang == "zh":
                coefficient = f"，绩效系数 {number(grade.coefficient)}" if grade.coefficient is not None else ""
            self.lines.append(
                f"{self.t['grade']} {grade.grade} {label_text(grade.label, self.lang, '')} ({rule}){coefficient}"
            )
        self.lines.append("")

    def review(self) -> None:
        r = self.d.review
        if r is None:
            return
        if self.lang == "zh":
            if r.exempt:
                text = f"豁免（{r.exempt}）"
            elif not r.ranked:
                text = f"未排名：{r.cohort} 仅 {r.cohort_size} 人"
            else:
                flag = (
                    "列入末位复核"
                    if r.flagged
                    else ("与他人并列于分界线，按有利于员工的原则不列入" if r.tied_at_cutoff else "未列入末位")
                )
                text = f"{r.cohort} 排名 {r.rank}/{r.cohort_size}，百分位 {number(r.percentile or Decimal(0))}：{flag}"
                if r.flagged and r.stage:
                    text += f"，阶段 {r.stage}（连续 {r.streak} 期）"
            self.lines.append(f"{self.t['review']}: {text}")
        else:
            self.lines.append(f"{self.t['review']}: {r.reason}")
        self.lines.append("")

    def pay(self) -> None:
        p = self.d.pay
        if p is None:
            return
        self.lines.append(f"{self.t['pay']} ({self.level_name(p.level)}):")
        rows = [
            [line_label(self.m.pay, line.id, self.lang, line.label), money(line.amount), line.basis] for line in p.lines
        ]
        rows.append([self.t["total"], money(p.total), p.currency])
        table = tabulate(rows, tablefmt="plain", disable_numparse=True, colalign=("left", "right", "left"))
        self.lines.extend(f"  {row}" for row in table.splitlines())
        self.lines.append("")

    def notes(self) -> None:
        if self.d.notes:
            self.lines.append(f"{self.t['notes']}:")
            self.lines.extend(f"  - {note}" for note in self.d.notes)
            self.lines.append("")


def explain(decision: Decision, ruleset: CompiledRuleset, lang: str = "en") -> str:
    """A readable explanation of ``decision``: the action and why, each criterion clause by
    clause, the score's parts, the grade, the review and the pay lines."""
    if lang not in T:
        raise ValueError(f"lang must be one of {', '.join(T)}")
    ex = _Explainer(ruleset, decision, lang)
    ex.header()
    ex.levels()
    ex.score()
    ex.review()
    ex.pay()
    ex.notes()
    return "\n".join(ex.lines).rstrip() + "\n"


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
