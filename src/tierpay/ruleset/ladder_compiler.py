"""Compile a ruleset with several ``ladders``: each ladder as a ruleset of its own, checked together.

Each ladder is the top level with the ladder's parts in place of the top level's
(:data:`tierpay.ruleset.ladders.LADDER_PARTS`), compiled as any ruleset is, so each ladder's
criteria, grades, review and pay are checked against its own levels. Its problems name the
ladder: a part of its own at ``ladders.NAME.…``, a part it takes from the top level at the top
level's field, saying which ladder took it. What only the ladders together can break (level
ids unique across ladders, the ``ladder_by`` attribute, a nomination for a ladder that does not
exist) is checked here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from tierpay.errors import Problem, RulesetError
from tierpay.ruleset.compiler import CompiledRuleset, compile_ruleset, content_hash, keeping
from tierpay.ruleset.ladders import LADDER_PARTS, Ladder
from tierpay.ruleset.model import Exemption, Ruleset
from tierpay.ruleset.yamlsource import Locations, PathKey, Position, format_path

_HEAD = re.compile(r"^[^.\[]*")


@dataclass
class LadderLocations(Locations):
    """A ruleset file's locations as one ladder's compiler sees them: its own parts inside ``ladders.NAME``."""

    ladder: str = ""
    own: frozenset[str] = field(default_factory=frozenset)

    def _real(self, path: PathKey) -> PathKey:
        if path and path[0] in self.own:
            return ("ladders", self.ladder, *path)
        return path

    def find(self, path: PathKey, key: bool = False) -> Position:
        return super().find(self._real(path), key)

    def shown(self, path: PathKey) -> str:
        return format_path(self._real(path))

    def problem_at(
        self, file: str, line: int, column: int, path: str, message: str, expression: str | None = None
    ) -> Problem:
        head = _HEAD.match(path)
        first = head.group(0) if head else ""
        if first in self.own:
            path = f"ladders.{self.ladder}.{path}"
        elif first != "ladders":
            message += f" (in ladder {self.ladder!r}, which takes it from the top level)"
        return super().problem_at(file, line, column, path, message, expression)


def ladder_model(ruleset: Ruleset, name: str) -> Ruleset:
    """The ruleset ladder ``name`` is decided by: the top level, with the ladder's own parts in its place."""
    assert ruleset.ladders is not None
    ladder = ruleset.ladders[name]
    own = {part: getattr(ladder, part) for part in LADDER_PARTS if getattr(ladder, part) is not None}
    model = ruleset.model_copy(update={**own, "ladders": None, "ladder_by": None})
    shield, review = model.protection, model.review
    if shield is not None and review is not None and all(e.when != shield.when for e in review.exempt):
        review.exempt.append(Exemption(code="protected_period", when=shield.when, reason=shield.reason))
    return model


def _own_parts(ladder: Ladder) -> frozenset[str]:
    return frozenset({*(p for p in LADDER_PARTS if getattr(ladder, p) is not None), "nominate"})


def compile_ladders(
    ruleset: Ruleset, locations: Locations, text: str, minimum_wage_source: str | None = None
) -> CompiledRuleset:
    """Compile each ladder of ``ruleset``; raise ``RulesetError`` listing every problem of every ladder."""
    assert ruleset.ladders is not None
    problems = _together(ruleset, locations)
    if problems and (ruleset.ladder_by is None or ruleset.levels or not ruleset.ladders):
        raise RulesetError(problems)  # nothing to compile the ladders by
    compiled: dict[str, CompiledRuleset] = {}
    sha = content_hash(text)
    for name, ladder in ruleset.ladders.items():
        where = LadderLocations(
            file=locations.file,
            positions=locations.positions,
            keys=locations.keys,
            lines=locations.lines,
            named_by=locations.named_by,
            ladder=name,
            own=_own_parts(ladder),
        )
        try:
            one = compile_ruleset(
                ladder_model(ruleset, name), where, text, minimum_wage_source, nominations=ladder.nominate
            )
        except RulesetError as error:
            problems.extend(error.problems)
            continue
        compiled[name] = dataclasses.replace(one, sha256=sha, ladder=name)
    if problems:
        raise RulesetError(list(dict.fromkeys(problems)))
    levels = [level for ladder in ruleset.ladders.values() for level in ladder.levels]
    first = next(iter(compiled.values()))
    whole = CompiledRuleset(
        model=ruleset.model_copy(update={"levels": levels}),
        file=locations.file,
        sha256=sha,
        symbols=first.symbols,
        derived_order=first.derived_order,
        expressions={},
        minimum_wage_source=minimum_wage_source,
        locations=locations,
        ladders=compiled,
    )
    return keeping(whole, ruleset.keep)


def _together(ruleset: Ruleset, locations: Locations) -> list[Problem]:
    """What only the ladders together can get wrong, each at its field."""
    assert ruleset.ladders is not None
    problems: list[Problem] = []
    if ruleset.levels:
        problems.append(
            locations.problem(("levels",), "give `levels` inside each ladder, not at the top level, with `ladders`")
        )
    if not ruleset.ladders:
        problems.append(locations.problem(("ladders",), "no ladder declared: declare one or more, or leave it out"))
    by = ruleset.ladder_by
    if by is None:
        problems.append(
            locations.problem(
                ("ladders",), "`ladders` need `ladder_by`: the attribute that says which ladder a record is on"
            )
        )
        return problems
    attribute = ruleset.attributes.get(by)
    if attribute is None:
        problems.append(locations.problem(("ladder_by",), f"{by!r} is not a declared attribute"))
    elif attribute.type != "string":
        problems.append(
            locations.problem(("ladder_by",), f"{by!r} is a {attribute.type} attribute; a ladder is named by text")
        )
    held: dict[str, str] = {}
    chosen: dict[str, str] = {}
    for name, ladder in ruleset.ladders.items():
        for i, level in enumerate(ladder.levels):
            other = held.setdefault(level.id, name)
            if other != name:
                problems.append(
                    locations.problem(
                        ("ladders", name, "levels", i, "id"),
                        f"level id {level.id!r} is already a level of ladder {other!r}: "
                        "level ids are unique across ladders",
                    )
                )
        for value in ladder.selects(name):
            other = chosen.setdefault(value, name)
            if other != name:
                problems.append(
                    locations.problem(
                        ("ladders", name, "values"),
                        f"{by} {value!r} already puts a record on ladder {other!r}",
                    )
                )
            elif attribute is not None and attribute.values is not None and value not in attribute.values:
                problems.append(
                    locations.problem(
                        ("ladders", name) if ladder.values is None else ("ladders", name, "values"),
                        f"{by} {value!r} is not one of the values attribute {by!r} allows "
                        f"({', '.join(attribute.values)})",
                    )
                )
        for i, nomination in enumerate(ladder.nominate):
            if nomination.to not in ruleset.ladders:
                problems.append(
                    locations.problem(
                        ("ladders", name, "nominate", i, "to"),
                        f"{nomination.to!r} is not a ladder (ladders: {', '.join(ruleset.ladders)})",
                    )
                )
            elif nomination.to == name:
                problems.append(
                    locations.problem(
                        ("ladders", name, "nominate", i, "to"), f"{name!r} is this ladder: nominate for another"
                    )
                )
    return problems
