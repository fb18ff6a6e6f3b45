"""Decoding the text files tierpay reads: UTF-8, politely; records also as GB18030/GBK, said or detected.

Rulesets and state files are UTF-8 (tierpay and editors write them). Records come from HR
systems and Excel, which in China save CSV as GBK: a records file that is not UTF-8 but reads
as GB18030 (GBK's superset) is read so, with a note on standard error, and ``--encoding``
names the encoding outright.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable

from tierpay.words import Said

GBK_HINT = " It looks like GBK/GB18030, as Excel writes CSV in China: save it as 'CSV UTF-8' instead."


class NotUtf8(ValueError):
    """The bytes are not UTF-8; ``line`` is the first bad line, ``hint`` what to do about it."""

    def __init__(self, source: str, line: int, hint: str, what: str = "not UTF-8 text") -> None:
        self.line = line
        self.hint = hint
        super().__init__(f"{source}:{line}: {what}.{hint}")


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


GB18030 = "gb18030"
_CJK = re.compile("[\u3000-\u9fff\uf900-\ufaff\uff00-\uffef]")


def encoding_name(name: str) -> str:
    """An ``--encoding`` value as Python's codec name (``GBK`` is read as its superset GB18030); ``LookupError`` when unknown."""
    codec = codecs.lookup(name).name
    return GB18030 if codec in ("gbk", "gb2312", "gb18030") else codec


def looks_gbk(raw: bytes) -> bool:
    """Whether bytes that are not UTF-8 are GB18030 throughout: no UTF-8 Chinese before the first bad byte.

    A file with UTF-8 Chinese (or a byte-order mark) before its first non-UTF-8 byte mixes two
    encodings; reading it as GB18030 would garble the first part, so it is refused rather
    than guessed. (GBK bytes may pass for a few two-byte UTF-8 letters, never for CJK text.)
    """
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        raw[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        if chinese_before(raw[bom:], error.start):
            return False
    try:
        raw.decode(GB18030)
    except UnicodeDecodeError:
        return False
    return not bom


def chinese_before(raw: bytes, end: int) -> bool:
    """Whether the UTF-8 bytes before ``end`` hold Chinese text (a file whose UTF-8 part is Chinese is UTF-8)."""
    return _CJK.search(raw[:end].decode("utf-8", "replace")) is not None


def detected_note(source: str) -> str:
    """The line on standard error saying a file was read as GB18030 because it was not UTF-8 (in English or Chinese)."""
    return Said("warn.gb18030", source=source)


def decode_records(raw: bytes, source: str, encoding: str | None = None) -> tuple[str, str | None]:
    """A records file's text and, when its encoding was guessed, the note saying so.

    With no ``encoding``: UTF-8 (a byte-order mark is dropped), else GB18030/GBK when the
    bytes read as that (the note says so), else ``NotUtf8``. With one, the bytes are read as
    that encoding alone, and bytes that are not raise ``NotUtf8`` naming it and the line.
    """
    if encoding is None or encoding_name(encoding) == "utf-8":
        try:
            return decode_utf8(raw, source), None
        except NotUtf8 as why:
            if encoding is not None or not why.hint or not looks_gbk(raw):
                raise
            return raw.decode(GB18030), detected_note(source)
    codec = encoding_name(encoding)
    try:
        return raw.decode(codec), None
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise NotUtf8(source, line, "", f"not {encoding} text") from None
