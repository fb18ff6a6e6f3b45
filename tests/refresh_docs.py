"""Rewrite the outputs shown in the docs' console sessions from what tierpay prints now: a deliberate act.

    python tests/refresh_docs.py                  # every page with console sessions
    python tests/refresh_docs.py docs/how-to/payroll.md ...

A shown output without "..." lines is replaced by the printed one. One with "..." keeps its
shape: as many lines before the first "..." and after the last as it showed, and the lines
between kept where they are still printed. Pages where that cannot be done are listed for a
person to edit. Then read ``git diff docs README.md``: the test never writes the docs.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_docs import CLOCK, NOT_RUN, PAGES, ROOT, SKIPPED, prepare, sessions, shown_matches
from tierpay.cli import main

OPEN = re.compile(r"^( *)```console\s*$")


def printed_by(command: str) -> list[str] | None:
    """What ``command`` prints (None for a command the docs test does not run), at the docs test's clock."""
    os.environ["SOURCE_DATE_EPOCH"] = CLOCK
    steps = [step.strip() for step in command.split("&&")]
    if all(step.startswith(NOT_RUN) for step in steps):
        return None
    argv = shlex.split(steps[-1])
    terminal = io.StringIO()
    main(argv[1:], stdout=terminal, stderr=terminal)
    return [line.rstrip() for line in terminal.getvalue().splitlines()]


def reshaped(shown: list[str], printed: list[str]) -> list[str] | None:
    """``printed`` in the shape of ``shown`` (its "..." kept), or None when that cannot be done."""
    trailing = len(shown) - len(_strip(shown))
    shown = _strip(shown)
    if SKIPPED not in shown:
        return printed + [""] * trailing
    first, last = shown.index(SKIPPED), len(shown) - 1 - shown[::-1].index(SKIPPED)
    head, tail = printed[:first], printed[len(printed) - (len(shown) - last - 1) :] if last < len(shown) - 1 else []
    middle = [_nearest(line, printed) for line in shown[first : last + 1]]
    middle = [line for line in middle if line is not None]
    candidate = head + _dedupe(middle) + tail
    return candidate + [""] * trailing if shown_matches(candidate, printed) else None


def _nearest(line: str, printed: list[str]) -> str | None:
    """``line`` if still printed, else the printed line most like it (a changed figure), else None."""
    if line == SKIPPED or line in printed:
        return line
    close = difflib.get_close_matches(line, printed, n=1, cutoff=0.75)
    return close[0] if close else None


def _strip(lines: list[str]) -> list[str]:
    out = list(lines)
    while out and out[-1] == "":
        out.pop()
    return out


def _dedupe(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not (line == SKIPPED and out and out[-1] == SKIPPED):
            out.append(line)
    return out


def refresh(page: Path) -> list[str]:
    """Rewrite ``page``'s shown outputs; returns the commands left for a person."""
    text = page.read_text(encoding="utf-8").split("\n")
    left: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(page, folder)
        here = Path.cwd()
        try:
            import os

            os.chdir(folder)
            out: list[str] = []
            i = 0
            while i < len(text):
                match = OPEN.match(text[i])
                out.append(text[i])
                i += 1
                if not match:
                    continue
                indent = match.group(1)
                while i < len(text) and text[i].strip() != "```":
                    line = text[i][len(indent) :]
                    out.append(text[i])
                    i += 1
                    if not line.startswith("$ "):
                        continue
                    command = line[2:]
                    while command.endswith("\\"):
                        command = command[:-1] + text[i].strip()
                        out.append(text[i])
                        i += 1
                    shown = []
                    while i < len(text) and text[i].strip() != "```" and not text[i][len(indent) :].startswith("$ "):
                        shown.append(text[i][len(indent) :])
                        i += 1
                    printed = printed_by(command.strip())
                    new = shown if printed is None else reshaped(shown, printed)
                    if new is None:
                        left.append(command.strip())
                        new = shown
                    out.extend((indent + line).rstrip() if line else "" for line in new)
            page.write_text("\n".join(out), encoding="utf-8")
        finally:
            os.chdir(here)
    return left


def main_(names: list[str]) -> int:
    pages = [ROOT / n for n in names] if names else [p for p in PAGES if sessions(p)]
    status = 0
    for page in pages:
        for command in refresh(page):
            print(f"{page.relative_to(ROOT)}: edit by hand: $ {command}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main_(sys.argv[1:]))
