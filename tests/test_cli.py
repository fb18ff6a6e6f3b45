"""The command line, run in-process: exact outputs and exit codes."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tierpay.cli import main

from .conftest import SAMPLE_H1, SAMPLE_MONTH, STARS


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``tierpay`` with ``argv``; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_validate_ok() -> None:
    """A valid ruleset: exit 0, one summary line, no warnings (the shipped one passes --strict)."""
    code, out, err = run("validate", str(STARS))
    assert code == 0
    assert out.startswith(f"{STARS}: ok: callcenter-stars 2026.1, 5 levels, ")
    assert err == ""
    assert run("validate", "--strict", str(STARS))[0] == 0


def test_validate_misspelled_metric(tmp_path: Path) -> None:
    """A misspelled metric: file, line, column, field, the expression and the unknown name; exit 3."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        STARS.read_text(encoding="utf-8").replace('entry: "qa_score >= 85 and', 'entry: "qa_scor >= 85 and'),
        encoding="utf-8",
    )
    (tmp_path / "minimum-wage-2026.yaml").write_text(
        (STARS.parent / "minimum-wage-2026.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    code, out, err = run("validate", str(bad))
    assert code == 3
    assert out == ""
    line = next(i for i, text in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "qa_scor >=" in text)
    assert err == (
        f"{bad}:{line}:13: levels[2].entry: unknown name 'qa_scor' (did you mean 'qa_score'?)\n"
        "    | qa_scor >= 85 and csat >= 88 and fcr >= 70 and calls_full_time >= 1100 and score >= 78\n"
        "1 problem found\n"
    )


def test_evaluate_table_lists_every_agent_and_the_bad_rows() -> None:
    """The table has a row per agent; rejections go to stderr; exit 1 because some were rejected."""
    code, out, err = run("evaluate", str(STARS), str(SAMPLE_MONTH))
    assert code == 1
    assert out.splitlines()[0].split() == [
        "agent", "period", "team", "region", "level", "action", "score", "grade", "review", "pay", "(CNY)",
    ]  # fmt: skip
    assert sum(1 for line in out.splitlines() if line.startswith("A0")) == 69
    assert "69 decided, 10 rejected; ruleset callcenter-stars 2026.1" in out
    assert err.count("rejected: ") == 10
    assert f"rejected: {SAMPLE_MONTH}:72 (A902 2026-01): qa_score: 105 is above the maximum 100\n" in err


def test_first_table_fits_120_columns_and_ends_with_totals() -> None:
    """Six months of the sample fit a 120-column terminal in both languages, and end with totals.

    Agents are counted apart from agent-months; pay is totalled by the level paid and by
    region (the attribute the shipped ruleset's pay is looked up by), both ways to one total.
    """
    from wcwidth import wcswidth

    for lang in ("en", "zh"):
        _, out, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--lang", lang)
        assert max(wcswidth(line) for line in out.splitlines()) <= 120, lang
    _, out, _ = run("evaluate", str(STARS), str(SAMPLE_H1))
    tail = out.splitlines()[-12:]
    assert tail[:2] == [
        "416 decided, 10 rejected; ruleset callcenter-stars 2026.1 (4ca3d86fc3f2)",
        "Totals: 70 agents, 416 agent-months, pay 1,794,666.12 CNY",
    ]
    assert tail[3] == "Pay by level paid and region (CNY)"
    assert tail[4].split() == ["level", "paid", "tier1", "tier2", "total", "agent-months"]
    assert tail[-1].split() == ["total", "941,864.76", "852,801.36", "1,794,666.12", "416"]
    assert tail[-2].split() == ["L5", "124,140.00", "121,400.00", "245,540.00", "36"]


def test_evaluate_in_chinese_shows_level_names_and_actions() -> None:
    """``evaluate --lang zh``: 一星坐席…五星坐席, Chinese headings and actions; the CSV stays in English."""
    _, out, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--lang", "zh")
    lines = out.splitlines()
    assert lines[0].split() == [
        "工号",
        "月份",
        "班组",
        "城市级别",
        "级别",
        "评定",
        "得分",
        "等级",
        "末位复核",
        "工资",
        "(CNY)",
    ]
    shown = {name for name in ("一星坐席", "二星坐席", "三星坐席", "四星坐席", "五星坐席") if name in out}
    assert len(shown) == 5
    assert "A009  2026-02  T1    tier1     三星坐席→四星坐席  晋升" in out
    assert "A011  2026-01  T1    tier1     一星坐席           保级        39.56  D     14/14 列入复核：辅导" in out
    assert "豁免：试用期员工" in out
    assert "合计：70 人，416 人月，工资 1,794,666.12 CNY" in out
    _, csv_text, _ = run("evaluate", str(STARS), str(SAMPLE_MONTH), "--format", "csv", "--lang", "zh")
    assert csv_text.startswith("agent_id,period,team,region,")
    assert "一星坐席" not in csv_text


def test_evaluate_json_accounts_for_every_row() -> None:
    """The JSON output holds a decision or a rejection for every input row."""
    code, out, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--format", "json")
    data = json.loads(out)
    rows = len(SAMPLE_H1.read_text(encoding="utf-8").splitlines()) - 1
    merged = [re.match(r"one decision from (\d+) records", n) for d in data["decisions"] for n in d["notes"]]
    segments = sum(int(m[1]) - 1 for m in merged if m)  # a month of several records is one decision
    assert code == 1
    assert segments == 1  # A002's March: two records
    assert len(data["decisions"]) + len(data["rejections"]) + segments == rows
    assert data["ruleset"]["name"] == "callcenter-stars"
    assert isinstance(data["decisions"][0]["pay"]["total"], str)  # exact decimal text


def test_output_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    """An existing output file is kept unless --force is given; exit 5 explains."""
    target = tmp_path / "out.csv"
    target.write_text("keep me", encoding="utf-8")
    code, _, err = run("evaluate", str(STARS), str(SAMPLE_MONTH), "--format", "csv", "-o", str(target))
    assert code == 5
    assert err == f"error: {target} exists; use --force to overwrite it\n"
    assert target.read_text(encoding="utf-8") == "keep me"
    code, _, _ = run("evaluate", str(STARS), str(SAMPLE_MONTH), "--format", "csv", "-o", str(target), "--force")
    assert code == 1
    assert target.read_text(encoding="utf-8").startswith("agent_id,period,team,")


def test_chained_months_give_the_same_bytes_as_one_run(tmp_path: Path) -> None:
    """Month-by-month runs through --state-out/--state-in equal one run over the history."""
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    months = sorted({row.split(",")[1] for row in body if row.split(",")[1].startswith("2026-0")})
    whole_csv, whole_state = tmp_path / "whole.csv", tmp_path / "whole-state.json"
    run(
        "evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv", "-o", str(whole_csv), "--state-out", str(whole_state)
    )
    state = None
    pieces = []
    for month in months:
        part = tmp_path / f"{month}.csv"
        part.write_text("\n".join([header, *[r for r in body if r.split(",")[1] == month]]) + "\n", encoding="utf-8")
        out, new_state = tmp_path / f"{month}-out.csv", tmp_path / f"{month}-state.json"
        args = ["evaluate", str(STARS), str(part), "--format", "csv", "-o", str(out), "--state-out", str(new_state)]
        if state:
            args += ["--state-in", str(state)]
        run(*args)
        text = out.read_text(encoding="utf-8").splitlines()
        pieces.extend(text if not pieces else text[1:])
        state = new_state
    assert "\n".join(pieces) + "\n" == whole_csv.read_text(encoding="utf-8")
    assert state is not None
    assert state.read_text(encoding="utf-8") == whole_state.read_text(encoding="utf-8")


def test_state_csv_round_trip(tmp_path: Path) -> None:
    """State can be kept as CSV for a spreadsheet and read back."""
    state = tmp_path / "state.csv"
    run(
        "evaluate",
        str(STARS),
        str(SAMPLE_MONTH),
        "--format",
        "csv",
        "-o",
        str(tmp_path / "o.csv"),
        "--state-out",
        str(state),
    )
    assert state.read_text(encoding="utf-8").startswith("agent_id,level,last_period,")
    code, _, err = run("evaluate", str(STARS), str(SAMPLE_MONTH), "--state-in", str(state))
    assert code == 1
    assert "is not after 2026-01, already evaluated for this agent" in err


def test_usage_errors_exit_2() -> None:
    """A wrong command line prints usage and exits 2."""
    code, _, err = run("evaluate", str(STARS))
    assert code == 2
    assert "the following arguments are required: records" in err
    assert run()[0] == 2


def test_unreadable_records_exit_4(tmp_path: Path) -> None:
    """A records file that cannot be read at all exits 4 with its name."""
    code, _, err = run("evaluate", str(STARS), str(tmp_path / "missing.csv"))
    assert code == 4
    assert err == f"error: {tmp_path / 'missing.csv'}: cannot read: No such file or directory\n"


def test_schema_command_prints_json_schema() -> None:
    """``tierpay schema`` prints the JSON Schema."""
    code, out, _ = run("schema")
    assert code == 0
    assert json.loads(out)["title"] == "tierpay ruleset"


@pytest.mark.parametrize(
    ("argv", "unloaded"),
    [
        (["--help"], ["numpy", "polars", "rule_engine", "tierpay.engine"]),
        (["validate", str(STARS)], ["numpy", "polars", "tierpay.engine"]),
    ],
)
def test_commands_load_only_what_they_need(argv: list[str], unloaded: list[str]) -> None:
    """``tierpay --help`` loads no engine and no rule-engine; ``validate`` no polars or numpy."""
    probe = (
        "import sys\n"
        "from tierpay.cli import main\n"
        f"main({argv!r})\n"
        f"print(sorted(m for m in {unloaded!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"


def test_help_lists_exit_codes() -> None:
    """``--help`` documents the exit codes."""
    code, out, _ = run("--help")
    assert code == 0
    assert "5  an output cannot be written" in out


def test_review_shows_each_cohort_with_flags_ties_and_exemptions() -> None:
    """``tierpay review`` ranks each cohort; the sample's January tie in T2 is left unflagged."""
    code, out, _ = run("review", str(STARS), str(SAMPLE_H1), "--period", "2026-01")
    assert code == 1  # the sample's bad rows
    assert "2026-01  team=T2: 14 ranked by score, bottom 1 flagged for review" in out
    assert out.count("tie at cut-off, not flagged") == 2
    assert "exempt: probation" in out
    assert "2026-01  team=T5: not ranked (cohort team=T5 has 5 agents, below the minimum of 8: not ranked)" in out
    assert "tierpay never decides one" in out
    assert "Fairness screen by gender (2026-01)" in out


def test_review_json_carries_fairness() -> None:
    """The JSON review output lists each agent's review and the fairness screen."""
    _, out, _ = run("review", str(STARS), str(SAMPLE_MONTH), "--format", "json")
    data = json.loads(out)
    assert {g["group"] for g in data["fairness"]["groups"]} == {"F", "M", "undisclosed"}
    assert len(data["review"]) == 69


def test_statement_explains_every_line() -> None:
    """``tierpay statement`` prints each line with how it was computed, and the total."""
    code, out, err = run("statement", str(STARS), str(SAMPLE_H1), "--agent", "A015", "--period", "2026-05")
    assert code == 0  # the sample's rejected rows are other agents'
    assert err == ""
    assert out.splitlines()[0] == "Pay statement: A015  2026-05"
    assert (
        "Deduction for losses   -1,120.00  loss_deduction 1,500.00; deductions capped at 20% of the month's pay 5,600.00"
        in out
    )
    assert "1,120.00 deducted, 380.00 carried to later months" in out
    assert out.rstrip().endswith("Total                   4,480.00  CNY")


def test_statement_in_chinese_has_no_english_left() -> None:
    """``statement --lang zh``: headings, line names and how each line was computed are all Chinese."""
    _, out, _ = run("statement", str(STARS), str(SAMPLE_H1), "--agent", "A015", "--period", "2026-05", "--lang", "zh")
    assert out.splitlines()[:3] == [
        "工资条：A015  2026-05",
        "级别 L3 三星坐席，绩效等级 B，绩效系数 1",
        "规则 callcenter-stars 2026.1 (4ca3d86fc3f2)",
    ]
    assert out.splitlines()[3].split() == ["项目", "金额", "计算方式"]
    assert "绩效工资   1,000.00  L3，城市级别 tier1：1,000.00 × 绩效系数 1（绩效等级 B）" in out
    assert (
        "赔偿扣款  -1,120.00  赔偿扣款 1,500.00；扣款不超过当月工资 5,600.00 的 20%（《工资支付暂行规定》第十六条）："
        "本月扣除 1,120.00，380.00 顺延至以后月份扣除" in out
    )
    _, floor, _ = run("statement", str(STARS), str(SAMPLE_H1), "--agent", "A011", "--period", "2026-01", "--lang", "zh")
    assert (
        "最低工资补足    169.29  计入最低工资的工资 3,154.29，扣除个人缴纳的社会保险费和住房公积金 975.00 后为 2,179.29，"
        in floor
    )
    for text in (out, floor):  # nothing English but ids, codes, formulas and the cited source
        body = "\n".join(text.splitlines()[3:])
        words = set(re.findall(r"[A-Za-z_]{3,}", body)) - {"tier", "CNY"}
        assert words <= {"night_shifts", "protected_leave", "absences", "attended_days", "scheduled_days",
                         "and", "or", "Shanghai", "HRSS", "Bureau", "adjustment", "reported", "CBBC", "Focus"}, words  # fmt: skip


def test_statement_for_one_agent_reports_only_that_agents_rejections() -> None:
    """``statement --agent`` lists only that agent's rejected rows, and exits 1 only for them."""
    code, _, err = run("statement", str(STARS), str(SAMPLE_MONTH), "--agent", "A001")
    assert (code, err) == (0, "")
    code, out, err = run("statement", str(STARS), str(SAMPLE_MONTH), "--agent", "A001", "--agent", "A902")
    assert code == 1
    assert out.startswith("Pay statement: A001  2026-01\n")
    assert err == f"rejected: {SAMPLE_MONTH}:72 (A902 2026-01): qa_score: 105 is above the maximum 100\n"
    code, out, err = run("statement", str(STARS), str(SAMPLE_MONTH))
    assert (code, err.count("rejected: ")) == (1, 10)  # every agent: every rejection


def test_a_period_asked_for_reports_only_that_months_rejections(tmp_path: Path) -> None:
    """With ``--period``, statement and review list that month's rejections alone, and exit 1 only for them.

    A record whose month cannot be read (``2026-13``) is listed for every month asked: it may be one of them.
    """
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines(keepends=True)
    placed = tmp_path / "h1.csv"
    placed.write_text("".join(line for line in lines if ",2026-13," not in line), encoding="utf-8")
    gap = "gap: agent A020 has no record for 2026-03 (last seen 2026-02)\n"
    for command in (["statement", "--all"], ["review"]):
        code, _, err = run(*command[:1], str(STARS), str(placed), *command[1:], "--period", "2026-03")
        assert (code, err) == (0, gap), command
        code, _, err = run(*command[:1], str(STARS), str(placed), *command[1:], "--period", "2026-01")
        assert (code, err.count("rejected: "), err.count("2026-01): ")) == (1, 9, 9), command
    code, _, err = run("statement", str(STARS), str(SAMPLE_H1), "--all", "--period", "2026-03")
    assert (code, err) == (1, gap + f"rejected: {SAMPLE_H1}:428 (A908 2026-13): period: '2026-13' is not a month: "
                           "months are 1 to 12\n")  # fmt: skip


def test_a_reason_many_records_share_is_said_once_on_standard_error() -> None:
    """February without a state: 61 records lack a level for one reason, one line with a count and the first agents."""
    february = SAMPLE_MONTH.with_name("agents-2026-02.csv")
    code, _, err = run("evaluate", str(STARS), str(february))
    assert (code, err) == (1, (
        f"rejected: {february}, 61 records from row 2 (A001, A002, A003, A004, A005 and 56 more; 2026-02): "
        "level: missing; the agent has no carried state, so the record must state a level "
        "(or the ruleset declare new_agents.level)\n"
    ))  # fmt: skip
    code, _, err = run("evaluate", str(STARS), str(february), "--lang", "zh")
    assert err.startswith(
        f"退回：{february} 中 61 条记录，自第 2 行起（A001、A002、A003、A004、A005 等另 56 条；2026-02）：level: missing"
    )


def test_a_few_records_with_one_reason_are_each_listed() -> None:
    """Five records or fewer with the same reason keep a line each, as does every record of ``explain``."""
    from tierpay.engine.records import Rejection
    from tierpay.outputs.report import rejections_text

    def rejected(row: int) -> Rejection:
        return Rejection(source="f.csv", row=row, agent_id=f"A{row}", period="2026-02", reasons=["level: missing"])

    assert rejections_text([rejected(n) for n in range(2, 7)]).count("\n") == 5
    assert rejections_text([rejected(n) for n in range(2, 8)]) == (
        "rejected: f.csv, 6 records from row 2 (A2, A3, A4, A5, A6 and 1 more; 2026-02): level: missing\n"
    )
    assert rejections_text([rejected(n) for n in range(2, 8)], together=False).count("\n") == 6


def test_a_slip_says_conditions_sources_and_rounding_in_the_readers_words(tmp_path: Path) -> None:
    """A011, January: the attendance bonus not paid says its condition in words (the expression only in explain);
    the minimum wage cites its source in Chinese where the table has one; the prorated figure says it was rounded up."""
    argv = ["statement", str(STARS), str(SAMPLE_H1), "--agent", "A011", "--period", "2026-01"]
    _, zh, _ = run(*argv, "--lang", "zh")
    bonus = next(line for line in zh.splitlines() if line.startswith("全勤奖"))
    assert bonus.endswith("  不发放：未满足发放条件")  # no when_label: a plain phrase, never the expression
    floor = next(line for line in zh.splitlines() if line.startswith("最低工资补足"))
    assert (
        "2,740.00 × 18/21 天 = 2,348.58（向上取整，不低于法定标准）（2025-07-01 起执行，Shanghai HRSS Bureau" in floor
    )
    _, explained, _ = run("explain", str(STARS), str(SAMPLE_H1), "--agent", "A011", "--period", "2026-01")
    assert (
        "not paid: its condition was not met (`protected_leave or (absences == 0 and attended_days >= "
        "scheduled_days)`)" in explained
    )
    condition = '      when: "protected_leave or (absences == 0 and attended_days >= scheduled_days)"\n'
    rules = STARS.read_text(encoding="utf-8").replace(
        condition,
        condition + "      when_label: {en: no absence or a protected period, zh: 无缺勤，或处于法定保护期}\n",
    )
    (tmp_path / "stars.yaml").write_text(rules, encoding="utf-8")
    source = "        source: Shanghai HRSS Bureau 2025 adjustment, as reported by CBBC Focus 2025-07-20\n"
    table = (STARS.parent / "minimum-wage-2026.yaml").read_text(encoding="utf-8")
    assert condition in STARS.read_text(encoding="utf-8")
    assert source in table
    table = table.replace(source, source + "        source_zh: 上海市人力资源和社会保障局 2025 年调整\n")
    (tmp_path / "minimum-wage-2026.yaml").write_text(table, encoding="utf-8")
    argv[1] = str(tmp_path / "stars.yaml")
    _, zh, _ = run(*argv, "--lang", "zh")
    assert "全勤奖            0.00  不发放：未满足发放条件（无缺勤，或处于法定保护期）" in zh
    assert (
        "= 2,348.58（向上取整，不低于法定标准）（2025-07-01 起执行，上海市人力资源和社会保障局 2025 年调整）；补足 169.29"
        in zh
    )
    _, en, _ = run(*argv)
    assert "not paid: the condition (no absence or a protected period) was not met" in en
    assert "(effective 2025-07-01, Shanghai HRSS Bureau 2025 adjustment, as reported by CBBC Focus 2025-07-20)" in en


def test_statement_for_an_unknown_agent() -> None:
    """Asking for an agent with no decision says so."""
    code, _, err = run("statement", str(STARS), str(SAMPLE_MONTH), "--agent", "NOBODY")
    assert code == 1
    assert err.startswith("error: no decision for agent NOBODY\n")


def test_payroll_carries_pay_identity_and_kept_columns_only(tmp_path: Path) -> None:
    """Finance gets the pay, who and where (team, region: cost centres) and the kept columns: never gender or leave."""
    payroll = tmp_path / "payroll.csv"
    assert run("evaluate", str(STARS), str(SAMPLE_MONTH), "--payroll", str(payroll), "-o", str(tmp_path / "o"))[0] == 1
    header = payroll.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:5] == ["agent_id", "period", "team", "region", "pay_level"]
    for private in ("gender", "protected_leave", "status", "start_date", "contract_term", "employment", "from", "to"):
        assert private not in header
    kept = tmp_path / "kept.csv"
    lines = SAMPLE_MONTH.read_text(encoding="utf-8").splitlines()
    kept.write_text("\n".join([lines[0] + ",姓名", *(line + ",张三" for line in lines[1:])]) + "\n", encoding="utf-8")
    payroll.unlink()
    run("evaluate", str(STARS), str(kept), "--keep", "姓名", "--payroll", str(payroll), "-o", str(tmp_path / "o2"))
    rows = payroll.read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",")[:5] == ["agent_id", "period", "team", "region", "姓名"]
    assert rows[1].split(",")[4] == "张三"


def test_payroll_export_reconciles_with_the_summary(tmp_path: Path) -> None:
    """The payroll export's totals add up to the summary's totals, by level, team and region."""
    from decimal import Decimal

    payroll = tmp_path / "payroll.csv"
    code, out, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--payroll", str(payroll), "--summary")
    rows = payroll.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    total = sum(Decimal(r.split(",")[header.index("total")]) for r in rows[1:])
    agents = len({r.split(",")[0] for r in rows[1:]})
    summary = out[out.index("\nlevel paid  agents") :]
    totals = [line.split() for line in summary.splitlines() if line.startswith("total ")]
    assert totals == [["total", str(agents), str(len(rows) - 1), f"{total:,.2f}"]] * 3  # by level, team and region
    assert (agents, len(rows) - 1) == (70, 416)  # agents apart from agent-months
    assert header[:3] == ["agent_id", "period", "team"]
    assert code == 1


def test_summary_counts_agents_apart_from_agent_months(tmp_path: Path) -> None:
    """Fifteen agents over three months are 15 agents and 45 agent-months, not "agents 45"."""
    import csv

    fifteen = {f"A{i:03d}" for i in range(1, 17)} - {"A002"}  # A002 moves team in March: two records
    with SAMPLE_H1.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r in reader if r["agent_id"] in fifteen and r["period"] <= "2026-03"]
        fields = reader.fieldnames
    assert fields is not None
    assert len(rows) == 45
    path = tmp_path / "fifteen.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    for fmt in ("table", "csv"):  # the whole file and column by column count alike
        _, out, _ = run("evaluate", str(STARS), str(path), "--summary", "--format", fmt)
        block = out[out.index("\nteam ") + 1 :].splitlines()
        assert block[0].split() == ["team", "agents", "agent-months", "pay"]
        assert block[2].split()[:3] == ["T1", "15", "45"], fmt
        assert block[3].split()[:3] == ["total", "15", "45"], fmt


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    """``tierpay evaluate ... | head``: the closed pipe ends the run quietly, with exit code 5."""
    import subprocess
    import sys

    from .conftest import ROOT, SAMPLE_H1, STARS

    command = [sys.executable, "-m", "tierpay", "evaluate", str(STARS), str(SAMPLE_H1), "--format", "json"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline() == b"{\n"
        process.stdout.close()  # the reader stops, as head does
        errors = process.stderr.read().decode()
        code = process.wait()
    assert "Traceback" not in errors
    assert code == 5


def test_missing_ruleset_exits_4_not_3(tmp_path: Path) -> None:
    """The ruleset named on the command line that cannot be read is an unreadable input (exit 4)."""
    for command in (["validate"], ["evaluate"], ["test"], ["diff", str(STARS)]):
        argv = [*command, str(tmp_path / "none.yaml")]
        if command[0] in ("evaluate", "diff"):
            argv.append(str(SAMPLE_MONTH))
        assert run(*argv) == (4, "", f"error: {tmp_path / 'none.yaml'}: cannot read: No such file or directory\n")


def test_outside_files_are_read_only_when_allowed(tmp_path: Path) -> None:
    """A ruleset extending a file outside its folder is exit 3 at its line, and loads with the option."""
    (tmp_path / "variants").mkdir()
    child = tmp_path / "variants" / "child.yaml"
    child.write_text(f"extends: {STARS}\nversion: '2'\n", encoding="utf-8")
    code, out, err = run("validate", str(child))
    assert code == 3
    assert err.startswith(f"{child}:1:1: extends: the base ruleset {STARS} cannot be read: it is outside ")
    code, out, err = run("validate", str(child), "--allow-outside-files")
    assert code == 0
    assert out.startswith(f"{child}: ok: callcenter-stars 2, 5 levels")


def test_every_period_option_refuses_a_month_that_cannot_be() -> None:
    """``--period`` of review, statement and explain is checked: an impossible month is exit 2 naming it."""
    for command in (["review"], ["statement"], ["explain", "--agent", "A001"]):
        for period in ("2026-13", "2026-00", "2026-1", "26-01", "May", "2026-01-01", "0000-01", "２０２６-01"):
            code, out, err = run(*command, str(STARS), str(SAMPLE_MONTH), "--period", period)
            assert code == 2, (command, period)
            assert out == ""
            assert err.endswith(
                f"error: argument --period: {period!r} is not a month: write YYYY-MM, month 01 to 12 (2026-03)\n"
            )


def test_review_of_a_month_without_records_says_so() -> None:
    """A real month the records do not hold is said on stderr, with the months they hold; exit 1."""
    code, out, err = run("review", str(STARS), str(SAMPLE_MONTH), "--period", "2026-02")
    assert (code, out) == (1, "")
    assert err.startswith("error: --period 2026-02: no decision: the records hold no 2026-02 (they hold 2026-01)\n")


def test_blank_agent_is_a_usage_error() -> None:
    """``--agent ''`` is refused as a command-line error."""
    code, _, err = run("explain", str(STARS), str(SAMPLE_MONTH), "--agent", " ")
    assert code == 2
    assert err.endswith("error: argument --agent: an agent id cannot be blank\n")
