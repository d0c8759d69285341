"""Looking into a node (these functions run there, in its IRM agent): an
IPCP's RIB, the FUSE file system it mounts at ``/tmp/ouroboros/<ipcp name>``,
and its processes.

Only the link-state database (``lsdb``) is read: listing the ``dt.<addr>``
directory of a unicast IPCP made ipcpd-unicast 0.23.0 exit here.
"""

from __future__ import annotations

import os
import time
from typing import List, Tuple

RIB_ROOT = "/tmp/ouroboros"


def lsdb(ipcp_name: str) -> Tuple[List[str], List[str], float]:
    """What the link-state database of the unicast IPCP ``ipcp_name``
    holds: its adjacencies (``"<src>--<dst>"``, one per direction), the
    addresses of its data-transfer neighbours (``".dt <addr>"`` entries),
    and the time (seconds since the epoch) of the newest adjacency update."""
    path = os.path.join(RIB_ROOT, ipcp_name, "lsdb")
    try:
        entries = os.listdir(path)
    except FileNotFoundError:  # not mounted (yet, or any more)
        return [], [], 0.0
    links = sorted(e for e in entries if "--" in e)
    neighbours = sorted(e.split()[1] for e in entries if e.startswith(".dt "))
    newest = max((os.stat(os.path.join(path, e)).st_mtime for e in links), default=0.0)
    return links, neighbours, newest


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` (of this pid namespace) runs: exists and is
    not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# accept(2) and accept4(2), by machine: an IPCP takes the IRMd's commands
# in a thread that waits in one of them.
_ACCEPT_SYSCALLS = {"x86_64": (43, 288), "aarch64": (202, 242)}


def ipcp_problem(pid: int, wait: float = 1.0) -> str:
    """What is wrong with the IPCP ``pid`` ("" when nothing is seen): it
    exited, or it stopped taking the IRMd's commands. ipcpd-unicast 0.23.0
    passes through its initial state while it bootstraps or enrolls, and
    its command thread (and its signal loop) end when they look at that
    moment; the IPCP then still moves data but ignores the IRMd, or exits
    at the next SIGPIPE. Checked for ``wait`` seconds: the command thread
    is briefly elsewhere while it queues a command."""
    machine = os.uname().machine
    deadline = time.monotonic() + wait
    while True:
        if not process_alive(pid):
            return "the IPCP exited"
        if machine not in _ACCEPT_SYSCALLS:
            return ""
        if any(_syscall(pid, tid) in _ACCEPT_SYSCALLS[machine]
               for tid in _tasks(pid)):
            return ""
        if time.monotonic() > deadline:
            return ("the IPCP stopped taking the IRMd's commands (no thread waits in "
                    "accept(2): an ipcpd 0.23.0 race at bootstrap or enrollment)")
        time.sleep(0.02)


def _tasks(pid: int) -> List[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def _syscall(pid: int, tid: str) -> int:
    try:
        with open(f"/proc/{pid}/task/{tid}/syscall") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return -1
