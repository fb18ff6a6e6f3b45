"""Ruleset versions in force: one ruleset's effective-dated versions, and which applies when.

Call centres change their rules a few times a year and must keep the old versions: a month
is always evaluated under the version in force on its first day, and every decision is
stamped with that version's name, version and content hash. Two versions in force on the
same day are an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from tierpay.errors import Problem, RulesetError
from tierpay.ruleset.compiler import CompiledRuleset


@dataclass(frozen=True)
class RulesetVersions:
    """The versions of one ruleset, oldest first, none overlapping."""

    versions: tuple[CompiledRuleset, ...]

    @property
    def name(self) -> str:
        """The ruleset's name, shared by every version."""
        return self.versions[0].name

    @property
    def latest(self) -> CompiledRuleset:
        """The version with the latest start."""
        return self.versions[-1]

    def by_hash(self, sha256: str) -> CompiledRuleset:
        """The version with content hash ``sha256``."""
        return next(v for v in self.versions if v.sha256 == sha256)

    def for_period(self, period: str) -> CompiledRuleset | None:
        """The version in force on the first day of ``period`` (``YYYY-MM``), if any."""
        day = first_day(period)
        if day is None:
            return None
        for version in self.versions:
            start, end = version.model.effective_from, end_of(version, self.versions)
            if start <= day and (end is None or day <= end):
                return version
        return None


def first_day(period: str) -> dt.date | None:
    """The first day of ``period`` (``YYYY-MM``), the day that decides which rules hold the month."""
    try:
        return dt.date(int(period[:4]), int(period[5:7]), 1)
    except ValueError:
        return None


def ruleset_for(target: CompiledRuleset | RulesetVersions, period: str) -> CompiledRuleset | None:
    """The ruleset that decides ``period``: the one in force on its first day, if any.

    A single ruleset file decides only the months whose first day falls between its
    ``effective_from`` and ``effective_to``, as each of a folder's versions does.
    """
    if isinstance(target, RulesetVersions):
        return target.for_period(period)
    day = first_day(period)
    model = target.model
    if day is None or day < model.effective_from or (model.effective_to is not None and day > model.effective_to):
        return None
    return target


def not_in_force(target: CompiledRuleset | RulesetVersions, period: str) -> str:
    """Why no ruleset decides ``period``, naming the period and the dates that are in force."""
    if isinstance(target, RulesetVersions):
        spans = ", ".join(f"{v.version} from {v.model.effective_from}" for v in target.versions)
        return f"period: no version of {target.name} is in force for {period} ({spans})"
    model = target.model
    span = f"in force from {model.effective_from}" + (f" to {model.effective_to}" if model.effective_to else "")
    return f"period: {target.name} {target.version} is not in force for {period} ({span})"


def end_of(version: CompiledRuleset, versions: Sequence[CompiledRuleset]) -> dt.date | None:
    """The last day ``version`` is in force: its ``effective_to``, or the day before the next starts."""
    if version.model.effective_to is not None:
        return version.model.effective_to
    later = [v.model.effective_from for v in versions if v.model.effective_from > version.model.effective_from]
    return min(later) - dt.timedelta(days=1) if later else None


def check_versions(rulesets: Sequence[CompiledRuleset]) -> RulesetVersions:
    """Order versions by start and refuse different names or overlapping dates."""
    if not rulesets:
        raise RulesetError([Problem("<versions>", 0, 0, "", "no ruleset versions given")])
    ordered = sorted(rulesets, key=lambda r: (r.model.effective_from, r.file))
    problems = []
    names = {r.name for r in ordered}
    if len(names) > 1:
        problems.append(
            Problem(
                ordered[0].file, 0, 0, "name", f"versions of one ruleset share a name; found {', '.join(sorted(names))}"
            )
        )
    for a, b in pairwise(ordered):
        a_end = a.model.effective_to
        if a.model.effective_from == b.model.effective_from or (a_end is not None and a_end >= b.model.effective_from):
            problems.append(
                Problem(
                    b.file,
                    0,
                    0,
                    "effective_from",
                    f"version {b.version} (from {b.model.effective_from}) overlaps version {a.version} in {a.file} "
                    f"(from {a.model.effective_from} to {a_end or 'open-ended'})",
                )
            )
    if problems:
        raise RulesetError(problems)
    return RulesetVersions(tuple(ordered))


def version_of(target: CompiledRuleset | RulesetVersions, sha256: str) -> CompiledRuleset:
    """The ruleset with content hash ``sha256``: ``target`` itself, or one of its versions."""
    return target if isinstance(target, CompiledRuleset) else target.by_hash(sha256)


def latest(target: CompiledRuleset | RulesetVersions) -> CompiledRuleset:
    """``target`` itself, or its latest version."""
    return target if isinstance(target, CompiledRuleset) else target.latest
