"""Leak cycles (issue 13, fault suite): flows allocated and deallocated
thousands of times in every way a program lets go of one (dealloc(),
``with``, an exception in ``with``, the garbage collector, a reference
cycle, flow sets, flow requests) leave the descriptors of the client, the
server and the daemon as they were, and the client's memory flat.

The suite runs ``--leak-cycles`` cycles of each kind (default 200; the
issue's figures come from ``--leak-cycles 10000``)."""

from __future__ import annotations

import gc
import os
import warnings
from typing import Callable, Dict, Iterator, List, Optional

import pytest

from o7s_testing import ECHO_SERVER, daemons_of, wait_until
from ouroboros import _core
from ouroboros.dev import Flow, flow_alloc
from ouroboros.event import FEventQueue, FlowSet

# Memory may grow by this much, whatever the cycle count: allocator
# caches and Python's free lists, not a leak per cycle (a leak of even
# 100 bytes a cycle shows over 10,000 cycles).
RSS_SLACK_KIB = 4096


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def irmd_pids() -> List[int]:
    """The real IRMd this process talks to, for the system backend: the one
    in this mount namespace (where its socket is)."""
    here = os.readlink("/proc/self/ns/mnt")
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "irmd" and os.readlink(f"/proc/{entry}/ns/mnt") == here:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def round_trip(f: Flow, payload: bytes = b"leak?") -> None:
    f.write(payload)
    assert f.read() == payload


class Boom(Exception):
    pass


def cycle_kinds(name: str, backend: str) -> Dict[str, Callable[[], None]]:
    def alloc_dealloc() -> None:
        f = flow_alloc(name, timeo=10)
        f.set_rcv_timeout(10)
        round_trip(f)
        f.dealloc()

    def with_block() -> None:
        with flow_alloc(name, timeo=10) as f:
            f.set_rcv_timeout(10)
            round_trip(f)

    def exception_in_with() -> None:
        try:
            with flow_alloc(name, timeo=10) as f:
                f.set_rcv_timeout(10)
                round_trip(f)
                raise Boom()
        except Boom:
            pass

    def garbage_collected() -> None:
        f = flow_alloc(name, timeo=10)
        f.set_rcv_timeout(10)
        round_trip(f)
        f.cycle = f  # type: ignore[attr-defined] # only the collector frees it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            del f
            gc.collect()

    sets_made = [0]

    def flow_set() -> None:
        sets_made[0] += 1
        f = flow_alloc(name, timeo=10)
        f.set_rcv_timeout(10)
        fs = FlowSet([f])
        fq = FEventQueue()
        f.write(b"event")
        fs.wait(fq, timeo=10)
        ev = fq.next()
        assert ev is not None and ev[0] is f
        assert f.read() == b"event"
        # Half the flows leave their set first, half are deallocated in it;
        # half the sets are destroyed, half left to the collector in a
        # reference cycle with their queue.
        odd = sets_made[0] % 2 == 1
        if odd:
            fs.remove(f)
        f.dealloc()
        if odd:
            fs.destroy()
        else:
            fq.owner = fs  # type: ignore[attr-defined]
            fs.queue = fq  # type: ignore[attr-defined]
        del fs, fq

    def flow_request() -> None:
        r = _core.FlowRequest.alloc(name, timeo=10)
        f = Flow()
        wait_until(lambda: r.poll(f), "the flow request completes", 10)
        f.set_rcv_timeout(10)
        round_trip(f)
        f.dealloc()
        _core.FlowRequest.alloc(name, timeo=10).cancel()  # given up at once

    kinds = {"dealloc": alloc_dealloc, "with": with_block, "exception": exception_in_with,
             "gc": garbage_collected, "flow set": flow_set}
    if backend != "system":  # the system backend has no flow requests
        kinds["flow request"] = flow_request
    return kinds


@pytest.fixture
def leak_cycles(request: pytest.FixtureRequest, backend: str) -> int:
    n = int(request.config.getoption("leak_cycles"))
    # Allocation on the real Ouroboros costs more (an IRMd round trip, the
    # IPCP, the flow allocation protocol): a quarter as many there.
    return max(10, n // 4) if backend == "system" else n


@pytest.fixture
def echo_name(spawn, backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "system":
        names = request.getfixturevalue("system_names")
        name = names("leaks")
        server = spawn(ECHO_SERVER.replace("irm.serve(sys.argv[1])",
                                           "irm.bind_process(os.getpid(), sys.argv[1])")
                       .replace("import sys,", "import os, sys,"), name)
    else:
        name = "leaks"
        server = spawn(ECHO_SERVER, name)
    server.expect("ready")
    request.node.server_pid = server.pid
    yield name


@pytest.mark.timeout(900)  # with --leak-cycles beyond 3000, add --timeout 0
def test_flow_cycles_leave_descriptors_and_memory_as_they_were(
        echo_name: str, leak_cycles: int, backend: str, runtime,
        request: pytest.FixtureRequest, record_property) -> None:
    me = os.getpid()
    server = request.node.server_pid
    kinds = cycle_kinds(echo_name, backend)
    warm = min(20, leak_cycles)
    for cycle in kinds.values():  # the first flows set up threads, pools, caches
        for _ in range(warm):
            cycle()
    gc.collect()
    daemons = irmd_pids() if backend == "system" else daemons_of(runtime.dir)
    assert daemons, "no daemon found"

    def snapshot() -> Dict[str, int]:
        counts = {"client": fds(me), "server": fds(server)}
        counts.update({f"daemon {pid}": fds(pid) for pid in daemons})
        return counts

    before = snapshot()
    rss_before = rss_kib(me)
    results: List[str] = []
    for kind, cycle in kinds.items():
        for _ in range(leak_cycles):
            cycle()
        gc.collect()
        results.append(kind)
    # The server and the daemon let go of a flow when they see it go: wait
    # for them (a leak never comes back down).
    after: Optional[Dict[str, int]] = None

    def settled() -> bool:
        nonlocal after
        after = snapshot()
        return after == before

    try:
        wait_until(settled, "descriptors back to what they were", 20)
    except AssertionError:
        raise AssertionError(f"descriptors before {before}, after {after}") from None
    grown = rss_kib(me) - rss_before
    record_property("leak_cycles", f"{len(kinds)} kinds x {leak_cycles}: fds {before} -> "
                                   f"{after}, client RSS {grown:+d} KiB")
    print(f"\n{backend}: {len(kinds)} kinds x {leak_cycles} cycles; fds {before} -> {after}; "
          f"client RSS {grown:+d} KiB")
    assert grown < RSS_SLACK_KIB, f"client memory grew {grown} KiB over the cycles"
