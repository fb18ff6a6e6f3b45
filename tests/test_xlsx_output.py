"""Workbooks out (issue 16): ``-o out.xlsx`` and ``--payroll pay.xlsx`` hold the rows of the CSV, typed
for Excel (money as numbers shown ``#,##0.00``, periods as text), the same bytes on every run,
written through the run's output set; a clash with ``--format`` or ``--stream``, a missing
extra and more rows than a sheet holds are refused before any work.

Workbooks are read back with python-calamine (values) and openpyxl (formats, frozen panes).
"""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tierpay.cli import main
from tierpay.io import xlsx_book

from .conftest import SAMPLE_H1, SAMPLE_MONTH, STARS

calamine = pytest.importorskip("python_calamine")
openpyxl = pytest.importorskip("openpyxl")
pytest.importorskip("xlsxwriter")


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err, stdin=io.BytesIO(stdin) if stdin is not None else None)
    return code, out.getvalue(), err.getvalue()


def sheets(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet of a workbook as rows of cells, read with python-calamine."""
    book = calamine.CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def as_text(cell: Any, kind: str) -> str:
    """A workbook cell as the CSV writes it: numbers back to the CSV's decimal text."""
    if cell == "":
        return ""
    if kind == "money":
        return f"{Decimal(repr(cell)):.2f}"
    if isinstance(cell, float):
        text = repr(cell)
        return text[:-2] if text.endswith(".0") else text
    return str(cell)


MONEY = {
    "pay_base", "pay_star_allowance", "pay_performance", "pay_full_attendance", "pay_night_shift", "pay_loss",
    "pay_sick_pay", "pay_probation_floor", "pay_minimum_wage", "pay_rounding", "pay_total",
}  # fmt: skip


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str, str]:
    """The six-month sample evaluated into ``out.xlsx`` and ``pay.xlsx``: folder, exit code, stdout, stderr."""
    folder = tmp_path_factory.mktemp("book")
    code, out, err = run(
        "evaluate", str(STARS), str(SAMPLE_H1), "-o", str(folder / "out.xlsx"), "--payroll", str(folder / "pay.xlsx")
    )
    return folder, code, out, err


def test_the_decisions_sheet_holds_every_row_and_column_of_the_csv(written: tuple[Path, int, str, str]) -> None:
    """Sheet ``decisions`` is the decisions CSV cell for cell: money and scores as numbers of the same value."""
    folder, code, _, err = written
    expected = csv_rows(run("evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv")[1])
    got = sheets(folder / "out.xlsx")["decisions"]
    header = expected[0]
    assert got[0] == header
    kinds = ["money" if c in MONEY else "number" for c in header]
    assert [[as_text(cell, kinds[i]) for i, cell in enumerate(row)] for row in got[1:]] == expected[1:]
    assert code == 1
    assert err.count("rejected: ") == 10


def test_cells_are_typed_for_excel(written: tuple[Path, int, str, str]) -> None:
    """Money is a number shown ``#,##0.00``, a score a number, the period text; the header row is frozen."""
    folder = written[0]
    book = openpyxl.load_workbook(folder / "out.xlsx")
    sheet = book["decisions"]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, sheet[2], strict=True))
    assert (first["pay_total"].value, first["pay_total"].number_format) == (3880, "#,##0.00")
    assert (first["score"].value, first["score"].data_type) == (59.01, "n")
    assert (first["period"].value, first["period"].data_type) == ("2026-01", "s")
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= len("agent_id")
    assert book.properties.created.isoformat() == "2000-01-01T00:00:00"


def test_the_rejections_sheet_has_a_row_per_reason(written: tuple[Path, int, str, str]) -> None:
    """Sheet ``rejections``: source, row, agent, period, the field the reason names and the reason."""
    folder, _, _, err = written
    rows = sheets(folder / "out.xlsx")["rejections"]
    assert rows[0] == ["source", "row", "agent_id", "period", "field", "reason"]
    assert rows[1] == [str(SAMPLE_H1), 419.0, "A901", "2026-01", "qa_score", "missing"]
    duplicate = next(r for r in rows if r[2] == "A905")
    assert duplicate[4:] == ["", f"duplicate: agent A905 has another record for 2026-01 at {SAMPLE_H1}:424"]
    assert len(rows) - 1 == err.count("rejected: ")


def test_the_summary_sheet_has_the_summary_tables(written: tuple[Path, int, str, str]) -> None:
    """Sheet ``summary``: agents, agent-months and pay by level paid, team and region, as ``--summary`` prints them."""
    folder = written[0]
    rows = sheets(folder / "out.xlsx")["summary"]
    assert rows[0] == ["by", "group", "agents", "agent_months", "pay"]
    assert rows[1] == ["level paid", "L1", 20.0, 109.0, 345202.59]
    totals = [r for r in rows if r[1] == "total"]
    assert {r[0] for r in totals} == {"level paid", "team", "region"}
    assert {(r[2], r[3], r[4]) for r in totals} == {(70.0, 416.0, 1794666.12)}
    printed = run("evaluate", str(STARS), str(SAMPLE_H1), "--summary")[1]
    assert "total           70           416  1,794,666.12" in printed


def test_the_payroll_workbook_is_the_payroll_csv(written: tuple[Path, int, str, str], tmp_path: Path) -> None:
    """``--payroll pay.xlsx`` holds the payroll CSV's rows, amounts as money."""
    folder = written[0]
    run("evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv", "--payroll", str(tmp_path / "pay.csv"))
    expected = csv_rows((tmp_path / "pay.csv").read_text(encoding="utf-8"))
    (name, got), *others = sheets(folder / "pay.xlsx").items()
    assert (name, others) == ("payroll", [])
    header = expected[0]
    money = {c[4:] for c in MONEY} | {"total"}
    kinds = ["money" if c in money else "number" for c in header]
    assert got[0] == header
    assert [[as_text(cell, kinds[i]) for i, cell in enumerate(row)] for row in got[1:]] == expected[1:]


def test_two_runs_give_identical_bytes(tmp_path: Path, written: tuple[Path, int, str, str]) -> None:
    """The created date is fixed and the zip's dates too: the same run writes the same workbook."""
    again = tmp_path / "again.xlsx"
    run("evaluate", str(STARS), str(SAMPLE_H1), "-o", str(again))
    assert again.read_bytes() == (written[0] / "out.xlsx").read_bytes()


def test_money_keeps_its_exact_decimal_value(tmp_path: Path) -> None:
    """Every amount read back from the workbook is the CSV's decimal, to the fen."""
    book = tmp_path / "o.xlsx"
    run("evaluate", str(STARS), str(SAMPLE_MONTH), "-o", str(book))
    rows = sheets(book)["decisions"]
    at = rows[0].index("pay_total")
    expected = [r[at] for r in csv_rows(run("evaluate", str(STARS), str(SAMPLE_MONTH), "--format", "csv")[1])[1:]]
    assert [Decimal(repr(r[at])).quantize(Decimal("0.01")) for r in rows[1:]] == [Decimal(t) for t in expected]
    assert all(Decimal(repr(r[at])) == Decimal(t).normalize() for r, t in zip(rows[1:], expected, strict=True))


def test_chinese_names_sheets_and_headers_keeping_the_keys(tmp_path: Path) -> None:
    """Under ``--lang zh`` the sheets are 评定结果, 退回记录, 汇总 and each header reads ``工号 (agent_id)``."""
    book = tmp_path / "zh.xlsx"
    run("evaluate", str(STARS), str(SAMPLE_MONTH), "-o", str(book), "--lang", "zh")
    got = sheets(book)
    assert list(got) == ["评定结果", "退回记录", "汇总"]
    header = got["评定结果"][0]
    assert header[:4] == ["工号 (agent_id)", "月份 (period)", "班组 (team)", "城市级别 (region)"]
    assert "工资合计 (pay_total)" in header
    assert "基本工资 (pay_base)" in header
    assert got["退回记录"][0] == [
        "文件 (source)",
        "行 (row)",
        "工号 (agent_id)",
        "月份 (period)",
        "字段 (field)",
        "原因 (reason)",
    ]
    assert got["汇总"][1][:2] == ["计薪级别", "一星坐席"]


def test_format_beside_a_workbook_is_refused() -> None:
    """``-o out.xlsx --format csv`` asks for two formats: a usage error, before any work."""
    assert run("evaluate", str(STARS), str(SAMPLE_MONTH), "-o", "out.xlsx", "--format", "csv") == (
        2,
        "",
        "error: -o out.xlsx writes an Excel workbook; --format csv writes text: leave out --format, "
        "or name a file of another extension\n",
    )


def test_stream_beside_a_workbook_is_refused() -> None:
    """A workbook is written whole: ``--stream`` beside ``--payroll pay.xlsx`` is a usage error."""
    code, out, err = run(
        "evaluate", str(STARS), str(SAMPLE_MONTH), "--format", "csv", "--stream", "--payroll", "pay.xlsx"
    )
    assert (code, out) == (2, "")
    assert err == (
        "error: --stream writes CSV; --payroll pay.xlsx is a workbook, written whole: leave out --stream, "
        "or name a .csv file\n"
    )


def test_without_the_extra_the_message_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without XlsxWriter a workbook output is refused (exit 5) naming the extra, and nothing is written."""
    monkeypatch.setitem(sys.modules, "xlsxwriter", None)
    book = tmp_path / "o.xlsx"
    assert run("evaluate", str(STARS), str(SAMPLE_MONTH), "-o", str(book), "--payroll", str(tmp_path / "p.csv")) == (
        5,
        "",
        f"error: -o {book}: writing an Excel workbook needs the excel extra: pip install 'tierpay[excel]' "
        "(or name a .csv file)\n",
    )
    assert list(tmp_path.iterdir()) == []


def test_more_rows_than_a_sheet_holds_are_refused_before_evaluating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records that would make more rows than Excel's sheet holds refuse the workbook (exit 5); no output appears.

    The limit is lowered to the January sample's size here; Excel's is 1,048,576 rows.
    """
    monkeypatch.setattr(xlsx_book, "ROWS", 50)
    book = tmp_path / "o.xlsx"
    code, out, err = run("evaluate", str(STARS), str(SAMPLE_MONTH), "-o", str(book), "--state-out", str(tmp_path / "s"))
    assert (code, out) == (5, "")
    assert err == (
        f"error: -o {book}: 69 records make more rows than an Excel sheet holds (49 below the header): "
        "write CSV (name a .csv file) instead\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_workbook_and_a_refused_output_leave_nothing(tmp_path: Path) -> None:
    """The workbook goes through the run's output set: when the payroll file cannot be written, no workbook appears."""
    (tmp_path / "pay.csv").write_text("kept\n", encoding="utf-8")
    code, _, err = run(
        "evaluate",
        str(STARS),
        str(SAMPLE_MONTH),
        "-o",
        str(tmp_path / "o.xlsx"),
        "--payroll",
        str(tmp_path / "pay.csv"),
    )
    assert (code, err) == (5, f"error: {tmp_path / 'pay.csv'} exists; use --force to overwrite it\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pay.csv"]


def test_a_new_workbook_is_readable_under_umask_022(tmp_path: Path) -> None:
    """A workbook is made ``0666`` less the umask, as every output is: 0644 under 022."""
    mask = os.umask(0o022)
    try:
        run("evaluate", str(STARS), str(SAMPLE_MONTH), "-o", str(tmp_path / "o.xlsx"))
    finally:
        os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "o.xlsx").st_mode) == 0o644


def test_statements_as_a_workbook_hold_the_statement_csv(tmp_path: Path) -> None:
    """``statement -o slips.xlsx`` holds the statement CSV's rows, amounts as money, in sheet ``statements``."""
    book = tmp_path / "slips.xlsx"
    assert run("statement", str(STARS), str(SAMPLE_MONTH), "--agent", "A001", "-o", str(book))[0] == 0
    expected = csv_rows(run("statement", str(STARS), str(SAMPLE_MONTH), "--agent", "A001", "--format", "csv")[1])
    (name, got), *_ = sheets(book).items()
    assert name == "statements"
    assert got[0] == expected[0]
    at = expected[0].index("amount")
    assert [[as_text(c, "money" if i == at else "text") for i, c in enumerate(r)] for r in got[1:]] == expected[1:]


def test_a_workbook_cannot_go_to_text_output() -> None:
    """Bytes need a byte stream: an output set whose standard output is text only refuses a workbook by name."""
    from tierpay.errors import OutputError
    from tierpay.io.outputs import Outputs

    outputs = Outputs(io.StringIO(), force=False)
    outputs.add("-o", None, default="-")
    with outputs, pytest.raises(OutputError, match="-o \\(not given: standard output\\): cannot write: a workbook"):
        outputs.write_bytes("-o", b"PK")


def test_csv_beside_a_payroll_workbook_is_the_csv_of_a_plain_run(tmp_path: Path) -> None:
    """``--format csv -o out.csv --payroll pay.xlsx`` evaluates whole, and writes the same CSV bytes, mark included."""
    for extra in ([], ["--lang", "zh"]):
        book, beside, alone = tmp_path / "pay.xlsx", tmp_path / "beside.csv", tmp_path / "alone.csv"
        args = ["evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv", *extra, "--force"]
        run(*args, "-o", str(beside), "--payroll", str(book))
        run(*args, "-o", str(alone))
        assert beside.read_bytes() == alone.read_bytes()
        assert sheets(book)[("工资表" if extra else "payroll")][0][0] == ("工号 (agent_id)" if extra else "agent_id")


@pytest.mark.parametrize(
    "argv",
    [
        ["review", str(STARS), str(SAMPLE_MONTH)],
        ["explain", str(STARS), str(SAMPLE_MONTH), "--agent", "A001"],
        ["diff", str(STARS), str(STARS), str(SAMPLE_MONTH)],
        ["schema"],
    ],
    ids=lambda argv: argv[0],
)
def test_a_command_that_writes_text_refuses_a_workbook_name(tmp_path: Path, argv: list[str]) -> None:
    """``review -o r.xlsx`` would be text Excel cannot open: a usage error naming the commands that write workbooks."""
    book = tmp_path / "r.xlsx"
    assert run(*argv, "-o", str(book)) == (
        2,
        "",
        f"error: -o {book}: {argv[0]} writes text, not an Excel workbook: name another file "
        "(evaluate and statement write workbooks)\n",
    )
    assert not book.exists()
