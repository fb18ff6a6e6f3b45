"""An HR export as it comes (issue 16): the sample's records written as HR systems write them
give exactly the decisions of the sample's CSV, on every path (columnar, ``--stream``, the API).

Each export is made here from the shipped sample, so what is tested is the sample itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from tierpay import load_ruleset, read_records
from tierpay.cli import main
from tierpay.engine.months import CANONICAL

from .conftest import SAMPLE_H1, STARS


def evaluate_csv(
    tmp_path: Path, records: Path | str, *extra: str, stdin: bytes | None = None
) -> tuple[int, bytes, str]:
    """Evaluate ``records`` with the stars ruleset: exit code, the decisions CSV's bytes, standard error."""
    out, err = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.csv", io.StringIO()
    args = ["evaluate", str(STARS), str(records), "--format", "csv", "-o", str(out), *extra]
    code = main(args, stdout=io.StringIO(), stderr=err)
    return code, out.read_bytes() if out.exists() else b"", err.getvalue()


def sample_rows() -> list[list[str]]:
    """The six-month sample as rows of cells, header first."""
    with SAMPLE_H1.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def rewrite_months(form: Callable[[int, int], str]) -> list[list[str]]:
    """The sample with each well-formed period written in ``form`` (the bad ones left as they are)."""
    header, *body = sample_rows()
    at = header.index("period")
    for row in body:
        if len(row) > at and CANONICAL.match(row[at]):
            year, month = map(int, row[at].split("-"))
            row[at] = form(year, month)
    return [header, *body]


MONTH_FORMS: dict[str, Callable[[int, int], str]] = {
    "2026/1": lambda y, m: f"{y}/{m}",
    "2026年1月": lambda y, m: f"{y}年{m}月",
    "202601": lambda y, m: f"{y}{m:02d}",
    "2026/1/1": lambda y, m: f"{y}/{m}/1",
    "2026-01-01": lambda y, m: f"{y}-{m:02d}-01",
    "Jan-26": lambda y, m: ["Jan", "Feb", "Mar", "Apr", "May", "Jun"][m - 1] + f"-{y % 100}",
}


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, bytes, str]:
    """The sample CSV as it ships, evaluated."""
    return evaluate_csv(tmp_path_factory.mktemp("plain"), SAMPLE_H1)


@pytest.mark.parametrize("form", list(MONTH_FORMS))
@pytest.mark.parametrize("path", ["columnar", "stream"])
def test_months_as_people_write_them_give_the_decisions_of_the_csv(
    tmp_path: Path, plain: tuple[int, bytes, str], form: str, path: str
) -> None:
    """Every month form, on both evaluation paths, gives the same decisions and rejects the same rows."""
    written = write_rows(tmp_path / "months.csv", rewrite_months(MONTH_FORMS[form]))
    code, decisions, err = evaluate_csv(tmp_path, written, *(["--stream"] if path == "stream" else []))
    assert (code, decisions) == plain[:2]
    assert sorted(err.replace(str(written), str(SAMPLE_H1)).splitlines()) == sorted(plain[2].splitlines())


@pytest.mark.parametrize("form", list(MONTH_FORMS))
def test_months_as_people_write_them_read_alike_through_the_api(tmp_path: Path, form: str) -> None:
    """The Python API reads each month form as the CSV's ``YYYY-MM``, row for row."""
    ruleset = load_ruleset(STARS)
    expected = read_records(ruleset, SAMPLE_H1)
    got = read_records(ruleset, write_rows(tmp_path / "m.csv", rewrite_months(MONTH_FORMS[form])))
    assert [(r.row, r.period) for r in got.records] == [(r.row, r.period) for r in expected.records]
    assert [r.row for r in got.rejections] == [r.row for r in expected.rejections]


LEVEL_NAMES = {"L1": "一星坐席", "L2": "二星坐席", "L3": "三星坐席", "L4": "四星坐席", "L5": "五星坐席"}


def chinese_rows() -> list[list[str]]:
    """The sample with months written 2026年1月 and levels by their Chinese names, as a Chinese HR export has them."""
    header, *body = rewrite_months(MONTH_FORMS["2026年1月"])
    at = header.index("level")
    for row in body:
        if len(row) > at:
            row[at] = LEVEL_NAMES.get(row[at], row[at])
    return [header, *body]


@pytest.mark.parametrize("path", ["columnar", "stream"])
def test_gbk_text_is_detected_and_read_with_a_note(tmp_path: Path, plain: tuple[int, bytes, str], path: str) -> None:
    """A GBK file (as Excel saves CSV in China) gives the CSV's decisions, with one line saying how it was read."""
    gbk = write_rows(tmp_path / "gbk.csv", chinese_rows(), encoding="gbk")
    extra = ["--stream"] if path == "stream" else []
    code, decisions, err = evaluate_csv(tmp_path, gbk, *extra)
    note = f"warning: {gbk}: not UTF-8: read as GB18030 (GBK), as Excel saves CSV in China; --encoding gb18030 says so outright\n"
    assert err.startswith(note)
    assert (code, decisions) == plain[:2]
    said = evaluate_csv(tmp_path, gbk, "--encoding", "gbk", *extra)
    assert said[:2] == plain[:2]
    assert "GB18030" not in said[2]


def test_an_encoding_said_outright_is_the_only_one_tried(tmp_path: Path) -> None:
    """``--encoding utf-8`` on a GBK file refuses it, naming the line, rather than guessing past the option."""
    gbk = write_rows(tmp_path / "gbk.csv", chinese_rows(), encoding="gbk")
    code, _, err = evaluate_csv(tmp_path, gbk, "--encoding", "utf-8")
    assert code == 4
    assert err.startswith(f"error: {gbk}:2: not UTF-8 text.")


def test_the_api_reads_gbk_too(tmp_path: Path) -> None:
    """``read_records`` detects GBK (with the note in its warnings) and takes ``encoding=`` outright."""
    ruleset = load_ruleset(STARS)
    gbk = write_rows(tmp_path / "gbk.csv", chinese_rows(), encoding="gbk")
    expected = read_records(ruleset, SAMPLE_H1).records
    detected = read_records(ruleset, gbk)
    assert [r.model_dump(exclude={"source"}) for r in detected.records] == [
        r.model_dump(exclude={"source"}) for r in expected
    ]
    assert detected.warnings[0].startswith(f"{gbk}: not UTF-8: read as GB18030")
    assert read_records(ruleset, gbk, encoding="gb18030").warnings[:1] != detected.warnings[:1]


def test_a_utf8_file_with_a_bom_reads_as_without(tmp_path: Path, plain: tuple[int, bytes, str]) -> None:
    """A CSV saved as Excel's 'CSV UTF-8' (with a byte-order mark) gives the same decisions."""
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + SAMPLE_H1.read_bytes())
    assert evaluate_csv(tmp_path, bom)[:2] == plain[:2]


@pytest.mark.parametrize(
    ("extra", "bom"),
    [
        (["--lang", "zh"], True),
        (["--lang", "zh", "--no-bom"], False),
        (["--lang", "en"], False),
        (["--lang", "en", "--bom"], True),
    ],
)
def test_csv_files_for_excel_begin_with_a_bom(
    tmp_path: Path, plain: tuple[int, bytes, str], extra: list[str], bom: bool
) -> None:
    """``--lang zh`` CSV files begin with a byte-order mark (Excel then reads them as UTF-8); the options decide outright."""
    pay = tmp_path / "pay.csv"
    _, decisions, _ = evaluate_csv(tmp_path, SAMPLE_H1, "--payroll", str(pay), *extra)
    mark = b"\xef\xbb\xbf" if bom else b""
    assert decisions == mark + plain[1]
    assert pay.read_bytes().startswith(mark + b"agent_id,")


def test_standard_output_gets_a_bom_only_when_asked() -> None:
    """CSV on standard output has no byte-order mark with ``--lang zh``; ``--bom`` puts one there too."""
    for extra, start in (([], "agent_id,"), (["--bom"], "\ufeffagent_id,")):
        out = io.StringIO()
        main(
            ["evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv", "--lang", "zh", *extra],
            stdout=out,
            stderr=io.StringIO(),
        )
        assert out.getvalue().startswith(start)


def test_statement_csv_files_follow_the_same_bom_rule(tmp_path: Path) -> None:
    """``statement --format csv --lang zh -o`` writes a byte-order mark; ``--no-bom`` leaves it out."""
    for extra, mark in (([], b"\xef\xbb\xbf"), (["--no-bom"], b"")):
        out = tmp_path / f"st{len(extra)}.csv"
        args = ["statement", str(STARS), str(SAMPLE_H1), "--format", "csv", "--lang", "zh", "-o", str(out), *extra]
        main(args, stdout=io.StringIO(), stderr=io.StringIO())
        text = out.read_bytes()
        assert text.startswith(mark)
        assert not text[len(mark) :].startswith(b"\xef\xbb\xbf")


HEADERS = {"agent_id": "工号", "period": "月份", "level": "级别"}


def hr_ruleset(tmp_path: Path, columns: str = "{工号: agent_id, 月份: period, 级别: level}") -> Path:
    """The stars ruleset extended with a ``columns:`` map of a Chinese export's headers."""
    path = tmp_path / "stars-hr.yaml"
    path.write_text(f"tierpay: 1\nextends: {STARS}\ncolumns: {columns}\n", encoding="utf-8")
    return path


def chinese_headers(rows: list[list[str]]) -> list[list[str]]:
    """``rows`` with the header as a Chinese export writes it: mapped names, and each metric's and attribute's zh label."""
    ruleset = load_ruleset(STARS).model
    labels = {
        n: i.label["zh"]
        for n, i in [*ruleset.metrics.items(), *ruleset.attributes.items()]
        if isinstance(i.label, dict)
    }
    header = [HEADERS.get(h) or labels.get(h, h) for h in rows[0]]
    return [header, *rows[1:]]


def decisions_without_ruleset(data: bytes) -> list[list[str]]:
    """The decisions CSV without the columns naming the ruleset (an extending ruleset has its own hash) and the kept name."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    keep = [i for i, name in enumerate(rows[0]) if name not in ("ruleset_version", "ruleset_sha256", "姓名")]
    return [[row[i] for i in keep] for row in rows]


@pytest.mark.parametrize("path", ["columnar", "stream"])
def test_a_gbk_export_with_chinese_headers_gives_the_decisions_of_the_csv(
    tmp_path: Path, plain: tuple[int, bytes, str], path: str
) -> None:
    """GBK text, headers mapped through ``columns:`` and labels, months written 2026年1月: the CSV's decisions."""
    export = write_rows(tmp_path / "export.csv", chinese_headers(chinese_rows()), encoding="gbk")
    extra = ["--allow-outside-files", *(["--stream"] if path == "stream" else [])]
    args = [
        "evaluate",
        str(hr_ruleset(tmp_path)),
        str(export),
        "--format",
        "csv",
        "-o",
        str(tmp_path / "o.csv"),
        *extra,
    ]
    err = io.StringIO()
    code = main(args, stdout=io.StringIO(), stderr=err)
    assert code == plain[0]
    assert decisions_without_ruleset((tmp_path / "o.csv").read_bytes()) == decisions_without_ruleset(plain[1])
    assert "ignored" not in err.getvalue()  # every Chinese header was a field


def test_the_api_maps_headers_of_json_records_too(tmp_path: Path) -> None:
    """A JSON export keyed by labels and mapped headers reads as the CSV's records."""
    import json

    header, *body = chinese_headers(sample_rows())
    records = [dict(zip(header, row, strict=True)) for row in body if len(row) == len(header)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    from tierpay import load_target

    ruleset = load_target(hr_ruleset(tmp_path), allow_outside_files=True)
    got = read_records(ruleset, path).records
    expected = read_records(load_ruleset(STARS), SAMPLE_H1).records
    assert [(r.agent_id, r.period, r.level, r.metrics) for r in got] == [
        (r.agent_id, r.period, r.level, r.metrics) for r in expected
    ]


def test_two_headers_meaning_one_field_is_an_error_naming_both(tmp_path: Path) -> None:
    """A header mapped to agent_id beside an agent_id column is refused, naming both (exit 4)."""
    rows = sample_rows()
    rows[0] = ["工号", *rows[0][1:]]
    rows = [[*row, row[0]] if i else [*row, "agent_id"] for i, row in enumerate(rows)]
    export = write_rows(tmp_path / "both.csv", rows)
    err = io.StringIO()
    code = main(
        ["evaluate", str(hr_ruleset(tmp_path)), str(export), "--allow-outside-files"], stdout=io.StringIO(), stderr=err
    )
    assert code == 4
    assert err.getvalue() == (
        f"error: {export}:1: columns 工号 and agent_id both mean agent_id: keep one, or map one in columns:\n"
    )


def from_stdin(data: bytes, *args: str) -> tuple[int, str, str]:
    """Run tierpay with ``data`` on standard input: exit code, standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err, stdin=io.BytesIO(data))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("kind", ["csv", "gbk", "json"])
def test_records_on_standard_input_give_the_decisions_of_the_file(plain: tuple[int, bytes, str], kind: str) -> None:
    """``-`` reads CSV (UTF-8 or GBK, any month form) or JSON (it starts with [ or {) from standard input."""
    import json

    if kind == "csv":
        data = SAMPLE_H1.read_bytes()
    elif kind == "gbk":
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(chinese_rows())
        data = buffer.getvalue().encode("gbk")
    else:
        header, *body = sample_rows()
        data = json.dumps([dict(zip(header, row, strict=True)) for row in body if len(row) == len(header)]).encode()
    code, out, err = from_stdin(data, "evaluate", str(STARS), "-", "--format", "csv")
    expected = plain[1].decode()
    if kind == "json":  # the sample's ragged rows cannot be JSON objects of the header's keys
        assert out.splitlines()[0] == expected.splitlines()[0]
        assert set(out.splitlines()) <= set(expected.splitlines())
    else:
        assert (code, out) == (plain[0], expected)
        assert err.replace("<stdin>", str(SAMPLE_H1)).splitlines()[-3:] == plain[2].splitlines()[-3:]


def test_stream_refuses_standard_input() -> None:
    """``--stream`` needs a file it can read in pieces; on standard input it is a usage error."""
    code, _, err = from_stdin(b"agent_id,period\n", "evaluate", str(STARS), "-", "--format", "csv", "--stream")
    assert (code, err) == (2, "error: --stream reads a file; standard input (-) is read whole: leave out --stream\n")


def test_the_shipped_export_is_the_january_sample_as_generated() -> None:
    """``hr-export-2026-01.csv`` is what ``generate_sample.py`` makes of the January sample, byte for byte."""
    import importlib.util

    script = SAMPLE_H1.parent / "generate_sample.py"
    spec = importlib.util.spec_from_file_location("generate_sample", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (SAMPLE_H1.parent / "hr-export-2026-01.csv").read_bytes() == module.hr_export_bytes()


def test_the_shipped_export_gives_the_decisions_of_the_january_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The how-to's export, through the how-to's ruleset, decides as the January CSV does (run from the checkout, as the how-to is)."""
    monkeypatch.chdir(SAMPLE_H1.parents[2])
    january = SAMPLE_H1.parent / "agents-2026-01.csv"
    export = SAMPLE_H1.parent / "hr-export-2026-01.csv"
    ruleset = SAMPLE_H1.parents[1] / "rulesets" / "callcenter-stars-hr-export.yaml"
    outputs = []
    for rules, records in ((STARS, january), (ruleset, export)):
        out = tmp_path / f"{records.stem}.csv"
        code = main(
            ["evaluate", str(rules), str(records), "--format", "csv", "-o", str(out)],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        outputs.append((code, decisions_without_ruleset(out.read_bytes())))
    assert outputs[0] == outputs[1]


HR_RULESET = SAMPLE_H1.parents[1] / "rulesets" / "callcenter-stars-hr-export.yaml"
HR_EXPORT = SAMPLE_H1.parent / "hr-export-2026-01.csv"


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_kept_columns_reach_every_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ruleset's ``keep: [姓名]`` carries the name to the CSV, JSON, table, pay slips (text and CSV), the
    explanation's header line and the review's ranking."""
    monkeypatch.chdir(SAMPLE_H1.parents[2])
    records = str(HR_RULESET), str(HR_EXPORT)
    assert (
        run("evaluate", *records, "--format", "csv")[1]
        .splitlines()[1]
        .startswith("A001,2026-01,T1,tier1,regular,,,F,false,full_time,,,王伟,")
    )
    assert '"姓名": "王伟"' in run("evaluate", *records, "--format", "json")[1]
    table = run("evaluate", *records, "--lang", "zh")[1].splitlines()
    assert table[0].split()[:3] == ["工号", "姓名", "月份"]
    assert table[2].split()[:3] == ["A001", "王伟", "2026-01"]
    assert run("statement", *records, "--agent", "A001", "--lang", "zh")[1].startswith("工资条：A001 王伟  2026-01\n")
    assert run("explain", *records, "--agent", "A001", "--lang", "zh")[1].startswith(
        "A001 王伟  2026-01：L1 一星坐席，保级\n"
    )
    assert run("explain", *records, "--agent", "A001")[1].startswith("A001 王伟  2026-01: L1 One-star agent, kept\n")
    ranking = run("review", *records, "--lang", "zh")[1].splitlines()
    assert ranking[1].split()[:3] == ["名次", "工号", "姓名"]
    assert ranking[3].split()[:3] == ["1", "A006", "杨明"]
    slip = run("statement", *records, "--agent", "A001", "--format", "csv")[1].splitlines()
    assert slip[:2] == [
        "agent_id,姓名,period,line,kind,amount,currency,basis",
        'A001,王伟,2026-01,base,line,3200.00,CNY,"L1, region tier1: 3,200.00"',
    ]


def test_keep_on_the_command_line_adds_columns_and_changes_no_decision(tmp_path: Path) -> None:
    """``--keep`` carries a column the ruleset does not name; every other cell is the plain run's."""
    rows = sample_rows()
    rows = [[*row, "部门" if i == 0 else f"D{i % 3}"] for i, row in enumerate(rows)]
    path = write_rows(tmp_path / "dept.csv", rows)
    code, out, err = run("evaluate", str(STARS), str(path), "--format", "csv", "--keep", "部门")
    plain_code, plain_out, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv")
    kept = list(csv.reader(io.StringIO(out)))
    at = kept[0].index("部门")
    assert code == plain_code
    assert [row[:at] + row[at + 1 :] for row in kept] == list(csv.reader(io.StringIO(plain_out)))
    assert "ignored" not in err


def test_keeping_a_field_is_refused() -> None:
    """``--keep level`` names a field the rules read: a usage error saying so."""
    assert run("evaluate", str(STARS), str(SAMPLE_H1), "--keep", "level") == (
        2,
        "",
        "error: --keep: 'level' is a field the rules read; keep names extra columns carried beside them\n",
    )


def test_a_kept_column_the_file_lacks_is_blank_with_a_warning() -> None:
    """``--keep 部门`` on a file without 部门 decides as without it, and says the column is left blank."""
    code, out, err = run("evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv", "--keep", "部门")
    assert code == 1
    assert out.splitlines()[1].split(",")[12] == ""
    assert f"warning: {SAMPLE_H1}: no record has 部门, a column to keep: it is left blank\n" in err


# --- issue 16, "done when": every form of the export, and what comes out ---------------------

NAMES = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强", "周杰", "吴芳"]


def named_export(form: str) -> list[list[str]]:
    """The sample as a Chinese HR system exports it: months in ``form``, levels by name, Chinese headers, a name column."""
    header, *body = chinese_headers(rewrite_months(MONTH_FORMS[form]))
    level = header.index("级别")
    for row in body:
        if len(row) > level:
            row[level] = LEVEL_NAMES.get(row[level], row[level])
    return [["姓名", *header], *[[name_of(row[0] if row else ""), *row] for row in body]]


def name_of(agent: str) -> str:
    """The name an export gives an agent: the same in every month."""
    return NAMES[sum(map(ord, agent)) % len(NAMES)]


def gbk_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("gbk")


@pytest.mark.parametrize("given", ["xlsx", "gbk file", "gbk on standard input"])
@pytest.mark.parametrize("form", ["2026/1", "2026年1月", "202601"])
def test_done_when_each_export_gives_exactly_the_decisions_of_the_csv(
    tmp_path: Path, plain: tuple[int, bytes, str], given: str, form: str
) -> None:
    """Issue 16: the sample as .xlsx, or as GBK text with Chinese headers (through ``columns:`` and labels) and a
    name column kept with ``--keep``, months written 2026/1, 2026年1月 or 202601, from a file or standard input:
    the decisions of the CSV, each beside its agent's name."""
    rows = named_export(form)
    stdin = None
    if given == "xlsx":
        from .test_xlsx_records import cell

        openpyxl = pytest.importorskip("openpyxl")
        pytest.importorskip("python_calamine")
        book = openpyxl.Workbook()
        sheet = book.active
        fields = ["姓名", *sample_rows()[0]]  # the columns' fields, to type each cell as a spreadsheet holds it
        sheet.append(rows[0])
        for row in rows[1:]:
            sheet.append([cell(f, t) if f != "period" else t for f, t in zip(fields, row, strict=False)])
        records = tmp_path / "export.xlsx"
        book.save(records)
    elif given == "gbk file":
        records = tmp_path / "export.csv"
        records.write_bytes(gbk_bytes(rows))
    else:
        records, stdin = Path("-"), gbk_bytes(rows)
    out = tmp_path / "o.csv"
    args = ["evaluate", str(hr_ruleset(tmp_path)), str(records), "--allow-outside-files", "--keep", "姓名"]
    err = io.StringIO()
    code = main(
        [*args, "--format", "csv", "-o", str(out)],
        stdout=io.StringIO(),
        stderr=err,
        stdin=io.BytesIO(stdin) if stdin is not None else None,
    )
    assert code == plain[0]
    got = out.read_bytes()
    assert decisions_without_ruleset(got) == decisions_without_ruleset(plain[1])
    decided = list(csv.reader(io.StringIO(got.decode("utf-8"))))
    at = decided[0].index("姓名")
    assert [row[at] for row in decided[1:]] == [name_of(row[0]) for row in decided[1:]]
    assert "ignored" not in err.getvalue()


def test_done_when_the_workbook_written_holds_the_rows_of_the_csv(tmp_path: Path) -> None:
    """Issue 16: ``-o x.xlsx`` of the GBK export opens (read back with python-calamine) with the CSV's rows, the name kept."""
    calamine = pytest.importorskip("python_calamine")
    pytest.importorskip("xlsxwriter")
    export = tmp_path / "export.csv"
    export.write_bytes(gbk_bytes(named_export("2026年1月")))
    args = ["evaluate", str(hr_ruleset(tmp_path)), str(export), "--allow-outside-files", "--keep", "姓名"]
    assert main([*args, "-o", str(tmp_path / "x.xlsx")], stdout=io.StringIO(), stderr=io.StringIO()) == 1
    text = io.StringIO()
    main([*args, "--format", "csv"], stdout=text, stderr=io.StringIO())
    expected = list(csv.reader(io.StringIO(text.getvalue())))
    book = calamine.CalamineWorkbook.from_path(str(tmp_path / "x.xlsx"))
    assert book.sheet_names == ["decisions", "rejections", "summary"]
    got = book.get_sheet_by_name("decisions").to_python()
    assert got[0] == expected[0]
    assert len(got) == len(expected)
    for row, want in zip(got[1:], expected[1:], strict=True):  # the same texts, and numbers of the same value
        assert all(c == w if isinstance(c, str) else c == float(w) for c, w in zip(row, want, strict=True))


def test_done_when_every_output_is_readable_under_umask_022(tmp_path: Path) -> None:
    """Issue 16: the workbook, the payroll, the state and the CSV a run writes are 0644 under umask 022."""
    import os
    import stat

    pytest.importorskip("xlsxwriter")
    mask = os.umask(0o022)
    try:
        main(
            [
                "evaluate",
                str(STARS),
                str(SAMPLE_H1),
                "-o",
                str(tmp_path / "x.xlsx"),
                "--payroll",
                str(tmp_path / "pay.csv"),
                "--state-out",
                str(tmp_path / "state.json"),
            ],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        main(["evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv", "-o", str(tmp_path / "x.csv")])
    finally:
        os.umask(mask)
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys(["x.xlsx", "pay.csv", "state.json", "x.csv"], 0o644)


# --- standard error in Chinese ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["whole", "columnar", "stream"])
def test_standard_error_speaks_chinese_under_lang_zh(tmp_path: Path, path: str) -> None:
    """Under ``--lang zh`` the GB18030 note, warnings, gaps and each rejection's framing are Chinese; the
    reasons stay in English, as they were found."""
    rows = [[*row, "备注" if i == 0 else "x"] for i, row in enumerate(chinese_rows())]  # a column no one knows
    gbk = write_rows(tmp_path / "gbk.csv", rows, encoding="gbk")
    extra = {"whole": ["--format", "json"], "columnar": ["--format", "csv"], "stream": ["--format", "csv", "--stream"]}
    code, _, err = run("evaluate", str(STARS), str(gbk), *extra[path], "--lang", "zh", "-o", str(tmp_path / "o"))
    lines = err.splitlines()
    assert code == 1
    assert lines[0] == (
        f"警告：{gbk}：不是 UTF-8，已按 GB18030（GBK）读取，Excel 在中国保存的 CSV 即为此编码；"
        "用 --encoding gb18030 明确指定则不再提示"
    )
    assert f"警告：{gbk}：规则中没有的列已忽略：备注" in lines
    assert "缺记录：坐席 A020 没有 2026-03 的记录（最近一次为 2026-02）" in lines
    assert f"退回：{gbk}:419（A901 2026-01）：qa_score: missing" in lines
    assert f"退回：{gbk}:427（2026-01）：agent_id: missing" in lines
    assert not [line for line in lines if line.startswith(("warning:", "gap:", "rejected:"))]


def test_standard_error_stays_english_without_lang() -> None:
    """Without ``--lang zh`` the same lines are English, word for word as before."""
    code, _, err = run("evaluate", str(STARS), str(SAMPLE_H1), "--format", "json")
    assert code == 1
    assert "gap: agent A020 has no record for 2026-03 (last seen 2026-02)" in err.splitlines()
    assert f"rejected: {SAMPLE_H1}:427 (2026-01): agent_id: missing" in err.splitlines()


def test_explain_statement_and_review_frame_their_problems_in_chinese() -> None:
    """``explain``, ``statement`` and ``review`` with ``--lang zh`` frame rejections in Chinese too."""
    assert run("explain", str(STARS), str(SAMPLE_H1), "--agent", "A901", "--lang", "zh")[1] == (
        f"退回：{SAMPLE_H1}:419（A901 2026-01）：qa_score: missing\n"
    )
    for command in ("statement", "review"):
        err = run(command, str(STARS), str(SAMPLE_H1), "--lang", "zh")[2]
        assert f"退回：{SAMPLE_H1}:427（2026-01）：agent_id: missing\n" in err


def test_a_warning_is_english_text_that_knows_its_chinese() -> None:
    """The API's warnings are plain English strings; the command line shows them in Chinese through their words."""
    from tierpay.io.textfile import detected_note
    from tierpay.words import said

    note = detected_note("a.csv")
    assert (
        note
        == "a.csv: not UTF-8: read as GB18030 (GBK), as Excel saves CSV in China; --encoding gb18030 says so outright"
    )
    assert said(note, "zh").startswith("a.csv：不是 UTF-8")
    assert said("something else", "zh") == "something else"
    import copy
    import pickle

    for again in (copy.deepcopy(note), pickle.loads(pickle.dumps(note))):
        assert (again, said(again, "zh")) == (note, said(note, "zh"))
