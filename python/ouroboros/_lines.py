"""readline()/writeline() without the I/O, shared by the blocking flows
(:mod:`ouroboros.dev`) and the asynchronous ones (:mod:`ouroboros.asyncio`,
:mod:`ouroboros.anyio`): the caller does each read that ``want`` asks for
and ``feed``s the result until ``done``."""

from __future__ import annotations

import codecs
import operator
import sys
from typing import List, Optional

_utf8 = codecs.getincrementaldecoder("utf-8")


def checked_count(count: object, what: str, minimum: int) -> int:
    """``count`` as an int of at least ``minimum``: TypeError for what is
    not an integer, ValueError below ``minimum``."""
    try:
        n = operator.index(count)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} count must be an int or None, not "
                        f"{type(count).__name__}") from None
    if n < minimum:
        raise ValueError(f"{what} count must be >= {minimum}, not {n}")
    return n


class LineReader:
    """One readline: the next SDU as UTF-8 text; with ``count``, at most
    ``count`` characters of it (the rest of the SDU stays for the next read).

    It never reads past the SDU it started: a read shorter than asked (or
    the empty read after one that exactly filled its buffer) ends the SDU,
    and a character cut there is an error, not a reason to wait for the next
    SDU. Text that is not UTF-8 raises :class:`UnicodeDecodeError` whose
    ``object`` holds every byte this readline read (the rest of the SDU, if
    any, stays for the next read), so nothing is lost.

    ``want`` is the count for the next read (``None``: a whole SDU)."""

    __slots__ = ("_count", "_decoder", "_raw", "text", "want", "done")

    def __init__(self, count: Optional[int]) -> None:
        if count is not None:
            count = checked_count(count, "readline", 1)
        self._count = count
        self._decoder = _utf8()
        self._raw: List[bytes] = []  # what this readline read, for an error
        self.text = ""
        # Characters are at least a byte each, and no SDU is near
        # sys.maxsize bytes: a larger count reads the whole SDU.
        self.want: Optional[int] = None if count is None else min(count, sys.maxsize)
        self.done = False

    def feed(self, data: bytes) -> None:
        """Takes what the read asked for by ``want`` returned."""
        if not self._raw and not data:
            # The empty read that ends an SDU which exactly filled the
            # previous read; flows never carry empty SDUs, so skip it.
            return
        self._raw.append(data)
        # A read that filled its buffer may have left more of the SDU.
        more = self.want is not None and len(data) == self.want
        try:
            self.text += self._decoder.decode(data, final=not more)
        except UnicodeDecodeError:
            raise self._undecodable(ended=not more) from None
        assert self._count is None or len(self.text) <= self._count
        if more and self._count is not None and len(self.text) < self._count:
            self.want = self._count - len(self.text)
        else:
            # Done. Without `more` the SDU ended (and the final decode
            # raised for a character cut there); with it, `count`
            # characters came, and each took at least one of the `want`
            # bytes just read, so none is left half-decoded.
            self.done = True

    def _undecodable(self, ended: bool) -> UnicodeDecodeError:
        raw = b"".join(self._raw)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            cut = ended and e.end == len(raw) and e.reason == "unexpected end of data"
            reason = "the SDU ends inside a character" if cut else e.reason
            return UnicodeDecodeError(
                "utf-8", raw, e.start, e.end,
                f"{reason}; not UTF-8 text (the bytes read are the exception's .object)")
        raise AssertionError("the incremental decoder failed where a whole decode does not")


def encode_line(line: str, count: Optional[int]) -> bytes:
    """What writeline() sends: ``line`` (or its first ``count``
    characters) as UTF-8."""
    if not isinstance(line, str):
        raise TypeError(f"writeline() needs a str, not {type(line).__name__}; "
                        "use write() for bytes")
    if count is not None:
        line = line[:checked_count(count, "writeline", 0)]
    return line.encode("utf-8")
