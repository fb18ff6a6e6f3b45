"""A run's output files as one transaction: every one appears, complete, or none does.

A command names its outputs (``-o``, ``--state-out``, ``--payroll``) to an ``Outputs`` before
any work, which refuses two outputs naming one file, or an output naming an input. Entering it
stages each file as a temporary beside its target (``.NAME.tierpay-PID-RANDOM.tmp``, so that a
later run can tell a dead process's leftovers and remove them); the command writes there;
``publish`` syncs them all and renames them over their targets together. Leaving without
``publish`` (an error, Ctrl-C, SIGTERM) removes every temporary and leaves existing files as they
were; a rename that fails in ``publish`` puts back the files already replaced.

Standard output (no option, or ``-``) and special files (a terminal, ``/dev/null``, a pipe,
``/dev/stdout``) are streams: written in place as the run goes, never replaced. A symbolic link
is followed: the file it points at is replaced, the link stays. A new file is ``0666`` less the
umask; a replaced file keeps its mode, and its owner and group where the process may set them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import signal
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TextIO

from tierpay.errors import OutputConflict, OutputError
from tierpay.io.behind import written_behind

STANDARD_OUTPUT = "-"
"""The path that names standard output."""
_MAX_LINKS = 40  # symbolic links followed before giving up, as the kernel does
_NAME_BYTES = 200  # of the target's name kept in a temporary's name, so that it fits in 255
_STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@dataclass
class _Output:
    """One output: where it was asked for, and what writing it takes."""

    option: str
    path: str
    label: str  # how messages name it: "-o out.csv"
    target: Path | None = None  # the file a staged output replaces; None for standard output
    in_place: bool = False  # a special file, written as a stream
    existed: bool = False
    temp: Path | None = None
    fd: int | None = None
    stream: TextIO | None = None
    closer: contextlib.AbstractContextManager[TextIO] | None = None
    backup: Path | None = None
    placed: bool = False
    keys: set[tuple[Any, ...]] = field(default_factory=set)

    def failure(self) -> OSError | None:
        """The error a write to this output's stream raised, if one did."""
        buffer = getattr(self.stream, "buffer", None)
        for holder in (buffer, getattr(buffer, "raw", None)):
            error = getattr(holder, "error", None)
            if isinstance(error, OSError):
                return error
        return None


class Outputs:
    """The output files of one run, staged together and published together (or not at all).

    Name each output with ``add`` and the inputs with ``refuse_inputs`` (both refuse a clash with
    ``OutputConflict`` before anything is touched); then ``with outputs:`` stages the files,
    ``stream``, ``write`` and ``write_bytes`` fill them and ``publish`` puts them in place.
    """

    def __init__(self, stdout: TextIO, force: bool) -> None:
        self.stdout = stdout
        self.force = force
        self._outputs: dict[str, _Output] = {}
        self._published = False

    def add(self, option: str, path: str | None, *, default: str | None = None) -> None:
        """Name the output ``option`` (say ``-o``) as ``path``; ``default`` is used when it was not given.

        Two outputs that are one file (the same name, a link to it, a hard link, ``./x`` and
        ``x``) or both standard output raise ``OutputConflict``.
        """
        given = path if path is not None else default
        if given is None:
            return
        shown = f"{option} (not given: standard output)" if path is None and given == STANDARD_OUTPUT else None
        output = _Output(option, given, shown or f"{option} {given}")
        output.keys = {("standard output",)} if given == STANDARD_OUTPUT else _identity(given)
        for other in self._outputs.values():
            if not output.keys & other.keys:
                continue
            if given == STANDARD_OUTPUT:
                why = "both write to standard output: give one of them a file"
            else:
                why = "are the same file: give each output a file of its own"
            raise OutputConflict(f"{other.label} and {output.label} {why}")
        self._outputs[option] = output

    def refuse_inputs(
        self, inputs: Iterable[tuple[str, str | None]], may_replace: Mapping[str, str] | None = None
    ) -> None:
        """Refuse any output that is one of ``inputs``: pairs of a label (``the records file``) and a path.

        ``may_replace`` maps an output option to the one input it may be: ``--state-out`` may
        replace ``--state-in``, a state updated in place. A folder input (a ruleset's versions)
        counts as every YAML file in it.
        """
        allowed = may_replace or {}
        for label, path in inputs:
            if path is None or path == STANDARD_OUTPUT:
                continue
            keys = _input_identity(path)
            for output in self._outputs.values():
                if output.keys & keys and allowed.get(output.option) != label:
                    raise OutputConflict(f"{output.label} is {label} {path}: an output may not replace an input")

    def __enter__(self) -> Outputs:
        """Check each output can be written and stage it: nothing appears under its name yet."""
        try:
            for output in self._outputs.values():
                if output.path != STANDARD_OUTPUT:
                    self._stage(output)
        except BaseException:
            self._discard()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Without ``publish``, remove every temporary; name the output whose write failed."""
        failed = [o for o in self._outputs.values() if isinstance(error, OSError) and o.failure() is error]
        if not self._published:
            self._discard()
        if failed and isinstance(error, OSError):
            raise OutputError(f"{failed[0].path}: cannot write: {error.strerror or error}") from None

    def stream(self, option: str) -> TextIO | None:
        """The text stream of output ``option``; None when it was not asked for."""
        output = self._outputs.get(option)
        if output is None:
            return None
        if output.path == STANDARD_OUTPUT:
            return self.stdout
        if output.stream is None:
            assert output.fd is not None, "stream() is called inside the with block"
            if output.in_place:
                output.stream = _stream_in_place(output.fd)
            else:
                output.closer = written_behind(output.fd)
                output.stream = output.closer.__enter__()
            output.fd = None  # the stream owns it now
        return output.stream

    def write(self, option: str, text: str) -> None:
        """Write ``text`` to output ``option`` (nothing when it was not asked for)."""
        sink = self.stream(option)
        if sink is not None:
            sink.write(text)

    def write_bytes(self, option: str, data: bytes) -> None:
        """Write ``data`` (a workbook) to output ``option`` as it is (nothing when it was not asked for).

        The bytes go under the output's text stream, after what was written there; standard
        output that is only text (a test's ``StringIO``) cannot take them.
        """
        sink = self.stream(option)
        if sink is None:
            return
        binary = getattr(sink, "buffer", None)
        if binary is None:
            raise OutputError(f"{self._outputs[option].label}: cannot write: a workbook needs a file, not text output")
        sink.flush()
        binary.write(data)

    def publish(self) -> None:
        """Sync every staged file and rename each over its target; all of them, or none.

        Standard output is flushed first: when it fails, no file is published. A signal that
        arrives during the renames takes effect once they are done.
        """
        for output in self._outputs.values():
            self._close(output)
        self.stdout.flush()
        staged = [o for o in self._outputs.values() if o.temp is not None]
        with _signals_held():
            _keep_backups(staged)
            staged.sort(key=lambda o: o.existed and o.backup is None)  # one that cannot be put back goes last
            for output in staged:
                assert output.temp is not None
                assert output.target is not None
                if not output.existed and os.path.lexists(output.target) and not self.force:
                    why = f"{output.path} exists; use --force to overwrite it"  # made by another program meanwhile
                    raise OutputError(why + _put_back(staged))
                try:
                    _keep_mode(output.target, output.temp)
                    os.replace(output.temp, output.target)
                except OSError as error:
                    why = f"{output.path}: cannot write: {error.strerror or error}"
                    raise OutputError(why + _put_back(staged)) from None
                output.placed = True
                output.temp = None
            self._published = True
            for output in staged:
                if output.backup is not None:
                    _remove(output.backup)
            for folder in {o.target.parent for o in staged if o.target is not None}:
                _sync_folder(folder)

    def _stage(self, output: _Output) -> None:
        """Open a temporary beside ``output``'s target, or the special file itself."""
        where = _follow(output.path)
        output.target = where
        descriptor = _descriptor(where)
        if descriptor is not None:  # /dev/stdout, /dev/fd/3: this process's own open file
            output.in_place = True
            try:
                output.fd = os.dup(descriptor)
            except OSError as error:
                raise OutputError(f"{output.path}: cannot write: {error.strerror or error}") from None
            return
        try:
            info = os.stat(where)
        except FileNotFoundError:
            info = None
        except OSError as error:
            raise OutputError(f"{output.path}: cannot write: {error.strerror or error}") from None
        if info is not None:
            _refuse_kind(output.path, info.st_mode)
            if not stat.S_ISREG(info.st_mode) or where.parent.as_posix().startswith("/proc/"):
                output.in_place = True  # a terminal, /dev/null, a named pipe: a stream
                output.fd = _open(output.path, where, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0))
                return
            if not self.force:
                raise OutputError(f"{output.path} exists; use --force to overwrite it")
            output.existed = True
        remove_stale(where)
        for _ in range(100):
            temp = where.with_name(f"{_stem(where.name)}{os.getpid()}-{secrets.token_hex(4)}.tmp")
            try:
                output.fd = _open(output.path, temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except OutputError:
                if temp.exists():
                    continue  # the name is taken: draw another
                raise
            output.temp = temp
            return
        raise OutputError(f"{output.path}: cannot write: no free temporary name beside it")

    def _close(self, output: _Output) -> None:
        """Finish ``output``'s stream: every byte written and synced (a staged file), or flushed."""
        try:
            if output.closer is not None:
                closer, output.closer = output.closer, None
                closer.__exit__(None, None, None)
            elif output.stream is not None and output.path != STANDARD_OUTPUT:
                output.stream.close()
            elif output.fd is not None:  # staged but never written: an empty file
                os.fsync(output.fd)
                os.close(output.fd)
            output.fd = None
        except OSError as error:
            raise OutputError(f"{output.path}: cannot write: {error.strerror or error}") from None

    def _discard(self) -> None:
        """Close every stream without caring how, and remove every temporary."""
        with _signals_held():
            for output in self._outputs.values():
                with contextlib.suppress(Exception):
                    if output.closer is not None:
                        closer, output.closer = output.closer, None
                        closer.__exit__(OSError, OSError("discarded"), None)
                    elif output.stream is not None and output.path != STANDARD_OUTPUT:
                        output.stream.close()
                    elif output.fd is not None:
                        os.close(output.fd)
                output.fd = None
                if output.temp is not None:
                    _remove(output.temp)
                    output.temp = None


class _Noting(io.FileIO):
    """A file that keeps the error its last failed write raised, so that it can be named."""

    error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except OSError as error:
            self.error = self.error or error
            raise


def _stream_in_place(fd: int) -> TextIO:
    """A UTF-8 text stream writing straight to a special file (a device, a pipe)."""
    raw = _Noting(fd, "w")
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", newline="")


def _open(shown: str, path: Path, flags: int) -> int:
    try:
        return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o666)
    except FileNotFoundError:
        if flags & os.O_CREAT and not path.parent.is_dir():  # the folder, said as it was written
            written = os.path.dirname(shown) or "."
            folder = written if os.path.realpath(written) == str(path.parent) else str(path.parent)
            raise OutputError(f"{shown}: cannot write: the folder {folder} does not exist") from None
        raise OutputError(f"{shown}: cannot write: No such file or directory") from None
    except OSError as error:
        raise OutputError(f"{shown}: cannot write: {error.strerror or error}") from None


def _follow(path: str) -> Path:
    """The file a write to ``path`` lands in: every symbolic link followed, the folders resolved.

    Links are followed into ``/proc`` but not out of it: ``/dev/stdout`` is
    ``/proc/PID/fd/1``, this process's standard output, not the file that happens to be.
    """
    if path.endswith(os.sep):
        raise OutputError(f"{path}: cannot write: is a directory")
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        folder = os.path.realpath(os.path.dirname(current))
        full = os.path.join(folder, os.path.basename(current))
        if folder.startswith("/proc/") or not os.path.islink(full):
            return Path(full)
        current = os.path.join(folder, os.readlink(full))
    raise OutputError(f"{path}: cannot write: too many levels of symbolic links")


def _descriptor(where: Path) -> int | None:
    """The number N when ``where`` is ``/proc/PID/fd/N`` of this process (``/dev/stdout``, ``/dev/fd/N``)."""
    found = re.fullmatch(r"/proc/(self|\d+)/fd/(\d+)", where.as_posix())
    if found is None or found.group(1) not in ("self", str(os.getpid())):
        return None
    return int(found.group(2))


def _refuse_kind(shown: str, mode: int) -> None:
    """A folder, a socket and a disk are not written to."""
    for test, what in ((stat.S_ISDIR, "is a directory"), (stat.S_ISSOCK, "is a socket"), (stat.S_ISBLK, "is a disk")):
        if test(mode):
            raise OutputError(f"{shown}: cannot write: {what}")


def _identity(path: str) -> set[tuple[Any, ...]]:
    """What makes two paths one file: where they lead, and the inode when the file exists."""
    try:
        where = _follow(path)
    except OutputError:
        return {("name", os.path.abspath(path))}
    keys: set[tuple[Any, ...]] = {("name", str(where))}
    with contextlib.suppress(OSError):
        info = os.stat(where)
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
            return set()  # a device or a pipe: writing it twice replaces nothing
        keys.add(("inode", info.st_dev, info.st_ino))
    return keys


def _input_identity(path: str) -> set[tuple[Any, ...]]:
    """The identity of an input file, or of every YAML file in an input folder."""
    if os.path.isdir(path):
        keys: set[tuple[Any, ...]] = set()
        with contextlib.suppress(OSError), os.scandir(path) as entries:
            for entry in entries:
                if entry.name.endswith((".yaml", ".yml")):
                    keys |= _identity(entry.path)
        return keys
    return _identity(path)


def _stem(name: str) -> str:
    """The start of a temporary's name for target ``name``: ``.NAME.tierpay-``."""
    while len(name.encode("utf-8", "surrogateescape")) > _NAME_BYTES:
        name = name[:-1]
    return f".{name}.tierpay-"


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporaries that runs killed outright (``kill -9``) left beside ``target``.

    A temporary's name holds its process id; those of processes still running, of other
    targets, and files tierpay did not name are left alone. Returns the files removed.
    """
    if os.name != "posix":
        return []
    pattern = re.compile(re.escape(_stem(target.name)) + r"(\d+)-[0-9a-f]+\.(?:tmp|old)")
    removed = []
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            found = pattern.fullmatch(entry.name)
            if found and not _running(int(found.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (this one counts as running)."""
    if pid <= 0:
        return True  # never signal a process group
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # another user's
    return True


def _keep_backups(staged: list[_Output]) -> None:
    """A hard link to each existing target but the last, so that a failed rename can be undone."""
    existing = [o for o in staged if o.existed]
    for output in existing[:-1]:
        assert output.target is not None
        assert output.temp is not None
        backup = output.temp.with_suffix(".old")
        try:
            os.link(output.target, backup)
        except OSError:
            continue  # no hard links here: renamed last
        output.backup = backup


def _put_back(staged: list[_Output]) -> str:
    """Undo the renames already done, and remove every temporary and backup.

    Returns what could not be undone, to add to the message (nothing, as a rule).
    """
    kept: list[str] = []
    for output in staged:
        assert output.target is not None
        try:
            if output.placed and output.backup is not None:
                os.replace(output.backup, output.target)
                output.backup = None
            elif output.placed and not output.existed:
                os.unlink(output.target)
            elif output.placed:
                kept.append(output.path)  # no hard link could be made to keep the old one
        except OSError:
            kept.append(output.path)
        for leftover in (output.temp, output.backup):
            if leftover is not None:
                _remove(leftover)
        output.temp = output.backup = None
    return f"; {', '.join(kept)} already replaced, and could not be put back" if kept else ""


def _keep_mode(target: Path, temp: Path) -> None:
    """Give ``temp`` the mode, owner and group of the file it replaces (owner and group where allowed)."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        return
    new = os.stat(temp)
    if (old.st_uid, old.st_gid) != (new.st_uid, new.st_gid):
        try:
            os.chown(temp, old.st_uid, old.st_gid)
        except OSError:
            with contextlib.suppress(OSError):
                os.chown(temp, -1, old.st_gid)
    os.chmod(temp, stat.S_IMODE(old.st_mode))


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable, where the system allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block is done: its renames are never cut in half.

    Only handlers set in Python can wait (signal handlers belong to the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Callable[[int, FrameType | None], Any]] = {}

    def note(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    for number in _STOPPING:
        handler = signal.getsignal(number)
        if callable(handler):
            previous[number] = handler
            signal.signal(number, note)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in caught[:1]:
            previous[number](number, None)
