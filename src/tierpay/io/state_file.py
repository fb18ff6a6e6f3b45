"""Reading a carried-state file: its size bounded before a byte is read, then its text checked field by field."""

from __future__ import annotations

from pathlib import Path

from tierpay.engine.state import State
from tierpay.engine.state_text import MAX_STATE_BYTES, read_csv, read_json
from tierpay.errors import StateError
from tierpay.io.sources import decode_text


def read_state(path: str | Path) -> State:
    """Read carried state from JSON, or from CSV when the file ends in ``.csv``.

    A file over 64 MiB (``MAX_STATE_BYTES``) is refused unread; a file that is not UTF-8, not
    valid JSON or CSV, or has any bad field raises ``StateError`` naming each problem's place
    and field. Whether the state fits the ruleset is checked when it is evaluated with one.
    """
    file, source = Path(path), str(path)
    limit = MAX_STATE_BYTES // (1024 * 1024)
    try:
        size = file.stat().st_size
        if size > MAX_STATE_BYTES:
            raise StateError(f"{source}: {size / (1024 * 1024):.1f} MiB, more than the {limit} MiB a state file may be")
        with file.open("rb") as handle:
            raw = handle.read(MAX_STATE_BYTES + 1)  # bounded also when the file grows or is not a regular file
    except OSError as error:
        raise StateError(f"{source}: cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_STATE_BYTES:
        raise StateError(f"{source}: more than the {limit} MiB a state file may be")
    text = decode_text(raw, source, StateError)
    if file.suffix.lower() == ".csv":
        return read_csv(text, source)
    return read_json(text, source)
