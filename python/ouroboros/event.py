"""The event API: wait on many flows at once (Ouroboros' fqueue(3)).

>>> from ouroboros.event import *
>>> fq = FEventQueue()                           # doctest: +SKIP
>>> with FlowSet([f1, f2]) as fs:                # doctest: +SKIP
...     fs.wait(fq, timeo=1.0)                   # FlowSetTimeout after 1 s
>>> for f, t in fq:                              # doctest: +SKIP
...     if t == FEventType.FlowPkt:
...         print(f.readline())

``FEventQueue.next()`` returns ``(flow, FEventType)`` where ``flow`` is the
very ``Flow`` object that was added to the set; iterating over the queue
takes the events in turn until none is left. ``wait()`` returns at once
while the queue still holds events.

Upstream pyOuroboros' loops work too: ``next()`` on an empty queue raises
:class:`~ouroboros.errors.FEventQueueEmpty` and a ``wait()`` that times out
:class:`~ouroboros.errors.FlowSetTimeout`, both ``FlowEventError``s (and a
``queue.Empty`` and a ``TimeoutError`` respectively)::

    while True:
        try:
            f, t = fq.next()
        except FlowEventError:
            break

The event types on the embedded runtime:

- ``FlowPkt``: an SDU can be read (one event per flow and wait, however many
  SDUs are queued: read until ``BlockingIOError`` or wait again).
- ``FlowDown``: the peer marked the flow down (``set_flags`` with ``Down``),
  or its process ended without deallocating the flow (a crash, ``kill -9``).
- ``FlowUp``: the peer cleared the ``Down`` mark.
- ``FlowAlloc``: a pending flow is now allocated: a ``Flow`` object added to
  the set unallocated (e.g. ``Flow()``) got allocated by ``alloc``,
  ``accept`` or ``join``, perhaps in another thread; it is in the set from
  then on. (``flow_alloc``/``flow_accept`` return allocated flows, so the
  runtime itself has no pending flows to report.)
- ``FlowDealloc``: the peer deallocated the flow.
- ``FlowPeer``: the peer did not respond for the QoS ``timeout``.

Hang-ups (``FlowDown``, ``FlowDealloc``, ``FlowPeer``) come after the SDUs
sent before them, once per flow; the flow stays in the set until removed or
deallocated. Sets hold their flows' objects; a flow deallocated while in a
set leaves it. Sets hold hundreds of flows.
"""

from __future__ import annotations

import errno
import os
from collections import deque
from typing import Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple, cast

from . import _core
from . import dev as _dev
from ._core import FEventType
from .dev import *  # noqa: F401,F403 - as upstream: the event API comes with dev's names
from .dev import Flow
from .errors import FEventQueueEmpty, FlowEventError, FlowSetTimeout, FlowTimeoutException

#: What an :class:`FEventQueue` yields: the flow as added, and the event.
Event = Tuple[Flow, FEventType]

# This process' id, refreshed in the child of a fork(): a queue filled
# before the fork holds the parent's events (as the parent's flows and
# sets, which the compiled core refuses in the child).
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


class FEventQueue:
    """The events of the last :meth:`FlowSet.wait`."""

    def __init__(self) -> None:
        # (flow, serial of the flow it held then, type): an event of a flow
        # deallocated or allocated again since the wait is skipped.
        self._events: Deque[Tuple[_core.Flow, int, FEventType]] = deque()
        self._pid = _pid  # the process whose waits fill it

    def next(self) -> Event:
        """The next event as ``(flow, type)``. Raises
        :class:`FEventQueueEmpty` (a ``FlowEventError`` and a
        ``queue.Empty``) when none is left; iterating over the queue stops
        there instead. In a child forked since the queue was filled, raises
        :class:`FlowEventError`: its events are the parent's."""
        event = self._take()
        if event is None:
            raise FEventQueueEmpty(errno.ENOMSG, "no event left in the queue")
        return event

    def _take(self) -> Optional[Event]:
        if self._events and self._pid != _pid:
            raise FlowEventError(
                errno.EBADF, f"this event queue belongs to process {self._pid}, which "
                "forked this one: a child cannot use it (the parent keeps its events)")
        while self._events:
            flow, serial, kind = self._events.popleft()
            if flow._serial == serial and not flow.closed:
                return cast(Flow, flow), kind
        return None

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self._take()
        if event is None:
            raise StopIteration
        return event

    def __len__(self) -> int:
        """Events not taken yet (some may be skipped as deallocated)."""
        return len(self._events)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pending={len(self)}>"


class FlowSet(_core.FlowSet):
    """A set of flows to wait on. ``FlowSet([f1, f2])`` starts with flows;
    ``add``, ``remove``, ``zero`` and ``has`` (or ``f in s``) change and
    query it. ``with FlowSet(...) as s:`` destroys it at the end of the
    block; so does the garbage collector.

    An unallocated ``Flow`` object can be added too: it is pending, and the
    set reports ``FlowAlloc`` for it once it is allocated (accept into it
    in another thread, for instance)."""

    def __init__(self, flows: Optional[Iterable[_core.Flow]] = None) -> None:
        super().__init__()
        self._pending: List[Flow] = []
        # The members by the serial of the flow they hold, so that an event
        # hands back the very object that was added.
        self._members: Dict[int, _core.Flow] = {}
        for flow in flows or ():
            self.add(flow)

    def add(self, flow: _core.Flow) -> None:
        """Adds a flow; an unallocated Flow object waits for allocation."""
        if isinstance(flow, Flow) and flow.closed and not self.closed:
            if not self.has(flow):
                self._pending.append(flow)
            flow._wait_in(self)
            return
        self._join(flow, super().add)

    def remove(self, flow: _core.Flow) -> None:
        """Removes a flow; no effect when it is not in the set."""
        self._pending = [p for p in self._pending if p is not flow]
        if isinstance(flow, _core.Flow):
            self._members.pop(flow._serial, None)
        super().remove(flow)

    def zero(self) -> None:
        """Removes all flows."""
        self._pending.clear()
        self._members.clear()
        super().zero()

    def destroy(self) -> None:
        """Frees the set; a second call does nothing."""
        self._pending.clear()
        self._members.clear()
        super().destroy()

    def has(self, flow: object) -> bool:
        """True when the flow is in the set (pending or allocated)."""
        return any(flow is p for p in self._pending) or super().has(flow)

    def __len__(self) -> int:
        return super().__len__() + len(self._pending)

    def _flow_allocated(self, flow: Flow) -> None:
        if self.closed or not any(flow is p for p in self._pending):
            return  # removed or destroyed meanwhile
        self._pending = [p for p in self._pending if p is not flow]
        self._join(flow, self._add_allocated)

    def _join(self, flow: _core.Flow, add: Callable[[_core.Flow], None]) -> None:
        # Known before it is in the set: a wait in another thread may hand
        # out its first event as soon as add() returns.
        if not isinstance(flow, _core.Flow):
            add(flow)  # raises the binding's TypeError
            return
        self._members[flow._serial] = flow
        try:
            add(flow)
        except BaseException:
            if not super().has(flow):
                self._members.pop(flow._serial, None)
            raise

    def __enter__(self) -> FlowSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    def __contains__(self, flow: object) -> bool:
        return self.has(flow)

    def wait(self, fq: FEventQueue, timeo: Optional[float] = None) -> None:
        """Waits at most ``timeo`` seconds (``None``: no limit) until flows
        in the set have events and puts them in ``fq``. Raises
        :class:`FlowSetTimeout` (a ``TimeoutError`` and, as in upstream
        pyOuroboros, a ``FlowEventError``) when the time runs out, and
        returns at once while ``fq`` still holds events."""
        if not isinstance(fq, FEventQueue):
            raise TypeError(f"FlowSet.wait() needs an FEventQueue, not {type(fq).__name__}")
        if len(fq):
            return  # as fevent(): events are still waiting to be handled
        try:
            events = self._wait(timeo)
        except FlowSetTimeout:
            raise
        except FlowTimeoutException as e:
            raise FlowSetTimeout(e.errno, e.strerror) from None
        fq._pid = _pid
        for serial, kind in events:
            flow = self._members.get(serial)
            if flow is not None:
                fq._events.append((flow, serial, kind))
        if len(self._members) > super().__len__():
            # Flows deallocated while in the set left it: let go of them.
            self._members = {s: f for s, f in self._members.items()
                             if f._serial == s and super().has(f)}

    def __repr__(self) -> str:
        if self.closed:
            return f"<{type(self).__name__} destroyed>"
        return f"<{type(self).__name__} flows={len(self)}>"


__all__ = ["FlowSet", "FEventQueue", "FEventType", "FlowEventError", "FlowSetTimeout",
           "FEventQueueEmpty", "Event"]
__all__ += _dev.__all__
