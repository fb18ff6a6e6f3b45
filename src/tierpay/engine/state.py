"""State carried from one period to the next, per agent: level, streaks, probation, review.

The state is a plain value: ``evaluate`` takes the state before and returns the state after,
so a host system can store it between monthly runs (as JSON, or CSV for a spreadsheet) and a
run over six months gives what six chained monthly runs give.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tierpay.errors import StateError


class AgentState(BaseModel):
    """One agent's carried state after its last evaluated period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_id: str
    level: str
    last_period: str | None = Field(None, description="The last period evaluated for the agent.")
    periods_in_level: int = Field(0, ge=0, description="Periods completed in the level since the last change.")
    promote_streak: int = Field(0, ge=0, description="Consecutive periods meeting a higher level's entry.")
    streak_level: str | None = Field(None, description="The lowest level qualified for during the streak.")
    maintain_fail_streak: int = Field(0, ge=0, description="Consecutive periods failing maintenance.")
    on_probation: bool = False
    probation_periods: int = Field(0, ge=0)
    review_streak: int = Field(0, ge=0, description="Consecutive periods flagged by the review.")
    review_stage: str | None = None
    deductions_due: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Deductions for losses the monthly cap held back, by deduction line, still to collect.",
    )

    @field_validator("deductions_due", mode="before")
    @classmethod
    def _due_text(cls, value: Any) -> Any:
        """The CSV form ``loss=890.00;tool=20.00`` read back as a mapping."""
        if value is None:
            return {}
        if isinstance(value, str):
            pairs = [p.partition("=") for p in value.split(";") if p.strip()]
            return {k.strip(): v.strip() for k, _, v in pairs}
        return value


def due_text(due: dict[str, Decimal]) -> str:
    """Deductions still owed as one exact text (``loss=890.00;tool=20``): a CSV cell, and a key pay is shared by."""
    return ";".join(f"{k}={v}" for k, v in due.items())


def due_of(text: str) -> dict[str, Decimal]:
    """The deductions still owed, back from ``due_text``."""
    return {k: Decimal(v) for k, _, v in (p.partition("=") for p in text.split(";") if p)}


STATE_COLUMNS = list(AgentState.model_fields)


class State(BaseModel):
    """Every agent's carried state, sorted by agent id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tierpay_state: int = Field(1, description="The state format version.")
    ruleset: str | None = Field(None, description="The name of the ruleset that wrote it.")
    through: str | None = Field(None, description="The last period evaluated.")
    agents: list[AgentState] = Field(default_factory=list)

    def by_agent(self) -> dict[str, AgentState]:
        """The agents' states keyed by agent id."""
        return {a.agent_id: a for a in self.agents}

    def to_json(self) -> str:
        """The state as JSON text."""
        return self.model_dump_json(indent=2) + "\n"

    def to_csv(self) -> str:
        """The agents' states as CSV, one row per agent (the header line carries the rest)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATE_COLUMNS)
        for agent in self.agents:
            row = agent.model_dump()
            row["deductions_due"] = due_text(agent.deductions_due) or None
            writer.writerow(
                [
                    "" if row[c] is None else str(row[c]).lower() if isinstance(row[c], bool) else row[c]
                    for c in STATE_COLUMNS
                ]
            )
        return out.getvalue()

    @classmethod
    def from_json(cls, text: str, source: str = "<state>") -> State:
        """Read state JSON; raise ``StateError`` naming the bad field."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            raise StateError(_describe(error, source)) from None

    @classmethod
    def from_csv(cls, text: str, source: str = "<state>", ruleset: str | None = None) -> State:
        """Read the CSV written by ``to_csv``; raise ``StateError`` naming the row and column."""
        reader = csv.DictReader(io.StringIO(text))
        agents = []
        for row in reader:
            data = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
            try:
                agents.append(AgentState.model_validate(data))
            except ValidationError as error:
                raise StateError(_describe(error, f"{source}:{reader.line_num}")) from None
        through = max((a.last_period for a in agents if a.last_period), default=None)
        return cls(ruleset=ruleset, through=through, agents=sorted(agents, key=lambda a: a.agent_id))


def _describe(error: ValidationError, where: str) -> str:
    parts = []
    for item in error.errors(include_url=False):
        path = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {path}: {item['msg']}")
    return "\n".join(parts)
