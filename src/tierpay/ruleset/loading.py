"""Reading rulesets from files and text: YAML, then the models, then the compiler.

Every problem found is reported at once, each with file, line, column and field path, so an
operations editor can fix a ruleset in one pass. This module also exports the JSON Schema of
the ruleset format for editors.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tierpay.errors import Problem, RulesetError, RulesetUnreadable
from tierpay.ruleset.compiler import CompiledRuleset, compile_ruleset
from tierpay.ruleset.files import FileRefused, outside, read_text
from tierpay.ruleset.inheritance import merge
from tierpay.ruleset.model import MinimumWageTable, Ruleset
from tierpay.ruleset.versions import RulesetVersions, check_versions
from tierpay.ruleset.yamlsource import Locations, PathKey, format_path, read_yaml


def load_ruleset(path: str | Path, *, allow_outside_files: bool = False) -> CompiledRuleset:
    """Load, validate and compile the ruleset file at ``path``.

    Files the ruleset names (``extends:``, a minimum-wage ``table_file``) must lie in its folder
    or below, unless ``allow_outside_files``. Raises ``RulesetUnreadable`` when the file itself
    cannot be read, and ``RulesetError`` listing every problem, each with its file, line and field.
    """
    file = Path(path)
    text = _read_named(file)
    return parse_ruleset(text, file=str(path), base_dir=file.parent, allow_outside_files=allow_outside_files)


def load_versions(folder: str | Path, *, allow_outside_files: bool = False) -> RulesetVersions:
    """Load every ruleset in ``folder`` as versions of one ruleset; refuse overlapping dates.

    YAML files without a top-level ``tierpay:`` key (a minimum-wage table, say) are skipped.
    Problems in any file are all reported together. Files the versions name must lie in
    ``folder`` or below, unless ``allow_outside_files``.
    """
    directory = Path(folder)
    problems: list[Problem] = []
    versions: list[CompiledRuleset] = []
    try:
        files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError as error:
        raise RulesetUnreadable(
            [Problem(str(directory), 0, 0, "", f"cannot read: {error.strerror or error}")]
        ) from None
    for file in files:
        try:
            text = _read_named(file)
            head, _ = read_yaml(text, str(file))
            if not isinstance(head, dict) or ("tierpay" not in head and "extends" not in head):
                continue
            versions.append(
                parse_ruleset(text, file=str(file), base_dir=file.parent, allow_outside_files=allow_outside_files)
            )
        except RulesetUnreadable:
            raise
        except RulesetError as error:
            problems.extend(error.problems)
    if problems:
        raise RulesetError(problems)
    if not versions:
        raise RulesetError([Problem(str(directory), 0, 0, "", "no ruleset files (with a tierpay: key) in this folder")])
    return check_versions(versions)


def load_target(path: str | Path, *, allow_outside_files: bool = False) -> CompiledRuleset | RulesetVersions:
    """A ruleset file, or a folder of its versions."""
    if Path(path).is_dir():
        return load_versions(path, allow_outside_files=allow_outside_files)
    return load_ruleset(path, allow_outside_files=allow_outside_files)


def _read_named(file: Path) -> str:
    """The text of a ruleset file the caller named; one that cannot be read at all is ``RulesetUnreadable``."""
    try:
        return read_text(file)
    except FileRefused as why:
        if why.missing:
            raise RulesetUnreadable([Problem(str(file), 0, 0, "", f"cannot read: {why.reason}")]) from None
        message = f"file is {why.reason}" if not why.line else why.reason
        raise RulesetError([Problem(str(file), why.line, 0, "", message)]) from None


def parse_ruleset(
    text: str,
    file: str = "<ruleset>",
    base_dir: Path | None = None,
    *,
    allow_outside_files: bool = False,
) -> CompiledRuleset:
    """Validate and compile ruleset YAML given as text; ``file`` names it in errors.

    ``base_dir`` is where files the ruleset refers to (``extends:``, ``minimum_wage.table_file``)
    are looked up; without it such references are an error. They must lie in ``base_dir`` or
    below, or in the working folder when ``base_dir`` lies in it, symlinks followed, unless
    ``allow_outside_files``.
    """
    where = _Where(base_dir, allow_outside_files)
    data, locations, texts = _read_with_bases(text, file, base_dir, (), where)
    data, mw_source, mw_text = _inline_minimum_wage(data, locations, base_dir, where)
    ruleset = validate_model(data, locations)
    return compile_ruleset(ruleset, locations, "".join([*texts, mw_text]), minimum_wage_source=mw_source)


MAX_EXTENDS = 5


@dataclass(frozen=True)
class _Where:
    """Where the files a ruleset names may be: under ``root``, or anywhere when ``anywhere``."""

    root: Path | None
    anywhere: bool

    def referenced(self, locations: Locations, key: PathKey, folder: Path, name: str, what: str) -> Path:
        """The file ``name`` (relative to ``folder``) that the value at ``key`` names, if it may be read.

        Besides the ruleset's own folder, the working folder is allowed when the ruleset lies in
        it: a project's rulesets may share a base kept elsewhere in the project (the examples
        extend ``../../rulesets/``), while a ruleset from elsewhere still cannot reach out.
        """
        target = folder / name
        why = outside(self.root, target) if self.root is not None and not self.anywhere else None
        if why is not None and self.root is not None:
            work = Path.cwd()
            if outside(work, self.root) is None and outside(work, target) is None:
                why = None
        if why is not None:
            raise RulesetError(
                [
                    locations.problem(
                        key,
                        f"{what} {name} cannot be read: {why}; a ruleset may name files only in its own folder "
                        "and the folders below it, or in the folder tierpay runs in when the ruleset lies there "
                        "(allow others with --allow-outside-files, or allow_outside_files=True in Python)",
                    )
                ]
            )
        return target

    @staticmethod
    def read(locations: Locations, key: PathKey, target: Path, name: str, what: str) -> str:
        """The text of ``target``; a file that cannot be read is a problem at ``key``, where it is named."""
        try:
            return read_text(target)
        except FileRefused as why:
            if why.line:  # not UTF-8: the place is in the file itself
                raise RulesetError([Problem(str(target), why.line, 0, "", why.reason)]) from None
            message = f"cannot read {what} {name}: {why.reason}" if why.missing else f"{what} {name} is {why.reason}"
            raise RulesetError([locations.problem(key, message)]) from None


def _referred(error: RulesetError, named_in: str, referral: str) -> RulesetError:
    """``error``'s problems, those in other files than ``named_in`` saying where their file is named."""
    return RulesetError([p if p.file == named_in else replace(p, message=p.message + referral) for p in error.problems])


def _read_with_bases(
    text: str, file: str, base_dir: Path | None, chain: tuple[str, ...], where: _Where
) -> tuple[dict[str, Any], Locations, list[str]]:
    """The document with every ``extends:`` base merged under it, and all the texts read."""
    data, locations = read_yaml(text, file)
    if not isinstance(data, dict):
        raise RulesetError([Problem(file, 1, 1, "", "a ruleset is a mapping of keys (tierpay:, name:, ...)")])
    if "extends" not in data:
        return data, locations, [text]
    key: PathKey = ("extends",)
    name = data["extends"]
    if not isinstance(name, str):
        raise RulesetError([locations.problem(key, "must be the file name of the base ruleset")])
    if base_dir is None:
        raise RulesetError([locations.problem(key, "a ruleset given as text cannot extend a file")])
    target = where.referenced(locations, key, base_dir, name, "the base ruleset")
    resolved = str(target.resolve())
    if resolved in chain or len(chain) >= MAX_EXTENDS:
        why = "extends itself in a circle" if resolved in chain else f"more than {MAX_EXTENDS} levels of extends"
        raise RulesetError([locations.problem(key, why)])
    referral = locations.referral(key, str(target))
    try:
        base_text = where.read(locations, key, target, name, "the base ruleset")
        base, base_locations, texts = _read_with_bases(base_text, str(target), target.parent, (*chain, resolved), where)
    except RulesetError as error:
        raise _referred(error, file, referral) from None
    merged, merged_locations = merge(base, base_locations, data, locations)
    merged_locations.named_by.update({f: r + referral for f, r in base_locations.named_by.items()})
    merged_locations.named_by[str(target)] = referral
    merged_locations.named_by.update(locations.named_by)
    return merged, merged_locations, [*texts, text]


def _inline_minimum_wage(
    data: dict[str, Any], locations: Locations, base_dir: Path | None, where: _Where
) -> tuple[dict[str, Any], str | None, str]:
    """Replace ``pay.floors.minimum_wage.table_file`` by the areas it holds (an edge: reads a file).

    Returns the data, the file read (or none) and its text, which goes into the ruleset's
    content hash: a changed figure changes what the ruleset pays, so it changes its stamp.
    Each ladder's own pay (``ladders.NAME.pay``) is read the same way.
    """
    data, source, text = _inline_at(data, (), locations, base_dir, where)
    ladders = data.get("ladders")
    if not isinstance(ladders, dict):
        return data, source, text
    sources, texts, inlined = [source] if source else [], [text], dict(ladders)
    for name, ladder in ladders.items():
        if isinstance(ladder, dict):
            inlined[name], one, more = _inline_at(ladder, ("ladders", name), locations, base_dir, where)
            if one and one not in sources:
                sources.append(one)
                texts.append(more)
    return {**data, "ladders": inlined}, ", ".join(sources) or None, "".join(texts)


def _inline_at(
    data: dict[str, Any], at: PathKey, locations: Locations, base_dir: Path | None, where: _Where
) -> tuple[dict[str, Any], str | None, str]:
    """``_inline_minimum_wage`` for the pay held by ``data``, found at ``at`` in the ruleset."""
    pay = data.get("pay")
    floors = pay.get("floors") if isinstance(pay, dict) else None
    mw = floors.get("minimum_wage") if isinstance(floors, dict) else None
    if not isinstance(mw, dict) or "table_file" not in mw:
        return data, None, ""
    path_key: PathKey = (*at, "pay", "floors", "minimum_wage", "table_file")
    name = mw["table_file"]
    if not isinstance(name, str):
        raise RulesetError([locations.problem(path_key, "must be a file name")])
    if base_dir is None:
        raise RulesetError([locations.problem(path_key, "a ruleset given as text cannot refer to files")])
    if "table" in mw:
        raise RulesetError([locations.problem(path_key, "give the areas in `table` or name a file, not both")])
    declared_in = locations.file_of(path_key)
    folder = Path(declared_in).parent if declared_in != locations.file else base_dir
    what = "the minimum-wage file"
    target = where.referenced(locations, path_key, folder, name, what)
    try:
        text = where.read(locations, path_key, target, name, what)
        mw_data, mw_locations = read_yaml(text, str(target))
        if not isinstance(mw_data, dict) or "minimum_wage_table" not in mw_data:
            raise RulesetError(
                [Problem(str(target), 1, 1, "", "a minimum-wage file holds one key, `minimum_wage_table:`")]
            )
        try:
            table = MinimumWageTable.model_validate(mw_data)
        except ValidationError as error:
            raise RulesetError(_problems(error, mw_data, mw_locations, MinimumWageTable)) from None
    except RulesetError as error:
        raise _referred(error, declared_in, locations.referral(path_key, str(target))) from None
    new_mw = {k: v for k, v in mw.items() if k != "table_file"}
    new_mw["table"] = {area: value.model_dump() for area, value in table.minimum_wage_table.items()}
    new_floors = {**floors, "minimum_wage": new_mw}  # type: ignore[dict-item]
    new_pay = {**pay, "floors": new_floors}  # type: ignore[dict-item]
    # The table's keys point at the referring line for any later problem.
    for key, pos in list(locations.positions.items()):
        if key == path_key:
            locations.positions[(*at, "pay", "floors", "minimum_wage", "table")] = pos
    return {**data, "pay": new_pay}, str(target), text


def validate_model(data: dict[str, Any], locations: Locations) -> Ruleset:
    """Validate plain ruleset data against the models, mapping errors to file positions."""
    try:
        return Ruleset.model_validate(data)
    except ValidationError as error:
        raise RulesetError(_problems(error, data, locations, Ruleset)) from None


def _problems(
    error: ValidationError,
    data: Any,
    locations: Locations,
    root: type[BaseModel],
    prefix: PathKey = (),
) -> list[Problem]:
    found: dict[tuple[str, int, int, str], list[str]] = {}
    order: list[tuple[str, int, int, str]] = []
    for item in error.errors(include_url=False):
        path, known = _data_path(tuple(item["loc"]), data, item["type"] == "missing")
        path = (*prefix, *path)
        message = _message(item, path, known, root, data, prefix)
        pos = locations.find(path if known else path[:-1], key=True)
        key = (format_path(path), pos.line, pos.column, pos.file or locations.file)
        if key not in found:
            found[key] = []
            order.append(key)
        if message not in found[key]:
            found[key].append(message)
    problems = []
    for key in order:
        messages = found[key]
        specific = [m for m in messages if not m.startswith("must be a valid ")]
        if specific and len(specific) < len(messages):  # a union: the branch the value fits says what is wrong
            messages = specific
        text = messages[0] if len(messages) == 1 else " or ".join(messages)
        problems.append(locations.problem_at(key[3], key[1], key[2], key[0], text))
    return problems


def _data_path(loc: tuple[Any, ...], data: Any, missing: bool) -> tuple[PathKey, bool]:
    """The part of a pydantic location that exists in the data (union tags dropped).

    A last segment absent from the data is kept only for a missing key.
    """
    path: list[str | int] = []
    node = data
    for i, seg in enumerate(loc):
        last = i == len(loc) - 1
        if (isinstance(node, dict) and seg in node) or (
            isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node)
        ):
            path.append(seg)
            node = node[seg]
        elif last and missing and isinstance(node, dict) and isinstance(seg, str):
            path.append(seg)
            return tuple(path), False
    return tuple(path), True


def _message(item: Any, path: PathKey, known: bool, root: type[BaseModel], data: Any, prefix: PathKey) -> str:
    kind = item["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = path[-1] if path else "?"
        allowed = _allowed_keys(root, path[len(prefix) : -1], data if not prefix else None)
        close = difflib.get_close_matches(str(key), allowed, n=1)
        if close:
            return f"unknown key {key!r} (did you mean {close[0]!r}?)"
        return f"unknown key {key!r}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    message = str(item["msg"]).replace("String should have", "must have")
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind in ("literal_error", "union_tag_invalid"):
        return message.replace("Input should be", "must be")
    return message.replace("Input should be", "must be")


def _allowed_keys(root: type[BaseModel], path: PathKey, data: Any) -> list[str]:
    """The keys allowed in the mapping at ``path`` of a ``root`` document (best effort)."""
    current: Any = root
    node = data
    for seg in path:
        if isinstance(node, dict | list):
            try:
                node = node[seg]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                node = None
        current = _step(current, seg, node)
        if current is None:
            return []
    model = _model_in(current, node)
    return sorted(model.model_fields) if model is not None else []


def _step(annotation: Any, seg: str | int, node: Any) -> Any:
    model = _model_in(annotation, None)
    if model is not None and isinstance(seg, str):
        field_info = model.model_fields.get(seg)
        return field_info.annotation if field_info else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _step(args[0], seg, node)
    if origin in (list, tuple) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            stepped = _step(arg, seg, node)
            if stepped is not None:
                return stepped
    return None


def _model_in(annotation: Any, node: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _model_in(args[0], node)
    if origin in (typing.Union, types.UnionType):
        models = [m for m in (_model_in(a, node) for a in args) if m is not None]
        if isinstance(node, dict) and "method" in node:
            for m in models:
                field_info = m.model_fields.get("method")
                if field_info is not None and node["method"] in typing.get_args(field_info.annotation):
                    return m
        return models[0] if len(models) == 1 else None
    return None
