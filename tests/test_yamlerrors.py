"""YAML syntax errors in plain words, at the place to fix, from either parser (libyaml or pure Python)."""

from __future__ import annotations

import pytest
import yaml

from tierpay import RulesetError
from tierpay.ruleset import yamlsource
from tierpay.ruleset.yamlsource import read_yaml

PARSERS = [yamlsource._Loader]
if getattr(yaml, "__with_libyaml__", False):
    PARSERS.append(yamlsource._FastLoader)

CASES = {
    "tab": ("a:\n\tb: 1\n", "2:1: YAML syntax: a tab character: indent YAML with spaces"),
    "indentation": (
        "a: 1\nb:\n  c: 1\n d: 2\n",
        "4:2: YAML syntax: the indentation does not line up: this line is indented 1 space, but the mapping it "
        "continues (from line 1) is indented 0 spaces: indent the keys of one mapping, and the items of one list, "
        "equally",
    ),
    "indentation in a list": (
        "levels:\n  - id: L1\n    name: a\n   entry: x\n",
        "4:4: YAML syntax: the indentation does not line up: this line is indented 3 spaces, but the list it "
        "continues (from line 2) is indented 2 spaces: indent the keys of one mapping, and the items of one list, "
        "equally",
    ),
    "indented under a value": (
        "a:\n  b: 1\n    c: 2\n",
        "3:5: YAML syntax: line 3 is indented more than line 2, which already has a value: "
        "indent the keys of one mapping equally",
    ),
    "two keys on one line": (
        "a: b: c\n",
        "1:5: YAML syntax: a second `key:` on one line: put a value that holds `: ` in quotes",
    ),
    "missing colon": (
        "a: 1\nname\nc: 2\n",
        "2:1: YAML syntax: `name` is not `key: value`: a `:` is missing after the key (or `- ` before a list item)",
    ),
    "unclosed single quote": (
        "a: 1\nb: 'abc\nc: 2\n",
        "2:4: YAML syntax: the ' here is never closed: add the closing '",
    ),
    "unclosed double quote": ('a: "abc\nb: 2\n', '1:4: YAML syntax: the " here is never closed: add the closing "'),
    "unclosed bracket": (
        "a: [1, 2\nb: 2\n",
        "1:4: YAML syntax: the `[` here is not closed: a `]` is missing (or a `,` between items) before line 2",
    ),
    "unclosed brace at the end": (
        "a: 1\nb: {x: 1\n",
        "2:4: YAML syntax: the `{` here is not closed: a `}` is missing (or a `,` between items) before the end of "
        "the file",
    ),
    "missing comma": (
        "a: {id: L1 name: a}\n",
        "1:16: YAML syntax: a `,` is missing between the items of the `{...}` (or a `}` too early)",
    ),
    "empty item": ("a: [1, , 2]\n", "1:8: YAML syntax: an empty item: remove the extra `,`"),
    "stray closing bracket": ("a: [1, 2]]\n", "1:10: YAML syntax: a `]` with no `[` before it"),
    "stray character": (
        "a: 1\n@b: 2\n",
        "2:1: YAML syntax: `@` cannot start a value: put text that starts with `@` in quotes",
    ),
    "backquote": (
        "a: `x`\n",
        "1:4: YAML syntax: a backquote cannot start a value: put text that starts with a backquote in quotes",
    ),
    "text after a closing quote": (
        "a: 'it's'\n",
        "1:8: YAML syntax: text after the closing ' of a quoted value: inside '...' write a single quote as ''",
    ),
    "list item after a key": (
        "a: - 1\n",
        "1:4: YAML syntax: a list item `-` cannot follow a key on the same line: start the list on the next line, "
        "indented",
    ),
    "list item among keys": (
        "a:\n  b: 1\n  - c\n",
        "3:3: YAML syntax: a list item `-` among the keys of a mapping: a list goes under a key of its own "
        "(`key:`, then `- item`)",
    ),
    "undefined alias": (
        "a: *base\n",
        "1:4: YAML syntax: `*base` refers to an anchor `&base` that is not defined before it",
    ),
    "second document": (
        "a: 1\n---\nb: 2\n",
        "2:1: YAML syntax: a second document (after `---`): a ruleset file holds one document",
    ),
    "unknown escape": (
        'a: "C:\\qa"\n',
        "1:7: YAML syntax: a backslash escape that YAML does not know, inside double quotes: use single quotes for text "
        "with backslashes, or write `\\\\`",
    ),
    "NUL": (
        "a: 1\nb: x\x00y\n",
        "2:5: YAML syntax: a NUL character (U+0000): a YAML file holds text only; if it was saved as UTF-16, "
        "save it as UTF-8",
    ),
    "control character": (
        "名前: 一\nb: x\x1b[0m\n",
        "2:5: YAML syntax: a control character (U+001B) that YAML does not allow in a file: delete it",
    ),
}


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("name", list(CASES))
def test_syntax_error_in_plain_words(name: str, parser: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error names the line and column to fix and says what is wrong without the parser's terms."""
    monkeypatch.setattr(yamlsource, "_LOADERS", [parser])
    text, expected = CASES[name]
    with pytest.raises(RulesetError) as caught:
        read_yaml(text, "x.yaml")
    (problem,) = caught.value.problems
    assert str(problem) == f"x.yaml:{expected}"


def test_no_parser_term_reaches_the_user() -> None:
    """None of the translated messages carries the parser's jargon."""
    for text, _ in CASES.values():
        with pytest.raises(RulesetError) as caught:
            read_yaml(text, "x.yaml")
        message = str(caught.value)
        for term in ("<block", "<stream", "scalar", "while parsing", "while scanning", "position"):
            assert term not in message, (text, message)


def test_alias_bomb_counts_only_what_aliases_expand() -> None:
    """A billion-laughs document is refused for what its aliases expand to, at the key that expands."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(RulesetError) as caught:
        read_yaml("\n".join(lines) + "\n", "x.yaml")
    assert str(caught.value) == "x.yaml:5:1: e: its aliases (*name) expand to more than 100,000 values: an alias bomb"


def test_modest_aliases_are_read() -> None:
    """Anchors and aliases used as intended are expanded."""
    data, _ = read_yaml("base: &b {min: 0, max: 100}\nqa: *b\ncsat: *b\n", "x.yaml")
    assert data["csat"] == {"min": 0, "max": 100}


def test_many_plain_values_are_refused_before_the_tree_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain file with more values than a ruleset can need is refused by its count, not called an alias bomb."""
    text = "metrics:\n" + "".join(f"  m{i}: {{min: 0, max: 100}}\n" for i in range(20_000))

    def never(self: object) -> None:
        raise AssertionError("the tree was built")

    for parser in PARSERS:
        monkeypatch.setattr(parser, "get_single_node", never)
    with pytest.raises(RulesetError) as caught:
        read_yaml(text, "x.yaml")
    assert str(caught.value) == (
        "x.yaml:16668:11: the file holds more than 100,000 values (keys, list items and texts), "
        "more than a ruleset can need: is it the right file?"
    )
