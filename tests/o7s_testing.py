"""Helpers for the tests (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import List

#: The control protocol's version, as cpp/src/runtime/wire.hpp defines it.
PROTOCOL_VERSION = int(re.search(
    r"std::uint16_t version = (\d+);",
    (Path(__file__).resolve().parent.parent / "cpp/src/runtime/wire.hpp").read_text()).group(1))


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs; an exited process waiting to be reaped by
    init (a zombie: the daemon is not our child) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def daemons_of(runtime_dir: str) -> List[int]:
    """Pids of the live o7s-irmd processes serving ``runtime_dir``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (argv and argv[0].endswith(b"o7s-irmd") and runtime_dir.encode() in argv
                and process_alive(int(entry))):
            found.append(int(entry))
    return found


#: A server to start with spawn(ECHO_SERVER, name): it serves ``name``,
#: prints "ready", then for every flow it accepts prints "qos <the QoSSpec
#: the flow got>" and sends back each SDU until the flow goes down. It
#: serves its flows at the same time, one thread each.
ECHO_SERVER = """
import sys, threading
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve(sys.argv[1])
print("ready", flush=True)

def echo(f):
    with f:
        print("qos", repr(f.get_qos()), flush=True)
        try:
            while True:
                f.write(f.read())
        except ConnectionError:
            pass

while True:
    threading.Thread(target=echo, args=(flow_accept(),), daemon=True).start()
"""
