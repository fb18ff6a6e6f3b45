"""One value of a record: text or an exact number within limits, and how messages show it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from tierpay.engine.values import (
    MAX_CELL,
    JsonNumber,
    as_text,
    hidden_character,
    name_shown,
    parse_number,
    plain_number,
    shown,
)

RANGE = "is out of range: a number in a record is at most 10^12 (a trillion) either side of zero"
DIGITS = "has more digits than a record holds: at most 20 significant digits and 20 decimal places"


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("85", "85"),
        ("+85", "85"),
        (" 87 ", "87"),
        ("85.", "85"),
        (".5", "0.5"),
        ("8.5e1", "85"),
        ("8.5E2", "850"),
        ("1e3", "1000"),
        ("85.0", "85.0"),
        ("-0", "0"),
        ("-0.00", "0.00"),
        ("0e9", "0"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("1000000000000", "1000000000000"),
        ("-1000000000000", "-1000000000000"),
        (JsonNumber("1e2"), "100"),
        (JsonNumber("-0.0"), "0.0"),
        (85, "85"),
        (0.1, "0.1"),
        (Decimal("12.50"), "12.50"),
    ],
)
def test_numbers_are_read_exactly_and_written_plainly(value: Any, number: str) -> None:
    """Every way of writing a number gives its exact value, with no exponent and no negative zero."""
    assert str(parse_number(value)) == number


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("85,5", "'85,5' has a decimal comma: write it with a decimal point (85.5)"),
        ("0,25", "'0,25' has a decimal comma: write it with a decimal point (0.25)"),
        ("1234,5", "'1234,5' has a decimal comma: write it with a decimal point (1234.5)"),
        ("1,234", "'1,234' has a thousands separator: write the digits alone (1234)"),
        ("-1,234,567.5", "'-1,234,567.5' has a thousands separator: write the digits alone (-1234567.5)"),
        ("1.234,5", "'1.234,5' has a decimal comma and dots between thousands: write 1234.5"),
        ("1,2,3", "'1,2,3' is not a number: write it without commas, with a decimal point for a fraction"),
        ("1e309", f"'1e309' {RANGE}"),
        ("1000000000000.5", f"'1000000000000.5' {RANGE}"),
        ("-1e13", f"'-1e13' {RANGE}"),
        ("1e99999999999999999999", f"'1e99999999999999999999' {RANGE}"),
        ("1e-99999999999999999999", f"'1e-99999999999999999999' {RANGE}"),
        (JsonNumber("1e400"), f"1e400 {RANGE}"),
        (10**13, f"10000000000000 {RANGE}"),
        ("85.123456789012345678901", f"'85.123456789012345678901' {DIGITS}"),
        ("0.000000000000000000001", f"'0.000000000000000000001' {DIGITS}"),
        ("NaN", "'NaN' is not a number"),
        (JsonNumber("NaN"), "NaN is not a number"),
        (JsonNumber("-Infinity"), "-Infinity is not a number"),
        (float("nan"), "nan is not a finite number"),
        (Decimal("Infinity"), "Infinity is not a finite number"),
        (True, "true/false is not a number"),
        ([85], "[85] is a list, not a number"),
        ({"n": 1}, '{"n": 1} is an object, not a number'),
        (dt.date(2026, 1, 5), "2026-01-05 is not a number"),
        ("8\x005", "'8\\x005' has a control or invisible character (U+0000, NUL) at character 2: remove it"),
        ("9" * (MAX_CELL + 1), f"{shown('9' * (MAX_CELL + 1))} is too long: a value holds at most 131,072 characters"),
    ],
)
def test_numbers_that_cannot_be_read_say_why(value: Any, reason: str) -> None:
    """A number out of range, too precise, or written wrongly is refused with the fix where there is one."""
    with pytest.raises(ValueError, match=re.escape(reason)) as raised:
        parse_number(value)
    assert str(raised.value) == reason


def test_a_number_out_of_range_is_compared_without_rounding() -> None:
    """A number one unit in the 28th digit above the bound is still out of range (no context rounding)."""
    with pytest.raises(ValueError, match="out of range"):
        parse_number("1000000000000.000000000000001")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("A1", "A1"),
        ("  A1\t", "A1"),
        ("A1\r\n", "A1"),
        ("", None),
        ("  ", None),
        (None, None),
        (JsonNumber("1004"), "1004"),
        (JsonNumber("-7"), "-7"),
        (1004, "1004"),
        (dt.date(2026, 1, 5), "2026-01-05"),
        ("一星", "一星"),
    ],
)
def test_text_fields_take_text_and_whole_numbers(value: Any, text: str | None) -> None:
    """Text is stripped, a whole number is its digits, a blank is None."""
    assert as_text(value) == text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"id": "A1"}, '{"id": "A1"} is an object, not text'),
        (["A2"], '["A2"] is a list, not text'),
        (True, "true is true/false, not text"),
        (JsonNumber("17.5"), "17.5 is a number, not text: write it in quotes"),
        (JsonNumber("1e3"), "1e3 is a number, not text: write it in quotes"),
        (17.0, "17.0 is a number, not text"),
        (Decimal("17"), "17 is a number, not text"),
        ("A\x001", "'A\\x001' has a control or invisible character (U+0000, NUL) at character 2: remove it"),
        ("T\n1", "'T\\n1' has a control or invisible character (U+000A, line feed) at character 2: remove it"),
        ("A1\x1f", "'A1\\x1f' has a control or invisible character (U+001F) at character 3: remove it"),
        ("\u200bA1", "'\\u200bA1' has a control or invisible character (U+200B) at character 1: remove it"),
        ("A\u202e1", "'A\\u202e1' has a control or invisible character (U+202E) at character 2: remove it"),
        ("A\ud8001", "'A\\ud8001' has a control or invisible character (U+D800) at character 2: remove it"),
    ],
)
def test_text_fields_refuse_what_is_not_text(value: Any, reason: str) -> None:
    """Objects, lists, true/false and fractions are refused, never turned into their Python spelling."""
    with pytest.raises(ValueError, match=re.escape(reason)) as raised:
        as_text(value)
    assert str(raised.value) == reason


def test_a_hidden_character_is_found_after_the_padding() -> None:
    """The position counts from the start of the value as written, padding included."""
    assert hidden_character("  A\x00") == "has a control or invisible character (U+0000, NUL) at character 4: remove it"
    assert hidden_character(" \tA1 \r\n") is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("85,5", "'85,5'"),
        ("x" * 100_000, "'" + "x" * 40 + "'… (100,000 characters)"),
        (JsonNumber("9" * 5000), "9" * 40 + "… (5,000 characters)"),
        (Decimal("1E+400"), "1E+400"),
        (None, "null"),
        (False, "false"),
        ([1, [2, [3, [4, [5, [6]]]]]], "[1, [2, [3, [4, […]]]]]"),
        (list(range(100_000)), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1…"),
        ({"a": "b"}, '{"a": "b"}'),
    ],
)
def test_values_in_messages_are_clipped(value: Any, text: str) -> None:
    """A message echoes at most 40 characters of a value and says how long it was."""
    assert shown(value) == text


def test_column_names_are_shown_plainly_unless_they_hide_something() -> None:
    """A plain name is shown as it is; a long or invisible one is quoted and clipped."""
    assert name_shown("qa_score") == "qa_score"
    assert name_shown("qa\x00") == "'qa\\x00'"
    assert name_shown("") == "''"
    assert name_shown("n" * 50) == "'" + "n" * 40 + "'… (50 characters)"


def test_plain_numbers_have_no_exponent() -> None:
    """Bounds and values in messages are written out, without trailing zeros."""
    assert plain_number(Decimal("1E+3")) == "1000"
    assert plain_number(Decimal("85.500")) == "85.5"
    assert plain_number(Decimal("1E-50")) == "0." + "0" * 38 + "… (52 characters)"


def test_text_over_the_cell_limit_is_refused() -> None:
    """A text field over 131,072 characters is refused whatever the column, as the csv module refuses it."""
    with pytest.raises(ValueError, match=r"is too long: a value holds at most 131,072 characters$"):
        as_text("T" * (MAX_CELL + 1))
    assert as_text("T" * MAX_CELL) == "T" * MAX_CELL


def test_digits_of_other_scripts_are_not_numbers() -> None:
    """Only ASCII digits make a number: Arabic-Indic digits are refused, full-width ones with advice."""
    with pytest.raises(ValueError, match=r"^'٨٥' is not a number$"):
        parse_number("٨٥")
    with pytest.raises(ValueError, match="full-width"):
        parse_number("８５")
