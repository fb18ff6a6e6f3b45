"""Reading a records CSV: lines, blank lines, quotes and long cells, alike on every path."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierpay import RecordsError, load_ruleset, read_records
from tierpay.engine.columns import TEXT
from tierpay.engine.records import PROBLEMS
from tierpay.engine.values import MAX_CELL
from tierpay.io.csv_records import csv_cells, csv_rows
from tierpay.io.frames import read_frame
from tierpay.io.sources import stream_batches

RULESET = Path(__file__).resolve().parent / "corpus" / "records" / "ruleset.yaml"
HEADER = "agent_id,period,level,team,qa,calls\n"


def cells_of(text: str) -> list[tuple[int, list[str] | None]]:
    """The records of CSV text as (first line, cells)."""
    _, records = csv_cells(io.StringIO(text, newline=""), "t.csv")
    return list(records)


def test_records_are_numbered_by_their_first_line() -> None:
    """A quoted cell over two lines and blank lines keep the line numbers of the file."""
    text = HEADER + 'A1,2026-01,L1,"T\n1",85,900\n\n,,,\nA2,2026-01,L1,T1,85,900\r\nA3,2026-01,L1,T1,85,900'
    assert [line for line, _ in cells_of(text)] == [2, 6, 7]


def test_a_lone_carriage_return_ends_a_line() -> None:
    """Old Mac line ends read as line ends, on the column path too."""
    text = HEADER.replace("\n", "\r") + "A1,2026-01,L1,T1,85,900\rA2,2026-01,L1,T1,85,900\r"
    assert cells_of(text) == [
        (2, ["A1", "2026-01", "L1", "T1", "85", "900"]),
        (3, ["A2", "2026-01", "L1", "T1", "85", "900"]),
    ]


def test_an_unquoted_cell_over_the_csv_limit_is_read_and_the_next_row_too() -> None:
    """The csv module refuses a cell over 131,072 characters; a line without quotes is split at its commas."""
    long = "x" * (MAX_CELL + 1)
    rows = csv_rows(HEADER + f"A1,2026-01,L1,{long},85,900\nA2,2026-01,L1,T1,85,900\n", "t.csv")
    assert [(line, row["agent_id"], len(row["team"])) for line, row in rows] == [(2, "A1", MAX_CELL + 1), (3, "A2", 2)]


def test_a_quoted_cell_over_the_csv_limit_rejects_its_row_only() -> None:
    """A quoted long cell that closes on its line is a rejection of that row; the rest are read."""
    long = "x" * (MAX_CELL + 1)
    rows = csv_rows(HEADER + f'A1,2026-01,L1,"{long}",85,900\nA2,2026-01,L1,T1,85,900\n', "t.csv")
    assert rows[0] == (2, {PROBLEMS: ["row: a quoted cell is too long: a value holds at most 131,072 characters"]})
    assert rows[1][1]["agent_id"] == "A2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "t.csv: the file is empty; a header row is needed"),
        ("\n \n\r\n", "t.csv: the file is empty; a header row is needed"),
        ("\n" + HEADER, "t.csv:1: the first line is blank: the header row must come first"),
        (HEADER + 'A1,2026-01,"L1,T1\n', "t.csv:2: a quote opened in this record is never closed"),
        ('agent_id,"period\n', "t.csv:1: a quote opened in the header is never closed"),
        ("agent_id," + "p" * (MAX_CELL + 1) + "\n", "t.csv:1: the header has a cell longer than 131,072 characters"),
        (
            HEADER + 'A1,2026-01,L1,"' + "x\n" * (MAX_CELL // 2 + 1),
            "t.csv:2: a quoted cell runs past 131,072 characters: is a closing quote missing?",
        ),
    ],
)
def test_a_file_that_cannot_be_read_says_where(text: str, message: str) -> None:
    """No header, or a quote that never closes, is an error naming the file and line."""
    with pytest.raises(RecordsError) as raised:
        csv_rows(text, "t.csv")
    assert str(raised.value) == message


def test_a_header_of_100000_columns_is_refused_at_once() -> None:
    """A huge header is an error naming the limit (it hung in a quadratic duplicate check)."""
    header = ",".join(["agent_id", *(f"c{i}" for i in range(100_000))])
    with pytest.raises(RecordsError) as raised:
        csv_rows(header + "\n", "t.csv")
    assert str(raised.value) == "t.csv:1: the header has 100,001 columns; a records file has at most 1,000"


def test_names_used_twice_are_found_in_a_wide_header() -> None:
    """The duplicate check names every name used twice, in order."""
    header = ",".join(["agent_id", *(f"c{i % 400}" for i in range(999))])
    with pytest.raises(RecordsError, match=r"^t.csv:1: columns named twice: c0, c1, c10, c100,"):
        csv_rows(header + "\n", "t.csv")


CELLS = {
    "agent_id": ["A1", "A2", "A3", " A4", "A\x005", "A\u200b6", "", "7", "A1"],
    "period": ["2026-01", "2026-01", "2026-1", "", "2026-01\x00"],
    "level": ["L1", "L2", "一星", "", "L9", "L1\x1f"],
    "team": ["T1", "T2", "T3", "", " T1", "T\x071"],
    "qa": ["85", "85.0", "+85", "-0", "8.5e1", "85,5", "1e13", "999999999999999", "-0.0", "", "x", "100.5"],
    "calls": ["900", "900.0", "-0", "1,234", "9e2", "", "0900", "1000000000001", "-1"],
}
rows_of_cells = st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CELLS.items()}), max_size=12)


def _outcome_of_frame(frame: Any) -> tuple[list[str], list[tuple[str, str, Decimal | None, Decimal | None]]]:
    records = [
        (r["agent_id"], r["period"], _exact(r["qa" + TEXT]), _exact(r["calls" + TEXT]))
        for r in frame.frame.iter_rows(named=True)
    ]
    return [str(r) for r in frame.rejections], records


def _exact(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rows_of_cells)
def test_every_path_reads_a_csv_alike(tmp_path_factory: Any, rows: list[dict[str, str]]) -> None:
    """The column reader, the record reader and the period-at-a-time reader accept and reject alike."""
    ruleset = load_ruleset(RULESET)
    path = tmp_path_factory.mktemp("csv") / "r.csv"
    path.write_text(HEADER + "".join(",".join(r.values()) + "\n" for r in rows), encoding="utf-8")
    frame = read_frame(ruleset, path)
    batch = read_records(ruleset, path)
    rejected, good = _outcome_of_frame(frame)
    assert rejected == [str(r) for r in batch.rejections]
    assert good == [(r.agent_id, r.period, r.metrics.get("qa"), r.metrics.get("calls")) for r in batch.records]
    assert frame.warnings == batch.warnings
    streamed = list(stream_batches(ruleset, path))
    assert sorted(str(r) for _, b, _ in streamed for r in b.rejections) == sorted(rejected)
    assert sorted(a for _, b, _ in streamed for a in b.frame["agent_id"].to_list()) == sorted(a for a, *_ in good)
