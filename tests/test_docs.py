"""The docs are tested: their code runs, the generated reference is current, nothing is undocumented."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

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
    """Every Python block in the docs runs from the repository root."""
    monkeypatch.chdir(ROOT)
    exec(compile(code, f"{page}#{index}", "exec"), {"__name__": "__docs__"})


def commands() -> list[tuple[Path, str]]:
    """Every ``tierpay`` command in the docs' bash blocks, with continuation lines joined."""
    found = []
    for page in PAGES:
        for block in blocks(page, "bash"):
            for line in block.replace("\\\n", " ").splitlines():
                if line.strip().startswith("tierpay "):
                    found.append((page, line.strip()))
    return found


@pytest.mark.parametrize(("page", "command"), commands(), ids=[c for _, c in commands()])
def test_cli_commands_run(page: Path, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``tierpay`` command shown in the docs runs (with its inputs present) without error."""
    for name in ("rulesets", "examples", "schema"):
        os.symlink(ROOT / name, tmp_path / name)
    if "outbound-levels.yaml" in command:
        (tmp_path / "rulesets").unlink()
        (tmp_path / "rulesets").mkdir()
        (tmp_path / "rulesets" / "outbound-levels.yaml").write_text(assembled_ruleset(), encoding="utf-8")
    if "big.csv" in command:
        (tmp_path / "big.csv").write_bytes((ROOT / "examples" / "data" / "agents-2026h1.csv").read_bytes())
    if "december-state.json" in command:
        state = tierpay.evaluate(tierpay.load_ruleset(ROOT / "rulesets" / "callcenter-stars.yaml"), []).state
        (tmp_path / "december-state.json").write_text(state.to_json(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(shlex.split(command)[1:], stdout=io.StringIO(), stderr=io.StringIO())
    assert code in (0, 1), f"{page}: {command} exited {code}"


def assembled_ruleset() -> str:
    """The YAML blocks of the write-a-ruleset guide, put together."""
    return "\n".join(blocks(DOCS / "how-to" / "write-a-ruleset.md", "yaml"))


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

    from tierpay.ruleset import model

    page = (DOCS / "reference" / "ruleset.md").read_text(encoding="utf-8")
    for obj in vars(model).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, BaseModel)
            and obj.__module__ == model.__name__
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


def test_shipped_rulesets_validate_against_the_json_schema() -> None:
    """Every shipped ruleset (and every test case) is valid against the committed JSON Schema."""
    import datetime as dt
    import json

    import jsonschema

    schema = json.loads((ROOT / "schema" / "ruleset.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)

    def plain(value: object) -> object:
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    files = [
        *ROOT.joinpath("rulesets").glob("*.yaml"),
        *ROOT.joinpath("examples", "rulesets").rglob("*.yaml"),
        *ROOT.joinpath("tests", "cases").glob("*.yaml"),
    ]
    checked = 0
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "tierpay" not in data and "extends" not in data:
            continue
        required = [] if "extends" in data else None
        errors = [
            e for e in validator.iter_errors(plain(data)) if not (required is not None and e.validator == "required")
        ]
        assert errors == [], f"{path}: {errors[0].message if errors else ''}"
        checked += 1
    assert checked >= 6
