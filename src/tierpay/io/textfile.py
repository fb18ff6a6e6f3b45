"""Decoding the text files tierpay reads (rulesets, records, state): UTF-8, politely."""

from __future__ import annotations


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
            hint = " It looks like GBK/GB18030, as Excel writes CSV in China: save it as 'CSV UTF-8' instead."
        except UnicodeDecodeError:
            pass
        raise NotUtf8(source, line, hint) from None
