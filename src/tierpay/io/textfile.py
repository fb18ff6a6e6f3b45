"""Decoding the text files tierpay reads (rulesets, records, state): UTF-8, politely."""

from __future__ import annotations

import codecs
from collections.abc import Iterable

GBK_HINT = " It looks like GBK/GB18030, as Excel writes CSV in China: save it as 'CSV UTF-8' instead."


class NotUtf8(ValueError):
    """The bytes are not UTF-8; ``line`` is the first bad line, ``hint`` what to do about it."""

    def __init__(self, source: str, line: int, hint: str) -> None:
        self.line = line
        self.hint = hint
        super().__init__(f"{source}:{line}: not UTF-8 text.{hint}")


def decode_utf8(raw: bytes, source: str) -> str:
    """``raw`` as text: UTF-8, with or without a byte-order mark.

    Anything else raises ``NotUtf8`` naming ``source`` and the first bad line; a file that
    reads as GBK/GB18030 (Excel's CSV in China) gets advice on how to save it instead.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        hint = ""
        try:
            raw.decode("gb18030")
            hint = GBK_HINT
        except UnicodeDecodeError:
            pass
        raise NotUtf8(source, line, hint) from None


def find_not_utf8(chunks: Iterable[bytes], source: str) -> NotUtf8 | None:
    """What ``decode_utf8`` says of a file given in pieces (too large to hold), or None when it is UTF-8."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    gbk = codecs.getincrementaldecoder("gb18030")()
    line, found, gbk_ok, first = 1, None, True, True
    for chunk in chunks:
        if first and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        first = False
        if gbk_ok:
            try:
                gbk.decode(chunk)
            except UnicodeDecodeError:
                gbk_ok = False
        if found is None:
            pending = utf8.getstate()[0]
            try:
                utf8.decode(chunk)
                line += chunk.count(b"\n")
            except UnicodeDecodeError as error:
                found = line + (pending + chunk)[: error.start].count(b"\n")
        if found is not None and not gbk_ok:
            break
    if found is None:
        try:
            utf8.decode(b"", final=True)
            return None
        except UnicodeDecodeError:
            found = line
    if gbk_ok:
        try:
            gbk.decode(b"", final=True)
        except UnicodeDecodeError:
            gbk_ok = False
    hint = GBK_HINT if gbk_ok else ""
    return NotUtf8(source, found, hint)
