"""Months as people write them: every accepted form is one ``YYYY-MM``; anything else says the forms."""

from __future__ import annotations

import datetime as dt

import pytest

from tierpay.engine.months import FORMS, read_month


@pytest.mark.parametrize(
    "written",
    [
        "2026-01",
        "2026/1",
        "2026/01",
        "2026-1",
        "2026年1月",
        "2026年01月",
        "202601",
        "2026/1/1",
        "2026-01-01",
        "2026年1月1日",
        "2026-01-01T00:00:00",
        "2026-01-01 00:00:00",
        "Jan-26",
        "jan-2026",
        "Jan 2026",
        " 2026/1 ",
        202601,
        dt.date(2026, 1, 1),
        dt.datetime(2026, 1, 1),
    ],
)
def test_each_form_people_write_is_the_month(written: object) -> None:
    """Every form an HR export uses for January 2026 reads as 2026-01."""
    assert read_month(written) == "2026-01"


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("2026-13", "is not a month: months are 1 to 12"),
        ("202600", "is not a month: months are 1 to 12"),
        ("2026年13月", "is not a month: months are 1 to 12"),
        ("2026/1/15", "is a date that is not the first of a month: write the month (2026-01)"),
        ("2026-01-01T08:00:00", f"is not a month: write it {FORMS}"),
        (dt.date(2026, 1, 2), "is a date that is not the first of a month: write the month (2026-01)"),
        (dt.datetime(2026, 1, 1, 8), "is a date and time, not a month"),
        ("26-Jan", f"is not a month: write it {FORMS}"),
        ("Jnu-26", f"is not a month: write it {FORMS}"),
        ("26-1", f"is not a month: write it {FORMS}"),
        ("2026/1/1/1", f"is not a month: write it {FORMS}"),
        ("２０２６-01", f"is not a month: write it {FORMS}"),
    ],
)
def test_anything_else_is_refused_with_the_forms(written: object, why: str) -> None:
    """A value that is no month (or a day other than the first) says why, listing the forms accepted."""
    with pytest.raises(ValueError, match=r"^is ") as caught:
        read_month(written)
    assert str(caught.value) == why
