"""Reading records from files: the I/O edge in front of :mod:`tierpay.engine.records`.

A file that cannot be read as a whole (wrong encoding, no header, not a list) raises
``RecordsError`` naming the file; a bad *row* becomes a rejection and the rest are read. Each
format has its own module turning a file into raw rows (:mod:`tierpay.io.csv_records`,
:mod:`tierpay.io.json_records`); this one chooses by the file's extension, reads the whole file
or one period at a time, and hands the rows to the checker.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tierpay.engine.columns import RecordFrame, records_frame
from tierpay.engine.months import month_or_none
from tierpay.engine.records import (
    PROBLEMS,
    RawRow,
    RecordBatch,
    headed,
    header_fields,
    named_fields,
    no_records,
    parse_records_for,
)
from tierpay.engine.tables import Table, is_table, parse_table
from tierpay.errors import RecordsError
from tierpay.io.csv_records import csv_cells, row_of
from tierpay.io.csv_records import csv_rows as csv_rows  # where it lived before the readers had modules
from tierpay.io.json_records import json_rows as json_rows
from tierpay.io.textfile import (
    GB18030,
    NotUtf8,
    chinese_before,
    decode_records,
    decode_utf8,
    detected_note,
    encoding_name,
    find_not_utf8,
)
from tierpay.io.xlsx_records import ZIP_MAGIC, is_xlsx_name, xlsx_rows
from tierpay.ruleset.compiler import CompiledRuleset
from tierpay.ruleset.versions import RulesetVersions


def decode_text(raw: bytes, source: str, error: type[Exception] = RecordsError) -> str:
    """Bytes as UTF-8 text (a byte-order mark is dropped); anything else raises ``error``."""
    try:
        return decode_utf8(raw, source)
    except NotUtf8 as why:
        raise error(str(why)) from None


def read_records(
    ruleset: CompiledRuleset | RulesetVersions,
    path: str | Path | Table,
    source: str | None = None,
    *,
    encoding: str | None = None,
    data: bytes | None = None,
    sheet: str | None = None,
) -> RecordBatch:
    """Read a CSV or JSON records file (chosen by its extension) into checked records.

    ``path`` may also be a pandas or polars DataFrame or a pyarrow Table, checked as a CSV of the
    same data (:mod:`tierpay.engine.tables`). ``source`` names the input in rejections and warnings
    (default: the path, or ``<DataFrame>`` or ``<Table>``). A file is UTF-8, or GB18030/GBK
    when it reads as that and not as UTF-8 (a warning says so); ``encoding`` names it outright.
    ``data`` gives the file's bytes (standard input): JSON when it starts with ``[`` or ``{``,
    CSV otherwise, named ``path`` in messages. An ``.xlsx`` workbook (or bytes that are one) is
    read from its first sheet, or the one ``sheet`` names (:mod:`tierpay.io.xlsx_records`).
    """
    if is_table(path):
        return RecordBatch(*parse_table(ruleset, path, source))
    file = Path(path)
    source = source or str(path)
    raw = data if data is not None else read_bytes(file, source)
    fields = header_fields(ruleset)
    if is_xlsx(file, data):
        where, sheet_rows, written = xlsx_rows(raw, source, fields, sheet)
        good, rejected, warnings = parse_records_for(ruleset, sheet_rows, where)
        return RecordBatch(good, headed(rejected, {where: written}), warnings, written)
    if sheet is not None:
        raise RecordsError(f"{source}: sheet {sheet!r} was named, but the records are not an Excel workbook (.xlsx)")
    text, note = decode_input(raw, source, encoding)
    written = {}
    if is_json(file, data):  # each record names its own keys: no one header to name
        rows = [(n, _named(row, fields, source, n)) for n, row in json_rows(text, source)]
    else:
        names, records = csv_cells(io.StringIO(text, newline=""), source, fields)
        rows, written = [(line, row_of(names, cells)) for line, cells in records], names.written
    good, rejected, warnings = parse_records_for(ruleset, rows, source)
    return RecordBatch(good, headed(rejected, {source: written}), [note, *warnings] if note else warnings, written)


def read_bytes(file: Path, source: str) -> bytes:
    """A records file's bytes; a file that cannot be read raises ``RecordsError`` naming it."""
    try:
        return file.read_bytes()
    except OSError as error:
        raise RecordsError(f"{source}: cannot read: {error.strerror or error}") from None


def is_json(file: Path, data: bytes | None) -> bool:
    """Whether records are JSON: by the file's extension, or for bytes given (standard input) by their first character."""
    if data is not None:
        return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{")
    return file.suffix.lower() == ".json"


def is_xlsx(file: Path, data: bytes | None) -> bool:
    """Whether records are an Excel workbook: by the file's extension, or for bytes given (standard input) by a zip's first bytes."""
    if data is not None:
        return data.startswith(ZIP_MAGIC)
    return is_xlsx_name(str(file))


def _named(row: Any, fields: dict[str, str], source: str, number: int) -> Any:
    """A JSON record with its keys as the fields they name (a record naming one field twice is refused)."""
    keys = [k for k in row if k != PROBLEMS]
    named = named_fields(keys, fields, f"{source}:{number}") if fields else keys
    if named == keys:
        return row
    renamed = dict(zip(named, (row[k] for k in keys), strict=True))
    if PROBLEMS in row:
        renamed[PROBLEMS] = row[PROBLEMS]
    return renamed


def decode_input(raw: bytes, source: str, encoding: str | None) -> tuple[str, str | None]:
    """A records file's bytes as text, with the note when its encoding was detected (``RecordsError`` when unreadable)."""
    try:
        return decode_records(raw, source, encoding)
    except NotUtf8 as why:
        raise RecordsError(str(why)) from None


STREAM_BYTES = 256 * 1024 * 1024
"""Records files at least this large are read one period at a time (about 2.5 million rows)."""


def stream_batches(
    target: CompiledRuleset | RulesetVersions, path: str | Path, encoding: str | None = None
) -> Iterator[tuple[str | None, RecordFrame, int]]:
    """Read a CSV records file one period at a time: ``(period, checked rows, rows read so far)``.

    Memory holds one period's rows, so the file must be grouped by period, in order (as HR
    exports by month are); rows of a period that comes back later are rejected when evaluated,
    with that reason. Rows whose period is missing or malformed come as their own batch,
    rejected. The header is read and checked here, before the first batch is asked for, so
    a file that cannot be read fails before anything is written. With no ``encoding``, a file
    whose first mebibyte is not UTF-8 but reads as GB18030 is read as GB18030, with a note in
    the first batch's warnings.
    """
    from tierpay.io.frame_stream import body_start, plain_file, stream_frames

    codec, note = _stream_encoding(path, encoding)
    with _read_errors(path, codec), _open_csv(path, codec) as handle:
        names, _ = csv_cells(handle, str(path), header_fields(target))  # the header alone, checked now
    if isinstance(target, CompiledRuleset) and codec == "utf-8-sig" and note is None:
        found = body_start(path)
        if found is not None and plain_file(path, found[0], len(names)):  # polars reads it, period by period
            return _headed_batches(stream_frames(target, path, names, found[0]), names.written)
    return _headed_batches(_stream(target, path, codec, note), names.written)


def _headed_batches(
    batches: Iterator[tuple[str | None, RecordFrame, int]], written: dict[str, str]
) -> Iterator[tuple[str | None, RecordFrame, int]]:
    """Each batch with the file's headers, its rejections naming them (:func:`tierpay.engine.records.headed`)."""
    for period, batch, read in batches:
        batch.headers = written
        batch.rejections = headed(batch.rejections, {batch.source: written})
        yield period, batch, read


def _stream_encoding(path: str | Path, encoding: str | None) -> tuple[str, str | None]:
    """The codec to read ``path`` with, and the note when it was detected from the first mebibyte."""
    if encoding is not None:
        codec = encoding_name(encoding)
        return ("utf-8-sig" if codec == "utf-8" else codec), None
    with _read_errors(path, "utf-8-sig"), Path(path).open("rb") as handle:
        head = handle.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)
        return "utf-8-sig", None
    except UnicodeDecodeError as error:
        if head.startswith(b"\xef\xbb\xbf") or chinese_before(head, error.start):
            return "utf-8-sig", None  # UTF-8 text before: two encodings mixed, refused where it turns
    try:
        codecs.getincrementaldecoder(GB18030)().decode(head)
    except UnicodeDecodeError:
        return "utf-8-sig", None  # the reader says where it is not UTF-8
    return GB18030, detected_note(str(path))


def _open_csv(path: str | Path, codec: str) -> Any:
    return Path(path).open(encoding=codec, newline="")


@contextmanager
def _read_errors(path: str | Path, codec: str) -> Iterator[None]:
    """Errors met reading a file a piece at a time, said as reading it whole would say them."""
    source = str(path)
    try:
        yield
    except UnicodeDecodeError as error:  # say which line, as reading the whole file would
        if codec != "utf-8-sig":
            raise RecordsError(f"{source}: not {codec} text: {error.reason}") from None
        with Path(path).open("rb") as raw:
            found = find_not_utf8(iter(lambda: raw.read(1 << 20), b""), source)
        raise RecordsError(str(found or f"{source}: not UTF-8 text")) from None
    except OSError as error:
        raise RecordsError(f"{source}: cannot read: {error.strerror or error}") from None


def _stream(
    target: CompiledRuleset | RulesetVersions, path: str | Path, codec: str, note: str | None
) -> Iterator[tuple[str | None, RecordFrame, int]]:
    for number, (period, batch, read) in enumerate(_periods(target, path, codec)):
        if number == 0 and note is not None:
            batch.warnings.insert(0, note)
        yield period, batch, read


def _periods(
    target: CompiledRuleset | RulesetVersions, path: str | Path, codec: str
) -> Iterator[tuple[str | None, RecordFrame, int]]:
    source = str(path)
    current: str | None = None
    rows: list[RawRow] = []
    read = 0
    with _read_errors(path, codec), _open_csv(path, codec) as handle:
        names, records = csv_cells(handle, source, header_fields(target))
        period_at = names.index("period") if "period" in names else None
        for number, cells in records:
            read += 1
            at = period_at if cells is not None and period_at is not None and period_at < len(cells) else None
            written = cells[at].strip() if cells is not None and at is not None else ""
            period = written if _MONTH.match(written) else month_or_none(written)
            if period is None:  # rejected on its own, without splitting the current month
                yield None, _batch(target, [(number, row_of(names, cells))], source), read
                continue
            if period != current and rows:
                yield current, _batch(target, rows, source), read - 1
                rows = []
            current = period
            rows.append((number, row_of(names, cells)))
    if rows:
        yield current, _batch(target, rows, source), read
    elif not read:
        yield None, _batch(target, [], source, [no_records(source)]), 0


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$", re.ASCII)


def _batch(
    target: CompiledRuleset | RulesetVersions, rows: list[RawRow], source: str, notes: list[str] | None = None
) -> RecordFrame:
    good, rejected, warnings = parse_records_for(target, rows, source) if rows else ([], [], [])
    return RecordFrame(records_frame(target, good, source), source, rejected, [*(notes or []), *warnings])


def read_input(
    target: CompiledRuleset | RulesetVersions,
    path: str | Path,
    encoding: str | None = None,
    data: bytes | None = None,
    sheet: str | None = None,
) -> RecordFrame:
    """A records file as checked columns: a CSV straight into columns, JSON (or a folder of versions) via records.

    ``data`` gives the bytes instead of reading ``path`` (standard input, named ``path``);
    ``sheet`` names a workbook's sheet.
    """
    from tierpay.engine.run import as_frame
    from tierpay.io.frames import read_frame

    plain = not is_json(Path(path), data) and not is_xlsx(Path(path), data) and sheet is None
    if isinstance(target, CompiledRuleset) and plain:
        return read_frame(target, path, encoding, data)
    return as_frame(target, read_records(target, path, encoding=encoding, data=data, sheet=sheet))
