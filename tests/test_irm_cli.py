"""The o7s-irm command: the real irm tool's syntax on the embedded runtime,
including the steps of the Ouroboros tutorial's local layer."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import List

import pytest

from irm_testing import EXEC, TOOL, bindings_of, bound_pids, o7s_irm, wait_until, write_script
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.irm import IpcpType, LoadBalancePolicy

# These test o7s-irm, which drives the embedded runtime.
pytestmark = pytest.mark.embedded_only

# Stands in for `oping --listen`: echoes every SDU of every flow.
PING_SERVER = """
import sys
from ouroboros.dev import flow_accept
print("Ouroboros ping server started.", flush=True)
while True:
    with flow_accept() as f:
        f.set_rcv_timeout(10)
        try:
            while True:
                f.write(f.read())
        except ConnectionError:
            pass
"""


def ok(*args: str) -> str:
    status, out, err = o7s_irm(*args)
    assert status == 0, f"o7s-irm {' '.join(args)}: {err}"
    return out


def fails(*args: str) -> str:
    status, out, err = o7s_irm(*args)
    assert status == 1, f"o7s-irm {' '.join(args)} should fail; said {out}{err}"
    assert err.startswith("o7s-irm: ")
    return err


def ping(name: str, count: int = 3) -> None:
    with flow_alloc(name, timeo=10) as f:
        f.set_rcv_timeout(10)
        for seq in range(count):
            f.write(b"ping %d" % seq)
            assert f.read() == b"ping %d" % seq


def rows(table: str) -> List[List[str]]:
    """The cells of a table's body."""
    lines = [ln for ln in table.splitlines() if ln.startswith("|")][1:]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]


def test_the_console_script_is_installed() -> None:
    assert TOOL.exists(), "pip install puts o7s-irm beside the interpreter"
    assert "OPERATION: ipcp bind unbind name runtime help" in ok("help")


def test_tutorial_local_layer_with_bind_process(spawn) -> None:
    # Tutorial 1 ("Local test") and ouroboros-tutorial(7), with `irm`
    # replaced by `o7s-irm` and oping by a Python echo server and client.
    ok("ipcp", "create", "type", "local", "name", "local_ipcp")
    ok("ipcp", "bootstrap", "type", "local", "name", "local_ipcp", "layer", "local_layer")
    server = spawn(PING_SERVER)                                  # oping --listen &
    server.expect("Ouroboros ping server started.")
    ok("bind", "process", str(server.pid), "name", "oping_server")
    ok("name", "register", "oping_server", "layer", "local_layer")
    ping("oping_server")                                         # oping -n oping_server -c 3
    table = ok("ipcp", "list")
    assert ["local_ipcp", "local", "local_layer"] in [r[1:] for r in rows(table)]
    [row] = [r for r in rows(ok("name", "list")) if r[0] == "oping_server"]
    assert row == ["oping_server", "spillover", "local_layer", str(server.pid), "-"]


def test_tutorial_local_layer_with_bind_program(spawn, tmp_path) -> None:
    # The order scripts like Rumba's use: bind the program, then start it.
    oping = write_script(tmp_path, "oping", PING_SERVER)
    ok("ipcp", "bootstrap", "type", "local", "name", "local_ipcp", "layer", "local_layer")
    ok("bind", "program", oping, "name", "oping_server")
    ok("name", "register", "oping_server", "layer", "local_layer")
    server = spawn(EXEC, oping)
    server.expect("Ouroboros ping server started.")
    wait_until(lambda: bound_pids("oping_server") == [server.pid], "oping gets bound")
    ping("oping_server")


def test_bind_program_auto_starts_it_with_its_arguments(tmp_path, runtime) -> None:
    script = write_script(tmp_path, "srv.py")
    ok("bind", "program", script, "name", "svc", "auto", "--", "1", "--flag")
    ok("name", "register", "svc", "layer", "local")
    [row] = rows(ok("name", "list", "svc"))
    assert row[4] == f"{script} [auto] -- 1 --flag"
    with flow_alloc("svc", timeo=20) as f:
        f.set_rcv_timeout(20)
        assert f.read().decode().endswith(" 1 --flag")


def test_abbreviations_work_like_the_real_tool(spawn) -> None:
    ok("i", "b", "t", "broadcast", "n", "bc", "l", "bc_layer")
    ok("n", "c", "named", "lb", "spillover")
    ok("n", "r", "named", "l", "local")
    server = spawn(PING_SERVER)
    server.expect("Ouroboros ping server started.")
    ok("b", "proc", str(server.pid), "n", "named")
    ping("named")
    assert [r[1:] for r in rows(ok("i", "l", "t", "broadcast"))] == [["bc", "broadcast", "bc_layer"]]
    ok("u", "proc", str(server.pid))
    assert bound_pids("named") == []


def test_names_and_ipcps_are_created_destroyed_and_listed() -> None:
    assert ok("name", "list") == "No names in system.\n"
    ok("name", "create", "rr")
    ok("name", "create", "sp", "lb", "spillover")
    assert {n.name: n.pol_lb for n in irm.list_names()} == {
        "rr": LoadBalancePolicy.ROUND_ROBIN, "sp": LoadBalancePolicy.SPILL}
    ok("name", "register", "rr", "ipcp", "local")
    assert bindings_of("rr").ipcps == [irm.find_ipcp().pid]
    ok("name", "unregister", "rr", "layer", "local")
    assert bindings_of("rr").ipcps == []
    ok("name", "destroy", "rr")
    assert [n.name for n in irm.list_names()] == ["sp"]
    ok("ipcp", "create", "name", "spare", "type", "broadcast")
    assert [i.type for i in irm.list_ipcps() if i.name == "spare"] == [IpcpType.BROADCAST]
    assert [r[3] for r in rows(ok("ipcp", "list", "name", "spare"))] == ["-"]  # no layer yet
    ok("ipcp", "destroy", "name", "spare")
    assert ok("ipcp", "list", "name", "spare") == "No IPCPs in system.\n"


def test_binding_and_unbinding_programs(tmp_path) -> None:
    script = write_script(tmp_path, "tool.py")
    ok("bind", "program", script, "name", "a")
    ok("bind", "program", script, "name", "b")
    ok("unbind", "program", script, "name", "a")
    assert bindings_of("a").programs == [] and len(bindings_of("b").programs) == 1
    ok("unbind", "program", script)
    assert bindings_of("b").programs == []


@pytest.mark.parametrize("args, message", [
    ((), "an operation is missing"),
    (("frobnicate",), '"frobnicate" is unknown'),
    (("ipcp", "create", "name", "u", "type", "unicast"), "not supported by the embedded runtime"),
    (("ipcp", "create", "name", "u", "type", "token-ring"), 'IPCP type "token-ring" is unknown'),
    (("ipcp", "bootstrap", "name", "nobody", "layer", "x"), 'no IPCP named "nobody"'),
    (("ipcp", "bootstrap", "name", "local", "type", "broadcast", "layer", "x"),
     "is a local IPCP, not broadcast"),
    (("ipcp", "bootstrap", "name", "u4", "type", "udp4", "layer", "x", "ip", "0.0.0.0"),
     'cannot use the IP address "0.0.0.0"'),
    (("ipcp", "enroll", "name", "newcomer", "layer", "x"), "embedded runtime"),
    (("ipcp", "connect", "name", "local", "dst", "peer"), "embedded runtime"),
    (("ipcp", "destroy", "name", "nobody"), "no IPCP named 'nobody'"),
    (("name", "register", "n", "layer", "nowhere"), "no IPCP in layer 'nowhere'"),
    (("name", "register", "n"), "give at least one ipcp or layer"),
    (("name", "create", "n", "lb", "random"), 'load-balance policy "random" is unknown'),
    (("name", "create", "n", "sencpath", "/no/such/file"), "does not exist"),
    (("name", "destroy", "nothing"), "no name 'nothing'"),
    (("bind", "process", "abc", "name", "n"), 'process id "abc" is not a number'),
    (("bind", "process", "1", "name"), '"name" needs a value'),
    (("bind", "program", "/no/such/prog", "name", "n"), "No such file"),
    (("bind", "ipcp", "local", "name", "n"), "not a process"),
    (("unbind", "process", "12345678", "name", "n"), "no name 'n'"),
])
def test_errors_go_to_stderr_with_status_1(args, message) -> None:
    assert message in fails(*args)
    assert [i.name for i in irm.list_ipcps()] == ["local"]  # nothing half-done


def test_help_at_every_level() -> None:
    for words in (("help",), ("ipcp", "help"), ("name", "help"), ("bind", "help"),
                  ("unbind", "help")):
        assert ok(*words).startswith("usage: o7s-irm")


def test_autobind_is_accepted_and_harmless_on_the_embedded_runtime() -> None:
    status, out, err = o7s_irm("ipcp", "bootstrap", "type", "broadcast", "name", "bc",
                               "layer", "bcl", "autobind")
    assert status == 0, err
    assert irm.find_ipcp("bcl").type == IpcpType.BROADCAST
    status, out, err = o7s_irm("ipcp", "bootstrap", "type", "local", "name", "l2",
                               "layer", "l2l", "autobind")
    assert status == 0 and "autobind applies to unicast and broadcast" in err


def test_the_module_runs_as_a_script_too() -> None:
    done = subprocess.run([sys.executable, "-m", "ouroboros.tools.irm", "ipcp", "list"],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert done.returncode == 0 and "local" in done.stdout


def test_name_list_falls_back_to_names_without_a_bindings_listing(monkeypatch, capsys) -> None:
    from ouroboros.tools import irm as irm_command
    from ouroboros.errors import IrmNotSupported

    def unsupported() -> None:
        raise IrmNotSupported(95, "this backend cannot list bindings")

    irm.create_name(irm.NameInfo("plain"))
    monkeypatch.setattr(irm, "list_bindings", unsupported)
    assert irm_command.run(["name", "list"]) == 0
    assert rows(capsys.readouterr().out) == [["plain", "round-robin"]]
