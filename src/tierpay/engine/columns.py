"""Records as columns: the frame every evaluation starts from, whatever the records were read from.

A :class:`RecordFrame` holds checked records, one row per agent-period, with each metric
twice: as float64 for the criteria kernels (exact for decimals of at most 15 characters) and
as its original text, from which the exact ``Decimal`` is made whenever a value is needed
exactly. The CSV reader (:mod:`tierpay.io.frames`) builds one straight from the file;
``records_frame`` builds one from checked ``AgentPeriod`` records (JSON, dicts, a folder of
versions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tierpay.engine.records import AgentPeriod, Rejection
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.model import Attribute
from tierpay.ruleset.versions import RulesetVersions

ROW = "__row"
SOURCE = "__source"  # the file of each row, present only when a frame holds rows of several files
TEXT = "__text"  # suffix of a metric's exact-text column


@dataclass
class RecordFrame:
    """Checked records as columns, with the rows rejected and the warnings found reading them.

    ``frame`` has one row per good record, in file order: ``__row`` (the line), ``agent_id``,
    ``period``, ``level`` (a level id or null), one column per attribute (text or boolean) and
    per metric (float64), and ``<metric>__text`` with each metric's exact text.
    """

    frame: pl.DataFrame
    source: str
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    """Each field the file's header names otherwise (``qa_score`` -> ``质检得分``): messages name both."""

    def __len__(self) -> int:
        return self.frame.height


def records_frame(
    target: CompiledRuleset | RulesetVersions, records: Iterable[AgentPeriod], source: str = "<records>"
) -> pl.DataFrame:
    """Checked ``AgentPeriod`` records as a frame of the reader's shape (for the API and tests).

    With a folder of versions the frame has the columns of every version. A ``__source``
    column names each row's file when the records come from more than one.
    """
    attributes, metrics = fields(target)
    rows: dict[str, list[Any]] = defaultdict(list)
    sources: list[str] = []
    for record in records:
        sources.append(record.source)
        rows[ROW].append(record.row)
        rows["agent_id"].append(record.agent_id)
        rows["period"].append(record.period)
        rows["level"].append(record.level)
        for name in attributes:
            rows[name].append(record.attributes.get(name))
        for name in metrics:
            value = record.metrics.get(name)
            rows[name].append(None if value is None else float(value))
            rows[name + TEXT].append(None if value is None else str(value))
    data = {name: rows.get(name, []) for name in frame_columns(target)}
    frame = pl.DataFrame(data, schema=frame_schema(target, text=pl.String), strict=False).cast(frame_schema(target))
    if any(s != source for s in sources):
        frame = frame.with_columns(pl.Series(SOURCE, sources, dtype=pl.String))
    return frame


def fields(target: CompiledRuleset | RulesetVersions) -> tuple[dict[str, Attribute], list[str]]:
    """The attributes and metrics of a ruleset, or of every version of a folder."""
    versions = [target] if isinstance(target, CompiledRuleset) else list(target.versions)
    attributes: dict[str, Attribute] = {}
    metrics: dict[str, None] = {}
    for version in versions:
        for name, attr in version.model.attributes.items():
            attributes.setdefault(name, attr)
        metrics.update(dict.fromkeys(version.model.metrics))
    return attributes, list(metrics)


def frame_columns(target: CompiledRuleset | RulesetVersions) -> list[str]:
    attributes, metrics = fields(target)
    return [ROW, "agent_id", "period", "level", *attributes, *metrics, *(m + TEXT for m in metrics)]


def frame_schema(target: CompiledRuleset | RulesetVersions, text: Any = pl.Categorical) -> Any:
    attributes, metrics = fields(target)
    schema: dict[str, Any] = {ROW: pl.Int64, "agent_id": pl.String, "period": pl.String, "level": pl.String}
    for name, attr in attributes.items():
        schema[name] = pl.Boolean if attr.type == "boolean" else pl.String
    for name in metrics:
        schema[name] = pl.Float64
    for name in metrics:
        schema[name + TEXT] = text  # categorical: few distinct texts per metric, so codes, not a million strings
    return schema
