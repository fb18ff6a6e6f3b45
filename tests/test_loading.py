"""Loading rulesets: every problem is reported at once with file, line, column and field."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from tierpay import RulesetError, load_ruleset, parse_ruleset
from tierpay.ruleset.schema import ruleset_json_schema

HEAD = """\
tierpay: 1
name: t
version: "1"
effective_from: 2026-01-01
metrics:
  qa_score: {type: number, min: 0, max: 100}
  calls: {type: integer, min: 0}
attributes:
  region: {values: [tier1, tier2]}
"""


def problems(text: str) -> list[str]:
    """The problem lines of loading ``text`` (first line of each problem only)."""
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text, file="x.yaml")
    return [str(p).splitlines()[0] for p in caught.value.problems]


def test_shipped_ruleset_loads(stars) -> None:
    """The shipped ruleset loads, with its derived values ordered and every expression compiled."""
    assert stars.name == "callcenter-stars"
    assert stars.derived_order == (  # its own, then the employment calendar's
        "aht_minutes", "paid_days", "attended_days", "available_days", "on_protected_leave", "calls_full_time",
    )  # fmt: skip
    assert stars.expr("levels[4].entry") is not None
    assert len(stars.sha256) == 64


def test_misspelled_metric_names_file_line_column_and_suggestion() -> None:
    """A misspelled metric in a criterion points at the word, with a suggestion."""
    text = HEAD + textwrap.dedent(
        """\
        levels:
          - {id: L1, name: 一星}
          - id: L2
            name: 二星
            entry: "qa_score >= 80 and qa_scor > 1"
        """
    )
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text, file="x.yaml")
    assert str(caught.value) == (
        "x.yaml:14:32: levels[1].entry: unknown name 'qa_scor' (did you mean 'qa_score'?)\n"
        "    | qa_score >= 80 and qa_scor > 1"
    )


def test_block_scalar_expression_points_inside_the_block() -> None:
    """In a multi-line block the error line is the line inside the block, not the key's."""
    text = (
        HEAD
        + "levels:\n  - {id: L1, name: a}\n  - id: L2\n    name: b\n    entry: |\n      qa_score >= 80 and\n      callz > 3\n"
    )
    assert problems(text) == ["x.yaml:16:7: levels[1].entry: unknown name 'callz' (did you mean 'calls'?)"]


def test_unknown_key_suggests_the_right_one() -> None:
    """An unknown key is an error that names the nearest allowed key."""
    text = HEAD + "levels:\n  - {id: L1, name: a}\n  - {id: L2, name: b, entery: 'qa_score > 1'}\n"
    assert problems(text) == ["x.yaml:12:23: levels[1].entery: unknown key 'entery' (did you mean 'entry'?)"]


def test_duplicate_key_is_an_error_not_last_one_wins() -> None:
    """A key given twice is refused, naming both lines."""
    text = HEAD + "levels:\n  - {id: L1, name: a}\nlevels: []\n"
    assert problems(text) == ["x.yaml:12:1: levels: duplicate key 'levels' (first at line 11)"]


def test_tab_indentation_is_explained() -> None:
    """A tab in indentation gets a plain explanation, with its line."""
    assert problems("tierpay: 1\nmetrics:\n\tqa: {}\n") == [
        "x.yaml:3:1: YAML syntax: a tab character: indent YAML with spaces"
    ]


def test_type_mismatch_and_cross_type_equality() -> None:
    """Comparing text with a number is caught at load time, including ``==`` that is silently false."""
    text = HEAD + textwrap.dedent(
        """\
        levels:
          - {id: L1, name: a}
          - {id: L2, name: b, entry: "region == 2", maintain: "region > 1"}
        """
    )
    assert problems(text) == [
        "x.yaml:12:31: levels[1].entry: `region == 2` compares text with a number: it is always false",
        "x.yaml:12:56: levels[1].maintain: type mismatch (data type mismatch): numbers, text and true/false cannot be mixed",
    ]


def test_criterion_must_be_true_or_false() -> None:
    """A criterion that gives a number is refused."""
    text = HEAD + "levels:\n  - {id: L1, name: a}\n  - {id: L2, name: b, entry: 'qa_score + 1'}\n"
    assert problems(text) == ["x.yaml:12:31: levels[1].entry: must give true or false, but gives a number"]


def test_syntax_error_points_at_the_token() -> None:
    """A syntax error names the unexpected token and its column."""
    text = HEAD + "levels:\n  - {id: L1, name: a}\n  - {id: L2, name: b, entry: 'qa_score >= 80 calls'}\n"
    assert problems(text) == ["x.yaml:12:46: levels[1].entry: syntax error: unexpected `calls`"]


def test_circular_derived_values() -> None:
    """Derived values that refer to each other in a circle are refused with the cycle."""
    text = HEAD + "derived:\n  a: b + 1\n  b: a + 1\nlevels:\n  - {id: L1, name: a}\n"
    assert problems(text) == ["x.yaml:11:3: derived.a: circular derived values: a -> b -> a"]


def test_every_problem_at_once_sorted_by_line() -> None:
    """Several problems are all reported, in line order."""
    text = HEAD + textwrap.dedent(
        """\
        levels:
          - {id: L1, name: a, entry: "qa_score > 1"}
          - {id: L2, name: b, entry: "nope > 1"}
          - {id: L2, name: c, entry: "calls > 1"}
        """
    )
    assert problems(text) == [
        "x.yaml:11:23: levels[0].entry: the lowest level 'L1' is the floor: it takes no entry",
        "x.yaml:12:31: levels[1].entry: unknown name 'nope'",
        "x.yaml:13:6: levels[2].id: level id 'L2' is used twice",
    ]


def test_missing_required_keys() -> None:
    """Missing required keys are named."""
    assert problems("tierpay: 1\nname: x\n") == [
        "x.yaml:1:1: effective_from: required key is missing",
        "x.yaml:1:1: levels: required key is missing",
        "x.yaml:1:1: metrics: required key is missing",
        "x.yaml:1:1: version: required key is missing",
    ]


def test_scorecard_weights_must_sum_to_one() -> None:
    """Weights that do not sum to 1 are a load-time error."""
    text = HEAD + textwrap.dedent(
        """\
        scorecard:
          parts:
            - {metric: qa_score, weight: 0.6, normalise: {method: linear, worst: 60, best: 95}}
            - {metric: calls, weight: 0.3, normalise: {method: percentile}}
        levels:
          - {id: L1, name: a}
        """
    )
    assert problems(text) == ["x.yaml:10:1: scorecard: weights must sum to 1, they sum to 0.9"]


def test_band_gaps_are_load_time_errors() -> None:
    """A gap between coefficient bands is refused."""
    text = HEAD + textwrap.dedent(
        """\
        levels:
          - {id: L1, name: a}
        pay:
          coefficient:
            source: band
            band:
              of: qa_score
              bands:
                - {below: 60, coefficient: 0.8}
                - {above: 70, below: 90, coefficient: 1.0}
                - {above: 90, coefficient: 1.2}
          lines:
            - {id: base, amount: 3000}
        """
    )
    assert problems(text) == [
        "x.yaml:15:5: pay.coefficient.band: gap between bands[0] (below 60) and bands[1] (above 70)"
    ]


def test_decimals_are_read_exactly() -> None:
    """YAML floats become exact decimals from their text."""
    text = HEAD + "levels:\n  - {id: L1, name: a}\npay:\n  lines:\n    - {id: base, amount: 3000.10}\n"
    ruleset = parse_ruleset(text)
    assert ruleset.model.pay is not None
    assert ruleset.model.pay.lines[0].amount == Decimal("3000.10")


def test_refused_expression_constructs() -> None:
    """Constructs that can hang or escape are refused before rule-engine builds them."""
    for expr, message in [
        ("calls << 100000000 > 1", "bit shifts are not allowed"),
        ("calls ** 99999999 > 1", "`**` is not allowed (huge powers hang); multiply instead"),
        ("region =~ '(a+)+$'", "regular-expression matches (`=~`) are not allowed"),
        ("$abs(calls) > 1", "built-in functions such as `$abs` are not supported"),
    ]:
        text = HEAD + f'levels:\n  - {{id: L1, name: a}}\n  - {{id: L2, name: b, entry: "{expr}"}}\n'
        assert problems(text)[0].endswith(message), expr


def test_missing_file_is_a_ruleset_error(tmp_path: Path) -> None:
    """A ruleset file that does not exist is reported as such."""
    with pytest.raises(RulesetError, match="cannot read"):
        load_ruleset(tmp_path / "none.yaml")


def test_json_schema_is_generated_from_the_models() -> None:
    """The JSON Schema names the format's top-level keys, in a whole ruleset and in one with ``extends:``."""
    schema = ruleset_json_schema()
    assert schema["title"] == "tierpay ruleset"
    assert (schema["if"], schema["then"], schema["else"]) == (
        {"required": ["extends"]},
        {"$ref": "#/$defs/RulesetPatch"},
        {"$ref": "#/$defs/Ruleset"},
    )
    whole, patch = schema["$defs"]["Ruleset"], schema["$defs"]["RulesetPatch"]
    assert {"metrics", "levels", "pay", "review", "scorecard"} <= set(whole["properties"])
    assert set(whole["properties"]) == set(patch["properties"])
    assert {"tierpay", "name"} <= set(whole["required"])
    assert [one["required"] for one in whole["oneOf"]] == [
        ["levels"],
        ["ladders", "ladder_by"],
    ]  # one ladder or several
    assert "required" not in patch
    assert "oneOf" not in patch
    assert schema["$defs"]["LevelPatch"]["required"] == ["id"]  # levels merge by id
    assert patch["properties"]["grades"] == whole["properties"]["grades"]  # grades replace the base's whole


def test_a_date_the_calendar_lacks_is_an_error_at_its_place() -> None:
    """``2026-02-30`` unquoted is a problem at its line and column, not a traceback (issue 15)."""
    text = HEAD.replace("effective_from: 2026-01-01", "effective_from: 2026-02-30")
    assert text != HEAD
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text, file="dates.yaml")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.column) == ("dates.yaml", 4, 17)
    assert "2026-02-30 is not a date of the calendar" in problem.message
