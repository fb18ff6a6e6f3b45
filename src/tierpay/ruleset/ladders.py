"""Pydantic models of several ladders in one ruleset: roles and career tracks side by side.

A call centre grades more than one kind of job: agents climb a star ladder, quality
inspectors (质检) and team leads (领班) have ladders, criteria and pay of their own. A ruleset
with ``ladder_by: role`` and ``ladders: {agent: {...}, qa: {...}}`` decides each record on
the ladder its ``role`` names; each ladder holds its own levels and any of the parts listed in
``LADDER_PARTS``, and takes what it leaves out from the ruleset's top level. Moving between
ladders is a person's decision (``set_ladder``); a ladder's ``nominate`` list only flags who
may be put forward for another ladder.
"""

from __future__ import annotations

from pydantic import Field

from tierpay.ruleset.model import (
    Demotion,
    Expression,
    Grade,
    Identifier,
    Label,
    Level,
    NewAgents,
    Pay,
    Probation,
    Promotion,
    Review,
    Scorecard,
    _Strict,
)

LADDER_PARTS = (
    "levels",
    "promotion",
    "demotion",
    "probation",
    "new_agents",
    "scorecard",
    "grades",
    "review",
    "pay",
)
"""The parts of a ruleset a ladder may give itself; what it leaves out it takes from the top level."""


class Nomination(_Strict):
    """Who on this ladder may be put forward for another: flagged on the decision, never acted on alone."""

    to: Identifier = Field(description="The ladder the agent may be nominated for.")
    when: Expression = Field(
        description="Who is eligible, over the period's values and carried state "
        "(`level == 'S5' and periods_in_level >= 5`: five stars held six months, this one included)."
    )
    reason: Label | None = None
    """Why, in words for the person deciding."""


class Ladder(_Strict):
    """One ladder: its levels, and any parts of its own in place of the top level's."""

    label: Label | None = None
    """The ladder's name for people (`{en: Quality inspectors, zh: 质检}`)."""
    values: list[str] | None = Field(
        None,
        min_length=1,
        description="The values of the `ladder_by` attribute that put a record on this ladder; "
        "the ladder's own name when left out.",
    )
    levels: list[Level] = Field(min_length=1)
    """The ladder's levels, lowest first; level ids are unique across ladders."""
    promotion: Promotion | None = None
    """Promotion rules; the top level's when left out."""
    demotion: Demotion | None = None
    """Maintenance and demotion rules; the top level's when left out."""
    probation: Probation | None = None
    """Probation and conversion; the top level's when left out."""
    new_agents: NewAgents | None = None
    """Where agents new to this ladder start; the top level's when left out."""
    scorecard: Scorecard | None = None
    """The weighted composite score; the top level's when left out."""
    grades: list[Grade] | None = None
    """Performance grades; the top level's when left out."""
    review: Review | None = None
    """Bottom-ranking review, ranked within this ladder only; the top level's when left out."""
    pay: Pay | None = None
    """The monthly pay; the top level's when left out."""
    nominate: list[Nomination] = Field(default_factory=list)
    """Who may be put forward for another ladder: a flag on the decision, never a move."""

    def selects(self, name: str) -> list[str]:
        """The ``ladder_by`` values that put a record on this ladder (named ``name``)."""
        return list(self.values) if self.values is not None else [name]
