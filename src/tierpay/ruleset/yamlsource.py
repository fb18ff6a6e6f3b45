"""Safe YAML reading that remembers where every value sits in the file.

``read_yaml`` returns plain data plus a ``Locations`` map from field paths to line and
column, so later errors (pydantic's, the expression compiler's) can point at the file.
Duplicate keys are errors (YAML's last-one-wins would hide an edit), floats are read as
exact ``Decimal`` from their text, and the document's size and alias expansion are bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from tierpay.errors import Problem, RulesetError

PathKey = tuple[str | int, ...]

MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64


@dataclass(frozen=True)
class Position:
    """Where a value starts, and for string scalars how its text maps back to the file."""

    line: int
    column: int
    style: str | None = None  # None plain, "'" or '"' quoted, "|" or ">" block
    file: str | None = None  # set when the value came from another file (``extends:``)
    lines: tuple[str, ...] | None = None  # that file's lines, for block-scalar columns


@dataclass
class Locations:
    """Field paths of one document mapped to their positions in its file."""

    file: str
    positions: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def find(self, path: PathKey, key: bool = False) -> Position:
        """The position of ``path`` (of its key, if ``key``), or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            sub = tuple(path[:end])
            pos = (self.keys.get(sub) if key else None) or self.positions.get(sub)
            if pos is not None:
                return pos
        return Position(0, 0)

    def problem(self, path: PathKey, message: str, expression: str | None = None) -> Problem:
        """A ``Problem`` at the key of ``path`` in this document."""
        pos = self.find(path, key=True)
        return Problem(pos.file or self.file, pos.line, pos.column, format_path(path), message, expression)

    def file_of(self, path: PathKey) -> str:
        """The file the value at ``path`` came from."""
        return self.find(path).file or self.file

    def expression_position(self, path: PathKey, text: str, offset: int) -> tuple[int, int]:
        """Line and column in the file of character ``offset`` of the string at ``path``."""
        pos = self.find(path)
        if not pos.line:
            return 0, 0
        before = text[:offset]
        newlines = before.count("\n")
        if pos.style in ("|", ">"):
            # Block scalar: content starts on the next line; its indentation is not in the text.
            line = pos.line + 1 + newlines
            lines = pos.lines if pos.lines is not None else self.lines
            content = lines[line - 1] if 0 < line <= len(lines) else ""
            indent = len(content) - len(content.lstrip(" "))
            return line, indent + offset - (before.rfind("\n") + 1) + 1
        if newlines:
            return pos.line + newlines, offset - before.rfind("\n")
        quote = 1 if pos.style in ("'", '"') else 0
        return pos.line, pos.column + quote + offset


def format_path(path: PathKey) -> str:
    """``("levels", 2, "entry")`` as ``levels[2].entry``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads floats as exact decimals."""


def _decimal_float(loader: _Loader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()  # type: ignore[arg-type]
    if text in (".inf", "+.inf"):
        return Decimal("Infinity")
    if text == "-.inf":
        return Decimal("-Infinity")
    if text == ".nan":
        return Decimal("NaN")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the resolver only sends float-shaped text
        raise yaml.constructor.ConstructorError(None, None, f"not a number: {text}", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal_float)


def _checked_timestamp(loader: _Loader, node: yaml.Node) -> Any:
    """A YAML date, or an error at its line and column for one the calendar lacks (``2026-02-30``)."""
    try:
        return loader.construct_yaml_timestamp(node)  # type: ignore[arg-type]
    except ValueError as error:
        text = loader.construct_scalar(node)  # type: ignore[arg-type]
        raise yaml.constructor.ConstructorError(
            None, None, f"{text} is not a date of the calendar ({error})", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _checked_timestamp)


def _yaml_problem(file: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    column = mark.column + 1 if mark is not None else 0
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    message = f"{context}: {problem}" if context else str(problem)
    if "'\\t'" in message:
        message = "a tab character: indent YAML with spaces"
    return Problem(file, line, column, "", f"YAML syntax: {message}")


def read_yaml(text: str, file: str) -> tuple[Any, Locations]:
    """Parse one YAML document safely into plain data and its locations.

    Raises ``RulesetError`` for bad syntax, duplicate keys, and documents too large or too
    deeply nested to be a ruleset.
    """
    locations = Locations(file, lines=text.splitlines())
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise RulesetError([Problem(file, 0, 0, "", f"file is larger than {MAX_BYTES // 1024 // 1024} MiB")])
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            raise RulesetError([Problem(file, 1, 1, "", "the file is empty")])
        builder = _Builder(loader, locations)
        data = builder.build(node, (), 0)
    except yaml.YAMLError as error:
        raise RulesetError([_yaml_problem(file, error)]) from None
    except RecursionError:
        raise RulesetError([Problem(file, 0, 0, "", "nesting too deep to read")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, locations


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Builder:
    """Turns a composed node tree into data, recording positions and refusing duplicates."""

    def __init__(self, loader: _Loader, locations: Locations) -> None:
        self.loader = loader
        self.locations = locations
        self.count = 0

    def build(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise RulesetError([self.locations.problem(path[:1], f"more than {MAX_NODES} values (an alias bomb?)")])
        if depth > MAX_DEPTH:
            raise RulesetError([self.locations.problem(path[:1], f"nesting deeper than {MAX_DEPTH} levels")])
        mark = node.start_mark
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            where = format_path(path)
            raise RulesetError(
                [
                    Problem(
                        self.locations.file, mark.line + 1, mark.column + 1, where, f"the tag {node.tag} is not allowed"
                    )
                ]
            )
        style = node.style if isinstance(node, yaml.ScalarNode) else None
        self.locations.positions.setdefault(path, Position(mark.line + 1, mark.column + 1, style))
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | bool):
                    raise RulesetError([self.locations.problem(path, f"a key must be text, not {type(key).__name__}")])
                if key in out:
                    k = key_node.start_mark
                    first = self.locations.positions.get((*path, key))
                    where = f" (first at line {first.line})" if first else ""
                    raise RulesetError(
                        [
                            Problem(
                                self.locations.file,
                                k.line + 1,
                                k.column + 1,
                                format_path((*path, key)),
                                f"duplicate key {key!r}{where}",
                            )
                        ]
                    )
                k = key_node.start_mark
                self.locations.keys.setdefault((*path, key), Position(k.line + 1, k.column + 1))
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        value = self.loader.construct_object(node, deep=True)
        if isinstance(value, bytes):
            raise RulesetError([self.locations.problem(path, "binary values are not allowed")])
        return value
