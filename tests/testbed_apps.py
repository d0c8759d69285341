"""Programs that the testbed tests run inside nodes (Node.start/Node.call
pickle them by name, so they live in a module the nodes can import).

Each runs on the system backend of its node. Servers bind themselves to a
name, print "ready" and serve every flow in a thread of its own; clients
return what they saw, for the test to check.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from typing import Dict, List, Optional

from ouroboros import irm
from ouroboros.dev import Flow, flow_accept, flow_alloc
from ouroboros.qos import QoSSpec

# oping's message: type (0 request, 1 reply), id, seconds, nanoseconds.
OPING_MSG = struct.Struct("!IIQQ")
OPING_REQUEST, OPING_REPLY = 0, 1


def _echo(f: Flow, oping: bool) -> None:
    with f:
        try:
            while True:
                sdu = bytearray(f.read())
                if oping and len(sdu) >= OPING_MSG.size:
                    struct.pack_into("!I", sdu, 0, OPING_REPLY)
                f.write(sdu)
        except ConnectionError:
            pass


def echo_server(name: str, oping: bool = False) -> None:
    """Sends every SDU back (with ``oping``, as oping's server does: the
    type field says reply). Runs until stopped."""
    irm.bind_process(os.getpid(), name)
    print("ready", flush=True)
    while True:
        try:
            f = flow_accept()
        except OSError as e:  # an allocation that failed on the way
            print("accept failed:", e, flush=True)
            continue
        print("accepted", flush=True)
        threading.Thread(target=_echo, args=(f, oping), daemon=True).start()


def alloc(name: str, qos: Optional[QoSSpec] = None, attempts: int = 4) -> Flow:
    """flow_alloc() with a few tries of 8 s each: across nodes Ouroboros
    0.23.0 loses an allocation now and then (the answering IPCP fails to
    send its response; see docs/howto/system.md), and right after a layer changed its
    directory may not know the name yet."""
    for attempt in range(attempts):
        try:
            return flow_alloc(name, qos, timeo=8)
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def exchange(name: str, count: int = 100, size: int = 64,
             qos: Optional[QoSSpec] = None) -> Dict[str, object]:
    """Sends ``count`` SDUs of ``size`` bytes to the echo server at
    ``name``, one at a time; returns the round trips (s), how many came
    back intact, the QoS the flow got and the allocation time (s)."""
    start = time.monotonic()
    f = alloc(name, qos)
    with f:
        allocated = time.monotonic() - start
        f.set_rcv_timeout(5)
        rtts: List[float] = []
        intact = 0
        for i in range(count):
            sdu = (i.to_bytes(4, "big") * (size // 4 + 1))[:size]
            sent = time.perf_counter()
            f.write(sdu)
            back = f.read()
            rtts.append(time.perf_counter() - sent)
            intact += back == sdu
        return {"rtts": rtts, "intact": intact, "qos": f.get_qos(), "alloc_s": allocated,
                "max_sdu": f.max_sdu}


def sizes_across(name: str, sizes: List[int]) -> Dict[int, int]:
    """Writes one SDU of each size to the echo server at ``name`` and says
    what came back for it: its length, or -1 when nothing did (within 2 s).
    Each SDU starts with its size, so that late or truncated echoes are
    told apart."""
    f = alloc(name)
    seen: Dict[int, int] = {}
    with f:
        f.set_rcv_timeout(2)
        for size in sizes:
            f.write(size.to_bytes(4, "big") + bytes(size - 4))
            seen[size] = -1
            try:
                while True:
                    back = f.read()
                    if int.from_bytes(back[:4], "big") == size:
                        seen[size] = len(back)
                        break
            except TimeoutError:
                pass
    return seen


def oping_client(name: str, count: int = 20) -> int:
    """Pings ``name`` as oping does; returns how many replies came."""
    f = alloc(name)
    replies = 0
    with f:
        f.set_rcv_timeout(5)
        for i in range(count):
            now = time.time_ns()
            f.write(OPING_MSG.pack(OPING_REQUEST, i, now // 10**9, now % 10**9) + bytes(32))
            kind, ident, _, _ = OPING_MSG.unpack_from(f.read())
            replies += kind == OPING_REPLY and ident == i
    return replies


def hold(name: str, timeout_ms: int, dealloc_after: Optional[float] = None) -> None:
    """Allocates a flow to ``name`` with a peer timeout of ``timeout_ms``,
    prints "allocated", then deallocates it after ``dealloc_after`` seconds
    (None: never; the test ends the process)."""
    f = alloc(name, QoSSpec(timeout=timeout_ms))
    f.write(b"hello")
    print("allocated", flush=True)
    if dealloc_after is None:
        time.sleep(600)  # outside the library, so that SIGKILL is safe
    time.sleep(dealloc_after or 0)
    f.dealloc()
    print("deallocated", flush=True)
    time.sleep(600)


def watch_peer(name: str) -> Dict[str, object]:
    """Accepts one flow to ``name``, prints "accepted" and reads until the
    flow goes down; returns the exception's class name and how long after
    its first SDU that took (s)."""
    irm.bind_process(os.getpid(), name)
    print("ready", flush=True)
    while True:
        try:
            f = flow_accept()
            break
        except OSError as e:  # an allocation that failed on the way
            print("accept failed:", e, flush=True)
    with f:
        f.read()
        print("accepted", flush=True)
        start = time.monotonic()
        f.set_rcv_timeout(60)
        try:
            while True:
                f.read()
        except OSError as e:
            return {"error": type(e).__name__, "after_s": time.monotonic() - start}


def dealloc_after_peer_death(name: str, go_file: str, qos: QoSSpec) -> Dict[str, object]:
    """Allocates a flow with ``qos`` to the echo server at ``name`` and
    exchanges one SDU, prints "ready", waits for ``go_file`` to exist (the
    test kills the server meanwhile), writes 10 SDUs that nobody will
    acknowledge and deallocates; returns how long dealloc() took (s)."""
    f = alloc(name, qos)
    f.set_rcv_timeout(5)
    f.write(b"ping")
    f.read()
    print("ready", flush=True)
    while not os.path.exists(go_file):
        time.sleep(0.05)
    for _ in range(10):
        f.write(b"to nobody")
    start = time.monotonic()
    f.dealloc()
    return {"dealloc_s": time.monotonic() - start}
