"""YAML syntax errors in plain words, at the line and column where the fix goes.

PyYAML (and libyaml, which it uses when installed) describe a syntax error in the parser's
terms: ``expected <block end>, but found '<block mapping start>'``. An operations editor
needs to hear "the indentation does not line up". Each common error is translated from the
parser's message and the text around the place it points at; anything else keeps a short
form of the parser's own words.
"""

from __future__ import annotations

import re
import unicodedata

import yaml

from tierpay.errors import Problem

NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""The characters YAML does not allow anywhere in a file (YAML 1.1, as PyYAML reads it)."""

_CLOSERS = {"[": "]", "{": "}"}
_OPENERS = {"]": "[", "}": "{"}


def control_character(file: str, text: str) -> Problem | None:
    """A problem at the first character YAML does not allow (a NUL, a control character), if any."""
    found = NON_PRINTABLE.search(text)
    if found is None:
        return None
    offset = found.start()
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    char = found.group()
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    if char == "\x00":
        what = f"a NUL character ({code}): a YAML file holds text only; if it was saved as UTF-16, save it as UTF-8"
    else:
        label = f"{code} {name}" if name else code
        what = f"a control character ({label}) that YAML does not allow in a file: delete it"
    return Problem(file, line, column, "", f"YAML syntax: {what}")


class _Text:
    """The lines of the document, to look at what surrounds a mark."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def line(self, number: int) -> str:
        """Line ``number`` (1-based), or ``""`` past the end."""
        return self.lines[number - 1].rstrip("\r") if 0 < number <= len(self.lines) else ""

    def char(self, line: int, column: int) -> str:
        """The character at ``line`` and ``column`` (1-based), or ``""``."""
        text = self.line(line)
        return text[column - 1] if 0 < column <= len(text) else ""

    def indent(self, line: int) -> int:
        """How many spaces line ``line`` starts with."""
        text = self.line(line)
        return len(text) - len(text.lstrip(" "))

    def previous(self, line: int) -> int:
        """The nearest line above ``line`` that holds more than a comment, or 0."""
        for number in range(line - 1, 0, -1):
            content = self.line(number).strip()
            if content and not content.startswith("#"):
                return number
        return 0


def _spaces(count: int) -> str:
    return f"{count} space{'s' if count != 1 else ''}"


def yaml_problem(file: str, error: yaml.YAMLError, text: str) -> Problem:
    """``error`` as a ``Problem`` in plain words, at the place to fix."""
    mark = getattr(error, "problem_mark", None)
    start = getattr(error, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    if start is not None and mark is None:
        line, column = start.line + 1, start.column + 1
    context_line, context_column = (start.line + 1, start.column + 1) if start is not None else (0, 0)
    problem = str(getattr(error, "problem", None) or error)
    context = str(getattr(error, "context", None) or "")
    lines = _Text(text)
    found = _translate(lines, problem, context, line, column, context_line, context_column)
    if found is not None:
        message, line, column = found
    else:
        message = f"{context}: {problem}" if context else problem
    if "is not a date of the calendar" in problem:  # the value is wrong, not the syntax
        return Problem(file, line, column, "", problem)
    return Problem(file, line, column, "", f"YAML syntax: {message}")


def _translate(
    text: _Text, problem: str, context: str, line: int, column: int, context_line: int, context_column: int
) -> tuple[str, int, int] | None:
    """The plain message for one parser error and where it points, or None for an error not known here."""
    here = text.char(line, column)
    if here == "\t" or "tab character" in problem or "'\\t'" in problem:
        return "a tab character: indent YAML with spaces", line, column
    if "cannot start any token" in problem:
        shown = "a backquote" if here == "`" else f"`{here}`"
        if here in ("@", "`", "%"):
            return f"{shown} cannot start a value: put text that starts with {shown} in quotes", line, column
        return f"{shown} cannot start a value here", line, column
    if "mapping values are not allowed" in problem:
        return _stray_colon(text, line, column)
    if "sequence entries are not allowed" in problem:
        return (
            "a list item `-` cannot follow a key on the same line: start the list on the next line, indented",
            line,
            column,
        )
    if "could not find expected ':'" in problem and context_line:
        key = text.line(context_line)[context_column - 1 :].strip()
        shown = key if len(key) <= 40 else key[:37] + "..."
        return (
            f"`{shown}` is not `key: value`: a `:` is missing after the key (or `- ` before a list item)",
            context_line,
            context_column,
        )
    if "quoted scalar" in context and "end of stream" in problem:
        quote = text.char(context_line, context_column) or "quote"
        return f"the {quote} here is never closed: add the closing {quote}", context_line, context_column
    if "unknown escape character" in problem:
        if here != "\\" and text.char(line, column - 1) == "\\":  # libyaml points at the backslash, PyYAML after it
            column -= 1
        return (
            "a backslash escape that YAML does not know, inside double quotes: "
            "use single quotes for text with backslashes, or write `\\\\`",
            line,
            column,
        )
    if "flow sequence" in context or "flow mapping" in context:
        return _flow(text, context, line, column, context_line, context_column)
    if "flow node" in context:
        return "an empty item: remove the extra `,`", line, column
    if "block mapping" in context or "block collection" in context:
        return _block(text, context, line, column, context_line)
    if "undefined alias" in problem:
        name = re.match(r"\*([^\s,\[\]{}]+)", text.line(line)[column - 1 :])
        alias = name.group(1) if name else "?"
        return f"`*{alias}` refers to an anchor `&{alias}` that is not defined before it", line, column
    if "an alias" in context or "an anchor" in context:
        sign = "*" if "alias" in context else "&"
        return f"`{sign}` must be followed by a name: put text that starts with `{sign}` in quotes", line, column
    if "constructor for the tag" in problem:
        tag = re.search(r"'([^']*)'", problem)
        return f"the tag {tag.group(1) if tag else ''} is not allowed", line, column
    if "duplicate anchor" in context:
        return "an anchor name (`&name`) used twice: give each anchor its own name", line, column
    if "single document" in context:
        return "a second document (after `---`): a ruleset file holds one document", line, column
    if "block scalar" in context:
        return (
            "after `|` or `>` only `-`, `+` or a digit may follow on the same line: start the text on the next line",
            line,
            column,
        )
    if "directive" in context:
        return "`%` at the start of a line begins a directive: put text that starts with `%` in quotes", line, column
    return None


def _stray_colon(text: _Text, line: int, column: int) -> tuple[str, int, int]:
    """A `:` where a value was expected: two keys on one line, or a line indented under a value."""
    before = text.line(line)[: column - 1]
    if ": " in before or before.rstrip().endswith(":"):
        return "a second `key:` on one line: put a value that holds `: ` in quotes", line, column
    above = text.previous(line)
    if above and text.indent(line) > text.indent(above):
        return (
            f"line {line} is indented more than line {above}, which already has a value: "
            "indent the keys of one mapping equally",
            line,
            text.indent(line) + 1,
        )
    return "a `:` where a value was expected: put a value that holds `: ` in quotes", line, column


def _flow(
    text: _Text, context: str, line: int, column: int, context_line: int, context_column: int
) -> tuple[str, int, int]:
    """An error inside ``[...]`` or ``{...}``: a bracket not closed, or a missing comma."""
    opener = "[" if "sequence" in context else "{"
    closer = _CLOSERS[opener]
    if line == context_line:
        return (
            f"a `,` is missing between the items of the `{opener}...{closer}` (or a `{closer}` too early)",
            line,
            column,
        )
    before = "the end of the file" if not text.line(line).strip() and line >= len(text.lines) else f"line {line}"
    return (
        f"the `{opener}` here is not closed: a `{closer}` is missing (or a `,` between items) before {before}",
        context_line,
        context_column,
    )


def _block(text: _Text, context: str, line: int, column: int, context_line: int) -> tuple[str, int, int]:
    """An error in a block mapping or list: a stray bracket, text after a quote, or indentation."""
    here = text.char(line, column)
    if here in _OPENERS:
        return f"a `{here}` with no `{_OPENERS[here]}` before it", line, column
    before = text.line(line)[: column - 1].rstrip()
    if before.endswith(("'", '"')) and len(before) > text.indent(line):
        quote = before[-1]
        inside = "inside '...' write a single quote as ''" if quote == "'" else 'inside "..." write a quote as \\"'
        return f"text after the closing {quote} of a quoted value: {inside}", line, column
    if here == ":" and not before:
        return "a `:` with no key before it", line, column
    if here == "-" and "mapping" in context:
        return (
            "a list item `-` among the keys of a mapping: a list goes under a key of its own (`key:`, then `- item`)",
            line,
            column,
        )
    kind = "list" if "collection" in context else "mapping"
    return (
        f"the indentation does not line up: this line is indented {_spaces(text.indent(line))}, but the {kind} "
        f"it continues (from line {context_line}) is indented {_spaces(text.indent(context_line))}: "
        f"indent the keys of one mapping, and the items of one list, equally",
        line,
        column,
    )
