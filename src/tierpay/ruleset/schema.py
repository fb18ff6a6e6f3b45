"""The JSON Schema of the ruleset format, for editors: generated from the models, in two shapes.

A whole ruleset must state everything a ruleset needs (``tierpay: 1``, a name, levels or
``ladders`` each with theirs...).
A ruleset with ``extends:`` states only what it changes (:mod:`tierpay.ruleset.inheritance`),
so its schema requires nothing but keeps every key's type and refuses unknown keys:

- mappings (``pay:``, ``metrics:``, one metric) merge key by key, so nothing in them is required;
- lists whose items carry an ``id`` (levels, pay lines, deductions) merge item by item, so an
  item needs its ``id`` and nothing else;
- any other list (grades, score parts, vetoes, tests) replaces the base's whole, so its items
  are checked as in a whole ruleset.

The schema chooses between the two with ``if``/``then``/``else`` on the ``extends`` key, which
yaml-language-server and other draft 2019-09/2020-12 validators follow.

Decimals (amounts, bars, coefficients) are numbers, or text that spells a number (``"0.01"``),
as the loader reads them; ``300元`` is neither.
"""

from __future__ import annotations

import copy
from typing import Any

from tierpay.ruleset.model import Ruleset

SCHEMA_ID = "https://tierpay.dev/schema/ruleset-1.json"
DECIMAL_TEXT = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
"""Text the loader reads as a decimal: digits, an optional point and exponent, spaces around."""
PATCH = "Patch"
"""The suffix of a definition's shape in a ruleset with ``extends:``."""
REF = "#/$defs/"


def ruleset_json_schema() -> dict[str, Any]:
    """The JSON Schema of a ruleset file: a whole ruleset, or one with ``extends:``."""
    whole = Ruleset.model_json_schema(mode="validation")
    defs: dict[str, Any] = whole.pop("$defs")
    defs["Ruleset"] = whole
    for definition in defs.values():
        _type_decimals(definition)
    patches = _Patches(defs)
    patch = patches.of("Ruleset")
    # One ladder (`levels`) or several (`ladders` chosen by `ladder_by`), never both.
    whole["oneOf"] = [
        {"required": ["levels"], "not": {"required": ["ladders"]}},
        {"required": ["ladders", "ladder_by"], "not": {"required": ["levels"]}},
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "tierpay ruleset",
        "description": (
            "A tierpay ruleset (https://tierpay.dev). A file with `extends:` states only what it changes "
            "from its base; any other file is a whole ruleset."
        ),
        "type": "object",
        "if": {"required": ["extends"]},
        "then": {"$ref": f"{REF}{patch}"},
        "else": {"$ref": f"{REF}Ruleset"},
        "$defs": {**defs, **patches.made},
    }


def _type_decimals(node: Any) -> None:
    """Each decimal's text form (pydantic's ``anyOf: [number, string]``) held to text that spells a number."""
    if isinstance(node, dict):
        members = node.get("anyOf")
        if isinstance(members, list) and any(m.get("type") == "number" for m in members):
            for member in members:
                if member == {"type": "string"}:
                    member["pattern"] = DECIMAL_TEXT
        for value in node.values():
            _type_decimals(value)
    elif isinstance(node, list):
        for value in node:
            _type_decimals(value)


class _Patches:
    """The ``extends:`` shape of each definition, made when first needed."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.made: dict[str, Any] = {}
        self.same: set[str] = set()  # definitions whose patch would be the definition itself

    def of(self, name: str) -> str:
        """The name of ``name``'s patch definition (``name`` itself when nothing in it is required)."""
        if name in self.same:
            return name
        patch = f"{name}{PATCH}"
        if patch in self.made:
            return patch
        self.made[patch] = {}  # a placeholder: a definition that refers to itself stops here
        shape = self.relax(copy.deepcopy(self.defs[name]), keep_id=_has_id(self.defs[name]))
        if shape == self.defs[name]:
            del self.made[patch]
            self.same.add(name)
            return name
        self.made[patch] = shape
        return patch

    def relax(self, node: Any, keep_id: bool = False) -> Any:
        """``node`` with nothing required at any depth of its mappings (an item's ``id`` kept when asked)."""
        if isinstance(node, list):
            return [self.relax(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "required":
                if keep_id and "id" in value:
                    out[key] = ["id"]
            elif key == "$ref" and isinstance(value, str) and value.startswith(REF):
                out[key] = REF + self.of(value[len(REF) :])
            elif key == "items" and isinstance(value, dict):
                out[key] = self.item(value)
            elif key in ("properties", "$defs") and isinstance(value, dict):
                out[key] = {name: self.relax(schema) for name, schema in value.items()}
            elif key in ("discriminator", "default", "examples", "enum", "const"):
                out[key] = value
            else:
                out[key] = self.relax(value)
        return out

    def item(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A list's item: merged by ``id`` when it has one (needing only the id), else replaced whole."""
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF) and _has_id(self.defs[ref[len(REF) :]]):
            return {**schema, "$ref": REF + self.of(ref[len(REF) :])}
        return schema


def _has_id(definition: dict[str, Any]) -> bool:
    return "id" in definition.get("properties", {})
