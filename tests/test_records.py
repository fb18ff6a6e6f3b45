"""Records: every bad row becomes a rejection with every reason; good rows are exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tierpay import RecordsError, evaluate, read_records, records_from_dicts
from tierpay.engine.records import parse_number

from .conftest import SAMPLE_MONTH


def row(**changes: object) -> dict[str, object]:
    """A valid record of the mini ruleset, with changes."""
    base: dict[str, object] = {"agent_id": "A1", "period": "2026-01", "level": "L1", "qa": "82.5", "team": "T1"}
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"qa": ""}, "qa: missing"),
        ({"qa": "105"}, "qa: 105 is above the maximum 100"),
        ({"qa": "-1"}, "qa: -1 is below the minimum 0"),
        ({"qa": "abc"}, "qa: 'abc' is not a number"),
        ({"qa": "85%"}, "qa: '85%' has a percent sign: write the number alone"),
        ({"qa": "1,000"}, "qa: '1,000' has a thousands separator: write the digits alone (1000)"),
        ({"qa": "８５"}, "qa: '８５' has full-width characters: use ASCII digits"),
        ({"qa": "NaN"}, "qa: 'NaN' is not a number"),
        ({"qa": float("inf")}, "qa: inf is not a finite number"),
        ({"qa": True}, "qa: true/false is not a number"),
        ({"incidents": "1.5"}, "incidents: '1.5' is not a whole number"),
        ({"level": "L9"}, "level: unknown level 'L9' (levels: L1, L2, L3)"),
        ({"status": "intern"}, "status: 'intern' is not one of probation, regular"),
        ({"period": "2026-13"}, "period: '2026-13' is not a month: months are 1 to 12"),
        (
            {"period": "2026/1/15"},
            "period: '2026/1/15' is a date that is not the first of a month: write the month (2026-01)",
        ),
        ({"period": ""}, "period: missing"),
        ({"agent_id": " "}, "agent_id: missing"),
        ({"qa": "85,5"}, "qa: '85,5' has a decimal comma: write it with a decimal point (85.5)"),
        (
            {"qa": "1e309"},
            "qa: '1e309' is out of range: a number in a record is at most 10^12 (a trillion) either side of zero",
        ),
        ({"incidents": "8.55e1"}, "incidents: '8.55e1' is not a whole number"),
        ({"team": ["T1"]}, 'team: ["T1"] is a list, not text'),
        ({"status": {"s": 1}}, 'status: {"s": 1} is an object, not text'),
        ({"start_date": 20260105.5}, "start_date: 20260105.5 is a number, not text"),
        (
            {"start_date": "x" * 100},
            "start_date: '" + "x" * 40 + "'… (100 characters) is not a date (write 2026-01-05)",
        ),
        (
            {"level": "L\x009"},
            "level: 'L\\x009' has a control or invisible character (U+0000, NUL) at character 2: remove it",
        ),
    ],
)
def test_each_kind_of_bad_record_is_rejected_with_its_reason(mini, changes, reason) -> None:
    """Each kind of bad value gives one exact reason, and the record is not evaluated."""
    good, rejected, _ = records_from_dicts(mini, [row(**changes)])
    assert good == []
    assert rejected[0].reasons == [reason]


def test_all_reasons_of_a_record_are_listed(mini) -> None:
    """A record with several problems lists all of them."""
    _, rejected, _ = records_from_dicts(mini, [row(qa="x", level="L7", period="26-1")])
    assert rejected[0].reasons == [
        "period: '26-1' is not a month: write it 2026-01, 2026/1, 2026年1月, 202601, Jan-26 or 2026-01-01",
        "level: unknown level 'L7' (levels: L1, L2, L3)",
        "qa: 'x' is not a number",
    ]


def test_duplicates_are_all_rejected_and_name_each_other(mini) -> None:
    """Two records for one agent and period are both rejected: tierpay does not guess."""
    good, rejected, _ = records_from_dicts(mini, [row(), row(qa="90"), row(agent_id="A2")])
    assert [r.agent_id for r in good] == ["A2"]
    assert [str(r) for r in rejected] == [
        "<records>:1 (A1 2026-01): duplicate: agent A1 has another record for 2026-01 at <records>:2",
        "<records>:2 (A1 2026-01): duplicate: agent A1 has another record for 2026-01 at <records>:1",
    ]


def test_many_copies_of_one_record_name_a_few_of_the_others(mini) -> None:
    """20,000 copies are rejected in linear time, each naming five others and how many more."""
    good, rejected, _ = records_from_dicts(mini, [row()] * 20_000)
    assert good == []
    assert len(rejected) == 20_000
    assert rejected[7].reasons == [
        "duplicate: agent A1 has another record for 2026-01 at <records>:1, <records>:2, <records>:3, <records>:4, "
        "<records>:5 and 19,994 more"
    ]


def test_integer_metrics_are_whole_and_plain(mini) -> None:
    """85.0 and 8.5e1 in an integer metric are the number 85; -0 is 0."""
    good, _, _ = records_from_dicts(mini, [row(incidents="1.0"), row(agent_id="A2", incidents="1e1", qa="-0")])
    assert [(str(r.metrics["incidents"]), str(r.metrics["qa"])) for r in good] == [("1", "82.5"), ("10", "0")]


def test_a_file_with_no_records_is_a_warning(mini) -> None:
    """No rows at all is not an error, but the run says so."""
    assert records_from_dicts(mini, [], source="empty.csv") == ([], [], ["empty.csv: no records to evaluate"])


def test_numbers_are_exact_decimals(mini) -> None:
    """Text and floats become exact decimals: no binary fractions leak in."""
    good, _, _ = records_from_dicts(mini, [row(qa="80.10"), row(agent_id="A2", qa=0.1)])
    assert good[0].metrics["qa"] == Decimal("80.10")
    assert good[1].metrics["qa"] == Decimal("0.1")
    assert parse_number(" 1e2 ") == Decimal("1e2")


def test_defaults_fill_missing_metrics_and_attributes(mini) -> None:
    """A metric or attribute with a default may be left out."""
    good, _, _ = records_from_dicts(mini, [{"agent_id": "A1", "period": "2026-01", "qa": 80}])
    assert good[0].metrics["incidents"] == 0
    assert good[0].attributes == {"team": "T1", "status": "regular"}


def test_levels_may_be_given_by_name(mini) -> None:
    """An HR export that writes the level's Chinese name is understood."""
    good, _, _ = records_from_dicts(mini, [row(level="二星")])
    assert good[0].level == "L2"


def test_unknown_columns_are_a_warning(mini) -> None:
    """Columns the ruleset does not know are ignored with one warning naming them."""
    _, _, warnings = records_from_dicts(mini, [row(name="张三"), row(agent_id="A2", name="李四")])
    assert warnings == ["<records>: columns not in the ruleset were ignored: name"]


def test_nested_json_shape_is_accepted(mini) -> None:
    """Records may nest attributes and metrics, as an API would send them."""
    good, _, _ = records_from_dicts(
        mini, [{"agent_id": "A1", "period": "2026-01", "attributes": {"team": "T2"}, "metrics": {"qa": 81}}]
    )
    assert good[0].attributes["team"] == "T2"


def test_sample_file_accounts_for_every_row(stars) -> None:
    """Every data row of the sample CSV is decided or rejected, exactly once."""
    lines = SAMPLE_MONTH.read_text(encoding="utf-8").splitlines()[1:]
    outcome = evaluate(stars, read_records(stars, SAMPLE_MONTH))
    seen = [d.row for d in outcome.decisions] + [r.row for r in outcome.rejections]
    assert sorted(seen) == list(range(2, len(lines) + 2))
    assert len(outcome.rejections) == 10


def test_csv_row_with_wrong_cell_count_is_rejected(mini, tmp_path: Path) -> None:
    """A row with too few cells is rejected, not padded silently."""
    path = tmp_path / "r.csv"
    path.write_text("agent_id,period,level,qa,team\nA1,2026-01,L1,80,T1\nA2,2026-01,L1\n", encoding="utf-8")
    batch = read_records(mini, path)
    assert [r.agent_id for r in batch.records] == ["A1"]
    assert batch.rejections[0].reasons[0] == "row: has 3 cells, the header has 5"


def test_gbk_csv_is_read_with_a_note(mini, tmp_path: Path) -> None:
    """A CSV saved by Excel in China (GBK) is read as GB18030, and a warning says so."""
    path = tmp_path / "gbk.csv"
    path.write_bytes("agent_id,period,team,qa\nA1,2026-01,一组,80\n".encode("gbk"))
    batch = read_records(mini, path)
    assert [(r.agent_id, r.attributes["team"]) for r in batch.records] == [("A1", "一组")]
    assert batch.warnings[0] == (
        f"{path}: not UTF-8: read as GB18030 (GBK), as Excel saves CSV in China; --encoding gb18030 says so outright"
    )


def test_a_file_mixing_utf8_and_gbk_is_refused_clearly(mini, tmp_path: Path) -> None:
    """UTF-8 Chinese and then GBK in one file is never guessed: refused at the first GBK line, with advice."""
    path = tmp_path / "gbk.csv"
    path.write_bytes("agent_id,period,team,qa\nA0,2026年1月,T1,80\n".encode() + "A1,2026-01,一组,80\n".encode("gbk"))
    with pytest.raises(RecordsError) as caught:
        read_records(mini, path)
    assert str(caught.value) == f"{path}:3: not UTF-8 text."


def test_byte_order_mark_is_accepted(mini, tmp_path: Path) -> None:
    """A UTF-8 byte-order mark (Excel's 'CSV UTF-8') does not spoil the first column name."""
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffagent_id,period,qa\nA1,2026-01,80\n".encode())
    assert [r.agent_id for r in read_records(mini, path).records] == ["A1"]


def test_json_records_file(mini, tmp_path: Path) -> None:
    """JSON files are read with exact numbers; a non-object item is rejected."""
    path = tmp_path / "r.json"
    path.write_text('{"records": [{"agent_id": "A1", "period": "2026-01", "qa": 80.15}, 7]}', encoding="utf-8")
    batch = read_records(mini, path)
    assert batch.records[0].metrics["qa"] == Decimal("80.15")
    assert batch.rejections[0].reasons == ["row: item 2 is not an object"]


def test_blank_optional_metrics_stay_on_the_column_path(monkeypatch, tmp_path) -> None:
    """A blank optional metric (a regular agent's contract wage) is clean: no row goes to the row-by-row checker."""
    import tierpay.io.frames as frames
    from tierpay import load_ruleset

    from .conftest import SAMPLE_H1, STARS

    sent: list[int] = []
    original = frames.check_rows

    def counting(ruleset, rows, source):  # type: ignore[no-untyped-def]
        sent.append(len(rows))
        return original(ruleset, rows, source)

    monkeypatch.setattr(frames, "check_rows", counting)
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    wage = header.index("contract_wage")
    rows = [",".join(c if i != wage else "" for i, c in enumerate(line.split(","))) for line in lines[1:40]]
    rows = [r for r in rows if ",regular," in r]
    path = tmp_path / "regular.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    frame = frames.read_frame(load_ruleset(STARS), path)
    assert sum(sent) == 0
    assert frame.rejections == []
