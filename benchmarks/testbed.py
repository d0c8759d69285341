"""python -m benchmarks.testbed: round trips across a multi-node network of
real Ouroboros daemons (ouroboros.testbed), per lower layer, Python beside
the C oping over the same path; and how long a network takes to build and
to tear down. Needs root and an installed Ouroboros (see docs/howto/testbed.md).

The network is a line a --udp4-- b --eth-dix-- c with one unicast layer
over it. At a and c a Python echo server and a C ``oping --listen`` serve
names of their own; from b (one hop over udp4, one over eth-dix) and from
c to a (two hops, relayed by b) a Python client and the C ``oping`` client
each send SDUs of the same size at the same interval (a round trip each,
so the RTTs are not those of a flood). Every repeat builds a new network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .impls import parse_oping
from .stats import latency_summary, median

#: (client node, server node, what lies between).
PATHS: List[Tuple[str, str, str]] = [("b", "a", "udp4"), ("b", "c", "eth-dix"),
                                     ("c", "a", "udp4 + eth-dix, relayed by b")]


# --- run inside the nodes (pickled by name: module level)

def _echo(f: Any) -> None:
    with f:
        try:
            while True:
                f.write(f.read())
        except ConnectionError:
            pass


def echo_server(name: str) -> None:
    """Sends every SDU back, a thread per flow; runs until stopped."""
    from ouroboros import irm
    from ouroboros.dev import flow_accept
    irm.bind_process(os.getpid(), name)
    print("ready", flush=True)
    while True:
        try:
            f = flow_accept()
        except OSError:  # an allocation that failed on the way
            continue
        threading.Thread(target=_echo, args=(f,), daemon=True).start()


def python_client(name: str, count: int, size: int, interval_s: float) -> Dict[str, Any]:
    """``count`` round trips of ``size`` bytes to the echo server at
    ``name``, one every ``interval_s`` seconds: their times (ns), how many
    came back intact, the allocation time (s)."""
    from ouroboros.dev import flow_alloc
    start = time.monotonic()
    for attempt in range(4):  # 0.23.0 loses an allocation now and then (docs/howto/system.md)
        try:
            f = flow_alloc(name, timeo=8)
            break
        except OSError:
            if attempt == 3:
                raise
    allocated = time.monotonic() - start
    samples: List[int] = []
    intact = 0
    with f:
        f.set_rcv_timeout(2)
        for i in range(count):
            sdu = i.to_bytes(4, "big") + bytes(size - 4)
            sent = time.perf_counter_ns()
            f.write(sdu)
            try:
                back = f.read()
            except TimeoutError:
                continue
            samples.append(time.perf_counter_ns() - sent)
            intact += back == sdu
            rest = interval_s - (time.perf_counter_ns() - sent) / 1e9
            if rest > 0:
                time.sleep(rest)
    return {"samples_ns": samples, "sent": count, "received": intact, "alloc_s": allocated}


# --- run here

def _oping(node: Any, name: str, count: int, size: int, interval_ms: int) -> Dict[str, Any]:
    argv = ["oping", "-n", name, "-c", str(count), "-s", str(size), "-i", f"{interval_ms}ms"]
    for _ in range(2):  # a second time when 0.23.0 lost the allocation
        done = node.run(argv, timeout=60 + count * interval_ms / 1000, check=False)
        if "Failed to allocate flow" not in done.stdout:
            break
    samples, bad = parse_oping(done.stdout, size)
    if not samples:
        raise RuntimeError(f"oping in {node.name} measured nothing: {done.stdout[-500:]}")
    return {"samples_ns": samples, "sent": count, "received": len(samples) - bad}


def line(net: Any) -> Any:
    """Makes the line a --udp4-- b --eth-dix-- c in ``net``; its layer."""
    a, b, c = net.add_nodes("a", "b", "c")
    net.link(a, b, "udp4")
    net.link(b, c, "eth-dix")
    return net.unicast_layer("net", [a, b, c])


def measure(layer: Any, count: int, size: int, interval_ms: int) -> Dict[str, Dict[str, Any]]:
    """Every path of the line that ``layer`` spans: a Python and an oping
    row each (``count`` round trips). Starts the servers and stops them."""
    # The nodes unpickle functions by module name; run as a script, this
    # module is __main__, which they could not import (relative imports).
    from benchmarks import testbed as this
    nodes = layer.network.nodes
    servers = []
    rows: Dict[str, Dict[str, Any]] = {}
    try:
        for node in (nodes["a"], nodes["c"]):
            for prefix in ("py", "op"):
                layer.register(f"{prefix}-{node.name}", node)
            py = node.start(this.echo_server, f"py-{node.name}")
            servers.append(py)
            py.expect("ready")
            op = node.popen(["oping", "--listen"])
            servers.append(op)
            assert op.pid is not None
            node.bind_when_announced(op.pid, f"op-{node.name}")
        for client, server, _ in PATHS:
            here = nodes[client]
            key = f"{client}->{server}"
            rows[key + " python"] = here.call(this.python_client, f"py-{server}", count, size,
                                              interval_ms / 1000, timeout=120 + count)
            rows[key + " oping"] = _oping(here, f"op-{server}", count, size, interval_ms)
    finally:
        for s in servers:
            s.stop()
    return rows


def one_network(count: int, size: int, interval_ms: int) -> Dict[str, Any]:
    """Builds the line, measures every path, tears it down. A network that
    0.23.0 broke on the way (see docs/howto/system.md) is reported with its error."""
    from ouroboros.testbed import Network, TestbedError
    t0 = time.monotonic()
    net = Network()
    run: Dict[str, Any] = {"nodes": 3, "flows": 2 * len(PATHS), "error": None}
    try:
        layer = line(net)
        run["build_s"] = time.monotonic() - t0
        run["rows"] = measure(layer, count, size, interval_ms)
    except (TestbedError, OSError) as e:
        run["error"] = f"{type(e).__name__}: {e}"
    finally:
        t1 = time.monotonic()
        net.close()
        run["teardown_s"] = time.monotonic() - t1
    run["retries"] = [f"{r}" for r in net.retries]
    run["leftovers"] = net.leftovers()
    return run


def summarise(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Medians over the networks that worked; the failed ones counted."""
    ok = [r for r in runs if r["error"] is None]
    out: Dict[str, Any] = {"networks": len(ok), "failed": [r["error"] for r in runs if r["error"]],
                           "build_s": median([r["build_s"] for r in ok]),
                           "teardown_s": median([r["teardown_s"] for r in runs]),
                           "retries": sum(len(r["retries"]) for r in runs),
                           "leftovers": sum(len(r["leftovers"]) for r in runs), "paths": {}}
    for client, server, between in PATHS:
        key = f"{client}->{server}"
        path: Dict[str, Any] = {"between": between}
        for impl in ("python", "oping"):
            got = [r["rows"][f"{key} {impl}"] for r in ok]
            path[impl] = dict(latency_summary([g["samples_ns"] for g in got]),
                              sent=sum(g["sent"] for g in got),
                              received=sum(g["received"] for g in got))
        path["ratio"] = path["python"]["p50_ns"] / path["oping"]["p50_ns"]
        out["paths"][key] = path
    return out


def table(s: Dict[str, Any], size: int) -> str:
    lines = [f"RTT of {size} B SDUs across the testbed (p50/p99 in us; ratio = Python p50 / "
             "oping p50)",
             f"{'path':<10} {'between':<28} {'python p50':>10} {'p99':>8} {'oping p50':>10} "
             f"{'p99':>8} {'ratio':>6} {'SDUs back':>14}"]
    for key, p in s["paths"].items():
        py, op = p["python"], p["oping"]
        lines.append(f"{key:<10} {p['between']:<28} {py['p50_ns'] / 1e3:>10.0f} "
                     f"{py['p99_ns'] / 1e3:>8.0f} {op['p50_ns'] / 1e3:>10.0f} "
                     f"{op['p99_ns'] / 1e3:>8.0f} {p['ratio']:>6.2f} "
                     f"{py['received'] + op['received']:>6}/{py['sent'] + op['sent']:<7}")
    lines.append(f"networks of 3 nodes: {s['networks']} measured, {len(s['failed'])} broken "
                 f"on the way; built in {s['build_s']:.1f} s, torn down in "
                 f"{s['teardown_s']:.1f} s (medians); steps retried: {s['retries']}; "
                 f"left behind: {s['leftovers']}")
    lines += [f"  broken: {why[:200]}" for why in s["failed"]]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.testbed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one network, 50 round trips a row")
    p.add_argument("--repeats", type=int, default=3, help="networks built (default 3)")
    p.add_argument("--samples", type=int, default=1000, help="round trips a row and network")
    p.add_argument("--size", type=int, default=64, help="SDU size in bytes (default 64)")
    p.add_argument("--interval-ms", type=int, default=1,
                   help="time between a client's requests (default 1 ms, oping's least)")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"),
                   help="directory for testbed.json")
    a = p.parse_args(argv)
    from ouroboros.testbed import unavailable_reason
    reason = unavailable_reason()
    if reason:
        print(f"the testbed cannot run here: {reason}", file=sys.stderr)
        return 2
    repeats, count = (1, 50) if a.quick else (a.repeats, a.samples)
    load = os.getloadavg()
    runs: List[Dict[str, Any]] = []
    # A broken network is built again, up to as many times as were asked for.
    while sum(r["error"] is None for r in runs) < repeats and len(runs) < 2 * repeats:
        print(f"network {len(runs) + 1}", file=sys.stderr, flush=True)
        runs.append(one_network(count, a.size, a.interval_ms))
        if runs[-1]["error"]:
            print(f"  broken: {runs[-1]['error']}", file=sys.stderr, flush=True)
    if not any(r["error"] is None for r in runs):
        print("no network could be measured", file=sys.stderr)
        return 1
    s = summarise(runs)
    print(table(s, a.size))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "testbed.json").write_text(json.dumps(
        {"loadavg_start": load, "loadavg_end": os.getloadavg(), "size": a.size,
         "interval_ms": a.interval_ms, "summary": s, "runs": runs}, indent=1))
    print(f"raw numbers: {out / 'testbed.json'}")
    return 0 if s["leftovers"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
