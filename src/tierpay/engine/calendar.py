"""Periods as months: ``YYYY-MM`` to a count of months and back, so that consecutive periods differ by one."""

from __future__ import annotations


def month_index(period: str) -> int:
    """``YYYY-MM`` as a count of months, so that consecutive periods differ by one."""
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def period_name(index: int) -> str:
    """The inverse of ``month_index``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(last: str, period: str) -> list[str]:
    """The months strictly between ``last`` and ``period`` (the ones with no record)."""
    return [period_name(k) for k in range(month_index(last) + 1, month_index(period))]
