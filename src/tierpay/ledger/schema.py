"""The ledger's tables (SQLAlchemy Core), one per thing kept, and the schema version they make.

Every run is a row of ``runs``; each month it decided, a row of ``run_periods`` with the state
after it; each agent-month, a row of ``decisions`` (the decisions CSV's cells, typed) with its
pay lines in ``pay_lines``. A closed month decided again is kept as a run of kind
``correction``, part of the run that found it, its months linked to the run they correct:
nothing already stored is changed but ``adjustments.paid_in_*`` (an adjustment is paid once)
and ``meta.generation`` (bumped by every write, so that two writers cannot both succeed on
what they read). Money is exact: NUMERIC on PostgreSQL, decimal text on SQLite.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

SCHEMA_VERSION = 1
"""The schema this tierpay writes and reads; a ledger of a newer one is refused, never guessed at."""


class Money(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC where the database has it exactly (PostgreSQL), its text elsewhere (SQLite)."""

    impl = String(48)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(48))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
"""``schema_version``, ``generation`` (bumped by every write) and ``created_by`` (the tierpay version)."""

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # run | correction
    Column("part_of", Integer, ForeignKey("runs.id"), nullable=True),  # a correction: the run that found it
    Column("at", String(32), nullable=False),  # ISO 8601, UTC
    Column("tierpay_version", String(32), nullable=False),
    Column("records", Text, nullable=False),  # the records file, as named
    Column("records_sha256", String(64), nullable=False),  # of every record's hash, in order
    Column("ruleset_name", Text, nullable=False),
    Column("ruleset_version", Text, nullable=False),
    Column("ruleset_sha256", String(64), nullable=False),
    Column("state_in", Text, nullable=True),  # JSON: the state the run began from
    Column("rejected", Integer, nullable=False),
)

run_periods = Table(
    "run_periods",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("records_sha256", String(64), nullable=False),  # of the month's record hashes, by agent
    Column("ruleset_name", Text, nullable=False),
    Column("ruleset_version", Text, nullable=False),
    Column("ruleset_sha256", String(64), nullable=False),
    Column("state_after", Text, nullable=False),  # JSON, as --state-out writes it
    Column("corrects_run", Integer, ForeignKey("runs.id"), nullable=True),
)

decisions = Table(
    "decisions",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("agent_id", Text, primary_key=True),
    Column("record_sha256", String(64), nullable=False),
    Column("attributes", Text, nullable=False),  # JSON: the attribute cells, kept columns too
    Column("level_before", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("qualified_level", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("on_probation", Boolean, nullable=False),
    Column("score", Money, nullable=True),
    Column("grade", Text, nullable=True),
    Column("coefficient", Money, nullable=True),
    Column("review_cohort", Text, nullable=True),
    Column("review_rank", Integer, nullable=True),
    Column("review_cohort_size", Integer, nullable=True),
    Column("review_percentile", Money, nullable=True),
    Column("review_flagged", Boolean, nullable=True),
    Column("review_stage", Text, nullable=True),
    Column("review_exempt", Text, nullable=True),
    Column("pay_level", Text, nullable=True),
    Column("pay_total", Money, nullable=True),
    Column("pay_adjustment", Money, nullable=True),
    Column("currency", String(8), nullable=True),
    Column("ruleset_version", Text, nullable=False),
    Column("ruleset_sha256", String(64), nullable=False),
    # Added after schema 1 first shipped, nullable and last: a ledger made before lacks them
    # until this tierpay's first run into it adds them (LADDER_COLUMNS); empty without ladders.
    Column("ladder", Text, nullable=True),
    Column("nominated", Text, nullable=True),
)
"""Each agent-month decided; ``ladder`` and ``nominated`` hold the ladder and the ladders the agent may be nominated for."""

LADDER_COLUMNS = ("ladder", "nominated")
"""The columns of ``decisions`` a ledger made before ladders lacks: added by the first run that writes to it."""

pay_lines = Table(
    "pay_lines",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("agent_id", Text, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("line_id", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", Money, nullable=False),
    Column("basis", Text, nullable=False),
)

people_decisions = Table(
    "people_decisions",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("position", Integer, primary_key=True),  # the decision's place in its file
    Column("agent_id", Text, nullable=False),
    Column("period", String(7), nullable=False),
    Column("decision", String(32), nullable=False),  # convert, extend_probation, set_level, ...
    Column("value", Text, nullable=True),
    Column("by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", String(32), nullable=True),
)
"""Decisions people took in place of the engine's rules (``--decisions``), as the run applied them."""

adjustments = Table(
    "adjustments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agent_id", Text, nullable=False),
    Column("for_period", String(7), nullable=False),
    Column("paid", Money, nullable=False),  # what the closed month paid
    Column("due", Money, nullable=False),  # what deciding it again gives
    Column("found_by", Integer, ForeignKey("runs.id"), nullable=False),  # the correction run
    Column("paid_in_run", Integer, ForeignKey("runs.id"), nullable=True),
    Column("paid_in_period", String(7), nullable=True),
)

rejections = Table(
    "rejections",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("source", Text, nullable=False),
    Column("row", Integer, nullable=False),
    Column("agent_id", Text, nullable=True),
    Column("period", Text, nullable=True),
    Column("reasons", Text, nullable=False),  # JSON list
)

closings = Table(
    "closings",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),  # whose decisions were closed
    Column("closed_by", Text, nullable=False),
    Column("closed_at", String(32), nullable=False),
)
