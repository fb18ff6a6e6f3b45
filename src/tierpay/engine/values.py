"""One value of a record: read as text or as an exact number, within limits, and shown in messages.

Every reader (CSV, JSON, a data frame, plain dicts) hands the checker values of whatever type
its format has; this module is where each is read the same way. Text fields take text (and
whole numbers, as their digits); numbers are exact ``Decimal`` values inside bounds that
keep the arithmetic after them exact and safe; characters that cannot be seen (control and
formatting characters) are refused wherever a value is read, since an id with one in it is
another id that looks the same. Messages show a value clipped to a few dozen characters,
however long it is.
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
import re
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_CELL = 131_072
"""The most characters one value may hold (the csv module's own field limit)."""

MAX_COLUMNS = 1_000
"""The most columns a header (or fields a JSON record) may have."""

MAX_MAGNITUDE = Decimal(10) ** 12
"""The largest number a record may hold, either side of zero: a trillion (yuan, calls, seconds)."""

MAX_DIGITS = 20
"""The most significant digits, and the most decimal places, a number in a record may have."""

RANGE = "a number in a record is at most 10^12 (a trillion) either side of zero"

SHOWN = 40
"""The most characters of a value a message echoes."""

_PLAIN = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,8})?\Z")  # under 10^12, at most 20 digits: no check left to make
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
_FULLWIDTH = re.compile(r"[\uff10-\uff19\uff0e\uff0c\uff05\uff0d]")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$", re.ASCII)  # 1,234 or 1,234,567.5
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$", re.ASCII)  # 85,5 (one comma, no point, not a grouping)
_DOTTED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$", re.ASCII)  # 1.234,5

_HIDDEN_RANGES = [
    (0x00, 0x1F),  # C0 controls: NUL, tab, line feed, carriage return...
    (0x7F, 0x9F),  # DEL and the C1 controls
    (0xAD, 0xAD),  # soft hyphen
    (0x200B, 0x200F),  # zero-width space, joiners, left-to-right and right-to-left marks
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x2064),  # word joiner and invisible operators
    (0x2066, 0x2069),  # bidirectional isolates
    (0xFEFF, 0xFEFF),  # a byte-order mark inside a value
]
"""Characters a value may not hold: controls, and formatting characters that print as nothing."""

_SURROGATES = [(0xD800, 0xDFFF)]  # only JSON's \ud800 escapes make them; polars text never holds one


def _class(escape: str, ranges: list[tuple[int, int]]) -> str:
    return "[" + "".join(escape.format(a) + ("-" + escape.format(b) if b > a else "") for a, b in ranges) + "]"


HIDDEN_PATTERN = _class("\\x{{{:04X}}}", _HIDDEN_RANGES)
"""The hidden characters as a regular-expression class for polars (Rust syntax)."""

_HIDDEN = re.compile(_class("\\U{:08X}", _HIDDEN_RANGES + _SURROGATES))
_CHARACTER_NAMES = {0x00: "NUL", 0x09: "tab", 0x0A: "line feed", 0x0D: "carriage return", 0xFEFF: "byte-order mark"}
_EDGE_SPACE = " \t\r\n"  # stripped from either end before the check, as a cell's padding


class JsonNumber(str):
    """A number as a JSON file writes it: its text, read exactly as a CSV cell would be.

    Keeping the text (``1e400``, a 5,000-digit integer, ``NaN``) lets every number of a JSON
    file meet the same checks and messages as a CSV cell, and lets a message show it as the
    file does, without quotes.
    """

    __slots__ = ()


def shown(value: Any) -> str:
    """``value`` as a message echoes it: text quoted, numbers and JSON values as written, clipped.

    Anything longer than ``SHOWN`` characters is cut there and its length given, so a
    100,000-digit value costs a message one line.
    """
    if isinstance(value, JsonNumber):
        return _clip(str(value), quote=False)
    if isinstance(value, str):
        return _clip(value, quote=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return _clip(str(value), quote=False)
    if isinstance(value, (list, tuple, dict)):
        return _preview(value)
    return _clip(repr(value) if isinstance(value, float) else str(value), quote=False)


def _clip(text: str, quote: bool) -> str:
    if len(text) <= SHOWN:
        return repr(text) if quote else text
    head = repr(text[:SHOWN]) if quote else text[:SHOWN]
    return f"{head}… ({len(text):,} characters)"


def _preview(value: Any) -> str:
    """A list or object as JSON-like text, built only as far as the message shows it."""
    parts: list[str] = []
    size = 0

    def put(text: str) -> bool:
        nonlocal size
        parts.append(text)
        size += len(text)
        return size <= SHOWN

    def walk(item: Any, depth: int) -> bool:
        if isinstance(item, dict):
            if depth > 3:
                return put("{…}")
            if not put("{"):
                return False
            for k, (key, inner) in enumerate(item.items()):
                if not put((", " if k else "") + _quoted(str(key)) + ": ") or not walk(inner, depth + 1):
                    return False
            return put("}")
        if isinstance(item, (list, tuple)):
            if depth > 3:
                return put("[…]")
            if not put("["):
                return False
            for k, inner in enumerate(item):
                if (k and not put(", ")) or not walk(inner, depth + 1):
                    return False
            return put("]")
        return put(_quoted(item) if isinstance(item, str) and not isinstance(item, JsonNumber) else shown(item))

    complete = walk(value, 0)
    text = "".join(parts)
    return text if complete and len(text) <= SHOWN else text[:SHOWN] + "…"


def _quoted(text: str) -> str:
    """Text inside a list or object, as JSON writes it (the message clips it anyway)."""
    return json.dumps(text[: SHOWN + 1], ensure_ascii=False)


def name_shown(name: str) -> str:
    """A column name in a message: as it is when short and visible, else quoted and clipped."""
    if len(name) <= SHOWN and name.isprintable() and name.strip() == name and name:
        return name
    return shown(name)


def hidden_character(text: str) -> str | None:
    """Why ``text`` cannot be read, if it holds a control or invisible character; else None.

    Spaces, tabs and line ends around the value are its padding and are allowed.
    """
    if _HIDDEN.search(text) is None:  # nearly every value: one search
        return None
    core = text.strip(_EDGE_SPACE)
    found = _HIDDEN.search(core)
    if found is None:
        return None
    code = ord(found.group())
    name = _CHARACTER_NAMES.get(code)
    what = f"U+{code:04X}, {name}" if name else f"U+{code:04X}"
    position = len(text) - len(text.lstrip(_EDGE_SPACE)) + found.start() + 1
    return f"has a control or invisible character ({what}) at character {position}: remove it"


def too_long(value: Any) -> str | None:
    """Why ``value`` is too long to read, if it is text over ``MAX_CELL`` characters; else None.

    The reason follows the value in a message, as ``hidden_character``'s does.
    """
    if isinstance(value, str) and len(value) > MAX_CELL:
        return f"is too long: a value holds at most {MAX_CELL:,} characters"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (JsonNumber, numbers.Number)):
        return "a number"
    return f"a {type(value).__name__}"


def as_text(value: Any, wanted: str = "text") -> str | None:
    """A text field's value, stripped: None when blank; ``ValueError`` saying why when not text.

    Text is taken as it is and a whole number (a JSON ``17``, a Python ``int``) as its
    digits; a date as ISO text. True/false, lists, objects and numbers with a fraction or
    exponent are refused rather than turned into their Python spelling.
    """
    if value is None:
        return None
    if type(value) is str and len(value) <= MAX_CELL and _HIDDEN.search(value) is None:  # the common case
        return value.strip() or None
    if isinstance(value, JsonNumber):
        if not re.fullmatch(r"-?\d+", value):
            raise ValueError(f"{shown(value)} is {_kind(value)}, not {wanted}: write it in quotes")
        text = str(value)
    elif isinstance(value, str):
        text = value
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        text = str(int(value))
    elif isinstance(value, (dt.date, dt.time)):
        text = str(value)
    else:
        raise ValueError(f"{shown(value)} is {_kind(value)}, not {wanted}")
    why = too_long(text) or hidden_character(text)
    if why is not None:
        raise ValueError(f"{shown(text)} {why}")
    text = text.strip()
    return text or None


def parse_number(value: Any) -> Decimal:
    """Read a number exactly from text, int, float or Decimal; raise ``ValueError`` saying why not.

    The number must be finite, at most ``MAX_MAGNITUDE`` either side of zero, and have at
    most ``MAX_DIGITS`` significant digits and decimal places: then money stays far inside
    what ``Decimal`` rounds exactly. ``-0`` is 0, and ``8.5e2`` is 850.
    """
    if isinstance(value, str) and _PLAIN.match(value):  # the common case: within every limit as written
        number = Decimal(value)
        return number.copy_abs() if number.is_zero() else number
    if isinstance(value, bool):
        raise ValueError("true/false is not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, numbers.Integral):
        number = Decimal(int(value))
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        number = _number_text(value)
    else:
        kind = f" {_kind(value)}," if isinstance(value, (dict, list, tuple)) else ""
        raise ValueError(f"{shown(value)} is{kind} not a number")
    if not number.is_finite():
        raise ValueError(f"{shown(value)} is not a finite number")
    return _within_limits(number, value)


def _within_limits(number: Decimal, value: Any) -> Decimal:
    """``number`` if a record may hold it (written plainly), else ``ValueError`` naming the limit."""
    if number.copy_abs() > MAX_MAGNITUDE:  # copy_abs: no context, so no rounding and no overflow
        raise ValueError(f"{shown(value)} is out of range: {RANGE}")
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    if number.is_zero():
        return Decimal(0) if not -MAX_DIGITS <= exponent <= 0 else number.copy_abs()  # -0 and 0e9 are 0
    kept, places = len(digits), -exponent
    while digits[kept - 1] == 0:  # trailing zeros say nothing about the value
        kept -= 1
        places -= 1
    if kept > MAX_DIGITS or places > MAX_DIGITS:
        raise ValueError(
            f"{shown(value)} has more digits than a record holds: "
            f"at most {MAX_DIGITS} significant digits and {MAX_DIGITS} decimal places"
        )
    return number.quantize(Decimal(1)) if exponent > 0 else number  # 8.5E+2 as 850


def _number_text(value: str) -> Decimal:
    """A number written as text (a CSV cell, a JSON number's text), exactly, or ``ValueError`` saying why."""
    why = too_long(value) or hidden_character(value)
    if why is not None:
        raise ValueError(f"{shown(value)} {why}")
    text = value.strip()
    if _FULLWIDTH.search(text):
        raise ValueError(f"{shown(value)} has full-width characters: use ASCII digits")
    if text.endswith("%"):
        raise ValueError(f"{shown(value)} has a percent sign: write the number alone")
    if "," in text:
        raise ValueError(f"{shown(value)} {_comma_advice(text)}")
    if not _NUMBER.match(text):
        raise ValueError(f"{shown(value)} is not a number")
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent beyond what Decimal holds at all
        raise ValueError(f"{shown(value)} is out of range: {RANGE}") from None


def _comma_advice(text: str) -> str:
    """What a comma in a number most likely is, and how to write the number instead."""
    if _THOUSANDS.match(text):
        return f"has a thousands separator: write the digits alone ({text.replace(',', '')})"
    if _DECIMAL_COMMA.match(text):
        return f"has a decimal comma: write it with a decimal point ({text.replace(',', '.')})"
    if _DOTTED_THOUSANDS.match(text):
        plain = text.replace(".", "").replace(",", ".")
        return f"has a decimal comma and dots between thousands: write {plain}"
    return "is not a number: write it without commas, with a decimal point for a fraction"


def plain_number(number: Decimal) -> str:
    """A number as a message shows it: no exponent, no trailing zeros, clipped."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _clip(text, quote=False)
