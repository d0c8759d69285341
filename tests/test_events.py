"""The event API: FlowSet, FEventQueue and FEventType (fqueue(3)), with the
peer in another process doing what makes each event happen."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from typing import List, Tuple

import pytest

from o7s_system import PEER_DEALLOC_UNSEEN, peer_dealloc_seen
from o7s_testing import InThread, wait_blocked, wait_until
from ouroboros import irm
from ouroboros.dev import (Flow, FlowDownException,
                           FlowTimeoutException, flow_accept, flow_alloc)
from ouroboros.event import FEventQueue, FEventQueueEmpty, FEventType, FlowEventError, FlowSet

# Accepts flows; on each, obeys line commands: "echo <text>", "downup"
# (marks the flow down until a line arrives on stdin), "dealloc", "exit"
# (ends the process without deallocating anything).
PEER = """
import os, sys, threading
from ouroboros import irm
from ouroboros.dev import FlowProperties as P, flow_accept
irm.serve(sys.argv[1])
print("ready", flush=True)

def serve(f):
    f.set_rcv_timeout(30)
    while True:
        try:
            cmd = f.readline()
        except ConnectionError:
            return
        if cmd.startswith("echo "):
            f.writeline(cmd[5:])
        elif cmd == "downup":
            f.set_flags(P.ReadWrite | P.Down)
            print("down", flush=True)
            sys.stdin.readline()  # until the test has seen the flow go down
            f.set_flags(P.ReadWrite | P.NoPartialWrite)
            print("up", flush=True)
        elif cmd == "dealloc":
            f.dealloc()
            print("deallocated", flush=True)
            return
        elif cmd == "exit":
            os._exit(0)

while True:
    f = flow_accept(timeo=30)
    print("accepted", flush=True)
    threading.Thread(target=serve, args=(f,), daemon=True).start()
"""


def peer(spawn, name: str):
    p = spawn(PEER, name)
    p.expect("ready")
    return p


def events(fq: FEventQueue) -> List[Tuple[Flow, FEventType]]:
    return list(fq)


def test_membership(spawn) -> None:
    peer(spawn, "members")
    f1 = flow_alloc("members", timeo=10)
    f2 = flow_alloc("members", timeo=10)
    try:
        fs = FlowSet([f1, f2])
        assert f1 in fs and fs.has(f2) and len(fs) == 2
        fs.add(f1)                   # again: no effect
        assert len(fs) == 2
        fs.remove(f1)
        assert f1 not in fs and f2 in fs
        fs.remove(f1)                # not in the set: no effect
        fs.zero()
        assert len(fs) == 0 and f2 not in fs
        fs.add(f2)
        assert "not a flow" not in fs
        with pytest.raises(TypeError, match="needs a Flow"):
            fs.add("not a flow")     # type: ignore[arg-type]
        pending = Flow()
        fs.add(pending)              # unallocated: pending until allocated
        assert pending in fs and len(fs) == 2
        fs.remove(pending)
        fs.destroy()
        with pytest.raises(FlowEventError):
            fs.add(f1)               # destroyed
    finally:
        f1.dealloc()
        f2.dealloc()


def test_wait_times_out_with_timeout_error(spawn) -> None:
    peer(spawn, "quiet")
    with flow_alloc("quiet", timeo=10) as f, FlowSet([f]) as fs:
        fq = FEventQueue()
        start = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            fs.wait(fq, timeo=0.3)
        assert 0.25 < time.monotonic() - start < 5
        assert isinstance(info.value, FlowTimeoutException)
        assert isinstance(info.value, FlowEventError)  # what upstream raises
        with pytest.raises(FEventQueueEmpty):
            fq.next()
        assert len(fq) == 0
        with pytest.raises(TimeoutError):
            fs.wait(fq, timeo=0)


def test_flow_pkt_hands_back_the_very_flow_object_added(spawn) -> None:
    peer(spawn, "pkt")
    with flow_alloc("pkt", timeo=10) as f1, flow_alloc("pkt", timeo=10) as f2:
        fq = FEventQueue()
        with FlowSet([f1, f2]) as fs:
            f2.writeline("echo hello")
            fs.wait(fq, timeo=10)
            flow, kind = fq.next()
            assert flow is f2
            assert kind == FEventType.FlowPkt and isinstance(kind, FEventType)
            assert flow.readline() == "hello"
            with pytest.raises(FEventQueueEmpty):
                fq.next()
            assert list(fq) == []


def test_iteration_takes_all_pending_events(spawn) -> None:
    peer(spawn, "iter")
    flows = [flow_alloc("iter", timeo=10) for _ in range(3)]
    try:
        for i, f in enumerate(flows):
            f.writeline(f"echo {i}")
        fq = FEventQueue()
        seen: dict = {}
        with FlowSet(flows) as fs:
            deadline = time.monotonic() + 10
            while len(seen) < 3 and time.monotonic() < deadline:
                fs.wait(fq, timeo=10)
                for f, t in fq:
                    assert t == FEventType.FlowPkt
                    seen[flows.index(f)] = f.readline()
        assert seen == {0: "0", 1: "1", 2: "2"}
    finally:
        for f in flows:
            f.dealloc()


def test_wait_returns_at_once_while_the_queue_holds_events(spawn) -> None:
    peer(spawn, "pending")
    with flow_alloc("pending", timeo=10) as f1, flow_alloc("pending", timeo=10) as f2:
        f1.writeline("echo a")
        f2.writeline("echo b")
        f1.set_rcv_timeout(10)
        f2.set_rcv_timeout(10)
        wait_until(lambda: f1.get_rx_queue_len() and f2.get_rx_queue_len(),
                   "both answers arrive")
        fq = FEventQueue()
        with FlowSet([f1, f2]) as fs:
            fs.wait(fq, timeo=10)
            assert len(fq) == 2
            first = fq.next()
            fs.wait(fq, timeo=10)      # returns at once, queue unchanged
            assert len(fq) == 1
            second = fq.next()
            assert {first[0], second[0]} == {f1, f2}


def test_flow_dealloc_after_the_sdus_sent_before_it(spawn, backend) -> None:
    if not peer_dealloc_seen(backend):
        pytest.skip(PEER_DEALLOC_UNSEEN)
    p = peer(spawn, "bye")
    with flow_alloc("bye", timeo=10) as f, FlowSet([f]) as fs:
        fq = FEventQueue()
        f.writeline("echo last words")
        f.writeline("dealloc")
        p.expect("deallocated")
        fs.wait(fq, timeo=10)
        assert events(fq) == [(f, FEventType.FlowPkt)]
        assert f.readline() == "last words"
        fs.wait(fq, timeo=10)
        assert events(fq) == [(f, FEventType.FlowDealloc)]
        with pytest.raises(TimeoutError):
            fs.wait(fq, timeo=0.3)   # reported once
        assert f in fs               # and the flow stays in the set


@pytest.mark.embedded_only
def test_flow_down_when_the_peer_is_killed(spawn) -> None:
    p = peer(spawn, "victim")
    with flow_alloc("victim", timeo=10) as f, FlowSet([f]) as fs:
        p.expect("accepted")
        fq = FEventQueue()
        p.kill(signal.SIGKILL)
        fs.wait(fq, timeo=10)
        assert events(fq) == [(f, FEventType.FlowDown)]
        with pytest.raises(FlowDownException):
            f.read()
        with pytest.raises(FlowDownException):
            f.write(b"anyone?")


@pytest.mark.embedded_only
def test_flow_down_when_the_peer_exits_without_deallocating(spawn) -> None:
    peer(spawn, "exits")
    with flow_alloc("exits", timeo=10) as f, FlowSet([f]) as fs:
        fq = FEventQueue()
        f.writeline("exit")
        fs.wait(fq, timeo=10)
        assert events(fq) == [(f, FEventType.FlowDown)]


@pytest.mark.embedded_only
def test_flow_down_then_flow_up_when_the_peer_marks_the_flow(spawn) -> None:
    p = peer(spawn, "downup")
    with flow_alloc("downup", timeo=10) as f:
        fq = FEventQueue()
        other = FEventQueue()
        with FlowSet([f]) as fs, FlowSet([f]) as fs2:
            f.writeline("downup")
            p.expect("down")
            fs.wait(fq, timeo=10)
            assert events(fq) == [(f, FEventType.FlowDown)]
            fs2.wait(other, timeo=10)   # every set with the flow hears of it
            assert events(other) == [(f, FEventType.FlowDown)]
            p.send("up")
            p.expect("up")
            fs.wait(fq, timeo=10)
            assert events(fq) == [(f, FEventType.FlowUp)]
            f.writeline("echo works again")
            fs.wait(fq, timeo=10)
            assert events(fq) == [(f, FEventType.FlowPkt)]


def test_flow_alloc_when_a_pending_flow_gets_allocated(spawn) -> None:
    irm.serve("pending-alloc")
    f = Flow()
    fq = FEventQueue()
    with FlowSet([f]) as fs:
        assert f in fs and len(fs) == 1          # pending: not allocated yet
        accepting = threading.Thread(target=f.accept, kwargs={"timeo": 20})
        accepting.start()
        with pytest.raises(TimeoutError):
            fs.wait(fq, timeo=0.3)               # nothing allocated yet
        client = spawn("""
            from ouroboros.dev import flow_alloc
            with flow_alloc("pending-alloc", timeo=20) as f:
                f.writeline("hello")
                f.set_rcv_timeout(20)
                f.read()
        """)
        fs.wait(fq, timeo=20)                    # woken by the allocation
        got = events(fq)
        assert got[0] == (f, FEventType.FlowAlloc)
        accepting.join(timeout=10)
        assert not f.closed and f in fs
        if len(got) == 1:                        # the SDU may come with it
            fs.wait(fq, timeo=20)
            got += events(fq)
        assert got == [(f, FEventType.FlowAlloc), (f, FEventType.FlowPkt)]
        assert f.readline() == "hello"
        f.write(b"bye")
        assert client.finish()[0] == 0
        f.dealloc()


def test_a_pending_flow_removed_or_left_in_a_destroyed_set_is_forgotten(spawn) -> None:
    peer(spawn, "forgotten")
    f = Flow()
    fs = FlowSet([f])
    fs.remove(f)
    assert f not in fs and len(fs) == 0
    other = FlowSet([f])
    other.destroy()
    f.alloc("forgotten", timeo=10)
    try:
        assert f not in fs and f not in other
        with pytest.raises(TimeoutError):
            fs.wait(FEventQueue(), timeo=0.2)
    finally:
        f.dealloc()
        fs.destroy()


def test_hundreds_of_flows_in_one_set(spawn) -> None:
    count = 300
    server = spawn("""
        import sys
        from ouroboros import irm
        from ouroboros.dev import flow_accept
        irm.serve("many")
        print("ready", flush=True)
        flows = [flow_accept(timeo=30) for _ in range(int(sys.argv[1]))]
        for i, f in enumerate(flows):
            f.set_rcv_timeout(30)
            f.write(f.read())          # echo the flow's number
        print("echoed", flush=True)
        for f in flows:
            f.set_rcv_timeout(30)
            try:
                f.read()
            except ConnectionError:
                pass
    """, str(count))
    server.expect("ready")
    flows = [flow_alloc("many", timeo=30) for _ in range(count)]
    try:
        for i, f in enumerate(flows):
            f.write(b"%d" % i)
        server.expect("echoed", timeout=60)
        fq = FEventQueue()
        got = {}
        with FlowSet(flows) as fs:
            assert len(fs) == count
            deadline = time.monotonic() + 30
            while len(got) < count and time.monotonic() < deadline:
                fs.wait(fq, timeo=10)
                for f, t in fq:
                    assert t == FEventType.FlowPkt
                    # The system backend may report an SDU twice (events
                    # are queued per occurrence): read each flow once.
                    if flows.index(f) not in got:
                        f.set_rcv_timeout(10)
                        got[flows.index(f)] = f.read()
        assert got == {i: b"%d" % i for i in range(count)}
    finally:
        for f in flows:
            f.dealloc()


def test_a_flow_deallocated_in_a_set_leaves_it(spawn) -> None:
    peer(spawn, "leaves")
    f1 = flow_alloc("leaves", timeo=10)
    with flow_alloc("leaves", timeo=10) as f2:
        fq = FEventQueue()
        with FlowSet([f1, f2]) as fs:
            f1.writeline("echo one")
            f2.writeline("echo two")
            wait_until(lambda: f1.get_rx_queue_len() and f2.get_rx_queue_len(),
                       "both answers arrive")
            fs.wait(fq, timeo=10)
            assert len(fq) == 2
            f1.dealloc()                 # between the wait and next()
            assert f1 not in fs and len(fs) == 1
            assert events(fq) == [(f2, FEventType.FlowPkt)]  # f1's event skipped
            assert f2.readline() == "two"
            with pytest.raises(TimeoutError):
                fs.wait(fq, timeo=0.3)


def test_a_reallocated_flow_object_is_not_in_the_set(spawn) -> None:
    # Deallocating takes the flow out of the set, as in Ouroboros: the new
    # allocation is another flow.
    peer(spawn, "realloc")
    f = flow_alloc("realloc", timeo=10)
    fs = FlowSet([f])
    f.dealloc()
    assert f not in fs
    f.alloc("realloc", timeo=10)
    try:
        assert f not in fs
        fs.add(f)
        assert f in fs
    finally:
        f.dealloc()
        fs.destroy()


def test_destroy_wakes_a_waiting_thread_and_ends_the_set(spawn) -> None:
    peer(spawn, "destroy")
    with flow_alloc("destroy", timeo=10) as f:
        fs = FlowSet([f])
        waiter = InThread(lambda: fs.wait(FEventQueue()))
        wait_blocked(waiter.thread)
        fs.destroy()
        assert isinstance(waiter.result("destroy() did not wake the waiter"), FlowEventError)
        assert fs.closed and f not in fs and len(fs) == 0
        with pytest.raises(FlowEventError, match="closed"):
            fs.add(f)
        with pytest.raises(FlowEventError):
            fs.wait(FEventQueue(), timeo=0)
        fs.destroy()                     # a second destroy does nothing
        f.write(b"the flow itself is untouched")


def test_events_outlive_the_set_that_produced_them(spawn) -> None:
    # The seed: wait inside "with FlowSet(...)", take the event after it.
    peer(spawn, "outlive")
    with flow_alloc("outlive", timeo=10) as f:
        f.writeline("echo after")
        fq = FEventQueue()
        with FlowSet([f]) as fs:
            fs.wait(fq, timeo=10)
        assert fs.closed
        f2, t = fq.next()
        assert f2 is f and t == FEventType.FlowPkt
        assert f.readline() == "after"


def test_a_set_dropped_without_destroy_is_freed(spawn) -> None:
    # Upstream leaked every set not destroyed, and ran out after 31.
    peer(spawn, "dropped")
    with flow_alloc("dropped", timeo=10) as f:
        fds = len(os.listdir("/proc/self/fd"))
        for _ in range(200):
            FlowSet([f])
        gc.collect()
        assert len(os.listdir("/proc/self/fd")) <= fds + 2
        assert FlowSet([f]).has(f)


def test_a_cycle_through_a_set_and_its_flows_is_collected(spawn) -> None:
    # The set's members live in Python, where the cyclic GC sees them: a
    # set kept alive only by a flow it holds (and by itself) goes.
    import weakref
    peer(spawn, "cycle")
    with flow_alloc("cycle", timeo=10) as f:
        fs = FlowSet([f])
        fs.me = fs                                 # type: ignore[attr-defined]
        f.sets = [fs]                              # type: ignore[attr-defined]
        gone = weakref.ref(fs)
        del fs
        del f.sets                                 # type: ignore[attr-defined]
        gc.collect()
        assert gone() is None
