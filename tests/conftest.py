"""Shared fixtures: the shipped ruleset and sample data, and a builder for small test rulesets."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tierpay import CompiledRuleset, load_ruleset, parse_ruleset

ROOT = Path(__file__).resolve().parents[1]
STARS = ROOT / "rulesets" / "callcenter-stars.yaml"
SAMPLE_MONTH = ROOT / "examples" / "data" / "agents-2026-01.csv"
SAMPLE_H1 = ROOT / "examples" / "data" / "agents-2026h1.csv"

MINI: dict[str, Any] = {
    "tierpay": 1,
    "name": "mini",
    "version": "1",
    "effective_from": "2026-01-01",
    "metrics": {
        "qa": {"type": "number", "min": 0, "max": 100},
        "incidents": {"type": "integer", "min": 0, "default": 0},
    },
    "attributes": {
        "team": {"default": "T1"},
        "status": {"values": ["probation", "regular"], "default": "regular"},
        "start_date": {"type": "date"},
        "contract_term": {"type": "term"},
    },
    "levels": [
        {"id": "L1", "name": "一星"},
        {"id": "L2", "name": "二星", "entry": "qa >= 80", "maintain": "qa >= 70"},
        {"id": "L3", "name": "三星", "entry": "qa >= 90", "maintain": "qa >= 85"},
    ],
    "promotion": {
        "consecutive_periods": 2,
        "min_periods_in_level": 1,
        "blocked_if": [{"code": "discipline", "when": "incidents > 0"}],
    },
    "demotion": {"consecutive_periods": 2, "immediate_if": [{"code": "major", "when": "incidents >= 3"}]},
    "probation": {"min_periods": 2, "max_periods": 3, "convert_if": "qa >= 75"},
    "new_agents": {"level": "L1"},  # records that state no level start here (not guessed)
}


def build(base: dict[str, Any] | None = None, **changes: Any) -> CompiledRuleset:
    """A ruleset from ``base`` (MINI by default) with top-level keys replaced by ``changes``."""
    data = copy.deepcopy(base if base is not None else MINI)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return parse_ruleset(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), file="mini.yaml")


@pytest.fixture(scope="session")
def stars() -> CompiledRuleset:
    """The shipped five-star ruleset."""
    return load_ruleset(STARS)


@pytest.fixture
def mini() -> CompiledRuleset:
    """The small three-level ruleset used by the level tests."""
    return build()


def generate_benchmark_data(rows: int, path: Path, seed: int) -> None:
    """Write ``rows`` agent-periods of the benchmark generator's realistic data to ``path``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    generate.generate(rows, path, seed=seed)
