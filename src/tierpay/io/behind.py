"""Writing large outputs: a file whose bytes a second thread writes and syncs, and text written as bytes.

``evaluate --format json`` writes a gigabyte: copying it into the page cache and syncing it at the
end took a fifth of the run on the main thread. Here the main thread only encodes and hands the
bytes over; a writer thread (the ``write`` and ``fdatasync`` calls release the GIL) writes them,
syncing every ``SYNC_EVERY`` bytes so that little is left for the final ``fsync``. And text made
by polars goes to the bytes under a text stream as polars writes it: the decisions are mostly ASCII
with some Chinese, two bytes a character as Python strings, and decoding them into Python and
encoding them again for the file took a tenth of the run.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import queue
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO, TextIO, cast

import polars as pl

SYNC_EVERY = 64 << 20
"""Bytes written between two syncs of the data written so far."""
_QUEUED = 8  # writes handed over but not yet written: the main thread waits beyond that


@contextlib.contextmanager
def written_behind(fd: int) -> Iterator[TextIO]:
    """A UTF-8 text stream on ``fd`` (which it closes); on leaving without error every byte is on disk.

    A write that failed in the writer thread is raised (as its ``OSError``) by a later write or
    on leaving.
    """
    behind = _Behind(fd)
    with io.TextIOWrapper(behind, encoding="utf-8", newline="") as handle:  # type: ignore[type-var]
        yield handle
        handle.flush()
        behind.finish()


def write_texts(texts: pl.Series, sink: TextIO) -> None:
    """The texts one after another, written by polars: never a Python string, as bytes under ``sink`` if it can."""
    _write(texts.to_frame(), sink, quote_style="never", line_terminator="")


def write_csv_rows(frame: pl.DataFrame, sink: TextIO) -> None:
    """``frame``'s rows as CSV (no header, quoted where needed), written by polars as bytes under ``sink`` if it can."""
    _write(frame, sink, quote_style="necessary", line_terminator="\n")


def _write(frame: pl.DataFrame, sink: TextIO, **options: Any) -> None:
    binary = utf8_bytes(sink)
    if binary is None:
        sink.write(frame.write_csv(None, include_header=False, **options))
        return
    sink.flush()  # its pending text goes first
    relay = _Relay(binary)
    try:
        frame.write_csv(cast(BinaryIO, relay), include_header=False, **options)
    except OSError:
        if relay.error is not None:  # the sink's own (a closed pipe: BrokenPipeError), not polars' wrapping of it
            raise relay.error from None
        raise


class _Relay:
    """A byte stream for polars to write to that keeps the error its sink raised."""

    def __init__(self, binary: BinaryIO) -> None:
        self.binary = binary
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.binary.write(data)
        except OSError as error:
            self.error = error
            raise

    def flush(self) -> None:
        self.binary.flush()


def utf8_bytes(sink: TextIO) -> BinaryIO | None:
    """The byte stream under ``sink`` when bytes written there read as text written to it, else None.

    That is a UTF-8 text file whose newlines are not translated on this system; flush ``sink``
    before writing bytes under it, so that its pending text goes first.
    """
    if not isinstance(sink, io.TextIOWrapper) or os.linesep != "\n":
        return None
    if codecs.lookup(sink.encoding).name != "utf-8":
        return None
    buffer: BinaryIO = sink.buffer
    return buffer


class _Behind(io.BufferedIOBase):
    """The bytes handed to ``write``, written to the file by a thread of its own (the text stream gathers small writes)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._queue: queue.Queue[bytes | None] = queue.Queue(_QUEUED)
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._drain, name="tierpay-writer", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    @property
    def error(self) -> OSError | None:
        """The error a write or sync of the file raised, once one has: the caller names the file."""
        return self._error

    def write(self, data: Any) -> int:
        """Hand ``data`` over to the writer thread (a copy unless it is ``bytes``, which cannot change)."""
        self._raise()
        chunk = data if type(data) is bytes else bytes(data)
        self._queue.put(chunk)
        return len(chunk)

    def fileno(self) -> int:
        return self._fd

    def finish(self) -> None:
        """Wait until every byte handed over is written, then sync the file; raise a failed write."""
        self._stop()
        self._raise()
        try:
            os.fsync(self._fd)
        except OSError as error:
            self._error = error
            raise

    def close(self) -> None:
        if not self.closed:
            self._stop()
            os.close(self._fd)
        super().close()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _drain(self) -> None:
        unsynced = 0
        while (chunk := self._queue.get()) is not None:
            if self._error is not None:  # after a failure: take the rest, so the main thread never waits
                continue
            try:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._fd, view) :]
                unsynced += len(chunk)
                if unsynced >= SYNC_EVERY:
                    os.fdatasync(self._fd)
                    unsynced = 0
            except OSError as error:
                self._error = error
