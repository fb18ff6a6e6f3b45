"""rule-engine's parse tables, made ahead of time instead of at every start.

rule-engine builds its LALR parser (with its vendored ply) when it is imported, which took
0.3-0.5 s of every command that reads a ruleset. ply first looks for tables in the module
``rule_engine.parser.parsetab`` and uses them when their grammar signature is that of the
grammar it is asked to build. :func:`preload` puts the tables tierpay ships
(``_rule_engine_tables``, written by ply itself) under that name before rule-engine is
imported. With another rule-engine whose grammar differs the signature differs and ply
builds its own tables, as before; ``tests/test_expressions.py`` checks that the shipped
tables are those of the rule-engine installed. Regenerate them after upgrading rule-engine:
``python -m tierpay.ruleset.parse_tables``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

TABLES = "rule_engine.parser.parsetab"
"""Where ply looks for rule-engine's tables (the parser's package, then ``parsetab``)."""
SHIPPED = Path(__file__).with_name("_rule_engine_tables.py")


def preload() -> None:
    """Offer the shipped tables to rule-engine's parser; call it before rule-engine is imported."""
    if TABLES not in sys.modules and "rule_engine" not in sys.modules:
        from tierpay.ruleset import _rule_engine_tables

        sys.modules[TABLES] = _rule_engine_tables


def tables_text() -> str:
    """The tables of the installed rule-engine's grammar, as the module ply writes."""
    import rule_engine
    from rule_engine._vendor.ply import yacc

    with tempfile.TemporaryDirectory() as folder:
        yacc.yacc(
            module=rule_engine.Rule.parser,
            write_tables=True,
            tabmodule="_tables",
            outputdir=folder,
            debug=False,
            errorlog=yacc.NullLogger(),
        )
        text = (Path(folder) / "_tables.py").read_text(encoding="utf-8")
    return text.replace("# _tables.py\n", f"# {SHIPPED.name}: python -m tierpay.ruleset.parse_tables\n", 1)


if __name__ == "__main__":
    SHIPPED.write_text(tables_text(), encoding="utf-8")
    print(f"{SHIPPED} written")
