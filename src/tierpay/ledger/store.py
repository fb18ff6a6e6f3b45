"""A ledger database: opened from a path (SQLite) or a URL (PostgreSQL), read as a history, written per run.

Every write is one transaction. ``Ledger.recording`` writes a run's rows and yields; the
caller publishes its files inside the block, and the transaction commits only when the block
ends without error, so a run whose files do not appear leaves the ledger as it was. Each write
also moves ``meta.generation`` on from the value read when the ledger was opened: a second
writer that read the same value finds it gone and is refused, so two runs can never both
build on one state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tierpay.engine.adjustments import Adjustment
from tierpay.engine.corrections import History, LedgerRun, Owed, PeriodHistory, own_pay
from tierpay.engine.decisions import build_decision
from tierpay.engine.period import PeriodRun
from tierpay.engine.run import PeriodResult
from tierpay.engine.state import State
from tierpay.engine.state_text import read_json
from tierpay.errors import LedgerError, OutputError
from tierpay.ledger import schema as t
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions, latest

_INTEGER = ("review_rank", "review_cohort_size")
_BOOLEAN = ("on_probation", "review_flagged")
_MONEY = ("score", "coefficient", "review_percentile", "pay_total", "pay_adjustment")
_TEXT = (
    "level_before", "level", "qualified_level", "action", "reason", "grade", "review_cohort",
    "review_stage", "review_exempt", "pay_level", "currency", "ruleset_version", "ruleset_sha256", "ladder",
    "nominated",
)  # fmt: skip


def is_url(where: str) -> bool:
    """Whether ``--ledger`` names a database URL (``postgresql+psycopg://...``) rather than a file."""
    return "://" in where


@dataclass(frozen=True)
class Run:
    """A run as the ledger lists it."""

    id: int
    kind: str
    part_of: int | None
    at: str
    records: str
    ruleset: str
    periods: list[str]
    agents: int
    rejected: int


@dataclass(frozen=True)
class LadderMonth:
    """One ladder's share of a month in force: its agents and their pay."""

    ladder: str
    agents: int
    pay_total: Decimal


@dataclass(frozen=True)
class Month:
    """A month as the ledger lists it: the run whose decisions are in force, and whether it is closed."""

    period: str
    run_id: int
    runs: list[int]
    agents: int
    pay_total: Decimal
    closed_by: str | None
    closed_at: str | None
    ladders: list[LadderMonth]
    """Per ladder, by name (empty for a ruleset without ladders, or rows kept before the column)."""


class Ledger:
    """One ledger database, open; ``shown`` is how messages name it (a URL without its password)."""

    def __init__(self, where: str, *, create: bool) -> None:
        self.where = where
        self.file = None if is_url(where) else os.path.abspath(where)
        self.fresh = False
        """A ledger still to be made: its tables are created in the first run's transaction, not before."""
        self.missing: list[str] = []
        """The columns of ``decisions`` a ledger made before them lacks (``LADDER_COLUMNS``): the next write adds them."""
        if create and self.file is not None and not os.path.exists(self.file):
            self.fresh = True
        self.engine, self.shown = _engine(where, create)
        self.generation = 0 if self.fresh else self._prepare(create)

    def close_connection(self) -> None:
        """Let go of the database (its connections)."""
        self.engine.dispose()

    # --- reading ---------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """Whether no run was stored yet."""
        if self.fresh:
            return True
        with self._reading() as db:
            return db.execute(sa.select(sa.func.count()).select_from(t.runs)).scalar_one() == 0

    def last_period(self) -> str | None:
        """The latest month the ledger holds."""
        if self.fresh:
            return None
        with self._reading() as db:
            found: str | None = db.execute(sa.select(sa.func.max(t.run_periods.c.period))).scalar_one()
            return found

    def history(self, months: Sequence[str]) -> History:
        """What the engine needs to decide ``months`` after what the ledger holds.

        Every month's state after it and whether it is closed; the record hashes and pay of
        the closed ones among ``months`` (the only ones compared); what is owed.
        """
        if self.fresh:
            return History()
        with self._reading() as db:
            in_force = _in_force(db)
            closed = {r.period for r in db.execute(sa.select(t.closings.c.period))}
            periods = []
            for period, run_id in sorted(in_force.items()):
                row = db.execute(
                    sa.select(t.run_periods.c.state_after).where(
                        t.run_periods.c.run_id == run_id, t.run_periods.c.period == period
                    )
                ).one()
                hashes: dict[str, str] = {}
                paid: dict[str, Decimal] = {}
                levels: dict[str, str] = {}
                if period in closed and period in months:
                    d = t.decisions.c
                    rows = db.execute(
                        sa.select(d.agent_id, d.record_sha256, d.pay_total, d.pay_adjustment, d.level).where(
                            d.run_id == run_id, d.period == period
                        )
                    )
                    for agent, digest, total, adjustment, level in rows:
                        hashes[agent] = digest
                        levels[agent] = level
                        pay = own_pay(_text(total), _text(adjustment))
                        if pay is not None:
                            paid[agent] = pay
                periods.append(
                    PeriodHistory(
                        period=period,
                        closed=period in closed,
                        state_after=self._state(row.state_after, f"period {period}"),
                        hashes=hashes,
                        paid=paid,
                        levels=levels,
                    )
                )
            first = db.execute(sa.select(t.runs.c.state_in).order_by(t.runs.c.id).limit(1)).scalar_one_or_none()
            a = t.adjustments.c
            owed_rows = db.execute(
                sa.select(a.id, a.agent_id, a.for_period, a.paid, a.due, a.paid_in_period)
                .where(sa.or_(a.paid_in_period.is_(None), a.paid_in_period.not_in(closed or {""})))
                .order_by(a.id)
            )
            owed = [
                Owed(r.agent_id, Adjustment(r.for_period, r.paid, r.due), r.paid_in_period, key=r.id) for r in owed_rows
            ]
        start = self._state(first, "the first run's state in") if first else None
        return History(periods=periods, start=start, owed=owed)

    def runs(self) -> list[Run]:
        """Every run, oldest first, with the months it decided."""
        with self._reading() as db:
            r, p, d = t.runs.c, t.run_periods.c, t.decisions.c
            months: dict[int, list[str]] = {}
            for run_id, period in db.execute(sa.select(p.run_id, p.period).order_by(p.run_id, p.period)):
                months.setdefault(run_id, []).append(period)
            agents: dict[int, int] = dict(
                db.execute(sa.select(d.run_id, sa.func.count(sa.distinct(d.agent_id))).group_by(d.run_id)).all()
            )
            return [
                Run(
                    id=row.id,
                    kind=row.kind,
                    part_of=row.part_of,
                    at=row.at,
                    records=row.records,
                    ruleset=f"{row.ruleset_name} {row.ruleset_version}",
                    periods=months.get(row.id, []),
                    agents=int(agents.get(row.id, 0)),
                    rejected=row.rejected,
                )
                for row in db.execute(sa.select(t.runs).order_by(r.id))
            ]

    def months(self) -> list[Month]:
        """Every month held, oldest first: the run in force, every run that decided it, closed or open."""
        with self._reading() as db:
            in_force = _in_force(db)
            p, d = t.run_periods.c, t.decisions.c
            every: dict[str, list[int]] = {}
            for run_id, period in db.execute(sa.select(p.run_id, p.period).order_by(p.period, p.run_id)):
                every.setdefault(period, []).append(run_id)
            closings = {row.period: row for row in db.execute(sa.select(t.closings))}
            ladder = d.ladder if "ladder" not in self.missing else sa.null()
            found = []
            for period, run_id in sorted(in_force.items()):
                rows = db.execute(
                    sa.select(d.pay_total, ladder).where(d.run_id == run_id, d.period == period).order_by(d.agent_id)
                ).all()
                amounts = [total for total, _ in rows if total is not None]
                by_ladder: dict[str, list[Decimal]] = {}
                for total, name in rows:
                    if name is not None and total is not None:
                        by_ladder.setdefault(name, []).append(total)
                closing = closings.get(period)
                found.append(
                    Month(
                        period=period,
                        run_id=run_id,
                        runs=every[period],
                        agents=len(amounts),
                        pay_total=sum(amounts, Decimal(0)),
                        closed_by=closing.closed_by if closing is not None else None,
                        closed_at=closing.closed_at if closing is not None else None,
                        ladders=[LadderMonth(k, len(v), sum(v, Decimal(0))) for k, v in sorted(by_ladder.items())],
                    )
                )
            return found

    def owed(self) -> list[tuple[str, Adjustment, str | None]]:
        """Every adjustment found, with the month it was paid in (None: still owed), oldest first."""
        with self._reading() as db:
            a = t.adjustments.c
            rows = db.execute(sa.select(a.agent_id, a.for_period, a.paid, a.due, a.paid_in_period).order_by(a.id)).all()
        return [(r.agent_id, Adjustment(r.for_period, r.paid, r.due), r.paid_in_period) for r in rows]

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def recording(
        self,
        target: CompiledRuleset | RulesetVersions,
        run: LedgerRun,
        *,
        at: str,
        records: str,
        state_in: State | None,
    ) -> Iterator[int]:
        """Write ``run`` in one transaction; yield its id; commit when the block ends without error.

        Nothing is committed when the block raises (the files were not published): the ledger
        stays as it was. A commit that fails raises ``OutputError`` naming the ledger.
        """
        try:
            connection = self.engine.connect()
            transaction = connection.begin()
        except sa.exc.SQLAlchemyError as error:
            raise OutputError(f"{self.shown}: cannot write the ledger: {_reason(error)}") from None
        done = False
        try:
            try:
                if self.fresh:
                    _create(connection)
                self._claim(connection)
                self._add_columns(connection)
                run_id = self._write(connection, target, run, at=at, records=records, state_in=state_in)
            except sa.exc.SQLAlchemyError as error:
                raise OutputError(f"{self.shown}: cannot write the ledger: {_reason(error)}") from None
            yield run_id
            try:
                transaction.commit()
            except sa.exc.SQLAlchemyError as error:
                raise OutputError(
                    f"{self.shown}: cannot write the ledger: {_reason(error)}; the files were written, "
                    "the run is not in the ledger: run it again"
                ) from None
            done = True
            self.missing = []
        finally:
            if transaction.is_active:
                transaction.rollback()
            connection.close()
            if self.fresh and not done and self.file is not None:  # a new ledger whose first run failed: none
                self.engine.dispose()
                with contextlib.suppress(OSError):
                    os.unlink(self.file)
        self.fresh = False

    def last_closing(self, before: str) -> tuple[str, str] | None:
        """The latest close of a month before ``before``: (month, closed at), or None; a later close cannot be earlier."""
        with self._reading() as db:
            c = t.closings.c
            row = db.execute(
                sa.select(c.period, c.closed_at).where(c.period < before).order_by(c.period.desc()).limit(1)
            ).first()
        return (row.period, row.closed_at) if row is not None else None

    def close_period(self, period: str, by: str, at: str) -> int:
        """Make ``period`` final: its decisions in force are the ones paid. Returns the run closed.

        Refused (``LedgerError``) for a month the ledger does not hold, one already closed, or
        one after a month still open: months close in order.
        """
        with self.engine.connect() as connection, connection.begin():
            closings = {row.period: row for row in connection.execute(sa.select(t.closings))}
            in_force = _in_force(connection)
            if period in closings:
                row = closings[period]
                raise LedgerError(f"close {period}: it was closed by {row.closed_by} at {row.closed_at}")
            if period not in in_force:
                held = sorted(in_force)
                have = f"it holds {held[0]} to {held[-1]}" if held else "it holds no month yet"
                raise LedgerError(f"close {period}: the ledger {self.shown} holds no decisions of {period} ({have})")
            before = [p for p in sorted(in_force) if p < period and p not in closings]
            if before:
                raise LedgerError(f"close {period}: {before[0]} is still open: months close in order, close it first")
            self._claim(connection)
            connection.execute(
                sa.insert(t.closings).values(period=period, run_id=in_force[period], closed_by=by, closed_at=at)
            )
            return in_force[period]

    # --- inside ----------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except sa.exc.SQLAlchemyError as error:
            raise LedgerError(f"{self.shown}: cannot read the ledger: {_reason(error)}") from None

    def _state(self, text: str, what: str) -> State:
        try:
            return read_json(text, f"{self.shown} ({what})")
        except LedgerError:
            raise
        except Exception as error:  # a state the ledger holds that does not read: the ledger is damaged
            raise LedgerError(f"{self.shown}: the state stored for {what} does not read: {error}") from None

    def _prepare(self, create: bool) -> int:
        """Check the schema (creating it in an empty database when ``create``); return the generation read."""
        try:
            with self.engine.connect() as connection, connection.begin():
                names = set(sa.inspect(connection).get_table_names())
                if not names:
                    if not create:
                        raise LedgerError(
                            f"{self.shown}: no ledger there (an empty database): evaluate with --ledger first"
                        )
                    self.fresh = True  # an empty database: made a ledger by the first run
                    return 0
                if "meta" not in names:
                    raise LedgerError(f"{self.shown}: not a tierpay ledger (it has tables, but no meta table)")
                meta = dict(connection.execute(sa.select(t.meta.c.key, t.meta.c.value)).all())
                if "decisions" in names:
                    held = {column["name"] for column in sa.inspect(connection).get_columns("decisions")}
                    self.missing = [name for name in t.LADDER_COLUMNS if name not in held]
        except sa.exc.SQLAlchemyError as error:
            raise LedgerError(f"{self.shown}: cannot open the ledger: {_reason(error)}") from None
        version = meta.get("schema_version", "")
        if not version.isdigit():
            raise LedgerError(f"{self.shown}: not a tierpay ledger (meta has no schema_version)")
        if int(version) > t.SCHEMA_VERSION:
            raise LedgerError(
                f"{self.shown}: the ledger's schema is version {version}, newer than this tierpay's "
                f"({t.SCHEMA_VERSION}): use the tierpay that wrote it, or a newer one"
            )
        if int(version) < t.SCHEMA_VERSION:  # pragma: no cover - there is no older schema yet
            raise LedgerError(f"{self.shown}: the ledger's schema is version {version}: it needs upgrading")
        return int(meta.get("generation", "0"))

    def _add_columns(self, connection: Connection) -> None:
        """Add the columns a ledger made before them lacks, in the run's transaction: empty in the rows already kept.

        Nullable text columns at the end of ``decisions``: an older tierpay, which names the
        columns it reads and writes, goes on using the ledger as before.
        """
        for name in self.missing:
            connection.execute(sa.text(f"ALTER TABLE decisions ADD COLUMN {name} TEXT"))

    def _claim(self, connection: Connection) -> None:
        """Move the generation on from the one read; refuse when another writer moved it first."""
        m = t.meta.c
        moved = connection.execute(
            sa.update(t.meta)
            .where(m.key == "generation", m.value == str(self.generation))
            .values(value=str(self.generation + 1))
        )
        if moved.rowcount != 1:
            raise OutputError(
                f"{self.shown}: the ledger changed while this run was going (another run or a close): "
                "nothing was written to it; run this again"
            )
        self.generation += 1

    def _people(self, db: Connection, run_id: int, run: LedgerRun) -> None:
        """The people's decisions the run applied (``--decisions``), each with who, why and when."""
        outcome = run.outcome
        if not outcome.decided:
            return
        cells = outcome.cells.filter(outcome.cells["decided"].is_not_null())
        rows: list[dict[str, object]] = []
        for agent, period in cells.select("agent_id", "period").iter_rows():
            for human in outcome.decision(agent, period).decided:
                rows.append(
                    {
                        "run_id": run_id,
                        "position": len(rows),
                        "agent_id": agent,
                        "period": period,
                        "decision": human.decision,
                        "value": human.value,
                        "by": human.by,
                        "reason": human.reason,
                        "at": human.at.isoformat() if human.at is not None else None,
                    }
                )
        if rows:
            db.execute(sa.insert(t.people_decisions), rows)

    def _write(
        self,
        db: Connection,
        target: CompiledRuleset | RulesetVersions,
        run: LedgerRun,
        *,
        at: str,
        records: str,
        state_in: State | None,
    ) -> int:
        from tierpay import __version__

        stamp = latest(target)
        every = [h for q in sorted(run.hashes) for h in sorted(run.hashes[q].items())]
        head = {
            "at": at,
            "tierpay_version": __version__,
            "records": records,
            "records_sha256": _digest(every),
            "ruleset_name": stamp.name,
            "ruleset_version": stamp.version,
            "ruleset_sha256": stamp.sha256,
        }
        rejected = len(run.outcome.rejections)
        run_id = db.execute(
            sa.insert(t.runs).values(kind="run", part_of=None, state_in=_json(state_in), rejected=rejected, **head)
        ).inserted_primary_key[0]  # type: ignore[index]
        correction_id = None
        in_force = _in_force(db)
        if run.corrected:
            correction_id = db.execute(
                sa.insert(t.runs).values(
                    kind="correction", part_of=run_id, state_in=_json(run.start), rejected=0, **head
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        for result in run.results:
            if result.run is None:  # every record refused before deciding (a month no version covers): nothing held
                continue
            corrected = result.period in run.corrected
            owner = correction_id if corrected else run_id
            assert owner is not None
            self._period(db, owner, result, run, in_force.get(result.period) if corrected else None)
        a = t.adjustments.c
        ids: dict[int, int] = {}
        for item in run.new:
            ids[id(item)] = db.execute(
                sa.insert(t.adjustments).values(
                    agent_id=item.agent_id,
                    for_period=item.adjustment.for_period,
                    paid=item.adjustment.paid,
                    due=item.adjustment.due,
                    found_by=correction_id,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        for (period, _agent), items in run.paid.items():
            for item in items:
                key = item.key if item.key is not None else ids[id(item)]
                db.execute(
                    sa.update(t.adjustments).where(a.id == key).values(paid_in_run=run_id, paid_in_period=period)
                )
        for item in run.unpaid:
            db.execute(sa.update(t.adjustments).where(a.id == item.key).values(paid_in_run=None, paid_in_period=None))
        self._people(db, run_id, run)
        if run.outcome.rejections:
            db.execute(
                sa.insert(t.rejections),
                [
                    {
                        "run_id": run_id,
                        "position": k,
                        "source": r.source,
                        "row": r.row,
                        "agent_id": r.agent_id,
                        "period": r.period,
                        "reasons": json.dumps(r.reasons, ensure_ascii=False),
                    }
                    for k, r in enumerate(run.outcome.rejections)
                ],
            )
        return int(run_id)

    def _period(self, db: Connection, run_id: int, result: PeriodResult, run: LedgerRun, corrects: int | None) -> None:
        """One month's rows: its state after, every decision (typed cells) and every pay line."""
        hashes = run.hashes[result.period]
        decided = result.run
        version = decided.ruleset if decided is not None else None
        db.execute(
            sa.insert(t.run_periods).values(
                run_id=run_id,
                period=result.period,
                records_sha256=_digest(sorted(hashes.items())),
                ruleset_name=version.name if version is not None else "",
                ruleset_version=version.version if version is not None else "",
                ruleset_sha256=version.sha256 if version is not None else "",
                state_after=run.states[result.period].to_json(),
                corrects_run=corrects,
            )
        )
        decision_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        for part in result.pieces():  # a ruleset with ladders decides a month in one run per ladder
            self._decisions(run_id, result.period, part.cells, part.run, hashes, decision_rows, line_rows)
        if decision_rows:
            db.execute(sa.insert(t.decisions), decision_rows)
        if line_rows:
            db.execute(sa.insert(t.pay_lines), line_rows)

    def _decisions(
        self,
        run_id: int,
        period: str,
        cells: pl.DataFrame,
        decided: PeriodRun | None,
        hashes: dict[str, str],
        decision_rows: list[dict[str, Any]],
        line_rows: list[dict[str, Any]],
    ) -> None:
        """The decision rows and pay-line rows of one run's decided cells (a ladder's, or the month's)."""
        if not cells.height or decided is None:
            return
        attributes = [c for c in cells.columns if c in _attribute_names(decided.ruleset)]
        rows = np.flatnonzero(decided.decided).tolist()
        for k, cell in enumerate(cells.iter_rows(named=True)):
            agent = cell["agent_id"]
            row: dict[str, Any] = {
                "run_id": run_id,
                "period": period,
                "agent_id": agent,
                "record_sha256": hashes[agent],
                "attributes": json.dumps({n: cell[n] for n in attributes}, ensure_ascii=False),
            }
            for name in _TEXT:
                row[name] = cell.get(name)
            for name in _INTEGER:
                row[name] = None if cell.get(name) is None else int(cell[name])
            for name in _BOOLEAN:
                row[name] = None if cell.get(name) is None else cell[name] == "true"
            for name in _MONEY:
                row[name] = None if cell.get(name) is None else Decimal(cell[name])
            decision_rows.append(row)
            decision = build_decision(decided, rows[k])
            if decision.pay is not None:
                line_rows += [
                    {
                        "run_id": run_id,
                        "period": period,
                        "agent_id": agent,
                        "position": n,
                        "line_id": line.id,
                        "kind": line.kind,
                        "amount": line.amount,
                        "basis": line.basis,
                    }
                    for n, line in enumerate(decision.pay.lines)
                ]


def _create(connection: Connection) -> None:
    """The tables of a new ledger and its meta rows, in the first run's transaction."""
    from tierpay import __version__

    t.metadata.create_all(connection)
    connection.execute(
        sa.insert(t.meta),
        [
            {"key": "schema_version", "value": str(t.SCHEMA_VERSION)},
            {"key": "generation", "value": "0"},
            {"key": "created_by", "value": f"tierpay {__version__}"},
        ],
    )


def _attribute_names(ruleset: CompiledRuleset) -> set[str]:
    return set(ruleset.model.attributes)


def _in_force(db: Connection) -> dict[str, int]:
    """Each month the ledger holds and the run whose decisions of it are in force (the latest)."""
    p = t.run_periods.c
    return dict(db.execute(sa.select(p.period, sa.func.max(p.run_id)).group_by(p.period)).all())


def _digest(pairs: Sequence[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(list(pairs)).encode("utf-8")).hexdigest()


def _json(state: State | None) -> str | None:
    return state.to_json() if state is not None else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _reason(error: sa.exc.SQLAlchemyError) -> str:
    """The database's own words, first line: ``file is not a database``, ``connection refused``."""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _engine(where: str, create: bool) -> tuple[Engine, str]:
    """The SQLAlchemy engine for a path or URL, and how messages name it (a URL's password hidden)."""
    if not is_url(where):
        path = os.path.abspath(where)
        if os.path.isdir(path):
            raise LedgerError(f"{where}: is a directory: name the ledger's file")
        if not create and not os.path.exists(path):
            raise LedgerError(f"{where}: no ledger there: evaluate with --ledger {where} first")
        if create and not os.path.isdir(os.path.dirname(path)):  # the ledger to be made is an output: exit 5
            raise OutputError(
                f"{where}: cannot create the ledger: the folder {os.path.dirname(where) or '.'} does not exist"
            )
        return sa.create_engine(f"sqlite:///{path}"), where
    try:
        url = sa.make_url(where)
    except sa.exc.ArgumentError:
        raise LedgerError(f"{where}: not a database URL (write postgresql+psycopg://USER@HOST/DATABASE)") from None
    shown = url.render_as_string(hide_password=True)
    try:
        return sa.create_engine(url), shown
    except (ImportError, sa.exc.NoSuchModuleError) as error:
        if url.get_backend_name() == "postgresql":
            raise LedgerError(
                f"{shown}: a PostgreSQL ledger needs psycopg: pip install 'tierpay[postgres]' ({error})"
            ) from None
        raise LedgerError(f"{shown}: no database driver for {url.drivername}: {error}") from None
