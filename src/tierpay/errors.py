"""The exceptions tierpay raises, all under one root so callers can catch ``TierpayError``.

The tree::

    TierpayError
    ├── RulesetError        a ruleset file is malformed, invalid or does not compile;
    │   │                   carries every Problem found, sorted by line
    │   └── RulesetUnreadable  the ruleset file named cannot be read at all (missing, a
    │                          folder, not permitted, not a regular file)
    ├── RecordsError        a records file (or a people's decisions file) cannot be read at all
    │                       (encoding, format, no header)
    ├── StateError          a carried-state file is unreadable or does not fit the ruleset
    ├── LedgerError         a ledger cannot be opened or read (not one, a newer schema, its
    │                       database library missing), or refuses what was asked of it
    ├── EvaluationError     an expression failed on a record's values (for example division by
    │                       zero); the engine turns it into a rejection of that record
    ├── OutputError         an output would overwrite a file without ``--force``, or cannot be written
    │   └── OutputConflict  two outputs name one file, or an output names an input (the command line)
    └── NoDecision          ``Outcome.decision()`` was asked for an agent-period it has no
                            decision for (also a ``KeyError``)

A bad *record* is never an exception: it becomes a ``Rejection`` in the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class TierpayError(Exception):
    """Root of every error tierpay raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a ruleset, with where it is.

    ``path`` is the field path inside the document (``levels[2].entry``); ``line`` and
    ``column`` are 1-based positions in ``file`` when known.
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    expression: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.expression is not None:
            text += "".join(f"\n    | {line}" for line in self.expression.splitlines())
        return text


class RulesetError(TierpayError):
    """A ruleset could not be loaded; ``problems`` lists every problem found, in line order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RulesetUnreadable(RulesetError):
    """The ruleset file (or folder of versions) the caller named cannot be read at all.

    Missing, a folder where a file was expected, not permitted, or not a regular file (a
    device, a pipe). A file named *inside* a ruleset (``extends:``) that cannot be read is a
    plain ``RulesetError`` at the line that names it: the ruleset is what is wrong then.
    """


class RecordsError(TierpayError):
    """A records file could not be read at all; no record of it was evaluated."""


class StateError(TierpayError):
    """A carried-state file could not be read or does not fit the ruleset."""


class LedgerError(TierpayError):
    """A ledger (``--ledger``) cannot be opened or read, or refuses what was asked (closing a month out of order).

    Its message names the ledger (a PostgreSQL URL without its password) and what to do.
    """


class EvaluationError(TierpayError):
    """An expression failed on one record's values.

    ``where`` names the ruleset field (``levels[1].entry``) and ``expression`` its text.
    """

    def __init__(self, where: str, expression: str, message: str) -> None:
        self.where = where
        self.expression = expression
        self.detail = message
        super().__init__(f"{where}: {message} in `{expression}`")


class PartitionError(TierpayError):
    """Records cannot be split as asked (on Spark) without changing an answer: a cohort would be cut."""


class OutputError(TierpayError):
    """An output file would be overwritten without ``--force``, or could not be written."""


class OutputConflict(OutputError):
    """Two outputs name one file, or an output names an input: refused before any work."""


class NoDecision(TierpayError, KeyError):
    """An outcome has no decision for the agent (and period) asked for: rejected, or not in the records."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no decision"
