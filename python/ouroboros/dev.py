"""Flows: allocate, accept, join, read, write, deallocate.

>>> from ouroboros.dev import *
>>> with flow_alloc("oecho") as f:        # doctest: +SKIP
...     f.writeline("Hello, PyOuroboros!")
...     print(f.readline())

Timeouts are in seconds (float); ``None`` blocks and ``0`` does not wait.
A flow is deallocated exactly once: by ``dealloc()``, by leaving its
``with`` block, or when the last reference goes (with a ResourceWarning,
because relying on that is a bug). Blocking calls release the GIL and
Ctrl-C interrupts them.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any, Optional, Protocol

from . import _core
from . import qos as _qos
from ._core import FlowProperties, FRCTFlags
from ._lines import LineReader, encode_line
from .errors import (FlowAllocatedException, FlowCryptException, FlowDeallocWarning,
                     FlowDownException, FlowException, FlowNotAllocatedException,
                     FlowPeerException, FlowPermissionException, FlowSizeException,
                     FlowTimeoutException, FlowWouldBlock, OuroborosError)
from .qos import *  # noqa: F401,F403 - as upstream: dev's names include the QoS module's
from .qos import QoSSpec


class _PendingSet(Protocol):
    """What a Flow tells when it gets allocated while waiting in a set."""

    def _flow_allocated(self, flow: Flow) -> None: ...


# read() without a count returns a whole SDU, whatever its size, by growing
# its buffer while the SDU goes on. It starts one byte over 64 KiB: an SDU
# that exactly fills the buffer costs a second read and a grown copy (20%
# of a 64 KiB read), and 64 KiB SDUs are common. (Flows without partial
# reads start at max_sdu: a buffer too small would drop the SDU.)
_core._set_first_read_size(64 * 1024 + 1)

# FRCT flag values under upstream pyOuroboros' names.
#: ``FRCTFlags.Retransmission`` (upstream pyOuroboros' name).
FRCT_RETRANSMIT = FRCTFlags.Retransmission
#: ``FRCTFlags.ResourceControl`` (upstream pyOuroboros' name).
FRCT_RESCNTL = FRCTFlags.ResourceControl
#: ``FRCTFlags.Linger`` (upstream pyOuroboros' name).
FRCT_LINGER = FRCTFlags.Linger


class Flow(_core.Flow):
    """A flow to another process. Create one with :func:`flow_alloc`,
    :func:`flow_accept` or :func:`flow_join`, or make an empty ``Flow()``
    and call its ``alloc``/``accept``/``join``.

    ``read()`` returns one SDU (message) as bytes, whatever its size;
    ``write(buf)`` sends ``buf`` as one SDU of at most ``max_sdu`` bytes
    (1 MiB on the embedded runtime, less where the kernel's
    ``net.core.wmem_max`` is smaller, and 24 bytes less when encrypted).
    ``max_sdu`` is the local limit: on the system backend a flow to another
    machine carries only what its lower layers do (8961 bytes over UDP,
    1481 over Ethernet with MTU 1500, for a raw flow over one unicast
    layer), and larger SDUs are lost on the way, not refused; see
    :mod:`ouroboros.testbed.limits`.

    Flags (:class:`FlowProperties`, fccntl(3)): ``set_flags`` replaces them
    all, like ``FLOWSFLAGS``, so keep the access mode in what you set, e.g.
    ``ReadWrite | NonBlocking``. ``Down`` marks the flow down at both ends
    (reads return what is queued, then raise ``FlowDownException``, as do
    writes) and the peer's event sets see ``FlowDown``; setting flags
    without it brings the flow up again (``FlowUp``). Timeouts are in
    seconds (``None`` blocks, ``0`` does not wait); those never set read as
    ``None``.

    FRCT flags (:class:`FRCTFlags`) exist on flows whose QoS asks for
    in-order delivery, as in Ouroboros; elsewhere they raise
    ``FlowPermissionException``. ``Retransmission`` follows the QoS
    (``loss=0``) and cannot be changed.
    """

    def alloc(self, dst: str, qos: Optional[QoSSpec] = None,
              timeo: Optional[float] = None) -> QoSSpec:
        """Allocates this flow to the process serving ``dst``, waiting at
        most ``timeo`` seconds (``None``: until the runtime gives up, after
        20 s as the IRMd does). Returns the QoSSpec the flow got."""
        got = super().alloc(dst, qos, timeo)
        self._now_allocated()
        return got

    def accept(self, timeo: Optional[float] = None) -> QoSSpec:
        """Accepts the next flow allocated to a name this process is bound
        to, waiting at most ``timeo`` seconds (``None``: no limit). Returns
        the QoSSpec the flow got."""
        got = super().accept(timeo)
        self._now_allocated()
        return got

    def join(self, dst: str, timeo: Optional[float] = None,
             qos: Optional[QoSSpec] = None) -> QoSSpec:
        """Joins the broadcast layer ``dst``, waiting at most ``timeo``
        seconds (``None``: no limit). The second argument is the timeout,
        as in upstream pyOuroboros; ``qos`` goes by keyword. Returns the
        QoSSpec the flow got."""
        got = super().join(dst, timeo, qos)
        self._now_allocated()
        return got

    def dealloc(self) -> None:
        """Deallocates the flow. Raises :class:`FlowDeallocWarning` (a
        ``FlowNotAllocatedException``) when it is not allocated, e.g. on
        a second call, as upstream pyOuroboros does."""
        try:
            super().dealloc()
        except FlowDeallocWarning:
            raise
        except FlowNotAllocatedException as e:
            raise FlowDeallocWarning(e.errno, e.strerror) from None

    def _wait_in(self, fs: _PendingSet) -> None:
        # FlowSet.add() of this flow while unallocated: tell fs once it is.
        self.__dict__.setdefault("_pending_sets", weakref.WeakSet()).add(fs)

    def _now_allocated(self) -> None:
        for fs in list(self.__dict__.pop("_pending_sets", ())):
            fs._flow_allocated(self)

    def __enter__(self) -> Flow:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if not self.closed:
            self.dealloc()

    def __del__(self) -> None:
        try:
            if self.closed:  # also in a forked child: the parent's flow
                return
            what = repr(self)
        except Exception:  # noqa: BLE001 - __init__ never ran
            return
        # Deallocate first (without the GIL, as dealloc() does), then warn:
        # under -W error the warning raises (Python reports it as ignored),
        # and it must not leave the flow to the compiled destructor, which
        # closes it with the GIL held.
        try:
            self.dealloc()
        except Exception:  # noqa: BLE001 - deallocated meanwhile by another thread
            pass
        warnings.warn(f"unclosed flow {what}; use dealloc() or a with block",
                      ResourceWarning, source=self, stacklevel=2)

    def __repr__(self) -> str:
        if self.closed:
            return f"<{type(self).__name__} not allocated>"
        return f"<{type(self).__name__} fd={self.fd}>"

    def readline(self, count: Optional[int] = None) -> str:
        """Reads the next SDU as UTF-8 text; with ``count``, at most
        ``count`` characters of it (the rest stays for the next call).
        It never reads past that SDU: text that is not UTF-8, or a
        character cut at the end of the SDU, raises UnicodeDecodeError
        whose ``object`` holds the bytes this call read."""
        reader = LineReader(count)
        while not reader.done:
            reader.feed(self.read(reader.want))
        return reader.text

    def writeline(self, line: str, count: Optional[int] = None) -> int:
        """Writes ``line`` (or its first ``count`` characters) as one SDU of
        UTF-8 text; returns the number of characters written."""
        data = encode_line(line, count)
        self.write(data)
        return len(line) if count is None else min(count, len(line))


def flow_alloc(dst: str, qos: Optional[QoSSpec] = None,
               timeo: Optional[float] = None) -> Flow:
    """Allocates a flow to the process serving ``dst``, waiting at most
    ``timeo`` seconds (``None``: until the runtime gives up, after 20 s as
    the IRMd does). With ``qos``, the flow provides that QoSSpec."""
    f = Flow()
    f.alloc(dst, qos, timeo)
    return f


def flow_accept(timeo: Optional[float] = None) -> Flow:
    """Accepts the next flow allocated to a name this process is bound to,
    waiting at most ``timeo`` seconds."""
    f = Flow()
    f.accept(timeo)
    return f


def flow_join(dst: str, qos: Optional[QoSSpec] = None,
              timeo: Optional[float] = None) -> Flow:
    """Joins the broadcast layer ``dst``, waiting at most ``timeo`` seconds
    (``None``: until the runtime gives up, after 20 s)."""
    f = Flow()
    f.join(dst, timeo, qos)
    return f


__all__ = [
    "Flow", "flow_alloc", "flow_accept", "flow_join", "FlowProperties", "FRCTFlags",
    "FRCT_RETRANSMIT", "FRCT_RESCNTL", "FRCT_LINGER",
    "OuroborosError", "FlowException", "FlowAllocatedException",
    "FlowNotAllocatedException", "FlowDeallocWarning", "FlowDownException", "FlowPeerException",
    "FlowPermissionException", "FlowTimeoutException", "FlowWouldBlock",
    "FlowSizeException", "FlowCryptException",
]
__all__ += _qos.__all__
