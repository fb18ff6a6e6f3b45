"""Data frames as records: a pandas or polars DataFrame or a pyarrow Table gives what the same CSV gives."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierpay import CompiledRuleset, RecordBatch, RecordsError, evaluate, load_ruleset, read_records, records_from_dicts
from tierpay.engine.tables import cell_text, is_table, parse_table
from tierpay.outputs.report import decisions_csv

from .conftest import MINI, ROOT, SAMPLE_H1, build

READERS: dict[str, Callable[[Path], Any]] = {
    "pandas": pd.read_csv,
    "pandas, arrow dtypes": lambda p: pd.read_csv(p, dtype_backend="pyarrow"),
    "pandas, nullable dtypes": lambda p: pd.read_csv(p).convert_dtypes(),
    "polars": lambda p: pl.read_csv(p, infer_schema_length=None),
    "polars, all text": lambda p: pl.read_csv(p, infer_schema=False),
    "pyarrow": pa_csv.read_csv,
}


def rejections(batch_or_outcome: Any, source: str) -> list[tuple[int, str | None, str | None, list[str]]]:
    """Rejections as (row, agent, period, reasons), with the source name taken out of the reasons."""
    return [
        (r.row, r.agent_id, r.period, [x.replace(source, "@") for x in r.reasons]) for r in batch_or_outcome.rejections
    ]


def records(batch: RecordBatch) -> list[dict[str, Any]]:
    """Good records without their source, metrics as exact text (so 85 and 85.0 differ)."""
    out = []
    for r in batch.records:
        data = r.model_dump(exclude={"source"})
        data["metrics"] = {k: str(v) for k, v in r.metrics.items()}
        out.append(data)
    return out


def as_csv(ruleset: CompiledRuleset, text: str, tmp_path: Path) -> RecordBatch:
    """The batch a CSV file of ``text`` gives."""
    path = tmp_path / "same.csv"
    path.write_text(text, encoding="utf-8")
    return read_records(ruleset, path)


def assert_same(ruleset: CompiledRuleset, frame: Any, text: str, tmp_path: Path) -> RecordBatch:
    """The frame gives the records, rejections and warnings of the CSV ``text``; returns the frame's batch."""
    got, want = read_records(ruleset, frame, source="frame"), as_csv(ruleset, text, tmp_path)
    assert records(got) == records(want)
    assert rejections(got, "frame") == rejections(want, str(tmp_path / "same.csv"))
    assert [w.replace("frame", "@") for w in got.warnings] == [
        w.replace(str(tmp_path / "same.csv"), "@") for w in want.warnings
    ]
    return got


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_the_sample_read_by_each_library_gives_the_decisions_of_the_csv(stars: CompiledRuleset, reader: Any) -> None:
    """The half-year sample as a frame gives exactly the CSV's decisions, rejections, reasons and outcome."""
    want = evaluate(stars, read_records(stars, SAMPLE_H1))
    frame = reader(SAMPLE_H1)
    name = "<Table>" if isinstance(frame, pa.Table) else "<DataFrame>"
    got = evaluate(stars, frame)
    assert decisions_csv(got) == decisions_csv(want)
    assert rejections(got, name) == rejections(want, str(SAMPLE_H1))
    assert {r.source for r in got.rejections} == {name}
    assert got.to_json().replace(name, "@") == want.to_json().replace(str(SAMPLE_H1), "@")


def test_pandas_blanks_are_missing_not_nan(stars: CompiledRuleset) -> None:
    """pandas reads the sample's blank levels as NaN and whole floats into a column with blanks: both read as the CSV."""
    frame = pd.read_csv(SAMPLE_H1)
    assert frame["level"].isna().sum() > 300
    assert frame["qa_score"].dtype == np.float64
    batch = read_records(stars, frame)
    assert not [r for r in batch.rejections if "nan" in str(r)]
    assert records(batch) == records(read_records(stars, SAMPLE_H1))


def test_evaluate_takes_a_frame_directly(mini: CompiledRuleset) -> None:
    """``evaluate(ruleset, frame)`` checks the frame itself: no conversion by the caller."""
    frame = pd.DataFrame({"agent_id": ["A1", "A2"], "period": ["2026-01", "2026-01"], "qa": [82.5, np.nan]})
    outcome = evaluate(mini, frame)
    assert [d.agent_id for d in outcome.decisions] == ["A1"]
    assert [str(r) for r in outcome.rejections] == ["<DataFrame>:3 (A2 2026-01): qa: missing"]


def test_source_names_the_frame_and_rows_count_the_header(mini: CompiledRuleset) -> None:
    """Data row k is row k + 1, its line in a CSV of the frame; the caller may name the source."""
    frame = pl.DataFrame({"agent_id": ["A1", "A2", "A3"], "period": ["2026-01"] * 3, "qa": [80, 101, 90]})
    batch = read_records(mini, frame, source="agents.xlsx")
    assert [(r.source, r.row) for r in batch.records] == [("agents.xlsx", 2), ("agents.xlsx", 4)]
    assert [str(r) for r in batch.rejections] == ["agents.xlsx:3 (A2 2026-01): qa: 101 is above the maximum 100"]
    table = read_records(mini, frame.to_arrow())
    assert [(r.source, r.row) for r in table.rejections] == [("<Table>", 3)]


def test_a_pandas_index_is_ignored(mini: CompiledRuleset) -> None:
    """Rows are numbered by position, whatever the index says."""
    frame = pd.DataFrame({"agent_id": ["A1", "A2"], "period": ["2026-01"] * 2, "qa": [80, 90]}, index=[17, 5])
    assert [r.row for r in read_records(mini, frame).records] == [2, 3]


def test_rows_with_every_cell_missing_are_skipped_but_counted(mini: CompiledRuleset, tmp_path: Path) -> None:
    """A row of missing cells is skipped, as a CSV line of empty cells is, and the rows after keep their numbers."""
    frame = pd.DataFrame(
        {"agent_id": ["A1", None, "A2"], "period": ["2026-01", np.nan, "2026-01"], "qa": [80, None, 90]}
    )
    batch = assert_same(mini, frame, "agent_id,period,qa\nA1,2026-01,80.0\n,,\nA2,2026-01,90.0\n", tmp_path)
    assert [r.row for r in batch.records] == [2, 4]


@pytest.mark.parametrize(
    "missing", [None, float("nan"), np.nan, np.float32("nan"), pd.NA, pd.NaT, Decimal("NaN"), "", "   "]
)
def test_each_kind_of_missing_cell_is_an_empty_csv_cell(mini: CompiledRuleset, missing: Any, tmp_path: Path) -> None:
    """None, NaN, pd.NA, NaT and blank text are a missing value: required is missing, a default fills in."""
    frame = pd.DataFrame(
        {"agent_id": ["A1"], "period": ["2026-01"], "qa": [missing], "incidents": [missing], "team": [missing]},
        dtype=object,
    )
    batch = assert_same(mini, frame, "agent_id,period,qa,incidents,team\nA1,2026-01,,,\n", tmp_path)
    assert [r.reasons for r in batch.rejections] == [["qa: missing"]]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (85.0, "85"),  # pandas' float of an integer column with blanks: its .0 is dropped
        (0.1, "0.1"),  # the shortest text that reads back as the float, not 0.1000000000000000055...
        (80.10000000000001, "80.10000000000001"),  # ...which may be long: the float is taken as it is
        (1e-07, "1e-07"),
        (1e20, "1e+20"),
        (-0.0, "-0"),
        (np.float64(82.5), "82.5"),
        (np.float32(0.1), "0.1"),  # at its own precision, not 0.10000000149011612
        (np.float16(0.1), "0.1"),
        (float("inf"), "inf"),
        (Decimal("1.50"), "1.50"),
        (Decimal("1E+2"), "100"),
        (7, "7"),
        (np.int64(-3), "-3"),
        (np.uint8(200), "200"),
        (True, "true"),
        (np.bool_(False), "false"),
        (date(2026, 1, 1), "2026-01-01"),
        (pd.Timestamp("2026-01-01"), "2026-01-01T00:00:00"),
        (" L2 ", " L2 "),
        ([1, 2], "[1, 2]"),
        (None, None),
        (float("nan"), None),
        (pd.NA, None),
        (pd.NaT, None),
        (np.datetime64("NaT"), None),
    ],
)
def test_each_cell_becomes_the_text_a_csv_would_hold(value: Any, text: str | None) -> None:
    """Hand-worked: numbers at their shortest text, whole floats without .0, true/false, missing as None."""
    assert cell_text(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(455.0, "455.0"), (0.1, "0.1"), (1e20, "1e+20"), (np.float32(85), "85.0"), (7, "7"), (float("nan"), None)],
)
def test_a_number_metric_keeps_the_point_of_a_whole_float(value: Any, text: str | None) -> None:
    """Hand-worked: in a ``number`` metric a whole float is written as ``to_csv`` writes it, 455.0."""
    assert cell_text(value, whole=False) == text


def test_a_narrow_float_column_is_written_at_its_own_precision() -> None:
    """A float32 column comes out of the libraries widened; its type says how to write it back."""
    assert cell_text(float(np.float32(0.1)), np.float32) == "0.1"
    assert cell_text(float(np.float32(0.1))) == "0.10000000149011612"


def test_floats_read_exactly_as_their_csv_text(mini: CompiledRuleset, tmp_path: Path) -> None:
    """Hand-worked: 0.1 is Decimal('0.1'), 85.0 is the integer 85 in an integer metric and 85.0 in a number metric."""
    frame = pd.DataFrame(
        {
            "agent_id": ["A1", "A2", "A3", "A4", "A5"],
            "period": ["2026-01"] * 5,
            "qa": [0.1, 85.0, 100.5, 99.99, np.float32(82.7)],
            "incidents": [85.0, np.nan, 1.5, 2, -1.0],
        }
    )
    frame["qa"] = frame["qa"].astype("float64")
    batch = assert_same(
        mini,
        frame,
        "agent_id,period,qa,incidents\nA1,2026-01,0.1,85\nA2,2026-01,85.0,\nA3,2026-01,100.5,1.5\n"
        "A4,2026-01,99.99,2\nA5,2026-01,82.69999694824219,-1\n",
        tmp_path,
    )
    assert [(r.agent_id, r.metrics) for r in batch.records] == [
        ("A1", {"qa": Decimal("0.1"), "incidents": Decimal("85")}),
        ("A2", {"qa": Decimal("85"), "incidents": Decimal("0")}),
        ("A4", {"qa": Decimal("99.99"), "incidents": Decimal("2")}),
    ]
    assert [(str(r.metrics["qa"]), str(r.metrics["incidents"])) for r in batch.records] == [
        ("0.1", "85"),
        ("85.0", "0"),
        ("99.99", "2"),
    ]
    assert [r.reasons for r in batch.rejections] == [
        ["qa: 100.5 is above the maximum 100", "incidents: '1.5' is not a whole number"],
        ["incidents: -1 is below the minimum 0"],
    ]


def test_a_float32_column_reads_as_its_short_text(mini: CompiledRuleset) -> None:
    """Each library's float32 column gives Decimal('82.7'), as the CSV text 82.7 does."""
    data = {"agent_id": ["A1"], "period": ["2026-01"]}
    frames = [
        pd.DataFrame({**data, "qa": np.array([82.7], dtype=np.float32)}),
        pd.DataFrame({**data, "qa": pd.array([82.7], dtype="Float32")}),
        pl.DataFrame({**data, "qa": pl.Series([82.7], dtype=pl.Float32)}),
        pa.table({**data, "qa": pa.array([82.7], pa.float32())}),
    ]
    for frame in frames:
        assert [r.metrics["qa"] for r in read_records(mini, frame).records] == [Decimal("82.7")], type(frame)


def test_true_and_false_cells(mini: CompiledRuleset, tmp_path: Path) -> None:
    """A boolean attribute takes true/false cells (a missing one takes its default); a metric rejects them."""
    ruleset = build(attributes={**MINI["attributes"], "remote": {"type": "boolean", "default": False}})
    frame = pd.DataFrame(
        {
            "agent_id": ["A1", "A2", "A3"],
            "period": ["2026-01"] * 3,
            "qa": pd.array([80, 90, 70], dtype="Int64"),
            "remote": pd.array([True, None, False], dtype="boolean"),
        }
    )
    batch = assert_same(
        ruleset, frame, "agent_id,period,qa,remote\nA1,2026-01,80,true\nA2,2026-01,90,\nA3,2026-01,70,false\n", tmp_path
    )
    assert [r.attributes["remote"] for r in batch.records] == [True, False, False]
    bad = pl.DataFrame({"agent_id": ["A1"], "period": ["2026-01"], "qa": [True]})
    assert [r.reasons for r in read_records(mini, bad).rejections] == [["qa: 'true' is not a number"]]


def test_pandas_nullable_and_categorical_dtypes(mini: CompiledRuleset, tmp_path: Path) -> None:
    """Int64, string and category columns, with their missing cells, read as the CSV does."""
    frame = pd.DataFrame(
        {
            "agent_id": pd.array(["A1", "A2", None], dtype="string"),
            "period": pd.Categorical(["2026-01", "2026-01", "2026-01"]),
            "level": pd.Categorical(["L2", None, "L9"]),
            "qa": pd.array([81, None, 90], dtype="Int64"),
            "status": pd.Categorical(["regular", "probation", None]),
        }
    )
    text = "agent_id,period,level,qa,status\nA1,2026-01,L2,81,regular\nA2,2026-01,,,probation\n,2026-01,L9,90,\n"
    batch = assert_same(mini, frame, text, tmp_path)
    assert [r.reasons for r in batch.rejections] == [
        ["qa: missing"],
        ["agent_id: missing", "level: unknown level 'L9' (levels: L1, L2, L3)"],
    ]


def test_polars_null_decimal_categorical_and_enum_dtypes(mini: CompiledRuleset, tmp_path: Path) -> None:
    """A Null column is all missing; Decimal keeps its digits; Categorical and Enum are their text."""
    frame = pl.DataFrame(
        {
            "agent_id": pl.Series(["A1", "A2"], dtype=pl.Categorical),
            "period": pl.Series(["2026-01", "2026-01"], dtype=pl.Enum(["2026-01"])),
            "level": pl.Series([None, None], dtype=pl.Null),
            "qa": pl.Series([Decimal("80.50"), None], dtype=pl.Decimal(5, 2)),
        }
    )
    batch = assert_same(mini, frame, "agent_id,period,level,qa\nA1,2026-01,,80.50\nA2,2026-01,,\n", tmp_path)
    assert str(batch.records[0].metrics["qa"]) == "80.50"


def test_pyarrow_dictionary_and_decimal_types(mini: CompiledRuleset, tmp_path: Path) -> None:
    """Dictionary-encoded text is its values; decimal128 keeps its digits."""
    table = pa.table(
        {
            "agent_id": pa.array(["A1", "A2"]).dictionary_encode(),
            "period": pa.array(["2026-01", "2026-01"]),
            "qa": pa.array([Decimal("80.50"), Decimal("100.01")], pa.decimal128(5, 2)),
            "incidents": pa.array([1, None], pa.int8()),
        }
    )
    text = "agent_id,period,qa,incidents\nA1,2026-01,80.50,1\nA2,2026-01,100.01,\n"
    batch = assert_same(mini, table, text, tmp_path)
    assert [r.reasons for r in batch.rejections] == [["qa: 100.01 is above the maximum 100"]]


def test_a_first_of_month_date_in_the_period_column_is_that_month(mini: CompiledRuleset) -> None:
    """A period a spreadsheet turned into a date is its month when it is the first; another day is rejected."""
    frame = pd.DataFrame(
        {"agent_id": ["A1", "A2"], "period": pd.to_datetime(["2026-01-01", "2026-01-15"]), "qa": [80, 80]}
    )
    batch = read_records(mini, frame)
    assert [r.period for r in batch.records] == ["2026-01"]
    assert [r.reasons for r in batch.rejections] == [
        ["period: '2026-01-15T00:00:00' is a date that is not the first of a month: write the month (2026-01)"]
    ]


def test_a_list_cell_is_rejected_as_its_text(mini: CompiledRuleset) -> None:
    """Cells a CSV cannot hold are their text, and rejected where the ruleset reads them."""
    frame = pl.DataFrame({"agent_id": ["A1"], "period": ["2026-01"], "qa": [[80]]})
    assert [r.reasons for r in read_records(mini, frame).rejections] == [["qa: '[80]' is not a number"]]


def test_column_names_that_are_not_text_are_their_str(mini: CompiledRuleset) -> None:
    """Non-string names are their ``str()``: an unknown column is a warning, no agent_id is an error."""
    frame = pd.DataFrame({"agent_id": ["A1"], "period": ["2026-01"], "qa": [80], 7: ["x"]})
    assert read_records(mini, frame).warnings == ["<DataFrame>: columns not in the ruleset were ignored: 7"]
    with pytest.raises(
        RecordsError, match=r"^<DataFrame>:1: no agent_id column in the header \(0, 1\): name the column"
    ):
        read_records(mini, pd.DataFrame([["A1", "2026-01"]]))


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame([["A1", "2026-01", 80, 81]], columns=["agent_id", "period", "qa", "qa"]),
        pd.DataFrame([["A1", "2026-01", 80, 81]], columns=["agent_id", "period", "qa", " qa "]),
        pa.Table.from_arrays([pa.array(["A1"]), pa.array([80]), pa.array([81])], names=["agent_id", "qa", "qa"]),
    ],
    ids=["pandas", "pandas, after stripping", "pyarrow"],
)
def test_a_column_named_twice_is_an_error(mini: CompiledRuleset, frame: Any) -> None:
    """Two columns with one name are an error naming it, as in a CSV header."""
    with pytest.raises(RecordsError, match=r":1: columns named twice: qa$"):
        read_records(mini, frame, source="two.xlsx")


def test_an_empty_frame_has_no_records(mini: CompiledRuleset) -> None:
    """A frame with columns and no rows is a CSV with a header only."""
    batch = read_records(mini, pl.DataFrame(schema={"agent_id": pl.String, "period": pl.String, "qa": pl.Float64}))
    assert (batch.records, batch.rejections) == ([], [])


def test_only_frames_are_tables() -> None:
    """Frames and Tables are recognised by their class; lists, dicts, paths and Series are not."""
    assert all(is_table(x) for x in (pd.DataFrame(), pl.DataFrame(), pa.table({})))
    assert not any(is_table(x) for x in ([], {}, "a.csv", ROOT, pd.Series([1]), pl.Series([1])))
    with pytest.raises(TypeError, match="not list"):
        parse_table(build(), [])


def test_pandas_and_pyarrow_are_not_imported_by_tierpay() -> None:
    """tierpay reads a polars frame (and files) without importing the optional libraries."""
    code = (
        "import sys, polars as pl, tierpay\n"
        "r = tierpay.load_ruleset('rulesets/callcenter-stars.yaml')\n"
        "tierpay.evaluate(r, pl.DataFrame({'agent_id': ['A1'], 'period': ['2026-01']}))\n"
        "tierpay.read_records(r, 'examples/data/agents-2026-01.csv')\n"
        "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats() | st.none(), min_size=1, max_size=5))
def test_any_float_reads_as_its_shortest_text(values: list[float | None]) -> None:
    """Property: floats read as their shortest text: as it is in a number metric, without .0 in an integer one."""
    ruleset = build()
    ids = [f"A{i}" for i in range(len(values))]
    frame = pd.DataFrame({"agent_id": ids, "period": "2026-01", "qa": values, "incidents": values})
    texts = ["" if v is None or v != v else repr(v) for v in values]
    rows = [
        {"agent_id": i, "period": "2026-01", "qa": t, "incidents": t.removesuffix(".0")}
        for i, t in zip(ids, texts, strict=True)
    ]
    good, rejected, _ = records_from_dicts(ruleset, rows)
    got = read_records(ruleset, frame)
    assert [(r.agent_id, {k: str(v) for k, v in r.metrics.items()}) for r in got.records] == [
        (r.agent_id, {k: str(v) for k, v in r.metrics.items()}) for r in good
    ]
    assert [(r.row, r.reasons) for r in got.rejections] == [(r.row + 1, r.reasons) for r in rejected]


def test_a_spreadsheet_date_column_is_a_start_date() -> None:
    """A pandas datetime column (what ``read_excel`` gives for dates) is read as the day it holds."""
    ruleset = load_ruleset(ROOT / "tests" / "cases" / "probation-ends-at-its-cap.yaml")
    frame = pd.DataFrame(
        {
            "agent_id": ["A", "B"],
            "period": ["2026-01", "2026-01"],
            "status": ["probation", "probation"],
            "start_date": pd.Series([pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-05 09:30")]),
            "contract_term": ["open", "3年"],
            "qa": [60, 60],
        }
    )
    batch = read_records(ruleset, frame)
    assert [r.attributes["start_date"] for r in batch.records] == ["2026-01-05"]
    assert [str(r) for r in batch.rejections] == [
        "<DataFrame>:3 (B 2026-01): start_date: '2026-01-05T09:30:00' is not a date (write 2026-01-05)"
    ]
