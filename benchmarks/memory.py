"""Memory per open flow: N flows held open, the processes measured before
and after.

What is measured, per flow (the deltas divided by N):
- rss: resident memory (VmRSS in /proc/PID/status) of the allocating and the
  accepting process, and of the embedded runtime's daemon;
- fds: open descriptors of both processes (ls /proc/PID/fd);
- kernel: the machine's Slab and Shmem (/proc/meminfo): socket buffers and
  structures, and the flows' shared pages. Machine-wide, so other activity
  adds noise; N is large to keep it small.
The floors hold N socketpairs (a flow's two ends) in one process.
"""

from __future__ import annotations

import os
from typing import Dict, List

from .impls import SETUP_TIMEOUT, Impl, Runner, pin_embedded_daemon, _daemon_pid
from .procs import BenchError, Placement, Proc


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def meminfo_kib(keys: List[str]) -> Dict[str, int]:
    found = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                found[k] = int(v.split()[0])
    return found


def snapshot(pids: Dict[str, int]) -> Dict[str, int]:
    snap = {f"rss_{role}_kib": rss_kib(pid) for role, pid in pids.items()}
    snap["fds"] = sum(fd_count(pid) for role, pid in pids.items() if role != "daemon")
    for k, v in meminfo_kib(["Slab", "Shmem"]).items():
        snap[f"{k.lower()}_kib"] = v
    return snap


def measure(runner: Runner, impl: Impl, flows: int, where: Placement) -> Dict[str, float]:
    """Per-flow deltas (KiB, fds) of holding `flows` flows open."""
    env = dict(os.environ, **impl.env)
    out = runner.work.result_file()

    def argv(*extra: str) -> List[str]:
        return [*impl.argv, "hold", "0", str(flows), out, *extra]

    procs: List[Proc] = []
    try:
        pids: Dict[str, int] = {}
        if impl.transport == "fd":
            holder = Proc(argv(), where.client, env, stdin=True)
            procs.append(holder)
            holder.expect("ready", SETUP_TIMEOUT)
            pids["client"] = holder.pid
            clients = [holder]
        elif impl.transport == "embedded":
            name = runner.name_for(impl)
            server = Proc(argv("--serve", name), where.server, env, stdin=True)
            procs.append(server)
            server.expect("ready", SETUP_TIMEOUT)
            pin_embedded_daemon(impl.env["OUROBOROS_RUNTIME_DIR"], where)
            client = Proc(argv("--alloc", name), where.client, env, stdin=True)
            procs.append(client)
            client.expect("ready", SETUP_TIMEOUT)
            pids.update(client=client.pid, server=server.pid)
            daemon = _daemon_pid(impl.env["OUROBOROS_RUNTIME_DIR"])
            if daemon is not None:
                pids["daemon"] = daemon
            clients = [client]
        else:
            raise BenchError(f"no memory measurement for {impl.label}")
        before = snapshot(pids)
        for c in clients:
            c.send_line("go")
        for p in procs:
            p.expect("held", 120)
        after = snapshot(pids)
        for p in procs:
            p.close_stdin()
        for p in procs:
            p.check(120)
    finally:
        for p in procs:
            p.kill()
    return {k: (after[k] - before[k]) / flows for k in before}
