"""State carried from one period to the next, per agent: level, streaks, probation, review.

The state is a plain value: ``evaluate`` takes the state before and returns the state after,
so a host system can store it between monthly runs (as JSON, or CSV for a spreadsheet) and a
run over six months gives what six chained monthly runs give. It names the ruleset version
that wrote it by content hash, so that a state is not used under other rules unnoticed
(:mod:`tierpay.engine.state_fit`); reading its text checks every field
(:mod:`tierpay.engine.state_text`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

STATE_FORMAT = 2
"""The state format this tierpay writes: 2 carries the ruleset's version and hash; 1 did not."""


class AgentState(BaseModel):
    """One agent's carried state after its last evaluated period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_id: str
    level: str
    last_period: str | None = Field(None, description="The last period evaluated for the agent.")
    periods_in_level: int = Field(0, ge=0, description="Periods completed in the level since the last change.")
    promote_streak: int = Field(0, ge=0, description="Consecutive periods meeting a higher level's entry.")
    streak_level: str | None = Field(
        None, description="The level the streak counts toward: the lowest qualified for during it, above `level`."
    )
    maintain_fail_streak: int = Field(0, ge=0, description="Consecutive periods failing maintenance.")
    on_probation: bool = False
    probation_periods: int = Field(0, ge=0)
    probation_extension: int = Field(
        0,
        ge=0,
        description="Months a person's decision (extend_probation) added to the probation the agent is serving; "
        "written only when there are some.",
    )
    review_streak: int = Field(0, ge=0, description="Consecutive periods flagged by the review.")
    review_stage: str | None = None
    deductions_due: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Deductions for losses the monthly cap held back, by deduction line, still to collect.",
    )

    @model_serializer(mode="wrap")
    def _leave_out_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The fields, less those in ``WRITTEN_WHEN_SET`` at their default (a state without them reads as before)."""
        data: dict[str, Any] = handler(self)
        for name, default in WRITTEN_WHEN_SET.items():
            if data.get(name) == default:
                del data[name]
        return data

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


WRITTEN_WHEN_SET: dict[str, Any] = {"probation_extension": 0}
"""Agent fields written (JSON key, CSV column) only when some agent's differs from this default: states
and decisions of runs without people's decisions stay as they were, byte for byte."""


def due_text(due: dict[str, Decimal]) -> str:
    """Deductions still owed as one exact text (``loss=890.00;tool=20``): a CSV cell, and a key pay is shared by."""
    return ";".join(f"{k}={v}" for k, v in due.items())


def due_of(text: str) -> dict[str, Decimal]:
    """The deductions still owed, back from ``due_text``."""
    return {k: Decimal(v) for k, _, v in (p.partition("=") for p in text.split(";") if p)}


STATE_COLUMNS = list(AgentState.model_fields)
RULESET_COLUMNS = ["ruleset", "ruleset_version", "ruleset_sha256"]
"""The CSV form's last columns: the ruleset that wrote the state, the same on every row."""


class State(BaseModel):
    """Every agent's carried state, sorted by agent id, and the ruleset version that wrote it.

    ``ruleset_sha256`` is the content hash of the version in force for the last period
    (``through``); a state without it was written by an earlier tierpay. Two states are
    equal when their fields are: where a state was read from is not compared.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tierpay_state: int = Field(STATE_FORMAT, description="The state format version.")
    ruleset: str | None = Field(None, description="The name of the ruleset that wrote it.")
    ruleset_version: str | None = Field(None, description="The version of the ruleset that wrote it.")
    ruleset_sha256: str | None = Field(None, description="The content hash of the ruleset version that wrote it.")
    through: str | None = Field(None, description="The last period evaluated.")
    agents: list[AgentState] = Field(default_factory=list)
    _source: str = PrivateAttr("<state>")
    _places: tuple[str, ...] = PrivateAttr(())
    _placed: tuple[AgentState, ...] = PrivateAttr(())  # the agents the places are of
    _checked: tuple[Any, ...] | None = PrivateAttr(None)  # what was checked: the top fields, then each agent

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in State.model_fields)

    @property
    def source(self) -> str:
        """Where the state was read from (a file name), or ``<state>`` for one made in Python."""
        return self._source

    def places(self) -> list[str]:
        """Where each agent's entry is, for messages: ``state.csv:4 (A1)`` or ``state.json: agents[2] (A1)``."""
        if _same(self._placed, self.agents):
            return list(self._places)
        return [f"{self._source}: agents[{i}] ({a.agent_id})" for i, a in enumerate(self.agents)]

    def by_agent(self) -> dict[str, AgentState]:
        """The agents' states keyed by agent id."""
        return {a.agent_id: a for a in self.agents}

    def to_json(self) -> str:
        """The state as JSON text."""
        return self.model_dump_json(indent=2) + "\n"

    def to_csv(self) -> str:
        """The agents' states as CSV, one row per agent, each ending with the ruleset that wrote the state."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns = [
            c
            for c in STATE_COLUMNS
            if c not in WRITTEN_WHEN_SET or any(getattr(a, c) != WRITTEN_WHEN_SET[c] for a in self.agents)
        ]
        writer.writerow(columns + RULESET_COLUMNS)
        stamp = [self.ruleset or "", self.ruleset_version or "", self.ruleset_sha256 or ""]
        for agent in self.agents:
            row = dict(agent)
            row["deductions_due"] = due_text(agent.deductions_due) or None
            cells = [
                "" if row[c] is None else str(row[c]).lower() if isinstance(row[c], bool) else row[c] for c in columns
            ]
            writer.writerow(cells + stamp)
        return out.getvalue()

    @classmethod
    def from_json(cls, text: str, source: str = "<state>") -> State:
        """Read state JSON; raise ``StateError`` naming every bad field, its place and the form it takes."""
        from tierpay.engine.state_text import read_json

        return read_json(text, source)

    @classmethod
    def from_csv(cls, text: str, source: str = "<state>", ruleset: str | None = None) -> State:
        """Read the CSV written by ``to_csv``; raise ``StateError`` naming every bad cell's line and column.

        ``ruleset`` names the ruleset when the file has no ``ruleset`` column (one written by an
        earlier tierpay).
        """
        from tierpay.engine.state_text import read_csv

        return read_csv(text, source, ruleset)

    def _located(self, source: str, places: list[str], checked: bool = True) -> State:
        """This state, marked as read from ``source`` with each agent's place, and whether its fields were checked."""
        self._source = source
        self._places = tuple(places)
        self._placed = tuple(self.agents)
        self._checked = self._fingerprint() if checked else None
        return self

    def _written(self) -> State:
        """This state, marked as written by the engine: its fields need no checking (its fit still does)."""
        self._checked = self._fingerprint()
        return self

    def _fingerprint(self) -> tuple[Any, ...]:
        return (self.tierpay_state, self.ruleset_sha256, self.through, tuple(self.agents))

    @property
    def checked(self) -> bool:
        """Whether every field was checked as read or written (a copy with other fields is checked when used)."""
        mark = self._checked
        if mark is None:
            return False
        now = self._fingerprint()
        return mark[:3] == now[:3] and _same(mark[3], now[3])


def _same(these: Sequence[AgentState], those: Sequence[AgentState]) -> bool:
    """Whether two lists hold the very same agent states (not equal ones: the same objects)."""
    return len(these) == len(those) and all(a is b for a, b in zip(these, those, strict=True))
