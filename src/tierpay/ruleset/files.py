"""The files a ruleset is read from: each read within a size limit, and kept inside the ruleset's folder.

A ruleset names other files (``extends:``, ``pay.floors.minimum_wage.table_file``). Each is
read the same way: looked up relative to the file that names it, refused when it resolves
(symlinks followed) outside the folder of the ruleset being loaded unless the caller allows
that, refused unless it is a regular file (``/dev/zero`` or a FIFO would never end), and read
only up to the size limit, so a huge file is refused without being read whole.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tierpay.io.textfile import NotUtf8, decode_utf8

MAX_BYTES = 5 * 1024 * 1024
"""The largest ruleset file (or file a ruleset names) tierpay reads."""


class FileRefused(Exception):
    """A file cannot be read as part of a ruleset; ``reason`` says why in plain words.

    ``missing`` is true when the file cannot be read at all (absent, a folder, not permitted,
    not a regular file: ``reason`` is the system's), false for a file refused for what it holds
    (``reason`` is ``larger than 5 MiB``, or ``not UTF-8 text...`` with its first bad ``line``).
    """

    def __init__(self, reason: str, missing: bool = False, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing
        self.line = line


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of the regular file at ``path``, refused past ``limit`` bytes without reading it all.

    The file is looked at before it is opened (a device or a pipe is refused, not read), opened
    without waiting for a writer, looked at again (it may have been swapped), and at most
    ``limit + 1`` bytes are read.
    """
    try:
        before = path.stat()
    except OSError as error:
        raise FileRefused(str(error.strerror or error), missing=True) from None
    except ValueError:
        raise FileRefused("the name holds a NUL character", missing=True) from None
    if not stat.S_ISREG(before.st_mode):
        raise FileRefused(f"it is {_kind(before.st_mode)}, not a regular file", missing=True)
    if before.st_size > limit:
        raise FileRefused(f"larger than {_size(limit)}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise FileRefused(str(error.strerror or error), missing=True) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise FileRefused(f"it is {_kind(opened.st_mode)}, not a regular file", missing=True)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as error:
        raise FileRefused(str(error.strerror or error), missing=True) from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > limit:  # it grew after it was looked at
        raise FileRefused(f"larger than {_size(limit)}")
    try:
        return decode_utf8(raw, str(path))
    except NotUtf8 as why:
        raise FileRefused("not UTF-8 text: save the file as UTF-8", line=why.line) from None


def _size(limit: int) -> str:
    return f"{limit // 1024 // 1024} MiB" if limit % (1024 * 1024) == 0 else f"{limit:,} bytes"


def outside(root: Path, target: Path) -> str | None:
    """Why ``target`` lies outside the folder ``root`` (symlinks followed), or None when it is inside."""
    try:
        resolved, top = target.resolve(), root.resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a link loop, a NUL in the name
        return f"it cannot be followed ({error})"
    if resolved == top or top in resolved.parents:
        return None
    plain, plain_top = (Path(os.path.normpath(Path.cwd() / p)) for p in (target, root))
    if plain == plain_top or plain_top in plain.parents:
        return f"it leads outside the ruleset's folder ({_folder(root)}) through a symbolic link to {resolved}"
    return f"it is outside the ruleset's folder ({_folder(root)})"


def _folder(root: Path) -> str:
    return str(root) if str(root) not in ("", ".") else "the current folder"
