"""Months as people write them: the forms HR exports use, read to one ``YYYY-MM``.

A records file's ``period`` may say ``2026-01``, ``2026/1``, ``2026/01``, ``2026年1月``,
``202601``, ``Jan-26``, a first-of-month date (``2026/1/1``, ``2026-01-01``, ``2026年1月1日``, also
at midnight as a data frame's date-time writes it: ``2026-01-01T00:00:00``) or, from a
spreadsheet, a date cell. All are the month ``2026-01``; a date on another day is
refused (a month's record dated the 15th is more likely a mistake than a month), and so is
anything else, with the forms accepted. ``Jan-26`` is Excel's ``mmm-yy`` month format: an
English month abbreviation and a two-digit year (20xx) or a four-digit one; the day-first
``26-Jan`` is refused, as it reads as a day.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

FORMS = "2026-01, 2026/1, 2026年1月, 202601, Jan-26 or 2026-01-01"
"""The forms accepted, as a rejection lists them."""

CANONICAL = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$", re.ASCII)
"""A month as tierpay writes it: ``YYYY-MM``."""

_NUMERIC = re.compile(
    r"^(?P<y>[0-9]{4})(?:(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?:(?P=sep)(?P<d>[0-9]{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?)?"
    r"|年(?P<cm>[0-9]{1,2})月(?:(?P<cd>[0-9]{1,2})日)?"
    r"|(?P<cm6>[0-9]{2}))$",
    re.ASCII,
)
_NAMED = re.compile(r"^(?P<name>[A-Za-z]{3})[-\s]?(?P<y>[0-9]{2}|[0-9]{4})$", re.ASCII)
_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def read_month(value: Any) -> str:
    """``value`` as ``YYYY-MM``, or ``ValueError`` saying why (the value itself is named by the caller)."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time():
            raise ValueError("is a date and time, not a month")
        value = value.date()
    if isinstance(value, dt.date):
        if value.day != 1:
            raise ValueError("is a date that is not the first of a month: write the month (2026-01)")
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value).strip()
    if CANONICAL.match(text):
        return text
    found = _NUMERIC.match(text)
    if found is not None:
        year = int(found["y"])
        month = int(found["m"] or found["cm"] or found["cm6"] or 0)
        day = found["d"] or found["cd"]
        return _month(year, month, int(day) if day is not None else None)
    named = _NAMED.match(text)
    if named is not None and named["name"].lower() in _ABBREVIATIONS:
        year = int(named["y"])
        return _month(year + 2000 if year < 100 else year, _ABBREVIATIONS.index(named["name"].lower()) + 1, None)
    raise ValueError(f"is not a month: write it {FORMS}")


def _month(year: int, month: int, day: int | None) -> str:
    if not 1 <= month <= 12:
        raise ValueError("is not a month: months are 1 to 12")
    if day is not None and day != 1:
        raise ValueError("is a date that is not the first of a month: write the month (2026-01)")
    return f"{year:04d}-{month:02d}"


def month_or_none(value: Any) -> str | None:
    """``read_month``, or None for a value that is no month (for grouping rows before they are checked)."""
    try:
        return read_month(value)
    except ValueError:
        return None
