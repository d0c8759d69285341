#!/usr/bin/env python3
# The pyOuroboros demo (3-clause BSD): starts the echo server of oecho.py in
# a second process, talks to it over real flows and reports what happened.
# It stops the server it started; its last line says what it leaves running
# (the embedded runtime's daemon) and how to stop that.
#
#   python examples/demo.py

import os
import statistics
import subprocess
import sys
import time

import ouroboros
from ouroboros import irm, runtime
from ouroboros.dev import flow_alloc
from ouroboros.qos import qos_data, qos_raw

HERE = os.path.dirname(os.path.abspath(__file__))
MESSAGES = ["Hello, PyOuroboros!", "Flows keep message boundaries.", "ünïcödé ✓"]


def wait_for_server(proc: "subprocess.Popen[str]", timeout: float = 10.0) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the echo server exited: " + (proc.stderr.read() if proc.stderr else ""))
        if line.startswith("Starting the server."):
            return
    raise SystemExit("the echo server did not start within 10 s")


def left_running(was_running: bool) -> str:
    """The demo's last line: what stays behind it, and how to stop it."""
    if ouroboros.backend() != "embedded":
        return "left running: nothing of the demo's (the IRMd is the system's)"
    st = runtime.status()
    if not st.running:
        return "left running: nothing"
    since = "already ran before the demo" if was_running else "the demo started it"
    stays = (f"it exits after {st.idle_exit:g} s without use" if st.idle_exit > 0
             else "it stays until stopped")
    return (f"left running: the runtime daemon o7s-irmd (pid {st.pid}, {st.runtime_dir}; "
            f"{since}); {stays}, or now with: o7s-irm runtime stop")


def main() -> int:
    # The demo shows the embedded runtime unless OUROBOROS_BACKEND asks for
    # another backend.
    if "OUROBOROS_BACKEND" not in os.environ:
        ouroboros.use_backend("embedded")
    # Ouroboros 0.23.0's reliable flows are broken, so on the real thing the
    # demo asks for raw flows.
    qos = qos_data if ouroboros.backend() == "embedded" else qos_raw
    print(f"pyOuroboros {ouroboros.__version__} on the {ouroboros.backend()} backend")
    was_running = runtime.status().running
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "oecho.py"), "-l"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, OUROBOROS_BACKEND=ouroboros.backend()))
    try:
        wait_for_server(server)
        print(f"server: oecho.py -l runs as pid {server.pid}, bound to 'oecho'")
        names = ", ".join(n.name for n in irm.list_names())
        layers = ", ".join(f"{i.name} ({i.type.name.lower()}, layer {i.layer})"
                           for i in irm.list_ipcps())
        print(f"runtime: names [{names}]; IPCPs [{layers}]")

        rtts = []
        for text in MESSAGES:
            start = time.perf_counter()
            with flow_alloc("oecho", qos=qos, timeo=10) as f:
                f.set_rcv_timeout(10)
                f.writeline(text)
                reply = f.readline()
                got = f.get_qos()
            elapsed = time.perf_counter() - start
            rtts.append(elapsed)
            status = "ok" if reply == text else "MISMATCH"
            print(f"client: sent {text!r}, got {reply!r} back [{status}] "
                  f"(alloc + echo + dealloc in {elapsed * 1e3:.2f} ms)")
            if reply != text:
                return 1
        print(f"client: the flows got QoS loss={got.loss}, in_order={got.in_order} "
              f"(asked for {'qos_data' if qos is qos_data else 'qos_raw'})")
        print(f"done: {len(MESSAGES)} flows, median {statistics.median(rtts) * 1e3:.2f} ms each")
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
        if server.stderr is not None:
            server.stderr.close()
    print(f"server: stopped oecho.py -l (pid {server.pid})")
    print(left_running(was_running))
    return 0


if __name__ == "__main__":
    sys.exit(main())
