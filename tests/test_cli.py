"""The command line, run in-process: exact outputs and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

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
        "    | qa_scor >= 85 and csat >= 88 and fcr >= 70 and calls_handled >= 1100 and score >= 78\n"
        "1 problem found\n"
    )


def test_evaluate_table_lists_every_agent_and_the_bad_rows() -> None:
    """The table has a row per agent; rejections go to stderr; exit 1 because some were rejected."""
    code, out, err = run("evaluate", str(STARS), str(SAMPLE_MONTH))
    assert code == 1
    assert out.splitlines()[0].split() == [
        "agent",
        "period",
        "team",
        "region",
        "level",
        "action",
        "qualifies",
        "score",
        "grade",
        "review",
        "pay",
        "(CNY)",
    ]
    assert sum(1 for line in out.splitlines() if line.startswith("A0")) == 69
    assert "69 decided, 10 rejected; ruleset callcenter-stars 2026.1" in out
    assert err.count("rejected: ") == 10
    assert f"rejected: {SAMPLE_MONTH}:72 (A902 2026-01): qa_score: 105 is above the maximum 100\n" in err


def test_evaluate_json_accounts_for_every_row() -> None:
    """The JSON output holds a decision or a rejection for every input row."""
    code, out, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--format", "json")
    data = json.loads(out)
    rows = len(SAMPLE_H1.read_text(encoding="utf-8").splitlines()) - 1
    assert code == 1
    assert len(data["decisions"]) + len(data["rejections"]) == rows
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
    code, out, _ = run("statement", str(STARS), str(SAMPLE_H1), "--agent", "A015", "--period", "2026-05")
    assert code == 1
    assert out.splitlines()[0] == "Pay statement: A015  2026-05"
    assert (
        "Deduction for losses   -1,120.00  loss_deduction 1,500.00; deductions capped at 20% of the month's pay 5,600.00"
        in out
    )
    assert "1,120.00 deducted, 380.00 carried to later months" in out
    assert out.rstrip().endswith("Total                   4,480.00  CNY")


def test_statement_for_an_unknown_agent() -> None:
    """Asking for an agent with no decision says so."""
    code, _, err = run("statement", str(STARS), str(SAMPLE_MONTH), "--agent", "NOBODY")
    assert code == 1
    assert err.startswith("error: no decision for agent NOBODY\n")


def test_payroll_export_reconciles_with_the_summary(tmp_path: Path) -> None:
    """The payroll export's totals add up to the summary's totals, by level, team and region."""
    from decimal import Decimal

    payroll = tmp_path / "payroll.csv"
    code, out, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--payroll", str(payroll), "--summary")
    rows = payroll.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    total = sum(Decimal(r.split(",")[header.index("total")]) for r in rows[1:])
    totals = [line.split() for line in out.splitlines() if line.startswith("total ")]
    assert totals == [["total", str(len(rows) - 1), f"{total:,.2f}"]] * 3  # by level, team and region
    assert header[:3] == ["agent_id", "period", "team"]
    assert code == 1


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
