"""The embedded daemon against hostile clients and crashes (issue 13):
passed descriptors, descriptor exhaustion, bad names, huge timeouts, its
log, its state file across kill -9, and the default runtime directory."""

from __future__ import annotations

import array
import os
import random
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import List, Optional

import pytest

import ouroboros
from o7s_testing import (ECHO_SERVER, PROTOCOL_VERSION, InThread, daemons_of, process_alive,
                         wait_idle, wait_until)
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import OuroborosError, RuntimeUnavailable
from ouroboros.irm import IpcpConfig, IpcpType

# These test the embedded daemon itself.
pytestmark = pytest.mark.embedded_only

OK, ERROR, FLOW_GRANTED = 1, 2, 3
FLOW_ACCEPT, IPCP_CREATE, NAME_CREATE, NAME_LIST, BIND_PROCESS = 11, 20, 30, 32, 42
EINVAL = 22
IRMD = Path(ouroboros.__file__).resolve().parent / "bin" / "o7s-irmd"


def _record(msg_type: int, body: bytes = b"") -> bytes:
    return struct.pack("<HHHHI", 0x4F37, PROTOCOL_VERSION, msg_type, 0, len(body)) + body


def _s(data: bytes) -> bytes:
    return struct.pack("<H", len(data)) + data


def _name_create(name: bytes) -> bytes:
    return _record(NAME_CREATE, _s(name) + struct.pack("<i", 0) + _s(b"") * 6)


def _connect(runtime, timeout: float = 5.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    s.connect(os.path.join(runtime.dir, "irmd.sock"))
    return s


def _reply_type(s: socket.socket, record: bytes) -> int:
    s.send(record)
    return struct.unpack_from("<HHH", s.recv(65536))[2]


def _error_of(reply: bytes) -> int:
    msg_type, errno_ = struct.unpack_from("<HHHHIi", reply)[2:6:3]
    assert msg_type == ERROR, reply
    return errno_


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _daemon(runtime) -> int:
    irm.list_ipcps()  # starts it
    pid = runtime.daemon_pid()
    assert pid is not None
    return pid


# --- 1: descriptors that come with a record ----------------------------------

def test_descriptors_passed_with_any_record_are_closed(runtime) -> None:
    pid = _daemon(runtime)
    before = _open_fds(pid)
    r, w = os.pipe()
    fds = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r, w, r, w]))]
    try:
        for _ in range(100):  # zero-length records: the daemon hangs up
            with _connect(runtime) as s:
                s.sendmsg([b""], fds)
                assert s.recv(100) == b""
        with _connect(runtime) as s:  # a valid request, which takes none
            s.sendmsg([_record(NAME_LIST)], fds)
            assert struct.unpack_from("<HHH", s.recv(65536))[2] == OK
        with _connect(runtime) as s:  # a malformed one
            s.sendmsg([b"\x01\x02\x03"], fds)
            s.recv(65536)
    finally:
        os.close(r)
        os.close(w)
    wait_until(lambda: _open_fds(pid) == before,
               f"the daemon is back to {before} descriptors (has {_open_fds(pid)})")
    assert daemons_of(runtime.dir) == [pid]


# --- 2: out of descriptors ---------------------------------------------------

# Each call, against a daemon that accepts no connection, must end by its
# own limit (flow_alloc's timeo, and 5 s for a daemon that does not answer)
# or the IRM's (10 s); the limits here only catch a hang.
_CLIENT_CALLS = """
import time
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import RuntimeUnavailable
for what, call, limit in [("flow_alloc", lambda: flow_alloc("nobody", timeo=1), 8.0),
                          ("list_names", irm.list_names, 12.0)]:
    start = time.monotonic()
    try:
        call()
        print(what, "returned")
    except Exception as e:
        took = time.monotonic() - start
        said = "did not take the connection in time" in str(e)
        kind = "RuntimeUnavailable" if isinstance(e, RuntimeUnavailable) else type(e).__name__
        print(f"{what}: {kind}: " + (
            "did not take the connection in time" if said else str(e)) +
            ("" if took < limit else f" (after {took:.1f} s)"))
"""


def test_a_daemon_out_of_descriptors_idles_serves_and_clients_time_out(runtime) -> None:
    pid = _daemon(runtime)
    kept = _connect(runtime)
    assert _reply_type(kept, _record(NAME_LIST)) == OK
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    flood: List[socket.socket] = []
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (_open_fds(pid), hard))
        # Connections the daemon cannot accept, until its queue is full.
        for _ in range(2000):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.setblocking(False)
            flood.append(s)
            try:
                s.connect(os.path.join(runtime.dir, "irmd.sock"))
            except BlockingIOError:
                break
        else:
            pytest.fail("the daemon's queue of connections never filled")
        wait_idle(pid)  # it does not spin on the listener
        assert _reply_type(kept, _record(NAME_LIST)) == OK  # and serves what it has

        # A process of its own, with no connection to the daemon yet.
        done = subprocess.run([sys.executable, "-c", _CLIENT_CALLS], capture_output=True,
                              text=True, timeout=60)
        assert done.stdout.splitlines() == [
            "flow_alloc: RuntimeUnavailable: did not take the connection in time",
            "list_names: RuntimeUnavailable: did not take the connection in time",
        ], done.stdout + done.stderr
        assert "cannot accept connections: Too many open files" in runtime.log()
    finally:
        for s in flood:
            s.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        kept.close()

    def serves() -> bool:
        try:
            irm.list_ipcps()
            return True
        except RuntimeUnavailable:
            return False

    wait_until(serves, "the daemon serves again once descriptors are free")
    assert daemons_of(runtime.dir) == [pid]


# --- 3: names ----------------------------------------------------------------

@pytest.mark.parametrize("record", [
    _name_create(b"bad\xffname"),
    _name_create(b"\xed\xa0\x80"),          # a UTF-16 surrogate
    _name_create(b"\xc0\xaf"),              # an overlong '/'
    _name_create(b"n" * 256),
    _name_create(b"nul\x00inside"),
    _record(IPCP_CREATE, _s(b"ipcp\xfe") + struct.pack("<i", 0)),
    _record(BIND_PROCESS, struct.pack("<i", os.getpid()) + _s(b"\xff")),
], ids=["invalid", "surrogate", "overlong", "too-long", "nul", "ipcp", "bind"])
def test_the_daemon_refuses_names_real_ouroboros_could_not_hold(runtime, record: bytes) -> None:
    _daemon(runtime)
    with _connect(runtime) as s:
        s.send(record)
        assert _error_of(s.recv(65536)) in (EINVAL, 36)  # ENAMETOOLONG
    assert irm.list_names() == []
    assert [i.name for i in irm.list_ipcps()] == ["local"]
    irm.list_bindings()


def test_the_longest_name_is_kept() -> None:
    irm.create_name(irm.NameInfo("n" * 255))
    assert [n.name for n in irm.list_names()] == ["n" * 255]


# --- 5: timeouts that do not fit --------------------------------------------

def test_an_accept_without_practical_limit_waits_for_its_flow(runtime) -> None:
    irm.serve("forever")  # this process is bound
    with _connect(runtime, timeout=10) as s:
        s.send(_record(FLOW_ACCEPT, struct.pack("<q", 2**63 - 1)))
        # now + 2**63-1 ns overflowed into the past: ETIMEDOUT at once.
        alloc = InThread(lambda: flow_alloc("forever", timeo=2).dealloc())
        assert struct.unpack_from("<HHH", s.recv(65536))[2] == FLOW_GRANTED
    alloc.result("the allocation ends")


# --- 11: the log -------------------------------------------------------------

def test_the_log_is_capped_and_repeated_lines_are_limited(runtime) -> None:
    daemon = subprocess.Popen([str(IRMD), "--runtime-dir", runtime.dir, "--log-size", "1500"],
                              stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: os.path.exists(os.path.join(runtime.dir, "irmd.sock")),
                   "the daemon listens")
        for _ in range(1000):  # malformed records (the daemon hangs up on each)
            with _connect(runtime) as s:
                s.send(b"\x01\x02\x03\x04")
                s.recv(65536)
        for _ in range(200):  # lines of another kind: the log fills and rotates
            with _connect(runtime) as s:
                s.sendmsg([b""])
                s.recv(100)  # the daemon hangs up
        with _connect(runtime) as s:
            assert _reply_type(s, _record(NAME_LIST)) == OK
    finally:
        daemon.terminate()
        daemon.wait(10)
    log = Path(runtime.dir, "irmd.log")
    old = Path(runtime.dir, "irmd.log.1")
    assert old.exists()
    assert old.stat().st_size <= 1500 and log.stat().st_size <= 1500
    text = old.read_text() + log.read_text()
    assert 0 < text.count("malformed record") <= 20  # the rest counted, not written


# --- 7: the state file -------------------------------------------------------

def _kill_daemon(runtime) -> None:
    pid = runtime.daemon_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not process_alive(pid), "the daemon is dead")


def test_irm_state_survives_a_daemon_kill(runtime) -> None:
    pid = irm.create_ipcp("kept-ipcp", IpcpType.BROADCAST)
    irm.bootstrap_ipcp(pid, IpcpConfig(IpcpType.BROADCAST, "kept-layer"))
    irm.create_name(irm.NameInfo("kept-name"))
    irm.reg_name("kept-name", irm.find_ipcp("local").pid)
    program = shutil.which("true")
    assert program
    irm.bind_program(program, "kept-name")
    ipcps, names, bindings = irm.list_ipcps(), irm.list_names(), irm.list_bindings()
    _kill_daemon(runtime)
    assert irm.list_ipcps() == ipcps  # a new daemon, with the old state
    assert irm.list_names() == names
    assert repr(irm.list_bindings()) == repr(bindings)
    assert "restored the state" in runtime.log()


def test_a_server_keeps_serving_across_a_daemon_kill(runtime, spawn) -> None:
    server = spawn(ECHO_SERVER, "survivor")
    server.expect("ready")
    wait_idle(server.pid)  # its accept is with the daemon
    for _ in range(3):
        _kill_daemon(runtime)
        with flow_alloc("survivor", timeo=10) as f:
            f.write(b"still here")
            assert f.read() == b"still here"
        wait_idle(server.pid)
    assert process_alive(server.pid)


def test_an_unusable_state_file_is_set_aside(runtime) -> None:
    Path(runtime.dir, "irmd.state").write_bytes(b"O7SSTATE" + b"\0" * 100)
    assert [i.name for i in irm.list_ipcps()] == ["local"]
    assert Path(runtime.dir, "irmd.state.unusable").exists()
    assert "is unusable" in runtime.log()
    irm.create_name(irm.NameInfo("after"))
    assert [n.name for n in irm.list_names()] == ["after"]


def _kills(runtime, rounds: int, seed: int) -> None:
    """Kills the daemon at random moments while this process changes names
    as fast as it can: every change acknowledged is there afterwards, and
    every state file left behind loads."""
    rnd = random.Random(seed)
    mid_write = 0  # kills that left a state file half written
    acked: List[str] = []
    stop = threading.Event()

    def changes() -> None:
        i = 0
        while not stop.is_set():
            name = f"n{i}"
            i += 1
            try:
                irm.create_name(irm.NameInfo(name))
            except OuroborosError:
                continue  # the daemon died: the change may or may not be there
            acked.append(name)

    worker = threading.Thread(target=changes)
    worker.start()
    try:
        for _ in range(rounds):
            wait_until(lambda: runtime.daemon_pid() is not None and process_alive(
                runtime.daemon_pid() or 0), "a daemon runs")
            pid = runtime.daemon_pid() or 0
            # The new daemon does work before it dies (on a loaded machine
            # it may take a while to acknowledge anything).
            before = len(acked)
            wait_until(lambda: len(acked) > before, "the daemon acknowledges a change")
            stop.wait(rnd.uniform(0.0, 0.03))  # a random moment of its work
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not process_alive(pid), "the daemon is dead")
            mid_write += os.path.exists(os.path.join(runtime.dir, "irmd.state.tmp"))
    finally:
        stop.set()
        worker.join(30)
    names = {n.name for n in irm.list_names()}
    missing = [n for n in acked if n not in names]
    assert not missing, f"acknowledged but lost: {missing[:10]}"
    assert "is unusable" not in runtime.log()
    assert len(acked) >= rounds
    print(f"kills: {rounds}, {mid_write} of them mid-write; {len(acked)} changes acknowledged, "
          f"{len(names)} kept")


def test_kills_at_random_moments_lose_no_acknowledged_change(runtime, request) -> None:
    _kills(runtime, rounds=request.config.getoption("--kill-rounds"), seed=13)


# --- 10: the default runtime directory --------------------------------------

_DEFAULT_DIR = """
import os, sys
from ouroboros import irm
from ouroboros.errors import RuntimeUnavailable
try:
    irm.list_ipcps()
    print("ok")
except RuntimeUnavailable as e:
    print("RuntimeUnavailable", e)
"""


def _env_without_runtime_dir(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OUROBOROS_RUNTIME_DIR", "XDG_RUNTIME_DIR")}
    env.update(extra)
    return env


def test_a_squatted_tmp_runtime_dir_says_so_and_how_to_fix_it(tmp_path) -> None:
    if os.path.isdir(f"/run/user/{os.getuid()}"):
        pytest.skip("/run/user/<uid> exists here, so /tmp is not the default")
    squatted = tmp_path / f"ouroboros-embedded-{os.getuid()}"
    squatted.mkdir(mode=0o700)
    os.chown(squatted, 65534, 65534) if os.getuid() == 0 else None
    if os.stat(squatted).st_uid == os.getuid():
        pytest.skip("cannot make a directory of another user here")
    done = subprocess.run([sys.executable, "-c", _DEFAULT_DIR], capture_output=True, text=True,
                          timeout=60, env=_env_without_runtime_dir(TMPDIR=str(tmp_path)))
    out = done.stdout
    assert "RuntimeUnavailable" in out, out + done.stderr
    assert f"'{squatted}' belongs to another user (uid 65534)" in out
    assert "OUROBOROS_RUNTIME_DIR" in out


_RUN_USER = """
import os, subprocess, sys
uid = os.getuid()
subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/run/user"], check=True)
os.mkdir(f"/run/user/{uid}", 0o700)
from ouroboros import irm
irm.list_ipcps()
d = f"/run/user/{uid}/ouroboros-embedded"
print("socket" if os.path.exists(d + "/irmd.sock") else "no socket")
pid = int(open(d + "/irmd.pid").read())
os.kill(pid, 15)
"""


def test_run_user_is_preferred_to_tmp(tmp_path) -> None:
    if os.getuid() != 0 or shutil.which("unshare") is None or not os.path.isdir("/run/user"):
        pytest.skip("needs root and unshare(1) for a private /run/user")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                           "-c", _RUN_USER], capture_output=True, text=True, timeout=60,
                          env=_env_without_runtime_dir(TMPDIR=str(tmp_path)))
    assert done.stdout.strip() == "socket", done.stdout + done.stderr
    assert not (tmp_path / f"ouroboros-embedded-{os.getuid()}").exists()


# --- the daemon across many cycles ------------------------------------------

def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_the_daemon_stays_flat_over_thousands_of_flows_and_irm_changes(runtime, spawn) -> None:
    server = spawn(ECHO_SERVER, "cycles")
    server.expect("ready")

    def cycle(i: int) -> None:
        with flow_alloc("cycles", timeo=10) as f:
            f.write(b"x")
            assert f.read() == b"x"
        irm.create_name(irm.NameInfo(f"c{i}"))
        irm.destroy_name(f"c{i}")

    for i in range(100):  # warm up: pools, allocator arenas
        cycle(i)
    pid = runtime.daemon_pid()
    assert pid is not None
    wait_idle(server.pid)
    fds, rss = _open_fds(pid), _rss_kib(pid)
    for i in range(1000):
        cycle(i)
    wait_idle(server.pid)
    wait_until(lambda: _open_fds(pid) <= fds, f"the daemon is back to {fds} descriptors")
    assert _rss_kib(pid) - rss < 2048, f"the daemon grew from {rss} to {_rss_kib(pid)} KiB"
    print(f"cycles: 1000; daemon descriptors {fds} -> {_open_fds(pid)}, "
          f"RSS {rss} -> {_rss_kib(pid)} KiB")
    assert daemons_of(runtime.dir) == [pid]
