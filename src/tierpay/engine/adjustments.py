"""Adjustments: what a closed period decided again owes an agent, paid in an open period.

A closed period is never rewritten. When its records change, the engine decides it again and
pays the difference to each agent (what the period gives now less what it paid when closed)
as one line per original period in the agent's first open month; :mod:`tierpay.engine.pay`
says how a negative one is collected (set off against the month's other adjustments first,
then under the deduction cap and above the minimum wage, the rest carried).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

PREFIX = "adjustment:"
"""The id of an adjustment line is ``adjustment:2026-01``: the prefix and the period it is for."""


@dataclass(frozen=True, order=True)
class Adjustment:
    """The difference one closed period owes one agent after it was decided again."""

    for_period: str
    """The closed period decided again."""
    paid: Decimal
    """What it paid the agent when it was closed (or as last corrected)."""
    due: Decimal
    """What deciding it again gives the agent."""

    @property
    def amount(self) -> Decimal:
        """What is paid (positive) or recovered (negative) in the open month."""
        return self.due - self.paid

    @property
    def line_id(self) -> str:
        """The pay line's id: ``adjustment:2026-01``."""
        return PREFIX + self.for_period


def adjustments_text(items: Iterable[Adjustment]) -> str:
    """Adjustments as one exact text (``2026-01=5000.00/5500.00;...``): a key the pay stage shares statements by."""
    return ";".join(f"{a.for_period}={a.paid}/{a.due}" for a in sorted(items))


def adjustments_of(text: str) -> tuple[Adjustment, ...]:
    """The adjustments back from ``adjustments_text``."""
    found = []
    for part in text.split(";"):
        if not part:
            continue
        period, _, amounts = part.partition("=")
        paid, _, due = amounts.partition("/")
        found.append(Adjustment(period, Decimal(paid), Decimal(due)))
    return tuple(found)


def is_adjustment(line_id: str) -> bool:
    """Whether a pay line (or a deduction still due) is an adjustment for a closed period."""
    return line_id.startswith(PREFIX)


def signed(amount: Decimal) -> str:
    """Money with its sign and two places at least: ``+500.00``, ``-120.50``."""
    return f"{amount:+,.2f}"
