"""Flows in asyncio: await allocation, reads and writes, thousands at once.

>>> import asyncio
>>> from ouroboros.asyncio import flow_alloc
>>> async def main():                                   # doctest: +SKIP
...     async with await flow_alloc("oecho", timeo=5) as f:
...         await f.write(b"hi")
...         print(await f.read())
...         async for sdu in f:     # until the peer deallocates the flow
...             print(sdu)
>>> asyncio.run(main())                                 # doctest: +SKIP

No thread per flow: an asynchronous :class:`Flow` is non-blocking
underneath; a read or write that cannot go on now waits for the event loop
to see the flow's descriptor (``fileno()``) ready, then tries again. On
the embedded runtime allocation, accept and join are requests whose answer
the event loop waits for too. On the system backend (the real
Ouroboros), whose library calls block, they run on worker threads (one
for allocations and joins, which take turns there; at most 8 for accepts,
set waits and deallocations; an accept waits in 0.5 s slices), and a
flow's descriptor is an eventfd that a thread of the library feeds. There
an asynchronous flow tells its peer ``FlowUp`` once (making it
non-blocking is a ``set_flags()``, which Ouroboros 0.23 announces).

Timeouts: ``asyncio.timeout()`` / ``asyncio.wait_for()`` around any call,
and the flow's own (``set_rcv_timeout``, ``set_snd_timeout``, in seconds),
which raise :class:`~ouroboros.errors.FlowTimeoutException` as the blocking
calls do.

Cancellation is safe: a cancelled read or write did nothing (no SDU is
lost or half read, none is half sent); a cancelled ``flow_alloc`` leaves no
flow at either end (on the embedded runtime the daemon gives the accepting
side its end only once the allocator has its own; on the system backend an
allocation cannot be stopped, so the flow it gets is deallocated, which its
peer sees); a cancelled ``flow_accept`` that the runtime had answered
already deallocates the flow it got (its allocator sees that).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno as _errno
import functools
import threading
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple,
                    TypeVar, Union)

from . import _blocking_calls, _core, dev, event
from ._core import FEventType, FlowProperties
from ._lines import LineReader, encode_line
from .errors import (EIRMD, FlowDownException, FlowPeerException, FlowTimeoutException,
                     NotSupported, _make)
from .qos import QoSSpec

if TYPE_CHECKING:
    from typing_extensions import Buffer

R = TypeVar("R")

#: How much longer than a flow request's own timeout we wait for the
#: runtime to answer before declaring it unresponsive, in seconds.
REPLY_GRACE = 5.0
#: A write that finds the system backend's transmit ring full tries again
#: this often, in seconds, as its blocking write does: the ring has no descriptor.
RING_POLL = 0.001

_pools: Dict[str, concurrent.futures.ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _threads(lane: str) -> concurrent.futures.ThreadPoolExecutor:
    # Allocations and joins take turns in the system backend anyway (see
    # take_turn in cpp/src/system/flows.cpp): one thread of their own, so
    # that they never hold up accepts and set waits.
    with _pools_lock:
        if lane not in _pools:
            _pools[lane] = concurrent.futures.ThreadPoolExecutor(
                max_workers=1 if lane == "alloc" else _blocking_calls.MAX_THREADS,
                thread_name_prefix=f"ouroboros-asyncio-{lane}")
        return _pools[lane]


async def _on_thread(call: Callable[..., None], flow: Optional[dev.Flow],
                     *args: Any) -> None:
    """Runs a blocking call of :mod:`_blocking_calls` on a worker thread;
    if we are cancelled, the call stops (or undoes what it got on ``flow``)."""
    cancelled = _blocking_calls.Cancellation()
    lane = "alloc" if call in (_blocking_calls.alloc, _blocking_calls.join) else "other"
    future = asyncio.get_running_loop().run_in_executor(
        _threads(lane), functools.partial(call, *args, cancelled))
    try:
        await future
    except BaseException:
        if cancelled.cancel() and flow is not None and not flow.closed:
            flow.dealloc()
        raise


def _wake(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


def _expire(future: "asyncio.Future[None]", error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


async def _readable_once(fd: int, deadline: Optional[float], error: Callable[[], BaseException]
                         ) -> None:
    """Waits until ``fd`` polls readable; raises ``error()`` at ``deadline``
    (the loop's clock)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.add_reader(fd, _wake, future)
    timer = None if deadline is None else loop.call_at(deadline, _expire, future, error())
    try:
        await future
    finally:
        loop.remove_reader(fd)
        if timer is not None:
            timer.cancel()


def _timed_out(what: str) -> BaseException:
    return _make(_errno.ETIMEDOUT, f"{what} timed out")


def _daemon_silent() -> BaseException:
    return _make(EIRMD, "the runtime daemon did not answer in time")


async def _request(start: Callable[[], _core.FlowRequest], flow: dev.Flow,
                   timeo: Optional[float]) -> None:
    """Drives a non-blocking flow request into ``flow``."""
    request = start()
    loop = asyncio.get_running_loop()
    limit = None if timeo is None else loop.time() + timeo + REPLY_GRACE
    try:
        while not request.poll(flow):
            await _readable_once(request.fileno(), limit, _daemon_silent)
    finally:
        request.cancel()  # a request given up: the runtime forgets it
    flow._now_allocated()


def _backend_has_requests() -> bool:
    return _core.backend_name() != "system"


async def _new_flow(kind: str, timeo: Optional[float], *args: Any) -> Flow:
    """A flow from ``FlowRequest.<kind>(*args, timeo)``, or where the
    backend has no requests from ``_blocking_calls.<kind>`` on a thread."""
    f = dev.Flow()
    if _backend_has_requests():
        start = getattr(_core.FlowRequest, kind)
        await _request(lambda: start(*args, timeo), f, timeo)
    else:
        await _on_thread(getattr(_blocking_calls, kind), f, f, *args, timeo)
    return Flow(f)


async def flow_alloc(dst: str, qos: Optional[QoSSpec] = None,
                     timeo: Optional[float] = None) -> Flow:
    """Allocates a flow to the process serving ``dst``, waiting at most
    ``timeo`` seconds (``None``: no limit). With ``qos``, the flow provides
    that :class:`~ouroboros.qos.QoSSpec`."""
    return await _new_flow("alloc", timeo, dst, qos)


async def flow_accept(timeo: Optional[float] = None) -> Flow:
    """Accepts the next flow allocated to a name this process is bound to,
    waiting at most ``timeo`` seconds (``None``: no limit)."""
    return await _new_flow("accept", timeo)


async def flow_join(dst: str, qos: Optional[QoSSpec] = None,
                    timeo: Optional[float] = None) -> Flow:
    """Joins the broadcast layer ``dst``, waiting at most ``timeo`` seconds
    (``None``: no limit)."""
    return await _new_flow("join", timeo, dst, qos)


class _Waiters:
    """The tasks waiting for one direction of a flow's descriptor: one loop
    callback for all of them, registered only while someone waits (the
    descriptor is level-triggered)."""

    __slots__ = ("_futures", "_loop", "_writing")

    def __init__(self, writing: bool) -> None:
        self._futures: List["asyncio.Future[None]"] = []
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._writing = writing

    async def wait(self, fd: int, deadline: Optional[float], what: str) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        futures = self._futures
        if not futures:
            self._loop = loop
            if self._writing:
                loop.add_writer(fd, self._wake_all, fd)
            else:
                loop.add_reader(fd, self._wake_all, fd)
        futures.append(future)
        timer = None
        if deadline is not None:
            timer = loop.call_at(deadline, _expire, future, _timed_out(f"flow {what}"))
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()
            if future in futures:  # cancelled or timed out: still registered
                futures.remove(future)
                if not futures:
                    self._forget(fd)

    def _wake_all(self, fd: int) -> None:
        self._forget(fd)
        futures, self._futures = self._futures, []
        for future in futures:
            if not future.done():
                future.set_result(None)

    def _forget(self, fd: int) -> None:
        if self._loop is not None:
            if self._writing:
                self._loop.remove_writer(fd)
            else:
                self._loop.remove_reader(fd)
            self._loop = None

    def close(self, fd: int) -> None:
        """Before the descriptor closes: the loop lets go of it and the
        waiters wake (and find the flow deallocated)."""
        self._wake_all(fd)


class Flow:
    """An allocated flow for asyncio, made by :func:`flow_alloc`,
    :func:`flow_accept` or :func:`flow_join`, or ``Flow(f)`` over a
    blocking :class:`ouroboros.dev.Flow` (it then owns ``f``: use the
    asynchronous flow only).

    ``await read()`` returns one SDU; ``await write(buf)`` sends one. The
    methods wait on the event loop where the blocking ones would block, and
    raise what those raise. ``async with`` deallocates the flow at the
    end; ``async for sdu in flow`` reads SDUs until the flow goes down (the
    peer deallocated it; a peer that timed out raises
    :class:`~ouroboros.errors.FlowPeerException`). The flow may be used
    from one event loop at a time; several tasks may read and write it at
    once (each read takes a whole SDU).
    """

    __slots__ = ("flow", "_fd", "_readers", "_writers", "_poll_writable", "_rcv_timeo",
                 "_snd_timeo", "__weakref__")

    def __init__(self, flow: dev.Flow) -> None:
        #: The blocking flow underneath, for the calls that never wait
        #: (QoS, queue lengths, FRCT flags). It is non-blocking: do not
        #: read or write it directly.
        self.flow = flow
        flow.set_flags(flow.get_flags() | FlowProperties.NonBlocking)
        self._fd = flow.fileno()
        self._readers = _Waiters(writing=False)
        self._writers = _Waiters(writing=True)
        # An embedded flow's descriptor is its socket, which polls writable
        # too; the system backend's is an eventfd for reading only.
        self._poll_writable = _core.backend_name() != "system"
        self._rcv_timeo: Optional[float] = flow.get_rcv_timeout()
        self._snd_timeo: Optional[float] = flow.get_snd_timeout()

    # ---------------------------------------------------------------- waiting

    def _deadline(self, timeo: Optional[float]) -> Optional[float]:
        return None if timeo is None else asyncio.get_running_loop().time() + timeo

    async def _writable(self, deadline: Optional[float], again: bool) -> None:
        if self._poll_writable:
            if again:
                # It polled writable and the write still did not fit (an SDU
                # larger than what the socket calls writable): do not spin.
                await asyncio.sleep(RING_POLL)
            await self._writers.wait(self._fd, deadline, "write")
            return
        loop = asyncio.get_running_loop()
        if deadline is not None and loop.time() >= deadline:
            raise _timed_out("flow write")
        await asyncio.sleep(RING_POLL)

    # ---------------------------------------------------------------- reading

    async def _reading(self, attempt: Callable[[Any], Optional[R]], arg: Any) -> R:
        """``attempt(arg)`` until it returns something, waiting for the
        descriptor in between (at most the read timeout)."""
        got = attempt(arg)
        if got is not None:
            return got
        deadline = self._deadline(self._rcv_timeo)
        while True:
            await self._readers.wait(self._fd, deadline, "read")
            got = attempt(arg)
            if got is not None:
                return got

    async def read(self, count: Optional[int] = None) -> bytes:
        """Reads one SDU as bytes; with ``count``, at most ``count`` bytes
        of it (the rest stays for the next read)."""
        return await self._reading(self.flow._try_read, count)

    async def read_into(self, buffer: Buffer) -> int:
        """Reads into a writable buffer; returns the number of bytes read."""
        return await self._reading(self.flow._try_read_into, buffer)

    async def read_many(self, max_count: int = 64) -> List[bytes]:
        """Reads up to ``max_count`` SDUs (at most 1024): waits for the
        first, then takes those already queued (see
        :meth:`ouroboros.dev.Flow.read_many`)."""
        return await self._reading(self.flow._try_read_many, max_count)

    async def read_many_into(self, buffer: Buffer, ends: Buffer) -> int:
        """Reads SDUs packed into ``buffer``; returns their count ``n``:
        SDU ``i`` is ``buffer[ends[i-1]:ends[i]]``, offsets in bytes
        (``ends[-1]`` taken as 0), ``ends`` an array of unsigned 64-bit
        integers whose length is the most SDUs to read. Waits for the
        first, then takes those already queued that fit (see
        :meth:`ouroboros.dev.Flow.read_many_into`)."""
        try_read = self.flow._try_read_many_into
        return await self._reading(lambda _: try_read(buffer, ends), None)

    async def readline(self, count: Optional[int] = None) -> str:
        """Reads the next SDU as UTF-8 text; with ``count``, at most
        ``count`` characters of it (the rest stays for the next call).
        It never reads past that SDU: text that is not UTF-8, or a
        character cut at the end of the SDU, raises UnicodeDecodeError
        whose ``object`` holds the bytes this call read."""
        reader = LineReader(count)
        while not reader.done:
            reader.feed(await self.read(reader.want))
        return reader.text

    # ---------------------------------------------------------------- writing

    async def write(self, buf: Buffer, count: Optional[int] = None) -> int:
        """Writes ``buf`` (or its first ``count`` bytes) as one SDU;
        returns the number of bytes written."""
        f = self.flow
        n = f._try_write(buf, count)
        if n is not None:
            return n
        deadline = self._deadline(self._snd_timeo)
        again = False
        while True:
            await self._writable(deadline, again)
            n = f._try_write(buf, count)
            if n is not None:
                return n
            again = True

    async def write_many(self, sdus: Iterable[Buffer]) -> int:
        """Writes each bytes-like object of ``sdus`` as one SDU, many per
        system call, waiting for room as needed. Returns how many were
        written: all, or fewer when one after the first failed (the next
        call reports that)."""
        pending = list(sdus)
        f = self.flow
        done = 0
        deadline: Optional[float] = None
        again = False
        while done < len(pending):
            try:
                n = f._try_write_many(pending[done:] if done else pending)
            except Exception:
                if done:
                    return done
                raise
            if n is not None:
                done += n
                again = False
                continue
            if deadline is None and self._snd_timeo is not None:
                deadline = self._deadline(self._snd_timeo)
            await self._writable(deadline, again)
            again = True
        return done

    async def writeline(self, line: str, count: Optional[int] = None) -> int:
        """Writes ``line`` (or its first ``count`` characters) as one SDU of
        UTF-8 text; returns the number of characters written."""
        await self.write(encode_line(line, count))
        return len(line) if count is None else min(count, len(line))

    # --------------------------------------------------------------- closing

    def dealloc(self) -> None:
        """Deallocates the flow now; tasks waiting on it wake and raise
        :class:`~ouroboros.errors.FlowNotAllocatedException`. On the system
        backend this can block up to 2 s (the peer reading what is left):
        prefer ``await aclose()`` there."""
        self._let_go()
        self.flow.dealloc()

    async def aclose(self) -> None:
        """Deallocates the flow (on the system backend, on a worker thread:
        its deallocation lingers up to 2 s); a second call does nothing."""
        if self.flow.closed:
            return
        self._let_go()
        if self._poll_writable:
            self.flow.dealloc()
        else:
            await _on_thread(_blocking_calls.dealloc, None, self.flow)

    def _let_go(self) -> None:
        if not self.flow.closed:
            self._readers.close(self._fd)
            self._writers.close(self._fd)

    async def __aenter__(self) -> Flow:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Flow:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.read()
        except FlowPeerException:
            raise
        except FlowDownException:
            raise StopAsyncIteration from None

    # ---------------------------------------------------- settings, queries

    def set_rcv_timeout(self, timeo: Optional[float]) -> None:
        """Reads wait at most ``timeo`` seconds (``None``: no limit)."""
        self.flow.set_rcv_timeout(timeo)
        self._rcv_timeo = timeo

    def get_rcv_timeout(self) -> Optional[float]:
        """The read timeout in seconds, or ``None``."""
        return self._rcv_timeo

    def set_snd_timeout(self, timeo: Optional[float]) -> None:
        """Writes wait at most ``timeo`` seconds for room (``None``: no
        limit)."""
        self.flow.set_snd_timeout(timeo)
        self._snd_timeo = timeo

    def get_snd_timeout(self) -> Optional[float]:
        """The write timeout in seconds, or ``None``."""
        return self._snd_timeo

    def set_flags(self, flags: int) -> None:
        """Replaces the flags (:class:`~ouroboros.dev.FlowProperties`), as
        :meth:`ouroboros.dev.Flow.set_flags`; the flow stays non-blocking."""
        self.flow.set_flags(flags | FlowProperties.NonBlocking)

    def get_flags(self) -> FlowProperties:
        """The flags (``NonBlocking`` always among them)."""
        return self.flow.get_flags()

    def get_qos(self) -> QoSSpec:
        """The :class:`~ouroboros.qos.QoSSpec` the flow got."""
        return self.flow.get_qos()

    def get_rx_queue_len(self) -> int:
        """SDUs received and not read yet."""
        return self.flow.get_rx_queue_len()

    def get_tx_queue_len(self) -> int:
        """SDUs written and not yet read by the peer."""
        return self.flow.get_tx_queue_len()

    def fileno(self) -> int:
        """The descriptor the event loop watches (readable: an SDU or an
        event may be there)."""
        return self._fd

    @property
    def fd(self) -> int:
        """The flow descriptor, -1 once deallocated."""
        return self.flow.fd

    @property
    def closed(self) -> bool:
        """True once the flow is deallocated."""
        return self.flow.closed

    @property
    def max_sdu(self) -> int:
        """The largest SDU one write may carry, in bytes."""
        return self.flow.max_sdu

    def __repr__(self) -> str:
        if self.closed:
            return f"<{type(self).__name__} not allocated>"
        return f"<{type(self).__name__} fd={self.fd}>"


#: A flow of this module or a blocking one (both go in a :class:`FlowSet`).
AnyFlow = Union[Flow, dev.Flow]
#: What :meth:`FlowSet.wait` returns a list of: the flow as added, and the event.
Event = Tuple[AnyFlow, FEventType]


class FlowSet:
    """A set of flows to wait on for events, for asyncio: as
    :class:`ouroboros.event.FlowSet` (``add``, ``remove``, ``zero``,
    ``has`` or ``in``, ``len``, ``destroy``, ``with``), with flows of this
    module or blocking ones, and ``await wait(timeo)`` (``timeo`` in
    seconds, ``None``: no limit), which returns the events as ``(flow,
    type)`` pairs, ``flow`` being the object that was added.

    On the embedded runtime the event loop watches the set's descriptor;
    on the system backend the wait runs on a worker thread, and a flow of
    this module cannot be in a set there (the library's own set holds it;
    adding it raises :class:`~ouroboros.errors.FlowPermissionException`).
    A cancelled wait loses no event: what a thread caught after the
    cancellation comes with the next wait."""

    def __init__(self, flows: Optional[Iterable[AnyFlow]] = None) -> None:
        self._set = event.FlowSet()
        self._queue = event.FEventQueue()
        self._owners: Dict[int, AnyFlow] = {}
        for flow in flows or ():
            self.add(flow)

    @staticmethod
    def _blocking(flow: AnyFlow) -> dev.Flow:
        return flow.flow if isinstance(flow, Flow) else flow

    def add(self, flow: AnyFlow) -> None:
        """Adds a flow (an unallocated blocking one waits for allocation,
        as in :class:`ouroboros.event.FlowSet`)."""
        inner = self._blocking(flow)
        self._set.add(inner)
        self._owners[id(inner)] = flow

    def remove(self, flow: AnyFlow) -> None:
        """Removes a flow; no effect when it is not in the set."""
        inner = self._blocking(flow)
        self._set.remove(inner)
        self._owners.pop(id(inner), None)

    def zero(self) -> None:
        """Removes all flows."""
        self._set.zero()
        self._owners.clear()

    def has(self, flow: object) -> bool:
        """True when the flow is in the set."""
        if isinstance(flow, Flow):
            flow = flow.flow
        return self._set.has(flow)

    def __contains__(self, flow: object) -> bool:
        return self.has(flow)

    def __len__(self) -> int:
        return len(self._set)

    def destroy(self) -> None:
        """Frees the set; waits in progress raise
        :class:`~ouroboros.errors.FlowEventError`. A second call does
        nothing."""
        self._set.destroy()
        self._owners.clear()

    @property
    def closed(self) -> bool:
        """True once the set was destroyed."""
        return self._set.closed

    def __enter__(self) -> FlowSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    def _take(self) -> List[Event]:
        events: List[Event] = []
        for flow, kind in self._queue:
            events.append((self._owners.get(id(flow), flow), kind))
        return events

    async def wait(self, timeo: Optional[float] = None) -> List[Event]:
        """Waits at most ``timeo`` seconds (``None``: no limit) until flows
        in the set have events and returns them (at least one). Raises
        :class:`TimeoutError` (``FlowTimeoutException``) when the time runs
        out."""
        if len(self._queue):
            return self._take()
        try:
            fd = self._set.fileno()
        except NotSupported:
            await _on_thread(_blocking_calls.wait, None, self._set, self._queue, timeo)
            return self._take()
        loop = asyncio.get_running_loop()
        deadline = None if timeo is None else loop.time() + timeo
        while True:
            try:
                self._set.wait(self._queue, 0)
                return self._take()
            except FlowTimeoutException:
                if deadline is not None and loop.time() >= deadline:
                    raise
            await _readable_once(fd, deadline, lambda: _timed_out("waiting for flow events"))

    def __repr__(self) -> str:
        if self.closed:
            return f"<{type(self).__name__} destroyed>"
        return f"<{type(self).__name__} flows={len(self)}>"


__all__ = ["Flow", "FlowSet", "Event", "AnyFlow", "flow_alloc", "flow_accept", "flow_join",
           "FEventType", "REPLY_GRACE", "RING_POLL"]
