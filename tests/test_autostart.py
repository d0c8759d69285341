"""Auto-start: a flow allocated to a name bound to a program with
BIND_AUTO starts the program when no bound process accepts it."""

from __future__ import annotations

import errno
import os
import sys
import threading
import time

import pytest

from irm_testing import bindings_of, bound_pids, log_of, wait_until, write_script
from o7s_testing import process_alive
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import FlowException, FlowTimeoutException
from ouroboros.irm import BIND_AUTO

# These test auto-start by the embedded daemon.
pytestmark = pytest.mark.embedded_only


def _auto(path: str, name: str = "auto", argv: tuple = ()) -> None:
    irm.create_name(irm.NameInfo(name))
    irm.reg_name(name, irm.find_ipcp().pid)
    irm.bind_program(path, name, BIND_AUTO, list(argv))


def _ask(name: str = "auto", timeo: float = 20) -> str:
    with flow_alloc(name, timeo=timeo) as f:
        f.set_rcv_timeout(timeo)
        return f.read().decode()


def test_an_executable_script_starts_with_its_arguments(runtime, tmp_path) -> None:
    script = write_script(tmp_path, "greeter.py")
    _auto(script, argv=("1", "two words"))
    reply = _ask()
    name, pid, args = reply.split(" ", 2)
    assert (name, args) == ("greeter.py", "1 two words")
    log = log_of(runtime.dir, script)
    assert "--- starting " + script in log
    # It ran in "/", inherited no descriptor of the daemon, found this runtime.
    assert f"started {pid} / 1 two words" in log
    assert "fds 0 1 2 3\n" in log  # 3: the directory listing itself
    assert f"runtime {runtime.dir}" in log
    wait_until(lambda: "served" in log_of(runtime.dir, script), "the program finishes")


def test_a_plain_python_file_runs_with_the_binders_interpreter(runtime, tmp_path) -> None:
    script = write_script(tmp_path, "plain.py", executable=False)
    _auto(script)
    assert _ask().startswith("plain.py ")
    log = log_of(runtime.dir, script)
    assert f"--- starting {sys.executable} {script}" in log


def test_the_started_program_is_bound_while_it_runs(runtime, tmp_path) -> None:
    script = write_script(tmp_path, "twice.py")
    _auto(script, argv=("2",))  # it serves two flows, then exits
    pid = int(_ask().split()[1])
    assert [(p.pid, p.prog) for p in bindings_of("auto").processes] == [(pid, script)]
    assert int(_ask().split()[1]) == pid  # the running instance serves the next one
    wait_until(lambda: bound_pids("auto") == [], "the exited program's binding vanishes")
    assert int(_ask().split()[1]) != pid  # and the next flow starts a new one


def test_concurrent_allocations_share_a_starting_instance(runtime, tmp_path) -> None:
    script = write_script(tmp_path, "shared.py")
    _auto(script, argv=("3",))
    replies = []

    def ask() -> None:
        replies.append(_ask())

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(replies) == 3
    assert len({r.split()[1] for r in replies}) == 1
    assert log_of(runtime.dir, script).count("--- starting") == 1


def test_a_busy_instance_gets_company_after_the_grace_period(runtime, tmp_path) -> None:
    # The first instance holds its flow and accepts nothing more: the next
    # allocation waits about a second (autostart_grace), then a second
    # instance starts for it.
    holder = write_script(tmp_path, "holder.py", """
        import os, signal
        from ouroboros.dev import flow_accept
        f = flow_accept(timeo=30)
        f.write(b"%d" % os.getpid())
        signal.pause()  # busy with its flow until the daemon stops it
    """)
    _auto(holder)
    with flow_alloc("auto", timeo=20) as first:
        first.set_rcv_timeout(20)
        one = first.read()
        started = time.monotonic()
        with flow_alloc("auto", timeo=20) as second:
            second.set_rcv_timeout(20)
            two = second.read()
        assert time.monotonic() - started >= 0.9
    assert one != two
    assert log_of(runtime.dir, holder).count("--- starting") == 2


def test_a_program_that_exits_before_accepting_fails_the_allocation(runtime, tmp_path) -> None:
    crasher = write_script(tmp_path, "crasher.py", """
        import sys
        print("giving up", flush=True)
        sys.exit(3)
    """)
    _auto(crasher)
    started = time.monotonic()
    with pytest.raises(FlowException, match="exited with status 3 before accepting") as e:
        flow_alloc("auto", timeo=30)
    assert e.value.errno == errno.ECHILD
    assert time.monotonic() - started < 20  # it did not wait for the timeout
    assert "prog-crasher.py.log" in str(e.value)
    assert "giving up" in log_of(runtime.dir, crasher)


def test_a_program_that_never_accepts_times_out_with_a_hint(runtime, tmp_path) -> None:
    sleeper = write_script(tmp_path, "sleeper.py", "import signal\nsignal.pause()\n")
    _auto(sleeper)
    with pytest.raises(FlowTimeoutException, match="did not accept the flow in time"):
        flow_alloc("auto", timeo=1.5)


def test_a_missing_program_fails_the_allocation(runtime, tmp_path) -> None:
    script = write_script(tmp_path, "gone.py")
    _auto(script)
    os.unlink(script)
    with pytest.raises(FlowException, match="cannot start") as e:
        flow_alloc("auto", timeo=10)
    assert e.value.errno == errno.ENOENT


def test_without_auto_or_after_unbinding_nothing_starts(runtime, tmp_path) -> None:
    script = write_script(tmp_path, "lazy.py")
    _auto(script)
    irm.unbind_program(script, "auto")
    with pytest.raises(FlowException, match="no process is bound"):
        flow_alloc("auto", timeo=2)
    irm.bind_program(script, "auto")  # bound, but not to be started
    with pytest.raises(FlowException, match="no process is bound"):
        flow_alloc("auto", timeo=2)
    assert log_of(runtime.dir, script) == ""


def test_started_programs_stop_with_the_daemon(runtime, tmp_path) -> None:
    script = write_script(tmp_path, "lingerer.py", """
        import os, signal
        from ouroboros.dev import flow_accept
        with flow_accept(timeo=30) as f:
            f.write(b"%d" % os.getpid())
        signal.pause()  # until the daemon stops it
    """)
    _auto(script)
    with flow_alloc("auto", timeo=20) as f:
        f.set_rcv_timeout(20)
        pid = int(f.read())
    assert process_alive(pid)
    runtime.stop_daemon()
    wait_until(lambda: not process_alive(pid), "the started program is stopped")
