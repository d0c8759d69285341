"""Helpers for the tests (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, List, Optional

# True while a pid runs (a zombie counts as gone): one definition, the testbed's.
from ouroboros.testbed.rib import process_alive as process_alive

#: The control protocol's version, as cpp/src/runtime/wire.hpp defines it.
PROTOCOL_VERSION = int(re.search(
    r"std::uint16_t version = (\d+);",
    (Path(__file__).resolve().parent.parent / "cpp/src/runtime/wire.hpp").read_text()).group(1))

#: pyOuroboros' version: pyproject.toml's, its one source.
PYPROJECT_VERSION = re.search(
    r'^version = "([^"]+)"$',
    (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(), re.M).group(1)


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Waits until ``predicate()`` is true, asking every 10 ms; raises
    AssertionError naming ``what`` after ``timeout`` seconds. The one way
    the tests wait for something that has no event to wait on."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.01)


class InThread:
    """``call()`` running in a thread of its own, e.g. a blocking call that
    another thread is to wake; ``result()`` is what it raised."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, args=(call,))
        self.thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            call()
        except BaseException as e:  # noqa: BLE001 - handed to result()
            self.error = e

    def result(self, what: str, timeout: float = 10.0) -> Optional[BaseException]:
        """Waits for the call to end (AssertionError ``what`` if it does
        not); returns the exception it raised, or None."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), what
        return self.error


def _thread_state(pid: Optional[int], tid: int) -> str:
    try:
        with open(f"/proc/{pid or 'self'}/task/{tid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def wait_blocked(thread: Optional[threading.Thread] = None, pid: Optional[int] = None,
                 timeout: float = 10.0) -> None:
    """Waits until a thread of this process (or the main thread of process
    ``pid``) sleeps in the kernel, twice in a row 10 ms apart: it is inside
    a blocking call, not on its way to one (this thread gives up the GIL
    while it waits, so a thread that only wanted the GIL would have run)."""
    tid = pid if thread is None else thread.native_id
    assert tid is not None, "the thread has not started"
    seen = [0]

    def sleeping_twice() -> bool:
        seen[0] = seen[0] + 1 if _thread_state(pid, tid) in ("S", "D") else 0
        return seen[0] >= 2

    wait_until(sleeping_twice, f"thread {tid} blocks in a call", timeout)


def wait_idle(pid: int, timeout: float = 10.0) -> None:
    """Waits until every thread of process ``pid`` sleeps in the kernel,
    twice in a row 10 ms apart: e.g. a server whose threads all wait in
    flow_accept(), so that their requests are with the daemon."""
    seen = [0]

    def all_sleeping() -> bool:
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            return False
        idle = all(_thread_state(pid, tid) in ("S", "D") for tid in tids)
        seen[0] = seen[0] + 1 if idle else 0
        return seen[0] >= 2

    wait_until(all_sleeping, f"every thread of process {pid} waits", timeout)


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
