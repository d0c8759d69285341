"""Batches: Flow.write_many / Flow.read_many move many SDUs per call and
behave exactly like consecutive write() / read() calls."""

from __future__ import annotations

import os
import threading

import pytest

from flow_pairs import pair  # noqa: F401 - the fixture
from o7s_testing import ECHO_SERVER
from ouroboros.dev import (Flow, FlowDownException, FlowNotAllocatedException,
                           FlowPermissionException, FlowProperties, FlowSizeException,
                           FlowTimeoutException, flow_alloc)
from ouroboros.qos import QoSSpec

# These test batches on in-process flow pairs (Ouroboros 0.23 cannot allocate a flow to itself).
pytestmark = pytest.mark.embedded_only

RW = FlowProperties.ReadWrite


def read_all(f: Flow, n: int) -> list:
    got: list = []
    while len(got) < n:
        got += f.read_many(64)
    return got


def test_batch_round_trip_keeps_sizes_order_and_bytes(pair) -> None:
    a, b = pair
    sdus = [os.urandom(size) for size in (1, 2, 63, 64, 1500, 4096, 65535, 65536, 65537, 7)]
    assert a.write_many(sdus) == len(sdus)
    assert read_all(b, len(sdus)) == sdus


def test_largest_sdu_in_a_batch(pair) -> None:
    a, b = pair
    sdus = [os.urandom(a.max_sdu), b"x", os.urandom(a.max_sdu - 1)]
    assert a.write_many(sdus) == 3
    assert read_all(b, 3) == sdus


def test_batches_and_single_calls_mix(pair) -> None:
    a, b = pair
    a.write_many([b"one", b"two"])
    a.write(b"three")
    assert b.read() == b"one"
    assert b.read_many() == [b"two", b"three"]
    b.write_many([b"x" * 10, b"y" * 20, b"z" * 30])
    assert [a.read() for _ in range(3)] == [b"x" * 10, b"y" * 20, b"z" * 30]


def test_more_sdus_than_one_system_call_takes(pair) -> None:
    a, b = pair
    sdus = [i.to_bytes(4, "big") for i in range(5000)]
    writer = threading.Thread(target=lambda: a.write_many(sdus))
    writer.start()
    got = read_all(b, 5000)
    writer.join(timeout=10)
    assert got == sdus


def test_read_many_takes_what_is_queued_and_at_most_max_count(pair) -> None:
    a, b = pair
    a.write_many([b"a", b"b", b"c"])
    assert b.read_many(2) == [b"a", b"b"]
    assert b.read_many(10) == [b"c"]


def test_read_many_takes_more_than_one_system_call_holds(pair) -> None:
    a, b = pair
    a.write_many([bytes([i % 256]) for i in range(300)])
    assert b.read_many(1024) == [bytes([i % 256]) for i in range(300)]


def test_read_many_waits_only_for_the_first(pair) -> None:
    a, b = pair
    b.set_rcv_timeout(0.2)
    with pytest.raises(FlowTimeoutException):
        b.read_many()
    b.set_flags(RW | FlowProperties.NonBlockingRead)
    with pytest.raises(BlockingIOError):
        b.read_many()
    a.write(b"late")
    assert b.read_many() == [b"late"]


def test_read_many_after_a_partial_read_starts_with_the_rest(pair) -> None:
    a, b = pair
    a.write_many([b"0123456789" * 10, b"next"])
    assert b.read(10) == b"0123456789"
    assert b.read_many() == [b"0123456789" * 9, b"next"]


def test_read_many_after_an_exact_partial_read_starts_with_the_end_of_sdu(pair) -> None:
    a, b = pair
    a.write_many([b"0123456789", b"next"])
    assert b.read(10) == b"0123456789"
    # As consecutive reads: the 0-byte read that ends the SDU, then the next.
    assert b.read_many() == [b"", b"next"]


def test_empty_sdus_count_as_written_and_send_nothing(pair) -> None:
    a, b = pair
    assert a.write(b"") == 0
    assert a.write_many([b"", b"a", b"", b"b", b""]) == 5
    assert read_all(b, 2) == [b"a", b"b"]
    assert b.get_rx_queue_len() == 0


def test_queue_lengths_count_batched_sdus(pair) -> None:
    a, b = pair
    a.write_many([b"x"] * 100)
    assert b.get_rx_queue_len() == 100
    assert a.get_tx_queue_len() == 100
    assert len(b.read_many(30)) == 30
    assert b.get_rx_queue_len() == 70
    read_all(b, 70)
    assert b.get_rx_queue_len() == 0
    assert a.get_tx_queue_len() == 0


def test_non_blocking_write_many_stops_when_the_flow_is_full(pair) -> None:
    a, b = pair
    a.set_flags(RW | FlowProperties.NonBlockingWrite)
    big = bytes(256 * 1024)
    n = a.write_many([big] * 1000)
    assert 0 < n < 1000
    assert b.get_rx_queue_len() == n
    with pytest.raises(BlockingIOError):
        a.write_many([big])
    assert read_all(b, n) == [big] * n


def test_oversized_sdu_refused_first_or_stops_the_batch(pair) -> None:
    a, b = pair
    too_big = bytes(a.max_sdu + 1)
    with pytest.raises(FlowSizeException):
        a.write_many([too_big, b"after"])
    assert a.write_many([b"before", too_big, b"after"]) == 1
    assert b.read_many() == [b"before"]
    with pytest.raises(FlowSizeException):
        a.write_many([too_big])


def test_partial_writes_cut_an_oversized_sdu_as_write_does(pair) -> None:
    a, b = pair
    a.set_flags(RW)  # partial writes allowed
    assert a.write_many([bytes(a.max_sdu + 10), b"z"]) == 2
    assert [len(s) for s in read_all(b, 2)] == [a.max_sdu, 1]


def test_access_modes_apply_to_batches(pair) -> None:
    a, b = pair
    a.set_flags(FlowProperties.ReadOnly)
    with pytest.raises(FlowPermissionException):
        a.write_many([b"x"])
    b.set_flags(FlowProperties.WriteOnly)
    with pytest.raises(FlowPermissionException):
        b.read_many()


def test_peer_gone_ends_a_batch_read(pair) -> None:
    a, b = pair
    a.write_many([b"last", b"words"])
    a.dealloc()
    assert read_all(b, 2) == [b"last", b"words"]
    with pytest.raises(FlowDownException):
        b.read_many()


def test_bad_arguments_are_refused_clearly(pair) -> None:
    a, b = pair
    with pytest.raises(TypeError, match="sequence of bytes-like"):
        a.write_many(b"abc")
    with pytest.raises(TypeError, match="str"):
        a.write_many([b"ok", "text"])
    with pytest.raises(TypeError):
        a.write_many(42)
    with pytest.raises(TypeError):
        a.write_many()
    with pytest.raises(ValueError):
        b.read_many(0)
    with pytest.raises(ValueError):
        b.read_many(1025)
    with pytest.raises(TypeError):
        b.read_many(max_count=2, other=1)
    assert a.write_many(x.encode() for x in "abc") == 3  # any iterable
    assert a.write_many(sdus=[memoryview(b"mv"), bytearray(b"ba")]) == 2
    assert read_all(b, 5) == [b"a", b"b", b"c", b"mv", b"ba"]


def test_batches_on_a_deallocated_flow_raise(pair) -> None:
    a, _ = pair
    a.dealloc()
    with pytest.raises(FlowNotAllocatedException):
        a.write_many([b"x"])
    with pytest.raises(FlowNotAllocatedException):
        a.read_many()


def test_batches_on_an_encrypted_flow(spawn) -> None:
    # Each SDU is sealed on its own, so the batch takes the single-SDU path
    # for every one; the results must not change.
    server = spawn(ECHO_SERVER, "batch-crypt")
    server.expect("ready")
    with flow_alloc("batch-crypt", QoSSpec(cypher_s=256), timeo=10) as f:
        f.set_rcv_timeout(20)
        sdus = [os.urandom(n) for n in (1, 100, 1500, 70000, f.max_sdu)]
        assert f.write_many(sdus) == len(sdus)
        assert read_all(f, len(sdus)) == sdus


BATCH_WRITER = """
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve("batch-proc")
print("ready", flush=True)
with flow_accept(timeo=20) as f:
    f.set_rcv_timeout(20)
    sent = 0
    while sent < 20000:
        sent += f.write_many([i.to_bytes(4, "big") * (1 + i % 50)
                              for i in range(sent, min(sent + 333, 20000))])
    f.read()  # the reader's acknowledgement
print("done", flush=True)
"""


def test_batches_between_processes(spawn) -> None:
    writer = spawn(BATCH_WRITER)
    writer.expect("ready")
    with flow_alloc("batch-proc", timeo=10) as f:
        f.set_rcv_timeout(20)
        got = read_all(f, 20000)
        f.write(b"ok")
    assert got == [i.to_bytes(4, "big") * (1 + i % 50) for i in range(20000)]
    writer.expect("done")
    assert writer.finish()[0] == 0
