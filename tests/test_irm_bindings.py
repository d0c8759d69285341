"""Bindings of processes and programs to names, on real processes; what
happens to them when processes die."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from irm_testing import EXEC, bindings_of, bound_pids, wait_until, write_script
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import (AlreadyExists, BindError, IrmInvalidArgument,
                              IrmPermissionError, NamingError, NoSuchProcess, ProgramNotFound)
from ouroboros.irm import BIND_AUTO, ProcessBinding

# These test the embedded runtime's bindings (list_bindings has no C API).
pytestmark = pytest.mark.embedded_only

BIND_SELF = """
import os, sys, threading
from ouroboros import irm
for name in sys.argv[1:]:
    irm.bind_process(os.getpid(), name)
print("bound", flush=True)
threading.Event().wait()
"""

# Talks to the runtime (so it is known to it), then waits for a line on stdin.
CONNECT_THEN_WAIT = """
import sys
from ouroboros import irm
irm.list_ipcps()
print("connected", flush=True)
sys.stdin.readline()
"""


def test_bind_list_unbind_a_process() -> None:
    me = os.getpid()
    irm.bind_process(me, "one")
    irm.bind_process(me, "two")
    irm.bind_process(me, "two")  # again: still one binding
    assert [p.pid for p in bindings_of("two").processes] == [me]
    assert bindings_of("one").processes[0].prog is None
    irm.unbind_process(me, "one")
    assert bound_pids("one") == [] and bound_pids("two") == [me]
    irm.bind_process(me, "one")
    irm.unbind_process(me)  # every name
    assert bound_pids("one") == bound_pids("two") == []
    with pytest.raises(NamingError, match="not bound to any name") as e:
        irm.unbind_process(me)
    assert isinstance(e.value, BindError)
    with pytest.raises(NamingError, match="not bound to 'one'"):
        irm.unbind_process(me, "one")


def test_binding_something_that_is_not_a_process_fails() -> None:
    probe = subprocess.Popen(["true"])
    probe.wait()
    with pytest.raises(NoSuchProcess, match=f"no process with pid {probe.pid}") as e:
        irm.bind_process(probe.pid, "n")
    assert isinstance(e.value, BindError) and isinstance(e.value, ProcessLookupError)
    with pytest.raises(NoSuchProcess, match="embedded IPCP, not a process"):
        irm.bind_process(irm.find_ipcp().pid, "n")
    with pytest.raises(IrmInvalidArgument):
        irm.bind_process(0, "n")


def test_binding_another_users_process_is_not_permitted() -> None:
    if os.geteuid() == 0:
        other = subprocess.Popen(["sleep", "30"], user=65534)
        pid = other.pid
    else:
        other = None
        pid = 1  # init, owned by root
    try:
        with pytest.raises(IrmPermissionError, match="belongs to another user") as e:
            irm.bind_process(pid, "theirs")
        assert e.value.errno == errno.EPERM
    finally:
        if other is not None:
            other.kill()
            other.wait()


def test_a_dead_process_loses_its_bindings(spawn) -> None:
    p = spawn(BIND_SELF, "alpha", "beta")
    p.expect("bound")
    assert bound_pids("alpha") == bound_pids("beta") == [p.pid]
    p.kill()
    p.popen.wait(timeout=10)
    wait_until(lambda: bound_pids("alpha") == bound_pids("beta") == [],
               "the dead process's bindings vanish")
    assert {"alpha", "beta"} <= {n.name for n in irm.list_names()}  # the names stay


def test_a_program_binding_binds_processes_that_start_later(spawn, tmp_path) -> None:
    script = write_script(tmp_path, "later.py")
    early = spawn(CONNECT_THEN_WAIT)         # known to the runtime before the binding
    early.expect("connected")
    irm.serve("svc")
    irm.unbind_process(os.getpid(), "svc")
    irm.bind_program(script, "svc")          # no BIND_AUTO: binds, never starts
    [prog] = bindings_of("svc").programs
    assert (prog.prog, prog.opts, prog.auto, prog.interpreter) == (script, 0, False, None)
    server = spawn(EXEC, script)
    server.expect("started")
    wait_until(lambda: server.pid in bound_pids("svc"), "the new process gets bound")
    assert early.pid not in bound_pids("svc")  # matched when it first talked to the runtime
    assert [p for p in bindings_of("svc").processes if p.pid == server.pid][0].prog == script
    with flow_alloc("svc", timeo=10) as f:
        f.set_rcv_timeout(10)
        assert f.read().decode().startswith(f"later.py {server.pid}")
    server.expect("served")
    early.send("done")


def test_unbinding_a_program_unbinds_its_processes(spawn, tmp_path) -> None:
    script = write_script(tmp_path, "srv.py")
    irm.bind_program(script, "a")
    irm.bind_program(script, "b")
    server = spawn(EXEC, script, "5")
    server.expect("started")
    wait_until(lambda: server.pid in bound_pids("a") and server.pid in bound_pids("b"),
               "the process is bound to both names")
    irm.unbind_program(script, "a")
    assert bound_pids("a") == [] and bindings_of("a").programs == []
    assert bound_pids("b") == [server.pid]
    irm.unbind_program(script)  # every name
    assert bound_pids("b") == [] and bindings_of("b").programs == []
    with pytest.raises(NamingError, match="not bound to any name"):
        irm.unbind_program(script)


def test_an_explicit_binding_outlives_the_program_binding(spawn, tmp_path) -> None:
    script = write_script(tmp_path, "srv.py")
    irm.bind_program(script, "n")
    server = spawn(EXEC, script, "5")
    wait_until(lambda: server.pid in bound_pids("n"), "bound through the program")
    irm.bind_process(server.pid, "n")
    assert [(p.pid, p.prog) for p in bindings_of("n").processes] == [(server.pid, None)]
    irm.unbind_program(script, "n")
    assert bound_pids("n") == [server.pid]


def test_program_paths_are_resolved_and_checked(tmp_path, monkeypatch) -> None:
    script = write_script(tmp_path, "tool.py")
    monkeypatch.chdir(tmp_path)
    irm.bind_program("./tool.py", "rel")
    assert bindings_of("rel").programs[0].prog == script
    monkeypatch.setenv("PATH", f"/nonexistent:{tmp_path}")
    irm.bind_program("tool.py", "bare")
    assert bindings_of("bare").programs[0].prog == script
    assert os.environ["PATH"] == f"/nonexistent:{tmp_path}"  # untouched, unlike upstream C
    with pytest.raises(ProgramNotFound, match="in \\$PATH") as e:
        irm.bind_program("no-such-tool", "x")
    assert isinstance(e.value, BindError) and isinstance(e.value, FileNotFoundError)
    with pytest.raises(ProgramNotFound):
        irm.bind_program(str(tmp_path / "missing"), "x")
    with pytest.raises(AlreadyExists, match="bound to 'rel' already"):
        irm.bind_program(script, "rel", BIND_AUTO)


def test_programs_that_cannot_run_are_refused(tmp_path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("not a program")
    with pytest.raises(IrmPermissionError, match="not executable"):
        irm.bind_program(str(data), "x")
    with pytest.raises(IrmPermissionError, match="not a regular file"):
        irm.bind_program(str(tmp_path), "x")
    # A Python script that is not executable runs with this interpreter.
    script = write_script(tmp_path, "plain.py", executable=False)
    irm.bind_program(script, "x", BIND_AUTO)
    [prog] = bindings_of("x").programs
    assert prog.interpreter == sys.executable


def test_bind_options_and_arguments_are_checked(tmp_path) -> None:
    script = write_script(tmp_path, "srv.py")
    with pytest.raises(IrmInvalidArgument, match="unknown bind options"):
        irm.bind_program(script, "x", 0x40)
    with pytest.raises(IrmInvalidArgument, match="too long"):
        irm.bind_program(script, "x", 0, ["y" * 4000] * 14)
    # Beyond what one request can carry: refused before it is sent.
    with pytest.raises(IrmInvalidArgument, match="too long"):
        irm.bind_program(script, "x", 0, ["y" * 5000])
    with pytest.raises(IrmInvalidArgument, match="too long"):
        irm.bind_program(script, "x", 0, ["y" * 4000] * 20)
    with pytest.raises(TypeError):
        irm.bind_program(script, "x", 0, "not a list")  # type: ignore[arg-type]
    irm.bind_program(script, "x", BIND_AUTO, ["-v", "two words", ""])
    assert bindings_of("x").programs[0].argv == ["-v", "two words", ""]
    assert repr(ProcessBinding(7, script)).startswith("ProcessBinding(pid=7")
