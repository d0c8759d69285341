"""The QoS peer timeout: a peer that stops responding (SIGSTOP) takes the
flow down with FlowPeer after that time; a live but idle peer does not."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from o7s_testing import wait_until
from ouroboros.dev import FlowPeerException, flow_alloc
from ouroboros.event import FEventQueue, FEventType, FlowSet
from ouroboros.qos import QoSSpec

TIMEOUT_MS = 1500

IDLE_PEER = """
import time
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve("idle")
print("ready", flush=True)
flows = []
while True:
    flows.append(flow_accept(timeo=30))
    print("accepted", flush=True)
"""


def stopped_peer(spawn):
    server = spawn(IDLE_PEER)
    server.expect("ready")
    return server


def test_a_stopped_peer_makes_a_blocked_read_raise_flow_peer(spawn) -> None:
    server = stopped_peer(spawn)
    with flow_alloc("idle", QoSSpec(timeout=TIMEOUT_MS), timeo=10) as f:
        server.expect("accepted")
        result: dict = {}

        def reader() -> None:
            try:
                f.read()
            except Exception as e:  # noqa: BLE001 - inspected below
                result["error"] = e
            result["at"] = time.monotonic()

        t = threading.Thread(target=reader)
        t.start()
        server.kill(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            t.join(timeout=20)
            assert not t.is_alive(), "read() hung on a stopped peer"
        finally:
            server.kill(signal.SIGCONT)
        error = result.get("error")
        assert isinstance(error, FlowPeerException), error
        assert isinstance(error, ConnectionError)
        assert error.errno == 1006  # EFLOWPEER
        assert result["at"] - stopped >= TIMEOUT_MS / 1000 - 0.3
        with pytest.raises(FlowPeerException):
            f.write(b"anyone?")


def test_a_stopped_peer_is_reported_as_flow_peer(spawn) -> None:
    server = stopped_peer(spawn)
    with flow_alloc("idle", QoSSpec(timeout=TIMEOUT_MS), timeo=10) as f:
        server.expect("accepted")
        fq = FEventQueue()
        with FlowSet([f]) as fs:
            server.kill(signal.SIGSTOP)
            try:
                fs.wait(fq, timeo=20)
            finally:
                server.kill(signal.SIGCONT)
            assert [(g is f, t) for g, t in fq] == [(True, FEventType.FlowPeer)]


@pytest.mark.embedded_only
def test_a_live_idle_peer_keeps_the_flow(spawn) -> None:
    server = stopped_peer(spawn)
    with flow_alloc("idle", QoSSpec(timeout=300), timeo=10) as f:
        server.expect("accepted")
        f.set_rcv_timeout(1.5)  # five peer timeouts without a single SDU
        with pytest.raises(TimeoutError):
            f.read()
        f.write(b"still up")


def test_no_peer_timeout_when_the_qos_has_none(spawn) -> None:
    server = stopped_peer(spawn)
    with flow_alloc("idle", QoSSpec(timeout=0), timeo=10) as f:
        server.expect("accepted")
        server.kill(signal.SIGSTOP)
        try:
            f.set_rcv_timeout(1.0)
            with pytest.raises(TimeoutError):
                f.read()
        finally:
            server.kill(signal.SIGCONT)
        f.write(b"still up")


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.embedded_only
def test_the_ticker_thread_runs_only_while_watched_flows_exist(spawn) -> None:
    server = stopped_peer(spawn)
    before = threads()
    f = flow_alloc("idle", QoSSpec(timeout=TIMEOUT_MS), timeo=10)
    try:
        assert threads() == before + 1
    finally:
        f.dealloc()
    wait_until(lambda: threads() == before, "the ticker thread ends", timeout=5)
    with flow_alloc("idle", QoSSpec(timeout=0), timeo=10):
        assert threads() == before
