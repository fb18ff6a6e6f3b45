"""Rewrite the golden corpus's expected outputs from the current code: a deliberate act.

    python tests/golden/regenerate.py            # every case; folders of removed cases go too
    python tests/golden/regenerate.py NAME...    # only these cases

Then read ``git diff tests/golden`` and say in the commit message why each change is right.
The test never writes these files; only this script does.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.test_golden import GOLDEN, NOT_CASES, Case, expected, load_cases, run


def regenerate(case: Case) -> bool:
    """Run ``case`` and keep what it gives; True when that differs from what was kept."""
    with tempfile.TemporaryDirectory() as tmp:
        outputs = run(case, Path(tmp))
    before = expected(case) if case.folder.is_dir() else {}
    if case.folder.is_dir():
        shutil.rmtree(case.folder)
    case.folder.mkdir(parents=True)
    for name, data in outputs.items():
        (case.folder / name).write_bytes(data)
    return before != outputs


def main(names: list[str]) -> int:
    cases = load_cases()
    known = {c.name for c in cases}
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown case: {', '.join(unknown)}", file=sys.stderr)
        return 2
    chosen = [c for c in cases if c.name in names] if names else cases
    changed = [c.name for c in chosen if regenerate(c)]
    removed = []
    if not names:
        for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
            if folder.name not in known and folder.name not in NOT_CASES and not folder.name.startswith(("_", ".")):
                shutil.rmtree(folder)
                removed.append(folder.name)
    print(f"{len(chosen)} cases run, {len(changed)} changed, {len(removed)} folders of removed cases deleted")
    for name in changed:
        print(f"  changed: {name}")
    for name in removed:
        print(f"  removed: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
