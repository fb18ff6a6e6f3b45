"""The pydantic models of what is decided: a ``Decision`` per agent-period and its parts, and gaps.

Every model here is pydantic, so a decision serialises to JSON with exact decimal strings
and reads back unchanged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from tierpay.engine.human import HumanDecision
from tierpay.engine.state import AgentState
from tierpay.words import Phrase, render

M = TypeVar("M", bound=BaseModel)
_MISSING = object()
_SPECS: dict[type[BaseModel], list[tuple[str, Any, Any]]] = {}


def trusted(cls: type[M], /, **values: Any) -> M:
    """An instance of ``cls`` from values already of the right types, without validation.

    The engine builds hundreds of thousands of result objects from values it computed
    itself; validating them again cost more than computing them. Like pydantic's
    ``model_construct``, but with each class's fields and defaults looked up once. Fields are
    stored in declaration order, which is the order they serialise in.
    """
    spec = _SPECS.get(cls)
    if spec is None:
        spec = _SPECS[cls] = [
            (name, _MISSING if f.is_required() or f.default_factory is not None else f.default, f.default_factory)
            for name, f in cls.model_fields.items()
        ]
    data: dict[str, Any] = {
        name: values[name] if name in values else (factory() if factory is not None else default)
        for name, default, factory in spec
    }
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", data)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


Action = Literal["promote", "hold", "demote", "convert", "extend_probation", "probation_review"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RulesetStamp(_Frozen):
    """Which ruleset a result was computed under."""

    name: str
    version: str
    sha256: str


class ScorePart(_Frozen):
    """One weighted part of the composite score."""

    metric: str
    value: Decimal
    normalised: Decimal | None = Field(description="0 to 1 (or up to the ratio cap); none when not graded.")
    weight: Decimal
    effective_weight: Decimal
    points: Decimal
    note: str | None = None


class Score(_Frozen):
    """The composite score with its parts."""

    name: str
    value: Decimal
    parts: list[ScorePart]
    cohort: str
    veto: str | None = None
    notes: list[str] = Field(default_factory=list)


class ReviewResult(_Frozen):
    """Where an agent stands in the bottom-ranking review for one period."""

    cohort: str
    cohort_size: int
    ranked: bool
    value: Decimal | None = None
    rank: int | None = None
    percentile: Decimal | None = None
    bottom_count: int | None = None
    flagged: bool = False
    tied_at_cutoff: bool = False
    streak: int = 0
    stage: str | None = None
    exempt: str | None = None
    reason: str


class PayLine(_Frozen):
    """A line of the pay statement and how it was computed."""

    id: str
    label: str
    kind: Literal["line", "deduction", "floor", "rounding", "adjustment"]
    amount: Decimal
    basis: str
    """How the amount was computed, in English."""
    phrases: tuple[Phrase, ...] = Field(default=(), exclude=True, repr=False)
    """The same in phrases of :mod:`tierpay.words`, to show it in any language (not in JSON)."""

    def basis_in(self, lang: str) -> str:
        """How the amount was computed, in ``lang`` (English when read back from JSON)."""
        return render(self.phrases, lang) if self.phrases else self.basis


class Pay(_Frozen):
    """The pay statement of one agent-period; its lines sum exactly to ``total``."""

    currency: str
    level: str
    coefficient: Decimal | None
    lines: list[PayLine]
    total: Decimal
    due: dict[str, Decimal] = Field(
        default_factory=dict,
        exclude=True,
        description="Deductions the cap held back, by line, carried in the state to later months.",
    )


class Decision(_Frozen):
    """Everything decided for one agent-period, with what it was decided from."""

    agent_id: str
    period: str
    ladder: str | None = Field(
        None, description="The ladder it was decided on (written only when the ruleset has ladders)."
    )
    source: str
    row: int
    level_before: str
    level: str
    qualified_level: str
    action: Action
    reason: str = Field(description="A reason code: promoted, streak_short, maintain_failed, ...")
    why: str = Field(description="The reason in a sentence.")
    decided: list[HumanDecision] = Field(
        default_factory=list,
        description="The people's decisions applied to this agent-period (written only when there are some).",
    )
    nominated: list[str] = Field(
        default_factory=list,
        description="The ladders the agent is eligible to be nominated for (a flag for people; written only "
        "when the ruleset has ladders).",
    )
    on_probation: bool
    grade: str | None = None
    coefficient: Decimal | None = None
    score: Score | None = None
    review: ReviewResult | None = None
    pay: Pay | None = None
    checks: dict[str, bool] = Field(
        default_factory=dict,
        description="Each criterion evaluated, by its ruleset field (levels[2].entry), and whether it held.",
    )
    notes: list[str] = Field(default_factory=list)
    state: AgentState = Field(description="The agent's carried state after this decision.")
    ruleset: RulesetStamp = Field(description="The ruleset the decision was made under.")
    values: dict[str, Decimal | str | bool | None] = Field(
        default_factory=dict,
        description="The record's values and those the expressions saw, for explanations; null where a record "
        "left an optional metric, a date or a term blank.",
    )

    @model_serializer(mode="wrap")
    def _leave_out_undecided(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The fields, less ``decided`` when no person decided anything, and the ladder's with one ladder
        (outputs stay as they were)."""
        data: dict[str, Any] = handler(self)
        if not data.get("decided"):
            data.pop("decided", None)
        if data.get("ladder") is None:  # one ladder: no ladder fields
            data.pop("ladder", None)
            data.pop("nominated", None)
        return data


class Gap(_Frozen):
    """An agent known from carried state who has no record for a period that was evaluated."""

    agent_id: str
    period: str
    last_period: str
