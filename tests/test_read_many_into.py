"""Flow.read_many_into(buffer, ends): many SDUs packed into one caller
buffer, SDU i at buffer[ends[i-1]:ends[i]], behaving like consecutive
read_into() calls. On both backends: the SDUs come from a peer that is
another process on the system backend (Ouroboros 0.23 cannot allocate a
flow within one), the other end of an in-process pair on the embedded one."""

from __future__ import annotations

import asyncio
import os
import time
from array import array
from typing import Any, Iterator, List, Sequence

import pytest

from flow_pairs import pair  # noqa: F401 - the fixture
from o7s_system import PEER_DEALLOC_UNSEEN, peer_dealloc_seen
from o7s_testing import InThread, wait_blocked, wait_until
from ouroboros import asyncio as o7s_asyncio
from ouroboros.dev import (Flow, FlowDownException, FlowNotAllocatedException,
                           FlowProperties, FlowSizeException, FlowTimeoutException, flow_alloc)

RW = FlowProperties.ReadWrite

#: The peer on the system backend: it accepts one flow, then for each line
#: "send <items>" writes the SDUs (each item hex, or "=<size>:<byte>" for
#: <size> bytes of one value) and prints "sent"; "close" deallocates.
PEER = """
import os, sys
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.bind_process(os.getpid(), sys.argv[1])
print("ready", flush=True)
f = flow_accept(timeo=30)
print("accepted", flush=True)

def sdu(item):
    if item.startswith("="):
        size, value = item[1:].split(":")
        return bytes([int(value)]) * int(size)
    return bytes.fromhex(item)

for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "send":
        f.write_many([sdu(i) for i in arg.split(",")])
        print("sent", flush=True)
    else:
        break
f.dealloc()
print("closed", flush=True)
"""


class Link:
    """A flow to read (``flow``) and a way to make its peer write."""

    def __init__(self, flow: Flow, peer: Any, writer: Any) -> None:
        self.flow = flow
        self._peer = peer  # the peer process (system), or None
        self._writer = writer  # the other end (embedded), or None

    def send(self, *sdus: bytes, reader: bool = False) -> None:
        """The peer writes ``sdus``; returns once they are queued here
        (``reader``: once written, as a read in progress may take them)."""
        before = self.flow.get_rx_queue_len()
        if self._writer is not None:
            assert self._writer.write_many(list(sdus)) == len(sdus)
        else:
            items = [f"={len(s)}:{s[0]}" if len(s) > 64 and s == s[:1] * len(s) else s.hex()
                     for s in sdus]
            self._peer.send("send " + ",".join(items))
            self._peer.expect("sent")
        if reader:
            return
        wanted = before + sum(1 for s in sdus if s)
        wait_until(lambda: self.flow.get_rx_queue_len() >= wanted, "the SDUs are queued")

    def close_peer(self) -> None:
        if self._writer is not None:
            self._writer.dealloc()
        else:
            self._peer.send("close")
            self._peer.expect("closed")


@pytest.fixture
def link(backend: str, request: pytest.FixtureRequest) -> Iterator[Link]:
    if backend == "embedded":
        a, b = request.getfixturevalue("pair")
        yield Link(b, None, a)
        return
    name = request.getfixturevalue("system_names")("into")
    peer = request.getfixturevalue("spawn")(PEER, name)
    peer.expect("ready")
    f = flow_alloc(name, timeo=10)
    peer.expect("accepted")
    f.set_rcv_timeout(10)
    try:
        yield Link(f, peer, None)
    finally:
        if not f.closed:
            f.dealloc()


def ends_for(n: int) -> array:
    return array("Q", bytes(8 * n))


def unpack(buffer: Any, ends: Sequence[int], n: int) -> List[bytes]:
    raw = memoryview(buffer).cast("B")
    starts = [0, *ends[:n - 1]]
    return [bytes(raw[s:e]) for s, e in zip(starts, ends[:n])]


def read_pieces(f: Flow, size: int, count: int) -> List[bytes]:
    """What read_many_into() returns until ``count`` SDUs (or pieces of
    one) came, however the backend groups them into calls."""
    buf, ends = bytearray(size), ends_for(16)
    got: List[bytes] = []
    while len(got) < count:
        n = f.read_many_into(buf, ends)
        assert n >= 1
        got += unpack(buf, ends, n)
    return got


def test_packs_the_queued_sdus_and_gives_their_ends(link: Link) -> None:
    f = link.flow
    sdus = [b"a", b"bb", os.urandom(1500), os.urandom(70000), b"e"]
    link.send(*sdus)
    buf, ends = bytearray(3 * f.max_sdu), ends_for(16)
    n = f.read_many_into(buf, ends)
    assert n == 5
    assert list(ends[:5]) == [1, 3, 1503, 71503, 71504]
    assert unpack(buf, ends, n) == sdus
    assert f.get_rx_queue_len() == 0


def test_takes_at_most_len_ends_sdus(link: Link) -> None:
    link.send(b"1", b"2", b"3")
    buf, ends = bytearray(3 * link.flow.max_sdu), ends_for(2)
    assert link.flow.read_many_into(buf, ends) == 2
    assert unpack(buf, ends, 2) == [b"1", b"2"]
    assert link.flow.read_many_into(buf, ends) == 1
    assert unpack(buf, ends, 1) == [b"3"]


def test_stops_before_an_sdu_that_does_not_fit_and_returns_it_next(link: Link) -> None:
    f = link.flow
    big = b"B" * f.max_sdu
    link.send(b"s" * 20, big, b"t")
    buf, ends = bytearray(f.max_sdu + 10), ends_for(8)
    assert f.read_many_into(buf, ends) == 1
    assert unpack(buf, ends, 1) == [b"s" * 20]
    assert f.get_rx_queue_len() == 2
    assert read_pieces(f, f.max_sdu + 10, 2) == [big, b"t"]


def test_the_first_sdu_follows_the_partial_read_rules(link: Link) -> None:
    f = link.flow
    link.send(b"0123456789abcdefghijklmno", b"next")
    buf, ends = bytearray(10), ends_for(4)
    assert f.read_many_into(buf, ends) == 1 and ends[0] == 10 and buf == b"0123456789"
    assert f.read_many_into(buf, ends) == 1 and ends[0] == 10 and buf == b"abcdefghij"
    assert read_pieces(f, 10, 2) == [b"klmno", b"next"]
    # Filled exactly, the SDU ends with a 0-byte read, as read() shows it.
    link.send(b"0123456789", b"last")
    assert f.read_many_into(buf, ends) == 1 and ends[0] == 10
    assert read_pieces(f, 10, 2) == [b"", b"last"]


def test_without_partial_reads_a_too_small_buffer_is_an_error(link: Link) -> None:
    f = link.flow
    f.set_flags(RW | FlowProperties.NoPartialRead)
    link.send(b"x" * 100, b"next")
    buf, ends = bytearray(10), ends_for(4)
    with pytest.raises(FlowSizeException):
        f.read_many_into(buf, ends)
    assert f.read_many_into(buf, ends) == 1
    assert unpack(buf, ends, 1) == [b"next"]


def test_would_block_and_timeouts(link: Link) -> None:
    f = link.flow
    buf, ends = bytearray(2 * f.max_sdu), ends_for(4)
    f.set_rcv_timeout(0.2)
    start = time.monotonic()
    with pytest.raises(FlowTimeoutException):
        f.read_many_into(buf, ends)
    assert 0.15 < time.monotonic() - start < 5
    f.set_flags(RW | FlowProperties.NonBlockingRead)
    with pytest.raises(BlockingIOError):
        f.read_many_into(buf, ends)
    assert f._try_read_many_into(buf, ends) is None
    link.send(b"late", b"r")
    assert f._try_read_many_into(buf, ends) == 2
    assert unpack(buf, ends, 2) == [b"late", b"r"]


def test_a_waiting_read_lets_other_threads_run(link: Link) -> None:
    f = link.flow
    buf, ends = bytearray(2 * f.max_sdu), ends_for(4)
    got: List[int] = []
    reader = InThread(lambda: got.append(f.read_many_into(buf, ends)))
    wait_blocked(reader.thread)  # it waits without the GIL: this thread runs
    link.send(b"wake", reader=True)
    assert reader.result("the read did not return") is None
    assert got == [1] and unpack(buf, ends, 1) == [b"wake"]


def test_buffer_kinds(link: Link) -> None:
    f = link.flow
    room = 2 * f.max_sdu + 16
    buffers: List[Any] = [bytearray(room), memoryview(bytearray(room)), array("B", bytes(room)),
                          memoryview(bytearray(room)).cast("I")[:room // 4 - 1]]
    ends_kinds: List[Any] = [ends_for(4), memoryview(bytearray(32)).cast("Q")]
    if array("L").itemsize == 8:
        ends_kinds.append(array("L", bytes(32)))
    try:
        import numpy
    except ImportError:
        pass
    else:
        buffers += [numpy.zeros(room, numpy.uint8), numpy.zeros(room // 8, numpy.float64)]
        ends_kinds += [numpy.zeros(4, numpy.uint64), numpy.zeros(4, numpy.uintp)]
    for buf in buffers:
        for ends in ends_kinds:
            link.send(b"one", b"three")
            n = f.read_many_into(buf, ends)
            assert unpack(buf, ends, n) == [b"one", b"three"][:n]
            if n == 1:
                assert f.read() == b"three"


def bad_arguments() -> List[Any]:
    buf, ends = bytearray(1024), ends_for(4)
    shared = bytearray(1024)
    cases = [
        (b"bytes", ends, TypeError, "buffer must be a writable .* not a read-only bytes"),
        ("text", ends, TypeError, "buffer must be a writable bytes-like .* not str"),
        (42, ends, TypeError, "not int"),
        (memoryview(buf).toreadonly(), ends, TypeError, "read-only memoryview"),
        (memoryview(buf)[::2], ends, ValueError, "buffer must be contiguous"),
        (bytearray(), ends, ValueError, "buffer is empty"),
        (buf, [0, 0], TypeError, "ends must be a writable array of unsigned 64-bit .* not list"),
        (buf, bytes(16), TypeError, "ends must be .* not a read-only bytes"),
        (buf, bytearray(16), TypeError, "ends must hold unsigned 64-bit integers .* 'B'"),
        (buf, array("q", [0, 0]), TypeError, "format 'q'"),
        (buf, array("d", [0, 0]), TypeError, "format 'd'"),
        (buf, array("I", [0, 0]), TypeError, "format 'I' and 4 bytes"),
        (buf, array("Q"), ValueError, "ends is empty"),
        (buf, memoryview(ends_for(8))[::2], ValueError, "ends must be contiguous"),
        (buf, memoryview(ends_for(2)).toreadonly(), TypeError, "read-only memoryview"),
        (buf, memoryview(bytearray(33))[1:].cast("Q"), ValueError, "aligned to 8 bytes"),
        (shared, memoryview(shared)[512:544].cast("Q"), ValueError, "overlap"),
    ]
    return [pytest.param(b, e, exc, match, id=str(i)) for i, (b, e, exc, match) in
            enumerate(cases)]


@pytest.mark.parametrize(("buffer", "ends", "error", "match"), bad_arguments())
def test_bad_arguments_are_refused_clearly_and_read_nothing(link: Link, buffer: Any, ends: Any,
                                                            error: type, match: str) -> None:
    f = link.flow
    link.send(b"kept")
    with pytest.raises(error, match=match):
        f.read_many_into(buffer, ends)
    with pytest.raises(error, match=match):
        f._try_read_many_into(buffer, ends)
    assert f.read() == b"kept"


def test_the_call_itself_checks_its_arguments(link: Link) -> None:
    f = link.flow
    buf, ends = bytearray(1024), ends_for(4)
    with pytest.raises(TypeError):
        f.read_many_into(buf)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        f.read_many_into(buf, ends, 3)  # type: ignore[call-arg]
    link.send(b"kw")
    assert f.read_many_into(buffer=buf, ends=ends) == 1 and bytes(buf[:2]) == b"kw"


def test_on_a_deallocated_flow(link: Link) -> None:
    f = link.flow
    f.dealloc()
    with pytest.raises(FlowNotAllocatedException):
        f.read_many_into(bytearray(10), ends_for(1))


def test_after_the_peer_deallocated(link: Link, backend: str) -> None:
    f = link.flow
    link.send(b"last", b"words")
    link.close_peer()
    assert read_pieces(f, 2 * f.max_sdu, 2) == [b"last", b"words"]
    if not peer_dealloc_seen(backend):
        pytest.skip(PEER_DEALLOC_UNSEEN)
    with pytest.raises(FlowDownException):
        f.read_many_into(bytearray(100), ends_for(4))


def test_mixes_with_read_and_read_many_in_order(link: Link) -> None:
    f = link.flow
    link.send(b"one", b"two", b"three", b"four", b"five", b"0123456789", b"six")
    buf, ends = bytearray(2 * f.max_sdu), ends_for(2)
    assert f.read() == b"one"
    assert f.read_many_into(buf, ends) == 2 and unpack(buf, ends, 2) == [b"two", b"three"]
    assert f.read_many(1) == [b"four"]
    one = ends_for(1)
    assert f.read_many_into(buf, one) == 1 and unpack(buf, one, 1) == [b"five"]
    assert f.read(4) == b"0123"
    # As read_many: a batch after a sized read starts with the rest of the SDU.
    assert f.read_many_into(buf, ends) == 2 and unpack(buf, ends, 2) == [b"456789", b"six"]


def test_asyncio(link: Link) -> None:
    async def main() -> None:
        af = o7s_asyncio.Flow(link.flow)
        buf, ends = bytearray(2 * link.flow.max_sdu), ends_for(8)
        waiting = asyncio.ensure_future(af.read_many_into(buf, ends))
        await asyncio.sleep(0)  # one step: it finds nothing and waits on the loop
        assert not waiting.done()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: link.send(b"a", b"bc", reader=True))
        n = await asyncio.wait_for(waiting, 10)
        got = unpack(buf, ends, n)
        if n == 1:  # the second came after the first woke the reader
            got += unpack(buf, ends, await af.read_many_into(buf, ends))
        assert got == [b"a", b"bc"]
        af.set_rcv_timeout(0.2)
        with pytest.raises(FlowTimeoutException):
            await af.read_many_into(buf, ends)

    asyncio.run(asyncio.wait_for(main(), 30))
