"""Explanations answer "why not promoted?" clause by clause, in English and Chinese."""

from __future__ import annotations

import re

import pytest

from tierpay import evaluate, read_records
from tierpay.outputs.explain import explain, trace

from .conftest import SAMPLE_H1, build
from .test_cli import run


@pytest.fixture(scope="module")
def sample(stars):
    """The six-month sample, evaluated."""
    return evaluate(stars, read_records(stars, SAMPLE_H1))


def test_missed_promotion_names_the_failed_criterion_and_the_gap(stars, sample) -> None:
    """A003 in March misses L3 on QA by 0.8 and on the score by 3.15, in both languages."""
    decision = sample.decision("A003", "2026-03")
    en = explain(decision, stars, "en")
    assert "A003  2026-03: L2 Two-star agent, kept\n  entry criteria of L3 (Three-star agent) not met\n" in en
    assert "  ✗ QA score 84.2 < 85: not met (short by 0.8)\n" in en
    assert "  ✓ Customer satisfaction 91.3% >= 88%: met\n" in en
    assert "  ✗ Composite score 74.85 < 78: not met (short by 3.15)\n" in en
    zh = explain(decision, stars, "zh")
    assert "  未达到 L3 三星坐席 的晋级标准\n" in zh
    assert "  ✗ 质检得分 84.2 未达到 85（差 0.8）\n" in zh


def test_vetoed_promotion_shows_the_veto(stars, sample) -> None:
    """A blocked promotion shows the veto that held, with its reason."""
    en = explain(sample.decision("A008", "2026-03"), stars, "en")
    assert "meets the entry criteria of L3 (Three-star agent), but promotion is blocked: discipline" in en
    assert "  ✗ discipline: A discipline incident this month (`discipline_incidents > 0`) holds" in en


def test_explanation_covers_score_grade_review_and_pay(stars, sample) -> None:
    """The explanation lists the score's parts, the grade rule, the review and each pay line."""
    en = explain(sample.decision("A015", "2026-05"), stars, "en")
    assert "Composite score " in en
    assert "  - QA score " in en
    assert "Grade " in en
    assert "Bottom-ranking review: rank " in en
    assert re.search(r"Deduction for losses +-1,120.00  loss_deduction 1,500.00; deductions capped at 20%", en)


def test_probationer_explanation_shows_conversion_criteria(stars, sample) -> None:
    """A probationer's explanation traces the conversion criteria; at the cap it says regular by law."""
    en = explain(sample.decision("A028", "2026-05"), stars, "en")
    assert "probation ends on 2026-07-04: refer to HR for a human review before then" in en
    assert "Conversion criteria (probation): not met" in en
    at_cap = explain(sample.decision("A028", "2026-06"), stars, "zh")
    assert "试用期至 2026-07-04 届满（自 2026-01-05 起 6 个月，合同期限 3y）：依法自下月起为正式员工" in at_cap


def test_explain_command_both_languages() -> None:
    """``tierpay explain`` renders one agent's decision; an unknown agent is an error."""
    code, out, _ = run(
        "explain",
        "rulesets/callcenter-stars.yaml",
        str(SAMPLE_H1),
        "--agent",
        "A003",
        "--period",
        "2026-03",
        "--lang",
        "zh",
    )
    assert code == 0
    assert "质检得分 84.2 未达到 85（差 0.8）" in out
    code, _, err = run("explain", "rulesets/callcenter-stars.yaml", str(SAMPLE_H1), "--agent", "ZZZ")
    assert code == 1
    assert err == "error: no record for agent ZZZ\n"


def test_rejected_record_is_explained_by_its_reasons() -> None:
    """Explaining a rejected record shows why it was rejected."""
    code, out, _ = run("explain", "rulesets/callcenter-stars.yaml", str(SAMPLE_H1), "--agent", "A902")
    assert code == 1
    assert "qa_score: 105 is above the maximum 100" in out


def test_unknown_language_is_refused() -> None:
    """Only English and Chinese are available."""
    outcome = evaluate(build(), [{"agent_id": "A", "period": "2026-01", "qa": 80}])
    with pytest.raises(ValueError, match="lang must be one of en, zh"):
        explain(outcome.decisions[0], build(), "fr")


def test_structured_trace_has_every_criterion_clause_by_clause(stars, sample) -> None:
    """The trace is data: each criterion evaluated, each clause with its operator and values."""
    from decimal import Decimal

    decision = sample.decision("A003", "2026-03")
    clauses = trace(decision, stars)
    assert set(clauses) == set(decision.checks)
    entry = clauses["levels[2].entry"]
    assert entry.held is False
    qa = entry.children[0]
    assert (qa.left, qa.op, qa.right, qa.held) == (("qa_score", Decimal("84.2")), ">=", ("85", Decimal("85")), False)


def test_chinese_explanation_has_chinese_words_throughout(stars, sample) -> None:
    """In Chinese: the action, units, the exemption's reason from the ruleset, and how each pay line was computed."""
    zh = explain(sample.decision("A012", "2026-01"), stars, "zh")
    assert zh.startswith("A012  2026-01：L1 一星坐席，保级\n")
    assert "  ✓ 缺勤天数 0 天 未超过 2 天\n" in zh
    assert "末位复核：豁免（试用期员工）\n" in zh
    assert "工资（L1 一星坐席）：\n" in zh
    assert re.search(r"绩效工资 +800\.00  L1，城市级别 tier1：800\.00 × 绩效系数 1（绩效等级 B）", zh)
    en = explain(sample.decision("A012", "2026-01"), stars, "en")
    assert "Bottom-ranking review: exempt (probation): On probation (assessed by the conversion rules instead)" in en
