"""The words tierpay shows people, in English and Chinese: one catalogue, looked up by key.

Every table heading, action name, status and sentence that the text outputs (the evaluate
table and its totals, summaries, pay statements and how each line was computed, the review,
the fairness screen, diff and explain) print for a person comes from ``WORDS``, as an
``(English, Chinese)`` pair with the same ``{blanks}``. What programs read (CSV and JSON
columns, ids, codes, rejection reasons) stays in English and never comes from here.

A sentence the engine writes before anyone has chosen a language (how a pay line was
computed) is kept as ``Phrase`` objects: a key with its blanks filled, shown in English in
the JSON and CSV and in either language on a statement. Names the ruleset declares (levels,
metrics, attributes, pay lines) are shown through their ``label: {en: ..., zh: ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from string import Formatter
from typing import Any, Literal, TypeAlias

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")


@dataclass(frozen=True)
class Named:
    """A name declared in the ruleset, shown in the reader's language: its label there, else its id."""

    id: str
    labels: tuple[tuple[str, str], ...] = ()

    def text(self, lang: str) -> str:
        """The label in ``lang``, else the id."""
        return dict(self.labels).get(lang) or self.id


def named(id: str, label: str | Mapping[str, str] | None, *, english_id: bool = False) -> Named:
    """``id`` with the ``label`` the ruleset gives it (one text for every language, or one per language).

    With ``english_id``, English shows the id itself: the name the ruleset and the records
    use, as the English tables and the English bases in JSON and CSV do.
    """
    if label is None:
        labels: dict[str, str] = {}
    elif isinstance(label, str):
        labels = dict.fromkeys(LANGS, label)
    else:
        labels = dict(label)
    if english_id:
        labels.pop("en", None)
    return Named(id, tuple(labels.items()))


Filler: TypeAlias = "str | Named | Phrase"


@dataclass(frozen=True)
class Phrase:
    """A sentence of the catalogue with its blanks filled, rendered in a language only when shown."""

    key: str
    fields: tuple[tuple[str, Filler], ...] = ()

    def text(self, lang: str) -> str:
        """The sentence in ``lang``."""
        return say(self.key, lang, **dict(self.fields))


def phrase(key: str, **fields: Filler) -> Phrase:
    """The sentence ``key`` with ``fields`` for its blanks."""
    if key not in WORDS:
        raise KeyError(f"no words for {key!r}")
    return Phrase(key, tuple(fields.items()))


@lru_cache(maxsize=8192)
def render(phrases: tuple[Phrase, ...], lang: str) -> str:
    """Phrases written one after the other (each carries its own joining words).

    Remembered: a month's pay statements repeat a few thousand bases across hundreds of
    thousands of lines, so each distinct one is written once.
    """
    return "".join(p.text(lang) for p in phrases)


class Said(str):
    """A message that is its English text, carrying its words so that it can be shown in another language.

    Warnings travel as plain strings (the API's lists, the JSON); the command line shows them
    in the reader's language with :func:`said`.
    """

    phrase: Phrase

    def __new__(cls, key: str, /, **fields: Filler) -> Said:
        return _said(phrase(key, **fields))

    def __reduce__(self) -> tuple[Any, tuple[Phrase]]:
        """Copied and pickled with its words (a plain ``str`` would be remade from the text alone)."""
        return (_said, (self.phrase,))


def _said(words: Phrase) -> Said:
    made = str.__new__(Said, words.text("en"))
    made.phrase = words
    return made


def said(message: str, lang: str) -> str:
    """``message`` in ``lang`` when its words are known (a :class:`Said`), else as it is (English)."""
    return message.phrase.text(lang) if isinstance(message, Said) else message


def say(key: str, lang: str, /, **fields: Filler | int) -> str:
    """The words for ``key`` in ``lang`` (English unless ``zh``), blanks filled from ``fields``."""
    en, zh = WORDS[key]
    template = zh if lang == "zh" else en
    return template.format(**{name: _text(value, lang) for name, value in fields.items()})


def _text(value: Filler | int, lang: str) -> str:
    if isinstance(value, Phrase | Named):
        return value.text(lang)
    return str(value)


def blanks(template: str) -> set[str]:
    """The ``{blanks}`` of a template."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}


WORDS: dict[str, tuple[str, str]] = {
    # --- level actions ------------------------------------------------------------------------
    "action.promote": ("promoted", "晋升"),
    "action.hold": ("kept", "保级"),
    "action.demote": ("demoted", "降级"),
    "action.convert": ("converted", "转正"),
    "action.extend_probation": ("on probation", "继续试用"),
    "action.probation_review": ("referred to HR", "试用期复核"),
    # --- people's decisions (tierpay.engine.human) -----------------------------------------------
    "decided.convert": ("converted to regular by {by}{at}: {reason}", "由 {by}{at}决定转正：{reason}"),
    "decided.extend_probation": (
        "probation extended by {value} month(s) by {by}{at}: {reason}",
        "由 {by}{at}决定延长试用期 {value} 个月：{reason}",
    ),
    "decided.set_level": ("set to {value} by {by}{at}: {reason}", "由 {by}{at}定为 {value}：{reason}"),
    "decided.set_ladder": (
        "moved to {value} by {by}{at}: {reason}",
        "由 {by}{at}调至 {value}：{reason}",
    ),
    "decided.set_grade": ("grade set to {value} by {by}{at}: {reason}", "由 {by}{at}将绩效等级定为 {value}：{reason}"),
    "decided.clear_review": (
        "review flag cleared and escalation reset by {by}{at}: {reason}",
        "由 {by}{at}解除复核标记并重置升级阶段：{reason}",
    ),
    "decided.exempt_review": (
        "exempted from the review this period by {by}{at}: {reason}",
        "由 {by}{at}决定本期免于末位复核：{reason}",
    ),
    "decided.at": (" on {when}", " 于 {when} "),
    "decided.title": ("Decided by people", "人工决定"),
    "decided.exempt": ("by decision", "人工决定"),
    "decided.table": ("{action} (by {by})", "{action}（{by} 决定）"),
    # --- the evaluate table -------------------------------------------------------------------
    "table.agent": ("agent", "工号"),
    "table.period": ("period", "月份"),
    "table.ladder": ("ladder", "序列"),
    "table.level": ("level", "级别"),
    "table.moved": ("moved", "调岗"),
    "table.action": ("action", "评定"),
    "table.score": ("score", "得分"),
    "table.grade": ("grade", "等级"),
    "table.review": ("review", "末位复核"),
    "table.pay": ("pay ({currency})", "工资 ({currency})"),
    "review.flag": ("FLAG {stage} {place}", "{place} 列入复核：{stage}"),
    "review.flag_no_stage": ("FLAG {place}", "{place} 列入复核"),
    "review.exempt": ("exempt: {reason}", "豁免：{reason}"),
    "review.not_ranked": ("not ranked", "未排名"),
    "review.tie": ("{place} tie", "{place} 并列未列入"),
    "review.cleared": ("{place} cleared (by {by})", "{place} 已解除（{by} 决定）"),
    "review.cleared_by": ("cleared (by {by})", "已解除（{by} 决定）"),
    "table.footer": (
        "{decided} decided, {rejected} rejected; ruleset {used}",
        "已评定 {decided} 条，退回 {rejected} 条；规则 {used}",
    ),
    "table.footer_decided": (
        "{decided} decided, {rejected} rejected, {refused} of {given} people's decisions refused; ruleset {used}",
        "已评定 {decided} 条，退回 {rejected} 条，人工决定 {given} 条中退回 {refused} 条；规则 {used}",
    ),
    "totals.line": ("Totals: {agents} agents, {months} agent-months", "合计：{agents} 人，{months} 人月"),
    "totals.pay": (", pay {amount} {currency}", "，工资 {amount} {currency}"),
    "totals.title": ("Pay by {what} and {by} ({currency})", "按{what}和{by}汇总工资（{currency}）"),
    "totals.title_level": ("Pay by {what} ({currency})", "按{what}汇总工资（{currency}）"),
    "totals.pay_level": ("level paid", "计薪级别"),
    "totals.total": ("total", "合计"),
    "totals.months": ("agent-months", "人月"),
    "totals.agents": ("agents", "人数"),
    "totals.pay_column": ("pay", "工资"),
    # --- standard error: what every run reports --------------------------------------------------
    "stderr.warning": ("warning: {text}", "警告：{text}"),
    "stderr.gap": (
        "gap: agent {agent} has no record for {period} (last seen {last})",
        "缺记录：坐席 {agent} 没有 {period} 的记录（最近一次为 {last}）",
    ),
    "stderr.rejected": ("rejected: {record}", "退回：{record}"),
    "rejection.who": ("{place} ({who}): {reasons}", "{place}（{who}）：{reasons}"),
    "rejection.place": ("{place}: {reasons}", "{place}：{reasons}"),
    "rejection.separator": ("; ", "；"),
    "rejection.many": (
        "{source}, {count} records from row {row} ({who}): {reasons}",
        "{source} 中 {count} 条记录，自第 {row} 行起（{who}）：{reasons}",
    ),
    "rejection.some": (", ", "、"),
    "rejection.more": ("{some} and {more} more", "{some} 等另 {more} 条"),
    "rejection.span": ("{first} to {last}", "{first} 至 {last}"),
    "warn.gb18030": (
        "{source}: not UTF-8: read as GB18030 (GBK), as Excel saves CSV in China; --encoding gb18030 says so outright",
        "{source}：不是 UTF-8，已按 GB18030（GBK）读取，Excel 在中国保存的 CSV 即为此编码；用 --encoding gb18030 明确指定则不再提示",
    ),
    "warn.no_records": ("{source}: no records to evaluate", "{source}：没有可评定的记录"),
    "warn.lacking": (
        "{source}: no record has {names}, which the ruleset requires: is a column missing?",
        "{source}：没有任何记录含有规则要求的 {names}：是否缺了一列？",
    ),
    "warn.keep_absent": (
        "{source}: no record has {names}, a column to keep: it is left blank",
        "{source}：没有任何记录含有要保留的列 {names}：该列留空",
    ),
    "warn.ignored": (
        "{source}: columns not in the ruleset were ignored: {names}{more}",
        "{source}：规则中没有的列已忽略：{names}{more}",
    ),
    "warn.more": (" and {count} more", " 等，另有 {count} 列"),
    # --- workbooks (-o out.xlsx): sheet names --------------------------------------------------
    "sheet.decisions": ("decisions", "评定结果"),
    "sheet.rejections": ("rejections", "退回记录"),
    "sheet.summary": ("summary", "汇总"),
    "sheet.payroll": ("payroll", "工资表"),
    "sheet.statements": ("statements", "工资条"),
    # --- pay statements -----------------------------------------------------------------------
    "statement.title": ("Pay statement: {agent}  {period}", "工资条：{agent}  {period}"),
    "statement.level": ("Level {level} {name}", "级别 {level} {name}"),
    "statement.ladder": (" (ladder {ladder})", "（序列 {ladder}）"),
    "statement.grade": (", grade {grade}", "，绩效等级 {grade}"),
    "statement.coefficient": (", coefficient {coefficient}", "，绩效系数 {coefficient}"),
    "statement.ruleset": ("Ruleset {name} {version} ({sha})", "规则 {name} {version} ({sha})"),
    "statement.line": ("line", "项目"),
    "statement.amount": ("amount", "金额"),
    "statement.how": ("how", "计算方式"),
    "statement.total": ("Total", "合计"),
    "statement.decided": ("Decided: {text}", "人工决定：{text}"),
    "statement.no_pay": ("{agent} {period}: no pay section in the ruleset", "{agent} {period}：规则未设工资部分"),
    # the month's HTML report (tierpay report) and printed pay slips (statement --format html)
    "page.title": ("{name}: the month's run, {period}", "{name}：{period} 月度评定报告"),
    "page.ruleset": ("ruleset", "规则"),
    "page.sha256": ("ruleset SHA-256", "规则 SHA-256"),
    "page.periods": ("months", "月份"),
    "page.records": ("records", "记录文件"),
    "page.state": ("state in", "上期状态"),
    "page.decisions": ("people's decisions", "人工决定"),
    "page.made_by": ("made by", "生成工具"),
    "page.totals": ("Totals of the run", "本次评定合计"),
    "page.summary": (
        "Agents, agent-months and pay over the run (as --summary)",
        "全部月份的人数、人月与工资（同 --summary）",
    ),
    "page.decided": ("decided", "已评定"),
    "page.rejected": ("rejected", "被退回"),
    "page.pay_total": ("pay ({currency})", "工资（{currency}）"),
    "page.levels": ("Levels in {period}", "{period} 级别分布"),
    "page.level": ("level", "级别"),
    "page.before": ("before", "评定前"),
    "page.after": ("after", "评定后"),
    "page.change": ("change", "变化"),
    "page.chart_levels": ("Agents at each level, month by month", "各月各级别人数"),
    "page.chart_pay": ("Pay by level paid in {period} ({currency})", "{period} 按计薪级别汇总工资（{currency}）"),
    "page.moves": ("Who moved in {period}: {count}", "{period} 级别变动：{count} 人"),
    "page.no_moves": ("Nobody moved up or down this month.", "本月无人晋升或降级。"),
    "page.agent": ("agent", "工号"),
    "page.group": ("group", "分组"),
    "page.from": ("from", "原级别"),
    "page.to": ("to", "新级别"),
    "page.action": ("decision", "评定"),
    "page.why": ("why", "原因"),
    "page.review": ("Bottom-ranking review in {period}", "{period} 末位复核"),
    "page.no_flags": ("Nobody was flagged this month.", "本月无人列入复核。"),
    "page.cohort": ("cohort", "排名范围"),
    "page.rank": ("rank", "名次"),
    "page.value": ("ranked by", "排名依据"),
    "page.stage": ("stage", "阶段"),
    "page.streak": ("months flagged", "连续列入月数"),
    "page.exempt": ("{count} exempt from ranking.", "{count} 人豁免排名。"),
    "page.review_note": (
        "A flag asks a person to review; tierpay never dismisses anyone.",
        "列入复核仅提示人工复核；tierpay 不做解除劳动合同的决定。",
    ),
    "page.ranked": ("ranked", "参与排名"),
    "page.flagged": ("flagged", "列入复核"),
    "page.flag_rate": ("flag rate", "列入率"),
    "page.rest": ("× rest", "与其余之比"),
    "page.impact": ("impact ratio", "影响比"),
    "page.fisher": ("Fisher p", "Fisher p 值"),
    "page.screen": ("screen", "筛查"),
    "page.pay": ("Pay in {period} ({currency})", "{period} 工资（{currency}）"),
    "page.against": ("Against {previous}, the month before.", "与上月 {previous} 对比。"),
    "page.first_month": ("The first month of the run: nothing to compare with.", "本次评定的第一个月：无上月可比。"),
    "page.rejections": ("Rejected records: {count}", "被退回的记录：{count} 条"),
    "page.no_rejections": ("Every record was decided.", "全部记录均已评定。"),
    "page.place": ("file:line", "文件:行"),
    "page.period": ("month", "月份"),
    "page.reasons": ("reasons", "原因"),
    "page.gaps": ("Agents with no record: {count}", "缺少记录的坐席：{count}"),
    "page.gap": (
        "{agent} has no record for {period} (last seen {last})",
        "{agent} 缺少 {period} 的记录（最近一次 {last}）",
    ),
    "page.warnings": ("Warnings", "警告"),
    "slip.title": ("Pay slip", "工资条"),
    "slip.ladder": ("ladder", "序列"),
    "slip.level": ("level paid", "计薪级别"),
    "slip.grade": ("grade", "绩效等级"),
    "slip.coefficient": ("coefficient", "绩效系数"),
    "slip.line": ("line", "项目"),
    "slip.amount": ("amount", "金额"),
    "slip.how": ("how it was computed", "计算方式"),
    "slip.total": ("Total", "合计"),
    "slip.no_pay": ("The ruleset has no pay section.", "规则未设工资部分。"),
    "slip.document": ("Pay slips {period}", "工资条 {period}"),
    # --- how a pay line was computed (tierpay.engine.pay) -------------------------------------
    "basis.fixed": ("fixed {amount}", "固定金额 {amount}"),
    "basis.formula": ("`{formula}` = {amount}", "`{formula}` = {amount}"),
    "basis.by_level": ("{level}: {amount}", "{level}：{amount}"),
    "basis.by_level_by": ("{level}, {by} {value}: {amount}", "{level}，{by} {value}：{amount}"),
    "basis.times": (" × {what}", " × {what}"),
    "basis.coefficient": ("coefficient {coefficient} ({why})", "绩效系数 {coefficient}（{why}）"),
    "basis.coefficient_protected": (
        "coefficient {floor} ({why} gives {coefficient}; at least {floor} in a protected period)",
        "绩效系数 {floor}（{why}为 {coefficient}；法定保护期内不低于 {floor}）",
    ),
    "basis.grade": ("grade {grade}", "绩效等级 {grade}"),
    "basis.no_coefficient": ("no coefficient", "无绩效系数"),
    "basis.band": ("{of} {value} in band {low}, {high}", "{of} {value} 落在区间 {low}, {high}"),
    "basis.curve_low": ("{of} {value} at or below {x}: {y}", "{of} {value} 不高于 {x}：{y}"),
    "basis.curve_high": ("{of} {value} at or above {x}: {y}", "{of} {value} 不低于 {x}：{y}"),
    "basis.curve_between": (
        "{of} {value} between {x0} ({y0}) and {x1} ({y1}): {y}",
        "{of} {value} 介于 {x0}（{y0}）与 {x1}（{y1}）之间：{y}",
    ),
    "basis.days": ("{worked}/{scheduled} days", "{worked}/{scheduled} 天"),
    "basis.not_prorated": ("{days} not prorated: protected period", "{days}，法定保护期内不折算"),
    "basis.in_brackets": (" ({what})", "（{what}）"),
    "basis.not_paid": ("not paid: its condition was not met", "不发放：未满足发放条件"),
    "basis.not_paid_as": ("not paid: the condition ({when}) was not met", "不发放：未满足发放条件（{when}）"),
    "basis.condition": (" (`{when}`)", "（`{when}`）"),
    "basis.rounded_up": (" (rounded up: never below the statutory amount)", "（向上取整，不低于法定标准）"),
    "basis.probation_floor": ("probation pay may not be below {what}", "试用期工资不得低于{what}"),
    "basis.of_contract_wage": ("{percent}% of the contract wage {amount}", "合同工资 {amount} 的 {percent}%"),
    "basis.of_post_wage": (
        "{percent}% of the lowest wage of the post {what}",
        "本岗位最低档工资（{what}）的 {percent}%",
    ),
    "basis.equals": (" = {amount}", " = {amount}"),
    "basis.probation_raised": (
        "; raised by {amount} (Labor Contract Law art. 20)",
        "；补足 {amount}（《劳动合同法》第二十条）",
    ),
    "basis.counted": ("pay counted toward the minimum wage {amount}", "计入最低工资的工资 {amount}"),
    "basis.less_own": (
        " less the employee's own social insurance and housing fund contributions {own} is {net}, below {figure}",
        "，扣除个人缴纳的社会保险费和住房公积金 {own} 后为 {net}，低于{figure}",
    ),
    "basis.below": (" is below {figure}", "，低于{figure}"),
    "basis.minimum_wage": (
        "the minimum wage for {by} {value} ({area}) {amount}",
        "{by} {value}（{area}）的最低工资标准 {amount}",
    ),
    "basis.pair": ("{first}{then}", "{first}{then}"),
    "basis.grouped": ("({what})", "（{what}）"),
    "basis.segment_days": (" × {days}/{total} days", " × {days}/{total} 天"),
    "basis.fte": ("FTE {fte}", "工时比例 {fte}"),
    "basis.sick_pay": (
        "{percent}% of {base} × {sick}/{scheduled} days of sick leave",
        "{base} 的 {percent}% × 病假 {sick}/{scheduled} 天",
    ),
    "basis.sick_share": (
        "({paid} + {percent}% × {sick} days of sick leave)/{scheduled} days",
        "（{paid} + {percent}% × 病假 {sick} 天）/{scheduled} 天",
    ),
    "basis.hourly_minimum": (
        "the hourly minimum wage for {by} {value} ({area}) {rate} × {hours} hours",
        "{by} {value}（{area}）的小时最低工资标准 {rate} × {hours} 小时",
    ),
    "basis.times_equals": (" × {days} = {amount}", " × {days} = {amount}"),
    "basis.citation": (
        " (effective {date}, {source}); raised by {amount}",
        "（{date} 起执行，{source}）；补足 {amount}",
    ),
    "line.adjustment": ("Adjustment for {period}", "{period} 调整"),
    "basis.adjustment": (
        "adjustment for {period}: {amount} ({period} decided again after it closed: {due} due, {paid} paid)",
        "{period} 调整：{amount}（{period} 结账后重新评定：应发 {due}，已发 {paid}）",
    ),
    "basis.set_off": (
        "; {amount} of it set off against this month's other adjustments",
        "；其中 {amount} 与本月其他调整相抵",
    ),
    "basis.deduction_now": ("{metric} {amount}", "{metric} {amount}"),
    "basis.deduction_carried": ("{amount} held back from earlier months", "以前月份暂缓扣除的 {amount}"),
    "basis.plus": (" + ", " + "),
    "basis.capped": (
        "; deductions capped at {percent}% of the month's pay {amount}",
        "；扣款不超过当月工资 {amount} 的 {percent}%",
    ),
    "basis.kept_above_minimum": (
        "; limited so the pay counted toward the minimum wage stays at {amount} or more",
        "；扣款后计入最低工资的工资不低于 {amount}",
    ),
    "basis.carried": (
        " (Interim Provisions on Wage Payment art. 16): {deducted} deducted, {rest} carried to later months",
        "（《工资支付暂行规定》第十六条）：本月扣除 {deducted}，{rest} 顺延至以后月份扣除",
    ),
    "basis.rounded": ("total {total} rounded {mode} to {quantum}", "合计 {total} {mode}至 {quantum}"),
    "rounding.half_up": ("half-up", "四舍五入"),
    "rounding.half_even": ("half-even", "四舍六入五成双"),
    "rounding.up": ("up", "向上舍入"),
    "rounding.down": ("down", "向下舍去"),
    "rounding.floor_applies": ("up (a floor applies)", "向上舍入（适用保底）"),
    # --- the review ---------------------------------------------------------------------------
    "review.title": (
        "{period}  {cohort}: {ranked} ranked by {by}, bottom {bottom} flagged for review",
        "{period}  {cohort}：{ranked} 人按{by}排名，末位 {bottom} 人列入复核",
    ),
    "review.title_not_ranked": ("{period}  {cohort}: not ranked ({why})", "{period}  {cohort}：未排名（{why}）"),
    "review.too_small": (
        "cohort {cohort} has {size} agents, below the minimum of {minimum}: not ranked",
        "{cohort} 仅 {size} 人，不足 {minimum} 人，不排名",
    ),
    "review.title_nobody": ("{period}  {cohort}: nobody ranked", "{period}  {cohort}：无人参与排名"),
    "review.rank": ("rank", "名次"),
    "review.percentile": ("percentile", "百分位"),
    "review.status": ("review", "复核"),
    "review.stage": ("stage", "阶段"),
    "review.flagged": ("FLAG", "列入复核"),
    "review.tied": ("tie at cut-off, not flagged", "并列于分界线，不列入"),
    "review.footer": (
        "A flag asks a person to review, coach or agree an improvement plan. Bottom rank alone is not grounds "
        "for dismissal (SPC Guiding Case No. 18); tierpay never decides one.",
        "列入复核是请人复核、辅导或商定绩效改进计划。仅排名末位不构成解除劳动合同的理由"
        "（最高人民法院指导案例18号）；tierpay 从不作出此类决定。",
    ),
    "review.none": ("the ruleset declares no review", "规则未设末位复核"),
    # --- the fairness screen ------------------------------------------------------------------
    "fairness.title": ("Fairness screen by {attribute} ({periods})", "按{attribute}的公平性筛查（{periods}）"),
    "fairness.ranked": ("ranked", "参与排名"),
    "fairness.flagged": ("flagged", "列入复核"),
    "fairness.flag_rate": ("flag rate", "复核率"),
    "fairness.rest": ("× rest", "与其余之比"),
    "fairness.pass_rate": ("pass rate", "通过率"),
    "fairness.impact": ("impact ratio", "影响比"),
    "fairness.fisher": ("Fisher p", "Fisher p 值"),
    "fairness.screen": ("screen", "信号"),
    "fairness.below": ("BELOW 4/5", "低于4/5"),
    "fairness.ratio": ("RATIO", "倍数"),
    "fairness.fisher_signal": ("FISHER", "FISHER"),
    "fairness.warning": (
        "{attribute}={group}: {flagged} of {ranked} flagged ({rate}), the rest {rest_flagged} of {rest_ranked} "
        "({rest_rate}): {signals}",
        "{attribute}={group}：{ranked} 个人月中 {flagged} 个列入复核（{rate}），其余 {rest_ranked} 个人月中 "
        "{rest_flagged} 个（{rest_rate}）：{signals}",
    ),
    "fairness.signal_four_fifths": (
        "pass rate {ratio} of the best group's (below 0.8 signals)",
        "通过率为最高组的 {ratio}（低于 0.8 即提示）",
    ),
    "fairness.signal_ratio": (
        "flag rate {ratio} the rest's (1.25 or more signals)",
        "复核率为其余的 {ratio}（1.25 倍及以上即提示）",
    ),
    "fairness.unbounded": ("unbounded ×", "无上限倍"),
    "fairness.times": ("{ratio} ×", "{ratio} 倍"),
    "fairness.signal_fisher": (
        "Fisher's exact p = {p} against the rest (below 0.05 signals)",
        "与其余相比 Fisher 精确检验 p = {p}（低于 0.05 即提示）",
    ),
    "fairness.separator": ("; ", "；"),
    "fairness.warned": ("warning: {text}", "提示：{text}"),
    "fairness.note": (
        "A screen, not a finding: a signal (pass rate below 4/5 of the best group's, flag rate 1.25 or more times "
        "the rest's, or Fisher's exact p below 0.05 against the rest) deserves a closer look at the criteria "
        "and data. The smallest group has {smallest} ranked agent-periods; small groups give extreme ratios, and "
        "one agent's periods are not independent draws.",
        "这是筛查，不是结论：出现信号（通过率低于最高组的 4/5、复核率为其余的 1.25 倍及以上，或与其余相比 "
        "Fisher 精确检验 p 低于 0.05）时，应仔细检查评价标准和数据。最小的组只有 {smallest} 个参与排名的人月；"
        "组越小，比例越极端，且同一坐席各月的结果并非相互独立。",
    ),
    # --- explain ------------------------------------------------------------------------------
    "explain.header": ("{agent}  {period}: {move}, {action}", "{agent}  {period}：{move}，{action}"),
    "explain.criteria": ("{title}: {met}", "{title}：{met}"),
    "explain.section": ("{title}:", "{title}："),
    "explain.skipped": (
        "not evaluated: the parts before it decide (evaluating it here fails: {error})",
        "未计算：前面的条件已决定结果（在此计算会失败：{error}）",
    ),
    "explain.next_entry": ("Entry criteria of {level}", "{level} 晋级标准"),
    "explain.maintain": ("Maintenance criteria of {level}", "{level} 保级标准"),
    "explain.convert": ("Conversion criteria (probation)", "转正标准"),
    "explain.blocked": ("Promotion vetoes", "晋升否决项"),
    "explain.immediate": ("Immediate-demotion conditions", "立即降级条件"),
    "explain.veto": ("{code}: {reason} (`{when}`) holds", "{code}：{reason}（`{when}`）触发"),
    "explain.grade": ("Grade {grade} {name} ({rule})", "绩效等级 {grade} {name}（{rule}）"),
    "explain.the_rest": ("the rest", "其余"),
    "explain.review_line": ("Bottom-ranking review: {text}", "末位复核：{text}"),
    "explain.exempt": ("exempt ({reason})", "豁免（{reason}）"),
    "explain.not_ranked": ("not ranked: {cohort} has only {size}", "未排名：{cohort} 仅 {size} 人"),
    "explain.ranked": (
        "{cohort} rank {rank}/{size}, percentile {percentile}: {flag}",
        "{cohort} 排名 {rank}/{size}，百分位 {percentile}：{flag}",
    ),
    "explain.flagged": ("flagged for review", "列入末位复核"),
    "explain.tied": (
        "tied with others at the cut-off: not flagged (ties go the employee's way)",
        "与他人并列于分界线，按有利于员工的原则不列入",
    ),
    "explain.not_flagged": ("not in the bottom", "未列入末位"),
    "explain.stage": (", stage {stage} ({streak} consecutive periods)", "，阶段 {stage}（连续 {streak} 期）"),
    "explain.pay": ("Pay ({level}):", "工资（{level}）："),
    "explain.notes": ("Notes", "备注"),
    "explain.met": ("met", "达标"),
    "explain.not_met": ("not met", "未达标"),
    "explain.all": ("all of:", "须全部满足："),
    "explain.any": ("any of:", "满足其一即可："),
    "explain.not": ("not ({text})", "并非（{text}）"),
    "explain.short": (" (short by {amount})", "（差 {amount}）"),
    "explain.over": (" (over by {amount})", "（超出 {amount}）"),
    "explain.clause": ("{name} {value} {op} {bar}: {met}{gap}", "{name} {value} {op} {bar}{gap}"),
    # a clause that held, and one that did not: the English shows the operator that held
    "explain.held.>=": (">=", "达到"),
    "explain.held.>": (">", "超过"),
    "explain.held.<=": ("<=", "未超过"),
    "explain.held.<": ("<", "低于"),
    "explain.held.==": ("==", "等于"),
    "explain.held.!=": ("!=", "不等于"),
    "explain.held.in": ("in", "属于"),
    "explain.missed.>=": ("<", "未达到"),
    "explain.missed.>": ("<=", "未超过"),
    "explain.missed.<=": (">", "超过"),
    "explain.missed.<": (">=", "未低于"),
    "explain.missed.==": ("!=", "不等于"),
    "explain.missed.!=": ("==", "等于"),
    "explain.missed.in": ("not in", "不属于"),
    # units a ruleset commonly declares for its metrics
    "unit.days": ("days", "天"),
    "unit.s": ("s", "秒"),
    "unit.min": ("min", "分钟"),
    # --- diff ---------------------------------------------------------------------------------
    "diff.old": ("old ruleset (in force): {name} {version} ({sha})", "现行规则：{name} {version} ({sha})"),
    "diff.new": ("new ruleset (proposed): {name} {version} ({sha})", "新规则（拟议）：{name} {version} ({sha})"),
    "diff.compared": (
        "{compared} agent-months compared, {changed} changed under the new ruleset",
        "共比较 {compared} 个人月，新规则下有 {changed} 个发生变化",
    ),
    "diff.by_kind": (
        "each change counted once, under the first of these that applies:",
        "每项变化只计一次，按下列顺序归入第一个适用的类别：",
    ),
    "diff.kind.lower_level": ("at a lower level", "级别降低"),
    "diff.kind.higher_level": ("at a higher level", "级别提高"),
    "diff.kind.other_level": ("at a level of another id, the same rank", "级别编号不同、位次相同"),
    "diff.kind.probation": ("on probation under one ruleset only", "仅在一套规则下仍在试用期"),
    "diff.kind.grade": ("the same level, another grade", "级别相同，绩效等级不同"),
    "diff.kind.review_flag": ("flagged for review under one ruleset only", "仅在一套规则下列入末位复核"),
    "diff.kind.pay_level": (
        "paid at another level (the level moved in an earlier month; pay follows a month later)",
        "按不同级别计薪（级别在此前月份变动，工资次月起调整）",
    ),
    "diff.kind.pay": ("the same level, grade and flag, other pay", "级别、等级和复核相同，仅工资不同"),
    "diff.short.lower_level": ("lower level", "级别降低"),
    "diff.short.higher_level": ("higher level", "级别提高"),
    "diff.short.other_level": ("level id", "级别编号"),
    "diff.short.probation": ("probation", "试用期"),
    "diff.short.grade": ("grade", "绩效等级"),
    "diff.short.review_flag": ("review flag", "末位复核"),
    "diff.short.pay_level": ("level paid", "计薪级别"),
    "diff.short.pay": ("pay", "工资"),
    "diff.lose": ("agents at a lower level in some month: {agents}", "某月级别降低的坐席：{agents}"),
    "diff.gain": ("agents at a higher level in some month: {agents}", "某月级别提高的坐席：{agents}"),
    "diff.none": ("none", "无"),
    "diff.pay": (
        "pay under the old ruleset {old}, under the new {new}: {change}",
        "现行规则下工资 {old}，新规则下 {new}：{change}",
    ),
    "diff.saved": ("{amount} less", "减少 {amount}"),
    "diff.more": ("{amount} more", "增加 {amount}"),
    "diff.same": ("no change", "不变"),
    "diff.agent": ("agent", "工号"),
    "diff.period": ("period", "月份"),
    "diff.what": ("what changed", "变化"),
    "diff.level_old": ("old level", "现行级别"),
    "diff.level_new": ("new level", "新级别"),
    "diff.grade_old": ("old grade", "现行等级"),
    "diff.grade_new": ("new grade", "新等级"),
    "diff.flag_old": ("old review", "现行复核"),
    "diff.flag_new": ("new review", "新复核"),
    "diff.flagged": ("flagged", "列入复核"),
    "diff.probation_old": ("old status", "现行状态"),
    "diff.probation_new": ("new status", "新状态"),
    "diff.paid_old": ("old level paid", "现行计薪级别"),
    "diff.paid_new": ("new level paid", "新计薪级别"),
    "diff.on_probation": ("on probation", "试用期"),
    "diff.regular": ("regular", "正式"),
    "diff.pay_old": ("old pay", "现行工资"),
    "diff.pay_new": ("new pay", "新工资"),
    "diff.difference": ("difference", "差额"),
    "diff.months": ("agent-months", "人月"),
    "diff.only_one": (
        "decided under one ruleset only: old {old}, new {new} (rejected under the other)",
        "仅在一套规则下评定：现行 {old}，新 {new}（在另一套规则下被退回）",
    ),
}
"""Every text tierpay prints for a person: ``key: (English, Chinese)``, with the same blanks."""

WHY_ZH: dict[str, str] = {
    "promoted": "连续 {need} 期以上达到晋级标准，晋升为 {level}",
    "pay_next_period": "；工资自下期起调整",
    "streak_short": "达到 {next} 的晋级标准，已连续 {streak}/{need} 期",
    "entry_not_met": "未达到 {next} 的晋级标准",
    "min_periods_in_level": "已达到晋级标准，但在 {before_id} 仅满 {in_level}/{minimum} 期",
    "not_review_period": "已达到晋级标准；晋升在评审月（{months} 月）进行",
    "promotion_blocked": "达到 {next} 的晋级标准，但被否决项阻止：{blocked}",
    "top_level": "{level_id} 已是最高级别",
    "maintain_warning": "未达到 {level} 的保级标准（已 {failed} 期，连续 {demote_after} 期将降级）",
    "demotion_pending": "已连续 {failed} 期未达保级标准，待评审月降级",
    "maintain_failed": "连续 {demote_after} 期未达到 {before} 的保级标准，降为 {level}",
    "immediate_demotion": "触发立即降级条件：{immediate}，降为 {level}",
    "lowest_level": "{level_id} 已是最低级别",
    "protected_period": "法定保护期内：不降级，晋降级连续期数暂停计算",
    "probation_min_not_served": "试用期第 {served}/{cap} 个月（第 {from_month} 个月起可转正）",
    "converted": "试用第 {served}/{cap} 个月达到转正标准，转正",
    "converted_by_employer": "记录显示已不在试用期：用人单位于试用第 {served}/{cap} 个月办理转正",
    "conversion_not_met": "试用第 {served}/{cap} 个月未达到转正标准，继续试用（最迟至 {end}）",
    "probation_ending": (
        "试用第 {served}/{cap} 个月未达到转正标准；试用期至 {end} 届满：请在届满前转交人力资源人工复核"
        "（届满即依法转正；tierpay 不做解除劳动合同的决定）"
    ),
    "probation_cap_reached": (
        "未达到转正标准，但试用期至 {end} 届满（自 {begun} 起 {cap} 个月，合同期限 {term}）：依法自下月起为正式员工"
        "（《劳动合同法》第十九条）；tierpay 不做解除劳动合同的决定"
    ),
    "probation_ended": "试用期已于 {end} 届满（自 {begun} 起 {cap} 个月）：依法为正式员工（《劳动合同法》第十九条）",
    "probation_not_allowed": "合同期限 {term} 不得约定试用期（《劳动合同法》第十九条）：为正式员工",
    "converted_by_decision": "{decided}（试用第 {served}/{cap} 个月）",
    "probation_extended_by_decision": (
        "{decided}；试用期延至 {end}，第 {served}/{cap} 个月（合同期限 {term} 最长 {legal} 个月，《劳动合同法》第十九条）"
    ),
    "level_set_by_decision": "{decided}",
}
"""Each level and probation reason code as a Chinese sentence; the English is the engine's own
(``Decision.why``, :func:`tierpay.engine.levels.why`), written when the decision is made."""


COLUMNS_ZH: dict[str, str] = {
    # the decisions
    "agent_id": "工号",
    "period": "月份",
    "ladder": "序列",
    "nominated": "可提名至",
    "level_before": "上月级别",
    "level": "级别",
    "qualified_level": "达标级别",
    "action": "评定",
    "reason": "原因",
    "on_probation": "试用期",
    "score": "得分",
    "grade": "绩效等级",
    "coefficient": "绩效系数",
    "review_cohort": "复核分组",
    "review_rank": "名次",
    "review_cohort_size": "分组人数",
    "review_percentile": "百分位",
    "review_flagged": "列入复核",
    "review_stage": "复核阶段",
    "review_exempt": "豁免",
    "pay_level": "计薪级别",
    "pay_total": "工资合计",
    "total": "工资合计",
    "currency": "币种",
    "ruleset_version": "规则版本",
    "ruleset_sha256": "规则指纹",
    # the rejections
    "source": "文件",
    "row": "行",
    "field": "字段",
    # the summary
    "by": "汇总项",
    "group": "分组",
    "agents": "人数",
    "agent_months": "人月",
    "pay": "工资",
    # a statement's lines
    "line": "项目",
    "kind": "类别",
    "amount": "金额",
    "basis": "计算方式",
}
"""The Chinese names of the columns tierpay writes into a workbook under ``--lang zh`` (a header then
reads ``工号 (agent_id)``: the name, and the key programs and the CSV use). Fields the ruleset
labels (metrics, attributes, pay lines) take their ``zh`` label instead."""
