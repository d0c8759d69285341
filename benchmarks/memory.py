"""Memory per open flow: N flows held open, the processes measured before,
once they are open (idle), and after some traffic on each.

What is measured, per flow (the deltas divided by N):
- anon_kib: private resident memory (RssAnon in /proc/PID/status) of the
  allocating and accepting processes and the embedded runtime's daemon;
- rss_shmem_kib: shared memory they have mapped (RssShmem: each process
  that maps a flow's shared memory counts the pages it touched);
- fds: open descriptors of the two processes (ls /proc/PID/fd);
- slab_kib, shmem_kib: the machine's Slab and Shmem (/proc/meminfo), i.e.
  the kernel's socket structures and buffers, and the shared pages counted
  once. Machine-wide, so other activity adds noise; N is large to keep it
  small;
- memfd_kib: the size of the memfds the processes map or hold (each
  counted once, by inode): a flow's page plus its rings, what the flow has
  committed, of which only touched pages take memory;
- traffic_*_kib: what HOLD_TRAFFIC_SDUS SDUs of HOLD_TRAFFIC_SIZE bytes from
  the allocating end to the accepting end of each flow add to the idle
  figures (pages of the rings the SDUs passed through, socket buffers):
  the "after traffic vs idle" deltas of RssShmem, Shmem, RssAnon and Slab.
The floors hold N channels (a flow's two ends) in one process; floor-shm's
are a socketpair, a memfd with two rings mapped once per end (its page
written, as the daemon writes a flow's), two eventfds. The embedded rows
get a daemon of their own for each measurement (Runner.fresh).
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

from .impls import SETUP_TIMEOUT, Impl, Runner, pin_embedded_daemon, _daemon_pid
from .procs import BenchError, Placement, Proc
from .worker import HOLD_TRAFFIC_SDUS, HOLD_TRAFFIC_SIZE

TRAFFIC = {"sdus": HOLD_TRAFFIC_SDUS, "size": HOLD_TRAFFIC_SIZE}


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


def memfds(pid: int, sizes: Dict[Tuple[int, int], int]) -> None:
    """Adds the memfds `pid` holds (stat of /proc/PID/fd/N) or maps (the
    end of its mappings in /proc/PID/maps) to sizes, by (device, inode)."""
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            if not os.readlink(f"{fd_dir}/{fd}").startswith("/memfd:"):
                continue
            st = os.stat(f"{fd_dir}/{fd}")
        except OSError:  # closed meanwhile
            continue
        key = (st.st_dev, st.st_ino)
        sizes[key] = max(sizes.get(key, 0), st.st_size)
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            cells = line.split(None, 5)
            if len(cells) < 6 or not cells[5].startswith("/memfd:"):
                continue
            start, end = (int(x, 16) for x in cells[0].split("-"))
            major, minor = (int(x, 16) for x in cells[3].split(":"))
            key = (os.makedev(major, minor), int(cells[4]))
            sizes[key] = max(sizes.get(key, 0), int(cells[2], 16) + end - start)


def snapshot(pids: Dict[str, int]) -> Dict[str, int]:
    snap = {"anon_kib": 0, "rss_shmem_kib": 0, "fds": 0}
    sizes: Dict[Tuple[int, int], int] = {}
    for role, pid in pids.items():
        st = status_kib(pid, ["RssAnon", "RssShmem"])
        snap["anon_kib"] += st.get("RssAnon", 0)
        snap["rss_shmem_kib"] += st.get("RssShmem", 0)
        if role != "daemon":
            snap["fds"] += fd_count(pid)
        memfds(pid, sizes)
    snap["memfd_kib"] = sum(sizes.values()) // 1024
    for k, v in meminfo_kib(["Slab", "Shmem"]).items():
        snap[f"{k.lower()}_kib"] = v
    return snap


def measure(runner: Runner, impl: Impl, flows: int, where: Placement) -> Dict[str, float]:
    """Per-flow deltas (KiB, fds) of holding `flows` flows open, and of
    the hold traffic on each of them."""
    impl = runner.fresh(impl)
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
        idle = snapshot(pids)
        for p in procs:
            p.send_line("traffic")
        for p in procs:
            p.expect("moved", 120)
        moved = snapshot(pids)
        for p in procs:
            p.close_stdin()
        for p in procs:
            p.check(120)
    finally:
        for p in procs:
            p.kill()
    per_flow = {k: (idle[k] - before[k]) / flows for k in before}
    for k in ("rss_shmem_kib", "shmem_kib", "anon_kib", "slab_kib"):
        per_flow[f"traffic_{k}"] = (moved[k] - idle[k]) / flows
    return per_flow


def total_kib(m: Dict[str, float]) -> float:
    """One figure for "memory per flow": what the machine spends on a flow
    after the hold traffic: private memory, kernel slab, shared pages
    (counted once), idle plus traffic."""
    return sum(m.get(k, 0.0) + m.get(f"traffic_{k}", 0.0)
               for k in ("anon_kib", "slab_kib", "shmem_kib"))
