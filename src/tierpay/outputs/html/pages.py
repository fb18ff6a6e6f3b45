"""HTML pages from the report's and the slips' values, through Jinja2 templates shipped in the package.

A page is one self-contained file: its style and charts are inline, it names no other file
and fetches nothing, so it opens from an e-mail or a shared folder and prints on A4. The same
run gives the same bytes (no clock, no random ids). Jinja2 escapes every value it inserts.
Jinja2 is the optional ``html`` extra: ``pip install "tierpay[html]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

from tierpay import __version__
from tierpay.engine.pay import money
from tierpay.errors import OutputError
from tierpay.outputs.html.charts import colour, horizontal_bars, stacked_bars
from tierpay.outputs.html.month import MonthReport
from tierpay.outputs.html.slips import Slip
from tierpay.words import WORDS, say

INSTALL = 'pip install "tierpay[html]"'
"""How to get what HTML output needs."""


def _environment() -> Any:
    try:
        import jinja2
    except ModuleNotFoundError:
        raise OutputError(f"HTML output needs the html extra: {INSTALL}") from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tierpay.outputs.html", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def require() -> None:
    """Refuse HTML output before any work when Jinja2, the ``html`` extra, is not installed."""
    _environment()


def _style() -> str:
    return (resources.files("tierpay.outputs.html") / "templates" / "page.css").read_text(encoding="utf-8")


def _words(lang: str) -> dict[str, str]:
    """The page's words in ``lang``: ``w["page.levels"]`` in a template (blanks filled where the template fills them)."""
    index = 0 if lang == "en" else 1
    return {key: pair[index] for key, pair in WORDS.items() if key.startswith(("page.", "slip.", "totals."))}


def report_page(report: MonthReport) -> str:
    """The month's report as one HTML page."""
    from markupsafe import Markup

    lang = report.lang
    names = [f"{level.ladder} · {level.name}" if level.ladder else level.name for level in report.levels]
    ids = [level.id for level in report.levels]
    history = stacked_bars(
        [period for period, _ in report.history],
        names,
        [counts for _, counts in report.history],
        say("page.chart_levels", lang),
    )
    level_block = next((block for block in report.pay if block.key == "level"), None)
    pay_chart = (
        horizontal_bars(
            [(row.name, row.pay, money(row.pay)) for row in level_block.rows],
            say("page.chart_pay", lang, period=report.period, currency=report.currency),
            [colour(_index(ids, row.id)) for row in level_block.rows],
        )
        if level_block is not None
        else ""
    )
    return str(
        _environment()
        .get_template("report.html.j2")
        .render(
            r=report,
            w=_words(lang),
            say=lambda key, **blanks: say(key, lang, **blanks),
            style=Markup(_style()),
            history_chart=Markup(history),
            pay_chart=Markup(pay_chart),
            colours=[colour(i) for i in range(len(names))],
            version=__version__,
        )
    )


def _index(names: Sequence[str], name: str) -> int:
    return names.index(name) if name in names else 0


def slips_page(slips: Sequence[Slip], lang: str, title: str) -> str:
    """Pay slips as one printable HTML file, a page each."""
    from markupsafe import Markup

    return str(
        _environment()
        .get_template("slips.html.j2")
        .render(
            slips=slips,
            lang=lang,
            title=title,
            w=_words(lang),
            say=lambda key, **blanks: say(key, lang, **blanks),
            style=Markup(_style()),
            version=__version__,
        )
    )
