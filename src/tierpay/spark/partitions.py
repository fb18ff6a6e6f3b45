"""Which partitions a run on Spark may be split into: every group an answer depends on inside one.

A decision depends on other agents only through cohorts: the review ranks an agent within its
``review.cohort_by`` cohort, and a ``percentile`` or ``zscore`` score part compares it within the
scorecard's ``cohort_by`` cohort. Evaluated partition by partition, the answers are exactly the
whole run's when each such cohort lies inside one partition, that is when the partition columns
are among the cohort's attributes. An agent must also stay in one partition across the months,
since its carried state goes from one month to the next inside a partition; that needs the data
and is checked on Spark (:func:`tierpay.spark.evaluate`).
"""

from __future__ import annotations

from collections.abc import Sequence

from tierpay.errors import PartitionError
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions

RELATIVE = ("percentile", "zscore")
"""Score normalisations that compare an agent with its cohort."""


def cohorts(ruleset: CompiledRuleset) -> list[tuple[str, list[str]]]:
    """The cohorts a decision depends on: where they are declared, and their attributes (one cohort when empty)."""
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
