"""Memory per open flow: N flows held open, the processes measured before
and after.

What is measured, per flow (the deltas divided by N):
- anon_kib: private resident memory (RssAnon in /proc/PID/status) of the
  allocating and accepting processes and the embedded runtime's daemon;
- rss_shmem_kib: shared memory they have mapped (RssShmem: each process
  that maps a flow's shared page counts it);
- fds: open descriptors of the two processes (ls /proc/PID/fd);
- slab_kib, shmem_kib: the machine's Slab and Shmem (/proc/meminfo), i.e.
  the kernel's socket structures and buffers, and the shared pages counted
  once. Machine-wide, so other activity adds noise; N is large to keep it
  small.
The floors hold N socketpairs (a flow's two ends) in one process.
"""

from __future__ import annotations

import os
from typing import Dict, List

from .impls import SETUP_TIMEOUT, Impl, Runner, pin_embedded_daemon, _daemon_pid
from .procs import BenchError, Placement, Proc


def status_kib(pid: int, keys: List[str]) -> Dict[str, int]:
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                found[k] = int(v.split()[0])
    return found


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
    snap = {"anon_kib": 0, "rss_shmem_kib": 0, "fds": 0}
    for role, pid in pids.items():
        st = status_kib(pid, ["RssAnon", "RssShmem"])
        snap["anon_kib"] += st.get("RssAnon", 0)
        snap["rss_shmem_kib"] += st.get("RssShmem", 0)
        if role != "daemon":
            snap["fds"] += fd_count(pid)
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
