"""fork(): the flows, flow sets, event queues and flow requests a child
inherits stay the parent's (issue 13, defect 8). Whatever the child does
with them (use them, deallocate them, drop them, exit through interpreter
shutdown or os._exit), the parent's flows keep working; the child gets a
clear error for them and may allocate flows of its own."""

from __future__ import annotations

import pytest

from o7s_system import ECHO_SERVER as SYSTEM_ECHO_SERVER
from o7s_testing import ECHO_SERVER

# Runs a parent with a flow (and a flow set holding it) to the echo
# server, forks, lets the child do argv[2], waits for it, then checks that
# its flow and set still work. It prints what the child saw, then "parent
# ok" when the flow still echoes.
FORKING = """
import gc, os, sys, threading, time
from ouroboros.dev import flow_alloc
from ouroboros.event import FlowSet, FEventQueue, FlowEventError
from ouroboros.errors import FlowNotAllocatedException

name, what = sys.argv[1], sys.argv[2]
f = flow_alloc(name, timeo=10)
f.set_rcv_timeout(10)
f.write(b"before")
assert f.read() == b"before"
fs = FlowSet([f])
fq = FEventQueue()
f.write(b"queued")
fs.wait(fq, timeo=10)  # an event the parent's queue holds across the fork
assert f.read() == b"queued"

# With "use", a read is in flight in the parent when it forks (the child
# has no thread for it: a dealloc() in the child that waited for it, or hung
# up the socket to wake it, would hang the child or end the parent's read).
# (Elsewhere it would keep the child from finalizing the flow at exit.)
got = []
reader = threading.Thread(target=lambda: got.append(f.read()))
if what == "use":
    reader.start()
    deadline = time.monotonic() + 10
    stat = f"/proc/self/task/{reader.native_id}/stat"
    while open(stat).read().rsplit(")", 1)[1].split()[0] != "S":
        assert time.monotonic() < deadline, "the reader never blocked"
        time.sleep(0.001)

def child():
    global f, fs
    if what == "use":
        assert f.closed and fs.closed
        for call in (f.read, lambda: f.write(b"x"), f.fileno, f.dealloc):
            try:
                call()
            except FlowNotAllocatedException as e:
                assert "which forked this one" in str(e), e
            else:
                raise AssertionError("the parent's flow worked in the child")
        try:
            fq.next()
        except FlowEventError as e:
            assert "forked" in str(e), e
        else:
            raise AssertionError("the parent's events were handed out in the child")
        print("child refused", flush=True)
        os._exit(0)
    if what == "drop":
        fs.destroy()
        del f, fs
        gc.collect()
        os._exit(0)
    if what == "own":
        with flow_alloc(name, timeo=10) as g:
            g.set_rcv_timeout(10)
            g.write(b"child")
            assert g.read() == b"child"
        print("child own flow ok", flush=True)
        sys.exit(0)  # interpreter shutdown: finalizers run on f and fs too
    if what == "exit":
        sys.exit(0)
    if what == "_exit":
        os._exit(0)

pid = os.fork()
if pid == 0:
    try:
        child()
    except BaseException as e:
        if isinstance(e, SystemExit):
            raise
        print("child failed:", repr(e), flush=True)
        os._exit(1)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert not f.closed and not fs.closed
f.write(b"after")  # the flow, and its peer's end, are still up
if what == "use":
    reader.join(10)
    assert got == [b"after"], got
else:
    assert f.read() == b"after"
print("parent flow ok", flush=True)
ev = fq.next()
assert ev is not None and ev[0] is f, ev
f.write(b"set")
fs.wait(fq, timeo=10)
assert fq.next()[0] is f
assert f.read() == b"set"
f.dealloc()
fs.destroy()
print("parent ok", flush=True)
"""


@pytest.mark.embedded_only
@pytest.mark.parametrize("what", ["use", "drop", "own", "exit", "_exit"])
def test_a_child_never_affects_the_parents_flows(spawn, what: str) -> None:
    server = spawn(ECHO_SERVER, f"fork-{what.strip('_')}")
    server.expect("ready")
    parent = spawn(FORKING, f"fork-{what.strip('_')}", what)
    if what == "use":
        parent.expect("child refused")
    if what == "own":
        parent.expect("child own flow ok")
    parent.expect("parent ok", timeout=30)
    status, _, err = parent.finish()
    assert status == 0, err
    assert "ResourceWarning" not in err  # the child's copy is not "unclosed"


# The system backend: libouroboros-dev serves the process that loaded it
# only, so a child gets NotSupported from every call that reaches it, and
# its exit (finalizers included) leaves the parent's flow alone.
SYSTEM_FORKING = """
import os, sys
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import NotSupported, FlowNotAllocatedException

f = flow_alloc(sys.argv[1], timeo=20)
f.set_rcv_timeout(20)
f.write(b"before")
assert f.read() == b"before"
pid = os.fork()
if pid == 0:
    try:
        for call in (irm.list_ipcps, lambda: flow_alloc(sys.argv[1], timeo=1)):
            try:
                call()
            except NotSupported as e:
                assert "which forked this one" in str(e), e
            else:
                raise AssertionError("the system backend served a forked child")
        try:
            f.write(b"x")
        except FlowNotAllocatedException:
            pass
        else:
            raise AssertionError("the parent's flow worked in the child")
        print("child refused", flush=True)
    except BaseException as e:
        print("child failed:", repr(e), flush=True)
        os._exit(1)
    sys.exit(0)  # finalizers run on f
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
f.write(b"after")
assert f.read() == b"after"
f.dealloc()
print("parent ok", flush=True)
"""


@pytest.mark.system
def test_on_the_system_backend_a_child_is_refused_and_the_parent_unaffected(
        spawn, system_names) -> None:
    name = system_names("fork")
    spawn(SYSTEM_ECHO_SERVER, name).expect("ready")
    parent = spawn(SYSTEM_FORKING, name)
    parent.expect("child refused", timeout=30)
    parent.expect("parent ok", timeout=30)
    status, _, err = parent.finish()
    assert status == 0, err
