"""The hostile-input corpus: every bad ruleset and records file gives its exact, pinned output.

Each ``tests/corpus/rulesets/NAME.yaml`` is validated (``tierpay validate --strict``) and each
``tests/corpus/records/NAME.{csv,json}`` evaluated against ``records/ruleset.yaml``; the exit
code, standard output and standard error must equal ``NAME.expected``. Every records case must
read alike on every path: one period at a time (``--stream``, for CSV) and through the Python
API (``read_records`` and ``evaluate``) give the same decisions, rejections and errors.

Each folder ``tests/corpus/runs/NAME/`` is a whole run: ``case.yaml`` gives the ``command`` (the
arguments after ``tierpay``), and optionally ``umask`` (default 0o022) and ``modes`` (files to
chmod before the run). The folder's files are copied to a fresh directory (with
``records/ruleset.yaml`` as ``ruleset.yaml`` unless the case has its own), the command runs
there, and ``expected`` pins the exit code, both streams and every file afterwards with its mode
and whether the run made, changed or removed it: a failed run must leave nothing behind. A
symbolic link in the folder stays one, and is pinned as what it points to.

To change an expectation on purpose, run ``python tests/test_corpus.py`` and review the diff.
"""

from __future__ import annotations

import hashlib
import io
import os
import shlex
import shutil
import stat
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest
import yaml

from tierpay import RecordsError, evaluate, load_ruleset, read_records
from tierpay.cli import main
from tierpay.outputs.report import rejections_text

CORPUS = Path(__file__).resolve().parent / "corpus"
RULESETS = sorted((CORPUS / "rulesets").glob("*.yaml"))
RECORDS = sorted(p for p in (CORPUS / "records").iterdir() if p.suffix in (".csv", ".json"))
RUNS = sorted(p for p in (CORPUS / "runs").iterdir() if p.is_dir()) if (CORPUS / "runs").is_dir() else []
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


def _files(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root`` (hidden ones too): its mode bits and a digest of its bytes.

    A symbolic link is kept as what it points to, with mode -1: a run must not replace it.
    """
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(root))] = (-1, f"-> {os.readlink(path)}")
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = (stat.S_IMODE(path.stat().st_mode), digest)
    return found


def observe_run(case: Path) -> str:
    """The pinned form of a whole run: exit code, streams, and the files it made, changed or removed."""
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / case.name
        shutil.copytree(case, root, symlinks=True, ignore=shutil.ignore_patterns("case.yaml", "expected"))
        if not (root / "ruleset.yaml").exists():
            shutil.copyfile(CORPUS / "records" / "ruleset.yaml", root / "ruleset.yaml")
        for name, mode in (spec.get("modes") or {}).items():
            os.chmod(root / name, mode)
        before = _files(root)
        out, err = io.StringIO(), io.StringIO()
        cwd, mask = os.getcwd(), os.umask(spec.get("umask", 0o022))
        os.chdir(root)
        try:
            code = main(shlex.split(spec["command"]), stdout=out, stderr=err)
        finally:
            os.chdir(cwd)
            os.umask(mask)
        after = _files(root)
    lines = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            lines.append(f"{name}: removed")
            continue
        mode, digest = after[name]
        change = "new" if name not in before else "changed" if before[name][1] != digest else "same"
        if mode < 0:  # a symbolic link
            lines.append(f"{name}: {digest} {change}")
            continue
        if name in before and before[name][0] != mode:
            change += f", mode was {before[name][0]:04o}"
        lines.append(f"{name}: {mode:04o} {change}")
    files = "".join(f"{line}\n" for line in lines)
    return f"exit {code}\n--- stdout\n{out.getvalue()}--- stderr\n{err.getvalue()}--- files\n{files}"


@pytest.mark.parametrize("case", RUNS, ids=lambda p: f"runs/{p.name}")
def test_corpus_run(case: Path) -> None:
    """The run produces exactly its pinned streams and files."""
    assert observe_run(case) == (case / "expected").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", RULESETS + RECORDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_case(path: Path) -> None:
    """The case produces exactly its pinned output, within the memory bound."""
    expected = path.with_suffix(".expected").read_text(encoding="utf-8")
    actual, peak = observe(path)
    assert actual == expected
    assert peak < MEMORY_LIMIT


@pytest.mark.parametrize("path", [p for p in RECORDS if p.suffix == ".csv"], ids=lambda p: f"records/{p.name}")
def test_corpus_case_streamed_reads_alike(path: Path) -> None:
    """Reading one period at a time gives the same exit code, decisions and messages as reading the whole file.

    A file found unreadable part way (exit 4) has had its earlier periods written by then,
    one period at a time; only the error must agree.
    """
    whole = _run_records(path)
    streamed = _run_records(path, "--stream")
    assert streamed[0] == whole[0]
    if whole[0] != 4 or not streamed[1]:
        assert streamed[1] == whole[1]
    assert sorted(streamed[2].splitlines()) == sorted(whole[2].splitlines())


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: f"records/{p.name}")
def test_corpus_case_through_the_api_reads_alike(path: Path) -> None:
    """``read_records`` and ``evaluate`` reject the same records for the same reasons, or raise the same error."""
    code, _, err = _run_records(path)
    ruleset = load_ruleset(CORPUS / "records" / "ruleset.yaml")
    cwd = os.getcwd()
    os.chdir(CORPUS)
    try:
        if code == 4:
            with pytest.raises(RecordsError) as raised:
                read_records(ruleset, path.relative_to(CORPUS))
            assert err == f"error: {raised.value}\n"
            return
        batch = read_records(ruleset, path.relative_to(CORPUS))
    finally:
        os.chdir(cwd)
    outcome = evaluate(ruleset, batch)
    lines = err.splitlines()
    said = rejections_text(outcome.rejections).splitlines()  # a reason many records share is one line
    assert said == [x for x in lines if x.startswith("rejected: ")]
    assert [f"warning: {w}" for w in batch.warnings] == [x for x in lines if x.startswith("warning: ")]


def _run_records(path: Path, *extra: str) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of evaluating a records case."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(CORPUS)
    try:
        code = main([*command(path), *extra], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def test_every_case_has_an_expectation() -> None:
    """No corpus file is left without its .expected file, and no .expected without its case."""
    cases = {p.with_suffix(".expected") for p in RULESETS + RECORDS}
    pinned = set(CORPUS.rglob("*.expected"))
    assert cases == pinned
    for case in RUNS:
        assert (case / "case.yaml").is_file(), case
        assert (case / "expected").is_file(), case


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
    for case in RUNS:
        (case / "expected").write_text(observe_run(case), encoding="utf-8")
    sys.exit(0)
