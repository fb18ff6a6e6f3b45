"""Records from an Excel workbook (issue 16): the sample as an ``.xlsx`` sheet, with numbers as
number cells and periods as date cells, gives exactly the decisions of the sample's CSV; a
missing sheet, a file that is not a workbook and ``--stream`` are refused in plain words.

Each workbook is written here from the shipped sample with openpyxl, so what is tested is the
sample itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from tierpay.cli import main
from tierpay.engine.months import CANONICAL

from .conftest import SAMPLE_H1, STARS

openpyxl = pytest.importorskip("openpyxl")
pytest.importorskip("python_calamine")

TEXT_COLUMNS = {"agent_id", "level", "team", "region", "status", "start_date", "contract_term", "gender"}
"""Columns written as text cells; every other cell that reads as a number is written as a number cell."""

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def evaluate_csv(tmp_path: Path, records: Path, *extra: str) -> tuple[int, bytes, str]:
    """Evaluate ``records`` with the stars ruleset: exit code, the decisions CSV's bytes, standard error."""
    out, err = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.csv", io.StringIO()
    args = ["evaluate", str(STARS), str(records), "--format", "csv", "-o", str(out), *extra]
    code = main(args, stdout=io.StringIO(), stderr=err)
    return code, out.read_bytes() if out.exists() else b"", err.getvalue()


def cell(column: str, text: str) -> object:
    """A sample cell as a spreadsheet holds it: a period as a first-of-month date, a number as a number."""
    if column == "period" and CANONICAL.match(text):
        return dt.datetime(int(text[:4]), int(text[5:]), 1)
    if column not in TEXT_COLUMNS and _NUMBER.fullmatch(text):
        return float(text)
    return text if text else None


def write_sample(path: Path, sheets: tuple[str, ...] = ("Sheet1",), sample_in: str = "Sheet1") -> Path:
    """The six-month sample written as a workbook: its rows in sheet ``sample_in``, a note in the others."""
    with SAMPLE_H1.open(encoding="utf-8", newline="") as handle:
        header, *body = list(csv.reader(handle))
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name in sheets:
        sheet = book.create_sheet(name)
        if name != sample_in:
            sheet.append(["note"])
            sheet.append(["this sheet holds no records"])
            continue
        sheet.append(header)
        for row in body:
            sheet.append([cell(c, t) for c, t in zip(header, row, strict=False)])
            for at, column in enumerate(header[: len(row)], start=1):
                if column == "period" and isinstance(sheet.cell(sheet.max_row, at).value, dt.datetime):
                    sheet.cell(sheet.max_row, at).number_format = "yyyy-mm"
    book.save(path)
    return path


def test_sample_as_workbook_gives_the_decisions_of_the_csv(tmp_path: Path) -> None:
    """Number cells, first-of-month date cells and text cells read as the CSV's text does: same decisions, same rejections."""
    workbook = write_sample(tmp_path / "agents.xlsx")
    code, decisions, err = evaluate_csv(tmp_path, workbook)
    csv_code, csv_decisions, csv_err = evaluate_csv(tmp_path, SAMPLE_H1)
    assert decisions == csv_decisions
    assert code == csv_code == 1
    assert "agents.xlsx[Sheet1]:" in err
    assert err.replace(f"{workbook}[Sheet1]", str(SAMPLE_H1)) == csv_err


def test_sheet_chooses_the_sheet_to_read(tmp_path: Path) -> None:
    """--sheet reads the sheet it names, here the second; without it the first is read."""
    workbook = write_sample(tmp_path / "agents.xlsx", sheets=("Notes", "Records"), sample_in="Records")
    code, decisions, _ = evaluate_csv(tmp_path, workbook, "--sheet", "Records")
    _, csv_decisions, _ = evaluate_csv(tmp_path, SAMPLE_H1)
    assert (code, decisions) == (1, csv_decisions)
    code, _, err = evaluate_csv(tmp_path, workbook)
    assert code == 4
    assert err == (
        f"error: {workbook}[Notes]:1: no agent_id column in the header (note): name the column of agent ids "
        "agent_id, or map the export's header to it in the ruleset (columns: {工号: agent_id}); "
        "the first sheet was read: name another with --sheet ('Records')\n"
    )


def test_missing_sheet_names_the_sheets_there_are(tmp_path: Path) -> None:
    """A sheet that is not in the workbook is an unreadable input (exit 4) naming the sheets there are."""
    workbook = write_sample(tmp_path / "agents.xlsx", sheets=("Notes", "Records"), sample_in="Records")
    code, decisions, err = evaluate_csv(tmp_path, workbook, "--sheet", "2026")
    assert (code, decisions) == (4, b"")
    assert err == f"error: {workbook}: no sheet named '2026'; the workbook has 'Notes', 'Records'\n"


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    """A CSV saved under an .xlsx name is refused in plain words, not read as text or as a broken zip."""
    fake = tmp_path / "agents.xlsx"
    fake.write_bytes(SAMPLE_H1.read_bytes())
    code, decisions, err = evaluate_csv(tmp_path, fake)
    assert (code, decisions) == (4, b"")
    assert err == f"error: {fake}: not an Excel workbook (.xlsx): save it from Excel as .xlsx, or as CSV\n"


def test_stream_reads_csv_only(tmp_path: Path) -> None:
    """--stream on a workbook is a usage error (exit 2) saying it reads CSV."""
    workbook = write_sample(tmp_path / "agents.xlsx")
    code, decisions, err = evaluate_csv(tmp_path, workbook, "--stream")
    assert (code, decisions) == (2, b"")
    assert err == "error: --stream reads CSV files; save the workbook's sheet as CSV, or leave out --stream\n"


def test_whole_number_cells_read_as_integers() -> None:
    """A whole-number cell is written without .0 (so an integer metric accepts it), others to 15 digits as Excel shows them; a midnight date-time is its date."""
    from tierpay.io.xlsx_records import cell_text

    values = (85.0, 78.2, 0.1 + 0.2, 1e-05, None, "", True, dt.datetime(2026, 1, 1), dt.date(2026, 2, 1))
    assert [cell_text(v) for v in values] == [
        "85",
        "78.2",
        "0.3",
        "0.00001",
        "",
        "",
        "true",
        "2026-01-01",
        "2026-02-01",
    ]


def test_without_the_extra_the_message_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without python-calamine, an .xlsx is an unreadable input (exit 4) naming the extra to install."""
    import sys

    workbook = write_sample(tmp_path / "agents.xlsx")
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    code, decisions, err = evaluate_csv(tmp_path, workbook)
    assert (code, decisions) == (4, b"")
    assert err == (
        f'error: {workbook}: reading .xlsx records needs the excel extra: pip install "tierpay[excel]" '
        "(or save the sheet as CSV)\n"
    )


def test_workbook_on_standard_input(tmp_path: Path) -> None:
    """A workbook given on standard input (-) is known by its first bytes and read as the file would be."""
    workbook = write_sample(tmp_path / "agents.xlsx")
    out = tmp_path / "stdin.csv"
    stdin = io.BytesIO(workbook.read_bytes())
    code = main(
        ["evaluate", str(STARS), "-", "--format", "csv", "-o", str(out)],
        stdin=stdin,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    _, csv_decisions, _ = evaluate_csv(tmp_path, SAMPLE_H1)
    assert (code, out.read_bytes()) == (1, csv_decisions)


def test_sheet_on_a_csv_is_refused(tmp_path: Path) -> None:
    """--sheet with records that are not a workbook is refused rather than ignored."""
    code, decisions, err = evaluate_csv(tmp_path, SAMPLE_H1, "--sheet", "Records")
    assert (code, decisions) == (4, b"")
    assert err == (
        f"error: {SAMPLE_H1}: sheet 'Records' was named, but the records are not an Excel workbook (.xlsx)\n"
    )


def _generator() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_sample", SAMPLE_H1.parent / "generate_sample.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_workbook_is_the_january_sample_as_generated() -> None:
    """``agents-2026-01.xlsx`` holds what ``generate_sample.py`` makes of the January sample, and making it twice gives the same bytes."""
    from python_calamine import CalamineWorkbook

    made: bytes = _generator().workbook_bytes()  # type: ignore[attr-defined]
    assert made == _generator().workbook_bytes()  # type: ignore[attr-defined]
    shipped = CalamineWorkbook.from_path(str(SAMPLE_H1.parent / "agents-2026-01.xlsx"))
    fresh = CalamineWorkbook.from_filelike(io.BytesIO(made))
    assert shipped.sheet_names == fresh.sheet_names == ["2026-01"]
    assert shipped.get_sheet_by_index(0).to_python() == fresh.get_sheet_by_index(0).to_python()


def test_the_shipped_workbook_gives_the_decisions_of_the_january_csv(tmp_path: Path) -> None:
    """The how-to's workbook decides exactly as ``agents-2026-01.csv`` does."""
    code, decisions, _ = evaluate_csv(tmp_path, SAMPLE_H1.parent / "agents-2026-01.xlsx")
    csv_code, csv_decisions, _ = evaluate_csv(tmp_path, SAMPLE_H1.parent / "agents-2026-01.csv")
    assert (code, decisions) == (csv_code, csv_decisions)
