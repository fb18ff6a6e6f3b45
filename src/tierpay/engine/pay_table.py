"""The pay stage of a period: each distinct pay statement computed once, exactly, and shared.

Money is never a float. What a pay statement reads (the pay level, probation, the
coefficient, whether each conditional line applies, each formula's value, and the record
values the lines read: days, city tier, contract wage, own contributions, deductions...) is gathered per row;
each distinct combination is computed once by :func:`tierpay.engine.pay.compute_pay`, the
definition of pay, and every row that shares it gets the same statement. A month of a
call centre has far fewer distinct statements than agents.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tierpay.engine.adjustments import adjustments_of
from tierpay.engine.columns import TEXT
from tierpay.engine.pay import PayInputs, band_coefficient, compute_pay, curve_coefficient, uses_coefficient
from tierpay.engine.results import Pay
from tierpay.engine.segments import SEGMENTS, read_segments
from tierpay.engine.state import due_of
from tierpay.errors import EvaluationError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.expressions import CompiledExpression
from tierpay.words import Named, Phrase, named, phrase

if TYPE_CHECKING:
    from tierpay.engine.period import PeriodRun

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def names_of(ruleset: CompiledRuleset) -> dict[str, Named]:
    """The ruleset's metrics, attributes, derived values and score: ids in English, labels in other languages."""
    model = ruleset.model
    found = {n: named(n, m.label, english_id=True) for n, m in model.metrics.items()}
    found.update((n, named(n, a.label, english_id=True)) for n, a in model.attributes.items())
    found.update((n, named(n, d.label, english_id=True)) for n, d in model.derived.items())
    if model.scorecard is not None:
        found[model.scorecard.name] = named(model.scorecard.name, model.scorecard.label, english_id=True)
    return found


def pay_reads(ruleset: CompiledRuleset) -> list[str]:
    """The record (or derived) values ``compute_pay`` reads, besides what the engine hands it."""
    pay = ruleset.model.pay
    assert pay is not None
    names: list[str] = []
    if pay.proration is not None:
        names += [pay.proration.worked, pay.proration.scheduled]
    names += [ln.by for ln in pay.lines if ln.by]
    floors = pay.floors
    if floors is not None:
        if floors.contract_wage is not None:
            names.append(floors.contract_wage)
        if floors.post_by is not None:
            names.append(floors.post_by)
        if floors.minimum_wage is not None:
            names.append(floors.minimum_wage.by)
            if floors.minimum_wage.contributions is not None:
                names.append(floors.minimum_wage.contributions)
    names += [d.metric for d in pay.deductions]
    cal = ruleset.model.calendar
    if cal is not None:  # the employment calendar: sick days, FTE, hours, who is paid by the hour
        names += [n for n, leave in cal.leave.items() if leave.paid == "sick"]
        if cal.part_time is not None:
            names += [n for n in (cal.part_time.fte, cal.part_time.hours) if n is not None]
            if cal.part_time.hourly is not None:
                names.append(cal.part_time.hourly.attribute)
    return list(dict.fromkeys(names))


def pay_stage(run: PeriodRun) -> None:
    """Every live row's pay statement, as a code into ``run.pay_statements``; failures reject the row."""
    model = run.model
    pay = model.pay
    if pay is None or not run.alive.any():
        return
    levels = run.levels_out
    assert levels is not None
    run.coefficient = codes, table, _ = coefficients(run)
    values = np.array([float(c) for c in table])
    faithful = all(len(str(c)) <= 15 and "E" not in str(c) for c in table)
    run.columns.put("coefficient", values[codes], faithful)
    run.cache.clear()
    live = run.alive.copy()
    keys: dict[str, Any] = {}
    for i, line in enumerate(pay.lines):
        if line.when is not None:
            keys[f"when:{line.id}"] = run.check(f"pay.lines[{i}].when", live)
    formulas: dict[str, list[Decimal | None]] = {}
    for i, line in enumerate(pay.lines):
        if line.formula is not None:
            keys[f"formula:{line.id}"], formulas[line.id] = by_distinct(
                run, run.ruleset.need(f"pay.lines[{i}].formula"), live
            )
    pay_level = np.zeros(run.size, dtype=np.int64)
    pay_level[run.level_rows] = levels.pay_level
    probation = np.zeros(run.size, dtype=bool)
    probation[run.level_rows] = levels.probation_month
    keys["level"] = pay_level
    keys["probation"] = probation
    keys["due"] = pl.Series(run.due_in.tolist(), dtype=pl.String)
    keys["protected"] = run.protected
    keys["coefficient"] = codes if uses_coefficient(pay, model.grades) else np.full(run.size, -1)
    if run.adjustments:
        keys["adjust"] = run.rows["agent_id"].replace_strict(run.adjustments, default="", return_dtype=pl.String)
    if SEGMENTS in run.rows.columns:  # a month of several segments: what pay reads of each
        keys["segments"] = run.rows[SEGMENTS]
    read = pay_reads(run.ruleset)
    ok = live & ~run.failed
    frame = pl.DataFrame(keys)
    if read:
        frame = pl.concat([_read_columns(run, read, ok), frame], how="horizontal")
    frame = frame.filter(pl.Series(ok))
    distinct = frame.unique(maintain_order=True)
    statements: list[Pay | None] = []
    names = names_of(run.ruleset)
    failures: dict[int, str] = {}
    for key in distinct.iter_rows(named=True):
        coefficient = table[key["coefficient"]] if key["coefficient"] >= 0 else None
        basis = run.coefficient[2][key["coefficient"]] if key["coefficient"] >= 0 else phrase("basis.no_coefficient")
        try:
            statements.append(
                compute_pay(
                    pay,
                    model.currency,
                    PayInputs(
                        level=run.ruleset.level_ids[key["level"]],
                        period=run.period,
                        values={n: _value(run, n, key[n]) for n in read},
                        coefficient=coefficient,
                        coefficient_basis=basis,
                        on_probation=key["probation"],
                        line_applies={k[5:]: key[k] for k in key if k.startswith("when:")},
                        formulas={k[8:]: formulas[k[8:]][key[k]] for k in key if k.startswith("formula:")},
                        due=due_of(key["due"]),
                        protected=key["protected"],
                        names=names,
                        adjustments=adjustments_of(key.get("adjust") or ""),
                        segments=read_segments(key.get("segments")),
                    ),
                    protection=model.protection,
                    calendar=model.calendar,
                )
            )
        except ValueError as error:
            failures[len(statements)] = f"pay: {error}"
            statements.append(None)
    numbered = distinct.with_row_index("__code")
    joined = frame.join(numbered, on=frame.columns, how="left", nulls_equal=True, maintain_order="left")
    run.pay_code[ok] = joined["__code"].to_numpy().astype(np.int64)
    if failures:
        for i in np.flatnonzero(ok).tolist():
            if int(run.pay_code[i]) in failures:
                run.fail(i, failures[int(run.pay_code[i])])
    run.pay_statements = statements


def _read_columns(run: PeriodRun, read: list[str], ok: Bools) -> pl.DataFrame:
    """The values pay reads, as text (exact), one column each; derived values evaluated exactly."""
    model = run.model
    columns = []
    for name in read:
        if name in model.metrics:
            columns.append(run.rows[name + TEXT].cast(pl.String).alias(name))
        elif name in model.attributes:
            columns.append(run.rows[name].alias(name))
        else:
            cells: list[str | None] = [None] * run.size
            todo = ok
            bound = run.bounds.get(name)
            if bound is not None:  # rows whose float is the exact whole number print as it does
                whole = ok & (bound == 0)
                for i, value in zip(np.flatnonzero(whole).tolist(), run.columns[name][whole].tolist(), strict=True):
                    cells[i] = str(int(value))
                todo = ok & ~whole
            for i in np.flatnonzero(todo).tolist():
                cells[i] = _text(run.exact_row(i)[name])
            columns.append(pl.Series(name, cells, dtype=pl.String))
    return pl.DataFrame(columns)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value(run: PeriodRun, name: str, cell: Any) -> Any:
    """A cell of ``_read_columns`` back as the value pay reads."""
    model = run.model
    if name in model.attributes or cell is None:
        return cell
    if name in model.metrics:
        return Decimal(cell)
    kind = run.ruleset.need(f"derived.{name}.expr").result_type
    if kind == "number":
        return Decimal(cell)
    if kind == "boolean":
        return cell == "true"
    return cell


def coefficients(run: PeriodRun) -> tuple[Ints, list[Decimal], list[Phrase]]:
    """The performance coefficient of each row as a code into a table of exact values and their bases."""
    model = run.model
    pay = model.pay
    assert pay is not None
    source = pay.coefficient
    table: list[Decimal]
    basis: list[Phrase]
    if source.source == "grade":
        table = [g.coefficient if g.coefficient is not None else Decimal(1) for g in model.grades]
        basis = [
            phrase("basis.grade", grade=g.grade) if g.coefficient is not None else phrase("basis.no_coefficient")
            for g in model.grades
        ]
        table.append(Decimal(1))
        basis.append(phrase("basis.no_coefficient"))
        return np.where(run.grade_index >= 0, run.grade_index, len(table) - 1), table, basis
    of = source.band.of if source.band is not None else source.curve.of if source.curve is not None else ""
    found: dict[Decimal, int] = {}
    table, basis = [], []
    name = names_of(run.ruleset).get(of)
    codes = np.zeros(run.size, dtype=np.int64)
    for i in np.flatnonzero(run.alive).tolist():
        value = run.exact_row(i)[of]
        if value not in found:
            if source.band is not None:
                coefficient, text = band_coefficient(source.band, value, name)
            else:
                assert source.curve is not None
                coefficient, text = curve_coefficient(source.curve, value, name)
            found[value] = len(table)
            table.append(coefficient)
            basis.append(text)
        codes[i] = found[value]
    return codes, table or [Decimal(1)], basis or [phrase("basis.no_coefficient")]


def by_distinct(run: PeriodRun, expr: CompiledExpression, live: Bools) -> tuple[Ints, list[Decimal | None]]:
    """``expr`` evaluated exactly once per distinct combination of the record values it reads.

    Returns a code per row and the value per code. Expressions that read more than the
    record (derived values, the score...) are evaluated row by row.
    """
    model = run.model
    names = sorted(expr.symbols)
    plain = all(n in model.metrics or n in model.attributes for n in names)
    codes = np.zeros(run.size, dtype=np.int64)
    table: list[Decimal | None] = []
    if plain and names:
        sub = run.rows.select([pl.col(n + TEXT if n in model.metrics else n).alias(n) for n in names])
        distinct = sub.filter(pl.Series(live)).unique(maintain_order=True).with_row_index("__code")
        joined = sub.join(distinct, on=names, how="left", nulls_equal=True, maintain_order="left")
        codes = joined["__code"].fill_null(0).to_numpy().astype(np.int64)
        failing: dict[int, str] = {}
        for code, row in enumerate(distinct.drop("__code").iter_rows(named=True)):
            values = {n: Decimal(v) if n in model.metrics else v for n, v in row.items()}
            try:
                table.append(expr.evaluate(values))
            except EvaluationError as error:
                table.append(None)
                failing[code] = str(error)
        for i in np.flatnonzero(live).tolist():
            if int(codes[i]) in failing:
                run.fail(i, failing[int(codes[i])])
        return codes, table or [None]
    for i in np.flatnonzero(live).tolist():
        codes[i] = len(table)
        try:
            table.append(expr.evaluate(run.exact_row(i)))
        except EvaluationError as error:
            table.append(None)
            run.fail(i, str(error))
    return codes, table or [None]
