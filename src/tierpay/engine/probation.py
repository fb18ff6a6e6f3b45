"""Probation by the contract: the start date and term a record gives, the cap they allow, the calendar.

Probation is calendar time (PRC Labor Contract Law art. 19; Implementing Regulations art. 15).
It runs from the start date for the cap the contract term allows, shortened (never
lengthened) by the ruleset's ``max_periods``:

=====================================  ========
contract term                          cap
=====================================  ========
under 3 months, or tied to a task      none
3 months to under 1 year               1 month
1 year to under 3 years                2 months
3 years or more, or open-ended         6 months
=====================================  ========

Probation ends the day before the same date ``cap`` months after the start (or before the
last day of that month, when it has no such date). A month is a probation month when
probation covers its last day, so the start month is month 1, whatever its day, and the
last probation month is the start month + cap - 1. The month in which a probation that began
after the 1st ends is a regular month.

Everything here is pure: no clock, no I/O; the period run applies the failures it reports.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tierpay.engine.calendar import month_index, period_name
from tierpay.engine.values import shown
from tierpay.ruleset.model import Probation

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

OPEN, TASK = "open", "task"
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})([T ]00:00(:00(\.0+)?)?)?$")  # midnight: Excel dates
_TERM = re.compile(r"^([1-9]\d{0,2})\s*(m|y|个月|月|年)$")
_TERM_WORDS = {"open": OPEN, "open-ended": OPEN, "无固定期限": OPEN, "task": TASK, "以完成一定工作任务为期限": TASK}
TERM_HELP = "write a number of months or years (36m, 3y), open (无固定期限) or task"


def parse_date(value: object) -> str:
    """A record's date as ISO text (``2026-01-05``).

    ``2026/1/5`` and ``2026.1.5`` are read too, and so is a date-time at midnight
    (``2026-01-05 00:00:00``), which is how a spreadsheet's date column reaches a data frame.
    """
    text = str(value).strip()
    found = _DATE.match(text)
    if found is None:
        raise ValueError(f"{shown(text)} is not a date (write 2026-01-05)")
    try:
        day = dt.date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise ValueError(f"{shown(text)} is not a date (no such day)") from None
    return day.isoformat()


def parse_term(value: object) -> str:
    """A record's contract term as canonical text: ``36m``, ``3y``, ``open`` or ``task``."""
    text = str(value).strip().lower()
    if text in _TERM_WORDS:
        return _TERM_WORDS[text]
    found = _TERM.match(text)
    if found is None:
        raise ValueError(f"{shown(str(value).strip())} is not a contract term ({TERM_HELP})")
    return f"{found[1]}{'y' if found[2] in ('y', '年') else 'm'}"


def legal_cap(term: str) -> int:
    """The longest probation, in months, a contract of ``term`` allows (art. 19)."""
    if term == OPEN:
        return 6
    if term == TASK:
        return 0
    months = int(term[:-1]) * (12 if term.endswith("y") else 1)
    if months < 3:
        return 0
    if months < 12:
        return 1
    if months < 36:
        return 2
    return 6


def term_words(term: str) -> str:
    """The contract term in words: ``an open-ended contract``, ``a 3-year contract``."""
    if term == OPEN:
        return "an open-ended contract"
    if term == TASK:
        return "a contract tied to a task"
    unit = "year" if term.endswith("y") else "month"
    return f"a {term[:-1]}-{unit} contract"


def probation_end(start: dt.date, months: int) -> dt.date:
    """The last day of a probation of ``months`` calendar months from ``start`` (months >= 1).

    A probation that would end after the calendar's last day (a start in 9999) ends on it.
    """
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    if year > dt.MAXYEAR:
        return dt.date.max
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day) - dt.timedelta(days=1)


@dataclass
class Calendar:
    """Where each row of a period stands in its probation (arrays, one entry per row).

    ``carried`` rows entered the month on probation (carried state, or a new agent whose
    record says so); the rest of the arrays mean something only for them.
    """

    carried: Bools
    month: Bools  # on probation during the month: probation covers its last day
    served: Ints  # probation months from the start month to this one, capped at the cap
    left: Ints  # probation months after this one (0 in the last)
    cap: Ints  # the cap in months (0: the contract allows none)
    stated_regular: Bools  # the record says regular: the employer converted the agent
    start: Ints  # the start date as a proleptic ordinal (0 for none)
    end: Ints  # the last day of probation as an ordinal (0 for none)
    term: Ints  # the term in months; -1 open-ended, -2 a task, 0 none


def probation_calendar(
    rule: Probation | None,
    carried: Bools,
    stated_regular: Bools,
    starts: Sequence[str | None],
    terms: Sequence[str | None],
    month: int,
    extension: Ints | None = None,
) -> tuple[Calendar, dict[int, str]]:
    """Each row's place in its probation in ``month`` (a month index), and the rows that cannot have one.

    ``carried`` marks the rows entering the month on probation; ``starts`` and ``terms`` are the
    records' start dates and contract terms (``parse_date``/``parse_term`` forms); ``extension``
    the months people's decisions added to each row's probation (never past the legal cap). A
    row without a start or term, or starting after the month, is returned as a failure with its
    reason, by row.
    """
    size = len(carried)
    zeros = np.zeros(size, dtype=np.int64)
    cal = Calendar(
        carried=carried.copy(),
        month=np.zeros(size, dtype=bool),
        served=zeros.copy(),
        left=zeros.copy(),
        cap=zeros.copy(),
        stated_regular=stated_regular,
        start=zeros.copy(),
        end=zeros.copy(),
        term=zeros.copy(),
    )
    failures: dict[int, str] = {}
    if rule is None:
        return cal, failures
    for i in np.flatnonzero(carried).tolist():
        start, term = starts[i], terms[i]
        if start is None or term is None:
            name, why = (
                (rule.start_date, "probation runs from the start date")
                if start is None
                else (rule.contract_term, "the contract term sets the cap")
            )
            failures[i] = f"{name}: missing: a probationer's record needs it ({why}, Labor Contract Law art. 19)"
            continue
        first = month_index(start[:7])
        if first > month:
            failures[i] = (
                f"{rule.start_date}: {start} is after the period {period_name(month)}: no record before the start"
            )
            continue
        added = int(extension[i]) if extension is not None else 0
        cap = min(legal_cap(term), rule.max_periods + added)
        begun = dt.date.fromisoformat(start)
        cal.cap[i], cal.term[i], cal.start[i] = cap, term_code(term), begun.toordinal()
        cal.end[i] = probation_end(begun, cap).toordinal() if cap else 0
        cal.served[i] = min(month - first + 1, cap)
        cal.left[i] = first + cap - 1 - month
        cal.month[i] = cap > 0 and month <= first + cap - 1
    return cal, failures


def term_code(term: str) -> int:
    """A contract term as a number, for arrays: months, -1 open-ended, -2 a task."""
    if term == OPEN:
        return -1
    if term == TASK:
        return -2
    return int(term[:-1]) * (12 if term.endswith("y") else 1)


def term_text(code: int) -> str:
    """The canonical term of ``term_code`` (months as ``36m``; a whole number of years as ``3y``)."""
    if code == -1:
        return OPEN
    if code == -2:
        return TASK
    return f"{code // 12}y" if code % 12 == 0 else f"{code}m"


def cap_of(start: str | None, term: str | None, max_periods: int) -> tuple[int, int, str | None]:
    """A record's cap in months, its last probation month as a month index, and its last day (ISO).

    For the explanation of one decision, from the start date and term it was decided on.
    """
    if start is None or term is None:
        return 0, -1, None
    cap = min(legal_cap(term), max_periods)
    begun = dt.date.fromisoformat(start)
    last_month = begun.year * 12 + begun.month - 1 + cap - 1
    return cap, last_month, probation_end(begun, cap).isoformat() if cap else None
