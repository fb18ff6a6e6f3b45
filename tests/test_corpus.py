"""The hostile-input corpus: every bad ruleset and records file gives its exact, pinned output.

Each ``tests/corpus/rulesets/NAME.yaml`` is validated (``tierpay validate --strict``) and each
``tests/corpus/records/NAME.{csv,json}`` evaluated against ``records/ruleset.yaml``; the exit
code, standard output and standard error must equal ``NAME.expected``. To change an
expectation on purpose, run ``python tests/test_corpus.py`` and review the diff.
"""

from __future__ import annotations

import io
import os
import sys
import tracemalloc
from pathlib import Path

import pytest

from tierpay.cli import main

CORPUS = Path(__file__).resolve().parent / "corpus"
RULESETS = sorted((CORPUS / "rulesets").glob("*.yaml"))
RECORDS = sorted(p for p in (CORPUS / "records").iterdir() if p.suffix in (".csv", ".json"))
MEMORY_LIMIT = 300 * 1024 * 1024


def command(path: Path) -> list[str]:
    """The tierpay command for a corpus file, with paths relative to the corpus folder."""
    relative = str(path.relative_to(CORPUS))
    if path.parent.name == "rulesets":
        return ["validate", "--strict", relative]
    return ["evaluate", "records/ruleset.yaml", relative, "--format", "csv"]


def observe(path: Path) -> tuple[str, int]:
    """The pinned form of running the command, and the peak memory it took."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(CORPUS)
    tracemalloc.start()
    try:
        code = main(command(path), stdout=out, stderr=err)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        os.chdir(cwd)
    return f"exit {code}\n--- stdout\n{out.getvalue()}--- stderr\n{err.getvalue()}", peak


@pytest.mark.parametrize("path", RULESETS + RECORDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_case(path: Path) -> None:
    """The case produces exactly its pinned output, within the memory bound."""
    expected = path.with_suffix(".expected").read_text(encoding="utf-8")
    actual, peak = observe(path)
    assert actual == expected
    assert peak < MEMORY_LIMIT


def test_every_case_has_an_expectation() -> None:
    """No corpus file is left without its .expected file, and no .expected without its case."""
    cases = {p.with_suffix(".expected") for p in RULESETS + RECORDS}
    pinned = set(CORPUS.rglob("*.expected"))
    assert cases == pinned


def test_oversized_ruleset_is_refused_before_parsing(tmp_path: Path) -> None:
    """A ruleset over 5 MiB is refused without being parsed."""
    big = tmp_path / "big.yaml"
    big.write_text("tierpay: 1\n" + "# padding\n" * 600_000, encoding="utf-8")
    err = io.StringIO()
    assert main(["validate", str(big)], stdout=io.StringIO(), stderr=err) == 3
    assert err.getvalue() == f"{big}: file is larger than 5 MiB\n1 problem found\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the expectations, for review
    for case in RULESETS + RECORDS:
        case.with_suffix(".expected").write_text(observe(case)[0], encoding="utf-8")
    sys.exit(0)
