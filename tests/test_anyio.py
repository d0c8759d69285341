"""ouroboros.anyio: flows as anyio streams, under asyncio and trio, on both
backends (the server is another process)."""

from __future__ import annotations

from typing import Awaitable, Callable, List

import pytest

anyio = pytest.importorskip("anyio")
pytest.importorskip("trio")

from anyio.abc import ObjectStream, UnreliableObjectStream  # noqa: E402

from aio_testing import (AIO_SERVER, POOLED_CONNECTIONS, aio_name,  # noqa: E402,F401
                         open_descriptors)
from o7s_system import PEER_DEALLOC_UNSEEN, peer_dealloc_seen  # noqa: E402
from ouroboros.anyio import FlowStream, ReliableFlowStream, flow_alloc  # noqa: E402
from ouroboros.qos import qos_data  # noqa: E402

LIBS = ["asyncio", "trio"]


def run(lib: str, main: Callable[[], Awaitable[None]], timeout: float = 60) -> None:
    async def bounded() -> None:
        with anyio.fail_after(timeout):
            await main()

    anyio.run(bounded, backend=lib)


@pytest.fixture
def echo(spawn, aio_name: str) -> str:
    spawn(AIO_SERVER, aio_name, "echo").expect("ready")
    return aio_name


@pytest.mark.parametrize("lib", LIBS)
def test_a_raw_flow_is_an_unreliable_object_stream(lib: str, echo: str) -> None:
    async def main() -> None:
        async with await flow_alloc(echo, timeo=10) as s:
            assert isinstance(s, FlowStream) and isinstance(s, UnreliableObjectStream)
            assert not isinstance(s, ObjectStream)
            for i in range(100):
                await s.send(b"sdu %d" % i)
                assert await s.receive() == b"sdu %d" % i
        with pytest.raises(anyio.ClosedResourceError):
            await s.receive()
        with pytest.raises(anyio.ClosedResourceError):
            await s.send(b"late")

    run(lib, main)


@pytest.mark.embedded_only  # reliable flows are broken in Ouroboros 0.23.0
@pytest.mark.parametrize("lib", LIBS)
def test_a_reliable_flow_is_an_object_stream(lib: str, echo: str) -> None:
    async def main() -> None:
        async with await flow_alloc(echo, qos=qos_data, timeo=10) as s:
            assert isinstance(s, ReliableFlowStream) and isinstance(s, ObjectStream)
            await s.send(bytearray(b"bytes-like"))
            assert await s.receive() == b"bytes-like"
            with pytest.raises(NotImplementedError, match="half-close"):
                await s.send_eof()

    run(lib, main)


@pytest.mark.parametrize("lib", LIBS)
def test_end_of_stream_when_the_peer_deallocates(lib: str, spawn, aio_name: str,
                                                 backend: str) -> None:
    if not peer_dealloc_seen(backend):
        pytest.skip(PEER_DEALLOC_UNSEEN)
    spawn(AIO_SERVER, aio_name, "echo3").expect("ready")

    async def main() -> None:
        async with await flow_alloc(aio_name, timeo=10) as s:
            for sdu in (b"one", b"two", b"three"):
                await s.send(sdu)
            got = [await s.receive() for _ in range(3)]
            assert got == [b"one", b"two", b"three"]
            with pytest.raises(anyio.EndOfStream):
                await s.receive()

    run(lib, main)


@pytest.mark.parametrize("lib", LIBS)
def test_a_cancelled_receive_loses_no_sdu(lib: str, echo: str) -> None:
    async def main() -> None:
        async with await flow_alloc(echo, timeo=10) as s:
            got: List[bytes] = []
            for i in range(100):
                await s.send(b"%d" % i)
                async with anyio.create_task_group() as tg:
                    async def receive_one() -> None:
                        got.append(await s.receive())
                    tg.start_soon(receive_one)
                    for _ in range(i % 4):  # cancel at a different step each time
                        await anyio.lowlevel.checkpoint()
                    tg.cancel_scope.cancel()
            while len(got) < 100:
                got.append(await s.receive())
            assert got == [b"%d" % i for i in range(100)]

    run(lib, main)


@pytest.mark.parametrize("lib", LIBS)
def test_many_streams_at_once(lib: str, echo: str, backend: str) -> None:
    n = 200 if backend == "embedded" else 20  # see test_asyncio's many flows

    async def main() -> None:
        async def ping(i: int) -> None:
            async with await flow_alloc(echo, timeo=30) as s:
                for k in range(3):
                    await s.send(b"%d-%d" % (i, k))
                    assert await s.receive() == b"%d-%d" % (i, k)

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(ping, i)

    run(lib, main, timeout=120)


@pytest.mark.parametrize("lib", LIBS)
def test_a_cancelled_allocation_leaves_nothing_behind(lib: str, echo: str) -> None:
    async def main() -> None:
        before = open_descriptors()
        for _ in range(20):
            with anyio.move_on_after(0):
                await flow_alloc(echo, timeo=10)
        async with await flow_alloc(echo, timeo=10) as s:
            await s.send(b"works")
            assert await s.receive() == b"works"
        assert open_descriptors() <= before + POOLED_CONNECTIONS

    run(lib, main)


def test_streams_are_typed() -> None:
    # What wrap() returns is either stream; both carry bytes.
    assert issubclass(ReliableFlowStream, ObjectStream)
    assert issubclass(FlowStream, UnreliableObjectStream)
