"""Criteria and formulas: rule-engine expressions compiled once, type-checked, and traceable.

This is the only module that imports ``rule_engine``. An expression is lexed and checked
against an allow-list of tokens and size limits *before* rule-engine builds it (some
constructs hang while being built), then compiled with a typed context made from the
declared symbols, so a typo or a type mismatch is found when the ruleset loads. Values are
always resolved from plain dicts, never from Python objects' attributes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Any, Literal

import rule_engine
import rule_engine.ast as rast
import rule_engine.errors as rerrors
import rule_engine.parser as rparser

from tierpay.errors import EvaluationError

SymbolType = Literal["number", "string", "boolean", "unknown"]

_TYPES: dict[str, Any] = {
    "number": rule_engine.DataType.FLOAT,
    "string": rule_engine.DataType.STRING,
    "boolean": rule_engine.DataType.BOOLEAN,
    "unknown": rule_engine.DataType.UNDEFINED,
}

DECIMALS = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
"""The context expressions are evaluated in, whatever the caller's: Python's default, fixed."""

MAX_LENGTH = 4000
MAX_TOKENS = 800
MAX_CLAUSES = 120
MAX_NESTING = 32
MAX_NUMBER_DIGITS = 24
MAX_NODES = 1500

_ALLOWED_TOKENS = {
    "FLOAT", "STRING", "SYMBOL", "LPAREN", "RPAREN", "QMARK", "COLON", "COMMA",
    "LBRACKET", "RBRACKET", "LE", "NE", "MOD", "IN", "MUL", "FDIV", "TDIV", "NOT",
    "AND", "OR", "FALSE", "TRUE", "SUB", "ADD", "EQ", "GT", "LT", "GE",
}  # fmt: skip
_REFUSED_TOKENS = {
    "POW": "`**` is not allowed (huge powers hang); multiply instead",
    "BWLSH": "bit shifts are not allowed",
    "BWRSH": "bit shifts are not allowed",
    "BWAND": "`&` is a bitwise operator, not allowed: write `and`",
    "BWOR": "`|` is a bitwise operator, not allowed: write `or`",
    "BWXOR": "bitwise operators are not allowed",
    "EQ_FZM": "regular-expression matches (`=~`) are not allowed",
    "EQ_FZS": "regular-expression matches (`=~~`) are not allowed",
    "NE_FZM": "regular-expression matches (`!~`) are not allowed",
    "NE_FZS": "regular-expression matches (`!~~`) are not allowed",
    "ATTR": "attribute access (`.name`) is not allowed",
    "ATTR_SAFE": "attribute access (`&.name`) is not allowed",
    "FOR": "comprehensions are not allowed",
    "IF": "comprehensions are not allowed",
    "LBRACE": "mappings and sets are not allowed",
    "RBRACE": "mappings and sets are not allowed",
    "BYTES": "byte strings are not allowed",
    "DATETIME": "date literals are not allowed",
    "TIMEDELTA": "duration literals are not allowed",
    "FLOAT_NAN": "NaN is not allowed",
    "FLOAT_INF": "infinity is not allowed",
    "COALESCE": "`??` is not needed: every value is present",
    "COMMENT": "comments are not allowed inside an expression (use YAML comments)",
    "NULL": "`null` is not needed: every value is present",
}

_ALLOWED_NODES: tuple[type, ...] = (
    rast.Statement,
    rast.LogicExpression,
    rast.UnaryExpression,
    rast.ComparisonExpression,
    rast.ArithmeticComparisonExpression,
    rast.AddExpression,
    rast.SubtractExpression,
    rast.ArithmeticExpression,
    rast.TernaryExpression,
    rast.ContainsExpression,
    rast.ArrayExpression,
    rast.SymbolExpression,
    rast.FloatExpression,
    rast.StringExpression,
    rast.BooleanExpression,
)

OPERATORS = {
    "eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<=",
    "add": "+", "sub": "-", "mul": "*", "tdiv": "/", "fdiv": "//", "mod": "%",
    "and": "and", "or": "or",
}  # fmt: skip


FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


@dataclass(frozen=True)
class Bound:
    """``name op value``: one numeric bar an expression sets on a name."""

    name: str
    op: str
    value: Decimal


class ExpressionProblem(Exception):
    """An expression does not compile; ``offset`` is the character it points at, if known."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _type_name(data_type: Any) -> SymbolType:
    for name, dtype in _TYPES.items():
        if dtype == data_type:
            return name  # type: ignore[return-value]
    return "unknown"


@dataclass(frozen=True)
class Clause:
    """One evaluated part of an expression, for explanations.

    A comparison keeps its operator and both sides with the values they had; ``and``/``or``
    keep their parts in ``children``.
    """

    text: str
    value: Any
    op: str | None = None
    left: tuple[str, Any] | None = None
    right: tuple[str, Any] | None = None
    children: tuple[Clause, ...] = field(default_factory=tuple)
    reached: bool = True
    """False for a part of ``and``/``or`` after the part that decided it, which evaluation never reaches.

    Such a part is still traced for information (an explanation shows every criterion missed),
    unless it cannot be evaluated (the part before it guarded it: ``calls == 0 or qa / calls > 0.05``
    with no calls); then its ``value`` is None, ``error`` says what evaluating it would meet,
    and it has no sides or children.
    """
    error: str | None = None
    """For an unreached part that cannot be evaluated: why (``division by zero``)."""

    @property
    def held(self) -> bool:
        """Whether the clause was true."""
        return bool(self.value)


@dataclass(frozen=True, eq=False)
class CompiledExpression:
    """An expression compiled once against typed symbols; evaluate it on any number of records."""

    source: str
    where: str
    result_type: SymbolType
    symbols: frozenset[str]
    _rule: Any = field(repr=False)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The expression's value on one record's ``values``."""
        try:
            return _written_out(self._rule.evaluate(values))
        except (rerrors.EngineError, ArithmeticError) as error:
            raise EvaluationError(self.where, self.source, _engine_message(error)) from None

    def evaluate_many(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The expression's value on each of ``rows``, in order (the batch entry point)."""
        return [self.evaluate(row) for row in rows]

    def trace(self, values: Mapping[str, Any]) -> Clause:
        """The expression evaluated clause by clause on ``values``, as ``evaluate`` does.

        ``and`` and ``or`` are decided by the part that decides them in evaluation; the parts
        after it are marked ``reached=False`` and traced only if they can be evaluated, so a
        guard such as ``calls == 0 or qa / calls > 0.05`` never divides by zero here either.
        """
        with localcontext(DECIMALS):
            return _trace(self._rule.statement.expression, values)

    def text(self) -> str:
        """The expression re-rendered from its syntax tree, normalised."""
        return unparse(self._rule.statement.expression)

    def tree(self) -> Node:
        """The syntax tree as plain tuples, for other evaluators (see :mod:`tierpay.engine.kernels`).

        ``("sym", name)``, ``("num", Decimal)``, ``("str", text)``, ``("bool", value)``,
        ``("cmp", op, left, right)``, ``("and" | "or", left, right)``, ``("not", x)``,
        ``("arith", op, left, right)``, ``("neg", x)``, ``("if", cond, then, else)``,
        ``("in", member, (items...))``.
        """
        return _plain(self._rule.statement.expression)

    def bounds(self) -> list[Bound]:
        """The ``name op number`` comparisons that must all hold (the top-level ``and`` chain).

        Comparisons written ``number op name`` are turned round, so the name is on the left.
        """
        out = []
        for node in _flatten_logic(self._rule.statement.expression, "and"):
            if not isinstance(node, rast.ArithmeticComparisonExpression):
                continue
            op = OPERATORS[node.type]
            if isinstance(node.left, rast.SymbolExpression) and isinstance(node.right, rast.FloatExpression):
                out.append(Bound(node.left.name, op, node.right.value))
            elif isinstance(node.right, rast.SymbolExpression) and isinstance(node.left, rast.FloatExpression):
                out.append(Bound(node.right.name, FLIPPED[op], node.left.value))
        return out


def _written_out(value: Any) -> Any:
    """A whole number a division left in exponent form (``260 / 0.5`` is ``5.2E+2``) as its digits (``520``)."""
    if isinstance(value, Decimal) and value.is_finite():
        digits, exponent = value.as_tuple()[1:]
        if isinstance(exponent, int) and exponent > 0 and len(digits) + exponent <= DECIMALS.prec:
            return value.scaleb(0).quantize(Decimal(1), context=DECIMALS)
    return value


def _engine_message(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message)


_LEXER: list[Any] = []


def _lex(source: str) -> list[Any]:
    if not _LEXER:  # building rule-engine's parser costs ~0.3 s: do it once
        _LEXER.append(rparser.Parser()._lexer)
    lexer = _LEXER[0].clone()
    lexer.input(source)
    tokens = []
    try:
        for token in lexer:
            tokens.append(token)
            if len(tokens) > MAX_TOKENS:
                raise ExpressionProblem(f"expression is too long (over {MAX_TOKENS} tokens)")
    except rerrors.RuleSyntaxError as error:
        token = getattr(error, "token", None)
        raise ExpressionProblem(f"syntax error: {_engine_message(error)}", getattr(token, "lexpos", None)) from None
    return tokens


_LOOKALIKES = {
    "≥": ">=", "≧": ">=", "⩾": ">=", "≤": "<=", "≦": "<=", "⩽": "<=", "≠": "!=", "＝": "==",
    "×": "*", "÷": "/", "−": "-", "–": "-", "—": "-", "。": ".", "【": "[", "】": "]",
}  # fmt: skip
_TYPOGRAPHIC_QUOTES = "“”„‟‘’‚‛«»「」『』"
_LOWER_CASE_WORDS = {"and", "or", "not", "in", "true", "false"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def slip(source: str) -> ExpressionProblem | None:
    """The first habit from other languages or from a Chinese keyboard in ``source``, with what to write.

    ``≥``, ``&&``, ``!x``, ``=`` for ``==``, typographic quotes, full-width digits and brackets,
    ``AND`` in capitals...: rule-engine would call each an illegal character or a syntax error.
    Text inside quotes is left alone.
    """
    quote = ""
    i = 0
    while i < len(source):
        c = source[i]
        if quote:
            i += 2 if c == "\\" else 1
            quote = "" if c == quote else quote
            continue
        after, before = source[i + 1 : i + 2], source[i - 1 : i] if i else ""
        if c in "'\"":
            quote = c
        elif source.startswith(("&&", "||"), i):
            return ExpressionProblem(
                f"`{source[i : i + 2]}` is not an operator here: write `{'and' if c == '&' else 'or'}`", i
            )
        elif source.startswith("<>", i):
            return ExpressionProblem("`<>` is not an operator here: write `!=`", i)
        elif c == "!" and after not in ("=", "~"):
            name = _WORD.match(source, i + 1)
            example = f" (`not {name.group()}`)" if name else ""
            return ExpressionProblem(f"`!` is not an operator here: write `not`{example}", i)
        elif c == "=" and before not in ("=", "!", "<", ">") and after not in ("=", "~"):
            return ExpressionProblem("`=` does not compare: write `==`", i)
        elif c in "，、":
            return ExpressionProblem(
                f"`{c}` is a Chinese comma: write `,` between the items of a list, `and` between conditions", i
            )
        elif c in _LOOKALIKES:
            return ExpressionProblem(f"`{c}` is not an operator here: write `{_LOOKALIKES[c]}`", i)
        elif c in _TYPOGRAPHIC_QUOTES:
            return ExpressionProblem(f"`{c}` is a typographic quote: put text between straight quotes ('A')", i)
        elif "\uff01" <= c <= "\uff5e":
            plain = chr(ord(c) - 0xFEE0)
            return ExpressionProblem(f"`{c}` is a full-width character: write `{plain}`", i)
        elif c in "\u3000\u00a0":
            return ExpressionProblem("a full-width or non-breaking space: use an ordinary space", i)
        elif ord(c) > 127:
            return ExpressionProblem(
                f"`{c}` can only be inside quotes: names and operators are written in ASCII ('text' goes in quotes)", i
            )
        elif c.isalpha() or c == "_":
            word = _WORD.match(source, i)
            assert word is not None
            text = word.group()
            if text.lower() in _LOWER_CASE_WORDS and text != text.lower() and not before.isdigit():
                return ExpressionProblem(f"`{text}`: write `{text.lower()}`, in lower case", i)
            i = word.end()
            continue
        i += 1
    return None


def precheck(source: str) -> None:
    """Refuse, before rule-engine sees it, anything outside the allowed language or too large."""
    if len(source) > MAX_LENGTH:
        raise ExpressionProblem(f"expression is longer than {MAX_LENGTH} characters")
    if not source.strip():
        raise ExpressionProblem("expression is empty")
    found = slip(source)
    if found is not None:
        raise found
    depth = 0
    clauses = 0
    for token in _lex(source):
        kind = token.type
        if kind in _REFUSED_TOKENS:
            raise ExpressionProblem(_REFUSED_TOKENS[kind], token.lexpos)
        if kind not in _ALLOWED_TOKENS:
            raise ExpressionProblem(f"`{token.value}` is not allowed here", token.lexpos)
        if kind == "SYMBOL" and str(token.value).startswith("$"):
            raise ExpressionProblem(f"built-in functions such as `{token.value}` are not supported", token.lexpos)
        if kind == "FLOAT" and len(str(token.value)) > MAX_NUMBER_DIGITS:
            raise ExpressionProblem(f"number literal longer than {MAX_NUMBER_DIGITS} characters", token.lexpos)
        if kind in ("LPAREN", "LBRACKET"):
            depth += 1
            if depth > MAX_NESTING:
                raise ExpressionProblem(f"brackets nested deeper than {MAX_NESTING}", token.lexpos)
        elif kind in ("RPAREN", "RBRACKET"):
            depth -= 1
        elif kind in ("AND", "OR"):
            clauses += 1
            if clauses > MAX_CLAUSES:
                raise ExpressionProblem(f"more than {MAX_CLAUSES} `and`/`or` clauses", token.lexpos)


def compile_expression(
    source: str,
    symbols: Mapping[str, SymbolType],
    where: str,
    expect: SymbolType | None = None,
) -> CompiledExpression:
    """Compile ``source`` against ``symbols`` (name to type); raise ``ExpressionProblem`` if bad.

    ``expect`` is the type the result must have (``boolean`` for criteria, ``number`` for
    formulas).
    """
    precheck(source)
    context = rule_engine.Context(
        type_resolver=rule_engine.type_resolver_from_dict({k: _TYPES[v] for k, v in symbols.items()}),
        resolver=rule_engine.resolve_item,
        decimal_context=DECIMALS,
    )
    try:
        with localcontext(DECIMALS):  # constants folded while building, as evaluation would
            rule = rule_engine.Rule(source, context=context)
    except rerrors.SymbolResolutionError as error:
        close = difflib.get_close_matches(error.symbol_name, list(symbols), n=1, cutoff=0.7)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ExpressionProblem(
            f"unknown name '{error.symbol_name}'{hint}", _find_word(source, error.symbol_name)
        ) from None
    except rerrors.RuleSyntaxError as error:
        token = getattr(error, "token", None)
        offset = getattr(token, "lexpos", None)
        what = f"unexpected `{token.value}`" if token is not None else "the expression ends too early"
        raise ExpressionProblem(f"syntax error: {what}", offset if offset is not None else len(source)) from None
    except rerrors.EvaluationError as error:
        raise ExpressionProblem(
            f"type mismatch ({_engine_message(error)}): numbers, text and true/false cannot be mixed"
        ) from None
    except RecursionError:
        raise ExpressionProblem("expression is nested too deeply") from None
    except (rerrors.EngineError, ArithmeticError, ValueError) as error:
        raise ExpressionProblem(_engine_message(error)) from None
    root = rule.statement.expression
    used = _check_tree(root)
    result_type = _type_name(root.result_type)
    if expect is not None and result_type not in (expect, "unknown"):
        raise ExpressionProblem(f"must give {_article(expect)}, but gives {_article(result_type)}")
    return CompiledExpression(source, where, result_type, frozenset(used), rule)


def _article(kind: str) -> str:
    return {"boolean": "true or false", "number": "a number", "string": "text"}.get(kind, kind)


def _find_word(source: str, word: str) -> int | None:
    match = re.search(rf"(?<![A-Za-z0-9_$]){re.escape(word)}(?![A-Za-z0-9_])", source)
    return match.start() if match else None


def _children(node: Any) -> list[Any]:
    if isinstance(node, rast.TernaryExpression):
        return [node.condition, node.case_true, node.case_false]
    if isinstance(node, rast.UnaryExpression):
        return [node.right]
    if isinstance(node, rast.ContainsExpression):
        return [node.member, node.container]
    if isinstance(node, rast.ArrayExpression):
        return list(node.value)
    left = getattr(node, "left", None)
    right = getattr(node, "right", None)
    return [n for n in (left, right) if n is not None]


def _check_tree(root: Any) -> set[str]:
    """Walk the tree: only allowed nodes, bounded size, no always-false cross-type equality."""
    used: set[str] = set()
    stack = [root]
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionProblem("expression is too large")
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionProblem(f"{type(node).__name__} is not allowed")
        if isinstance(node, rast.SymbolExpression):
            used.add(node.name)
        if isinstance(node, rast.ComparisonExpression) and node.type in ("eq", "ne"):
            lt, rt = _type_name(node.left.result_type), _type_name(node.right.result_type)
            if "unknown" not in (lt, rt) and lt != rt:
                raise ExpressionProblem(
                    f"`{unparse(node)}` compares {_article(lt)} with {_article(rt)}: it is always "
                    f"{'false' if node.type == 'eq' else 'true'}"
                )
        stack.extend(_children(node))
    return used


Node = tuple[Any, ...]


def _plain(node: Any) -> Node:
    if isinstance(node, rast.SymbolExpression):
        return ("sym", node.name)
    if isinstance(node, rast.FloatExpression):
        return ("num", node.value)
    if isinstance(node, rast.StringExpression):
        return ("str", node.value)
    if isinstance(node, rast.BooleanExpression):
        return ("bool", node.value)
    if isinstance(node, rast.ArrayExpression):
        return ("array", tuple(_plain(v) for v in node.value))
    if isinstance(node, rast.UnaryExpression):
        return ("not" if node.type == "not" else "neg", _plain(node.right))
    if isinstance(node, rast.TernaryExpression):
        return ("if", _plain(node.condition), _plain(node.case_true), _plain(node.case_false))
    if isinstance(node, rast.ContainsExpression):
        return ("in", _plain(node.member), _plain(node.container))
    if isinstance(node, rast.LogicExpression):
        return (node.type, _plain(node.left), _plain(node.right))
    if isinstance(node, rast.ComparisonExpression | rast.ArithmeticComparisonExpression):
        return ("cmp", OPERATORS[node.type], _plain(node.left), _plain(node.right))
    return ("arith", OPERATORS[node.type], _plain(node.left), _plain(node.right))


def format_value(value: Any) -> str:
    """A value as an expression literal would show it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text or "0"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def unparse(node: Any) -> str:
    """Render a syntax tree back to expression text."""
    if isinstance(node, rast.SymbolExpression):
        return str(node.name)
    if isinstance(node, rast.FloatExpression | rast.StringExpression | rast.BooleanExpression):
        return format_value(node.value)
    if isinstance(node, rast.ArrayExpression):
        return "[" + ", ".join(unparse(v) for v in node.value) + "]"
    if isinstance(node, rast.UnaryExpression):
        inner = _wrapped(node.right)
        return f"not {inner}" if node.type == "not" else f"-{inner}"
    if isinstance(node, rast.TernaryExpression):
        return f"{_wrapped(node.condition)} ? {_wrapped(node.case_true)} : {_wrapped(node.case_false)}"
    if isinstance(node, rast.ContainsExpression):
        return f"{_wrapped(node.member)} in {_wrapped(node.container)}"
    op = OPERATORS.get(getattr(node, "type", ""), getattr(node, "type", "?"))
    return f"{_wrapped(node.left)} {op} {_wrapped(node.right)}"


def _wrapped(node: Any) -> str:
    text = unparse(node)
    atomic = (
        rast.SymbolExpression,
        rast.FloatExpression,
        rast.StringExpression,
        rast.BooleanExpression,
        rast.ArrayExpression,
    )
    return text if isinstance(node, atomic) else f"({text})"


def _flatten_logic(node: Any, kind: str) -> Iterable[Any]:
    if isinstance(node, rast.LogicExpression) and node.type == kind:
        yield from _flatten_logic(node.left, kind)
        yield from _flatten_logic(node.right, kind)
    else:
        yield node


def _value(node: Any, values: Mapping[str, Any]) -> Any:
    """``node`` evaluated on ``values``, or the error it meets as text (``error: division by zero``)."""
    try:
        return node.evaluate(values)
    except (rerrors.EngineError, ArithmeticError) as error:
        return f"error: {_engine_message(error)}"


def _trace(node: Any, values: Mapping[str, Any]) -> Clause:
    value = _value(node, values)
    if isinstance(node, rast.LogicExpression):
        parts: list[Clause] = []
        decided = False
        for part in _flatten_logic(node, node.type):
            if decided:  # evaluation stops before this part: trace it only if it can be evaluated at all
                try:
                    part.evaluate(values)
                except (rerrors.EngineError, ArithmeticError) as error:
                    parts.append(Clause(unparse(part), None, reached=False, error=_engine_message(error)))
                    continue
                parts.append(replace(_trace(part, values), reached=False))
                continue
            clause = _trace(part, values)
            parts.append(clause)
            decided = clause.held if node.type == "or" else not clause.held
        return Clause(unparse(node), value, op=node.type, children=tuple(parts))
    if isinstance(node, rast.UnaryExpression) and node.type == "not":
        return Clause(unparse(node), value, op="not", children=(_trace(node.right, values),))
    if isinstance(node, rast.ComparisonExpression | rast.ArithmeticComparisonExpression):
        return Clause(
            unparse(node),
            value,
            op=OPERATORS[node.type],
            left=(unparse(node.left), _value(node.left, values)),
            right=(unparse(node.right), _value(node.right, values)),
        )
    if isinstance(node, rast.ContainsExpression):
        return Clause(
            unparse(node),
            value,
            op="in",
            left=(unparse(node.member), _value(node.member, values)),
            right=(unparse(node.container), _value(node.container, values)),
        )
    return Clause(unparse(node), value)
