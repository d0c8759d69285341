"""Blocking calls release the GIL, can be interrupted by Ctrl-C, and are
woken by dealloc() from another thread."""

from __future__ import annotations

import signal
import threading

import pytest

from o7s_testing import InThread, wait_blocked
from ouroboros.dev import FlowNotAllocatedException, flow_alloc
from ouroboros.event import FEventQueue, FlowSet

SILENT_SERVER = """
import signal
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve("silent")
print("ready", flush=True)
f = flow_accept(timeo=20)
signal.pause()  # holds the flow and never writes
"""


def assert_python_runs_while_blocked(blocked: threading.Thread) -> None:
    """Another thread runs Python code to the end while `blocked` blocks
    in a call: the call released the GIL."""
    wait_blocked(blocked)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (sum(range(100000)), done.set()))
    worker.start()
    assert done.wait(10), "no other thread ran while the call blocked"
    worker.join()
    assert blocked.is_alive()


def test_blocked_read_lets_other_threads_run_and_dealloc_wakes_it(spawn) -> None:
    server = spawn(SILENT_SERVER)
    server.expect("ready")
    f = flow_alloc("silent", timeo=10)
    reader = InThread(f.read)
    assert_python_runs_while_blocked(reader.thread)
    f.dealloc()
    error = reader.result("dealloc() did not wake the blocked reader")
    assert isinstance(error, FlowNotAllocatedException)


def test_a_blocked_flow_set_wait_lets_other_threads_run(spawn) -> None:
    server = spawn(SILENT_SERVER)
    server.expect("ready")
    with flow_alloc("silent", timeo=10) as f, FlowSet([f]) as fs:
        waiter = InThread(lambda: fs.wait(FEventQueue(), timeo=3))
        assert_python_runs_while_blocked(waiter.thread)
        assert isinstance(waiter.result("the wait did not time out"), TimeoutError)


@pytest.mark.parametrize("blocked_call", [
    'flow_alloc("silent", timeo=10).read()',
    'flow_accept()',
    'FlowSet([flow_alloc("silent", timeo=10)]).wait(FEventQueue())',
    'fill(flow_alloc("silent", timeo=10))',
])
def test_ctrl_c_interrupts_a_blocked_call(spawn, blocked_call: str) -> None:
    server = spawn(SILENT_SERVER)
    server.expect("ready")
    client = spawn(f"""
        from ouroboros import irm
        from ouroboros.dev import flow_accept, flow_alloc
        from ouroboros.event import FEventQueue, FlowSet
        def fill(f):  # writes until the peer's socket buffer is full
            while True:
                f.write(bytes(65536))
        irm.serve("other")
        print("blocking", flush=True)
        try:
            {blocked_call}
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    client.expect("blocking")
    wait_blocked(pid=client.pid)
    client.kill(signal.SIGINT)
    client.expect("interrupted", timeout=10)  # the call itself would block for good
    status, _, err = client.finish(timeout=10)
    assert status == 0, err


@pytest.mark.parametrize("blocked_call", [
    'flow_alloc("silent", timeo=10).read()',
    'flow_accept()',
    'FlowSet([flow_alloc("silent", timeo=10)]).wait(FEventQueue())',
])
def test_a_program_ends_cleanly_while_daemon_threads_are_blocked(spawn, blocked_call) -> None:
    # Servers often leave threads blocked in reads when they end. Neither the
    # interpreter's finalization (which ends threads that take the GIL back)
    # nor the library's clean-up at exit (which frees what they wait on)
    # may crash the process.
    server = spawn(SILENT_SERVER)
    server.expect("ready")
    client = spawn(f"""
        import sys, threading, time
        from ouroboros import irm
        from ouroboros.dev import flow_accept, flow_alloc
        from ouroboros.event import FEventQueue, FlowSet
        irm.serve("other")
        for _ in range(3):
            threading.Thread(target=lambda: {blocked_call}, daemon=True).start()
        time.sleep(0.5)  # the threads are blocked now
        print("exiting", flush=True)
        sys.exit(7)
    """)
    client.expect("exiting")
    status, _, err = client.finish(timeout=20)
    assert status == 7, err
