"""One end of a benchmark from Python: the pure-Python floor (a socket from
``socket.socketpair``) or pyOuroboros (a flow).

Run as a script by the driver (benchmarks/procs.py), with the command line
and result files of the compiled programs (benchmarks/c/bench_common.h)::

    python worker.py floor|ours MODE SIZE COUNT OUT [--fd N] [--serve NAME]
                     [--alloc NAME] [--warmup N] [--busy NS] [--batch N] [--into]

Times are integer nanoseconds from ``time.perf_counter_ns``. The loops bind
methods to locals and do nothing else per SDU but the size check, so they
measure the I/O calls, as a careful Python program would write them. Both
ends read with ``read(arg)``: ``socket.recv(65536)`` for the floor (room for
the largest benchmark SDU) and ``Flow.read(None)`` (a whole SDU) for ours.
Batched floods read with ``Flow.read_many``, or with ``--into`` with
``Flow.read_many_into`` (many SDUs into one buffer, their ends in an array).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from array import array
from typing import Any, Callable, Dict, List

clock = time.perf_counter_ns
FLOOR_RECV = 65536          # the floor's receive size: the largest benchmark SDU
FLOW_SNDBUF = (1 << 20) + (256 << 10)  # the flows' send buffer (cpp/src/runtime/flow_socket.cpp)
SETUP_WAIT = 10.0           # seconds for allocation and accept
# hold's "traffic" (benchmarks/c/bench_common.h): per flow, SDUs and size.
HOLD_TRAFFIC_SDUS = 8
HOLD_TRAFFIC_SIZE = 1500


def parse(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("impl", choices=["floor", "ours"])
    p.add_argument("mode", choices=["ping", "pong", "send", "recv", "alloc", "accept", "hold"])
    p.add_argument("size", type=int)
    p.add_argument("count", type=int)
    p.add_argument("out")
    p.add_argument("--fd", type=int, default=-1)
    p.add_argument("--serve")
    p.add_argument("--alloc")
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--busy", type=int, default=0, help="busy-poll budget in ns")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--into", action="store_true",
                   help="batched reads with Flow.read_many_into (ours only)")
    return p.parse_args(argv)


def save(path: str, result: Dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(result, f)


def say(word: str) -> None:
    print(word, flush=True)


# ------------------------------------------------------------------ the ends

class FloorEnd:
    """A SOCK_SEQPACKET socket inherited from the driver."""

    def __init__(self, a: argparse.Namespace) -> None:
        self.sock = socket.socket(fileno=a.fd)
        self.write: Callable[[bytes], int] = self.sock.send
        self.read: Callable[[Any], bytes] = self.sock.recv
        self.read_arg: Any = FLOOR_RECV
        if a.busy > 0:
            self.read = self._busy_reader(self.sock.recv, a.busy)

    @staticmethod
    def _busy_reader(recv: Callable[..., bytes], budget_ns: int) -> Callable[[int], bytes]:
        dontwait = socket.MSG_DONTWAIT

        def read(size: int) -> bytes:
            end = clock() + budget_ns
            while clock() < end:
                try:
                    return recv(size, dontwait)
                except BlockingIOError:
                    pass
            return recv(size)
        return read


class FlowEnd:
    """A pyOuroboros flow: allocated to --alloc NAME or accepted."""

    def __init__(self, a: argparse.Namespace) -> None:
        from ouroboros.dev import flow_accept, flow_alloc
        self.flow = (flow_alloc(a.alloc, timeo=SETUP_WAIT) if a.alloc
                     else flow_accept(timeo=SETUP_WAIT))
        if a.busy > 0:
            self.flow.set_busy_poll(a.busy / 1e9)
        self.write = self.flow.write
        self.read = self.flow.read
        self.read_arg = None  # a whole SDU


# ---------------------------------------------------------------- workloads

def ping(end: Any, a: argparse.Namespace) -> None:
    write, read, arg, size = end.write, end.read, end.read_arg, a.size
    tx = bytes(size)
    samples = [0] * a.count
    bad = 0
    for _ in range(a.warmup):
        write(tx)
        read(arg)
    for i in range(a.count):
        t0 = clock()
        write(tx)
        rx = read(arg)
        samples[i] = clock() - t0
        if len(rx) != size:
            bad += 1
    save(a.out, {"bad": bad, "samples_ns": samples})


def pong(end: Any, a: argparse.Namespace) -> None:
    write, read, arg = end.write, end.read, end.read_arg
    for _ in range(a.warmup + a.count):
        write(read(arg))


def flood_send(end: Any, a: argparse.Namespace) -> None:
    tx = bytes(a.size)
    if a.batch == 1:
        write = end.write
        for _ in range(a.count):
            write(tx)
    else:
        write_many, sent = end.flow.write_many, 0
        batch = [tx] * a.batch
        while sent < a.count:
            left = a.count - sent
            sent += write_many(batch if left >= a.batch else batch[:left])
    if len(end.read(end.read_arg)) != 1:
        raise SystemExit("no acknowledgement")


def flood_recv(end: Any, a: argparse.Namespace) -> None:
    size, got, bad = a.size, 0, 0
    first = last = 0
    if a.batch == 1:
        read, arg = end.read, end.read_arg
        if len(read(arg)) != size:
            bad += 1
        first = clock()
        for _ in range(a.count - 1):
            if len(read(arg)) != size:
                bad += 1
        last, got = clock(), a.count
    elif a.into:
        got, bad, first, last = flood_recv_into(end.flow, a)
    else:
        read_many = end.flow.read_many
        while got < a.count:
            sdus = read_many(min(a.batch, a.count - got))
            last = clock()
            if got == 0:
                first = last
            for sdu in sdus:
                if len(sdu) != size:
                    bad += 1
            got += len(sdus)
    end.write(b"!")
    save(a.out, {"received": got, "bad": bad, "elapsed_ns": last - first})


def flood_recv_into(flow: Any, a: argparse.Namespace) -> "tuple[int, int, int, int]":
    """Batches of read_many_into: SDU i is buf[ends[i - 1]:ends[i]]; the
    size check is on the ends, so no SDU becomes a bytes object."""
    if not hasattr(flow, "read_many_into"):
        raise SystemExit("this pyOuroboros has no Flow.read_many_into")
    size, got, bad, first, last = a.size, 0, 0, 0, 0
    buf = bytearray(a.batch * (size + 8))
    ends = array("Q", bytes(8 * a.batch))
    whole = memoryview(ends)
    read_many_into = flow.read_many_into
    while got < a.count:
        left = a.count - got
        n = read_many_into(buf, whole if left >= a.batch else whole[:left])
        last = clock()
        if got == 0:
            first = last
        prev = 0
        for i in range(n):
            e = ends[i]
            if e - prev != size:
                bad += 1
            prev = e
        got += n
    whole.release()
    return got, bad, first, last


def alloc_rate(a: argparse.Namespace) -> None:
    if a.impl == "floor":
        def make() -> None:
            s1, s2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s1.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, FLOW_SNDBUF)
            s2.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, FLOW_SNDBUF)
            s1.close()
            s2.close()
    else:
        from ouroboros.dev import flow_alloc

        def make() -> None:
            flow_alloc(a.alloc, timeo=SETUP_WAIT).dealloc()
    for _ in range(a.warmup):
        make()
    t0 = clock()
    for _ in range(a.count):
        make()
    save(a.out, {"count": a.count, "elapsed_ns": clock() - t0})


def accept_loop(a: argparse.Namespace) -> None:
    from ouroboros.dev import flow_accept
    for _ in range(a.warmup + a.count):
        flow_accept(timeo=SETUP_WAIT).dealloc()


def hold(a: argparse.Namespace) -> None:
    """Opens COUNT flows (socketpairs for the floor) and keeps them open. One
    more, opened before "ready", keeps one-time costs (imports, the daemon
    connection, allocator pools) out of the measurement; the accepting side
    takes that one too."""
    if a.impl == "floor":
        def open_one() -> Any:
            pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            for s in pair:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, FLOW_SNDBUF)
            return pair
    else:
        from ouroboros.dev import flow_accept, flow_alloc

        def open_one() -> Any:
            return (flow_alloc(a.alloc, timeo=SETUP_WAIT) if a.alloc
                    else flow_accept(timeo=SETUP_WAIT))
    held = [open_one()]
    if a.impl == "floor" or a.alloc:
        say("ready")
        sys.stdin.readline()  # "go": the driver has measured the processes
    held += [open_one() for _ in range(a.count)]
    say("held")
    if sys.stdin.readline().strip() == "traffic":
        hold_traffic(a, held[1:])
        say("moved")
    sys.stdin.read()  # until the driver closes it
    if a.impl == "ours":
        for f in held:
            f.dealloc()


def hold_traffic(a: argparse.Namespace, held: List[Any]) -> None:
    """HOLD_TRAFFIC_SDUS SDUs from the allocating end to the accepting end
    of each held flow (both hold them in allocation order)."""
    tx = bytes(HOLD_TRAFFIC_SIZE)
    for item in held:
        if a.impl == "floor":
            for _ in range(HOLD_TRAFFIC_SDUS):
                item[0].send(tx)
                if len(item[1].recv(FLOOR_RECV)) != HOLD_TRAFFIC_SIZE:
                    raise SystemExit("hold traffic came back wrong")
            continue
        item.set_rcv_timeout(SETUP_WAIT)
        for _ in range(HOLD_TRAFFIC_SDUS):
            if a.alloc:
                item.write(tx)
            elif len(item.read()) != HOLD_TRAFFIC_SIZE:
                raise SystemExit("hold traffic came back wrong")


def main(argv: List[str]) -> None:
    a = parse(argv)
    if a.impl == "ours" and a.serve:
        from ouroboros import irm
        irm.serve(a.serve)
        say("ready")
    if a.mode == "alloc":
        alloc_rate(a)
    elif a.mode == "accept":
        accept_loop(a)
    elif a.mode == "hold":
        hold(a)
    else:
        end: Any = FloorEnd(a) if a.impl == "floor" else FlowEnd(a)
        {"ping": ping, "pong": pong, "send": flood_send, "recv": flood_recv}[a.mode](end, a)
        if isinstance(end, FlowEnd):
            end.flow.dealloc()


if __name__ == "__main__":
    main(sys.argv[1:])
