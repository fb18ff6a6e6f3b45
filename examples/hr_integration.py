"""HR-system integration: the Python API with the state stored between monthly runs.

Who it is for: developers connecting tierpay to an HR or payroll system. What it shows: a
small SQLite database standing in for the HR system; each month the job reads that month's
KPI rows, loads last month's carried state from the database, evaluates, stores decisions,
rejections and the new state, and never loses a row: each is decided or rejected (a month an
agent changed team in holds a record per segment, decided together as one). Running
the months one at a time gives exactly what one run over all of them gives.

Exit status: 1 on the shipped sample, whose ten bad rows are rejected on purpose (0 when every
row is decided), as tierpay's own commands do.

Run: python examples/hr_integration.py [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import sys
import tempfile
from pathlib import Path

import tierpay

HERE = Path(__file__).resolve().parent
RULESET = HERE.parent / "rulesets" / "callcenter-stars.yaml"
RECORDS = HERE / "data" / "agents-2026h1.csv"


def output_folder(given: Path | None) -> Path:
    """The folder given on the command line, or a new temporary one: never the working tree."""
    folder = given if given is not None else Path(tempfile.mkdtemp(prefix="tierpay-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


SCHEMA = """
create table if not exists kpi (agent_id text, period text, row text);
create table if not exists decision (agent_id text, period text, level text, action text, grade text,
                                     flagged integer, pay_total text, ruleset text, detail text);
create table if not exists rejection (period text, agent_id text, reasons text);
create table if not exists carried_state (month text primary key, state text);
"""


def load_hr_database(db: sqlite3.Connection) -> list[str]:
    """Fill the stand-in HR database with the sample's KPI rows; return the months."""
    with RECORDS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    db.executemany("insert into kpi values (?, ?, ?)", [(r["agent_id"], r["period"], repr(r)) for r in rows])
    # Every distinct period, valid or not: a row with a malformed period is evaluated too, so
    # tierpay rejects it with its reason instead of the job silently skipping it.
    return sorted({r["period"] for r in rows})


def run_month(
    db: sqlite3.Connection, ruleset: tierpay.CompiledRuleset, month: str, previous: str | None
) -> tierpay.Outcome:
    """One month's job: rows and last month's state in, decisions and new state stored."""
    import ast

    rows = [ast.literal_eval(text) for (text,) in db.execute("select row from kpi where period = ?", (month,))]
    found = db.execute("select state from carried_state where month = ?", (previous,)).fetchone() if previous else None
    state = tierpay.State.from_json(found[0]) if found else None
    outcome = tierpay.evaluate(ruleset, rows, state)
    db.executemany(
        "insert into decision values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (d.agent_id, d.period, d.level, d.action, d.grade, int(bool(d.review and d.review.flagged)),
             str(d.pay.total) if d.pay else None, f"{d.ruleset.version}:{d.ruleset.sha256}", d.model_dump_json())
            for d in outcome.decisions
        ],
    )  # fmt: skip
    db.executemany(
        "insert into rejection values (?, ?, ?)",
        [(r.period, r.agent_id, "; ".join(r.reasons)) for r in outcome.rejections],
    )
    db.execute("insert into carried_state values (?, ?)", (month, outcome.state.to_json()))
    db.commit()
    return outcome


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run January to June month by month; return counts, for the tests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the files written (default: a new temporary folder)")
    args = parser.parse_args(argv)
    out = output_folder(args.out)
    path = out / "hr.sqlite"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    months = load_hr_database(db)
    ruleset = tierpay.load_ruleset(RULESET)

    previous = None
    for month in months:
        outcome = run_month(db, ruleset, month, previous)
        print(f"{month}: {len(outcome.decisions)} decided, {len(outcome.rejections)} rejected")
        previous = month

    kpi_rows = db.execute("select count(*) from kpi").fetchone()[0]
    decided = db.execute("select count(*) from decision").fetchone()[0]
    rejected = db.execute("select count(*) from rejection").fetchone()[0]
    rows_decided = db.execute(
        "select count(*) from kpi where exists "
        "(select 1 from decision where decision.agent_id = kpi.agent_id and decision.period = kpi.period)"
    ).fetchone()[0]
    print(
        f"{kpi_rows} KPI rows: {rows_decided} decided in {decided} decisions + {rejected} rejected; "
        f"database written to {path}"
    )
    final = db.execute("select state from carried_state order by month desc limit 1").fetchone()[0]
    db.close()
    return {
        "kpi_rows": kpi_rows,
        "decided": decided,
        "rows_decided": rows_decided,
        "rejected": rejected,
        "final_state": final,
        "database": path,
        "exit": 1 if rejected else 0,
    }


if __name__ == "__main__":
    sys.exit(main()["exit"])
