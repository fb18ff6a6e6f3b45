"""The ledger of runs through the command line, on SQLite and on PostgreSQL (when one is given).

PostgreSQL runs where ``TIERPAY_TEST_POSTGRES_URL`` names a server the tests may make databases
on (``.ci/run`` starts one); elsewhere those cases skip, naming the variable. The ruleset and
the hand-worked figures are those of tests/test_corrections.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tierpay.cli import main
from tierpay.errors import OutputError
from tierpay.io.outputs import Outputs

from .conftest import ROOT, SAMPLE_MONTH, STARS
from .test_corrections import LEDGER

POSTGRES = "TIERPAY_TEST_POSTGRES_URL"
FEB_SAMPLE = ROOT / "examples" / "data" / "agents-2026-02.csv"


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``tierpay`` with ``argv``; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty ledger: a SQLite file, or a new database on the PostgreSQL server given."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")
        return
    url = os.environ.get(POSTGRES)
    if not url:
        pytest.skip(f"{POSTGRES} is not set: no PostgreSQL server to test the ledger on (.ci/run starts one)")
    import sqlalchemy as sa

    name = f"tierpay_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()


def dump(where: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a ledger, sorted: to tell that nothing changed."""
    import sqlalchemy as sa

    from tierpay.ledger import schema

    url = where if "://" in where else f"sqlite:///{where}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    (tuple(str(v) for v in row) for row in connection.execute(sa.select(table))), key=str
                )
                for table in schema.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """The LEDGER ruleset as a file."""
    path = tmp_path / "ledger-test.yaml"
    path.write_text(yaml.safe_dump(LEDGER, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def records(tmp_path: Path, name: str, rows: list[tuple[str, str, int]]) -> str:
    """A records CSV of (agent, period, qa) rows."""
    path = tmp_path / name
    path.write_text("agent_id,period,qa\n" + "".join(f"{a},{p},{q}\n" for a, p, q in rows), encoding="utf-8")
    return str(path)


def cells(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """A decisions CSV by (agent, period)."""
    return {(r["agent_id"], r["period"]): r for r in csv.DictReader(io.StringIO(text))}


JAN = [("A1", "2026-01", 80), ("A2", "2026-01", 90)]
FEB = [("A1", "2026-02", 88), ("A2", "2026-02", 90)]
MAR = [("A1", "2026-03", 88), ("A2", "2026-03", 90)]


def test_a_run_resumes_from_the_ledger_as_from_its_state_file(ledger: str, tmp_path: Path) -> None:
    """February with --ledger and no --state-in decides what February with January's --state-out decides."""
    code, _, err = run("evaluate", str(STARS), str(SAMPLE_MONTH), "--ledger", ledger, "--format", "csv", "-o",
                       str(tmp_path / "jan.csv"), "--state-out", str(tmp_path / "jan.json"))  # fmt: skip
    assert code == 1  # the sample's ten bad rows
    assert err.splitlines()[0] == f"ledger: run 1 kept in {_shown(ledger)} (2026-01)"
    code, by_ledger, _ = run("evaluate", str(STARS), str(FEB_SAMPLE), "--ledger", ledger, "--format", "csv")
    code, by_state, _ = run("evaluate", str(STARS), str(FEB_SAMPLE), "--state-in", str(tmp_path / "jan.json"),
                            "--format", "csv")  # fmt: skip
    ledger_rows, state_rows = cells(by_ledger), cells(by_state)
    assert ledger_rows.keys() == state_rows.keys()
    assert len(ledger_rows) == 69
    for key, row in ledger_rows.items():
        assert row.pop("pay_adjustment") == ""  # nothing corrected: no adjustment
        assert row == state_rows[key]


def test_state_in_is_refused_once_the_ledger_holds_a_run(ledger: str, rules: Path, tmp_path: Path) -> None:
    """The run resumes from the ledger: a --state-in as well would be two starting points; exit 2."""
    assert run("evaluate", str(rules), records(tmp_path, "jan.csv", JAN), "--ledger", ledger,
               "--state-out", str(tmp_path / "jan.json"))[0] == 0  # fmt: skip
    code, out, err = run("evaluate", str(rules), records(tmp_path, "feb.csv", FEB), "--ledger", ledger,
                         "--state-in", str(tmp_path / "jan.json"))  # fmt: skip
    assert (code, out) == (2, "")
    assert err == (
        f"error: --state-in {tmp_path / 'jan.json'}: the ledger {_shown(ledger)} holds runs (through 2026-01), "
        "and a run resumes from it: leave out --state-in\n"
    )


def test_a_corrected_closed_month_is_paid_as_an_adjustment(ledger: str, rules: Path, tmp_path: Path) -> None:
    """January and February closed; an appeal raises A1's January QA from 80 to 86; March pays +200.00 and +740.00."""
    assert run("evaluate", str(rules), records(tmp_path, "janfeb.csv", JAN + FEB), "--ledger", ledger)[0] == 0
    assert run("close", "2026-01", "--ledger", ledger, "--by", "hr", "--at", "2026-02-05T09:00:00Z") == (
        0, "2026-01 closed by hr: the decisions of run 1 are final\n", "",
    )  # fmt: skip
    assert run("close", "2026-02", "--ledger", ledger, "--by", "hr", "--at", "2026-03-05T09:00:00+08:00")[0] == 0
    before = dump(ledger)
    fixed = records(tmp_path, "fixed.csv", [("A1", "2026-01", 86), JAN[1], *FEB, *MAR])
    code, out, err = run("evaluate", str(rules), fixed, "--ledger", ledger, "--format", "csv")
    assert code == 0
    # Jan: B 3,000 + 1,000 = 4,000.00 becomes A 3,000 + 1,200 = 4,200.00: +200.00. Two months in a row
    # at QA 85 or more now promote A1 in February: L2, 3,500 + 1,440 = 4,940.00 instead of 4,200.00: +740.00.
    assert err.splitlines() == [
        "ledger: 2026-01 is closed and its records changed (A1): decided again, with 2026-02, as a correction; "
        "its rows stay as they were closed",
        "correction: A1 2026-02: level L2, where the month closed with L1",
        "adjustment: A1 +200.00 for 2026-01 (4,200.00 due, 4,000.00 paid), paid in 2026-03",
        "adjustment: A1 +740.00 for 2026-02 (4,940.00 due, 4,200.00 paid), paid in 2026-03",
        f"ledger: run 2 kept in {_shown(ledger)} (2026-01, 2026-02, 2026-03)",
    ]
    march = cells(out)
    assert list(march) == [("A1", "2026-03"), ("A2", "2026-03")]  # the closed months are not in the files
    a1 = march[("A1", "2026-03")]
    # March: L2 since the corrected February; 3,500 + 1,440 = 4,940.00, and 940.00 of adjustments.
    assert (a1["level_before"], a1["pay_adjustment"], a1["pay_total"]) == ("L2", "940.00", "5880.00")
    assert march[("A2", "2026-03")]["pay_adjustment"] == ""
    after = dump(ledger)
    for table in ("decisions", "pay_lines", "closings", "run_periods"):  # the closed rows are all still there
        assert set(before[table]) <= set(after[table]), table
    code, text, _ = run("statement", str(rules), fixed, "--ledger", ledger, "--agent", "A1", "--period", "2026-03")
    assert (
        "adjustment for 2026-01: +200.00 (2026-01 decided again after it closed: 4,200.00 due, 4,000.00 paid)" in text
    )
    code, listed, _ = run("ledger", "--ledger", ledger)
    assert listed.splitlines()[-4:] == [
        "agent  for      adjustment      paid       due  paid in",
        "-----  -------  ----------  --------  --------  -------",
        "A1     2026-01     +200.00  4,000.00  4,200.00  2026-03",
        "A1     2026-02     +740.00  4,200.00  4,940.00  2026-03",
    ]
    assert "2026-01  closed 2026-02-05T09:00:00Z by hr  run 3" in listed
    assert "2026-02  closed 2026-03-05T01:00:00Z by hr  run 3" in listed
    # Run again with the same records: the correction is in force now, so nothing is decided again,
    # and the adjustments, paid in March (still open), are paid again in the March that replaces it.
    code, again, err = run("evaluate", str(rules), fixed, "--ledger", ledger, "--format", "csv")
    assert err.splitlines()[:2] == [
        "ledger: 2026-01 is closed and its records are as closed: not decided again",
        "ledger: 2026-02 is closed and its records are as closed: not decided again",
    ]
    assert cells(again)[("A1", "2026-03")]["pay_total"] == "5880.00"


def test_a_failing_run_leaves_the_ledger_as_it_was(
    ledger: str, rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An output that exists (exit 5) and a publish that fails: the ledger's rows are the same after."""
    assert run("evaluate", str(rules), records(tmp_path, "jan.csv", JAN), "--ledger", ledger)[0] == 0
    before = dump(ledger)
    taken = tmp_path / "out.csv"
    taken.write_text("mine\n", encoding="utf-8")
    feb = records(tmp_path, "feb.csv", FEB)
    code, _, err = run("evaluate", str(rules), feb, "--ledger", ledger, "-o", str(taken))
    assert (code, err) == (5, f"error: {taken} exists; use --force to overwrite it\n")

    def fail(self: Outputs) -> None:
        raise OutputError(f"{taken}: cannot write: No space left on device")

    monkeypatch.setattr(Outputs, "publish", fail)
    code, _, err = run("evaluate", str(rules), feb, "--ledger", ledger, "-o", str(taken), "--force")
    assert (code, err) == (5, f"error: {taken}: cannot write: No space left on device\n")
    assert dump(ledger) == before
    assert taken.read_text(encoding="utf-8") == "mine\n"


def test_a_new_ledger_whose_first_run_fails_is_not_made(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tables of a new SQLite ledger are made in its first run's transaction: a failed run leaves no file."""
    where = tmp_path / "new.db"

    def fail(self: Outputs) -> None:
        raise OutputError("out.csv: cannot write: No space left on device")

    monkeypatch.setattr(Outputs, "publish", fail)
    code, _, _ = run("evaluate", str(rules), records(tmp_path, "jan.csv", JAN), "--ledger", str(where))
    assert code == 5
    assert not where.exists()


def test_months_close_in_order_once_each_and_only_once_decided(ledger: str, rules: Path, tmp_path: Path) -> None:
    """Closing February before January, January twice, or March (never decided) is refused: exit 1."""
    assert run("evaluate", str(rules), records(tmp_path, "janfeb.csv", JAN + FEB), "--ledger", ledger)[0] == 0
    assert run("close", "2026-02", "--ledger", ledger, "--by", "hr") == (
        1, "", "error: close 2026-02: 2026-01 is still open: months close in order, close it first\n",
    )  # fmt: skip
    assert run("close", "2026-01", "--ledger", ledger, "--by", "hr", "--at", "2026-02-05T09:00:00Z")[0] == 0
    assert run("close", "2026-01", "--ledger", ledger, "--by", "li", "--at", "2026-02-06T09:00:00Z") == (
        1, "", "error: close 2026-01: it was closed by hr at 2026-02-05T09:00:00Z\n",
    )  # fmt: skip
    assert run("close", "2026-03", "--ledger", ledger, "--by", "hr") == (
        1, "", f"error: close 2026-03: the ledger {_shown(ledger)} holds no decisions of 2026-03 "
        "(it holds 2026-01 to 2026-02)\n",
    )  # fmt: skip


def test_a_close_before_the_month_ends_or_before_the_last_close_is_refused(
    ledger: str, rules: Path, tmp_path: Path
) -> None:
    """``--at`` before the month ends (midnight in the offset written) or before the last close: exit 2, no change."""
    assert run("evaluate", str(rules), records(tmp_path, "janfeb.csv", JAN + FEB), "--ledger", ledger)[0] == 0
    before = dump(ledger)
    assert run("close", "2026-01", "--ledger", ledger, "--by", "hr", "--at", "2026-01-20T09:00:00Z") == (
        2, "", "error: --at 2026-01-20T09:00:00Z is before 2026-01 ends (2026-02-01T00:00:00Z): "
        "the earliest --at allowed for closing 2026-01 is 2026-02-01T00:00:00Z\n",
    )  # fmt: skip
    assert run("close", "2026-01", "--ledger", ledger, "--by", "hr", "--at", "2026-01-31T23:30:00+08:00") == (
        2, "", "error: --at 2026-01-31T23:30:00+08:00 is before 2026-01 ends (2026-02-01T00:00:00+08:00): "
        "the earliest --at allowed for closing 2026-01 is 2026-02-01T00:00:00+08:00\n",
    )  # fmt: skip
    assert dump(ledger) == before
    assert run("close", "2026-01", "--ledger", ledger, "--by", "hr", "--at", "2026-03-10T09:00:00Z")[0] == 0
    closed = dump(ledger)
    assert run("close", "2026-02", "--ledger", ledger, "--by", "hr", "--at", "2026-03-01T00:00:00+08:00") == (
        2, "", "error: --at 2026-03-01T00:00:00+08:00 is before 2026-01 was closed (2026-03-10T17:00:00+08:00): "
        "months close in order, so the earliest --at allowed for closing 2026-02 is 2026-03-10T17:00:00+08:00\n",
    )  # fmt: skip
    assert dump(ledger) == closed
    assert run("close", "2026-02", "--ledger", ledger, "--by", "hr", "--at", "2026-03-10T17:00:00+08:00")[0] == 0


def test_a_close_now_before_the_month_ends_is_refused(
    ledger: str, rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--at``, "now" is checked the same way (in the machine's time zone): February cannot close on the 20th."""
    assert run("evaluate", str(rules), records(tmp_path, "janfeb.csv", JAN + FEB), "--ledger", ledger)[0] == 0
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1771578000")  # 2026-02-20T09:00:00Z
    assert run("close", "2026-01", "--ledger", ledger, "--by", "hr")[0] == 0
    assert run("close", "2026-02", "--ledger", ledger, "--by", "hr") == (
        2, "", "error: now (2026-02-20T09:00:00Z) is before 2026-02 ends (2026-03-01T00:00:00Z): "
        "the earliest --at allowed for closing 2026-02 is 2026-03-01T00:00:00Z\n",
    )  # fmt: skip
    monkeypatch.undo()
    time.tzset()


def test_a_month_before_a_closed_one_is_rejected_and_the_run_goes_on(ledger: str, rules: Path, tmp_path: Path) -> None:
    """December after January closed: its records are rejected naming why; February is decided."""
    assert run("evaluate", str(rules), records(tmp_path, "jan.csv", JAN), "--ledger", ledger)[0] == 0
    assert run("close", "2026-01", "--ledger", ledger, "--by", "hr")[0] == 0
    late = records(tmp_path, "late.csv", [("A1", "2025-12", 80), *FEB])
    code, out, err = run("evaluate", str(rules), late, "--ledger", ledger, "--format", "csv")
    assert code == 1
    assert f"rejected: {late}:2 (A1 2025-12): period: 2025-12 comes before 2026-01, which is closed: " \
           "it can no longer be decided" in err.splitlines()  # fmt: skip
    assert list(cells(out)) == [("A1", "2026-02"), ("A2", "2026-02")]


def test_a_ledger_of_a_newer_schema_is_refused(tmp_path: Path, rules: Path) -> None:
    """A ledger written by a later tierpay (schema 2) is not guessed at: exit 4, naming both versions."""
    where = tmp_path / "ledger.db"
    assert run("evaluate", str(rules), records(tmp_path, "jan.csv", JAN), "--ledger", str(where))[0] == 0
    with sqlite3.connect(where) as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    assert run("ledger", "--ledger", str(where)) == (
        4, "", f"error: {where}: the ledger's schema is version 2, newer than this tierpay's (1): "
        "use the tierpay that wrote it, or a newer one\n",
    )  # fmt: skip


def test_a_database_that_is_not_a_ledger_is_refused(tmp_path: Path, rules: Path) -> None:
    """A SQLite file of some other program, and a file that is no database at all: exit 4, nothing written."""
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    jan = records(tmp_path, "jan.csv", JAN)
    assert run("evaluate", str(rules), jan, "--ledger", str(other)) == (
        4, "", f"error: {other}: not a tierpay ledger (it has tables, but no meta table)\n",
    )  # fmt: skip
    text = tmp_path / "notes.txt"
    text.write_text("not a database, " * 100, encoding="utf-8")
    code, out, err = run("evaluate", str(rules), jan, "--ledger", str(text))
    assert (code, out) == (4, "")
    assert err == f"error: {text}: cannot open the ledger: file is not a database\n"
    missing = tmp_path / "none.db"
    assert run("ledger", "--ledger", str(missing)) == (
        4, "", f"error: {missing}: no ledger there: evaluate with --ledger {missing} first\n",
    )  # fmt: skip


def test_the_missing_extra_is_named(tmp_path: Path, rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SQLAlchemy installed, --ledger says which extra to install: exit 4."""
    gone = ("sqlalchemy.", "tierpay.ledger.", "tierpay.cli.ledgering")
    for name in [n for n in sys.modules if n == "sqlalchemy" or n.startswith(gone)]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    where = tmp_path / "ledger.db"
    code, out, err = run("evaluate", str(rules), records(tmp_path, "jan.csv", JAN), "--ledger", str(where))
    assert (code, out) == (4, "")
    assert err == (
        f"error: --ledger {where}: the ledger needs SQLAlchemy, which is not installed: pip install 'tierpay[ledger]'\n"
    )


def test_two_runs_on_one_state_cannot_both_be_kept(ledger: str, rules: Path, tmp_path: Path) -> None:
    """Two writers read the ledger at generation 1; the first one's run is kept, the second is refused."""
    from tierpay import load_ruleset, read_records
    from tierpay.engine.corrections import run_with_history
    from tierpay.ledger import open_ledger

    assert run("evaluate", str(rules), records(tmp_path, "jan.csv", JAN), "--ledger", ledger)[0] == 0
    target = load_ruleset(rules)
    feb = read_records(target, records(tmp_path, "feb.csv", FEB))
    first, second = open_ledger(ledger), open_ledger(ledger)
    try:
        runs = [run_with_history(target, feb, w.history(["2026-02"])) for w in (first, second)]
        with first.recording(target, runs[0], at="2026-03-01T00:00:00Z", records="feb.csv", state_in=None):
            pass
        late = second.recording(target, runs[1], at="2026-03-01T00:00:01Z", records="feb.csv", state_in=None)
        with pytest.raises(OutputError, match="the ledger changed while this run was going"), late:
            pass
    finally:
        first.close_connection()
        second.close_connection()
    after = open_ledger(ledger)
    try:
        assert [r.id for r in after.runs()] == [1, 2]
    finally:
        after.close_connection()


def _shown(where: str) -> str:
    """How messages name a ledger: a path as given, a URL without its password."""
    if "://" not in where:
        return where
    import sqlalchemy as sa

    return sa.make_url(where).render_as_string(hide_password=True)


def test_peoples_decisions_are_kept_in_the_ledger(ledger: str, tmp_path: Path) -> None:
    """A run given --decisions applies them (A001 set to L2 by 王敏) and keeps who decided, why and when."""
    decisions = ROOT / "examples" / "data" / "decisions-2026-01.csv"
    code, text, err = run(
        "evaluate", str(STARS), str(SAMPLE_MONTH), "--ledger", ledger, "--decisions", str(decisions),
        "--format", "csv",
    )  # fmt: skip
    assert code == 1, err  # the sample's bad rows, and A013's extension past the legal cap
    row = cells(text)[("A001", "2026-01")]
    assert (row["level"], row["decided"], row["decided_by"]) == ("L2", "set_level=L2", "王敏")
    kept = dump(ledger)["people_decisions"]
    # The file's six decisions, less A013's refused extension: five applied, each kept once.
    assert len(kept) == 5
    a001 = next(r for r in kept if r[2] == "A001")
    assert a001[3:] == (
        "2026-01", "set_level", "L2", "王敏", "calibration 2026-02-10: QA above target for three months",
        "2026-02-10T00:00:00",
    )  # fmt: skip


def test_a_workbook_output_beside_a_ledger_is_refused(tmp_path: Path) -> None:
    """A ledger run writes its files as text: -o x.xlsx would get a text table, so it is refused before any work."""
    ledger, book = tmp_path / "ledger.db", tmp_path / "out.xlsx"
    code, _, err = run("evaluate", str(STARS), str(SAMPLE_MONTH), "--ledger", str(ledger), "-o", str(book))
    assert code == 2
    assert err == (
        f"error: --ledger writes its run's files as text; -o {book} is a workbook: "
        "name a .csv file, or make the workbook from a run without --ledger\n"
    )
    assert not book.exists()
    assert not ledger.exists()


# --- a ruleset with ladders ------------------------------------------------------------------

LADDERS = ROOT / "examples" / "rulesets" / "callcenter-ladders.yaml"
LADDER_HEADER = (
    "agent_id,period,role,team,level,calls_handled,qa_score,csat,audits,calibration,team_csat,own_contributions"
)
# A4 an agent at S2 moved to team lead in January; I1 an inspector; N0 three stars held five
# months before January (--state-in), so six with January: eligible to be nominated for team lead.
LADDER_JAN = [
    "A4,2026-01,agent,T1,S2,1000,91.5,92,0,0,0,600",
    "I1,2026-01,qa,QA,Q1,0,0,0,300,100,0,700",
    "N0,2026-01,agent,T1,,1000,90,90,0,0,0,600",
]
LADDER_FEB = [
    "A4,2026-02,team_lead,T1,,0,0,0,0,0,92,800",
    "I1,2026-02,qa,QA,,0,0,0,280,96,0,700",
    "N0,2026-02,agent,T1,,1000,90,90,0,0,0,600",
]
MOVE = "agent_id,period,decision,value,by,reason,at\nA4,2026-01,set_ladder,team_lead:T1,Wang Fang,panel,2026-01-05\n"


def ladder_files(tmp_path: Path) -> tuple[str, str, str, str]:
    """January's and February's records, January's set_ladder decision and the state N0 starts from."""
    from tierpay import load_ruleset

    jan, feb = tmp_path / "jan.csv", tmp_path / "feb.csv"
    jan.write_text("\n".join([LADDER_HEADER, *LADDER_JAN]) + "\n", encoding="utf-8")
    feb.write_text("\n".join([LADDER_HEADER, *LADDER_FEB]) + "\n", encoding="utf-8")
    moves = tmp_path / "move.csv"
    moves.write_text(MOVE, encoding="utf-8")
    ruleset = load_ruleset(LADDERS)
    state = {
        "tierpay_state": 2, "ruleset": ruleset.name, "ruleset_version": ruleset.version,
        "ruleset_sha256": ruleset.sha256, "through": "2025-12",
        "agents": [{"agent_id": "N0", "level": "S3", "last_period": "2025-12", "periods_in_level": 5}],
    }  # fmt: skip
    start = tmp_path / "state-2025-12.json"
    start.write_text(json.dumps(state), encoding="utf-8")
    return str(jan), str(feb), str(moves), str(start)


def ladder_rows(where: str) -> list[tuple[object, ...]]:
    """(period, agent, level, ladder, nominated, pay) of every decision the ledger holds, by period and agent."""
    import sqlalchemy as sa

    from tierpay.ledger import schema

    engine = sa.create_engine(where if "://" in where else f"sqlite:///{where}")
    d = schema.decisions.c
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(d.period, d.agent_id, d.level, d.ladder, d.nominated, d.pay_total).order_by(
                    d.period, d.agent_id
                )
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def test_each_decisions_ladder_is_kept_and_a_move_holds_when_the_next_month_resumes(
    ledger: str, tmp_path: Path
) -> None:
    """January moves A4 to team lead; February, resumed from the ledger alone, decides A4 on the team-lead ladder.

    January: A4 enters T1 by the move; its team_csat is 0: score 0, grade B (0.8), 6500 + 1500
    x 0.8 = 7,700.00. I1: 40 x 1 + 60 x 1 = 100, S, to Q2: 5600 + 800 x 1.2 = 6,560.00. N0 (S3,
    five months held before): 50 x 30/35 + 50 x 10/15 = 76.19, A: 4800 + 1000 = 5,800.00,
    nominated for team_lead. February: A4 team_csat 92: 100 x 12/15 = 80, A: 6500 + 1500 =
    8,000.00; I1: 40 x 0.9 + 60 x 0.8 = 84, A: 5600 + 800 = 6,400.00; N0 as in January.
    """
    jan, feb, moves, start = ladder_files(tmp_path)
    code, _, err = run("evaluate", str(LADDERS), jan, "--ledger", ledger, "--decisions", moves, "--state-in", start)
    assert code == 0, err
    code, text, err = run("evaluate", str(LADDERS), feb, "--ledger", ledger, "--format", "csv")
    assert code == 0, err
    assert cells(text)[("A4", "2026-02")]["ladder"] == "team_lead"
    assert ladder_rows(ledger) == [
        ("2026-01", "A4", "T1", "team_lead", None, Decimal("7700.00")),
        ("2026-01", "I1", "Q2", "qa", None, Decimal("6560.00")),
        ("2026-01", "N0", "S3", "agent", "team_lead", Decimal("5800.00")),
        ("2026-02", "A4", "T1", "team_lead", None, Decimal("8000.00")),
        ("2026-02", "I1", "Q2", "qa", None, Decimal("6400.00")),
        ("2026-02", "N0", "S3", "agent", "team_lead", Decimal("5800.00")),
    ]
    code, listing, err = run("ledger", "--ledger", ledger)
    assert code == 0, err
    assert listing.split("\n\n")[2] == (
        "month    ladder     agents       pay\n"
        "-------  ---------  ------  --------\n"
        "2026-01  agent           1  5,800.00\n"
        "2026-01  qa              1  6,560.00\n"
        "2026-01  team_lead       1  7,700.00\n"
        "2026-02  agent           1  5,800.00\n"
        "2026-02  qa              1  6,400.00\n"
        "2026-02  team_lead       1  8,000.00"
    )
    code, listing, err = run("ledger", "--ledger", ledger, "--format", "json")
    assert json.loads(listing)["months"][0]["ladders"] == [
        {"ladder": "agent", "agents": 1, "pay_total": "5800.00"},
        {"ladder": "qa", "agents": 1, "pay_total": "6560.00"},
        {"ladder": "team_lead", "agents": 1, "pay_total": "7700.00"},
    ]


def test_a_move_kept_in_the_ledger_is_not_undone_by_the_export_saying_the_old_role(ledger: str, tmp_path: Path) -> None:
    """February's export still says A4 is an agent: resumed from the ledger, the record is rejected naming level."""
    jan, _, moves, start = ladder_files(tmp_path)
    assert run("evaluate", str(LADDERS), jan, "--ledger", ledger, "--decisions", moves, "--state-in", start)[0] == 0
    feb = tmp_path / "feb-old-role.csv"
    feb.write_text(f"{LADDER_HEADER}\nA4,2026-02,agent,T1,,1000,91.5,92,0,0,0,600\n", encoding="utf-8")
    code, text, _ = run("explain", str(LADDERS), str(feb), "--agent", "A4", "--ledger", ledger)
    assert code == 1
    assert f"{feb}:2 (A4 2026-02): level: the carried level T1 is on ladder team_lead, but role 'agent' puts" in text


def test_a_ledger_made_before_the_ladder_column_opens_and_gains_it(ledger: str, tmp_path: Path) -> None:
    """A ledger whose decisions lack ladder and nominated is read as it is; the next run adds them, old rows empty."""
    import sqlalchemy as sa

    jan, feb, moves, start = ladder_files(tmp_path)
    assert run("evaluate", str(LADDERS), jan, "--ledger", ledger, "--decisions", moves, "--state-in", start)[0] == 0
    engine = sa.create_engine(ledger if "://" in ledger else f"sqlite:///{ledger}")
    with engine.begin() as connection:  # as a ledger made before the columns were
        connection.execute(sa.text("ALTER TABLE decisions DROP COLUMN ladder"))
        connection.execute(sa.text("ALTER TABLE decisions DROP COLUMN nominated"))
    engine.dispose()
    code, listing, err = run("ledger", "--ledger", ledger)
    assert (code, err) == (0, "")
    assert "2026-01  open    run 1     1          3  20,060.00" in listing
    assert "month    ladder" not in listing  # nothing kept to say
    code, _, err = run("evaluate", str(LADDERS), feb, "--ledger", ledger)
    assert code == 0, err
    assert [row[:5] for row in ladder_rows(ledger)] == [
        ("2026-01", "A4", "T1", None, None),
        ("2026-01", "I1", "Q2", None, None),
        ("2026-01", "N0", "S3", None, None),
        ("2026-02", "A4", "T1", "team_lead", None),
        ("2026-02", "I1", "Q2", "qa", None),
        ("2026-02", "N0", "S3", "agent", "team_lead"),
    ]


def decision_columns(where: str) -> list[str]:
    """The columns the ledger's decisions table has, as the database says."""
    import sqlalchemy as sa

    engine = sa.create_engine(where if "://" in where else f"sqlite:///{where}")
    try:
        with engine.connect() as connection:
            return [c["name"] for c in sa.inspect(connection).get_columns("decisions")]
    finally:
        engine.dispose()


def test_a_failing_run_leaves_a_ledger_made_before_the_ladder_column_without_it(
    ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columns are added in the run's transaction: a run whose files do not appear adds nothing."""
    import sqlalchemy as sa

    jan, feb, moves, start = ladder_files(tmp_path)
    assert run("evaluate", str(LADDERS), jan, "--ledger", ledger, "--decisions", moves, "--state-in", start)[0] == 0
    engine = sa.create_engine(ledger if "://" in ledger else f"sqlite:///{ledger}")
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE decisions DROP COLUMN ladder"))
        connection.execute(sa.text("ALTER TABLE decisions DROP COLUMN nominated"))
    engine.dispose()

    def fail(self: Outputs) -> None:
        raise OutputError("out.csv: cannot write: No space left on device")

    monkeypatch.setattr(Outputs, "publish", fail)
    assert run("evaluate", str(LADDERS), feb, "--ledger", ledger)[0] == 5
    assert "ladder" not in decision_columns(ledger)
    monkeypatch.undo()
    assert run("evaluate", str(LADDERS), feb, "--ledger", ledger)[0] == 0
    assert decision_columns(ledger)[-2:] == ["ladder", "nominated"]


def test_the_report_resumed_from_the_ledger_shows_the_move_on_its_ladder(ledger: str, tmp_path: Path) -> None:
    """report --ledger for February: A4 counted on the team-lead ladder before and after, paid 8,000.00 there."""
    pytest.importorskip("jinja2")
    jan, feb, moves, start = ladder_files(tmp_path)
    assert run("evaluate", str(LADDERS), jan, "--ledger", ledger, "--decisions", moves, "--state-in", start)[0] == 0
    page = tmp_path / "february.html"
    code, _, err = run("report", str(LADDERS), feb, "--ledger", ledger, "-o", str(page))
    assert (code, err) == (0, "")
    from .test_html import text_of

    text = text_of(page.read_text(encoding="utf-8"))
    assert "team_lead T2 Senior team lead 0 0 0 T1 Team lead 1 1 0" in text
    assert "ladder agent-months 2026-02 — change agent 1 5,800.00 — — qa 1 6,400.00 — — team_lead 1 8,000.00" in text
