"""The catalogue of words people read: complete in both languages, and Chinese where asked."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from tierpay import evaluate, load_ruleset, read_records
from tierpay.engine.levels import ACTIONS, REASONS
from tierpay.outputs.compare import KINDS
from tierpay.ruleset.model import Rounding
from tierpay.words import WHY_ZH, WORDS, Named, blanks, named, phrase, render, say

from .conftest import ROOT, SAMPLE_H1, STARS

GOLDEN_RULESETS = ROOT / "tests" / "golden" / "inputs" / "rulesets"
ENGLISH = re.compile(r"\b(?!CNY\b|inf\b)[A-Za-z]{3,}\b")
"""An English word: three letters or more, but the currency and infinity (ids are taken out before looking)."""


@pytest.mark.parametrize("key", sorted(WORDS))
def test_every_entry_has_both_languages_with_the_same_blanks(key: str) -> None:
    """Each entry is an (English, Chinese) pair; the Chinese needs no blank the English lacks."""
    en, zh = WORDS[key]
    assert en.strip()
    assert zh.strip()
    assert blanks(zh) <= blanks(en), key


def test_every_code_people_see_has_words() -> None:
    """Every action, kind of change and rounding mode has its words; every reason its Chinese sentence."""
    assert {f"action.{a}" for a in ACTIONS} <= set(WORDS)
    assert {f"diff.kind.{k}" for k in KINDS} | {f"diff.short.{k}" for k in KINDS} <= set(WORDS)
    modes = typing.get_args(Rounding.model_fields["mode"].annotation)
    assert {f"rounding.{m}" for m in modes} <= set(WORDS)
    assert set(REASONS) - {""} <= set(WHY_ZH)


def test_the_chinese_actions_are_what_a_payroll_analyst_writes() -> None:
    """晋升, 保级, 降级, 转正: the words of a Chinese star-level scheme (and probation continues, within its cap)."""
    assert [say(f"action.{a}", "zh") for a in ACTIONS] == ["保级", "晋升", "降级", "转正", "继续试用", "试用期复核"]


def test_a_phrase_is_rendered_when_shown() -> None:
    """A phrase keeps its blanks; a ruleset name shows its id in English and its label in Chinese."""
    region = named("region", {"en": "City tier", "zh": "城市级别"}, english_id=True)
    said = phrase("basis.by_level_by", level="L3", by=region, value="tier1", amount="4,000.00")
    assert said.text("en") == "L3, region tier1: 4,000.00"
    assert said.text("zh") == "L3，城市级别 tier1：4,000.00"
    assert render((said, phrase("basis.times", what=phrase("basis.grade", grade="B"))), "zh").endswith(" × 绩效等级 B")
    assert Named("L1").text("zh") == "L1"
    with pytest.raises(KeyError, match=r"no words for 'basis\.nothing'"):
        phrase("basis.nothing")


def _decisions(path: Path, records: Path) -> list[typing.Any]:
    ruleset = load_ruleset(path)
    return [d for d in evaluate(ruleset, read_records(ruleset, records)).decisions if d.pay is not None]


PAYING = [
    (STARS, SAMPLE_H1),
    *[
        (GOLDEN_RULESETS / f"{name}.yaml", ROOT / "tests" / "golden" / "inputs" / "sample-h1-t1-t2.csv")
        for name in ("floors-and-deductions", "coefficient-band", "coefficient-curve", "pay-derived")
    ],
]


@pytest.mark.parametrize(("path", "records"), PAYING, ids=lambda p: p.stem)
def test_every_pay_basis_is_the_same_in_english_and_wholly_chinese_in_chinese(path: Path, records: Path) -> None:
    """How each line was computed: the English is the basis in the JSON; the Chinese has no English word left
    but the ruleset's own ids and formulas, and a minimum wage's area and source as its table gives them."""
    decisions = _decisions(path, records)
    ruleset = load_ruleset(path)
    model = ruleset.model
    ids = {
        *model.metrics,
        *model.attributes,
        *model.derived,
        *(v for a in model.attributes.values() for v in a.values or []),
    }
    for d in decisions:
        assert d.pay is not None
        for line in d.pay.lines:
            assert line.basis_in("en") == line.basis
            zh = re.sub(r"`[^`]*`", "", line.basis_in("zh"))  # formulas and conditions are the ruleset's code
            zh = re.sub(r"（\d{4}-\d{2}-\d{2} 起执行，[^）]*）", "", zh)  # the minimum wage's cited source
            zh = re.sub(r"（[^）]*）的最低工资标准", "", zh)  # the area's name, as the table gives it
            left = {w for w in ENGLISH.findall(zh) if w not in ids}
            assert not left, f"{d.agent_id} {d.period} {line.id}: {line.basis_in('zh')}"


def test_rounding_and_floor_lines_are_chinese(tmp_path: Path) -> None:
    """The rounding line and the probation floor, from the shipped test cases, read in Chinese."""
    ruleset = load_ruleset(ROOT / "tests" / "cases" / "pay-floors-total-rounding.yaml")
    records = [r for case in ruleset.model.tests for r in case.records]
    seen = {}
    for d in evaluate(ruleset, records).decisions:
        for line in d.pay.lines if d.pay else []:
            seen[line.id] = line.basis_in("zh")
    assert "rounding" in seen
    assert re.match(
        r"^合计 [\d.]+ (四舍五入|四舍六入五成双|向上舍入|向下舍去|向上舍入（适用保底）)至 [\d.]+$", seen["rounding"]
    )
