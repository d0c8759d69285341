"""The seed README (../shared/seeds/pyOuroboros-README.md) as a checklist:
each test runs one of its statements as written there, across processes.
Where the seed's pseudo-code is not Python (``while f, t = fq.next():``),
the test uses the working idiom the package documents."""

from __future__ import annotations

import pytest

from o7s_testing import ECHO_SERVER, wait_until
# "from ouroboros.dev import *"
from ouroboros.dev import *  # noqa: F403
from ouroboros.dev import Flow, FlowProperties, flow_accept, flow_alloc, flow_join
from ouroboros.event import FEventQueue, FEventType, FlowSet
from ouroboros.qos import QoSSpec



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
    import ouroboros.dev as dev
    for name in ("flow_accept", "flow_alloc", "flow_join", "Flow", "FlowProperties",
                 "QoSSpec"):
        assert name in dev.__all__ and name in globals()


def test_flow_accept_returns_a_new_allocated_flow(spawn) -> None:
    from ouroboros import irm
    irm.serve("accepting")
    client = spawn("""
        from ouroboros.dev import flow_alloc
        with flow_alloc("accepting", timeo=10) as f:
            f.writeline("hi")
    """)
    f = flow_accept()
    try:
        assert isinstance(f, Flow) and not f.closed
        assert f.readline() == "hi"
    finally:
        f.dealloc()
    assert client.finish()[0] == 0


def test_flow_alloc_returns_a_new_allocated_flow(echo) -> None:
    echo("name")
    f = flow_alloc("name")
    assert isinstance(f, Flow) and not f.closed
    f.dealloc()


def test_flow_join_returns_a_new_allocated_flow(spawn) -> None:
    from ouroboros import irm
    from ouroboros.irm import IpcpConfig, IpcpType
    irm.bootstrap_ipcp(irm.create_ipcp("bc", IpcpType.BROADCAST),
                       IpcpConfig(IpcpType.BROADCAST, "name"))
    other = spawn("""
        from ouroboros.dev import flow_join
        with flow_join("name") as f:
            print("joined", flush=True)
            f.set_rcv_timeout(20)
            print("got", f.read(), flush=True)
    """)
    other.expect("joined")
    f = flow_join("name")
    assert isinstance(f, Flow) and not f.closed
    f.write(b"to every member")
    assert other.expect("got") == "got b'to every member'"
    f.dealloc()


def test_dealloc(echo) -> None:
    echo("name")
    f = flow_alloc("name")
    f.dealloc()
    assert f.closed


def test_with_statement_deallocates_and_the_flow_is_then_unusable(echo) -> None:
    echo("dst")
    with flow_alloc("dst") as f:
        f.writeline("line")
        assert f.readline() == "line"
    with pytest.raises(FlowNotAllocatedException):
        f.read()
    with pytest.raises(FlowNotAllocatedException):
        f.write(b"x")


def test_alloc_on_an_existing_flow_object(echo) -> None:
    echo("name")
    f = Flow()
    f.alloc("name")
    f.writeline("first")
    assert f.readline() == "first"
    with pytest.raises(FlowAllocatedException):
        f.alloc("name")                 # allocated already
    f.dealloc()
    f.alloc("name")                     # a deallocated Flow object can be reused
    f.writeline("second")
    assert f.readline() == "second"
    f.dealloc()


def test_read_readline_write_writeline_with_counts(echo) -> None:
    echo("rw")
    with flow_alloc("rw") as f:
        f.set_rcv_timeout(10)
        buf = b"0123456789"
        assert f.write(buf, 4) == 4                 # up to count bytes from buf
        assert f.read(10) == b"0123"                # up to count bytes
        assert f.writeline("héllo wörld", 5) == 5   # up to count characters
        assert f.readline(3) == "hél"               # up to count characters
        assert f.readline(10) == "lo"


@pytest.mark.embedded_only
def test_qos_spec_for_flow_allocation(echo) -> None:
    echo("name")
    qos = QoSSpec(loss=0, cypher_s=256, timeout=60000)
    f = flow_alloc("name", qos)
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
        f.set_snd_timeout(0.5)  # set timeout for blocking write
        f.set_rcv_timeout(1.0)  # set timeout for blocking read
        assert f.get_snd_timeout() == 0.5
        assert f.get_rcv_timeout() == 1.0
        assert f.get_qos() == QoSSpec()
        assert f.get_rx_queue_len() == 0
        assert f.get_tx_queue_len() == 0
        flags = FlowProperties.ReadWrite | FlowProperties.NoPartialRead
        f.set_flags(flags)
        assert f.get_flags() == flags


def test_flow_properties_members() -> None:
    names = ["ReadOnly", "WriteOnly", "ReadWrite", "Down", "NonBlockingRead",
             "NonBlockingWrite", "NonBlocking", "NoPartialRead", "NoPartialWrite"]
    for name in names:
        assert isinstance(getattr(FlowProperties, name), FlowProperties)
    from enum import IntFlag
    assert issubclass(FlowProperties, IntFlag)


def test_event_types_members() -> None:
    from enum import IntFlag
    assert issubclass(FEventType, IntFlag)
    for name in ("FlowPkt", "FlowDown", "FlowUp", "FlowAlloc", "FlowDealloc", "FlowPeer"):
        assert isinstance(getattr(FEventType, name), FEventType)


def test_flow_set_add_remove_zero(echo) -> None:
    echo("sets")
    with flow_alloc("sets") as f:
        set = FlowSet()  # create a flow set,
        set.add(f)       # add a Flow 'f' to this set
        assert f in set
        set.remove(f)    # remove a Flow 'f' from this set
        assert f not in set
        set.add(f)
        set.zero()       # remove all Flows in this set
        assert len(set) == 0
        set.destroy()


def test_the_event_loop_of_the_seed(echo) -> None:
    echo("loop")
    f1, f2, f3 = (flow_alloc("loop") for _ in range(3))
    try:
        f2.writeline("from f2")
        wait_for_data(f2)             # so that the seed's 1 s is plenty
        fq = FEventQueue()            # Create an eventqueue
        set = FlowSet([f1, f2, f3])   # Create a new set with a couple of Flow objects
        set.wait(fq, timeo=1.0)       # Wait for 1 second or until event
        msgs = []
        for f, t in fq:               # the seed's "while f, t = fq.next():"
            if t == FEventType.FlowPkt:
                msgs.append((f, f.readline()))
        set.destroy()
        assert msgs == [(f2, "from f2")]
    finally:
        for f in (f1, f2, f3):
            f.dealloc()


def test_the_with_statement_event_example(echo) -> None:
    echo("withset")
    with flow_alloc("withset") as f:
        f.writeline("a line")
        fq = FEventQueue()
        with FlowSet([f]) as fs:
            fs.wait(fq)
        f2, t = fq.next() or (None, None)
        assert f2 is f
        if t == FEventType.FlowPkt:
            line = f2.readline()
        assert line == "a line"
