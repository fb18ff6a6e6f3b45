"""Which partitions a run on Spark may be split into, and how they are grouped into the workers' buckets.

A decision depends on other agents only through cohorts: the review ranks an agent within its
``review.cohort_by`` cohort, and a ``percentile`` or ``zscore`` score part compares it within the
scorecard's ``cohort_by`` cohort; with ``ladders``, within its ladder too. Evaluated partition by
partition, the answers are exactly the whole run's when each such cohort lies inside one
partition, that is when the partition columns are among the cohort's attributes (or are the
``ladder_by`` attribute). An agent's carried state goes from one month to the next, so an agent
who moves between partitions (a team change) links them: :func:`components` joins such
partitions, and :func:`pack` puts whole components into a bounded number of buckets, each
evaluated by one call of the engine. Pure: the driver collects the few facts these need.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from tierpay.errors import PartitionError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

RELATIVE = ("percentile", "zscore")
"""Score normalisations that compare an agent with its cohort."""

Key = TypeVar("Key", bound=Hashable)


def cohorts(ruleset: CompiledRuleset) -> list[tuple[str, list[str]]]:
    """The cohorts a decision depends on: where they are declared, and their attributes (one cohort when empty).

    With ``ladders`` each ladder's cohorts are named by the ladder that ranks in them
    (``ladders.agent.review.cohort_by``, or ``review.cohort_by (ladder agent)`` for a part the
    ladder takes from the top level); a cohort then also lies within one value of ``ladder_by``
    when the ladder is chosen by one value, so that attribute is among its attributes.
    """
    model = ruleset.model
    if model.ladders is None or not ruleset.ladders:
        return _own(ruleset)
    found: list[tuple[str, list[str]]] = []
    for name, ladder in model.ladders.items():
        single = model.ladder_by is not None and len(ladder.selects(name)) == 1
        for field, attributes in _own(ruleset.ladders[name]):
            part = field.partition(".")[0]
            where = f"ladders.{name}.{field}" if getattr(ladder, part, None) is not None else f"{field} (ladder {name})"
            if single and model.ladder_by is not None and model.ladder_by not in attributes:
                where, attributes = f"{where} (with the ladder's {model.ladder_by})", [*attributes, model.ladder_by]
            found.append((where, attributes))
    return found


def _own(ruleset: CompiledRuleset) -> list[tuple[str, list[str]]]:
    """The review's and the relative scorecard's cohorts of one ruleset (or ladder)."""
    model = ruleset.model
    found: list[tuple[str, list[str]]] = []
    if model.review is not None:
        found.append(("review.cohort_by", list(model.review.cohort_by)))
    card = model.scorecard
    if card is not None and any(part.normalise.method in RELATIVE for part in card.parts):
        found.append(("scorecard.cohort_by", list(card.cohort_by)))
    return found


def check_partitioning(target: CompiledRuleset | RulesetVersions, partition_by: Sequence[str]) -> None:
    """Refuse ``partition_by`` when a cohort of ``target`` (any version) could fall into two partitions.

    Raises ``PartitionError`` naming the ruleset field, its attributes and the columns asked
    for, and what would do instead.
    """
    versions = target.versions if isinstance(target, RulesetVersions) else (target,)
    asked = list(partition_by)
    if len(set(asked)) != len(asked):
        raise PartitionError(f"partition_by names a column twice: {asked}")
    for ruleset in versions:
        for field, attributes in cohorts(ruleset):
            outside = [name for name in asked if name not in attributes]
            if not outside:
                continue
            where = f"{ruleset.file}: {field}"
            if not attributes:
                raise PartitionError(
                    f"{where} is empty: the whole population is one cohort, so the records cannot be split "
                    f"by {', '.join(outside)} without changing the rankings; use partition_by=[]"
                )
            raise PartitionError(
                f"{where} is [{', '.join(attributes)}]: partitioning by {', '.join(outside)} could split a "
                f"cohort and change its ranking; partition by columns among {attributes}"
            )


def components(pairs: Iterable[tuple[Key, object]]) -> dict[Key, int]:
    """Each partition key's component: partitions linked by an agent found in both share one.

    ``pairs`` are the records' distinct (partition key, agent id) pairs; an agent id of None
    (a record without one, rejected anyway) links nothing. Components are numbered from 0 in
    the order of their first key, keys sorted as text (None last), so the numbering depends on
    the data only.
    """
    parent: dict[Key, Key] = {}
    first: dict[object, Key] = {}

    def root(key: Key) -> Key:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for key, agent in pairs:
        parent.setdefault(key, key)
        if agent is None:
            continue
        other = first.setdefault(agent, key)
        a, b = root(key), root(other)
        if a != b:
            parent[max(a, b, key=_order)] = min(a, b, key=_order)
    numbers: dict[Key, int] = {}
    found: dict[Key, int] = {}
    for key in sorted(parent, key=_order):
        found[key] = numbers.setdefault(root(key), len(numbers))
    return found


def _order(key: object) -> tuple[object, ...]:
    """Keys sorted as text, a None value after every other."""
    values = key if isinstance(key, tuple) else (key,)
    return tuple((v is None, "" if v is None else str(v)) for v in values)


def pack(sizes: Mapping[int, int], buckets: int) -> dict[int, int]:
    """Each component's bucket: whole components, the largest first into the bucket holding fewest rows.

    ``sizes`` gives each component's rows; at most ``buckets`` buckets are used (fewer when
    there are fewer components), numbered from 0. Ties go to the lower number, so the packing
    depends on the sizes only.
    """
    if buckets < 1:
        raise PartitionError(f"buckets must be 1 or more, not {buckets}")
    load = [0] * min(buckets, max(len(sizes), 1))
    placed: dict[int, int] = {}
    for component, rows in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        bucket = min(range(len(load)), key=lambda b: (load[b], b))
        placed[component] = bucket
        load[bucket] += rows
    return placed
