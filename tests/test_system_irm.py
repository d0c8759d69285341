"""ouroboros.irm on the real IRMd: IPCPs, layers, names and bindings, with
the error classes the embedded runtime gives for the same mistakes."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from o7s_system import unique_name
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import EIPCP, EIPCPSTATE, ENAME, FlowException, IrmError

pytestmark = pytest.mark.system

AUTO_SERVER = """#!{python}
# Started by the IRMd when a flow arrives for a name the program is bound to.
from ouroboros.dev import flow_accept
with flow_accept(timeo=30) as f:
    f.set_rcv_timeout(10)
    f.write(b"started for you: " + f.read())
"""


def test_the_lists_show_the_layer_and_the_names(system_layer, system_names) -> None:
    name = system_names("listed")
    assert any(i.pid == system_layer.pid and i.layer == system_layer.layer
               for i in irm.list_ipcps())
    assert irm.NameInfo(name) in irm.list_names()


def test_an_ipcp_from_creation_to_destruction() -> None:
    name = unique_name("ipcp")
    pid = irm.create_ipcp(name, irm.IpcpType.LOCAL)
    try:
        info = next(i for i in irm.list_ipcps() if i.pid == pid)
        assert (info.name, info.type, info.layer) == (name, irm.IpcpType.LOCAL, "")
        with pytest.raises(IrmError) as twice:
            irm.create_ipcp(name, irm.IpcpType.LOCAL)
        assert twice.value.errno == errno.EEXIST
        irm.bootstrap_ipcp(pid, irm.IpcpConfig(irm.IpcpType.LOCAL, name))
        assert irm.find_ipcp(name).pid == pid
        with pytest.raises(IrmError) as again:
            irm.bootstrap_ipcp(pid, irm.IpcpConfig(irm.IpcpType.LOCAL, name + "-other"))
        assert again.value.errno == EIPCPSTATE
    finally:
        irm.destroy_ipcp(pid)
    assert pid not in [i.pid for i in irm.list_ipcps()]
    with pytest.raises(IrmError) as gone:
        irm.destroy_ipcp(pid)
    assert gone.value.errno == EIPCP


@pytest.mark.parametrize("kind, part", [
    (irm.IpcpType.UNICAST, {"unicast": irm.UnicastConfig(
        irm.DtConfig(4, 8, 30), irm.DirConfig(dht=irm.DhtConfig(alpha=2)))}),
    (irm.IpcpType.UDP4, {"udp4": irm.Udp4Config("127.0.0.1", port=3999)}),
    (irm.IpcpType.UDP6, {"udp6": irm.Udp6Config("::1", port=3998)}),
    (irm.IpcpType.ETH_DIX, {"eth": irm.EthConfig("lo", 0xA001)}),
])
def test_every_part_of_a_configuration_reaches_the_irmd(kind, part) -> None:
    # The shim reads each field by its model name: a bootstrap of each type
    # shows that every name it asks for exists.
    name = unique_name(kind.name.lower())
    pid = irm.create_ipcp(name, kind)
    try:
        irm.bootstrap_ipcp(pid, irm.IpcpConfig(kind, name, **part))
        assert irm.find_ipcp(name).pid == pid
    finally:
        irm.destroy_ipcp(pid)


def test_names_that_do_not_exist(system_layer) -> None:
    missing = unique_name("missing")
    for call in (lambda: irm.destroy_name(missing),
                 lambda: irm.reg_name(missing, system_layer.pid)):
        with pytest.raises(IrmError) as e:
            call()
        assert e.value.errno == ENAME


def test_only_processes_that_use_ouroboros_can_be_bound(system_names) -> None:
    name = system_names("bound")
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(IrmError) as e:
            irm.bind_process(bystander.pid, name)
        assert e.value.errno == errno.ESRCH
        assert "not known to the IRMd" in str(e.value)
    finally:
        bystander.kill()
        bystander.wait()
    irm.bind_process(os.getpid(), name)  # this process loaded the system backend
    irm.unbind_process(os.getpid(), name)


def test_a_bound_program_is_started_for_a_flow(tmp_path, system_names) -> None:
    name = system_names("auto")
    script = tmp_path / f"{name}.py"
    script.write_text(AUTO_SERVER.format(python=sys.executable))
    script.chmod(0o755)
    irm.bind_program(str(script), name, irm.BIND_AUTO)
    try:
        # The IRMd waits a second for the program to start accepting; a
        # slow start on a busy machine gets another try (the program runs
        # by then).
        for attempt in range(3):
            try:
                f = flow_alloc(name, timeo=10)
                break
            except FlowException:
                if attempt == 2:
                    raise
        with f:
            f.set_rcv_timeout(10)
            f.write(b"hello")
            assert f.read() == b"started for you: hello"
    finally:
        irm.unbind_program(str(script), name)


def test_binding_a_program_that_does_not_exist(system_names) -> None:
    with pytest.raises(IrmError) as e:
        irm.bind_program(unique_name("no-such-program"), system_names("prog"))
    assert e.value.errno == errno.ENOENT
