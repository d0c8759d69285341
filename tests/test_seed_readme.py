"""The seed README (the project's starting point, an older upstream
pyOuroboros README) as a checklist: every one of its Python snippets, kept
here verbatim in SEED_SNIPPETS, runs as written, with the flows and values
it talks about in scope. Two kinds are not runnable code as written, and
are checked for what they say: the enum listings (``class
FlowProperties(IntFlag): ReadOnly ...``) name members that must exist, and
the event loop's ``while f, t = fq.next():`` is not Python, so that one line
is replaced by the loop the package documents (``for f, t in fq:``).

Where the seed README is at hand ($O7S_SEED_README, by default the
workspace copy), a test checks that SEED_SNIPPETS are all its snippets."""

from __future__ import annotations

import ast
import os
import re
import textwrap
from enum import IntFlag
from pathlib import Path
from typing import Dict, List

import pytest

from o7s_system import ouroboros_release
from o7s_testing import ECHO_SERVER, wait_until
from ouroboros import irm
from ouroboros.dev import (Flow, FlowAllocatedException, FlowNotAllocatedException,
                           FlowProperties, flow_alloc)
from ouroboros.event import FEventType
from ouroboros.irm import IpcpConfig, IpcpType
from ouroboros.qos import QoSSpec

SEED_README = Path(os.environ.get("O7S_SEED_README",
                                  "/work/shared/seeds/pyOuroboros-README.md"))

# The ```Python blocks of the seed README, in order, verbatim.
SEED_SNIPPETS: List[str] = [
    'from ouroboros.dev import *\n',
    'f = flow_accept()\n',
    'f = flow_alloc("name")\n',
    'f = flow_join("name")\n',
    'f.dealloc()\n',
    'with flow_alloc("dst") as f:\n    f.writeline("line")\n    print(f.readline())\n',
    'f.alloc("name")\n',
    'f.read(count)             # read up to _count_ bytes and return bytes\n'
    'f.readline(count)         # read up to _count_ characters as a string\n'
    'f.write(buf, count)       # write up to _count_ bytes from buffer\n'
    'f.writeline(str, count)   # write up to _count_ characters from string\n',
    'qos = QoSSpec(loss=0, cypher_s=256, timeout=60000)\nf = flow_alloc("name", qos)\n',
    'f.set_snd_timeout(0.5) # set timeout for blocking write\n'
    'f.set_rcv_timeout(1.0) # set timeout for blocking read\n'
    'f.get_snd_timeout()    # get timeout for blocking write\n'
    'f.get_rcv_timeout()    # get timeout for blocking read\n'
    'f.get_qos()            # get the QoSSpec for this flow\n'
    'f.get_rx_queue_len()   # get the number of packets in the rx buffer\n'
    'f.get_tx_queue_len()   # get the number of packets in the tx buffer\n'
    'f.set_flags(flags)     # set a number of flags for this flow\n'
    'f.get_flags()          # get the flags for this flow\n',
    'class FlowProperties(IntFlag):\n    ReadOnly\n    WriteOnly\n    ReadWrite\n    Down\n'
    '    NonBlockingRead\n    NonBlockingWrite\n    NonBlocking\n    NoPartialRead\n'
    '    NoPartialWrite\n',
    "set = FlowSet() # create a flow set,\n"
    "set.add(f)      # add a Flow 'f' to this set\n"
    "set.remove(f)   # remove a Flow 'f' from this set\n"
    "set.zero()      # remove all Flows in this set\n",
    'class FEventType(IntFlag):\n    FlowPkt\n    FlowDown\n    FlowUp\n    FlowAlloc\n'
    '    FlowDealloc\n',
    "    f, t = fq.next() # Return active flow 'f' and type of event 't'\n",
    'fq = FEventQueue()            # Create an eventqueue\n'
    'set = FlowSet([f1, f2, f3])   # Create a new set with a couple of Flow objects\n'
    'set.wait(fq, timeo=1.0)       # Wait for 1 second or until event\n'
    'while f, t = fq.next():\n'
    '    if t == FEventType.FlowPkt:\n'
    '        msg = f.readline()\n'
    '    ...\n'
    'set.destroy()\n',
    'fq = FEventQueue()\nwith FlowSet([f]) as fs:\n    fs.wait(fq)\nf2, t = fq.next()\n'
    'if t == FEventType.FlowPkt:\n    line = f2.readline()\n',
]

(STAR_IMPORT, ACCEPT, ALLOC, JOIN, DEALLOC, WITH_BLOCK, ALLOC_AGAIN, READ_WRITE, QOS,
 MANIPULATING, FLOW_PROPERTIES, FLOW_SET, EVENT_TYPES, NEXT, EVENT_LOOP,
 WITH_SET) = SEED_SNIPPETS


def run(snippet: str, **names: object) -> Dict[str, object]:
    """Runs a snippet as written, after the seed's star import (and the
    event module's, which brings FlowSet and FEventQueue), with ``names``
    in scope; returns its namespace."""
    namespace: Dict[str, object] = {}
    exec(STAR_IMPORT, namespace)
    exec("from ouroboros.event import *", namespace)
    namespace.update(names)
    exec(textwrap.dedent(snippet), namespace)
    return namespace


def test_the_snippets_are_all_the_seeds() -> None:
    if not SEED_README.exists():
        pytest.skip(f"the seed README is not here ({SEED_README}; set $O7S_SEED_README)")
    blocks = re.findall(r"```Python\n(.*?)```", SEED_README.read_text(), re.S)
    assert blocks == SEED_SNIPPETS


@pytest.fixture
def echo(spawn):
    def start(name: str):
        server = spawn(ECHO_SERVER, name)
        server.expect("ready")
        return server
    return start


def wait_for_data(f: Flow, timeout: float = 10.0) -> None:
    wait_until(lambda: f.get_rx_queue_len() > 0, "an SDU arrives", timeout)


def test_star_import_brings_the_flow_api() -> None:
    namespace = run("")
    for name in ("flow_accept", "flow_alloc", "flow_join", "Flow", "FlowProperties",
                 "QoSSpec"):
        assert name in namespace


def test_flow_accept_returns_a_new_allocated_flow(spawn) -> None:
    irm.serve("accepting")
    client = spawn("""
        from ouroboros.dev import flow_alloc
        with flow_alloc("accepting", timeo=10) as f:
            f.writeline("hi")
    """)
    f = run(ACCEPT)["f"]
    try:
        assert isinstance(f, Flow) and not f.closed
        assert f.readline() == "hi"
    finally:
        f.dealloc()
    assert client.finish()[0] == 0


def test_flow_alloc_returns_a_new_allocated_flow(echo) -> None:
    echo("name")
    f = run(ALLOC)["f"]
    assert isinstance(f, Flow) and not f.closed
    run(DEALLOC, f=f)
    assert f.closed


def test_flow_join_returns_a_new_allocated_flow(spawn, backend) -> None:
    if backend == "system" and ouroboros_release() < (0, 22):
        pytest.skip("joining a broadcast layer fails on 0.21.4, with its own obc tool too")
    pid = irm.create_ipcp("bc", IpcpType.BROADCAST)
    try:
        irm.bootstrap_ipcp(pid, IpcpConfig(IpcpType.BROADCAST, "name"))
        other = spawn("""
            from ouroboros.dev import flow_join
            with flow_join("name") as f:
                print("joined", flush=True)
                f.set_rcv_timeout(20)
                print("got", f.read(), flush=True)
        """)
        other.expect("joined", timeout=20)
        f = run(JOIN)["f"]
        assert isinstance(f, Flow) and not f.closed
        f.write(b"to every member")
        assert other.expect("got", timeout=20) == "got b'to every member'"
        f.dealloc()
    finally:
        irm.destroy_ipcp(pid)


def test_with_statement_deallocates_and_the_flow_is_then_unusable(echo, capsys) -> None:
    echo("dst")
    f = run(WITH_BLOCK)["f"]
    assert capsys.readouterr().out == "line\n"
    with pytest.raises(FlowNotAllocatedException):
        f.read()
    with pytest.raises(FlowNotAllocatedException):
        f.write(b"x")


def test_alloc_on_an_existing_flow_object(echo) -> None:
    echo("name")
    f = Flow()
    run(ALLOC_AGAIN, f=f)
    f.writeline("first")
    assert f.readline() == "first"
    with pytest.raises(FlowAllocatedException):
        run(ALLOC_AGAIN, f=f)             # allocated already
    f.dealloc()
    run(ALLOC_AGAIN, f=f)                 # a deallocated Flow object can be reused
    f.writeline("second")
    assert f.readline() == "second"
    f.dealloc()


def test_read_readline_write_writeline_with_counts(echo) -> None:
    echo("rw")
    with flow_alloc("rw") as f:
        f.set_rcv_timeout(10)
        # Each line as written: up to count bytes, characters, bytes, characters.
        f.write(b"0123456789")
        f.writeline("héllo wörld")
        lines = READ_WRITE.splitlines(keepends=True)
        read = run("_ = " + lines[0], f=f, count=4)["_"]
        assert read == b"0123"
        assert f.read() == b"456789"      # the rest of that SDU
        assert run("_ = " + lines[1], f=f, count=3)["_"] == "hél"
        assert f.readline() == "lo wörld"
        assert run("_ = " + lines[2], f=f, buf=b"0123456789", count=4)["_"] == 4
        assert f.read() == b"0123"
        assert run("_ = " + lines[3], f=f, str="héllo wörld", count=5)["_"] == 5
        assert f.readline() == "héllo"


@pytest.mark.embedded_only
def test_qos_spec_for_flow_allocation(echo) -> None:
    echo("name")
    f = run(QOS)["f"]
    try:
        got = f.get_qos()
        assert (got.loss, got.cypher_s, got.timeout) == (0, 256, 60000)
        f.write(b"encrypted and reliable")
        assert f.read() == b"encrypted and reliable"
    finally:
        f.dealloc()


def test_manipulating_flows(echo) -> None:
    echo("manip")
    with flow_alloc("manip") as f:
        flags = FlowProperties.ReadWrite | FlowProperties.NoPartialRead
        results = [run("_ = " + line, f=f, flags=flags)["_"]
                   for line in MANIPULATING.splitlines()]
        (_, _, snd, rcv, qos, rx, tx, _, got_flags) = results
        assert (snd, rcv) == (0.5, 1.0)
        assert isinstance(qos, QoSSpec) and qos == f.get_qos()
        assert (rx, tx) == (0, 0)
        assert got_flags == flags


def enum_listing(snippet: str) -> List[str]:
    """The member names a ``class X(IntFlag):`` listing of the seed names."""
    [cls] = ast.parse(snippet).body
    assert isinstance(cls, ast.ClassDef)
    return [stmt.value.id for stmt in cls.body
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name)]


def test_flow_properties_members() -> None:
    names = enum_listing(FLOW_PROPERTIES)
    assert len(names) == 9
    for name in names:
        assert isinstance(getattr(FlowProperties, name), FlowProperties)
    assert issubclass(FlowProperties, IntFlag)


def test_event_types_members() -> None:
    names = enum_listing(EVENT_TYPES)
    assert len(names) == 5
    for name in names + ["FlowPeer"]:  # FlowPeer: later Ouroboros releases
        assert isinstance(getattr(FEventType, name), FEventType)
    assert issubclass(FEventType, IntFlag)


def test_flow_set_add_remove_zero(echo) -> None:
    echo("sets")
    with flow_alloc("sets") as f:
        lines = FLOW_SET.splitlines(keepends=True)
        ns = run(lines[0] + lines[1], f=f)
        fs = ns["set"]
        assert f in fs
        run(lines[2], f=f, set=fs)
        assert f not in fs
        fs.add(f)
        run(lines[3], set=fs)
        assert len(fs) == 0
        fs.destroy()


def test_next_returns_the_active_flow_and_the_event_type(echo) -> None:
    echo("next")
    with flow_alloc("next") as f:
        f.writeline("hi")
        fq = run("fq = FEventQueue()")["fq"]
        with run("fs = FlowSet([f])", f=f)["fs"] as fs:
            fs.wait(fq, timeo=10)
        ns = run(NEXT, fq=fq)
        assert (ns["f"], ns["t"]) == (f, FEventType.FlowPkt)


def test_the_event_loop_of_the_seed(echo) -> None:
    echo("loop")
    f1, f2, f3 = (flow_alloc("loop") for _ in range(3))
    try:
        f2.writeline("from f2")
        wait_for_data(f2)             # so that the seed's 1 s is plenty
        with pytest.raises(SyntaxError):
            compile(EVENT_LOOP, "seed", "exec")
        loop = EVENT_LOOP.replace("while f, t = fq.next():", "for f, t in fq:")
        ns = run(loop, f1=f1, f2=f2, f3=f3)
        assert ns["msg"] == "from f2" and ns["f"] is f2
        assert ns["set"].closed
    finally:
        for f in (f1, f2, f3):
            f.dealloc()


def test_the_with_statement_event_example(echo) -> None:
    echo("withset")
    with flow_alloc("withset") as f:
        f.writeline("a line")
        ns = run(WITH_SET, f=f)
        assert ns["f2"] is f and ns["line"] == "a line"
        assert ns["fs"].closed
