"""Many flows served by one event loop: COUNT flows between two asyncio
processes (the server one loop for all of them), each doing round trips at
the same time.

What is measured: round trips per second across all flows (COUNT x rounds
over the time from the first write to the last reply), the time to open
them all, and per flow (deltas divided by COUNT, between a warmed-up
process with no flows and one holding them all): private memory
(RssAnon) of both processes and the embedded runtime's daemon, and their
descriptors. The floor is the same loop over COUNT socketpairs that the
driver makes and hands out (loop.sock_recv/sock_sendall).

Each embedded flow costs 2 descriptors at each end; the workers raise
their RLIMIT_NOFILE soft limit (and the hard one when run as root), and so
does the driver for the floor's socketpairs. Where the hard limit cannot be
raised and is too low for COUNT flows, the run uses as many as fit and says
so (``capped_by``).
"""

from __future__ import annotations

import json
import os
import resource
from typing import Any, Dict, List

from .impls import SETUP_TIMEOUT, Impl, Runner, _daemon_pid, pin_embedded_daemon
from .memory import snapshot
from .procs import BenchError, Placement, Proc, load, seqpacket_pair


def _raise_own_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        raise BenchError(f"the floor needs {wanted} descriptors in the driver; RLIMIT_NOFILE's "
                         f"hard limit is {hard}") from None


def descriptor_capacity() -> int:
    """Flows that fit the hard RLIMIT_NOFILE at two descriptors each (an
    embedded flow's end; the driver's half of the floor's pairs), with room
    for the rest of a process, unless the limit can be raised (root)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard + 1))
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        return 1 << 30  # it can be raised
    except (ValueError, OSError):
        return max(1, (hard - 1024) // 2)


def measure(runner: Runner, impl: Impl, flows: int, rounds: int, size: int,
            where: Placement) -> Dict[str, Any]:
    capped_by = ""
    if flows > descriptor_capacity():
        flows = descriptor_capacity()
        capped_by = (f"RLIMIT_NOFILE's hard limit, "
                     f"{resource.getrlimit(resource.RLIMIT_NOFILE)[1]}, which this process "
                     f"may not raise")
    env = dict(os.environ, **impl.env)
    out = runner.work.result_file()

    def argv(mode: str, *extra: str) -> List[str]:
        return [*impl.argv, mode, str(size), str(flows), out, "--rounds", str(rounds), *extra]

    procs: List[Proc] = []
    try:
        pids: Dict[str, int] = {}
        if impl.transport == "fd":
            _raise_own_limit(2 * flows + 256)
            pairs = [seqpacket_pair() for _ in range(flows)]
            files = {}
            for side, i in (("server", 1), ("client", 0)):
                path = os.path.join(runner.work.path, f"many-{side}.json")
                with open(path, "w") as f:
                    json.dump([p[i].fileno() for p in pairs], f)
                files[side] = path
            server = Proc(argv("many-pong", "--fds", files["server"]), where.server, env,
                          pass_fds=[p[1].fileno() for p in pairs])
            client = Proc(argv("many-ping", "--fds", files["client"]), where.client, env,
                          pass_fds=[p[0].fileno() for p in pairs], stdin=True)
            for pair in pairs:
                for s in pair:
                    s.close()
            procs += [server, client]
        elif impl.transport == "embedded":
            name = runner.name_for(impl)
            server = Proc(argv("many-pong", "--serve", name), where.server, env)
            procs.append(server)
            server.expect("ready", SETUP_TIMEOUT)
            pin_embedded_daemon(impl.env["OUROBOROS_RUNTIME_DIR"], where)
            client = Proc(argv("many-ping", "--alloc", name), where.client, env, stdin=True)
            procs.append(client)
            daemon = _daemon_pid(impl.env["OUROBOROS_RUNTIME_DIR"])
            if daemon is not None:
                pids["daemon"] = daemon
        else:
            raise BenchError(f"no many-flows measurement for {impl.label}")
        client.expect("ready", SETUP_TIMEOUT * 4)
        pids.update(client=client.pid, server=server.pid)
        before = snapshot(pids)
        client.send_line("go")
        client.expect("held", 600)
        after = snapshot(pids)
        client.send_line("go")
        for p in reversed(procs):
            p.check(600)
    finally:
        for p in procs:
            p.kill()
    r = load(out)
    return {"flows": r["flows"], "capped_by": capped_by, "rounds": r["rounds"], "bad": r["bad"],
            "round_trips_per_s": r["flows"] * r["rounds"] / r["elapsed_ns"] * 1e9,
            "open_s": r["open_ns"] / 1e9,
            "anon_kib": (after["anon_kib"] - before["anon_kib"]) / flows,
            "fds": (after["fds"] - before["fds"]) / flows}
