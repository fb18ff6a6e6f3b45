"""Probation by the contract: the cap of a term, the end of probation, and how records write them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tierpay import load_ruleset, read_records
from tierpay.engine.probation import legal_cap, parse_date, parse_term, probation_end
from tierpay.errors import RulesetError
from tierpay.io.frames import read_frame

from .conftest import MINI, ROOT, build

CASES = ROOT / "tests" / "cases" / "probation-ends-at-its-cap.yaml"


@pytest.mark.parametrize(
    ("term", "cap"),
    [
        *[("2m", 0), ("3m", 1), ("11m", 1), ("12m", 2), ("1y", 2), ("35m", 2)],
        *[("36m", 6), ("3y", 6), ("10y", 6), ("open", 6), ("task", 0)],
    ],
)
def test_the_cap_follows_the_contract_term(term: str, cap: int) -> None:
    """Labor Contract Law art. 19: none under 3 months or for a task, then 1, 2 and 6 months."""
    assert legal_cap(term) == cap


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2026-01-01", 6, "2026-06-30"),
        ("2026-01-05", 6, "2026-07-04"),
        ("2026-01-31", 1, "2026-02-27"),
        ("2026-03-31", 1, "2026-04-29"),
        ("2025-11-15", 2, "2026-01-14"),
    ],
)
def test_probation_ends_the_day_before_the_same_date(start: str, months: int, end: str) -> None:
    """The last day is the day before the same date ``months`` later (before the month's last day if none)."""
    assert probation_end(dt.date.fromisoformat(start), months).isoformat() == end


def test_a_probation_past_the_calendar_ends_on_its_last_day() -> None:
    """A start late in 9999 gives the last day the calendar has, not 'year 10000 is out of range'."""
    assert probation_end(dt.date(9999, 12, 1), 6) == dt.date.max


@pytest.mark.parametrize(
    ("written", "term"),
    [
        *[("36m", "36m"), ("3Y", "3y"), ("36个月", "36m"), ("3年", "3y")],
        *[("无固定期限", "open"), (" Open ", "open"), ("task", "task")],
    ],
)
def test_contract_terms_as_hr_exports_write_them(written: str, term: str) -> None:
    """A term is read in ASCII or Chinese and kept in its canonical form."""
    assert parse_term(written) == term


@pytest.mark.parametrize("written", ["0m", "forever", "3", "3 years", "-1y"])
def test_what_is_not_a_contract_term_is_refused(written: str) -> None:
    """Anything else is refused, saying how to write one."""
    with pytest.raises(ValueError, match="is not a contract term"):
        parse_term(written)


def test_dates_are_read_in_the_usual_forms() -> None:
    """ISO, slashes or dots, one- or two-digit month and day; no such day is refused."""
    assert [parse_date(d) for d in ("2026-01-05", "2026/1/5", "2026.01.05", dt.date(2026, 1, 5))] == ["2026-01-05"] * 4
    with pytest.raises(ValueError, match="no such day"):
        parse_date("2026-02-29")


def test_the_fast_csv_reader_reads_dates_and_terms_as_the_reference_reader(tmp_path: Path) -> None:
    """Canonical cells take the column path, the rest the reference checker: same records, same reasons."""
    path = tmp_path / "records.csv"
    path.write_text(
        "agent_id,period,status,start_date,contract_term,qa\n"
        "A,2026-01,probation,2026-01-05,open,60\n"
        "B,2026-01,probation,2026/1/5,3年,60\n"
        "C,2026-01,regular,,,60\n"
        "D,2026-01,probation,2026-02-30,open,60\n"
        "E,2026-01,probation,2026-01-05,forever,60\n",
        encoding="utf-8",
    )
    ruleset = load_ruleset(CASES)
    reference = read_records(ruleset, path)
    fast = read_frame(ruleset, path)
    assert (
        [str(r) for r in fast.rejections]
        == [str(r) for r in reference.rejections]
        == [
            f"{path}:5 (D 2026-01): start_date: '2026-02-30' is not a date (no such day)",
            f"{path}:6 (E 2026-01): contract_term: 'forever' is not a contract term "
            "(write a number of months or years (36m, 3y), open (无固定期限) or task)",
        ]
    )
    assert fast.frame.select("agent_id", "start_date", "contract_term").rows() == [
        ("A", "2026-01-05", "open"),
        ("B", "2026-01-05", "3y"),
        ("C", None, None),
    ]
    assert [(r.attributes.get("start_date"), r.attributes.get("contract_term")) for r in reference.records] == [
        ("2026-01-05", "open"),
        ("2026-01-05", "3y"),
        (None, None),
    ]


def test_a_ruleset_with_probation_must_declare_the_start_date_and_term() -> None:
    """Without the two attributes the cap cannot be known: both are reported at load."""
    attributes = {k: v for k, v in MINI["attributes"].items() if k not in ("start_date", "contract_term")}
    with pytest.raises(RulesetError) as error:
        build(attributes=attributes)
    assert str(error.value).splitlines() == [
        "mini.yaml:44:1: probation.contract_term: 'contract_term' is not a declared attribute of type term: "
        "probation runs from the start date for the cap the contract term allows (Labor Contract Law art. 19)",
        "mini.yaml:44:1: probation.start_date: 'start_date' is not a declared attribute of type date: "
        "probation runs from the start date for the cap the contract term allows (Labor Contract Law art. 19)",
    ]


def test_expressions_cannot_read_what_may_be_blank() -> None:
    """An optional metric or a date attribute in an expression is refused, saying why."""
    metrics = {**MINI["metrics"], "wage": {"min": 0, "optional": True}}
    with pytest.raises(RulesetError, match="'wage' is an optional metric"):
        build(metrics=metrics, derived={"w": "wage * 2"})
    with pytest.raises(RulesetError, match="'start_date' is a date attribute"):
        build(derived={"d": 'start_date == "2026-01-01"'})
