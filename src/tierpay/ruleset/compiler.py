"""Compile a validated ``Ruleset`` into a ``CompiledRuleset``: every expression once, typed.

Symbols come in stages, and each expression sees the stages before it::

    record    metrics, attributes, built-ins from carried state (level, on_probation, ...)
    derived   + derived values (in dependency order; cycles are errors)
    scored    + the scorecard's value (``score``)
    graded    + ``grade`` (level criteria, promotion, demotion, probation, review)
    paid      + ``coefficient`` (pay lines)

Cross-references the models cannot see alone (level ids in pay tables, attributes named in
cohorts, metrics named in scorecards) are checked here too, each at its own path.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import get_close_matches
from functools import cached_property
from typing import Literal

from tierpay.errors import Problem, RulesetError
from tierpay.ruleset.employment import check_calendar, with_calendar
from tierpay.ruleset.expressions import (
    CompiledExpression,
    ExpressionProblem,
    SymbolType,
    compile_expression,
)
from tierpay.ruleset.ladders import Nomination
from tierpay.ruleset.model import BUILTIN_SYMBOLS, Attribute, Floors, Ruleset
from tierpay.ruleset.yamlsource import Locations, PathKey, format_path

RESERVED = {*BUILTIN_SYMBOLS, "grade", "coefficient"}
#: The lowest probation pay as a share of the contract wage (PRC Labor Contract Law art. 20).
PROBATION_RATIO = Decimal("0.8")
#: The most a month's deductions for losses may take, in percent (工资支付暂行规定 art. 16).
DEDUCTION_CAP_PERCENT = Decimal(20)

Stage = Literal["record", "derived", "scored", "graded", "paid"]


@dataclass(frozen=True, eq=False)
class CompiledRuleset:
    """A ruleset ready to evaluate: the model, its compiled expressions, and its identity."""

    model: Ruleset
    file: str
    sha256: str
    symbols: Mapping[str, SymbolType]
    derived_order: tuple[str, ...]
    expressions: Mapping[str, CompiledExpression] = field(repr=False)
    minimum_wage_source: str | None = None
    locations: Locations | None = field(default=None, repr=False)
    ladders: Mapping[str, CompiledRuleset] = field(default_factory=dict)
    """Each ladder compiled as a ruleset of its own (none: the ruleset has one ladder)."""
    ladder: str | None = None
    """The name of the ladder this is, when it is one of a ruleset's ``ladders``."""
    nominations: tuple[Nomination, ...] = ()
    """Who on this ladder may be nominated for another (criteria at ``nominate[k].when``)."""

    @property
    def name(self) -> str:
        """The ruleset's name."""
        return self.model.name

    @property
    def version(self) -> str:
        """The ruleset's version."""
        return self.model.version

    @cached_property
    def level_ids(self) -> list[str]:
        """Level ids, lowest first."""
        return [lv.id for lv in self.model.levels]

    def on(self, ladder: str | None) -> CompiledRuleset:
        """The ruleset ``ladder`` is decided by (this one, with one ladder or none named)."""
        return self.ladders.get(ladder, self) if ladder is not None else self

    def expr(self, path: str) -> CompiledExpression | None:
        """The compiled expression at field ``path`` (``levels[1].entry``), if there is one."""
        return self.expressions.get(path)

    def need(self, path: str) -> CompiledExpression:
        """The compiled expression at ``path``; it must exist."""
        return self.expressions[path]


def content_hash(text: str) -> str:
    """The SHA-256 of a ruleset's text, which stamps every result computed under it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Compiler:
    def __init__(self, ruleset: Ruleset, locations: Locations, nominations: Sequence[Nomination] = ()) -> None:
        self.r = ruleset
        self.nominations = nominations
        self.loc = locations
        self.problems: list[Problem] = []
        self.expressions: dict[str, CompiledExpression] = {}
        self.stages: dict[Stage, dict[str, SymbolType]] = {}

    def problem(self, path: PathKey, message: str) -> None:
        self.problems.append(self.loc.problem(path, message))

    def compile(self, path: PathKey, source: str | None, stage: Stage, expect: SymbolType | None) -> None:
        if source is None:
            return
        where = format_path(path)
        symbols = self.stages[stage]
        try:
            self.expressions[where] = compile_expression(source, symbols, self.loc.shown(path), expect)
        except ExpressionProblem as error:
            message = error.message
            if "unknown name" in message:
                message += self._stage_hint(message, stage)
            if error.offset is not None:
                line, column = self.loc.expression_position(path, source, error.offset)
            else:
                pos = self.loc.find(path)
                line, column = pos.line, pos.column + (1 if pos.style in ("'", '"') else 0)
            self.problems.append(self.loc.problem_at(self.loc.file_of(path), line, column, where, message, source))

    def _stage_hint(self, message: str, stage: Stage) -> str:
        name = message.split("'")[1] if "'" in message else ""
        metric, attr = self.r.metrics.get(name), self.r.attributes.get(name)
        if metric is not None and metric.optional:
            return f"; {name!r} is an optional metric (a blank cell means unknown), which expressions cannot read"
        if attr is not None and attr.type in ("date", "term"):
            return f"; {name!r} is a {attr.type} attribute (it may be blank), which expressions cannot read"
        later: dict[Stage, str] = {
            "derived": "derived values",
            "scored": "the scorecard",
            "graded": "the grade",
            "paid": "the coefficient",
        }
        for later_stage, what in later.items():
            if name in self.stages.get(later_stage, {}) and name not in self.stages[stage]:
                return f"; {name!r} comes from {what}, which is not available here"
        return ""

    # --- symbols --------------------------------------------------------------------------

    def record_symbols(self) -> dict[str, SymbolType]:
        symbols: dict[str, SymbolType] = {}
        for name, metric in self.r.metrics.items():
            if not metric.optional:  # may be blank: no expression can read it
                symbols[name] = "number"
        for name, attr in self.r.attributes.items():
            if attr.type in ("string", "boolean"):  # a date or a term may be blank: not readable
                symbols[name] = "boolean" if attr.type == "boolean" else "string"
        for name, kind in BUILTIN_SYMBOLS.items():
            symbols[name] = kind  # type: ignore[assignment]
        return symbols

    def compile_derived(self) -> tuple[str, ...]:
        base = dict(self.stages["record"])
        names = list(self.r.derived)
        loose: dict[str, SymbolType] = {**base, **dict.fromkeys(names, "unknown")}
        deps: dict[str, set[str]] = {}
        for name, d in self.r.derived.items():
            try:
                compiled = compile_expression(d.expr, loose, f"derived.{name}")
                deps[name] = {s for s in compiled.symbols if s in self.r.derived}
            except ExpressionProblem:
                deps[name] = set()  # reported below with full types
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, chain: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*chain[chain.index(name) :], name])
                self.problem(("derived", name), f"circular derived values: {cycle}")
                return
            state[name] = 1
            for dep in sorted(deps[name]):
                visit(dep, [*chain, name])
            state[name] = 2
            order.append(name)

        for name in names:
            visit(name, [])
        if any("circular" in p.message for p in self.problems):
            self.stages["derived"] = {**base, **dict.fromkeys(names, "unknown")}
            return tuple(order)
        symbols = dict(base)
        for name in order:
            path: PathKey = ("derived", name, "expr")
            before = len(self.problems)
            self.stages["derived"] = symbols
            self.compile(path, self.r.derived[name].expr, "derived", None)
            found = self.expressions.get(format_path(path))
            if found is not None and len(self.problems) == before:
                kind = found.result_type
                if kind == "unknown":
                    self.problem(path, "the value's type cannot be known (a ternary mixing types?)")
                symbols[name] = kind
            else:
                symbols[name] = "unknown"
        self.stages["derived"] = symbols
        return tuple(order)

    # --- everything -------------------------------------------------------------------------

    def run(self) -> tuple[tuple[str, ...], dict[str, SymbolType]]:
        self.check_references()
        check_calendar(self.r, self.problem)
        self.r = with_calendar(self.r)  # what it can add, so one misspelt name is not a cascade of unknown ones
        r = self.r
        self.stages["record"] = self.record_symbols()
        order = self.compile_derived()
        scored = dict(self.stages["derived"])
        if r.scorecard is not None:
            scored[r.scorecard.name] = "number"
        self.stages["scored"] = scored
        self.stages["graded"] = {**scored, "grade": "string"}
        self.stages["paid"] = {**self.stages["graded"], "coefficient": "number"}

        if r.protection is not None:
            self.compile(("protection", "when"), r.protection.when, "derived", "boolean")
        if r.scorecard is not None:
            for i, veto in enumerate(r.scorecard.vetoes):
                self.compile(("scorecard", "vetoes", i, "when"), veto.when, "derived", "boolean")
        for i, grade in enumerate(r.grades):
            self.compile(("grades", i, "when"), grade.when, "scored", "boolean")
        for i, level in enumerate(r.levels):
            self.compile(("levels", i, "entry"), level.entry, "graded", "boolean")
            self.compile(("levels", i, "maintain"), level.maintain, "graded", "boolean")
        for i, blocker in enumerate(r.promotion.blocked_if):
            self.compile(("promotion", "blocked_if", i, "when"), blocker.when, "graded", "boolean")
        for i, trigger in enumerate(r.demotion.immediate_if):
            self.compile(("demotion", "immediate_if", i, "when"), trigger.when, "graded", "boolean")
        if r.probation is not None:
            self.compile(("probation", "convert_if"), r.probation.convert_if, "graded", "boolean")
        if r.review is not None:
            self.compile(("review", "only_if"), r.review.only_if, "graded", "boolean")
            for i, ex in enumerate(r.review.exempt):
                self.compile(("review", "exempt", i, "when"), ex.when, "graded", "boolean")
        if r.pay is not None:
            for i, line in enumerate(r.pay.lines):
                self.compile(("pay", "lines", i, "when"), line.when, "paid", "boolean")
                self.compile(("pay", "lines", i, "formula"), line.formula, "paid", "number")
        for i, nomination in enumerate(self.nominations):
            self.compile(("nominate", i, "when"), nomination.when, "graded", "boolean")
        self.check_symbol_uses()
        return order, self.stages["paid"]

    def numeric(self, name: str, stage: Stage = "scored") -> bool:
        return self.stages.get(stage, {}).get(name) == "number"

    def check_symbol_uses(self) -> None:
        r = self.r
        if r.scorecard is not None:
            sc = r.scorecard
            for i, part in enumerate(sc.parts):
                if not self.numeric(part.metric, "derived"):
                    self.problem(
                        ("scorecard", "parts", i, "metric"),
                        self._not_number(part.metric, "derived"),
                    )
            if sc.min_volume is not None and not self.numeric(sc.min_volume.metric, "derived"):
                self.problem(
                    ("scorecard", "min_volume", "metric"),
                    self._not_number(sc.min_volume.metric, "derived"),
                )
        if r.review is not None and not self.numeric(r.review.rank_by, "graded"):
            self.problem(("review", "rank_by"), self._not_number(r.review.rank_by, "graded"))
        if r.pay is not None:
            pay = r.pay
            if pay.proration is not None:
                for key in ("worked", "scheduled"):
                    name = getattr(pay.proration, key)
                    if not self.numeric(name, "derived"):
                        self.problem(("pay", "proration", key), self._not_number(name, "derived"))
            coeff = pay.coefficient
            if coeff.band is not None and not self.numeric(coeff.band.of):
                self.problem(("pay", "coefficient", "band", "of"), self._not_number(coeff.band.of))
            if coeff.curve is not None and not self.numeric(coeff.curve.of):
                self.problem(("pay", "coefficient", "curve", "of"), self._not_number(coeff.curve.of))
            for i, ded in enumerate(pay.deductions):
                if ded.metric not in r.metrics:
                    self.problem(("pay", "deductions", i, "metric"), f"unknown metric {ded.metric!r}")
            floors = pay.floors
            if floors is not None and floors.contract_wage is not None and floors.contract_wage not in r.metrics:
                self.problem(("pay", "floors", "contract_wage"), f"unknown metric {floors.contract_wage!r}")

    def _not_number(self, name: str, stage: Stage = "scored") -> str:
        kind = self.stages.get(stage, {}).get(name)
        if kind is None:
            known = sorted(k for k, v in self.stages.get(stage, {}).items() if v == "number" and k not in RESERVED)
            close = get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"unknown name {name!r}{hint}"
        return f"{name!r} is {kind}, not a number"

    def check_references(self) -> None:
        r = self.r
        if r.ladder_by is not None:
            self.problem(("ladder_by",), "given without `ladders`: declare the ladders it chooses between")
        seen: dict[str, str] = {}
        for kind, keys in (
            ("metrics", r.metrics),
            ("attributes", r.attributes),
            ("derived", r.derived),
        ):
            for key in keys:
                if key in RESERVED:
                    self.problem((kind, key), f"{key!r} is a built-in name; choose another")
                elif key in seen:
                    self.problem((kind, key), f"{key!r} is already declared under {seen[key]}")
                seen.setdefault(key, kind)
        fields = {"agent_id", "period", "level", *r.metrics, *r.attributes}
        for header, named in r.columns.items():
            if named not in fields:
                self.problem(
                    ("columns", header),
                    f"{named!r} is not a field records carry (agent_id, period, level, a metric or an attribute)",
                )
        for i, name in enumerate(r.keep):
            clash = kept_clash(r, name)
            if clash is not None:
                self.problem(("keep", i), clash)
        if r.scorecard is not None and (r.scorecard.name in seen or r.scorecard.name in RESERVED):
            self.problem(("scorecard", "name"), f"{r.scorecard.name!r} is already a name in use")
        ids = [lv.id for lv in r.levels]
        for i, level in enumerate(r.levels):
            if ids.index(level.id) != i:
                self.problem(("levels", i, "id"), f"level id {level.id!r} is used twice")
        if r.levels[0].entry is not None:
            self.problem(
                ("levels", 0, "entry"),
                f"the lowest level {ids[0]!r} is the floor: it takes no entry",
            )
        for i, level in enumerate(r.levels[1:], start=1):
            if level.entry is None:
                self.problem(("levels", i), f"level {level.id!r} needs entry criteria")
        if r.grades:
            if r.grades[-1].when is not None:
                self.problem(
                    ("grades", len(r.grades) - 1, "when"),
                    "the last grade takes no `when`: it catches the rest",
                )
            for i, grade in enumerate(r.grades[:-1]):
                if grade.when is None:
                    self.problem(("grades", i), "only the last grade may leave out `when`")
            names = [g.grade for g in r.grades]
            for i, grade in enumerate(r.grades):
                if names.index(grade.grade) != i:
                    self.problem(("grades", i, "grade"), f"grade {grade.grade!r} is listed twice")
        if r.effective_to is not None and r.effective_to < r.effective_from:
            self.problem(("effective_to",), "effective_to is before effective_from")
        if r.published_on is not None and r.published_on > r.effective_from:
            self.problem(
                ("published_on",),
                f"the rules are published on {r.published_on}, after they take effect on {r.effective_from}: "
                "rules on pay and assessment bind staff only once made known (PRC Labor Contract Law art. 4)",
            )
        if r.probation is not None:
            if r.probation.attribute not in r.attributes:
                self.problem(
                    ("probation", "attribute"),
                    f"{r.probation.attribute!r} is not a declared attribute",
                )
            if r.probation.level is not None and r.probation.level not in ids:
                self.problem(("probation", "level"), f"{r.probation.level!r} is not a level id")
            for key, kind in (("start_date", "date"), ("contract_term", "term")):
                name = getattr(r.probation, key)
                attr = r.attributes.get(name)
                if attr is None or attr.type != kind:
                    self.problem(
                        ("probation", key),
                        f"{name!r} is not a declared attribute of type {kind}: probation runs from the start "
                        "date for the cap the contract term allows (Labor Contract Law art. 19)",
                    )
        if r.new_agents is not None and r.new_agents.level not in ids:
            self.problem(("new_agents", "level"), f"{r.new_agents.level!r} is not a level id")
        floors = r.pay.floors if r.pay is not None else None
        if floors is not None and floors.post_lowest_wage is not None:
            for key in floors.post_lowest_wage:
                if key not in ids:
                    self.problem(("pay", "floors", "post_lowest_wage", key), f"{key!r} is not a level id")
            if floors.post_by is not None and floors.post_by not in r.attributes:
                self.problem(("pay", "floors", "post_by"), f"{floors.post_by!r} is not a declared attribute")
        cohort_keys: tuple[tuple[PathKey, list[str]], ...] = (
            (("review", "cohort_by"), r.review.cohort_by if r.review else []),
            (("scorecard", "cohort_by"), r.scorecard.cohort_by if r.scorecard else []),
        )
        for where, attrs in cohort_keys:
            for i, name in enumerate(attrs):
                if name not in r.attributes:
                    self.problem((*where, i), f"{name!r} is not a declared attribute")
        if r.review is not None and r.review.fairness is not None:
            group = r.review.fairness.group_by
            if group not in r.attributes:
                self.problem(("review", "fairness", "group_by"), f"{group!r} is not a declared attribute")
        if r.pay is not None:
            self.check_pay(ids)

    def check_pay(self, ids: list[str]) -> None:
        r = self.r
        assert r.pay is not None
        for i, line in enumerate(r.pay.lines):
            if line.by_level is not None:
                for level_id in ids:
                    if level_id not in line.by_level:
                        self.problem(("pay", "lines", i, "by_level"), f"no amount for level {level_id!r}")
                for key in line.by_level:
                    if key not in ids:
                        self.problem(("pay", "lines", i, "by_level", key), f"{key!r} is not a level id")
                attr = r.attributes.get(line.by) if line.by else None
                if line.by is not None and attr is None:
                    self.problem(("pay", "lines", i, "by"), f"{line.by!r} is not a declared attribute")
                elif attr is not None and attr.values is not None:
                    for key, row in line.by_level.items():
                        if isinstance(row, dict):
                            for value in attr.values:
                                if value not in row:
                                    self.problem(
                                        ("pay", "lines", i, "by_level", key),
                                        f"no amount for {line.by} {value!r}",
                                    )
                            for value in row:
                                if value not in attr.values:
                                    self.problem(
                                        ("pay", "lines", i, "by_level", key, value),
                                        f"{value!r} is not an allowed value of {line.by}",
                                    )
            if line.times_coefficient and r.pay.coefficient.source == "grade":
                if not r.grades:
                    self.problem(
                        ("pay", "lines", i, "times_coefficient"),
                        "the coefficient comes from grades, but none are declared",
                    )
                for j, grade in enumerate(r.grades):
                    if grade.coefficient is None:
                        self.problem(
                            ("grades", j, "coefficient"),
                            "pay uses the grade coefficient: declare one",
                        )
        floors = r.pay.floors
        if floors is not None:
            self.check_floors(floors)

    def check_floors(self, floors: Floors) -> None:
        """Floors that name declared values, and settings no statute allows."""
        r = self.r
        if floors.probation_ratio is not None and floors.probation_ratio < PROBATION_RATIO:
            self.problem(
                ("pay", "floors", "probation_ratio"),
                f"probation_ratio {floors.probation_ratio} is below {PROBATION_RATIO}: probation pay may not be "
                "below 80% of the contract wage (PRC Labor Contract Law art. 20)",
            )
        if floors.deduction_cap_percent > DEDUCTION_CAP_PERCENT and floors.deduction_cap_rule is None:
            self.problem(
                ("pay", "floors", "deduction_cap_percent"),
                f"deduction_cap_percent {floors.deduction_cap_percent} is above the 20% of a month's wages that "
                "工资支付暂行规定 art. 16 allows: name the local regulation that permits more in deduction_cap_rule",
            )
        mw = floors.minimum_wage
        if mw is None:
            return
        at: PathKey = ("pay", "floors", "minimum_wage")
        table = mw.table or {}
        attr = r.attributes.get(mw.by)
        if attr is None:
            self.problem((*at, "by"), f"{mw.by!r} is not a declared attribute")
        elif mw.areas is not None:
            for value, area in mw.areas.items():
                if area not in table:
                    self.problem((*at, "areas", value), f"{area!r} is not an area of the minimum-wage table")
                if attr.values is not None and value not in attr.values:
                    self.problem((*at, "areas", value), f"{value!r} is not an allowed value of {mw.by}")
            for value in attr.values or []:
                if value not in mw.areas:
                    self.problem((*at, "areas"), f"no area for {mw.by} {value!r}")
        elif attr.values is not None:
            for value in attr.values:
                if value not in table:
                    self.problem((*at, "table"), f"no minimum wage for {mw.by} {value!r}")
        excluding = any(f.excludes_contributions for area in table.values() for f in area.figures)
        if mw.contributions is not None and mw.contributions not in r.metrics:
            self.problem((*at, "contributions"), f"{mw.contributions!r} is not a declared metric")
        elif mw.contributions is None and excluding:
            self.problem(
                at,
                "a figure excludes the employee's own social insurance and housing fund contributions: "
                "name the metric that holds them in `contributions`",
            )


def compile_ruleset(
    ruleset: Ruleset,
    locations: Locations,
    text: str,
    minimum_wage_source: str | None = None,
    *,
    nominations: Sequence[Nomination] = (),
) -> CompiledRuleset:
    """Compile every expression of ``ruleset``; raise ``RulesetError`` listing every problem.

    A ruleset with ``ladders`` is compiled ladder by ladder (:mod:`tierpay.ruleset.ladder_compiler`).
    """
    if ruleset.ladders is not None:
        from tierpay.ruleset.ladder_compiler import compile_ladders  # it compiles each ladder with this module

        return compile_ladders(ruleset, locations, text, minimum_wage_source)
    compiler = _Compiler(ruleset, locations, nominations)
    order, symbols = compiler.run()
    if compiler.problems:
        raise RulesetError(compiler.problems)
    compiled = CompiledRuleset(
        model=compiler.r,
        file=locations.file,
        sha256=content_hash(text),
        symbols=symbols,
        derived_order=order,
        expressions=compiler.expressions,
        minimum_wage_source=minimum_wage_source,
        locations=locations,
        nominations=tuple(nominations),
    )
    return keeping(compiled, ruleset.keep)


def kept_clash(model: Ruleset, name: str) -> str | None:
    """Why ``name`` cannot be a kept column (it is a field the rules read, or blank), or None."""
    if not name.strip():
        return "a kept column needs a name"
    if name in {"agent_id", "period", "level", *model.metrics, *model.derived} or name in model.columns:
        return f"{name!r} is a field the rules read; keep names extra columns carried beside them"
    if name in model.attributes and not _is_kept(model.attributes[name]):
        return f"{name!r} is a field the rules read; keep names extra columns carried beside them"
    return None


_KEPT = "kept column"


def _is_kept(attribute: Attribute) -> bool:
    return attribute.description == _KEPT


def keeping(ruleset: CompiledRuleset, names: Sequence[str]) -> CompiledRuleset:
    """``ruleset`` carrying the columns ``names`` as text beside each decision, never into the rules.

    They are added after compiling, as text attributes that may be blank, so every output that
    shows attributes (decisions CSV, JSON, table, statements) carries them, while no expression
    can name them. The ruleset's identity (its hash) is unchanged.
    """
    model = ruleset.model
    new = [n for n in dict.fromkeys(names) if n not in model.attributes]
    if not new:
        return ruleset
    kept = {name: Attribute(default="", label=name, description=_KEPT) for name in new}
    extended = model.model_copy(
        update={"attributes": {**model.attributes, **kept}, "keep": list(dict.fromkeys([*model.keep, *new]))}
    )
    return dataclasses.replace(ruleset, model=extended)
