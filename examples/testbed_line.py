"""Three Ouroboros nodes in a line on this host (needs root and Ouroboros):

    a --udp4-- b --eth-dix-- c

with a unicast layer "net" over them; a serves "echo", c talks to it
through b, and the C tool oping pings it from c too.

    sudo python examples/testbed_line.py
"""

# Copyright: 3-clause BSD (see the README).

from __future__ import annotations

import os
import threading
import time

from ouroboros import irm
from ouroboros.dev import Flow, flow_accept, flow_alloc
from ouroboros.irm import NameInfo
from ouroboros.testbed import Network


def echo(f: Flow) -> None:
    with f:
        try:
            while True:
                sdu = bytearray(f.read())
                sdu[:4] = (1).to_bytes(4, "big")
                f.write(sdu)
        except ConnectionError:  # the client went (seen at the peer timeout)
            pass


def server(name: str) -> None:
    """Runs in node a: echoes SDUs oping's way (its requests, type 0, come
    back as replies, type 1), a thread per flow."""
    irm.bind_process(os.getpid(), name)
    print("ready", flush=True)
    while True:
        threading.Thread(target=echo, args=(flow_accept(),), daemon=True).start()


def client(name: str) -> float:
    """Runs in node c: one round trip; returns it in seconds."""
    irm.create_name(NameInfo(name))  # a name must exist where it is allocated
    for attempt in range(3):  # Ouroboros 0.23.0 loses one now and then
        try:
            f = flow_alloc(name, timeo=8)
            break
        except OSError:
            if attempt == 2:
                raise
    with f:
        start = time.perf_counter()
        f.write(bytes(24))
        f.read()
        return time.perf_counter() - start


if __name__ == "__main__":
    with Network() as net:  # everything ends with the block, errors and Ctrl-C too
        a, b, c = net.add_nodes("a", "b", "c")
        net.link(a, b, "udp4")
        net.link(b, c, "eth-dix")
        layer = net.unicast_layer("net", [a, b, c])  # b relays between a and c
        layer.register("echo", a)
        a.start(server, "echo").expect("ready")
        print(f"c -> a: one round trip in {c.call(client, 'echo') * 1000:.2f} ms")
        for attempt in range(2):  # oping does not retry an allocation that 0.23.0 lost
            ping = c.run(["oping", "-n", "echo", "-c", "5", "-i", "50ms"], check=False)
            summary = [ln for ln in ping.stdout.splitlines() if "packets transmitted" in ln]
            if summary:
                break
        print(summary[0] if summary else f"oping failed: {ping.stdout}{ping.stderr}")
        print("IPCPs of b:", ", ".join(f"{i.name} ({i.layer})" for i in b.irm.list_ipcps()))
        print(f"largest SDU across net: {layer.max_sdu()} bytes; retried steps: "
              f"{len(net.retries)}")
