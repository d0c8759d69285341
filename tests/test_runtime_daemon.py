"""The runtime daemon's life: its status and stop (o7s-irm runtime, and
ouroboros.runtime), and its exit when idle, with the state kept."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from irm_testing import o7s_irm, write_script
from o7s_testing import PROTOCOL_VERSION, daemons_of, process_alive, wait_until
import ouroboros.runtime as runtime_daemon
from ouroboros import __version__, irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import OuroborosError, RuntimeUnavailable
from ouroboros.irm import BIND_AUTO

# These test the embedded runtime daemon itself.
pytestmark = pytest.mark.embedded_only

# Serves one flow: echoes until the peer deallocates, then prints "served".
SERVER = """
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve("status-svc")
print("ready", flush=True)
with flow_accept(timeo=30) as f:
    f.set_rcv_timeout(30)
    try:
        while True:
            f.write(f.read())
    except ConnectionError:
        pass
print("served", flush=True)
"""

# Holds a flow to the server open until told to go on.
CLIENT = """
import sys
from ouroboros.dev import flow_alloc
with flow_alloc("status-svc", timeo=10) as f:
    f.set_rcv_timeout(10)
    f.write(b"hi")
    assert f.read() == b"hi"
    print("holding", flush=True)
    sys.stdin.readline()
print("closed", flush=True)
"""


def field(out: str, label: str) -> str:
    [line] = [ln for ln in out.splitlines() if ln.startswith(label + ":")]
    return line.split(":", 1)[1].strip()


def test_status_says_none_runs_and_starts_none(runtime) -> None:
    st = runtime_daemon.status()
    assert (st.running, st.pid, st.runtime_dir) == (False, 0, runtime.dir)
    status, out, _ = o7s_irm("runtime", "status")
    assert status == 3
    assert field(out, "runtime directory") == runtime.dir
    assert field(out, "daemon").startswith("not running")
    assert runtime_daemon.stop() is False
    assert "no runtime daemon runs in " + runtime.dir in o7s_irm("runtime", "stop")[1]
    assert daemons_of(runtime.dir) == []


def test_status_counts_what_other_processes_use(spawn, runtime) -> None:
    server = spawn(SERVER)
    server.expect("ready")
    client = spawn(CLIENT)
    client.expect("holding")
    status, out, err = o7s_irm("runtime", "status")
    assert status == 0, err
    pid = runtime.daemon_pid()
    assert pid is not None
    assert field(out, "daemon").startswith(
        f"running, pid {pid}, pyOuroboros {__version__}, protocol {PROTOCOL_VERSION}, up ")
    # The two children are connected (the tool's own connection does not
    # count), the server is bound to the one name, the client's flow is open.
    assert field(out, "serves") == "2 processes, 1 IPCP, 1 name, 1 flow"
    assert field(out, "bindings") == "1 bound process, 0 bound programs"
    assert field(out, "activity") == "0 pending flow requests, 0 broadcast members, " \
                                     "0 started programs"

    st = runtime_daemon.status()
    assert (st.running, st.pid, st.protocol, st.version) == (True, pid, PROTOCOL_VERSION,
                                                              __version__)
    assert st.runtime_dir == runtime.dir and st.problem == ""
    assert st.processes == 2 and st.names == 1 and st.flows == 1 and st.uptime >= 0
    assert st.bound_processes == 1 and st.idle_exit == 600.0  # the default

    client.send("go")
    client.expect("closed")
    server.expect("served")
    wait_until(lambda: runtime_daemon.status().flows == 0, "the closed flow is no longer counted")


def test_stop_from_the_tool_stops_started_programs_and_keeps_the_state(runtime,
                                                                        tmp_path) -> None:
    holder = write_script(tmp_path, "holder.py", """
        import os
        from ouroboros.dev import flow_accept
        f = flow_accept(timeo=30)
        f.write(b"%d" % os.getpid())
        f.read()  # until the daemon's SIGTERM ends it
    """)
    irm.create_name(irm.NameInfo("kept"))
    irm.reg_name("kept", irm.find_ipcp().pid)
    irm.bind_program(holder, "kept", BIND_AUTO, [])
    with flow_alloc("kept", timeo=20) as f:
        f.set_rcv_timeout(20)
        child = int(f.read())
        assert runtime_daemon.status().children == 1
        daemon = runtime.daemon_pid()
        status, out, err = o7s_irm("runtime", "stop")
        assert status == 0, err
        assert out.strip() == f"stopped the runtime daemon (pid {daemon}) of {runtime.dir}"
        assert daemon is not None and not process_alive(daemon)  # stop waits for the exit
        wait_until(lambda: not process_alive(child), "the started program gets SIGTERM")
    assert runtime_daemon.status().running is False
    # The next use starts a daemon that has the name and its program.
    [kept] = [n for n in irm.list_bindings() if n.name == "kept"]
    assert [p.prog for p in kept.programs] == [holder]
    assert runtime.daemon_pid() not in (None, daemon)


def test_stop_from_python(runtime) -> None:
    irm.create_name(irm.NameInfo("py-stop"))
    pid = runtime.daemon_pid()
    assert runtime_daemon.stop() is True
    assert pid is not None and not process_alive(pid)
    assert runtime_daemon.stop() is False
    assert "py-stop" in {n.name for n in irm.list_names()}
    with pytest.raises(ValueError, match="seconds"):
        runtime_daemon.stop(-1)


def test_status_of_a_daemon_of_another_protocol_says_what_to_do(runtime) -> None:
    # A stand-in for an old daemon: it answers every record in version 1.
    code = f"""
import os, socket, struct, sys
path = {str(Path(runtime.dir, "irmd.sock"))!r}
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(8)
open({str(Path(runtime.dir, "irmd.pid"))!r}, "w").write("%d\\n" % os.getpid())
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.send(struct.pack("<HHHHI", 0x4F37, 1, 1, 0, 0))
    c.close()
"""
    os.makedirs(runtime.dir, exist_ok=True)
    old = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert old.stdout is not None and old.stdout.readline().strip() == "ready"
        st = runtime_daemon.status()
        assert st.running and st.pid == old.pid
        assert "another version of pyOuroboros" in st.problem
        status, out, _ = o7s_irm("runtime", "status")
        assert status == 0 and "another version of pyOuroboros" in field(out, "daemon")
        # It is no o7s-irmd, so stop will not signal it.
        with pytest.raises(OuroborosError, match="names no o7s-irmd"):
            runtime_daemon.stop()
        assert old.poll() is None
    finally:
        old.kill()
        old.wait(timeout=10)
        if old.stdout is not None:
            old.stdout.close()


# --- idle exit ----------------------------------------------------------------

SETUP = """
import sys
from ouroboros import irm
from ouroboros.irm import BIND_AUTO
irm.create_name(irm.NameInfo("idle-kept"))
irm.reg_name("idle-kept", irm.find_ipcp().pid)
irm.bind_program(sys.argv[1], "idle-kept", BIND_AUTO, ["x"])
print("set", flush=True)
"""


def test_an_idle_daemon_exits_and_the_next_use_finds_everything(spawn, runtime, monkeypatch,
                                                                tmp_path) -> None:
    monkeypatch.setenv("OUROBOROS_IDLE_EXIT", "0.5")
    program = write_script(tmp_path, "idle_server.py")
    setup = spawn(SETUP, program)
    setup.expect("set")
    first = runtime.daemon_pid()
    assert first is not None
    assert setup.finish()[0] == 0
    # The setup process is gone, and nothing else uses the daemon.
    wait_until(lambda: not process_alive(first), "the idle daemon exits")
    assert "exiting (the state is saved" in runtime.log()
    assert not Path(runtime.dir, "irmd.sock").exists()
    assert runtime_daemon.status().running is False
    # The next use starts a daemon with the name, its layer and its program.
    [kept] = [n for n in irm.list_bindings() if n.name == "idle-kept"]
    assert [(p.prog, p.argv, p.auto) for p in kept.programs] == [(program, ["x"], True)]
    assert kept.ipcps == [irm.find_ipcp().pid]
    assert runtime.daemon_pid() not in (None, first)


# Processes come and go while the daemon exits whenever it is idle for a
# millisecond: each makes one IRM call on a connection of its own (a forked
# child drops its parent's connections). None may see the daemon go.
COMERS = """
import os, sys
from ouroboros import irm
bad = 0
for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        try:
            irm.list_ipcps()
            os._exit(0)
        except Exception as e:
            print("failed:", e, flush=True)
            os._exit(1)
    bad += os.waitpid(pid, 0)[1] != 0
print("failures", bad, flush=True)
"""


def test_no_call_is_lost_to_a_daemon_that_exits_when_idle(spawn, runtime, monkeypatch) -> None:
    monkeypatch.setenv("OUROBOROS_IDLE_EXIT", "0.001")
    procs = [spawn(COMERS, "40") for _ in range(3)]
    for p in procs:
        status, out, err = p.finish(timeout=120)
        assert status == 0, err
        assert out.splitlines()[-1] == "failures 0", out
    assert runtime.log().count("exiting (the state is saved") >= 1


def test_idle_exit_zero_means_a_long_lived_daemon(runtime, monkeypatch) -> None:
    monkeypatch.setenv("OUROBOROS_IDLE_EXIT", "0")
    irm.list_ipcps()
    assert runtime_daemon.status().idle_exit == 0
    status, out, _ = o7s_irm("runtime", "status")
    assert field(out, "idle exit").startswith("never")


def test_a_bad_idle_exit_setting_is_named(runtime, monkeypatch) -> None:
    monkeypatch.setenv("OUROBOROS_IDLE_EXIT", "soon")
    with pytest.raises(RuntimeUnavailable, match="OUROBOROS_IDLE_EXIT must be a number of "
                                                 "seconds .* not 'soon'"):
        irm.list_ipcps()
    assert daemons_of(runtime.dir) == []


def test_the_daemon_refuses_a_bad_idle_exit_option(runtime) -> None:
    irmd = Path(irm.__file__).parent / "bin" / "o7s-irmd"
    done = subprocess.run([str(irmd), "--runtime-dir", runtime.dir, "--idle-exit", "-1"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--idle-exit wants seconds >= 0, not '-1'" in done.stderr


def test_a_daemon_stopped_by_signal_also_keeps_the_state(runtime) -> None:
    irm.create_name(irm.NameInfo("sig-kept"))
    pid = runtime.daemon_pid()
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not process_alive(pid), "the daemon stops")
    assert "sig-kept" in {n.name for n in irm.list_names()}


# --- upgrades: a daemon of another protocol version ---------------------------

# Stands in for a daemon of an older pyOuroboros: named o7s-irmd, holding the
# pid file's lock, it answers every record in protocol version 1 and keeps
# each connection until its peer closes it.
OLD_DAEMON = """
import ctypes, fcntl, os, socket, struct, sys, threading
ctypes.CDLL(None).prctl(15, b"o7s-irmd", 0, 0, 0)  # PR_SET_NAME
pid_file = open(os.path.join(sys.argv[1], "irmd.pid"), "w")
fcntl.flock(pid_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
pid_file.write("%d\\n" % os.getpid())
pid_file.flush()
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(os.path.join(sys.argv[1], "irmd.sock"))
s.listen(8)

def serve(c):
    while c.recv(65536):
        c.send(struct.pack("<HHHHI", 0x4F37, 1, 2, 0, 0))
    c.close()

print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def _start_old_daemon(runtime) -> subprocess.Popen:
    old = subprocess.Popen([sys.executable, "-c", OLD_DAEMON, runtime.dir],
                           stdout=subprocess.PIPE, text=True)
    assert old.stdout is not None and old.stdout.readline().strip() == "ready"
    old.stdout.close()
    return old


def test_an_unused_daemon_of_another_version_is_replaced_and_its_state_kept(runtime) -> None:
    irm.create_name(irm.NameInfo("upgrade-kept"))
    irm.reg_name("upgrade-kept", irm.find_ipcp().pid)
    assert runtime_daemon.stop() is True  # its state stays in irmd.state
    old = _start_old_daemon(runtime)
    try:
        # The first IRM call meets the old daemon, which nothing uses: it is
        # stopped, and this version's daemon takes over the saved state.
        assert "upgrade-kept" in {n.name for n in irm.list_names()}
        assert old.wait(timeout=10) == -signal.SIGTERM
        new = runtime.daemon_pid()
        assert new not in (None, old.pid) and process_alive(new)
        [kept] = [n for n in irm.list_bindings() if n.name == "upgrade-kept"]
        assert kept.ipcps == [irm.find_ipcp().pid]
    finally:
        old.kill()
        old.wait(timeout=10)


def test_a_used_daemon_of_another_version_is_left_and_the_error_says_what_to_do(
        runtime) -> None:
    old = _start_old_daemon(runtime)
    try:
        # A process of the old version is connected to it.
        user = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        user.connect(os.path.join(runtime.dir, "irmd.sock"))
        with user, pytest.raises(RuntimeUnavailable) as e:
            irm.list_names()
        text = str(e.value)
        assert f"(pid {old.pid}) belongs to another version of pyOuroboros" in text
        assert "stop it with `o7s-irm runtime stop`" in text
        assert "it was left running: 1 connection to it is open" in text
        assert old.poll() is None
        # What the message says to do works: the tool signals it.
        status, out, err = o7s_irm("runtime", "stop")
        assert status == 0, err
        assert old.wait(timeout=10) == -signal.SIGTERM
        assert irm.list_names() == []
    finally:
        old.kill()
        old.wait(timeout=10)
