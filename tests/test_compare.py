"""Comparing rulesets, and rulesets that extend others."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tierpay import RulesetError, evaluate, load_ruleset, read_records
from tierpay.outputs.compare import compare

from .conftest import ROOT, SAMPLE_H1, STARS
from .test_cli import run

VARIANT = ROOT / "examples" / "rulesets" / "callcenter-stars-qa-raised.yaml"


def test_variant_inherits_everything_it_does_not_change(stars) -> None:
    """A ruleset with ``extends:`` keeps the base's levels' names and pay, changes only what it names."""
    variant = load_ruleset(VARIANT, allow_outside_files=True)
    assert variant.version == "2026.2-draft"
    assert variant.model.levels[2].name == stars.model.levels[2].name
    assert variant.model.levels[2].entry is not None
    assert "qa_score >= 88" in variant.model.levels[2].entry
    assert variant.model.pay == stars.model.pay
    assert variant.model.tests == []  # a base's tests are not inherited
    assert variant.sha256 != stars.sha256


def test_error_in_base_points_at_the_base_file(tmp_path: Path) -> None:
    """A problem inherited from the base is reported at the base file's line."""
    base = tmp_path / "base.yaml"
    base.write_text(
        "tierpay: 1\nname: b\nversion: '1'\neffective_from: 2026-01-01\nmetrics: {qa: {}}\nlevels:\n  - {id: L1, name: a}\n  - {id: L2, name: b, entry: 'qa_x > 1'}\n",
        encoding="utf-8",
    )
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nversion: '2'\n", encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(child)
    assert [str(p).splitlines()[0] for p in caught.value.problems] == [
        f"{base}:8:31: levels[1].entry: unknown name 'qa_x'; {base} is named at {child}:1:1 in extends",
    ]


def test_extends_in_a_circle_is_refused(tmp_path: Path) -> None:
    """Two rulesets extending each other are refused."""
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n", encoding="utf-8")
    with pytest.raises(RulesetError, match="extends itself in a circle"):
        load_ruleset(tmp_path / "a.yaml")


def test_raised_qa_bar_costs_levels_and_saves_pay(stars) -> None:
    """Raising the QA bar moves some agents down and never up, and saves pay."""
    variant = load_ruleset(VARIANT, allow_outside_files=True)
    old = evaluate(stars, read_records(stars, SAMPLE_H1))
    new = evaluate(variant, read_records(variant, SAMPLE_H1))
    c = compare(stars, variant, old, new)
    assert c.compared == len(old.decisions)
    assert c.lose_level > 0
    assert c.gain_level == 0
    assert c.delta < 0
    assert c.delta == sum((ch.delta for ch in c.changes), Decimal(0))
    for groups in c.by.values():
        assert sum((g.delta for g in groups), Decimal(0)) == c.delta


def test_diff_command_reports_agents_and_pay_saved() -> None:
    """``tierpay diff`` says which ruleset is which in words, names who loses a level and the pay saved."""
    code, out, _ = run("diff", str(STARS), str(VARIANT), str(SAMPLE_H1))
    assert code == 1  # the sample's bad rows
    lines = out.splitlines()
    assert lines[0].startswith("old ruleset (in force): callcenter-stars 2026.1 (")
    assert lines[1].startswith("new ruleset (proposed): callcenter-stars 2026.2-draft (")
    assert lines[2:6] == [
        "416 agent-months compared, 39 changed under the new ruleset",
        "each change counted once, under the first of these that applies:",
        "  29  at a lower level",
        "  10  paid at another level (the level moved in an earlier month; pay follows a month later)",
    ]
    assert lines[6] == (
        "agents at a lower level in some month: A004, A007, A009, A022, A023, A026, A027, A038, A039, A054, A055, "
        "A068, A070"
    )
    assert lines[8] == "pay under the old ruleset 1,794,666.12, under the new 1,777,146.12: 17,520.00 less"
    assert "→" not in out  # evaluate's arrow means month to month; diff says old and new in words
    assert lines[10].split() == [
        "agent", "period", "what", "changed", "old", "level", "new", "level", "old", "level", "paid",
        "new", "level", "paid", "old", "pay", "new", "pay", "difference",
    ]  # fmt: skip
    assert lines[12].split() == [
        "A009",
        "2026-02",
        "lower",
        "level",
        "L4",
        "L3",
        "L3",
        "L3",
        "5,900.00",
        "5,900.00",
        "0.00",
    ]
    _, raw, _ = run("diff", str(STARS), str(VARIANT), str(SAMPLE_H1), "--format", "json")
    data = json.loads(raw)
    assert data["delta"] == "-17520.00"
    assert {g["group"] for g in data["by"]["region"]} == {"tier1", "tier2"}


def test_every_change_is_counted_under_one_kind(stars) -> None:
    """The kinds add up to the changes: a pay change one month after a level move is "paid at another level"."""
    from tierpay.outputs.compare import KINDS

    variant = load_ruleset(VARIANT)
    old = evaluate(stars, read_records(stars, SAMPLE_H1))
    new = evaluate(variant, read_records(variant, SAMPLE_H1))
    c = compare(stars, variant, old, new)
    assert sum(c.kinds.values()) == len(c.changes) == 39
    assert set(c.kinds) == set(KINDS)
    assert c.kinds["lower_level"] == c.lose_level == 29
    paid = [ch for ch in c.changes if ch.kind == "pay_level"]
    assert len(paid) == 10
    assert all(ch.level_old == ch.level_new and ch.pay_level_old != ch.pay_level_new for ch in paid)


def test_diff_in_chinese_names_levels_and_kinds() -> None:
    """``diff --lang zh``: 现行/新 columns, level names from the rulesets, every kind counted."""
    _, out, _ = run("diff", str(STARS), str(VARIANT), str(SAMPLE_H1), "--lang", "zh")
    lines = out.splitlines()
    assert lines[0].startswith("现行规则：callcenter-stars 2026.1 (")
    assert lines[2:6] == [
        "共比较 416 个人月，新规则下有 39 个发生变化",
        "每项变化只计一次，按下列顺序归入第一个适用的类别：",
        "  29  级别降低",
        "  10  按不同级别计薪（级别在此前月份变动，工资次月起调整）",
    ]
    assert lines[8] == "现行规则下工资 1,794,666.12，新规则下 1,777,146.12：减少 17,520.00"
    assert lines[10].split()[:5] == ["工号", "月份", "变化", "现行级别", "新级别"]
    assert lines[12].split()[:5] == ["A009", "2026-02", "级别降低", "四星坐席", "三星坐席"]
