"""Reading a records JSON file: numbers as written, keys given twice, nesting, shape."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tierpay import RecordsError, load_ruleset, read_records, records_from_dicts
from tierpay.engine.records import PROBLEMS
from tierpay.engine.values import JsonNumber
from tierpay.io.json_records import json_rows

RULESET = Path(__file__).resolve().parent / "corpus" / "records" / "ruleset.yaml"


def test_numbers_keep_the_text_the_file_wrote() -> None:
    """A JSON number is its text, read later exactly like a CSV cell; strings stay strings."""
    rows = json_rows('[{"agent_id": 17, "qa": 85.50, "calls": 1e400, "team": "T1", "x": NaN}]', "r.json")
    row = rows[0][1]
    assert [row[k] for k in ("agent_id", "qa", "calls", "x")] == ["17", "85.50", "1e400", "NaN"]
    assert all(isinstance(row[k], JsonNumber) for k in ("agent_id", "qa", "calls", "x"))
    assert not isinstance(row["team"], JsonNumber)


def test_a_key_given_twice_is_a_problem_of_its_record() -> None:
    """The json module keeps the last of two keys; the record is rejected naming both values."""
    rows = json_rows('[{"team": "T1", "team": "T2", "metrics": {"qa": 1, "qa": 2}}]', "r.json")
    assert rows[0][1][PROBLEMS] == [
        "team: given twice ('T1', then 'T2'): give it once",
        "qa: given twice in `metrics` (1, then 2): give it once",
    ]


def test_nested_objects_are_lifted_and_a_name_in_two_places_is_a_problem() -> None:
    """Nested attributes and metrics join the top level; a name in two places is never a silent choice."""
    rows = json_rows(
        '[{"agent_id": "A1", "qa": 85, "metrics": {"qa": 70, "calls": 9}, "attributes": {"team": "T1"}}]', "r.json"
    )
    row = rows[0][1]
    assert (row["calls"], row["team"], row["qa"]) == ("9", "T1", "85")
    assert row[PROBLEMS] == ["qa: given both at the top level (85) and in `metrics` (70): give it once"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "r.json: the file is empty; expected a list of records"),
        ("  \n", "r.json: the file is empty; expected a list of records"),
        ("[1,", "r.json:1:4: not valid JSON: Expecting value"),
        ('{"rows": []}', "r.json: expected a list of records, or an object with a `records` list"),
        ('{"records": "none"}', "r.json: `records` is 'none', not a list of records"),
        (
            "\n" + "[" * 100_000 + "]" * 100_000,
            "r.json:2:101: nested more than 100 levels deep: records are a list of objects",
        ),
    ],
)
def test_a_file_that_cannot_be_read_says_where(text: str, message: str) -> None:
    """Empty, malformed, misshapen or too deeply nested files are errors naming the place."""
    with pytest.raises(RecordsError) as raised:
        json_rows(text, "r.json")
    assert str(raised.value) == message


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    """The place named for a too-deep file skips brackets written inside strings."""
    text = '[{"note": "' + "[" * 500 + '"}, ' + "[" * 3000 + "]" * 3000 + "]"
    with pytest.raises(RecordsError) as raised:
        json_rows(text, "r.json")
    assert (
        str(raised.value)
        == f"r.json:1:{len(text) - 6000 - 1 + 100}: nested more than 100 levels deep: records are a list of objects"
    )


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    """A JSON file saved with a byte-order mark reads as without one."""
    path = tmp_path / "r.json"
    path.write_bytes(b'\xef\xbb\xbf[{"agent_id": "A1", "period": "2026-01", "team": "T1", "qa": 85, "calls": 900.0}]')
    batch = read_records(load_ruleset(RULESET), path)
    assert [(r.agent_id, str(r.metrics["calls"])) for r in batch.records] == [("A1", "900")]


def test_plain_dicts_are_checked_as_json_records_are() -> None:
    """The Python API refuses the same values and conflicts, naming the field."""
    ruleset = load_ruleset(RULESET)
    good, rejected, _ = records_from_dicts(
        ruleset,
        [
            {"agent_id": {"id": 1}, "period": "2026-01", "team": "T1", "qa": 85, "calls": 9},
            {"agent_id": "A2", "period": "2026-01", "team": "T1", "qa": 85, "metrics": {"qa": 80, "calls": 9}},
            {"agent_id": "A3", "period": "2026-01", "team": "T1", "qa": Decimal("1e13"), "calls": 9},
            {"agent_id": 4, "period": "2026-01", "team": "T1", "qa": -0.0, "calls": 9.0},
        ],
    )
    assert [str(r) for r in rejected] == [
        '<records>:1 (2026-01): agent_id: {"id": 1} is an object, not text',
        "<records>:2 (A2 2026-01): qa: given both at the top level (85) and in `metrics` (80): give it once",
        "<records>:3 (A3 2026-01): qa: 1E+13 is out of range: a number in a record is at most 10^12 (a trillion) "
        "either side of zero",
    ]
    assert [(r.agent_id, str(r.metrics["qa"]), str(r.metrics["calls"])) for r in good] == [("4", "0.0", "9")]
