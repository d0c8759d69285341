"""Flows between real processes on the embedded runtime."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time

import pytest

import ouroboros
from o7s_system import PEER_DEALLOC_UNSEEN, peer_dealloc_seen
from o7s_testing import ECHO_SERVER as MANY_FLOWS_ECHO, InThread, wait_blocked, wait_until
from ouroboros import irm
from ouroboros.dev import (Flow, FlowDownException, FlowNotAllocatedException,
                           FlowTimeoutException, flow_accept, flow_alloc)
from ouroboros.errors import FlowException

ECHO_SERVER = """
import sys
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve(sys.argv[1])
print("ready", flush=True)
with flow_accept(timeo=20) as f:
    f.set_rcv_timeout(20)
    while True:
        try:
            sdu = f.read()
        except ConnectionError:
            break
        f.write(sdu)
print("done", flush=True)
"""


@pytest.mark.embedded_only
def test_backend_is_embedded() -> None:
    assert ouroboros.backend() == "embedded"


def test_thousand_messages_between_processes(spawn, backend) -> None:
    server = spawn(ECHO_SERVER, "echo")
    server.expect("ready")
    rng = random.Random(2026)
    with flow_alloc("echo", timeo=10) as f:
        f.set_rcv_timeout(20)
        for i in range(1000):
            size = rng.choice([1, 2, 63, 64, 1500, 4096, 65535, 65536, rng.randint(1, 65536)])
            msg = rng.randbytes(size)
            assert f.write(msg) == size
            echoed = f.read()
            assert len(echoed) == size, f"message {i}: {size} bytes sent, {len(echoed)} back"
            assert hashlib.sha256(echoed).digest() == hashlib.sha256(msg).digest()
    if peer_dealloc_seen(backend):
        server.expect("done")
        assert server.finish()[0] == 0


def test_sdu_boundaries_survive_a_burst(spawn) -> None:
    server = spawn(ECHO_SERVER, "burst")
    server.expect("ready")
    sizes = [1, 100, 7, 65536, 3, 1000]
    with flow_alloc("burst", timeo=10) as f:
        f.set_rcv_timeout(20)
        for n in sizes:
            f.write(bytes([n % 251]) * n)
        for n in sizes:
            assert f.read() == bytes([n % 251]) * n


def test_read_after_peer_dealloc_raises(spawn, backend) -> None:
    if not peer_dealloc_seen(backend):
        pytest.skip(PEER_DEALLOC_UNSEEN)
    server = spawn("""
        from ouroboros import irm
        from ouroboros.dev import flow_accept
        irm.serve("closer")
        print("ready", flush=True)
        f = flow_accept(timeo=20)
        f.write(b"bye")
        f.dealloc()
        print("closed", flush=True)
    """)
    server.expect("ready")
    with flow_alloc("closer", timeo=10) as f:
        f.set_rcv_timeout(20)
        server.expect("closed")
        assert f.read() == b"bye"   # what was sent before still arrives
        start = time.monotonic()
        with pytest.raises(FlowDownException) as info:
            f.read()
        assert time.monotonic() - start < 5
        assert isinstance(info.value, ConnectionError)
        assert info.value.errno == 1005
        with pytest.raises(FlowDownException):
            f.write(b"anyone?")


@pytest.mark.embedded_only
def test_read_after_peer_killed_raises(spawn) -> None:
    server = spawn("""
        import signal
        from ouroboros import irm
        from ouroboros.dev import flow_accept
        irm.serve("victim")
        print("ready", flush=True)
        f = flow_accept(timeo=20)
        print("accepted", flush=True)
        signal.pause()  # until killed
    """)
    server.expect("ready")
    with flow_alloc("victim", timeo=10) as f:
        server.expect("accepted")
        reader = InThread(f.read)
        wait_blocked(reader.thread)
        server.kill(signal.SIGKILL)
        error = reader.result("read() hung after the peer was killed")
        assert isinstance(error, FlowDownException)


@pytest.mark.embedded_only
def test_alloc_to_unknown_name_fails_at_once() -> None:
    # No timeout: waiting for an acceptor would hang the test.
    with pytest.raises(FlowException, match="unknown name 'nobody-here'"):
        flow_alloc("nobody-here")


@pytest.mark.embedded_only
def test_alloc_without_acceptor_times_out() -> None:
    irm.serve("deaf")    # bound and registered, but this process never accepts
    start = time.monotonic()
    with pytest.raises(FlowTimeoutException) as info:
        flow_alloc("deaf", timeo=0.5)
    assert time.monotonic() - start > 0.4  # the timeout, not an early failure
    assert isinstance(info.value, TimeoutError)


@pytest.mark.embedded_only
def test_alloc_to_name_not_registered_says_so() -> None:
    irm.bind_process(os.getpid(), "unregistered")
    with pytest.raises(FlowException, match="not registered in any layer"):
        flow_alloc("unregistered", timeo=1)


def test_accept_times_out() -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        flow_accept(timeo=0.3)
    assert time.monotonic() - start > 0.25


@pytest.mark.embedded_only
def test_bindings_of_a_dead_process_are_forgotten(spawn) -> None:
    server = spawn("""
        import signal
        from ouroboros import irm
        irm.serve("ghost")
        print("ready", flush=True)
        signal.pause()  # until killed
    """)
    server.expect("ready")
    server.kill(signal.SIGKILL)
    server.finish()

    def forgotten() -> bool:
        try:
            flow_alloc("ghost", timeo=0.2)
        except FlowException as e:
            return "no process is bound" in str(e)
        return False

    wait_until(forgotten, "the dead server's binding goes", timeout=5)


def test_use_after_dealloc_and_double_dealloc(spawn) -> None:
    server = spawn(ECHO_SERVER, "life")
    server.expect("ready")
    f = flow_alloc("life", timeo=10)
    f.dealloc()
    assert f.closed and f.fd == -1
    with pytest.raises(FlowNotAllocatedException):
        f.write(b"x")
    with pytest.raises(FlowNotAllocatedException):
        f.read()
    with pytest.raises(FlowNotAllocatedException):
        f.get_qos()
    with pytest.raises(FlowNotAllocatedException):
        f.dealloc()


def test_with_block_deallocates_and_tolerates_explicit_dealloc(spawn) -> None:
    server = spawn(ECHO_SERVER, "block")
    server.expect("ready")
    with flow_alloc("block", timeo=10) as f:
        assert not f.closed
        f.dealloc()
    assert f.closed


def test_write_str_is_rejected_with_a_hint(spawn) -> None:
    server = spawn(ECHO_SERVER, "text")
    server.expect("ready")
    with flow_alloc("text", timeo=10) as f:
        with pytest.raises(TypeError, match="encode"):
            f.write("not bytes")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="outside the buffer"):
            f.write(b"abc", 4)
        f.set_rcv_timeout(10)
        assert f.write(bytearray(b"abcdef"), 3) == 3
        assert f.read() == b"abc"
        assert f.write(memoryview(b"xyz")[1:]) == 2
        assert f.read() == b"yz"


def test_unclosed_flow_warns_and_is_deallocated(spawn, runtime, backend) -> None:
    server = spawn(ECHO_SERVER, "leak")
    server.expect("ready")
    f = flow_alloc("leak", timeo=10)
    with pytest.warns(ResourceWarning, match="unclosed flow"):
        del f
        import gc
        gc.collect()
    # The flow is deallocated: the server sees it go down.
    if peer_dealloc_seen(backend):
        server.expect("done")


def test_flow_object_alloc_and_already_allocated(spawn) -> None:
    server = spawn(ECHO_SERVER, "objects")
    server.expect("ready")
    f = Flow()
    assert f.closed
    f.alloc("objects", timeo=10)
    try:
        from ouroboros.dev import FlowAllocatedException
        with pytest.raises(FlowAllocatedException):
            f.alloc("objects", timeo=1)
    finally:
        f.dealloc()


def test_a_flow_object_reused_many_times_keeps_nothing_behind(spawn) -> None:
    # Each alloc replaces the flow the object held; with no operation in
    # flight on it, the old one is freed at once.
    server = spawn(MANY_FLOWS_ECHO, "reuse")
    server.expect("ready")
    f = Flow()
    for i in range(20):
        f.alloc("reuse", timeo=10)
        f.set_rcv_timeout(10)
        f.write(b"%d" % i)
        assert f.read() == b"%d" % i
        f.dealloc()
        assert f._retained == 0


def test_a_read_in_flight_keeps_the_flow_it_started_on(spawn) -> None:
    # A read blocked in another thread when its flow is deallocated ends with
    # FlowNotAllocatedException; an alloc meanwhile is another flow.
    server = spawn(MANY_FLOWS_ECHO, "inflight")
    server.expect("ready")
    f = flow_alloc("inflight", timeo=10)
    reader = InThread(f.read)
    wait_blocked(reader.thread)
    f.dealloc()
    assert isinstance(reader.result("dealloc() did not wake the read"), FlowNotAllocatedException)
    f.alloc("inflight", timeo=10)
    try:
        f.set_rcv_timeout(10)
        f.write(b"new")
        assert f.read() == b"new"
    finally:
        f.dealloc()


def test_readline_writeline_count_utf8_bytes(spawn) -> None:
    server = spawn(ECHO_SERVER, "lines")
    server.expect("ready")
    with flow_alloc("lines", timeo=10) as f:
        f.set_rcv_timeout(10)
        assert f.writeline("héllo wörld ✓") == 13
        assert f.readline() == "héllo wörld ✓"
        assert f.writeline("ünïcode", 3) == 3
        assert f.readline() == "ünï"
        f.writeline("αβγδ")
        assert f.readline(2) == "αβ"      # partial read by characters
        assert f.readline(10) == "γδ"     # the rest of the same SDU
