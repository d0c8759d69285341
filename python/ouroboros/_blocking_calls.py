"""The blocking calls that event loops run on a worker thread where the
backend has no non-blocking flow requests or pollable flow sets (the system
backend: libouroboros-dev's calls block). Shared by
:mod:`ouroboros.asyncio` and :mod:`ouroboros.anyio`.

Each call watches a :class:`Cancellation` that the awaiting side cancels
when it is cancelled itself: accepts and set waits run in slices and stop
within a slice; an allocation cannot be cut (a retry would be a new
allocation), so a flow it gets after the cancellation is deallocated at
once (the peer sees it deallocated)."""

from __future__ import annotations

import threading
import time
from typing import Optional

from . import dev
from . import event
from .errors import FlowTimeoutException
from .qos import QoSSpec

#: Longest wait inside one blocking call before a cancellation is seen (s).
SLICE = 0.5
#: How many such calls run at once; more wait their turn.
MAX_THREADS = 8


class Cancellation:
    """Decides, once, who owns a call's result when the awaiting side is
    cancelled while a worker thread runs the call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._delivered = False

    def is_set(self) -> bool:
        """True once the awaiting side gave up."""
        return self._cancelled

    def deliver(self) -> bool:
        """The thread has its result: False when the awaiting side gave up
        first (then the thread undoes it)."""
        with self._lock:
            self._delivered = not self._cancelled
            return self._delivered

    def cancel(self) -> bool:
        """The awaiting side gives up: True when the result was delivered
        already (then the awaiting side undoes it)."""
        with self._lock:
            self._cancelled = True
            return self._delivered


def _left(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _deadline(timeo: Optional[float]) -> Optional[float]:
    return None if timeo is None else time.monotonic() + timeo


def _hand_over(flow: dev.Flow, cancelled: Cancellation) -> None:
    if not cancelled.deliver() and not flow.closed:
        flow.dealloc()


def alloc(flow: dev.Flow, dst: str, qos: Optional[QoSSpec], timeo: Optional[float],
          cancelled: Cancellation) -> None:
    """``flow.alloc(dst, qos, timeo)``; deallocates what a cancelled call got."""
    flow.alloc(dst, qos, timeo)
    _hand_over(flow, cancelled)


def join(flow: dev.Flow, dst: str, qos: Optional[QoSSpec], timeo: Optional[float],
         cancelled: Cancellation) -> None:
    """``flow.join(dst, timeo, qos=qos)``; leaves what a cancelled call joined."""
    flow.join(dst, timeo, qos=qos)
    _hand_over(flow, cancelled)


def accept(flow: dev.Flow, timeo: Optional[float], cancelled: Cancellation) -> None:
    """``flow.accept(timeo)`` in slices that stop once cancelled."""
    deadline = _deadline(timeo)
    while not cancelled.is_set():
        left = _left(deadline)
        try:
            flow.accept(SLICE if left is None else min(SLICE, left))
            break
        except FlowTimeoutException:
            if left is not None and left <= SLICE:
                raise
    _hand_over(flow, cancelled)


def dealloc(flow: dev.Flow, cancelled: Cancellation) -> None:
    """``flow.dealloc()``, which can wait (the system backend lingers up
    to 2 s for the peer to read); it runs to the end even when cancelled."""
    flow.dealloc()


def wait(fs: event.FlowSet, fq: event.FEventQueue, timeo: Optional[float],
         cancelled: Cancellation) -> None:
    """``fs.wait(fq, timeo)`` in slices that stop once cancelled. Events
    caught after the cancellation stay in ``fq`` for the next wait."""
    deadline = _deadline(timeo)
    while not cancelled.is_set():
        left = _left(deadline)
        try:
            fs.wait(fq, SLICE if left is None else min(SLICE, left))
            return
        except FlowTimeoutException:
            if left is not None and left <= SLICE:
                raise
