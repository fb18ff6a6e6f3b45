"""The golden corpus: the CLI reproduces, byte for byte, what the record-by-record engine answered.

Each case of ``tests/golden/cases.yaml`` is a ``tierpay`` command line; ``tests/golden/<name>/``
holds its exit code, standard output, standard error and every file it wrote. The expected
files are data: this test only reads them. To change one on purpose, run
``python tests/golden/regenerate.py NAME`` and explain the change in the commit message.
"""

from __future__ import annotations

import difflib
import io
import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tierpay.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
TMP = "{tmp}"
EXIT, STDOUT, STDERR = "exit_code", "stdout.txt", "stderr.txt"
RESERVED = (EXIT, STDOUT, STDERR)
NOT_CASES = ("inputs",)
"""Folders of ``tests/golden`` that hold no expected outputs."""


@dataclass(frozen=True)
class Case:
    """One command line of the corpus."""

    name: str
    argv: tuple[str, ...]

    @property
    def folder(self) -> Path:
        """Where the expected outputs are kept."""
        return GOLDEN / self.name


def load_cases() -> list[Case]:
    """The cases of ``cases.yaml``, checked for unique names and output files that cannot clash."""
    items = yaml.safe_load((GOLDEN / "cases.yaml").read_text(encoding="utf-8"))
    cases = [Case(item["name"], tuple(shlex.split(item["argv"]))) for item in items]
    names = [c.name for c in cases]
    clashes = sorted({n for n in names if names.count(n) > 1} | set(NOT_CASES).intersection(names))
    if clashes:
        raise ValueError(f"tests/golden/cases.yaml: case names used twice or reserved: {', '.join(clashes)}")
    for case in cases:
        for arg in case.argv:
            if arg.startswith(f"{TMP}/") and (arg[len(TMP) + 1 :] in RESERVED or "/" in arg[len(TMP) + 1 :]):
                raise ValueError(f"tests/golden/cases.yaml: {case.name}: write outputs as {TMP}/NAME, not {arg}")
    return cases


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run(case: Case, tmp: Path) -> dict[str, bytes]:
    """Run ``case`` from the repository root, writing files into ``tmp``; every output by file name."""
    argv = [arg.replace(TMP, str(tmp)) for arg in case.argv]
    out, err = io.StringIO(), io.StringIO()
    with _working_directory(ROOT):
        code = main(argv, stdout=out, stderr=err)
    outputs = {EXIT: f"{code}\n".encode(), STDOUT: out.getvalue().encode(), STDERR: err.getvalue().encode()}
    for path in sorted(tmp.iterdir()):
        outputs[path.name] = path.read_bytes()
    here = str(tmp).encode()
    return {name: data.replace(here, TMP.encode()) for name, data in outputs.items()}


def expected(case: Case) -> dict[str, bytes]:
    """The outputs kept for ``case``, by file name."""
    return {path.name: path.read_bytes() for path in sorted(case.folder.iterdir()) if path.is_file()}


def describe(name: str, want: bytes | None, got: bytes | None, limit: int = 80) -> str:
    """A unified diff of one output, cut to ``limit`` lines."""
    if want is None or got is None:
        return f"{name}: {'not expected, but written' if want is None else 'expected, but not written'}"
    lines = list(
        difflib.unified_diff(
            want.decode(errors="replace").splitlines(keepends=True),
            got.decode(errors="replace").splitlines(keepends=True),
            f"expected/{name}",
            f"actual/{name}",
            n=2,
        )
    )
    if not lines:  # the same text once decoded: the bytes differ in encoding or line endings
        lines = [f"{name}: same text, different bytes ({len(want)} expected, {len(got)} written)\n"]
    cut = f"... {len(lines) - limit} more diff lines\n" if len(lines) > limit else ""
    return "".join(lines[:limit]) + cut


CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case(case: Case, tmp_path: Path) -> None:
    """The command gives exactly its kept exit code, output, messages and files."""
    want = expected(case)
    assert want, f"no expected outputs in {case.folder.relative_to(ROOT)}: run tests/golden/regenerate.py {case.name}"
    got = run(case, tmp_path)
    order = [*RESERVED, *sorted((set(want) | set(got)) - set(RESERVED))]
    differing = [name for name in order if want.get(name) != got.get(name)]
    if differing:
        pytest.fail(
            f"{case.name}: {', '.join(differing)} differ from tests/golden/{case.name}/\n"
            + describe(differing[0], want.get(differing[0]), got.get(differing[0])),
            pytrace=False,
        )
