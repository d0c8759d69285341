"""ouroboros.asyncio: flows awaited on an event loop, on both backends
(the server is another process, as Ouroboros 0.23 needs)."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sys
from typing import Any, Coroutine, List, TypeVar

import pytest

from aio_testing import (AIO_SERVER, POOLED_CONNECTIONS, aio_name,  # noqa: F401 (fixture)
                         open_descriptors)
from o7s_system import PEER_DEALLOC_UNSEEN, peer_dealloc_seen
from ouroboros import dev
from ouroboros.asyncio import FEventType, Flow, FlowSet, flow_accept, flow_alloc
from ouroboros.errors import (FlowDownException, FlowNotAllocatedException,
                              FlowTimeoutException)

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """Runs ``coro`` in a new event loop, failing after ``timeout`` s."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def raise_descriptor_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} descriptors; RLIMIT_NOFILE's hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@pytest.fixture
def echo(spawn, aio_name: str) -> str:
    """The name of an asyncio echo server in its own process."""
    spawn(AIO_SERVER, aio_name, "echo").expect("ready")
    return aio_name


def test_echo_across_processes(echo: str) -> None:
    async def main() -> None:
        async with await flow_alloc(echo, timeo=10) as f:
            assert isinstance(f, Flow)
            f.set_rcv_timeout(10)
            assert await f.write(b"hello") == 5
            assert await f.read() == b"hello"
            for size in (1, 1500, 65536, 300_000):
                msg = os.urandom(size)
                await f.write(msg)
                assert await f.read() == msg
            assert await f.writeline("héllo wörld") == 11
            assert await f.readline() == "héllo wörld"
            await f.write(b"abcdef")
            buf = bytearray(4)
            assert await f.read_into(buf) == 4 and buf == b"abcd"
            assert await f.read() == b"ef"
            assert await f.write_many([b"a", b"bb", b"ccc"]) == 3
            got: List[bytes] = []
            while len(got) < 3:
                got += await f.read_many()
            assert got == [b"a", b"bb", b"ccc"]
        assert f.closed

    run(main())


def test_async_for_ends_when_the_peer_deallocates(spawn, aio_name: str, backend: str) -> None:
    if not peer_dealloc_seen(backend):
        pytest.skip(PEER_DEALLOC_UNSEEN)
    spawn(AIO_SERVER, aio_name, "echo3").expect("ready")

    async def main() -> None:
        async with await flow_alloc(aio_name, timeo=10) as f:
            f.set_rcv_timeout(10)
            for sdu in (b"one", b"two", b"three"):
                await f.write(sdu)
            assert [sdu async for sdu in f] == [b"one", b"two", b"three"]

    run(main())


def test_many_concurrent_flows_on_one_loop(spawn, aio_name: str, backend: str) -> None:
    # 1000 on the embedded runtime. Fewer on the real Ouroboros: 0.23 can
    # lose an allocation that meets an accept's timeout (docs/howto/system.md,
    # "Known upstream bugs"), and each one here is a chance.
    n = 1000 if backend == "embedded" else 30
    raise_descriptor_limit(4 * n + 256)
    server = spawn("import resource as r; s, h = r.getrlimit(r.RLIMIT_NOFILE); "
                   "r.setrlimit(r.RLIMIT_NOFILE, (h, h))\n" + AIO_SERVER, aio_name, "echo")
    server.expect("ready")

    async def main() -> None:
        flows = await asyncio.gather(*(flow_alloc(aio_name, timeo=30) for _ in range(n)))

        async def ping(i: int, f: Flow) -> None:
            f.set_rcv_timeout(30)
            for k in range(3):
                msg = f"{i}-{k}".encode()
                await f.write(msg)
                assert await f.read() == msg
            await f.aclose()

        await asyncio.gather(*(ping(i, f) for i, f in enumerate(flows)))

    before = open_descriptors()
    run(main(), timeout=120)
    assert open_descriptors() <= before + POOLED_CONNECTIONS
    if peer_dealloc_seen(backend):
        for _ in range(n):
            server.expect("gone", timeout=30)


def test_a_cancelled_read_loses_no_sdu(echo: str) -> None:
    async def main() -> None:
        async with await flow_alloc(echo, timeo=10) as f:
            f.set_rcv_timeout(10)
            await f.write(b"start")
            assert await f.read() == b"start"
            got: List[bytes] = []
            for i in range(200):
                await f.write(b"%d" % i)
                task = asyncio.ensure_future(f.read())
                for _ in range(i % 5):  # cancel at a different step each time
                    await asyncio.sleep(0)
                task.cancel()
                try:
                    got.append(await task)
                except asyncio.CancelledError:
                    pass
            while len(got) < 200:
                got.append(await f.read())
            assert got == [b"%d" % i for i in range(200)]

    run(main())


@pytest.mark.embedded_only
def test_a_cancelled_write_sends_nothing() -> None:
    from ouroboros import irm
    irm.serve("aio-pair")

    async def main() -> None:
        a, b = await asyncio.gather(flow_alloc("aio-pair", timeo=5), flow_accept(timeo=5))
        b.set_rcv_timeout(10)
        big = bytes(65536)
        sent = 0
        while True:  # fill the flow: b reads nothing yet
            task = asyncio.ensure_future(a.write(b"%08d" % sent + big))
            for _ in range(3):
                await asyncio.sleep(0)
            if not task.done():
                break
            task.result()
            sent += 1
        task.cancel()  # waiting for room
        with pytest.raises(asyncio.CancelledError):
            await task
        writing_end = asyncio.ensure_future(a.write(b"end"))
        for k in range(sent):
            assert (await b.read())[:8] == b"%08d" % k
        assert await b.read() == b"end"  # nothing of the cancelled write
        await writing_end
        await a.aclose()
        await b.aclose()

    run(main())


def _spy_on_readers(loop: asyncio.AbstractEventLoop) -> List[int]:
    """Records the descriptors that the loop is asked to watch."""
    watched: List[int] = []
    add = loop.add_reader

    def spy(fd: Any, callback: Any, *args: Any) -> None:
        watched.append(fd)
        add(fd, callback, *args)

    loop.add_reader = spy  # type: ignore[method-assign]
    return watched


def _wait_readable(fd: int) -> None:
    import select
    ready, _, _ = select.select([fd], [], [], 10)
    assert ready, "the runtime did not answer within 10 s"


@pytest.mark.embedded_only
def test_a_cancelled_alloc_leaves_no_flow_at_either_end() -> None:
    from ouroboros import irm
    irm.serve("aio-cancel")

    async def main() -> None:
        before = open_descriptors()
        loop = asyncio.get_running_loop()
        # Cancelled while nobody accepts: the request dies with it.
        pending = asyncio.ensure_future(flow_alloc("aio-cancel", timeo=10))
        await asyncio.sleep(0)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        # Cancelled after the runtime answered, before the task saw it: the
        # acceptor, waiting already, must not get that flow but the next.
        for _ in range(50):
            accept = asyncio.ensure_future(flow_accept(timeo=10))
            await asyncio.sleep(0)
            watched = _spy_on_readers(loop)
            granted = asyncio.ensure_future(flow_alloc("aio-cancel", timeo=10))
            await asyncio.sleep(0)
            del loop.add_reader  # type: ignore[attr-defined]
            if not granted.done():
                break
            # The answer came before the first look: that allocation went
            # through, as it should. Again.
            await granted.result().aclose()
            await (await accept).aclose()
        else:
            pytest.fail("the runtime always answered before the request was watched")
        _wait_readable(watched[-1])  # the grant is there, unread
        granted.cancel()
        with pytest.raises(asyncio.CancelledError):
            await granted
        assert not accept.done()
        async with await flow_alloc("aio-cancel", timeo=10) as f:
            await f.write(b"the real one")
            g = await accept
            assert await g.read() == b"the real one"
            await g.aclose()
        assert open_descriptors() <= before + POOLED_CONNECTIONS

    run(main())


@pytest.mark.embedded_only
def test_a_cancelled_accept_deallocates_the_flow_it_got() -> None:
    from ouroboros import irm
    from ouroboros.event import FEventQueue, FlowSet as BlockingSet
    irm.serve("aio-cancel-accept")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        watched = _spy_on_readers(loop)
        accept = asyncio.ensure_future(flow_accept(timeo=10))
        await asyncio.sleep(0)
        fd = watched[-1]
        del loop.add_reader  # type: ignore[attr-defined]
        f = await flow_alloc("aio-cancel-accept", timeo=10)
        _wait_readable(fd)
        accept.cancel()
        with pytest.raises(asyncio.CancelledError):
            await accept
        fq = FEventQueue()
        with BlockingSet([f.flow]) as fs:
            fs.wait(fq, timeo=10)
            assert [t for _, t in fq] == [FEventType.FlowDealloc]
        f.set_rcv_timeout(10)
        with pytest.raises(FlowDownException):
            await f.read()
        await f.aclose()

    run(main())


@pytest.mark.system
def test_a_cancelled_alloc_on_the_system_backend_is_deallocated(spawn, aio_name: str) -> None:
    server = spawn(AIO_SERVER, aio_name, "echo")
    server.expect("ready")

    async def main() -> None:
        task = asyncio.ensure_future(flow_alloc(aio_name, timeo=10))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with await flow_alloc(aio_name, timeo=10) as f:
            f.set_rcv_timeout(10)
            await f.write(b"after")
            assert await f.read() == b"after"

    run(main())
    # An allocation cannot be stopped there: if the cancelled one reached
    # the server, it was deallocated at once and the server saw it go.
    lines = []
    while not any(line.endswith(" after") for line in lines):
        lines.append(server.expect("", timeout=20))
    cancelled = [line for line in lines if not line.endswith(" after")]
    assert all(line.startswith("gone 1 ") for line in cancelled), lines


def test_peer_death_while_awaiting_a_read(spawn, aio_name: str, backend: str) -> None:
    if not peer_dealloc_seen(backend):
        pytest.skip(PEER_DEALLOC_UNSEEN)
    server = spawn(AIO_SERVER, aio_name, "echo")
    server.expect("ready")

    async def main() -> None:
        async with await flow_alloc(aio_name, timeo=10) as f:
            f.set_rcv_timeout(20)
            await f.write(b"hi")
            assert await f.read() == b"hi"
            server.expect("flow")
            reading = asyncio.ensure_future(f.read())
            await asyncio.sleep(0)
            if backend == "system":
                # A dead peer shows only after the QoS timeout there: let it
                # leave instead (SIGTERM: it exits, deallocating its flows).
                server.kill(signal.SIGTERM)
            else:
                server.kill(signal.SIGKILL)
            with pytest.raises(FlowDownException):
                await reading

    run(main())


def test_timeouts(spawn, aio_name: str) -> None:
    spawn(AIO_SERVER, aio_name, "echo").expect("ready")

    async def main() -> None:
        async with await flow_alloc(aio_name, timeo=10) as f:
            await f.write(b"x")
            assert await f.read() == b"x"
            f.set_rcv_timeout(0.1)
            assert f.get_rcv_timeout() == pytest.approx(0.1)
            with pytest.raises(FlowTimeoutException):
                await f.read()  # the flow's own timeout
            f.set_rcv_timeout(None)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(f.read(), 0.1)
            if sys.version_info >= (3, 11):
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.1):
                        await f.read()
            await f.write(b"still works")  # nothing was lost or left behind
            assert await asyncio.wait_for(f.read(), 10) == b"still works"
        with pytest.raises(FlowTimeoutException):
            await flow_accept(timeo=0.1)

    run(main())


@pytest.mark.embedded_only
def test_an_allocation_nobody_accepts_times_out() -> None:
    from ouroboros import irm
    irm.serve("aio-nobody")

    async def main() -> None:
        with pytest.raises(FlowTimeoutException):
            await flow_alloc("aio-nobody", timeo=0.1)

    run(main())


def test_dealloc_wakes_a_waiting_read(echo: str) -> None:
    async def main() -> None:
        f = await flow_alloc(echo, timeo=10)
        reading = asyncio.ensure_future(f.read())
        await asyncio.sleep(0)
        f.dealloc()
        with pytest.raises(FlowNotAllocatedException):
            await reading
        await f.aclose()  # a second close does nothing

    run(main())


CTRL_C_CLIENT = """
import asyncio, sys
from ouroboros.asyncio import flow_accept, flow_alloc

async def main():
    f = await flow_alloc(sys.argv[1], timeo=10)
    await f.write(b"x")
    await f.read()
    print("waiting", flush=True)
    await asyncio.gather(f.read(), flow_accept())

try:
    asyncio.run(main())
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_stops_asyncio_run(spawn, echo: str) -> None:
    client = spawn(CTRL_C_CLIENT, echo)
    client.expect("waiting", timeout=20)
    client.kill(signal.SIGINT)
    client.expect("interrupted", timeout=10)
    status, _, err = client.finish(timeout=10)
    assert status == 0, err
    assert "Traceback" not in err, err


async def _write(f: Any, data: bytes) -> None:
    if isinstance(f, Flow):
        await f.write(data)
    else:
        f.write(data)


async def _read(f: Any) -> bytes:
    return await f.read() if isinstance(f, Flow) else f.read()


def test_flow_set_wait(spawn, aio_name: str, backend: str) -> None:
    spawn(AIO_SERVER, aio_name, "echo").expect("ready")

    async def main() -> None:
        if backend == "system":
            # There a flow with a descriptor cannot be in a set: blocking ones.
            flows: List[Any] = [dev.flow_alloc(aio_name, timeo=10) for _ in range(2)]
        else:
            flows = [await flow_alloc(aio_name, timeo=10) for _ in range(2)]
        for f in flows:
            f.set_rcv_timeout(10)
            await _write(f, b"hello")
        with FlowSet(flows) as fs:
            assert len(fs) == 2 and flows[0] in fs
            seen: List[Any] = []
            while len(seen) < 2:
                for flow, kind in await fs.wait(10):
                    assert any(flow is f for f in flows)
                    if kind == FEventType.FlowUp and backend == "system":
                        continue  # the server's flow went non-blocking (0.23 tells)
                    assert kind == FEventType.FlowPkt
                    if not any(flow is s for s in seen):
                        seen.append(flow)
                        assert await _read(flow) == b"hello"
            # A cancelled wait loses nothing: an event it caught comes with
            # the next wait.
            waiting = asyncio.ensure_future(fs.wait(10))
            await asyncio.sleep(0)
            await _write(flows[1], b"again")
            waiting.cancel()
            try:
                events = await waiting
            except asyncio.CancelledError:
                events = await fs.wait(10)
            assert any(e[0] is flows[1] and e[1] == FEventType.FlowPkt for e in events)
            assert await _read(flows[1]) == b"again"
            with pytest.raises(FlowTimeoutException):
                while True:  # the system backend may report read SDUs again
                    await fs.wait(0.2)
        for f in flows:
            if backend == "system":
                f.dealloc()
            else:
                await f.aclose()

    run(main())
