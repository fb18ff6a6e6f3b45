"""Files a ruleset names: read within a size limit, only regular files, only inside the ruleset's folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tierpay import RulesetError, RulesetUnreadable, load_ruleset, load_target
from tierpay.ruleset.files import MAX_BYTES, FileRefused, outside, read_text

BASE = """\
tierpay: 1
name: base
version: "1"
effective_from: 2026-01-01
metrics:
  qa: {min: 0, max: 100}
levels:
  - {id: L1, name: a}
  - {id: L2, name: b, entry: "qa >= 80"}
"""

CHILD = 'extends: {name}\nversion: "2"\n'

MINIMUM_WAGE = """\
minimum_wage_table:
  sh:
    name: Shanghai
    figures:
      - {monthly: 2740, effective_from: 2025-07-01, source: notice}
"""

WITH_TABLE = """\
tierpay: 1
name: floors
version: "1"
effective_from: 2026-01-01
metrics:
  qa: {min: 0, max: 100}
attributes:
  region: {values: [sh]}
levels:
  - {id: L1, name: a}
pay:
  lines:
    - {id: base, amount: 3000}
  floors:
    minimum_wage:
      table_file: NAME
"""


def problems_of(path: Path, **options: bool) -> list[str]:
    """The problems of loading ``path``, one line each."""
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path, **options)
    return [str(p) for p in caught.value.problems]


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no room on disk."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def test_regular_file_is_read_whole(tmp_path: Path) -> None:
    """A small regular file is read as text."""
    (tmp_path / "a.yaml").write_text("x: 1\n", encoding="utf-8")
    assert read_text(tmp_path / "a.yaml") == "x: 1\n"


def test_sparse_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A 1.5 GiB sparse file is refused by its size, at once, without being read."""
    big = sparse(tmp_path / "big.yaml", 3 * 2**29)
    start = time.perf_counter()
    with pytest.raises(FileRefused) as caught:
        read_text(big)
    assert time.perf_counter() - start < 1
    assert caught.value.reason == "larger than 5 MiB"
    assert not caught.value.missing


def test_device_is_refused_without_reading_it() -> None:
    """``/dev/zero`` never ends: it is refused as a device, not read."""
    with pytest.raises(FileRefused) as caught:
        read_text(Path("/dev/zero"))
    assert caught.value.reason == "it is a character device, not a regular file"
    assert caught.value.missing


def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """A named pipe would block the read forever: it is refused as one."""
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(FileRefused) as caught:
        read_text(tmp_path / "pipe.yaml")
    assert caught.value.reason == "it is a named pipe (FIFO), not a regular file"


def test_file_at_the_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    """The limit is inclusive: ``limit`` bytes are read, ``limit + 1`` refused."""
    (tmp_path / "a.yaml").write_bytes(b"x" * 10)
    assert read_text(tmp_path / "a.yaml", limit=10) == "x" * 10
    with pytest.raises(FileRefused, match="larger than 9 bytes"):
        read_text(tmp_path / "a.yaml", limit=9)


def test_outside_names_a_symbolic_link_that_leads_out(tmp_path: Path) -> None:
    """A link inside the folder to a file outside it is outside, and the reason says it is a link."""
    (tmp_path / "in").mkdir()
    (tmp_path / "secret.yaml").write_text("x: 1\n", encoding="utf-8")
    (tmp_path / "in" / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    why = outside(tmp_path / "in", tmp_path / "in" / "link.yaml")
    assert why is not None
    assert why.startswith(f"it leads outside the ruleset's folder ({tmp_path / 'in'}) through a symbolic link to ")
    assert outside(tmp_path / "in", tmp_path / "in" / "sub" / "x.yaml") is None
    assert outside(tmp_path / "in", tmp_path / "in" / ".." / "secret.yaml") == (
        f"it is outside the ruleset's folder ({tmp_path / 'in'})"
    )


def test_missing_ruleset_is_unreadable_not_invalid(tmp_path: Path) -> None:
    """The file named by the caller that is not there is ``RulesetUnreadable`` (the CLI's exit 4)."""
    with pytest.raises(RulesetUnreadable) as caught:
        load_ruleset(tmp_path / "none.yaml")
    assert str(caught.value) == f"{tmp_path / 'none.yaml'}: cannot read: No such file or directory"


def test_folder_given_as_a_ruleset_file_is_unreadable(tmp_path: Path) -> None:
    """``load_ruleset`` on a folder says it is a folder."""
    with pytest.raises(RulesetUnreadable) as caught:
        load_ruleset(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read: it is a folder, not a regular file"


def test_missing_versions_folder_is_unreadable(tmp_path: Path) -> None:
    """A path that is neither a file nor a folder is unreadable."""
    with pytest.raises(RulesetUnreadable, match="cannot read: No such file or directory"):
        load_target(tmp_path / "nowhere")


def test_extends_missing_file_is_a_problem_at_its_line(tmp_path: Path) -> None:
    """A base that is not there is the ruleset's problem (exit 3), at the ``extends:`` line."""
    (tmp_path / "child.yaml").write_text(CHILD.format(name="base.yaml"), encoding="utf-8")
    assert problems_of(tmp_path / "child.yaml") == [
        f"{tmp_path / 'child.yaml'}:1:1: extends: cannot read the base ruleset base.yaml: No such file or directory"
    ]


def test_extends_outside_the_folder_is_refused_unless_allowed(tmp_path: Path) -> None:
    """``extends: ../base.yaml`` is refused at its line; ``allow_outside_files`` reads it."""
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "variants").mkdir()
    child = tmp_path / "variants" / "child.yaml"
    child.write_text(CHILD.format(name="../base.yaml"), encoding="utf-8")
    assert problems_of(child) == [
        f"{child}:1:1: extends: the base ruleset ../base.yaml cannot be read: it is outside the ruleset's "
        f"folder ({child.parent}); a ruleset may name files only in its own folder and the folders below it, "
        "or in the folder tierpay runs in when the ruleset lies there (allow others with --allow-outside-files, "
        "or allow_outside_files=True in Python)"
    ]
    assert load_ruleset(child, allow_outside_files=True).version == "2"


def test_a_base_elsewhere_in_the_working_folder_is_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a project folder, a ruleset in it may extend a base kept elsewhere in it; run from
    the ruleset's own folder, the same base is outside and refused."""
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "variants").mkdir()
    child = tmp_path / "variants" / "child.yaml"
    child.write_text(CHILD.format(name="../base.yaml"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_ruleset("variants/child.yaml").version == "2"
    monkeypatch.chdir(tmp_path / "variants")
    assert len(problems_of(Path("child.yaml"))) == 1


def test_extends_dev_zero_is_refused_even_when_outside_files_are_allowed(tmp_path: Path) -> None:
    """``extends: /dev/zero`` ends in a problem at its line, never a MemoryError."""
    (tmp_path / "child.yaml").write_text(CHILD.format(name="/dev/zero"), encoding="utf-8")
    assert problems_of(tmp_path / "child.yaml", allow_outside_files=True) == [
        f"{tmp_path / 'child.yaml'}:1:1: extends: cannot read the base ruleset /dev/zero: "
        "it is a character device, not a regular file"
    ]


def test_extends_a_sparse_huge_file_is_refused_at_its_line(tmp_path: Path) -> None:
    """A 1.5 GiB base is refused by its size at the ``extends:`` line."""
    sparse(tmp_path / "base.yaml", 3 * 2**29)
    (tmp_path / "child.yaml").write_text(CHILD.format(name="base.yaml"), encoding="utf-8")
    assert problems_of(tmp_path / "child.yaml") == [
        f"{tmp_path / 'child.yaml'}:1:1: extends: the base ruleset base.yaml is larger than 5 MiB"
    ]


def test_sparse_huge_ruleset_is_refused_by_its_size(tmp_path: Path) -> None:
    """A sparse 1.5 GiB ruleset is refused by its size, not read into memory."""
    big = sparse(tmp_path / "big.yaml", 3 * 2**29)
    assert problems_of(big) == [f"{big}: file is larger than 5 MiB"]
    assert MAX_BYTES == 5 * 2**20


def test_table_file_outside_the_folder_is_refused_at_its_line(tmp_path: Path) -> None:
    """``table_file: ../../../../etc/passwd`` is refused at its line and field, and the file is not read."""
    ruleset = tmp_path / "r.yaml"
    ruleset.write_text(WITH_TABLE.replace("NAME", "../../../../etc/passwd"), encoding="utf-8")
    assert problems_of(ruleset) == [
        f"{ruleset}:16:7: pay.floors.minimum_wage.table_file: the minimum-wage file ../../../../etc/passwd "
        f"cannot be read: it is outside the ruleset's folder ({tmp_path}); a ruleset may name files only in its "
        "own folder and the folders below it, or in the folder tierpay runs in when the ruleset lies there "
        "(allow others with --allow-outside-files, or allow_outside_files=True in Python)"
    ]


def test_table_file_fifo_is_refused_at_its_line(tmp_path: Path) -> None:
    """A minimum-wage file that is a pipe is refused at the line that names it, without blocking."""
    os.mkfifo(tmp_path / "mw.yaml")
    ruleset = tmp_path / "r.yaml"
    ruleset.write_text(WITH_TABLE.replace("NAME", "mw.yaml"), encoding="utf-8")
    assert problems_of(ruleset) == [
        f"{ruleset}:16:7: pay.floors.minimum_wage.table_file: cannot read the minimum-wage file mw.yaml: "
        "it is a named pipe (FIFO), not a regular file"
    ]


def test_problem_inside_the_minimum_wage_file_names_it_and_the_line_that_named_it(tmp_path: Path) -> None:
    """A bad figure is reported in the table's file, with the ruleset line and field that named the file."""
    (tmp_path / "mw.yaml").write_text(MINIMUM_WAGE.replace("2740", "-5"), encoding="utf-8")
    ruleset = tmp_path / "r.yaml"
    ruleset.write_text(WITH_TABLE.replace("NAME", "mw.yaml"), encoding="utf-8")
    assert problems_of(ruleset) == [
        f"{tmp_path / 'mw.yaml'}:5:10: minimum_wage_table.sh.figures[0].monthly: must be greater than or equal "
        f"to 0; {tmp_path / 'mw.yaml'} is named at {ruleset}:16:7 in pay.floors.minimum_wage.table_file"
    ]


def test_minimum_wage_file_without_its_key_names_the_line_that_named_it(tmp_path: Path) -> None:
    """A minimum-wage file of the wrong shape is reported in it, and where it is named."""
    (tmp_path / "mw.yaml").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    ruleset = tmp_path / "r.yaml"
    ruleset.write_text(WITH_TABLE.replace("NAME", "mw.yaml"), encoding="utf-8")
    assert problems_of(ruleset) == [
        f"{tmp_path / 'mw.yaml'}:1:1: a minimum-wage file holds one key, `minimum_wage_table:`; "
        f"{tmp_path / 'mw.yaml'} is named at {ruleset}:16:7 in pay.floors.minimum_wage.table_file"
    ]


def test_problem_in_a_base_of_a_base_names_each_line_that_named_it(tmp_path: Path) -> None:
    """A YAML error two ``extends:`` away names its file and each ruleset line on the way to it."""
    (tmp_path / "base.yaml").write_text("tierpay: 1\nname: [x\n", encoding="utf-8")
    (tmp_path / "middle.yaml").write_text("# the middle\n" + CHILD.format(name="base.yaml"), encoding="utf-8")
    (tmp_path / "child.yaml").write_text(CHILD.format(name="middle.yaml"), encoding="utf-8")
    (problem,) = problems_of(tmp_path / "child.yaml")
    assert problem == (
        f"{tmp_path / 'base.yaml'}:2:7: YAML syntax: the `[` here is not closed: a `]` is missing (or a `,` "
        f"between items) before the end of the file; {tmp_path / 'base.yaml'} is named at "
        f"{tmp_path / 'middle.yaml'}:2:1 in extends; {tmp_path / 'middle.yaml'} is named at "
        f"{tmp_path / 'child.yaml'}:1:1 in extends"
    )


def test_invalid_value_inherited_from_a_base_is_reported_in_the_base(tmp_path: Path) -> None:
    """A value the base gives is reported at the base's line, saying where the base is named."""
    (tmp_path / "base.yaml").write_text(BASE.replace("max: 100", "max: lots"), encoding="utf-8")
    (tmp_path / "child.yaml").write_text(CHILD.format(name="base.yaml"), encoding="utf-8")
    assert problems_of(tmp_path / "child.yaml") == [
        f"{tmp_path / 'base.yaml'}:6:16: metrics.qa.max: must be a valid decimal; "
        f"{tmp_path / 'base.yaml'} is named at {tmp_path / 'child.yaml'}:1:1 in extends"
    ]


def test_base_expression_problem_names_where_the_base_is_named(tmp_path: Path) -> None:
    """A compile problem in a base's expression is at the base's line and names the ``extends:`` line."""
    (tmp_path / "base.yaml").write_text(BASE.replace("qa >= 80", "qa >= 80 and qz > 1"), encoding="utf-8")
    (tmp_path / "child.yaml").write_text(CHILD.format(name="base.yaml"), encoding="utf-8")
    assert problems_of(tmp_path / "child.yaml") == [
        f"{tmp_path / 'base.yaml'}:9:44: levels[1].entry: unknown name 'qz'; "
        f"{tmp_path / 'base.yaml'} is named at {tmp_path / 'child.yaml'}:1:1 in extends\n"
        "    | qa >= 80 and qz > 1"
    ]
