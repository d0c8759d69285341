"""The embedded runtime behaves like the real IRMd where a program would
notice: names that exist, binding processes that do not use Ouroboros,
allocations nobody accepts, auto-start failures. The tests run on both
backends; what still differs is listed in docs/howto/system.md
("The system backend")."""

from __future__ import annotations

import errno
import subprocess
import time
from typing import Iterator

import pytest

from irm_testing import bound_pids
from ouroboros import irm
from ouroboros.errors import FlowTimeoutException, NoSuchProcess, OuroborosError
from ouroboros.dev import flow_alloc
from ouroboros.irm import LoadBalancePolicy, NameInfo


@pytest.fixture
def name(backend: str, request: pytest.FixtureRequest) -> str:
    """A name created and registered in a local layer (on the real IRMd a
    unique one, removed after the test)."""
    if backend == "system":
        made: str = request.getfixturevalue("system_names")("parity")
        return made
    irm.create_name(NameInfo("parity"))
    irm.reg_name("parity", irm.find_ipcp().pid)
    return "parity"


@pytest.fixture
def bystander() -> Iterator["subprocess.Popen[bytes]"]:
    """A process that never uses Ouroboros (like a wrapper's shell)."""
    p = subprocess.Popen(["sleep", "60"])
    yield p
    p.kill()
    p.wait()


def test_creating_a_name_that_exists_succeeds(name) -> None:
    policy = next(n.pol_lb for n in irm.list_names() if n.name == name)
    other = (LoadBalancePolicy.ROUND_ROBIN if policy == LoadBalancePolicy.SPILL
             else LoadBalancePolicy.SPILL)
    irm.create_name(NameInfo(name, other))
    assert [n.pol_lb for n in irm.list_names() if n.name == name] == [policy]


def test_a_process_that_does_not_use_ouroboros_cannot_be_bound(name, bystander) -> None:
    with pytest.raises(NoSuchProcess) as e:
        irm.bind_process(bystander.pid, name)
    assert e.value.errno == errno.ESRCH
    assert isinstance(e.value, irm.BindError)
    assert "only processes that use Ouroboros" in str(e.value)
    assert str(bystander.pid) in str(e.value)


@pytest.mark.embedded_only
def test_a_process_bound_just_before_it_uses_ouroboros_is_bound(spawn, name) -> None:
    # The tutorial's `server & o7s-irm bind process $!`: the server connects
    # to the runtime at its first call, shortly after the bind; the bind
    # waits for that (the IRMd waits 10 ms for its library's announcement).
    server = spawn("""
        import time
        from ouroboros import irm
        time.sleep(0.5)
        irm.list_names()
        print("connected", flush=True)
        time.sleep(30)
    """)
    irm.bind_process(server.pid, name)
    server.expect("connected")
    assert server.pid in bound_pids(name)


# Binds itself and never accepts (e.g. a client bound by mistake).
NEVER_ACCEPTS = """
import os, sys, time
from ouroboros import irm
irm.bind_process(os.getpid(), sys.argv[1])
print("bound", flush=True)
time.sleep(60)
"""


def test_an_allocation_nobody_accepts_ends_with_a_word(spawn, name, backend) -> None:
    idle = spawn(NEVER_ACCEPTS, name)
    idle.expect("bound")
    start = time.monotonic()
    with pytest.raises(OuroborosError) as e:
        flow_alloc(name)  # no timeout: the runtime gives up, as the IRMd does
    took = time.monotonic() - start
    if backend == "embedded":
        # The IRMd's limit for an allocation without a timeout, and a
        # message that names the process that never accepted.
        assert isinstance(e.value, FlowTimeoutException)
        assert 19 < took < 30
        assert "within 20 s" in str(e.value)
        assert f"never called flow_accept(): {idle.pid} (" in str(e.value)
    else:
        assert took < 25  # the IRMd waits 1 s for an accepting process


@pytest.mark.embedded_only
def test_a_timed_out_allocation_tells_which_bound_processes_are_busy(spawn, name) -> None:
    busy = spawn("""
        import os, sys, time
        from ouroboros import irm
        from ouroboros.dev import flow_accept
        irm.bind_process(os.getpid(), sys.argv[1])
        print("bound", flush=True)
        f = flow_accept()
        time.sleep(60)
    """, name)
    busy.expect("bound")
    first = flow_alloc(name, timeo=10)
    try:
        with pytest.raises(FlowTimeoutException) as e:
            flow_alloc(name, timeo=0.5)
        assert f"in time; bound and busy: {busy.pid} (" in str(e.value)
        assert "never called" not in str(e.value)
    finally:
        first.dealloc()


@pytest.mark.parametrize("shebang, missing", [
    ("#!/nonexistent/python9", "its #! interpreter /nonexistent/python9 does not exist"),
    ("#!/usr/bin/env o7s-python9",
     "its #! line asks env for o7s-python9, which is not in the runtime daemon's PATH"),
])
def test_auto_start_of_a_script_whose_interpreter_is_missing(tmp_path, name, backend,
                                                             shebang, missing) -> None:
    script = tmp_path / "oecho.py"
    script.write_text(shebang + "\nprint('never runs')\n")
    script.chmod(0o755)
    irm.bind_program(str(script), name, irm.BIND_AUTO)
    start = time.monotonic()
    try:
        with pytest.raises(OuroborosError) as e:
            flow_alloc(name, timeo=30)
    finally:
        irm.unbind_program(str(script), name)
    assert time.monotonic() - start < 20  # it did not wait for the timeout
    if backend == "embedded":
        message = str(e.value)
        assert missing in message
        assert message.count("python9") == 1
        assert message.count("No such file or directory") <= 1
