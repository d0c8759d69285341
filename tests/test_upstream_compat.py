"""Code written for upstream pyOuroboros (dstaesse/pyouroboros, the CFFI
binding for Ouroboros 0.22+) runs unchanged, on both backends.

The calls below use upstream's public names and signatures as its API
documents them: star imports of ``ouroboros.dev``/``event``/``qos``/
``cli``, positional ``QoSSpec`` fields, ``Flow.join(dst, timeo)``, the QoS
that ``alloc()``/``accept()`` return, ``FlowEventError`` ending event loops,
``FlowDeallocWarning`` from a second ``dealloc()``, ``irm.NameError``."""

from __future__ import annotations

import builtins
import inspect
import queue
from typing import Callable, Dict, Iterator

import pytest

from o7s_system import forget_name, ouroboros_release, unique_name
from ouroboros import irm
from ouroboros.dev import Flow, FlowDeallocWarning, flow_alloc, flow_join
from ouroboros.errors import FlowNotAllocatedException
from ouroboros.event import FEventQueue, FEventType, FlowEventError, FlowSet
from ouroboros.qos import DEFAULT_PEER_TIMEOUT, UINT32_MAX, QoSSpec


def star(module: str) -> Dict[str, object]:
    """What ``from <module> import *`` binds."""
    namespace: Dict[str, object] = {}
    exec(f"from {module} import *", namespace)
    del namespace["__builtins__"]
    return namespace


@pytest.fixture
def fresh_name(backend: str) -> Iterator[Callable[[str], str]]:
    """fresh_name(what) -> a name nobody uses yet; on the real IRMd, which
    keeps names, it is unique and removed after the test."""
    made = []

    def make(what: str) -> str:
        name = what if backend == "embedded" else unique_name(what)
        made.append(name)
        return name

    yield make
    if backend == "system":
        layer = irm.find_ipcp()
        for name in made:
            forget_name(name, layer.pid)


# --- names


def test_star_imports_bring_upstreams_names() -> None:
    dev = star("ouroboros.dev")
    for name in ("Flow", "flow_alloc", "flow_accept", "flow_join", "FlowProperties",
                 "FRCT_RETRANSMIT", "FRCT_RESCNTL", "FRCT_LINGER", "QoSSpec",
                 "FlowAllocatedException", "FlowNotAllocatedException", "FlowDownException",
                 "FlowPermissionException", "FlowException", "FlowDeallocWarning",
                 "MILLION", "BILLION", "DEFAULT_PEER_TIMEOUT", "UINT32_MAX"):
        assert name in dev, name
    assert (dev["MILLION"], dev["BILLION"]) == (10**6, 10**9)
    assert (dev["DEFAULT_PEER_TIMEOUT"], dev["UINT32_MAX"]) == (120000, 0xFFFFFFFF)
    assert issubclass(dev["FlowDeallocWarning"], Warning)  # type: ignore[arg-type]

    qos = star("ouroboros.qos")
    for name in ("QoSSpec", "MILLION", "BILLION", "DEFAULT_PEER_TIMEOUT", "UINT32_MAX"):
        assert name in qos, name

    event = star("ouroboros.event")
    for name in ("FlowEventError", "FEventType", "FEventQueue", "FlowSet"):
        assert name in event, name
    assert set(dev) <= set(event)  # the event module brings dev's names too


def test_irm_has_upstreams_names_and_nameerror_without_shadowing_the_builtin() -> None:
    for name in ("IpcpType", "AddressAuthPolicy", "LinkStatePolicy", "RoutingPolicy",
                 "CongestionAvoidPolicy", "DirectoryPolicy", "DirectoryHashAlgo",
                 "LoadBalancePolicy", "BIND_AUTO", "DT_COMP", "MGMT_COMP", "IrmError",
                 "IpcpCreateError", "IpcpBootstrapError", "IpcpEnrollError",
                 "IpcpConnectError", "BindError", "LinkStateConfig", "RoutingConfig",
                 "DtConfig", "DhtConfig", "DirConfig", "UnicastConfig", "EthConfig",
                 "Udp4Config", "Udp6Config", "IpcpConfig", "NameSecPaths", "NameInfo",
                 "IpcpInfo"):
        assert hasattr(irm, name), name
    assert issubclass(irm.NameError, irm.IrmError)
    assert star("ouroboros.irm").get("NameError", builtins.NameError) is builtins.NameError


def test_except_irm_nameerror_catches_a_failed_name_call(fresh_name) -> None:
    name = fresh_name("never-created")
    with pytest.raises(irm.NameError):
        irm.destroy_name(name)
    try:
        irm.reg_name(name, irm.find_ipcp().pid)
    except irm.NameError as e:  # upstream's except clause
        assert name in str(e)
    else:
        pytest.fail("registering a name that does not exist succeeded")


def test_upstream_signatures() -> None:
    def params(f: Callable[..., object]) -> list:
        return list(inspect.signature(f).parameters)

    expected = {
        irm.create_ipcp: ["name", "ipcp_type"], irm.destroy_ipcp: ["pid"],
        irm.enroll_ipcp: ["pid", "dst"], irm.bootstrap_ipcp: ["pid", "conf"],
        irm.connect_ipcp: ["pid", "component", "dst", "qos"],
        irm.disconnect_ipcp: ["pid", "component", "dst"],
        irm.bind_program: ["prog", "name", "opts", "argv"],
        irm.unbind_program: ["prog", "name"], irm.bind_process: ["pid", "name"],
        irm.unbind_process: ["pid", "name"], irm.create_name: ["info"],
        irm.destroy_name: ["name"], irm.reg_name: ["name", "pid"],
        irm.unreg_name: ["name", "pid"],
        Flow.alloc: ["self", "dst", "qos", "timeo"], Flow.accept: ["self", "timeo"],
        Flow.join: ["self", "dst", "timeo"], flow_join: ["dst", "qos", "timeo"],
        FlowSet.wait: ["self", "fq", "timeo"],
    }
    for f, names in expected.items():
        assert params(f)[:len(names)] == names, f
    assert params(QoSSpec)[:8] == ["delay", "bandwidth", "availability", "loss", "ber",
                                   "in_order", "max_gap", "timeout"]


def test_cli_star_import_and_autoboot(fresh_name) -> None:
    ns = star("ouroboros.cli")
    for name in ("IpcpType", "IpcpConfig", "IpcpInfo", "NameInfo", "BindError", "IrmError",
                 "DT_COMP", "MGMT_COMP", "UnicastConfig", "DtConfig", "RoutingConfig",
                 "LinkStateConfig", "LinkStatePolicy", "EthConfig", "Udp4Config",
                 "Udp6Config", "QoSSpec", "autoboot", "list_ipcps", "destroy_ipcp"):
        assert name in ns, name
    ipcp, layer = fresh_name("lx-ipcp"), fresh_name("lx")
    ns.update(ipcp=ipcp, layer=layer)
    exec("autoboot(ipcp, IpcpType.LOCAL, layer)", ns)
    try:
        [info] = eval("list_ipcps(name=ipcp)", ns)
        assert (info.type, info.layer) == (irm.IpcpType.LOCAL, layer)
    finally:
        exec("destroy_ipcp(ipcp)", ns)


# --- QoSSpec


def test_qos_spec_positional_fields_mean_what_they_mean_upstream() -> None:
    spec = QoSSpec(UINT32_MAX, 0, 0, 1, 1, 0, UINT32_MAX, 60000)
    assert (spec.max_gap, spec.timeout, spec.cypher_s) == (UINT32_MAX, 60000, 0)
    spec = QoSSpec(100, 0, 3, 0, 0, 1, 2000)
    assert (spec.delay, spec.availability, spec.loss, spec.ber, spec.in_order,
            spec.max_gap, spec.timeout) == (100, 3, 0, 0, 1, 2000, DEFAULT_PEER_TIMEOUT)
    seed = QoSSpec(loss=0, cypher_s=256, timeout=60000)  # the seed README's keyword form
    assert (seed.loss, seed.cypher_s, seed.timeout) == (0, 256, 60000)


# --- flows: an upstream-style server and client

# Written against upstream's API only: upstream's IRM calls to set up, the
# QoS accept() returns, the event API ended by FlowEventError, and a second
# dealloc() answered by FlowDeallocWarning.
UPSTREAM_SERVER = """
import os, sys
from ouroboros import irm
from ouroboros.event import *

name = sys.argv[1]
try:
    irm.create_name(irm.NameInfo(name))
except irm.NameError:
    pass
layer = [i for i in irm.list_ipcps() if i.type == irm.IpcpType.LOCAL and i.layer][0]
irm.reg_name(name, layer.pid)
irm.bind_process(os.getpid(), name)
print("ready", flush=True)
while True:
    f = Flow()
    qos = f.accept()
    print("accepted timeout=%d" % qos.timeout, flush=True)
    fq = FEventQueue()
    with FlowSet([f]) as fs:
        try:
            fs.wait(fq, 10)
        except FlowEventError:
            print("nothing came", flush=True)
    while True:
        try:
            f2, t = fq.next()
        except FlowEventError:
            break
        if t == FEventType.FlowPkt:
            f2.writeline(f2.readline())
    f.dealloc()
    try:
        f.dealloc()
    except FlowDeallocWarning:
        print("dealloc warning", flush=True)
"""


def test_an_upstream_style_server_and_client(spawn, fresh_name) -> None:
    name = fresh_name("upstream-echo")
    server = spawn(UPSTREAM_SERVER, name)
    server.expect("ready")
    f = Flow()
    # Positional as upstream: the 8th field is the peer timeout, then timeo.
    qos = f.alloc(name, QoSSpec(UINT32_MAX, 0, 0, 1, 1, 0, UINT32_MAX, 60000), 10)
    assert isinstance(qos, QoSSpec) and qos == f.get_qos()
    assert qos.timeout == 60000 and qos.cypher_s == 0
    f.writeline("hello upstream")
    f.set_rcv_timeout(10)
    assert f.readline() == "hello upstream"
    assert server.expect("accepted") == "accepted timeout=60000"
    server.expect("dealloc warning")
    f.dealloc()
    with pytest.raises(FlowDeallocWarning):
        f.dealloc()


def test_a_second_dealloc_raises_flow_dealloc_warning(spawn, fresh_name) -> None:
    name = fresh_name("dealloc-twice")
    server = spawn(UPSTREAM_SERVER, name)
    server.expect("ready")
    with flow_alloc(name, timeo=10) as f:
        f.dealloc()
        try:
            f.dealloc()
        except FlowDeallocWarning as e:  # upstream's except clause
            assert isinstance(e, FlowNotAllocatedException)  # and ours
        else:
            pytest.fail("a second dealloc() raised nothing")
    # Leaving the with block after dealloc() raises nothing.
    with pytest.raises(FlowDeallocWarning):
        Flow().dealloc()  # never allocated


ECHO_ONCE = """
import os, sys
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve(sys.argv[1])
print("ready", flush=True)
while True:
    f = flow_accept()
    f.set_rcv_timeout(20)
    try:
        while True:
            f.write(f.read())
    except (ConnectionError, TimeoutError):
        pass
"""


def test_event_errors_end_upstreams_loops_and_python_idioms_still_work(spawn,
                                                                      fresh_name) -> None:
    name = fresh_name("events")
    server = spawn(ECHO_ONCE, name)
    server.expect("ready")
    with flow_alloc(name, timeo=10) as f:
        fq = FEventQueue()
        with FlowSet([f]) as fs:
            # A wait that times out: upstream's FlowEventError, and a TimeoutError.
            with pytest.raises(FlowEventError):
                fs.wait(fq, 0.1)
            with pytest.raises(TimeoutError):
                fs.wait(fq, timeo=0.1)
            f.writeline("ping")
            fs.wait(fq, 10)
        events = []
        while True:  # upstream's loop: next() until FlowEventError
            try:
                events.append(fq.next())
            except FlowEventError:
                break
        assert events and events[0] == (f, FEventType.FlowPkt)
        assert f.readline() == "ping"
        with pytest.raises(queue.Empty):  # an empty queue, as Queue.get_nowait()
            fq.next()
        assert list(fq) == []             # and iteration just stops


JOINER = """
import sys
from ouroboros.dev import Flow
f = Flow()
f.join(sys.argv[1], 10)
print("joined", flush=True)
f.set_rcv_timeout(20)
print("got", f.read().decode(), flush=True)
f.dealloc()
"""


@pytest.fixture
def broadcast_layer(backend: str, fresh_name) -> Iterator[str]:
    if backend == "system" and ouroboros_release() < (0, 22):
        pytest.skip("joining a broadcast layer fails on 0.21.4, with its own obc tool too")
    layer = fresh_name("bc-layer")
    pid = irm.create_ipcp(layer, irm.IpcpType.BROADCAST)
    try:
        irm.bootstrap_ipcp(pid, irm.IpcpConfig(irm.IpcpType.BROADCAST, layer))
        yield layer
    finally:
        irm.destroy_ipcp(pid)


def test_flow_join_takes_the_timeout_second(spawn, broadcast_layer) -> None:
    reader = spawn(JOINER, broadcast_layer)
    reader.expect("joined", timeout=20)
    f = Flow()
    qos = f.join(broadcast_layer, 10.0)  # upstream: Flow.join(dst, timeo)
    try:
        assert isinstance(qos, QoSSpec)
        f.write(b"to the layer")
        assert reader.expect("got", timeout=20) == "got to the layer"
    finally:
        f.dealloc()
    with flow_join(broadcast_layer, None, 10) as g:  # upstream: flow_join(dst, qos, timeo)
        assert not g.closed


def test_the_examples_of_upstream_run_as_upstream_wrote_them(spawn, fresh_name) -> None:
    # Upstream's oecho_set.py server loop: accept, wait in a FlowSet "with"
    # block, take the event after it; its oecho.py client.
    name = fresh_name("oecho-upstream")
    server = spawn("""
        import os, sys
        from ouroboros import irm
        from ouroboros.event import *
        irm.serve(sys.argv[1])
        print("Starting the server.", flush=True)
        while True:
            with flow_accept() as f:
                print("New flow.", flush=True)
                fq = FEventQueue()
                with FlowSet([f]) as fs:
                    fs.wait(fq)
                f2, t = fq.next()
                if t != FEventType.FlowPkt:
                    continue
                line = f2.readline()
                print("Message from client is " + line, flush=True)
                f2.writeline(line)
    """, name)
    server.expect("Starting the server.")
    client = spawn("""
        import sys
        from ouroboros.dev import *
        with flow_alloc(sys.argv[1]) as f:
            f.writeline("Hello, PyOuroboros!")
            print(f.readline(), flush=True)
    """, name)
    assert client.expect("Hello") == "Hello, PyOuroboros!"
    assert server.expect("Message from client is") == \
        "Message from client is Hello, PyOuroboros!"
    assert client.finish()[0] == 0

