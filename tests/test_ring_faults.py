"""Faults on the shared-memory data path (issue 15): a peer killed in the
middle of a flood, a peer that scribbles over the rings, a reader killed
under a writer waiting for room. The survivor gets every SDU published
before and then a clear error, within a bounded time; it never crashes or
hangs."""

from __future__ import annotations

import struct
import threading

import pytest

from flow_memory import HELPERS
from o7s_testing import InThread, wait_blocked, wait_until
from ouroboros import irm
from ouroboros.dev import flow_accept, flow_alloc
from ouroboros.errors import FlowException

# These kill and corrupt embedded flows' peers.
pytestmark = pytest.mark.embedded_only

SURVIVE = 10.0  # s: the bound on every survivor's wait (a hang fails)
layout: dict = {}
exec(HELPERS, layout)  # noqa: S102 - our own test helpers, shared with snippets

FLOODER = """
import struct, sys
from ouroboros.dev import flow_alloc
f = flow_alloc(sys.argv[1], timeo=10)
print("allocated", flush=True)
i = 0
while True:
    f.write(struct.pack("<Q", i) + bytes(92))
    i += 1
    if i == 1000:
        print("flooding", flush=True)
"""

# Writes three good SDUs, then scribbles as argv[2] says over the rings of
# its flow, says so and waits to be killed.
SCRIBBLER = HELPERS + """
import random, struct, sys
from ouroboros.dev import flow_alloc
f = flow_alloc(sys.argv[1], timeo=10)
for i in range(3):
    f.write(b"good %d" % i)
mem = flow_memory()
what = sys.argv[2]
mine, theirs = mem[0] + RING_AT[0], mem[0] + RING_AT[1]  # we are end 0
data = ring_data(mem, 0)
rb = ring_bytes(mem)
if what == "tail":        # more published than the ring holds
    put_u64(mine + TAIL, u64(mine + TAIL) + rb + 64)
elif what == "tail-back": # a tail behind what the reader consumed
    put_u64(mine + TAIL, 2**64 - 8)
elif what == "kind":      # an unknown record kind
    _ct.memmove(data, struct.pack("<II", 8, 99), 8)
elif what == "length":    # a record longer than the ring
    _ct.memmove(data, struct.pack("<II", 0xFFFFFFF0, 1), 8)
elif what == "in-socket": # an SDU in the socket that is not there
    _ct.memmove(data, struct.pack("<II", 10_000_000, 2), 8)
elif what == "head":      # the head of the ring the other end writes
    put_u64(theirs + HEAD, 2**63)
elif what == "random":    # garbage over control words and data alike
    rng = random.Random(int(sys.argv[3]))
    for _ in range(64):
        _ct.memmove(data + rng.randrange(0, rb // 8) * 8, rng.randbytes(8), 8)
    put_u64(mine + TAIL, rng.getrandbits(64))
print("scribbled", flush=True)
sys.stdin.read()
"""

IDLE_READER = """
import sys
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve(sys.argv[1])
print("ready", flush=True)
f = flow_accept(timeo=10)
print("accepted", flush=True)
sys.stdin.read()
"""


@pytest.fixture(autouse=True)
def rings(runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever the environment says, these test flows with rings.
    monkeypatch.delenv("OUROBOROS_FLOW_RING_KIB", raising=False)


def _read_until_error(f) -> tuple:
    """Reads SDUs until a read raises (within SURVIVE seconds): (SDUs, error)."""
    got: list = []

    def loop() -> None:
        while True:
            got.append(f.read())

    err = InThread(loop).result("the reader learns its peer is gone", timeout=SURVIVE)
    return got, err


def test_a_writer_killed_in_a_flood_loses_nothing_it_published(spawn) -> None:
    irm.serve("rf-flood")
    writer = spawn(FLOODER, "rf-flood")
    with flow_accept(timeo=10) as f:
        assert layout["ring_bytes"](layout["flow_memory"]()) > 0
        writer.expect("allocated")
        writer.expect("flooding")  # and now blocked on a full ring, or about to be
        writer.kill()
        got, err = _read_until_error(f)
    assert isinstance(err, FlowException) and isinstance(err, ConnectionError), err
    numbers = [struct.unpack_from("<Q", sdu)[0] for sdu in got]
    assert len(numbers) >= 1000
    assert numbers == list(range(len(numbers))), "an SDU is missing or out of order"
    assert all(len(sdu) == 100 for sdu in got)


@pytest.mark.parametrize("what", ["tail", "tail-back", "kind", "length", "in-socket",
                                  "random"])
def test_a_peer_scribbling_over_its_ring_breaks_only_its_flow(spawn, what: str) -> None:
    irm.serve(f"rf-{what}")
    peer = spawn(SCRIBBLER, f"rf-{what}", what, "7")
    with flow_accept(timeo=10) as f:
        peer.expect("scribbled")
        got, err = _read_until_error(f)
        assert isinstance(err, FlowException) and isinstance(err, ConnectionError), err
        # What came before the scribbling may or may not still be readable
        # (the scribbles may hit it), but nothing else is.
        assert all(sdu.startswith(b"good ") for sdu in got), got
        if what != "random":
            assert "corrupted" in str(err), err
        # The flow stays down at this end, for writes too.
        with pytest.raises(FlowException):
            f.read()
        with pytest.raises(FlowException):
            f.write(b"after")
    # This process and its other flows go on.
    irm.serve("rf-after")
    def write_one() -> None:
        with flow_alloc("rf-after", timeo=10) as h:
            h.write(b"fine")

    t = threading.Thread(target=write_one)
    t.start()
    with flow_accept(timeo=10) as g:
        assert g.read() == b"fine"
    t.join(timeout=10)


def test_a_peer_scribbling_over_our_writing_ring_fails_our_write(spawn) -> None:
    irm.serve("rf-head")
    peer = spawn(SCRIBBLER, "rf-head", "head")
    with flow_accept(timeo=10) as f:
        peer.expect("scribbled")
        for _ in range(3):
            assert f.read().startswith(b"good ")
        with pytest.raises(FlowException, match="corrupted"):
            f.write(b"into a ring whose head is garbage")


def test_a_writer_blocked_on_a_full_ring_sees_its_reader_killed(spawn) -> None:
    reader = spawn(IDLE_READER, "rf-full")
    reader.expect("ready")
    with flow_alloc("rf-full", timeo=10) as f:
        reader.expect("accepted")
        ring = layout["ring_bytes"](layout["flow_memory"]())
        assert ring > 0
        written = [0]

        def flood() -> None:
            while True:
                f.write(bytes(1000))
                written[0] += 1

        t = InThread(flood)
        wait_until(lambda: written[0] > 100, "the writer fills the ring")
        wait_blocked(t.thread)  # waiting for room the reader will never make
        reader.kill()
        err = t.result("the blocked writer learns its reader is gone", timeout=SURVIVE)
    assert isinstance(err, FlowException) and isinstance(err, ConnectionError), err
    # The ring held what was written: its size, not more.
    assert written[0] * 1008 <= ring
