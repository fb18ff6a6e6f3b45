"""The month's HTML report and printable pay slips: their figures are the run's, they fetch nothing,
and a real browser (headless Chromium) shows them."""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tierpay.cli import main

from . import browser
from .conftest import ROOT, SAMPLE_H1, STARS

ARTIFACTS = Path(os.environ.get("TIERPAY_ARTIFACTS", ROOT / "build" / "test-artifacts"))
LEVELS_ZH = ["一星坐席", "二星坐席", "三星坐席", "四星坐席", "五星坐席"]


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


class _Text(HTMLParser):
    """The text a reader sees, without style and script."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("style", "script", "title")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("style", "script", "title")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def summary_totals(lang: str = "en") -> tuple[str, str, str]:
    """Agents, agent-months and pay of the whole run, as ``evaluate --summary`` prints them."""
    code, out, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--summary", "--lang", lang)
    assert code == 1  # the sample's deliberately bad rows
    total = "合计" if lang == "zh" else "total"
    last = [line.split() for line in out.splitlines() if line.startswith(total + " ")][-1]
    return last[1], last[2], last[3]


@pytest.fixture(scope="module")
def month_zh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("report") / "month.html"
    code, _, err = run("report", str(STARS), str(SAMPLE_H1), "--lang", "zh", "-o", str(page))
    assert code == 1, err  # rejected rows exit 1, as evaluate does, and are on the page
    assert "退回：" in err  # framed in the page's language
    return page


@pytest.fixture(scope="module")
def slip_zh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("slips") / "slip.html"
    code, _, err = run(
        "statement", str(STARS), str(SAMPLE_H1), "--format", "html", "--lang", "zh", "--agent", "A011",
        "--period", "2026-06", "-o", str(page),
    )  # fmt: skip
    assert code == 0, err
    return page


# --- the page's figures are the run's own ---------------------------------------------------


def test_report_totals_are_the_summary_totals(month_zh: Path) -> None:
    agents, months, pay = summary_totals("zh")
    text = text_of(month_zh.read_text(encoding="utf-8"))
    # The cards: 人数 70, 人月 416, 已评定 416, 被退回 10, 工资 1,794,666.12 (the sample's
    # 428 lines less the header are 416 decided, one of them from A002's two records for
    # March, and 10 rejected).
    assert f"人数 {agents} 人月 {months} 已评定 416 被退回 10 工资（CNY） {pay}" in text
    assert (agents, months, pay) == ("70", "416", "1,794,666.12")


def test_report_shows_every_level_by_its_chinese_name(month_zh: Path) -> None:
    text = text_of(month_zh.read_text(encoding="utf-8"))
    for name in LEVELS_ZH:
        assert name in text


def test_report_focus_month_levels_moves_flags_and_pay(month_zh: Path) -> None:
    text = text_of(month_zh.read_text(encoding="utf-8"))
    # June is the last month decided: 9 moved (checked against the decisions CSV below).
    _, csv_text, _ = run("evaluate", str(STARS), str(SAMPLE_H1), "--format", "csv")
    june = [r for r in csv.DictReader(io.StringIO(csv_text)) if r["period"] == "2026-06"]
    moved = [r for r in june if r["level"] != r["level_before"] or r["action"] == "convert"]
    flagged = [r for r in june if r["review_flagged"] == "true"]
    assert f"2026-06 级别变动：{len(moved)} 人" in text
    for r in moved:
        assert r["agent_id"] in text
    for r in flagged:
        assert r["agent_id"] in text
    # June's pay total is the sum of June's pay_total cells, to the fen.
    from decimal import Decimal

    june_pay = sum((Decimal(r["pay_total"]) for r in june), Decimal(0))
    assert f"合计 {len(june)} {june_pay:,.2f}" in text


def test_report_names_its_inputs_by_hash(month_zh: Path) -> None:
    import hashlib

    html = month_zh.read_text(encoding="utf-8")
    assert hashlib.sha256(SAMPLE_H1.read_bytes()).hexdigest() in html
    assert "130fa59bce2474b5d0696642f97f3c90a5b2a26d335c4ee3e3b768613d9edc4f" in html or "sha256" in html


def test_report_is_the_same_bytes_for_the_same_run(month_zh: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.html"
    run("report", str(STARS), str(SAMPLE_H1), "--lang", "zh", "-o", str(again))
    assert again.read_bytes() == month_zh.read_bytes()


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?!#|data:)|url\((?!["']?data:)|@import|https?://|//[a-z]""", re.I)


@pytest.mark.parametrize("fixture", ["month_zh", "slip_zh"])
def test_pages_fetch_nothing(fixture: str, request: pytest.FixtureRequest) -> None:
    """Scripts, styles, fonts and charts are inline: nothing names another file or a server."""
    html = request.getfixturevalue(fixture).read_text(encoding="utf-8")
    assert not EXTERNAL.findall(html)
    assert "<svg" in html or fixture == "slip_zh"


def test_report_in_english_and_a_chosen_month(tmp_path: Path) -> None:
    page = tmp_path / "march.html"
    code, _, _ = run("report", str(STARS), str(SAMPLE_H1), "--period", "2026-03", "-o", str(page))
    assert code == 1
    text = text_of(page.read_text(encoding="utf-8"))
    assert "callcenter-stars: the month's run, 2026-03" in text
    assert "Against 2026-02, the month before." in text
    assert "Levels in 2026-03" in text


def test_report_of_a_month_with_no_decision_says_so(tmp_path: Path) -> None:
    code, _, err = run("report", str(STARS), str(SAMPLE_H1), "--period", "2027-01", "-o", str(tmp_path / "x.html"))
    assert code == 1
    assert "error: --period 2027-01: no decision: the records hold no 2027-01 (they hold 2026-01 to 2026-06)" in err
    assert not (tmp_path / "x.html").exists()


def test_kept_names_are_escaped(tmp_path: Path) -> None:
    """A name from an export is text on the page, never markup."""
    records = tmp_path / "r.csv"
    lines = SAMPLE_H1.read_text(encoding="utf-8").splitlines()
    rows = [lines[0] + ",姓名"] + [line + ",<script>alert(1)</script>" for line in lines[1:4]]
    records.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page = tmp_path / "slips.html"
    code, _, err = run(
        "statement", str(STARS), str(records), "--keep", "姓名", "--format", "html", "--all", "-o", str(page)
    )
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- pay slips ------------------------------------------------------------------------------


def test_slip_has_every_line_and_the_total(slip_zh: Path) -> None:
    text = text_of(slip_zh.read_text(encoding="utf-8"))
    # A011 in June, as `statement --lang zh` prints it: 基本工资 3,047.62 (3,200.00 × 20/21
    # days), 绩效工资 457.14 and a 最低工资补足 of 79.77, total 3,584.53.
    code, statement, _ = run(
        "statement", str(STARS), str(SAMPLE_H1), "--lang", "zh", "--agent", "A011", "--period", "2026-06"
    )
    assert code == 0
    for line in ("基本工资", "绩效工资", "最低工资补足"):
        assert line in statement
        assert line in text
    assert "基本工资 3,047.62" in text
    assert "合计 3,584.53 CNY" in text


def test_all_slips_print_a_page_each(tmp_path: Path) -> None:
    page = tmp_path / "all.html"
    code, _, _ = run(
        "statement", str(STARS), str(SAMPLE_H1), "--format", "html", "--period", "2026-06", "-o", str(page)
    )
    assert code == 1  # the sample's January rows are rejected, and listed
    html = page.read_text(encoding="utf-8")
    assert html.count('<article class="slip"') == 70  # June's 70 agent-months
    assert "break-after: page" in html  # one slip a printed page


def test_html_needs_the_html_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if Jinja2 were not installed
    code, _, err = run("report", str(STARS), str(SAMPLE_H1), "-o", str(tmp_path / "m.html"))
    assert code == 5
    assert err == 'error: HTML output needs the html extra: pip install "tierpay[html]"\n'
    assert not list(tmp_path.iterdir())


def test_all_and_agent_exclude_each_other() -> None:
    code, _, err = run("statement", str(STARS), str(SAMPLE_H1), "--all", "--agent", "A001")
    assert code == 2
    assert "not allowed with argument" in err


# --- in a real browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    found = browser.chromium()
    if found is None:
        if browser.required():
            pytest.fail(f"TIERPAY_REQUIRE_BROWSER is set but no Chromium was found: {browser.INSTALL}")
        pytest.skip(f"no Chromium to render the pages in: {browser.INSTALL}")
    return found


def test_report_renders_in_chromium(chromium: str, month_zh: Path) -> None:
    agents, months, pay = summary_totals("zh")
    shown = text_of(browser.dom(chromium, month_zh))
    assert f"人数 {agents} 人月 {months}" in shown
    assert pay in shown
    for name in LEVELS_ZH:
        assert name in shown
    png = browser.screenshot(chromium, month_zh, ARTIFACTS / "report-zh.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a drawn page, not a blank one


def test_slip_renders_in_chromium(chromium: str, slip_zh: Path) -> None:
    shown = text_of(browser.dom(chromium, slip_zh))
    assert "工资条 · A011" in shown
    assert "基本工资 3,047.62" in shown
    png = browser.screenshot(chromium, slip_zh, ARTIFACTS / "slip-zh.png", 900, 700)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_slips_print_a_page_each_in_chromium(chromium: str, tmp_path: Path) -> None:
    """Printed, three agents' slips are three A4 pages: the print style breaks after each slip."""
    page = tmp_path / "three.html"
    code, _, err = run(
        "statement", str(STARS), str(SAMPLE_H1), "--format", "html", "--period", "2026-06",
        "--agent", "A001", "--agent", "A002", "--agent", "A011", "-o", str(page),
    )  # fmt: skip
    assert code == 0, err
    document = browser.pdf(chromium, page, ARTIFACTS / "slips-three.pdf")
    assert document.startswith(b"%PDF")
    assert browser.pages(document) == 3
    # A4 is 210 x 297 mm, 595.3 x 841.9 points; Chromium writes 594.96 x 841.92.
    boxes = re.findall(rb"/MediaBox\s*\[0 0 ([0-9.]+) ([0-9.]+)\]", document)
    assert len(boxes) == 3
    assert all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in boxes)


# --- a ruleset with ladders -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ladders_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """January of the two-ladder example, with a site and a fairness screen by site in each ladder's review."""
    from .test_ladders import site_ladders

    folder = tmp_path_factory.mktemp("ladders")
    rules, records = site_ladders(folder)
    page = folder / "month.html"
    code, _, err = run("report", str(rules), str(records), "-o", str(page))
    assert code == 1, err  # W1, a level of another ladder
    return page


def test_report_with_ladders_screens_fairness_ladder_by_ladder(ladders_page: Path) -> None:
    """Each ladder's screen over its own agents (figures worked in test_ladders), with the flag-rate ratio shown."""
    text = text_of(ladders_page.read_text(encoding="utf-8"))
    head = "group ranked flagged flag rate × rest impact ratio Fisher p screen"
    assert (
        f"agent · Fairness screen by site (2026-01) {head} north 3 0 0 0 1 0.4 south 2 1 0.5 ∞ 0.5 0.4 BELOW 4/5 RATIO"
    ) in text
    assert (
        f"qa · Fairness screen by site (2026-01) {head} north 2 0 0 0 1 1 south 3 1 0.3333 ∞ 0.6667 1 BELOW 4/5 RATIO"
    ) in text


def test_report_with_ladders_counts_levels_flags_and_pay_per_ladder(ladders_page: Path) -> None:
    """Levels ladder by ladder (before: S1 4, S2 1; Q1 4, Q2 1), each ladder's flags, and January's pay by ladder."""
    text = text_of(ladders_page.read_text(encoding="utf-8"))
    assert (
        "Levels in 2026-01 level before after change "
        "agent S3 Three-star agent 0 1 +1 S2 Two-star agent 1 2 +1 S1 One-star agent 4 2 -2 "
        "qa Q2 Senior inspector 1 2 +1 Q1 Inspector 4 3 -1 "
        "team_lead T2 Senior team lead 0 0 0 T1 Team lead 0 0 0"
    ) in text
    assert "agent · team=T1 A5 5/5 30 1 qa · all I3 5/5 25 1" in text  # each flag under its own ladder's review
    assert "ladder agent-months 2026-01 — change agent 5 26,200.00 — — qa 5 29,880.00 — — total 10 56,080.00" in text
    assert "level paid agent-months 2026-01 — change agent · One-star agent 2 9,600.00" in text
    assert "pay (CNY) 56,080.00" in text  # the totals card


def test_a_slip_with_ladders_names_the_ladder_and_its_lines(tmp_path: Path) -> None:
    """A4 in February, moved to team lead: the slip says team_lead and the team-lead ladder's lines, in English."""
    from .test_ladders import DECISIONS, RECORDS, RULESET

    page = tmp_path / "a4.html"
    code, _, err = run(
        "statement", str(RULESET), str(RECORDS), "--decisions", str(DECISIONS), "--format", "html",
        "--agent", "A4", "--period", "2026-02", "-o", str(page),
    )  # fmt: skip
    assert code == 0, err
    text = text_of(page.read_text(encoding="utf-8"))
    assert "ladder team_lead level paid T1 Team lead grade A coefficient 1" in text
    assert "Base pay 6,500.00 T1: 6,500.00 Performance pay 1,500.00" in text
    assert "Total 8,000.00 CNY" in text


def test_report_with_ladders_renders_in_chromium(chromium: str, ladders_page: Path) -> None:
    shown = text_of(browser.dom(chromium, ladders_page))
    assert "agent · Fairness screen by site (2026-01)" in shown
    assert "qa · Fairness screen by site (2026-01)" in shown
    assert "south 3 1 0.3333 ∞ 0.6667 1 BELOW 4/5 RATIO" in shown
    png = browser.screenshot(chromium, ladders_page, ARTIFACTS / "report-ladders.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
