"""readline()/writeline() without the I/O, shared by the blocking flows
(:mod:`ouroboros.dev`) and the asynchronous ones (:mod:`ouroboros.asyncio`,
:mod:`ouroboros.anyio`): the caller does each read that ``want`` asks for
and ``feed``s the result until ``done``."""

from __future__ import annotations

import codecs
from typing import Optional

_utf8 = codecs.getincrementaldecoder("utf-8")


class LineReader:
    """One readline: the next SDU as UTF-8 text; with ``count``, at most
    ``count`` characters of it (the rest of the SDU stays for the next read).

    ``want`` is the count for the next read (``None``: a whole SDU)."""

    __slots__ = ("_count", "_decoder", "_last_full", "_phase", "text", "want", "done")

    def __init__(self, count: Optional[int]) -> None:
        if count is not None and count < 1:
            raise ValueError(f"readline count must be >= 1, not {count}")
        self._count = count
        self._decoder = _utf8()
        self._last_full = False
        self._phase = 0  # 0: the first, non-empty read; 1: more characters; 2: a cut one
        self.text = ""
        self.want: Optional[int] = count
        self.done = False

    def feed(self, data: bytes) -> None:
        """Takes what the read asked for by ``want`` returned."""
        if self._phase == 0:
            # An empty read only marks the end of an SDU that exactly filled
            # the previous read; flows never carry empty SDUs, so skip it.
            if not data:
                return
            if self._count is None:
                self.text = data.decode("utf-8")
                self.done = True
                return
            self.text = self._decoder.decode(data)
            self._last_full = len(data) == self._count
        elif self._phase == 1:
            # Each character is at least one byte: the SDU may go on while
            # a read filled its buffer.
            self._last_full = bool(data) and len(data) == self.want
            self.text += self._decoder.decode(data)
        else:
            if not data:
                raise UnicodeDecodeError("utf-8", self._decoder.getstate()[0], 0, 1,
                                         "SDU ends inside a character")
            self.text += self._decoder.decode(data)
        self._next()

    def _next(self) -> None:
        assert self._count is not None
        if self._phase < 2 and self._last_full and len(self.text) < self._count:
            self._phase = 1
            self.want = self._count - len(self.text)
        elif self._decoder.getstate()[0]:
            # A multi-byte character cut at the end of the read: fetch the rest.
            self._phase = 2
            self.want = 1
        else:
            self.done = True


def encode_line(line: str, count: Optional[int]) -> bytes:
    """What writeline() sends: ``line`` (or its first ``count``
    characters) as UTF-8."""
    if not isinstance(line, str):
        raise TypeError(f"writeline() needs a str, not {type(line).__name__}; "
                        "use write() for bytes")
    if count is not None:
        if count < 0:
            raise ValueError(f"writeline count must be >= 0, not {count}")
        line = line[:count]
    return line.encode("utf-8")
