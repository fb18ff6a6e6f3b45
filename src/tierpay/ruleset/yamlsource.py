"""Safe YAML reading that remembers where every value sits in the file.

``read_yaml`` returns plain data plus a ``Locations`` map from field paths to line and
column, so later errors (pydantic's, the expression compiler's) can point at the file.
Duplicate keys are errors (YAML's last-one-wins would hide an edit), floats are read as
exact ``Decimal`` from their text, and the document is bounded: its size, its nesting, the
values it holds as written and, apart, the values its aliases (``*name``) expand to.

libyaml parses when PyYAML has it (a 4 MiB file in about 2 s, against 35 s in pure Python);
the positions and the plain-words errors (:mod:`tierpay.ruleset.yamlerrors`) are the same.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from tierpay.errors import Problem, RulesetError
from tierpay.ruleset.files import MAX_BYTES
from tierpay.ruleset.yamlerrors import control_character, yaml_problem

PathKey = tuple[str | int, ...]

MAX_NODES = 100_000
"""The most values (keys, list items and texts) a ruleset may hold as written; the shipped one has 1,618."""
MAX_EXPANDED = 100_000
"""The most values a ruleset's aliases (``*name``) may expand to, all together."""
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
    named_by: dict[str, str] = field(default_factory=dict)
    """For each other file values came from, how it was named: ``; base.yaml is named at x.yaml:2:1 in extends``."""

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
        return self.problem_at(pos.file or self.file, pos.line, pos.column, format_path(path), message, expression)

    def problem_at(
        self, file: str, line: int, column: int, path: str, message: str, expression: str | None = None
    ) -> Problem:
        """A ``Problem`` in ``file``; a file other than this document's says which ruleset line named it."""
        if file != self.file:
            message += self.named_by.get(file, "")
        return Problem(file, line, column, path, message, expression)

    def referral(self, path: PathKey, name: str) -> str:
        """How the file ``name``, named at ``path`` in this document, is named: for its problems' messages."""
        pos = self.find(path, key=True)
        where = f"{pos.file or self.file}:{pos.line}:{pos.column}"
        return f"; {name} is named at {where} in {format_path(path)}" + self.named_by.get(pos.file or self.file, "")

    def shown(self, path: PathKey) -> str:
        """How messages name the field at ``path`` (a ladder's locations name it inside its ladder)."""
        return format_path(path)

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
    """SafeLoader that reads floats as exact decimals (pure Python)."""


_LOADERS: list[type[Any]] = [_Loader]
if getattr(yaml, "__with_libyaml__", False):  # pragma: no branch - PyYAML's wheels include libyaml

    class _FastLoader(yaml.CSafeLoader):
        """The same on libyaml: the same nodes and positions, an order of magnitude faster."""

    _LOADERS.insert(0, _FastLoader)


def _decimal_float(loader: Any, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
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


def _checked_timestamp(loader: Any, node: yaml.Node) -> Any:
    """A YAML date, or an error at its line and column for one the calendar lacks (``2026-02-30``)."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as error:
        text = loader.construct_scalar(node)
        raise yaml.constructor.ConstructorError(None, None, f"{text}{_NOT_A_DATE} ({error})", node.start_mark) from None


_NOT_A_DATE = " is not a date of the calendar"


for _loader in _LOADERS:
    _loader.add_constructor("tag:yaml.org,2002:float", _decimal_float)
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _checked_timestamp)


@contextmanager
def _no_collection() -> Iterator[None]:
    """The garbage collector paused while a document's nodes are made (it slows parsing fivefold).

    The document is bounded, so what is made meanwhile is bounded too; a collector the caller
    had switched off stays off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_yaml(text: str, file: str) -> tuple[Any, Locations]:
    """Parse one YAML document safely into plain data and its locations.

    Raises ``RulesetError`` for bad syntax (in plain words), duplicate keys, and documents
    too large or too deeply nested to be a ruleset.
    """
    locations = Locations(file, lines=text.splitlines())
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise RulesetError([Problem(file, 0, 0, "", f"file is larger than {MAX_BYTES // 1024 // 1024} MiB")])
    bad = control_character(file, text)
    if bad is not None:
        raise RulesetError([bad])
    loader: Any = None
    try:
        with _no_collection():
            _count_values(text, file)
            loader = _LOADERS[0](text)
            node = loader.get_single_node()
            if node is None:
                raise RulesetError([Problem(file, 1, 1, "", "the file is empty")])
            builder = _Builder(loader, locations)
            data = builder.build(node, (), 0)
    except yaml.YAMLError as error:
        raise RulesetError([yaml_problem(file, error, text)]) from None
    except RecursionError:
        raise RulesetError([Problem(file, 0, 0, "", "nesting too deep to read")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, locations


def _count_values(text: str, file: str) -> None:
    """Refuse a document of more than ``MAX_NODES`` values as written, before any node is made.

    Counting the parser's events costs a tenth of building the nodes, so an oversized file
    is refused within a second instead of after its whole tree was built.
    """
    loader = _LOADERS[0](text)
    try:
        count = 0
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
                count += 1
                if count > MAX_NODES:
                    mark = event.start_mark
                    raise RulesetError(
                        [
                            Problem(
                                file,
                                mark.line + 1 if mark is not None else 0,
                                mark.column + 1 if mark is not None else 0,
                                "",
                                f"the file holds more than {MAX_NODES:,} values (keys, list items and texts), "
                                "more than a ruleset can need: is it the right file?",
                            )
                        ]
                    )
    finally:
        loader.dispose()


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Builder:
    """Turns a composed node tree into data, recording positions and refusing duplicates."""

    def __init__(self, loader: Any, locations: Locations) -> None:
        self.loader = loader
        self.locations = locations
        self.expanded = 0  # values made again by aliases
        self.seen: set[int] = set()

    def count(self, node: yaml.Node, path: PathKey) -> None:
        """Count the values aliases make: a node met a second time is an alias expanding it.

        The values as written were counted before the nodes were made (``_count_values``).
        """
        if id(node) not in self.seen:
            self.seen.add(id(node))
            return
        self.expanded += 1
        if self.expanded > MAX_EXPANDED:
            raise RulesetError(
                [
                    self.locations.problem(
                        path[:1],
                        f"its aliases (*name) expand to more than {MAX_EXPANDED:,} values: an alias bomb",
                    )
                ]
            )

    def build(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        self.count(node, path)
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
        style = (node.style or None) if isinstance(node, yaml.ScalarNode) else None
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
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            if _NOT_A_DATE not in str(error.problem):
                raise
            problem = Problem(
                self.locations.file, mark.line + 1, mark.column + 1, format_path(path), str(error.problem)
            )
            raise RulesetError([problem]) from None
        if isinstance(value, bytes):
            raise RulesetError([self.locations.problem(path, "binary values are not allowed")])
        return value
