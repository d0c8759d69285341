"""Busy polling (Flow.set_busy_poll): an opt-in spin before a read sleeps.
It changes when a read notices an SDU, never what the read returns."""

from __future__ import annotations

import math
import threading
import time

import pytest

from flow_pairs import pair  # noqa: F401 - the fixture
from o7s_testing import ECHO_SERVER, InThread, wait_blocked
from ouroboros.dev import (FlowDownException, FlowNotAllocatedException, FlowProperties,
                           FlowTimeoutException, flow_alloc)

# These test busy polling, which only the embedded backend offers, on in-process flow pairs.
pytestmark = pytest.mark.embedded_only


def test_off_by_default_and_settable(pair) -> None:
    a, _ = pair
    assert a.get_busy_poll() == 0
    a.set_busy_poll(0.0005)
    assert math.isclose(a.get_busy_poll(), 0.0005)
    a.set_busy_poll(1)
    assert a.get_busy_poll() == 1
    a.set_busy_poll(0)
    assert a.get_busy_poll() == 0


@pytest.mark.parametrize("bad, error", [(-0.001, ValueError), (1.5, ValueError),
                                         (math.nan, ValueError), (None, TypeError),
                                         ("1", TypeError)])
def test_bad_budgets_are_refused(pair, bad: object, error: type) -> None:
    a, _ = pair
    with pytest.raises(error):
        a.set_busy_poll(bad)
    assert a.get_busy_poll() == 0


def test_busy_reads_return_what_plain_reads_return(pair) -> None:
    a, b = pair
    b.set_busy_poll(0.001)
    b.set_rcv_timeout(10)
    a.write_many([b"x" * 100, b"y"])
    assert b.read(10) == b"x" * 10      # partial reads as usual
    assert b.read() == b"x" * 90
    assert b.read_many() == [b"y"]


def test_busy_read_sleeps_after_the_budget_and_still_gets_a_late_sdu(pair) -> None:
    a, b = pair
    b.set_busy_poll(0.01)
    b.set_rcv_timeout(20)
    got = {}
    reader = InThread(lambda: got.setdefault("sdu", b.read()))
    wait_blocked(reader.thread)  # past its budget: asleep in the kernel
    a.write(b"late")
    assert reader.result("the late SDU did not wake the read", timeout=20) is None
    assert got.get("sdu") == b"late"


def test_busy_read_keeps_the_read_timeout(pair) -> None:
    _, b = pair
    b.set_busy_poll(1.0)  # longer than the timeout: the timeout wins
    b.set_rcv_timeout(0.2)
    with pytest.raises(FlowTimeoutException):
        b.read()


def test_non_blocking_busy_read_does_not_spin(pair) -> None:
    _, b = pair
    b.set_busy_poll(1.0)
    b.set_flags(FlowProperties.ReadWrite | FlowProperties.NonBlockingRead)
    cpu = time.thread_time()
    with pytest.raises(BlockingIOError):
        b.read()
    # Spinning through the budget would cost this thread CPU time; a load on
    # the machine only lowers that.
    assert time.thread_time() - cpu < 0.1


def test_dealloc_wakes_a_busy_read(pair) -> None:
    _, b = pair
    b.set_busy_poll(0.05)
    reader = InThread(b.read)
    wait_blocked(reader.thread)
    b.dealloc()
    error = reader.result("dealloc() did not wake the busy-polling reader")
    assert isinstance(error, FlowNotAllocatedException)


def test_peer_gone_during_a_busy_read(pair) -> None:
    a, b = pair
    b.set_busy_poll(0.5)
    b.set_rcv_timeout(10)
    threading.Timer(0.1, a.dealloc).start()
    with pytest.raises(FlowDownException):
        b.read()


def test_busy_polling_between_processes(spawn) -> None:
    server = spawn(ECHO_SERVER, "busy-echo")
    server.expect("ready")
    with flow_alloc("busy-echo", timeo=10) as f:
        f.set_busy_poll(0.001)
        f.set_rcv_timeout(20)
        for i in range(2000):
            msg = i.to_bytes(4, "big") * (1 + i % 400)
            f.write(msg)
            assert f.read() == msg
