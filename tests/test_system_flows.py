"""Flows between Python processes over the real Ouroboros (the system
backend), where the library's own semantics apply. The server is always a
separate process: Ouroboros 0.23 cannot allocate a flow within one."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time

import pytest

import ouroboros
from o7s_system import ECHO_SERVER, ouroboros_release, unique_name
from o7s_testing import InThread, wait_blocked
from ouroboros import irm
from ouroboros.dev import (FlowDownException, FlowNotAllocatedException, FlowProperties,
                           FlowTimeoutException, flow_alloc, flow_join)
from ouroboros.errors import (EIPCP, ENAME, FlowException, FlowPermissionException,
                              FlowSizeException, FlowWouldBlock, NotSupported)
from ouroboros.qos import QoSSpec

pytestmark = pytest.mark.system

# Accepts, then reads nothing (or one SDU, then deallocates, with "once").
SILENT_SERVER = """
import os, signal, sys
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.bind_process(os.getpid(), sys.argv[1])
print("ready", flush=True)
f = flow_accept(timeo=30)
if sys.argv[2:] == ["once"]:
    f.read()
    f.dealloc()
    print("deallocated", flush=True)
signal.pause()  # until stopped
"""


@pytest.fixture
def echo(spawn, system_names) -> str:
    """The name of a Python echo server in its own process."""
    name = system_names("echo")
    spawn(ECHO_SERVER, name).expect("ready")
    return name


def test_the_system_backend_is_active() -> None:
    assert ouroboros.backend() == "system"


def test_sdus_of_every_size_between_processes(echo: str) -> None:
    rng = random.Random(2026)
    with flow_alloc(echo, timeo=10) as f:
        f.set_rcv_timeout(10)
        sizes = [1, 2, 100, 1500, 65535, 65536, 65537, 300_000, f.max_sdu]
        sizes += [rng.randint(1, 4096) for _ in range(200)]
        for size in sizes:
            msg = rng.randbytes(size)
            assert f.write(msg) == size
            echoed = f.read()
            assert len(echoed) == size
            assert hashlib.sha256(echoed).digest() == hashlib.sha256(msg).digest()


def test_partial_reads_keep_the_rest_of_the_sdu(echo: str) -> None:
    # The C library drops what does not fit the buffer; the backend does not.
    with flow_alloc(echo, timeo=10) as f:
        f.set_rcv_timeout(10)
        msg = bytes(range(100))
        f.write(msg)
        parts = [f.read(30) for _ in range(4)]
        assert [len(p) for p in parts] == [30, 30, 30, 10]
        assert b"".join(parts) == msg
        f.write(msg[:60])
        assert f.read(30) == msg[:30]
        assert f.read(30) == msg[30:60]
        assert f.read(30) == b""  # the buffer was filled exactly: end of SDU
        buf = bytearray(8)
        f.write(b"0123456789")
        assert f.read_into(buf) == 8 and bytes(buf) == b"01234567"
        assert f.read() == b"89"


def test_without_partial_reads_a_too_small_buffer_drops_the_sdu(echo: str) -> None:
    with flow_alloc(echo, timeo=10) as f:
        f.set_rcv_timeout(10)
        f.set_flags(FlowProperties.ReadWrite | FlowProperties.NoPartialRead)
        f.write(b"x" * 100)
        f.write(b"next")
        with pytest.raises(FlowSizeException):
            f.read(10)
        assert f.read(10) == b"next"


def test_an_sdu_beyond_the_maximum_is_refused(echo: str) -> None:
    with flow_alloc(echo, timeo=10) as f:
        with pytest.raises(FlowSizeException, match="exceeds the maximum"):
            f.write(bytes(f.max_sdu + 1))
        assert f.write(b"") == 0


def test_read_timeout_and_nonblocking_read(spawn, system_names) -> None:
    name = system_names("silent")
    spawn(SILENT_SERVER, name).expect("ready")
    with flow_alloc(name, timeo=10) as f:
        f.set_rcv_timeout(0.3)
        assert f.get_rcv_timeout() == pytest.approx(0.3)
        start = time.monotonic()
        with pytest.raises(FlowTimeoutException):
            f.read()
        assert 0.25 < time.monotonic() - start < 5
        f.set_flags(FlowProperties.ReadWrite | FlowProperties.NonBlockingRead)
        with pytest.raises(FlowWouldBlock):
            f.read()


def test_dealloc_from_another_thread_wakes_a_blocked_read(spawn, system_names) -> None:
    name = system_names("silent")
    spawn(SILENT_SERVER, name).expect("ready")
    f = flow_alloc(name, timeo=10)
    reader = InThread(f.read)
    wait_blocked(reader.thread)
    f.dealloc()
    error = reader.result("dealloc() did not wake the blocked reader")
    assert isinstance(error, FlowNotAllocatedException)


def test_the_peer_deallocating(spawn, system_names) -> None:
    name = system_names("once")
    server = spawn(SILENT_SERVER, name, "once")
    server.expect("ready")
    with flow_alloc(name, timeo=10) as f:
        f.write(b"bye")
        server.expect("deallocated")
        f.set_rcv_timeout(3)
        if ouroboros_release() >= (0, 23):
            # The peer's process is told (direct flows between processes).
            with pytest.raises(FlowDownException):
                f.read()
        else:
            # Before 0.23 nothing reaches the peer: reads time out.
            with pytest.raises(FlowTimeoutException):
                f.read()


def test_allocation_failures(system_names) -> None:
    with pytest.raises(FlowException) as unknown:
        flow_alloc(f"o7s-test-no-such-name-{time.monotonic_ns()}", timeo=5)
    assert unknown.value.errno in (ENAME, EIPCP)  # 0.21 cannot tell the two apart
    unserved = system_names("unserved")
    start = time.monotonic()
    with pytest.raises(FlowException) as nobody:
        flow_alloc(unserved, timeo=10)
    assert nobody.value.errno == EIPCP, nobody.value
    assert "flow_accept" in str(nobody.value)
    assert time.monotonic() - start < 10


def test_no_flow_from_a_process_to_itself(system_names) -> None:
    if ouroboros_release() < (0, 23):
        pytest.skip("only Ouroboros 0.23 connects a process to itself directly (and fails)")
    name = system_names("self")
    irm.bind_process(os.getpid(), name)
    with pytest.raises(NotSupported, match="itself"):
        flow_alloc(name, timeo=5)


def test_qos_goes_to_the_peer_and_back(echo: str) -> None:
    with flow_alloc(echo, qos=QoSSpec(timeout=5000), timeo=10) as f:
        got = f.get_qos()
        assert got.timeout == 5000
        assert got.in_order == 0
        assert got.cypher_s == 0


def test_encryption_asked_in_the_qos(echo: str) -> None:
    if ouroboros_release() >= (0, 22):
        with pytest.raises(NotSupported, match="per name"):
            flow_alloc(echo, qos=QoSSpec(cypher_s=256), timeo=10)
        return
    with flow_alloc(echo, qos=QoSSpec(cypher_s=256), timeo=10) as f:
        f.set_rcv_timeout(10)
        assert f.get_qos().cypher_s == 256
        f.write(b"secret")
        assert f.read() == b"secret"


def test_no_frct_on_raw_flows(echo: str) -> None:
    # (Flows have descriptors: tests/test_system_pollable.py.)
    with flow_alloc(echo, timeo=10) as f:
        with pytest.raises(FlowPermissionException, match="FRCT"):
            f.get_frct_flags()


JOINER = """
import sys
from ouroboros.dev import flow_join
with flow_join(sys.argv[1], timeo=10) as f:
    print("joined", flush=True)
    f.set_rcv_timeout(20)
    print("got", f.read().decode(), flush=True)
"""


def test_a_broadcast_layer(spawn) -> None:
    if ouroboros_release() < (0, 22):
        pytest.skip("joining a broadcast layer fails on 0.21.4, with its own obc tool too")
    layer = unique_name("broadcast")
    pid = irm.create_ipcp(layer, irm.IpcpType.BROADCAST)
    try:
        irm.bootstrap_ipcp(pid, irm.IpcpConfig(irm.IpcpType.BROADCAST, layer))
        reader = spawn(JOINER, layer)
        reader.expect("joined", timeout=20)
        with flow_join(layer, timeo=10) as f:
            f.write(b"hello layer")
            assert reader.expect("got", timeout=20) == "got hello layer"
    finally:
        irm.destroy_ipcp(pid)


CLOSING_CLIENT = """
import sys, time
from ouroboros.dev import flow_alloc
f = flow_alloc(sys.argv[1], timeo=10)
for _ in range(5):
    f.write(b"unread" * 100)
start = time.monotonic()
f.dealloc()
print("closed", round(time.monotonic() - start, 3), flush=True)
with flow_alloc(sys.argv[2], timeo=10) as g:
    g.set_rcv_timeout(10)
    g.write(b"still works")
    print("echo", g.read().decode(), flush=True)
"""


def test_closing_a_flow_whose_peer_never_reads(spawn, system_names, echo: str) -> None:
    # The C library's flow_dealloc() waits until the peer has read all we
    # sent, without a timeout: close() must not.
    name = system_names("deaf")
    spawn(SILENT_SERVER, name).expect("ready")
    client = spawn(CLOSING_CLIENT, name, echo)
    closed = client.expect("closed", timeout=20)
    assert float(closed.split()[1]) < 5
    assert client.expect("echo", timeout=20) == "echo still works"
    status, _, err = client.finish(timeout=30)
    assert status == 0, err


@pytest.mark.parametrize("blocked_call", [
    "flow_accept()",
    "flow_alloc(sys.argv[1], timeo=10).read()",
])
def test_ctrl_c_interrupts_a_blocked_call(spawn, system_names, blocked_call: str) -> None:
    name = system_names("silent")
    spawn(SILENT_SERVER, name).expect("ready")
    client = spawn(f"""
        import os, sys
        from ouroboros import irm
        from ouroboros.dev import flow_accept, flow_alloc
        irm.bind_process(os.getpid(), sys.argv[2])
        print("blocking", flush=True)
        try:
            {blocked_call}
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """, name, system_names("client"))
    client.expect("blocking")
    wait_blocked(pid=client.pid)
    client.kill(signal.SIGINT)
    client.expect("interrupted", timeout=10)  # the call itself would block for good
    status, _, err = client.finish(timeout=10)
    assert status == 0, err
