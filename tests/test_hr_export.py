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
