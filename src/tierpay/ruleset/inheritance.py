"""``extends:``: a ruleset that starts from another and changes only what it names.

Mappings merge key by key; lists whose items all carry an ``id`` (levels, pay lines,
deductions) merge item by item on that id, new ids appended; any other value is replaced.
A base's ``tests:`` are not inherited: a variant's expectations are its own. Locations are
merged too, so an error still points at the file and line the value came from.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tierpay.ruleset.yamlsource import Locations, PathKey, Position

NOT_INHERITED = ("tests", "extends")


def _by_id(items: Any) -> bool:
    return isinstance(items, list) and bool(items) and all(isinstance(i, dict) and "id" in i for i in items)


class _Merger:
    def __init__(self, base: Locations, child: Locations) -> None:
        self.base = base
        self.child = child
        self.out = Locations(child.file, lines=child.lines)

    def copy(self, source: Locations, src: PathKey, dst: PathKey) -> None:
        """Copy every position at or under ``src`` to the same place under ``dst``."""
        for table, target in ((source.positions, self.out.positions), (source.keys, self.out.keys)):
            for key, pos in table.items():
                if key[: len(src)] == src:
                    if source is self.base and pos.file is None:
                        pos = replace(pos, file=source.file, lines=tuple(source.lines))
                    target[dst + key[len(src) :]] = pos

    def merge(self, base: Any, child: Any, bpath: PathKey, cpath: PathKey, opath: PathKey) -> Any:
        if isinstance(base, dict) and isinstance(child, dict):
            self.copy_here(cpath, opath)
            out: dict[Any, Any] = {}
            for key, value in base.items():
                if opath == () and key in NOT_INHERITED:
                    continue
                if key in child:
                    out[key] = self.merge(value, child[key], (*bpath, key), (*cpath, key), (*opath, key))
                else:
                    self.copy(self.base, (*bpath, key), (*opath, key))
                    out[key] = value
            for key, value in child.items():
                if key not in out and not (opath == () and key == "extends"):
                    self.copy(self.child, (*cpath, key), (*opath, key))
                    out[key] = value
            return out
        if _by_id(base) and _by_id(child):
            self.copy_here(cpath, opath)
            out_list: list[Any] = []
            child_index = {item["id"]: i for i, item in enumerate(child)}
            for i, item in enumerate(base):
                if item["id"] in child_index:
                    j = child_index[item["id"]]
                    out_list.append(self.merge(item, child[j], (*bpath, i), (*cpath, j), (*opath, len(out_list))))
                else:
                    self.copy(self.base, (*bpath, i), (*opath, len(out_list)))
                    out_list.append(item)
            base_ids = {item["id"] for item in base}
            for j, item in enumerate(child):
                if item["id"] not in base_ids:
                    self.copy(self.child, (*cpath, j), (*opath, len(out_list)))
                    out_list.append(item)
            return out_list
        self.copy(self.child, cpath, opath)
        return child

    def copy_here(self, cpath: PathKey, opath: PathKey) -> None:
        for table, target in ((self.child.positions, self.out.positions), (self.child.keys, self.out.keys)):
            pos: Position | None = table.get(cpath)
            if pos is not None:
                target[opath] = pos


def merge(
    base: dict[str, Any], base_locations: Locations, child: dict[str, Any], child_locations: Locations
) -> tuple[dict[str, Any], Locations]:
    """``child`` applied on top of ``base``, with the locations of both."""
    merger = _Merger(base_locations, child_locations)
    data = merger.merge(base, child, (), (), ())
    return data, merger.out
