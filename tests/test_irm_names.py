"""Names: create, destroy, register, unregister, list; the steps a flow
needs; load balancing over several real server processes."""

from __future__ import annotations

import os

import pytest

from o7s_testing import wait_idle, wait_until
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import (ENAME, FlowException, IpcpStateError,
                              IrmInvalidArgument, IrmNameError, IrmNotSupported, NamingError,
                              NoSuchIpcp)
from ouroboros.irm import IpcpConfig, IpcpType, LoadBalancePolicy, NameInfo

# These test the embedded runtime's name registry (fixed names, checks its state).
pytestmark = pytest.mark.embedded_only

# Binds itself to a name and answers every flow with its tag, from two
# threads so that it is (nearly) always accepting.
TAGGED_SERVER = """
import os, sys, threading
from ouroboros import irm
from ouroboros.dev import flow_accept
name, tag = sys.argv[1], sys.argv[2]
irm.bind_process(os.getpid(), name)

def serve():
    while True:
        with flow_accept() as f:
            f.write(tag.encode())

for _ in range(2):
    threading.Thread(target=serve, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""


def _prepare(name: str, policy: LoadBalancePolicy) -> None:
    irm.create_name(NameInfo(name, policy))
    irm.reg_name(name, irm.find_ipcp().pid)


def _start_servers(spawn, name: str, tags: list) -> list:
    servers = []
    for tag in tags:  # one at a time: binding order is the servers' order
        s = spawn(TAGGED_SERVER, name, tag)
        s.expect("ready")
        servers.append(s)
    _all_accepting(servers)
    return servers


def _all_accepting(servers: list) -> None:
    """Every server's threads wait in flow_accept(): their requests are with
    the daemon, so the policy alone picks who gets the next flow."""
    for s in servers:
        if s.popen.poll() is None:
            wait_idle(s.pid)


def _who_answers(name: str, count: int, servers: list) -> list:
    tags = []
    for _ in range(count):
        with flow_alloc(name, timeo=10) as f:
            f.set_rcv_timeout(10)
            tags.append(f.read().decode())
        _all_accepting(servers)
    return tags


def test_create_list_destroy() -> None:
    irm.create_name(NameInfo("rr"))
    irm.create_name(NameInfo("sp", LoadBalancePolicy.SPILL))
    names = {n.name: n.pol_lb for n in irm.list_names()}
    assert names == {"rr": LoadBalancePolicy.ROUND_ROBIN, "sp": LoadBalancePolicy.SPILL}
    assert NameInfo("rr") in irm.list_names()
    irm.destroy_name("rr")
    assert [n.name for n in irm.list_names()] == ["sp"]


def test_creating_a_name_that_exists_succeeds_and_keeps_its_policy() -> None:
    # As with the IRMd (and the system backend).
    irm.create_name(NameInfo("once", LoadBalancePolicy.SPILL))
    irm.create_name(NameInfo("once", LoadBalancePolicy.ROUND_ROBIN))
    assert [n for n in irm.list_names() if n.name == "once"] == [
        NameInfo("once", LoadBalancePolicy.SPILL)]


def test_name_errors_are_typed() -> None:
    irm.create_name(NameInfo("once"))
    with pytest.raises(NamingError, match="no name 'never'") as e:
        irm.destroy_name("never")
    assert isinstance(e.value, IrmNameError) and isinstance(e.value, irm.NameError)
    with pytest.raises(NamingError, match="create it first"):
        irm.reg_name("never", irm.find_ipcp().pid)
    with pytest.raises(NoSuchIpcp):
        irm.reg_name("once", 4)
    with pytest.raises(NamingError, match="not registered with IPCP"):
        irm.unreg_name("once", irm.find_ipcp().pid)
    with pytest.raises(IrmInvalidArgument, match="empty"):
        irm.create_name(NameInfo(""))
    with pytest.raises(IrmInvalidArgument, match="256 bytes long"):
        irm.bind_process(1, "n" * 256)
    with pytest.raises(ValueError, match="256 bytes long"):
        NameInfo("n" * 256)


def test_register_and_unregister() -> None:
    local = irm.find_ipcp().pid
    other = irm.create_ipcp("second", IpcpType.LOCAL)
    irm.create_name(NameInfo("x"))
    with pytest.raises(IpcpStateError):
        irm.reg_name("x", other)  # not bootstrapped yet
    irm.bootstrap_ipcp(other, IpcpConfig(IpcpType.LOCAL, "second-layer"))
    irm.reg_name("x", local)
    irm.reg_name("x", other)
    irm.reg_name("x", other)  # again: no change
    [x] = irm.list_bindings()
    assert sorted(x.ipcps) == sorted([local, other])
    irm.unreg_name("x", local)
    assert irm.list_bindings()[0].ipcps == [other]


def test_names_cannot_be_registered_in_a_broadcast_layer() -> None:
    bc = irm.create_ipcp("bc", IpcpType.BROADCAST)
    irm.bootstrap_ipcp(bc, IpcpConfig(IpcpType.BROADCAST, "bc-layer"))
    irm.create_name(NameInfo("n"))
    with pytest.raises(IrmNotSupported, match="broadcast layer"):
        irm.reg_name("n", bc)


def test_a_flow_needs_each_step_and_the_error_names_the_missing_one(spawn) -> None:
    def alloc_error() -> str:
        with pytest.raises(FlowException) as e:
            flow_alloc("svc", timeo=1)
        assert e.value.errno == ENAME
        return str(e.value)

    assert "never created or bound" in alloc_error()
    irm.create_name(NameInfo("svc"))
    assert "not registered in any layer" in alloc_error()
    irm.reg_name("svc", irm.find_ipcp().pid)
    assert "no process is bound" in alloc_error()
    servers = _start_servers(spawn, "svc", ["A"])
    assert _who_answers("svc", 1, servers) == ["A"]


def test_round_robin_takes_turns(spawn) -> None:
    _prepare("rr", LoadBalancePolicy.ROUND_ROBIN)
    servers = _start_servers(spawn, "rr", ["A", "B"])
    assert _who_answers("rr", 6, servers) == ["A", "B"] * 3


def test_spill_prefers_the_first_bound_process(spawn) -> None:
    _prepare("sp", LoadBalancePolicy.SPILL)
    servers = _start_servers(spawn, "sp", ["A", "B"])
    assert _who_answers("sp", 4, servers) == ["A"] * 4
    first = servers[0]
    first.kill()
    first.popen.wait(timeout=10)
    bound = lambda: [p.pid for n in irm.list_bindings() for p in n.processes]  # noqa: E731
    wait_until(lambda: first.pid not in bound(), "the dead server is unbound")
    assert _who_answers("sp", 3, servers) == ["B"] * 3


def test_binding_a_process_creates_the_name_with_spill() -> None:
    irm.bind_process(os.getpid(), "made-by-binding")
    assert NameInfo("made-by-binding", LoadBalancePolicy.SPILL) in irm.list_names()
