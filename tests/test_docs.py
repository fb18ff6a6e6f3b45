"""The docs are tested: their code runs, the generated reference is current, nothing is undocumented."""

from __future__ import annotations

import difflib
import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import tierpay
from tierpay import parse_ruleset
from tierpay.cli import build_parser, main

from .conftest import ROOT

DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```", re.S | re.M)


def blocks(page: Path, language: str) -> list[str]:
    """The code blocks of ``language`` in ``page``, dedented."""
    found = []
    for indent, lang, body in FENCE.findall(page.read_text(encoding="utf-8")):
        if lang == language:
            found.append("\n".join(line[len(indent) :] for line in body.splitlines()))
    return found


PYTHON = [(page, i, code) for page in PAGES for i, code in enumerate(blocks(page, "python"))]


@pytest.mark.parametrize(("page", "index", "code"), PYTHON, ids=[f"{p.relative_to(ROOT)}#{i}" for p, i, _ in PYTHON])
def test_python_blocks_run(page: Path, index: int, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Python block in the docs runs from the repository root (the Spark how-to's where Spark can run)."""
    if page.name == "spark.md":
        from .test_spark import require_spark

        require_spark()
    monkeypatch.chdir(ROOT)
    exec(compile(code, f"{page}#{index}", "exec"), {"__name__": "__docs__"})


# The docs' terminal sessions are run and their outputs compared.
#
# Convention: a ```console block is a terminal session. A line starting with "$ " is a command
# (a line ending in "\\" continues on the next); the lines after it, up to the next command,
# are what it prints: standard output and standard error together, as a terminal shows them,
# compared exactly but for trailing spaces. A line "..." stands for any number of lines the
# page leaves out; nothing under a command means it prints nothing. A command must exit 0, or
# 1 when its output lists rejected records (rejected: or, under --lang zh, 退回：). Each page's sessions run in order in one fresh
# folder holding copies of the shipped rulesets/, examples/ and schema/, so a file one command
# writes (--state-out) is there for the next; a ``tierpay`` command anywhere else in a page's
# code blocks fails the test. Commands the test cannot run are allowed by this list only:
NOT_RUN = ("python3 -m venv ", ". .venv/bin/activate", "pip install ", "mkdocs serve", "pytest")
SHIPPED = ("rulesets", "examples", "schema")
CLOCK = "1772701200"  # SOURCE_DATE_EPOCH: "now" is 2026-03-05T09:00:00Z, so the ledger's run times are shown as printed
SKIPPED = "..."


def sessions(page: Path) -> list[tuple[str, list[str]]]:
    """The commands of ``page``'s console blocks, each with the output lines shown under it."""
    found: list[tuple[str, list[str]]] = []
    for block in blocks(page, "console"):
        lines = iter(block.splitlines())
        for line in lines:
            if line.startswith("$ "):
                command = line[2:]
                while command.endswith("\\"):
                    command = command[:-1] + next(lines).strip()
                found.append((command.strip(), []))
            elif found:
                found[-1][1].append(line)
            else:
                raise AssertionError(f"{page}: a console block starts with output, not a '$ ' command: {line!r}")
    return found


def shown_matches(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is ``shown`` with each "..." line standing for any run of lines."""
    parts: list[list[str]] = [[]]
    for line in shown:
        if line == SKIPPED:
            parts.append([])
        else:
            parts[-1].append(line)
    if len(parts) == 1:
        return shown == printed
    head, *middle, tail = parts
    if printed[: len(head)] != head or printed[len(printed) - len(tail) :] != tail:
        return False
    position, stop = len(head), len(printed) - len(tail)
    if stop < position:
        return False
    for part in middle:
        while position + len(part) <= stop and printed[position : position + len(part)] != part:
            position += 1
        if position + len(part) > stop:
            return False
        position += len(part)
    return True


def prepare(page: Path, folder: Path) -> None:
    """Copy the shipped files into ``folder``, plus the files a page asks its reader to make."""
    for name in SHIPPED:
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    if page.name == "write-a-ruleset.md":  # the guide's YAML blocks, saved as the file it validates
        (folder / "rulesets" / "outbound-levels.yaml").write_text(assembled_ruleset(), encoding="utf-8")
    if page.name == "large-inputs.md":  # the reader's own big file: here the six-month sample
        shutil.copy(ROOT / "examples" / "data" / "agents-2026h1.csv", folder / "big.csv")


SESSION_PAGES = [page for page in PAGES if sessions(page)]


@pytest.mark.parametrize("page", SESSION_PAGES, ids=[str(p.relative_to(ROOT)) for p in SESSION_PAGES])
def test_console_sessions_print_what_the_docs_show(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``$ tierpay`` command of a page runs, exits 0 (or 1 for rejected records) and prints what is shown."""
    prepare(page, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", CLOCK)
    failures = []
    for command, shown in sessions(page):
        steps = [step.strip() for step in command.split("&&")]
        if all(step.startswith(NOT_RUN) for step in steps):
            continue
        run = [step for step in steps if not step.startswith(NOT_RUN)]  # set-up steps first, then one tierpay
        argv = shlex.split(run[-1])
        if argv[0] != "tierpay" or len(run) > 1 or steps[-1] != run[-1]:
            failures.append(
                f"$ {command}\nthe test cannot run this: make it a tierpay command alone, or add it to NOT_RUN"
            )
            continue
        terminal = io.StringIO()
        code = main(argv[1:], stdout=terminal, stderr=terminal)
        printed = [line.rstrip() for line in terminal.getvalue().splitlines()]
        expected = [line.rstrip() for line in shown]
        while expected and expected[-1] == "":
            expected.pop()
        rejected = any(line.startswith(("rejected: ", "退回：")) for line in printed)
        if code not in ((0, 1) if rejected else (0,)):
            failures.append(f"$ {command}\nexited {code}:\n" + "\n".join(printed))
        elif not shown_matches(expected, printed):
            diff = difflib.unified_diff(expected, printed, "shown in the docs", "printed", lineterm="")
            failures.append(f"$ {command}\n" + "\n".join(diff))
    assert not failures, f"{page.relative_to(ROOT)}:\n\n" + "\n\n".join(failures)


def test_tierpay_commands_are_only_in_console_blocks() -> None:
    """A ``tierpay`` command in a bash (or other) block would escape the session test above."""
    for page in PAGES:
        for language in ("bash", "sh", "shell", "text"):
            for block in blocks(page, language):
                for line in block.splitlines():
                    words = line.strip().removeprefix("$ ").split("&&")
                    runnable = [
                        w.strip()
                        for w in words
                        if re.match(
                            r"tierpay (validate|evaluate|review|statement|explain|report|test|diff|schema|close|ledger)\b",
                            w.strip(),
                        )
                    ]
                    assert not runnable, (
                        f"{page.relative_to(ROOT)}: {runnable[0]!r} is in a {language} block: put it in a console block"
                    )


def assembled_ruleset() -> str:
    """The YAML blocks of the write-a-ruleset guide, put together."""
    return "\n".join(blocks(DOCS / "how-to" / "write-a-ruleset.md", "yaml"))


def test_shown_output_may_leave_out_lines_only_where_it_says_so() -> None:
    """A "..." line stands for any run of lines (none included); every other line must match."""
    printed = ["head", "a", "b", "c", "tail"]
    assert shown_matches(printed, printed)
    assert shown_matches(["head", "...", "tail"], printed)
    assert shown_matches(["head", "...", "b", "...", "tail"], printed)
    assert shown_matches(["...", "c", "tail"], printed)
    assert shown_matches(["head", "a", "b", "c", "...", "tail"], printed)
    assert not shown_matches(["head", "a", "tail"], printed)
    assert not shown_matches(["head", "...", "b", "a", "...", "tail"], printed)
    assert not shown_matches(["head", "a", "...", "a", "b", "c", "tail"], printed)
    assert not shown_matches([], printed)


def shown_after(page: Path, words: str) -> list[str]:
    """The lines of the one text block of ``page`` that contains ``words``."""
    [block] = [block for block in blocks(page, "text") if words in block]
    return block.splitlines()


def test_failing_case_output_in_the_docs_is_what_tierpay_test_prints(tmp_path: Path) -> None:
    """The failing case shown in the how-to and the CLI reference is the shipped ruleset with one total wrong."""
    text = (ROOT / "rulesets" / "callcenter-stars.yaml").read_text(encoding="utf-8")
    wrong = text.replace("{agent_id: D1, total: 4600.00,", "{agent_id: D1, total: 4700.00,")
    assert wrong != text
    shutil.copytree(ROOT / "rulesets", tmp_path / "rulesets")  # with the minimum-wage table it reads
    (tmp_path / "rulesets" / "callcenter-stars.yaml").write_text(wrong, encoding="utf-8")
    terminal = io.StringIO()
    assert main(["test", str(tmp_path / "rulesets" / "callcenter-stars.yaml")], terminal, terminal) == 1
    printed = terminal.getvalue().splitlines()
    for page in (DOCS / "how-to" / "test-a-ruleset.md", DOCS / "reference" / "cli.md"):
        assert shown_matches(shown_after(page, "FAIL  "), printed), page.name


def test_typo_output_in_the_guide_is_what_validate_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's error example is what validating its own ruleset with the typo it names prints."""
    text = assembled_ruleset()
    typo = text.replace('entry: "qa_score >= 85', 'entry: "qa_scor >= 85')
    assert typo != text
    (tmp_path / "rulesets").mkdir()
    (tmp_path / "rulesets" / "outbound-levels.yaml").write_text(typo, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    terminal = io.StringIO()
    assert main(["validate", "rulesets/outbound-levels.yaml"], terminal, terminal) == 3
    page = DOCS / "how-to" / "write-a-ruleset.md"
    assert shown_after(page, "qa_scor") == terminal.getvalue().splitlines()


def test_write_a_ruleset_guide_builds_a_valid_ruleset() -> None:
    """The guide's YAML blocks, put together, are a ruleset that loads."""
    ruleset = parse_ruleset(assembled_ruleset(), file="outbound-levels.yaml")
    assert ruleset.level_ids == ["L1", "L2", "L3"]


def test_yaml_snippets_in_how_tos_are_valid_yaml() -> None:
    """Every YAML block in the docs parses."""
    for page in PAGES:
        for block in blocks(page, "yaml"):
            yaml.safe_load(block)


def test_generated_reference_is_current() -> None:
    """docs/reference/ruleset.md and schema/ruleset.schema.json match the models."""
    result = subprocess.run(
        [sys.executable, str(DOCS / "scripts" / "gen_reference.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_reference_lists_every_ruleset_key() -> None:
    """Every field of every ruleset model appears in the reference."""
    from pydantic import BaseModel

    from tierpay.ruleset import ladders, model

    page = (DOCS / "reference" / "ruleset.md").read_text(encoding="utf-8")
    for obj in [*vars(model).values(), *vars(ladders).values()]:
        if (
            isinstance(obj, type)
            and issubclass(obj, BaseModel)
            and obj.__module__ in (model.__name__, ladders.__name__)
            and not obj.__name__.startswith("_")
        ):
            assert f"{{#{obj.__name__.lower()}}}" in page, obj.__name__
            for field in obj.model_fields:
                assert f"| `{field}` |" in page, f"{obj.__name__}.{field}"


def test_every_public_name_is_documented() -> None:
    """Each name in ``tierpay.__all__`` has a ``:::`` entry in the reference."""
    text = "".join(p.read_text(encoding="utf-8") for p in (DOCS / "reference").glob("*.md"))
    for name in tierpay.__all__:
        if name != "__version__":
            assert f"::: tierpay.{name}" in text, name


def test_cli_reference_lists_every_command_and_option() -> None:
    """Every command and long option of the parser is in the CLI reference."""
    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():  # type: ignore[attr-defined]
        assert f"## `tierpay {name}" in page, name
        for action in command._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert f"`{option}" in page, f"{name} {option}"


def test_cli_reference_lists_no_option_the_parser_lacks() -> None:
    """Every long option in the CLI reference's tables exists, so a removed one (``--fast``) leaves the page too."""
    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    known = {o for a in parser._actions for o in a.option_strings}
    for command in sub.choices.values():  # type: ignore[attr-defined]
        known.update(o for a in command._actions for o in a.option_strings)
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    documented = {option for row in rows for option in re.findall(r"`(--[a-z-]+)", row)}
    assert documented, "no option rows found in the CLI reference"
    assert documented <= known, sorted(documented - known)


def _plain(value: object) -> object:
    """YAML's dates as the text they were written as: what an editor's validator sees."""
    import datetime as dt

    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _schema_validator() -> Any:
    import json

    import jsonschema

    schema = json.loads((ROOT / "schema" / "ruleset.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_rulesets_validate_against_the_json_schema() -> None:
    """Every shipped, example, docs and test-case ruleset is valid against the committed JSON Schema.

    Files with ``extends:`` included, with nothing ignored: they state only what they change,
    and the schema requires no more of them (yaml-language-server once gave the QA-raised
    draft eight errors, ``Missing property "tierpay"`` among them).
    """
    validator = _schema_validator()
    documents = [
        (str(path.relative_to(ROOT)), yaml.safe_load(path.read_text(encoding="utf-8")))
        for path in [
            *ROOT.joinpath("rulesets").glob("*.yaml"),
            *ROOT.joinpath("examples", "rulesets").rglob("*.yaml"),
            *ROOT.joinpath("tests", "cases").glob("*.yaml"),
        ]
    ]
    documents += [
        (f"{page.relative_to(ROOT)} (yaml block)", yaml.safe_load(block))
        for page in PAGES
        for block in blocks(page, "yaml")
        if "\nextends:" in f"\n{block}"
    ]
    documents.append(("docs/how-to/write-a-ruleset.md (assembled)", yaml.safe_load(assembled_ruleset())))
    checked = [name for name, data in documents if "tierpay" in data or "extends" in data]
    for name, data in documents:
        if "tierpay" in data or "extends" in data:
            errors = sorted(validator.iter_errors(_plain(data)), key=lambda e: list(e.absolute_path))
            assert errors == [], f"{name}: {errors[0].json_path}: {errors[0].message if errors else ''}"
    assert len(checked) >= 10
    assert any("qa-raised" in name for name in checked)
    assert any("compare-rulesets" in name for name in checked)


def test_json_schema_types_amounts_as_numbers() -> None:
    """An amount written ``300元`` is wrong in a whole ruleset and in one that extends another; ``"300"`` is a number."""
    validator = _schema_validator()
    stars = _plain(yaml.safe_load((ROOT / "rulesets" / "callcenter-stars.yaml").read_text(encoding="utf-8")))
    assert isinstance(stars, dict)
    for amount, valid in (("300元", False), ("300", True), ("0.01", True), (300, True), ("三百", False)):
        stars["pay"]["lines"][3]["amount"] = amount
        assert validator.is_valid(stars) is valid, amount
        patch = {"extends": "callcenter-stars.yaml", "pay": {"lines": [{"id": "full_attendance", "amount": amount}]}}
        assert validator.is_valid(patch) is valid, amount
    bad = {"extends": "callcenter-stars.yaml", "levels": [{"id": "L2", "entry": "qa_score >= 83"}], "levls": []}
    assert [e.message for e in validator.iter_errors(bad)] == [
        "Additional properties are not allowed ('levls' was unexpected)"
    ]
    assert not validator.is_valid({"extends": "callcenter-stars.yaml", "levels": [{"entry": "qa_score >= 83"}]})
