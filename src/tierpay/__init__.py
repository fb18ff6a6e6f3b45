"""tierpay: stepped service levels, bottom-ranking review and pay bands from a YAML ruleset.

The public API in one place::

    import tierpay

    ruleset = tierpay.load_ruleset("rulesets/callcenter-stars.yaml")
    batch = tierpay.read_records(ruleset, "examples/data/agents-2026-01.csv")
    outcome = tierpay.evaluate(ruleset, batch)
"""

from tierpay.compiler import CompiledRuleset
from tierpay.engine import RecordBatch, evaluate
from tierpay.errors import (
    EvaluationError,
    OutputError,
    Problem,
    RecordsError,
    RulesetError,
    StateError,
    TierpayError,
)
from tierpay.loading import load_ruleset, load_target, load_versions, parse_ruleset, ruleset_json_schema
from tierpay.model import Ruleset
from tierpay.records import AgentPeriod, Rejection, parse_records, records_from_dicts
from tierpay.results import Decision, Gap, Outcome, Pay, PayLine, ReviewResult, Score
from tierpay.sources import read_records, read_state
from tierpay.state import AgentState, State
from tierpay.versions import RulesetVersions

__version__ = "0.1.0"

__all__ = [
    "AgentPeriod",
    "AgentState",
    "CompiledRuleset",
    "Decision",
    "EvaluationError",
    "Gap",
    "Outcome",
    "OutputError",
    "Pay",
    "PayLine",
    "Problem",
    "RecordBatch",
    "RecordsError",
    "Rejection",
    "ReviewResult",
    "Ruleset",
    "RulesetError",
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
    "read_records",
    "read_state",
    "records_from_dicts",
    "ruleset_json_schema",
]
