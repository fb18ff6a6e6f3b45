"""A decision's JSON text, written from its fields without building the pydantic ``Decision``.

``evaluate --format json`` writes every decision of a payroll run: a million agent-months is
gigabytes of JSON. Building each ``Decision`` and serialising it spent most of the time
re-encoding the same few pieces again and again: the pay statement (one per distinct pay
input), the ruleset stamp, the score parts (one per distinct value), the values the
expressions saw, the criteria answers. ``DecisionJson`` renders each such piece once, with
pydantic itself, and keeps its text; only what differs row by row is formatted per row.

The text is exactly ``Decision.model_dump_json(indent=2)`` indented to its place in the
outcome's ``decisions`` list (``tests/test_decision_json.py`` holds it to that, field by
field). What a decision contains is defined once, in
:func:`tierpay.engine.decisions.decision_fields`; this module only spells it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json

from tierpay.engine.results import Score
from tierpay.engine.state import WRITTEN_WHEN_SET

DEPTH = 4
"""The indent of a decision in the outcome's ``decisions`` list."""
_FIELD = " " * (DEPTH + 2)  # a decision's fields
_INNER = " " * (DEPTH + 4)  # a field's fields (score, lists, dicts)
_PART = " " * (DEPTH + 6)  # a score part's opening brace


class DecisionJson:
    """Writes decisions as JSON text, keeping the text of every piece that repeats.

    Make one per period and drop it after: the pieces it keeps are that period's pay
    statements, score parts, check answers and values.
    """

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._models: dict[int, tuple[BaseModel, str]] = {}  # id -> (the model, kept alive; its text)
        self._values: dict[tuple[Any, ...], str] = {}
        self._checks: dict[int, tuple[dict[str, bool], str]] = {}  # id -> (the dict, kept alive; its text)
        self._parts: dict[tuple[int, ...], str] = {}  # the parts' ids (each kept alive in _models) -> text
        self._keys: dict[str, str] = {}
        self.pieces: dict[Any, Any] = {}  # what ``period_json`` keeps for the period, by kind

    def text(self, fields: dict[str, Any]) -> str:
        """The JSON of the decision with ``fields`` (``decision_fields``), indented to ``DEPTH``."""
        s, d = self._string, _decimal
        score: Score | None = fields["score"]
        parts = [
            "{",
            f'{_FIELD}"agent_id": {s(fields["agent_id"])},',
            f'{_FIELD}"period": {s(fields["period"])},',
            *([f'{_FIELD}"ladder": {s(fields["ladder"])},'] if fields["ladder"] is not None else []),
            f'{_FIELD}"source": {s(fields["source"])},',
            f'{_FIELD}"row": {int(fields["row"])},',
            f'{_FIELD}"level_before": {s(fields["level_before"])},',
            f'{_FIELD}"level": {s(fields["level"])},',
            f'{_FIELD}"qualified_level": {s(fields["qualified_level"])},',
            f'{_FIELD}"action": {s(fields["action"])},',
            f'{_FIELD}"reason": {s(fields["reason"])},',
            f'{_FIELD}"why": {s(fields["why"])},',
            *([f'{_FIELD}"decided": {self._decided(fields["decided"])},'] if fields["decided"] else []),
            *(
                [f'{_FIELD}"nominated": {self._strings_text(fields["nominated"], _FIELD)},']
                if fields["ladder"] is not None
                else []
            ),
            f'{_FIELD}"on_probation": {_bool(fields["on_probation"])},',
            f'{_FIELD}"grade": {_null(fields["grade"], s)},',
            f'{_FIELD}"coefficient": {_null(fields["coefficient"], d)},',
            f'{_FIELD}"score": {self._score(score) if score is not None else "null"},',
            f'{_FIELD}"review": {self._flat(fields["review"])},',
            f'{_FIELD}"pay": {self._model(fields["pay"], _FIELD)},',
            f'{_FIELD}"checks": {self._checks_text(fields["checks"])},',
            f'{_FIELD}"notes": {self._strings_text(fields["notes"], _FIELD)},',
            f'{_FIELD}"state": {self._flat(fields["state"])},',
            f'{_FIELD}"ruleset": {self._model(fields["ruleset"], _FIELD)},',
            f'{_FIELD}"values": {self._values_text(fields["values"])}',
            " " * DEPTH + "}",
        ]
        return "\n".join(parts)

    # --- pieces ------------------------------------------------------------------------------

    def _string(self, text: str) -> str:
        found = self._strings.get(text)
        if found is None:
            found = self._strings[text] = to_json(text).decode()
        return found

    def _model(self, model: BaseModel | None, indent: str) -> str:
        """A shared model's JSON at ``indent``, by pydantic, kept by the object's identity."""
        if model is None:
            return "null"
        found = self._models.get(id(model))
        if found is not None and found[0] is model:
            return found[1]
        text = model.model_dump_json(indent=2).replace("\n", "\n" + indent)
        self._models[id(model)] = (model, text)
        return text

    def _flat(self, model: BaseModel | None) -> str:
        """A decision field's model whose fields are all strings, numbers, flags or None.

        Made for each row (a review result, a carried state), so written field by field as
        pydantic writes them: in declaration order (the order of ``__dict__``), decimals as
        their exact strings.
        """
        if model is None:
            return "null"
        lines = [
            f"{_INNER}{self._key(name)}{self.mapping(value) if type(value) is dict else self._scalar(value)}"
            for name, value in model.__dict__.items()
            if name not in WRITTEN_WHEN_SET or value != WRITTEN_WHEN_SET[name]
        ]
        return "{\n" + ",\n".join(lines) + f"\n{_FIELD}}}"

    def mapping(self, value: dict[str, Any]) -> str:
        """A mapping of scalars inside a field's model (a state's deductions due), as pydantic indents it."""
        if not value:
            return "{}"
        inner = _INNER + "  "
        lines = [f"{inner}{self._key(k)}{self._scalar(v)}" for k, v in value.items()]
        return "{\n" + ",\n".join(lines) + f"\n{_INNER}}}"

    def _scalar(self, value: Any) -> str:
        kind = type(value)
        if kind is str:
            return self._string(value)
        if kind is bool:
            return "true" if value else "false"
        if kind is int or kind is Decimal:
            return f'"{value}"' if kind is Decimal else str(value)
        if value is None:
            return "null"
        return to_json(value).decode()

    def _score(self, score: Score) -> str:
        s = self._string
        key = tuple(map(id, score.parts))
        parts_text = self._parts.get(key)
        if parts_text is None:
            parts = ",\n".join(_PART + self._model(p, _PART) for p in score.parts)  # keeps each part alive
            parts_text = self._parts[key] = f"[\n{parts}\n{_INNER}]" if score.parts else "[]"
        return "\n".join(
            [
                "{",
                f'{_INNER}"name": {s(score.name)},',
                f'{_INNER}"value": "{score.value}",',
                f'{_INNER}"parts": {parts_text},',
                f'{_INNER}"cohort": {s(score.cohort)},',
                f'{_INNER}"veto": {_null(score.veto, s)},',
                f'{_INNER}"notes": {self._strings_text(score.notes, _INNER)}',
                _FIELD + "}",
            ]
        )

    def _decided(self, decided: list[BaseModel]) -> str:
        """The people's decisions applied, as pydantic writes the list (few rows have any)."""
        items = ",\n".join(_INNER + d.model_dump_json(indent=2).replace("\n", "\n" + _INNER) for d in decided)
        return f"[\n{items}\n{_FIELD}]"

    def _strings_text(self, items: list[str], indent: str) -> str:
        if not items:
            return "[]"
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + self._string(t) for t in items) + f"\n{indent}]"

    def _checks_text(self, checks: dict[str, bool]) -> str:
        """The criteria answers; rows with the same answers share one dict (``checks_of``), kept by identity."""
        found = self._checks.get(id(checks))
        if found is not None and found[0] is checks:
            return found[1]
        if not checks:
            text = "{}"
        else:
            lines = [f"{_INNER}{self._key(path)}{_bool(held)}" for path, held in checks.items()]
            text = "{\n" + ",\n".join(lines) + f"\n{_FIELD}}}"
        self._checks[id(checks)] = (checks, text)
        return text

    def _values_text(self, values: dict[str, Any]) -> str:
        if not values:
            return "{}"
        kept = self._values
        lines = []
        for name, value in values.items():
            key = (name, 0, str(value)) if type(value) is Decimal else (name, value)  # 2 and 2.0 print apart
            found = kept.get(key)
            if found is None:
                found = kept[key] = f"{_INNER}{self._key(name)}{to_json(value).decode()}"
            lines.append(found)
        return "{\n" + ",\n".join(lines) + f"\n{_FIELD}}}"

    def _key(self, name: str) -> str:
        found = self._keys.get(name)
        if found is None:
            found = self._keys[name] = f"{to_json(name).decode()}: "
        return found


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _decimal(value: Decimal) -> str:
    return f'"{value}"'


def _null(value: Any, render: Any) -> str:
    return "null" if value is None else str(render(value))
