"""Large inputs: one period at a time, with the same results as reading the whole file."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from tierpay import load_ruleset
from tierpay.cli import main
from tierpay.cli.evaluating import Progress
from tierpay.io import frame_stream
from tierpay.io.sources import stream_batches

from .conftest import SAMPLE_H1, STARS


def run_to(tmp_path: Path, name: str, *extra: str) -> tuple[int, str, str]:
    """Evaluate the six-month sample to CSV files under ``tmp_path`` with ``extra`` options."""
    out, err = io.StringIO(), io.StringIO()
    args = ["evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv", "-o", str(tmp_path / f"{name}.csv")]
    args += ["--state-out", str(tmp_path / f"{name}.json"), "--payroll", str(tmp_path / f"{name}-pay.csv"), "--summary"]
    code = main([*args, *extra], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_streaming_gives_the_same_files_as_reading_everything(tmp_path: Path) -> None:
    """--stream writes the same decisions, state, payroll and summary, and rejects the same rows."""
    whole = run_to(tmp_path, "whole")
    streamed = run_to(tmp_path, "stream", "--stream")
    assert whole[0] == streamed[0] == 1
    for suffix in (".csv", ".json", "-pay.csv"):
        assert (tmp_path / f"whole{suffix}").read_bytes() == (tmp_path / f"stream{suffix}").read_bytes()
    assert whole[1] == streamed[1]  # the summary
    assert sorted(whole[2].splitlines()) == sorted(streamed[2].splitlines())


def test_batches_hold_one_period_each() -> None:
    """The reader yields one period at a time; malformed periods come alone, without splitting a month."""
    ruleset = load_ruleset(STARS)
    batches = list(stream_batches(ruleset, SAMPLE_H1))
    periods = [(period, len(batch) + len(batch.rejections)) for period, batch, _ in batches]
    months = [period for period, batch, _ in batches if len(batch)]
    assert months == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert periods[-1] == ("2026-01", 9)  # the bad rows at the end: a January batch of rejections only
    assert (None, 1) in periods  # the 2026-13 row
    assert sum(n for _, n in periods) == len(SAMPLE_H1.read_text(encoding="utf-8").splitlines()) - 1


def test_unsorted_large_file_rejects_the_late_rows_with_the_reason(tmp_path: Path) -> None:
    """Rows of a month that comes back after a later one are rejected, saying how to fix the file."""
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], [r for r in lines[1:] if r.split(",")[1] in ("2026-01", "2026-02")]
    late = body[:3]  # three January rows moved after February
    path = tmp_path / "unsorted.csv"
    path.write_text("\n".join([header, *body[3:], *late]) + "\n", encoding="utf-8")
    err = io.StringIO()
    main(
        ["evaluate", str(STARS), str(path), "--format", "csv", "-o", str(tmp_path / "o.csv"), "--stream"],
        stdout=io.StringIO(),
        stderr=err,
    )
    assert (
        err.getvalue().count("period: 2026-01 comes after 2026-02 was evaluated: group the records by period, in order")
        == 3
    )


def test_streaming_needs_csv_output() -> None:
    """Tables and JSON need every decision in memory: --stream asks for CSV."""
    err = io.StringIO()
    assert main(["evaluate", str(STARS), str(SAMPLE_H1), "--stream"], stdout=io.StringIO(), stderr=err) == 2
    assert (
        err.getvalue() == "error: reading one period at a time (--stream, or a file over 256 MiB) needs --format csv\n"
    )


def test_progress_shows_only_on_a_terminal() -> None:
    """Progress is a single rewritten line on a terminal and silent otherwise."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress(stream)
        progress.show(1200, "2026-01")
        progress.show(2400, "2026-02")
        progress.done()
    assert tty.getvalue() == "\r1,200 rows read, 2026-01 decided\r2,400 rows read, 2026-02 decided\n"
    assert pipe.getvalue() == ""


def test_a_file_that_is_not_utf8_is_named_at_its_line_as_the_whole_file_reader_names_it(tmp_path: Path) -> None:
    """A bad byte far into a file read a piece at a time is reported at its own line, as reading it whole does.

    The file mixes encodings (UTF-8 Chinese first, GBK later), so neither reader guesses GB18030.
    """
    path = tmp_path / "late.csv"
    good = "".join(f"A{i},2026-01,一星坐席,T1,85,900\n" for i in range(20_000))
    path.write_bytes(
        ("agent_id,period,level,team,qa,calls\n" + good).encode() + "A9,2026-01,L1,一组,85,900\n".encode("gbk")
    )
    messages = []
    for extra in ([], ["--stream"]):
        out, err = io.StringIO(), io.StringIO()
        assert main(["evaluate", str(STARS), str(path), "--format", "csv", *extra], stdout=out, stderr=err) == 4
        messages.append(err.getvalue())
    assert messages[0] == messages[1] == (f"error: {path}:20002: not UTF-8 text.\n")


def test_a_file_without_a_header_fails_before_anything_is_written(tmp_path: Path) -> None:
    """Reading one period at a time checks the header first: standard output stays empty."""
    path = tmp_path / "blank.csv"
    path.write_text("\n\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["evaluate", str(STARS), str(path), "--format", "csv", "--stream"], stdout=out, stderr=err) == 4
    assert (out.getvalue(), err.getvalue()) == ("", f"error: {path}: the file is empty; a header row is needed\n")


def _batches(path: Path) -> list[tuple[str | None, list[dict[str, object]], list[str], list[str], int]]:
    ruleset = load_ruleset(STARS)
    return [
        (period, batch.frame.cast(pl.String).to_dicts(), [str(r) for r in batch.rejections], batch.warnings, read)
        for period, batch, read in stream_batches(ruleset, path)
    ]


def test_a_plain_file_is_read_in_columns_into_the_line_readers_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polars' period-at-a-time reading gives the line reader's batches: runs, lone bad months, duplicates, rows."""
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    width = lines[0].count(",")
    rows = [line for line in lines[1:] if '"' not in line and line.count(",") == width]
    first, rest = rows[:40], rows[40:]
    odd = [
        first[0].replace("2026-01", "2026-13", 1),  # no month: a batch of its own, inside January's run
        first[1],  # a duplicate agent-month
        first[2].replace("2026-01", "2026/2", 1),  # February written another way, starts a run
        first[3],  # January again: a run after February
        first[4].replace(",2026-01,", ",,", 1),  # no period at all
    ]
    path = tmp_path / "plain.csv"
    path.write_text("\n".join([lines[0], *first[:20], *odd, *first[20:], *rest]) + "\n", encoding="utf-8")
    start = frame_stream.body_start(path)
    assert start is not None
    assert frame_stream.plain_file(path, start[0], width + 1)  # so polars reads it
    fast = _batches(path)
    monkeypatch.setattr(frame_stream, "plain_file", lambda *_: False)
    slow = _batches(path)
    assert [b[0] for b in fast] == [b[0] for b in slow]
    assert fast == slow
    assert any(period is None for period, *_ in fast)
    assert any(b[2] for b in fast)
