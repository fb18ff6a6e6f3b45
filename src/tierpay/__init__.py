"""tierpay: stepped service levels, bottom-ranking review and pay bands from a YAML ruleset.

The public API in one place::

    import tierpay

    ruleset = tierpay.load_ruleset("rulesets/callcenter-stars.yaml")
    batch = tierpay.read_records(ruleset, "examples/data/agents-2026-01.csv")
    outcome = tierpay.evaluate(ruleset, batch)
"""

from tierpay.engine.human import HumanDecision, HumanDecisions
from tierpay.engine.outcome import Outcome
from tierpay.engine.records import AgentPeriod, RecordBatch, Rejection, parse_records, records_from_dicts
from tierpay.engine.results import Decision, Gap, Pay, PayLine, ReviewResult, Score
from tierpay.engine.run import evaluate
from tierpay.engine.state import AgentState, State
from tierpay.errors import (
    EvaluationError,
    LedgerError,
    NoDecision,
    OutputError,
    PartitionError,
    Problem,
    RecordsError,
    RulesetError,
    RulesetUnreadable,
    StateError,
    TierpayError,
)
from tierpay.io.decisions_file import read_decisions
from tierpay.io.sources import read_records
from tierpay.io.state_file import read_state
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.loading import load_ruleset, load_target, load_versions, parse_ruleset
from tierpay.ruleset.model import Ruleset
from tierpay.ruleset.schema import ruleset_json_schema
from tierpay.ruleset.versions import RulesetVersions

__version__ = "0.1.0"

__all__ = [
    "AgentPeriod",
    "AgentState",
    "CompiledRuleset",
    "Decision",
    "EvaluationError",
    "Gap",
    "HumanDecision",
    "HumanDecisions",
    "LedgerError",
    "NoDecision",
    "Outcome",
    "OutputError",
    "PartitionError",
    "Pay",
    "PayLine",
    "Problem",
    "RecordBatch",
    "RecordsError",
    "Rejection",
    "ReviewResult",
    "Ruleset",
    "RulesetError",
    "RulesetUnreadable",
    "RulesetVersions",
    "Score",
    "State",
    "StateError",
    "TierpayError",
    "__version__",
    "evaluate",
    "load_ruleset",
    "load_target",
    "load_versions",
    "parse_records",
    "parse_ruleset",
    "read_decisions",
    "read_records",
    "read_state",
    "records_from_dicts",
    "ruleset_json_schema",
]
