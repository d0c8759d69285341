"""The first process (pid 1) of a testbed node.

Started by :class:`~ouroboros.testbed.node.Node` inside new network, mount
and pid namespaces (``unshare``). It gives the node its own Ouroboros
directories (tmpfs on the IRMd's socket directory, ``/dev/shm`` and
``/tmp/ouroboros``) and its own ``/etc/hosts``, brings up the loopback
device, starts the node's IRMd, prints ``ready <irmd pid>`` and then obeys
commands on stdin, one per line:

- ``signal-irmd N``: sends signal N to the IRMd (answers ``ok``);
- ``restart-irmd``: ends the IRMd and every other process of the node,
  remounts the Ouroboros directories and starts a new IRMd (``ready <pid>``);
- ``stop GRACE`` or end of input: sends the IRMd SIGTERM, waits up to GRACE
  seconds for it, and exits. As pid 1 of the namespace its exit makes the
  kernel kill every process left in the node, after which the namespaces
  and everything mounted in them are gone.

It also reaps the orphans of the node, as a pid 1 must.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

from .rib import process_alive

_irmd: Optional[int] = None        # the IRMd's pid, while it runs
_irmd_status: Optional[int] = None  # its wait status once it ended


def _reap(_signum: int = 0, _frame: object = None) -> None:
    global _irmd, _irmd_status
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid == _irmd:
            _irmd, _irmd_status = None, status


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _socket_dir() -> str:
    # /var/run is a link to /run on most systems; mount where it points.
    return os.path.join(os.path.realpath("/var/run"), "ouroboros")


def _irmd_answers(path: str) -> bool:
    """True when an IRMd answers a list-IPCPs request on ``path`` (a
    request, not only a connection: the IPCPs of a dead IRMd keep its
    socket open)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(1.0)
    try:
        s.connect(path)
        s.send(b"\x08\x04")                    # irm_msg { code = IRM_LIST_IPCPS }
        return s.recv(65536)[:2] == b"\x08\x1b"  # IRM_REPLY
    except OSError:
        return False
    finally:
        s.close()


def _start_irmd(irmd: str, log: str, timeout: float) -> int:
    global _irmd, _irmd_status
    with open(log, "ab") as out:
        # Its own session: SIGHUP stops an IRMd.
        p = subprocess.Popen([irmd, "--stdout"], stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
    _irmd, _irmd_status = p.pid, None
    sock = os.path.join(_socket_dir(), "irm.sock")
    deadline = time.monotonic() + timeout
    while not _irmd_answers(sock):
        if _irmd is None:
            raise RuntimeError(f"the IRMd exited at start (status {_irmd_status}); see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the IRMd did not open {sock} within {timeout} s; see {log}")
        time.sleep(0.01)
    return p.pid


def _stop_irmd(grace: float) -> None:
    if _irmd is None:
        return
    try:
        os.kill(_irmd, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while _irmd is not None and time.monotonic() < deadline:
        time.sleep(0.02)
        _reap()


def _mount_directories() -> None:
    for d in (_socket_dir(), "/tmp/ouroboros"):
        os.makedirs(d, exist_ok=True)
    for d in (_socket_dir(), "/dev/shm", "/tmp/ouroboros"):
        _mount("-t", "tmpfs", "tmpfs", d)


def _setup(hosts: str) -> None:
    _mount_directories()
    _mount("--bind", hosts, "/etc/hosts")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)


def _reset() -> None:
    """Ends every other process of the node and gives it fresh Ouroboros
    directories (the FUSE mounts of killed processes go too)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            e.isdigit() and int(e) != os.getpid() and process_alive(int(e))
            for e in os.listdir("/proc")):
        time.sleep(0.02)
        _reap()
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    tops = (_socket_dir(), "/dev/shm", "/tmp/ouroboros")
    for point in reversed(points):  # the deepest first
        if any(point == t or point.startswith(t + "/") for t in tops):
            subprocess.run(["umount", "-l", point], capture_output=True)
    _mount_directories()


def _reply(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: Optional[List[str]] = None) -> None:
    """``main([irmd_path, hosts_file, irmd_log])``."""
    irmd, hosts, log = (sys.argv[1:] if argv is None else argv)[:3]
    signal.signal(signal.SIGCHLD, _reap)
    try:
        _setup(hosts)
        _reply(f"ready {_start_irmd(irmd, log, 10.0)}")
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or ""
        _reply(f"failed {e} {detail}".strip().replace("\n", " "))
        return
    grace = 3.0
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "signal-irmd":
            if _irmd is not None:
                try:
                    os.kill(_irmd, int(words[1]))
                except OSError as e:
                    if e.errno != errno.ESRCH:
                        raise
            _reply("ok")
        elif words[0] == "restart-irmd":
            try:
                _stop_irmd(grace)
                _reset()
                _reply(f"ready {_start_irmd(irmd, log, 10.0)}")
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                _reply(f"failed {e}".replace("\n", " "))
        elif words[0] == "stop":
            grace = float(words[1]) if len(words) > 1 else grace
            break
    _stop_irmd(grace)


if __name__ == "__main__":
    main()
