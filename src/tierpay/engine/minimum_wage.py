"""Which minimum wage holds an agent's month: the area's figure in force, from its own date.

Minimum wages are set per city or district and change almost every year, each figure from the
date its notice names. A month is held to the figures in force during it: the one in force on
its first day and any that takes effect later in the month, the highest of them. Minimum wages
take effect on the first of a month almost always, so this is the figure in force on the first
day, as a folder of ruleset versions chooses; when a figure does take effect partway through a
month, holding the whole month to the higher figure is the one choice that pays no day below
the figure in force on that day. A month before an area's first figure has no minimum wage:
the engine rejects its records rather than use a later figure for an earlier month.

Some areas (Shanghai and Beijing among them) set the minimum *excluding* the employee's own
social insurance and housing fund contributions; their figures say so, and the pay compared with
them is net of those contributions, read from the metric the ruleset names.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tierpay.ruleset.model import MinimumWage, label_text
from tierpay.words import Named, Phrase, named, phrase


@dataclass(frozen=True)
class MinimumWageFigure:
    """The minimum wage that holds one agent's month, and where it comes from."""

    amount: Decimal
    """The monthly figure, before proration."""
    area: str
    """The area's name (`Shanghai`)."""
    by: str
    """The attribute that chose the area, and its value (`region tier1`)."""
    effective_from: dt.date
    """The day the figure took effect."""
    source: str
    """Where the figure comes from."""
    contributions: Decimal | None
    """The employee's own contributions, when the figure excludes them; else none."""

    area_name: Named
    """The area's name in each language the table gives (`Shanghai`, `上海市`)."""
    value: str
    """The value of the attribute that chose the area (`tier1`)."""
    hourly: Decimal | None = None
    """The hourly figure for part-time work set with the monthly one, if the table gives it."""
    source_zh: str | None = None
    """Where the figure comes from, in Chinese, if the table says."""

    @property
    def cited(self) -> Named:
        """The source as a statement cites it: in Chinese where the table gives it, else as written."""
        return named(self.source, {"zh": self.source_zh} if self.source_zh else None)

    def phrase(self, attribute: Named) -> Phrase:
        """Which figure, for a statement line: ``the minimum wage for region tier1 (Shanghai) 2,740.00``."""
        return phrase(
            "basis.minimum_wage", by=attribute, value=self.value, area=self.area_name, amount=f"{self.amount:,.2f}"
        )


class NoMinimumWage(ValueError):
    """No figure of the area is in force for the month (or the agent's area has none)."""


def minimum_wage_for(mw: MinimumWage, values: Mapping[str, Any], period: str, lang: str = "en") -> MinimumWageFigure:
    """The minimum wage that holds ``period`` (``YYYY-MM``) for a record with ``values``.

    Raises ``NoMinimumWage`` naming the area and the period when none is in force: a month
    before the area's first figure, or a value of ``mw.by`` with no area.
    """
    value = str(values.get(mw.by))
    own = values.get(mw.contributions) if mw.contributions is not None else None
    key = (id(mw), value, period, lang, own)
    found = _FIGURES.get(key)
    if found is None or found[0] is not mw:
        if len(_FIGURES) >= _KEEP:
            _FIGURES.clear()
        try:
            found = _FIGURES[key] = (mw, _figure(mw, value, period, lang, own))
        except NoMinimumWage as error:
            found = _FIGURES[key] = (mw, error)
    figure = found[1]
    if isinstance(figure, NoMinimumWage):
        raise NoMinimumWage(*figure.args)
    return figure


_FIGURES: dict[tuple[int, str, str, str, Any], tuple[MinimumWage, MinimumWageFigure | NoMinimumWage]] = {}
"""Each area's figure for a month, found once: a month of pay statements asks for the same few."""
_KEEP = 4096


def _figure(mw: MinimumWage, value: str, period: str, lang: str, own: Any) -> MinimumWageFigure:
    """The figure in force for the area ``value`` names, with the agent's own contributions ``own`` where it excludes them."""
    area_id = mw.areas.get(value) if mw.areas is not None else value
    area = (mw.table or {}).get(area_id) if area_id is not None else None
    if area is None:
        raise NoMinimumWage(f"no minimum wage for {mw.by} {value}: the table has no area for it")
    name = label_text(area.name, lang, area_id or "")
    first, last = _month(period)
    in_force = [f for f in area.figures if f.effective_from <= first]
    if not in_force:
        raise NoMinimumWage(  # a rejection reason: English, as every reason is
            f"no minimum wage for {mw.by} {value} in {period}: the figures for "
            f"{label_text(area.name, 'en', area_id or '')} start on "
            f"{area.figures[0].effective_from.isoformat()}"
        )
    during = [in_force[-1], *(f for f in area.figures if first < f.effective_from <= last)]
    figure = max(during, key=lambda f: (f.monthly, f.effective_from))
    return MinimumWageFigure(
        amount=figure.monthly,
        area=name,
        by=f"{mw.by} {value}",
        effective_from=figure.effective_from,
        source=figure.source,
        contributions=own if figure.excludes_contributions else None,
        area_name=named(area_id or "", area.name),
        value=str(value),
        hourly=figure.hourly,
        source_zh=figure.source_zh,
    )


def _month(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``period`` (``YYYY-MM``)."""
    year, month = int(period[:4]), int(period[5:7])
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
