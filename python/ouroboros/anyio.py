"""Flows as anyio streams, under asyncio or trio (``pip install
'pyouroboros[anyio]'``).

>>> import anyio
>>> from ouroboros.anyio import flow_alloc
>>> async def main():                                    # doctest: +SKIP
...     async with await flow_alloc("oecho", qos=qos_data) as stream:
...         await stream.send(b"hi")
...         print(await stream.receive())
>>> anyio.run(main, backend="trio")                      # doctest: +SKIP

A flow whose QoS is reliable and in order (``loss=0``, ``in_order=1``,
e.g. ``qos_data``) becomes a :class:`ReliableFlowStream`, an
``anyio.abc.ObjectStream[bytes]``; any other one a :class:`FlowStream`, an
``anyio.abc.UnreliableObjectStream[bytes]``. Each item is one SDU.
``receive()`` raises ``anyio.EndOfStream`` once the peer deallocated the
flow, ``anyio.BrokenResourceError`` when it timed out (QoS ``timeout``) or
a send finds the flow down, ``anyio.ClosedResourceError`` after
``aclose()``. Ouroboros flows have no half-close, so ``send_eof()`` raises
``NotImplementedError`` (as anyio's TLS streams do before TLS 1.3).

As in :mod:`ouroboros.asyncio`, no thread per flow: waits go through
``anyio.wait_readable()``/``wait_writable()`` on the flow's descriptor,
and allocation on the embedded runtime is a request whose answer the event
loop waits for. On the system backend allocation, accept and join run on
anyio's worker threads (its default limiter: 40 at once). Cancellation
(cancel scopes, ``fail_after``) is safe as described there. One task at a
time may receive, and one send (``anyio.BusyResourceError`` otherwise).
"""

from __future__ import annotations

import functools
from typing import Callable, Optional, Union

import anyio
import anyio.to_thread
from anyio.abc import ObjectStream, UnreliableObjectStream

from . import _blocking_calls, _core, dev
from ._core import FlowProperties
from .errors import (EIRMD, FlowDownException, FlowNotAllocatedException, FlowPeerException,
                     _make)
from .qos import QoSSpec

#: As :data:`ouroboros.asyncio.REPLY_GRACE` and ``RING_POLL``, in seconds.
REPLY_GRACE = 5.0
#: As :data:`ouroboros.asyncio.RING_POLL`, in seconds.
RING_POLL = 0.001

#: Either stream :func:`flow_alloc` and its kin return.
AnyFlowStream = Union["ReliableFlowStream", "FlowStream"]


def _has_requests() -> bool:
    return _core.backend_name() != "system"


async def _request(start: Callable[[], _core.FlowRequest], flow: dev.Flow,
                   timeo: Optional[float]) -> None:
    request = start()
    try:
        with anyio.move_on_after(None if timeo is None else timeo + REPLY_GRACE) as scope:
            while not request.poll(flow):
                await anyio.wait_readable(request.fileno())
        if scope.cancelled_caught:
            raise _make(EIRMD, "the runtime daemon did not answer in time")
    finally:
        request.cancel()  # a request given up: the runtime forgets it
    flow._now_allocated()


async def _on_thread(call: Callable[..., None], flow: dev.Flow, *args: object) -> None:
    cancelled = _blocking_calls.Cancellation()
    try:
        await anyio.to_thread.run_sync(functools.partial(call, *args, cancelled),
                                       abandon_on_cancel=True)
    except BaseException:
        if cancelled.cancel() and not flow.closed:
            flow.dealloc()
        raise


async def _new_flow(kind: str, timeo: Optional[float], *args: object) -> AnyFlowStream:
    """As ouroboros.asyncio's: ``FlowRequest.<kind>`` or, on a thread,
    ``_blocking_calls.<kind>``."""
    f = dev.Flow()
    if _has_requests():
        start = getattr(_core.FlowRequest, kind)
        await _request(lambda: start(*args, timeo), f, timeo)
    else:
        await _on_thread(getattr(_blocking_calls, kind), f, f, *args, timeo)
    return wrap(f)


async def flow_alloc(dst: str, qos: Optional[QoSSpec] = None,
                     timeo: Optional[float] = None) -> AnyFlowStream:
    """Allocates a flow to the process serving ``dst`` (at most ``timeo``
    seconds, ``None``: no limit) and returns it as a stream."""
    return await _new_flow("alloc", timeo, dst, qos)


async def flow_accept(timeo: Optional[float] = None) -> AnyFlowStream:
    """Accepts the next flow allocated to a name this process is bound to
    (waiting at most ``timeo`` seconds, ``None``: no limit) and returns it
    as a stream."""
    return await _new_flow("accept", timeo)


async def flow_join(dst: str, qos: Optional[QoSSpec] = None,
                    timeo: Optional[float] = None) -> AnyFlowStream:
    """Joins the broadcast layer ``dst`` (waiting at most ``timeo`` seconds,
    ``None``: no limit) and returns the flow as a stream."""
    return await _new_flow("join", timeo, dst, qos)


def wrap(flow: dev.Flow) -> AnyFlowStream:
    """The stream for an allocated flow, chosen from its QoS: reliable and
    in order gives a :class:`ReliableFlowStream`. The stream owns the flow
    from then on."""
    q = flow.get_qos()
    if q.loss == 0 and q.in_order:
        return ReliableFlowStream(flow)
    return FlowStream(flow)


class _FlowStreamBase:
    """What both streams do; items are SDUs."""

    def __init__(self, flow: dev.Flow) -> None:
        #: The flow underneath, for the calls that never wait (QoS, queue
        #: lengths). It is non-blocking: do not read or write it directly.
        self.flow = flow
        flow.set_flags(flow.get_flags() | FlowProperties.NonBlocking)
        self._fd = flow.fileno()
        # An embedded flow's descriptor is its socket, which polls writable
        # too; the system backend's is an eventfd for reading only.
        self._poll_writable = _core.backend_name() != "system"
        self._receiving = anyio.ResourceGuard("receiving from")
        self._sending = anyio.ResourceGuard("sending to")

    async def receive(self) -> bytes:
        """The next SDU."""
        with self._receiving:
            f = self.flow
            while True:
                try:
                    data = f._try_read()
                except FlowNotAllocatedException:
                    raise anyio.ClosedResourceError from None
                except FlowPeerException as e:
                    raise anyio.BrokenResourceError from e
                except FlowDownException:
                    raise anyio.EndOfStream from None
                if data is not None:
                    return data
                try:
                    await anyio.wait_readable(self._fd)
                except anyio.ClosedResourceError:
                    raise anyio.ClosedResourceError from None

    async def send(self, item: bytes) -> None:
        """Sends ``item`` (any bytes-like object) as one SDU."""
        with self._sending:
            f = self.flow
            again = False
            while True:
                try:
                    n = f._try_write(item)
                except FlowNotAllocatedException:
                    raise anyio.ClosedResourceError from None
                except FlowDownException as e:
                    raise anyio.BrokenResourceError from e
                if n is not None:
                    return
                if self._poll_writable and not again:
                    await anyio.wait_writable(self._fd)
                else:
                    # The system backend's transmit ring has no descriptor;
                    # a socket that polled writable but took nothing: wait.
                    await anyio.sleep(RING_POLL)
                again = True

    async def aclose(self) -> None:
        """Deallocates the flow; tasks waiting on it raise
        ``anyio.ClosedResourceError``. A second call does nothing."""
        if self.flow.closed:
            return
        anyio.notify_closing(self._fd)
        if self._poll_writable:
            self.flow.dealloc()
        else:
            # The system backend lingers up to 2 s for the peer to read.
            await anyio.to_thread.run_sync(self.flow.dealloc)

    @property
    def closed(self) -> bool:
        """True once the flow is deallocated."""
        return self.flow.closed

    def fileno(self) -> int:
        """The descriptor that the event loop watches."""
        return self._fd


class FlowStream(_FlowStreamBase, UnreliableObjectStream[bytes]):
    """A flow whose QoS may lose or reorder SDUs, as an
    ``anyio.abc.UnreliableObjectStream[bytes]``."""


class ReliableFlowStream(_FlowStreamBase, ObjectStream[bytes]):
    """A reliable, in-order flow as an ``anyio.abc.ObjectStream[bytes]``."""

    async def send_eof(self) -> None:
        """Not available: Ouroboros flows have no half-close (``aclose()``
        deallocates the flow, which the peer sees as the end)."""
        raise NotImplementedError("Ouroboros flows have no half-close; aclose() deallocates "
                                  "the flow, which the peer's receive() sees as EndOfStream")


__all__ = ["FlowStream", "ReliableFlowStream", "AnyFlowStream", "flow_alloc", "flow_accept",
           "flow_join", "wrap", "REPLY_GRACE", "RING_POLL"]
