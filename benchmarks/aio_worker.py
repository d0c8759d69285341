"""One end of an asyncio benchmark: the floor (a socket from the driver,
``loop.sock_recv``/``sock_sendall``), asyncio streams over a stream socket
(``asyncio.open_connection(sock=...)``, a second reference), or
pyOuroboros' asyncio flows (ouroboros.asyncio).

Run by the driver like worker.py::

    python aio_worker.py floor|streams|ours MODE SIZE COUNT OUT
                         [--fd N | --fds FILE] [--serve NAME] [--alloc NAME] [--warmup N]

Modes: ping/pong (round trips of one SDU, timed at the client) and, for
many flows served by one event loop, many-ping/many-pong: the client opens
COUNT flows (``--fds FILE``: COUNT inherited sockets for the floor), says
"ready" after a warm-up flow and "held" once all are open and have done a
round trip, each time waiting for a line on stdin, then all flows do
--rounds round trips at once and it saves the total rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import sys
import time
from typing import Any, Awaitable, Callable, Dict, List, Tuple

clock = time.perf_counter_ns
FLOOR_RECV = 65536
SETUP_WAIT = 30.0
ALLOCATING_AT_ONCE = 256  # each pending allocation holds a daemon connection

Reader = Callable[[], Awaitable[bytes]]
Writer = Callable[[bytes], Awaitable[Any]]


def parse(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("impl", choices=["floor", "streams", "ours"])
    p.add_argument("mode", choices=["ping", "pong", "many-ping", "many-pong"])
    p.add_argument("size", type=int)
    p.add_argument("count", type=int)
    p.add_argument("out")
    p.add_argument("--fd", type=int, default=-1)
    p.add_argument("--fds")
    p.add_argument("--serve")
    p.add_argument("--alloc")
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--busy", type=int, default=0)   # accepted, as worker.py's; unused
    p.add_argument("--batch", type=int, default=1)  # likewise
    return p.parse_args(argv)


def raise_descriptor_limit(wanted: int) -> None:
    """Each embedded flow costs two descriptors per end (its socket and an
    eventfd), a floor's socket one: thousands need more than the usual soft
    limit of 1024. Raises the soft limit, and the hard one where allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    if hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))  # root only
            return
        except (ValueError, OSError):
            raise SystemExit(f"needs {wanted} descriptors; RLIMIT_NOFILE's hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def save(path: str, result: Dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(result, f)


# ------------------------------------------------------------------ the ends

async def floor_end(sock: socket.socket) -> Tuple[Reader, Writer, Callable[[], Any]]:
    # The loop is looked up per call, as ours does: the many-flows client
    # opens its flows in one asyncio.run() and uses them in the next.
    running = asyncio.get_running_loop
    sock.setblocking(False)

    async def read() -> bytes:
        return await running().sock_recv(sock, FLOOR_RECV)

    async def write(data: bytes) -> None:
        await running().sock_sendall(sock, data)

    return read, write, sock.close


async def streams_end(sock: socket.socket, size: int) -> Tuple[Reader, Writer, Callable[[], Any]]:
    reader, writer = await asyncio.open_connection(sock=sock)

    async def read() -> bytes:
        return await reader.readexactly(size)

    async def write(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    return read, write, writer.close


async def flow_end(a: argparse.Namespace) -> Tuple[Reader, Writer, Callable[[], Any]]:
    from ouroboros.asyncio import flow_accept, flow_alloc
    f = await (flow_alloc(a.alloc, timeo=SETUP_WAIT) if a.alloc
               else flow_accept(timeo=SETUP_WAIT))
    return f.read, f.write, f.dealloc


async def one_end(a: argparse.Namespace) -> Tuple[Reader, Writer, Callable[[], Any]]:
    if a.impl == "ours":
        return await flow_end(a)
    sock = socket.socket(fileno=a.fd)
    return await (floor_end(sock) if a.impl == "floor" else streams_end(sock, a.size))


# ---------------------------------------------------------------- round trips

async def ping(a: argparse.Namespace) -> None:
    read, write, close = await one_end(a)
    tx = bytes(a.size)
    samples = [0] * a.count
    bad = 0
    for _ in range(a.warmup):
        await write(tx)
        await read()
    for i in range(a.count):
        t0 = clock()
        await write(tx)
        rx = await read()
        samples[i] = clock() - t0
        if len(rx) != a.size:
            bad += 1
    close()
    save(a.out, {"bad": bad, "samples_ns": samples})


async def pong(a: argparse.Namespace) -> None:
    read, write, close = await one_end(a)
    for _ in range(a.warmup + a.count):
        await write(await read())
    close()


# ------------------------------------------------------ many flows, one loop

async def serve_many(a: argparse.Namespace) -> None:
    """Echoes on every flow (or inherited socket) until it ends; exits once
    all COUNT (+1 warm-up flow for ours) have ended."""
    ended = 0
    expected = a.count + (1 if a.impl == "ours" else 0)
    done = asyncio.Event()

    async def echo(read: Reader, write: Writer, close: Callable[[], Any]) -> None:
        nonlocal ended
        try:
            while True:
                data = await read()
                if not data:
                    break  # the floor's end of file
                await write(data)
        except (ConnectionError, EOFError):
            pass
        finally:
            close()
            ended += 1
            if ended == expected:
                done.set()

    tasks = set()
    if a.impl == "ours":
        from ouroboros.asyncio import flow_accept
        print("ready", flush=True)
        for _ in range(expected):
            f = await flow_accept(timeo=SETUP_WAIT * 4)
            t = asyncio.ensure_future(echo(f.read, f.write, f.dealloc))
            tasks.add(t)
    else:
        for fd in json.load(open(a.fds)):
            t = asyncio.ensure_future(echo(*await floor_end(socket.socket(fileno=fd))))
            tasks.add(t)
    await done.wait()


def wait_for_go() -> None:
    sys.stdin.readline()


async def open_many(a: argparse.Namespace) -> List[Tuple[Reader, Writer, Callable[[], Any]]]:
    if a.impl != "ours":
        return [await floor_end(socket.socket(fileno=fd)) for fd in json.load(open(a.fds))]
    from ouroboros.asyncio import flow_alloc
    slots = asyncio.Semaphore(ALLOCATING_AT_ONCE)

    async def one() -> Tuple[Reader, Writer, Callable[[], Any]]:
        async with slots:
            f = await flow_alloc(a.alloc, timeo=SETUP_WAIT)
        return f.read, f.write, f.dealloc

    return list(await asyncio.gather(*(one() for _ in range(a.count))))


async def round_trips(ends: List[Tuple[Reader, Writer, Callable[[], Any]]], rounds: int,
                      size: int) -> int:
    bad = 0
    tx = bytes(size)

    async def go(read: Reader, write: Writer) -> None:
        nonlocal bad
        for _ in range(rounds):
            await write(tx)
            if len(await read()) != size:
                bad += 1

    await asyncio.gather(*(go(r, w) for r, w, _ in ends))
    return bad


def ping_many(a: argparse.Namespace) -> None:
    if a.impl == "ours":  # a warm-up flow: imports, the daemon connection
        async def warm_up() -> None:
            read, write, close = await flow_end(a)
            await write(b"x")
            await read()
            close()
        asyncio.run(warm_up())
    print("ready", flush=True)
    wait_for_go()
    ends: List[Tuple[Reader, Writer, Callable[[], Any]]] = []

    async def open_all() -> None:
        ends.extend(await open_many(a))
        await round_trips(ends, 1, a.size)

    t0 = clock()
    asyncio.run(open_all())
    opened_ns = clock() - t0
    print("held", flush=True)
    wait_for_go()

    async def timed() -> Tuple[int, int]:
        t0 = clock()
        bad = await round_trips(ends, a.rounds, a.size)
        return clock() - t0, bad

    elapsed, bad = asyncio.run(timed())
    for _, _, close in ends:
        close()
    save(a.out, {"flows": len(ends), "rounds": a.rounds, "elapsed_ns": elapsed,
                 "open_ns": opened_ns, "bad": bad})


def main(argv: List[str]) -> None:
    a = parse(argv)
    if a.mode.startswith("many"):
        raise_descriptor_limit(2 * a.count + 2 * ALLOCATING_AT_ONCE + 256)
    if a.impl == "ours" and a.serve:
        from ouroboros import irm
        irm.serve(a.serve)
        if not a.mode.startswith("many"):
            print("ready", flush=True)
    if a.mode == "ping":
        asyncio.run(ping(a))
    elif a.mode == "pong":
        asyncio.run(pong(a))
    elif a.mode == "many-pong":
        asyncio.run(serve_many(a))
    else:
        ping_many(a)


if __name__ == "__main__":
    main(sys.argv[1:])
