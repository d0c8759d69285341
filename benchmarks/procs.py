"""Starting the two ends of a benchmark, pinned to CPUs, and collecting
their result files."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Sequence

FLOW_SNDBUF = (1 << 20) + (256 << 10)  # the flows' send buffer (cpp/src/runtime/flow_socket.cpp)


class BenchError(RuntimeError):
    """A benchmark process failed; the message says how."""


@dataclass(frozen=True)
class Placement:
    """Where the two ends (and the embedded runtime's daemon) run."""
    name: str
    client: FrozenSet[int]
    server: FrozenSet[int]
    daemon: FrozenSet[int]


def placements() -> List[Placement]:
    """Both ends on one core, and on two different cores (when there are)."""
    cpus = sorted(os.sched_getaffinity(0))
    one = frozenset(cpus[-1:])
    found = [Placement("one core", one, one, one)]
    if len(cpus) >= 2:
        found.append(Placement("cross core", frozenset(cpus[:1]), frozenset(cpus[1:2]),
                               frozenset(cpus)))
    return found


class Proc:
    """A child process whose stdout lines a thread collects, so that waiting
    for one never blocks without a timeout."""

    def __init__(self, argv: Sequence[str], cpus: FrozenSet[int], env: Dict[str, str],
                 pass_fds: Sequence[int] = (), stdin: bool = False) -> None:
        self.argv = list(argv)
        self.popen = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, pass_fds=tuple(pass_fds),
            preexec_fn=lambda: os.sched_setaffinity(0, cpus), text=True)
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.out: List[str] = []
        self.err: List[str] = []
        self._threads = [threading.Thread(target=self._collect, daemon=True),
                         threading.Thread(target=self._drain_err, daemon=True)]
        for t in self._threads:
            t.start()

    def _collect(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.out.append(line)
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _drain_err(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.err.append(line)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def expect(self, word: str, timeout: float) -> None:
        """Waits for the stdout line ``word``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise BenchError(f"{self.name()}: no '{word}' within {timeout} s") from None
            if line is None:
                self.wait(5)
                raise BenchError(f"{self.name()} exited before '{word}': {self.stderr()}")
            if line == word:
                return

    def send_line(self, text: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(text + "\n")
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            self.popen.stdin.close()

    def wait(self, timeout: float) -> int:
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchError(f"{self.name()} took longer than {timeout} s") from None
        for t in self._threads:
            t.join(timeout=5)
        return rc

    def check(self, timeout: float) -> None:
        """Waits for a clean exit."""
        rc = self.wait(timeout)
        if rc != 0:
            raise BenchError(f"{self.name()} exited with {rc}: {self.stderr()}")

    def stdout(self) -> str:
        return "".join(self.out)

    def stderr(self) -> str:
        return "".join(self.err).strip()[-2000:] or "(no stderr)"

    def name(self) -> str:
        return os.path.basename(self.argv[0]) + " " + " ".join(self.argv[1:3])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def seqpacket_pair() -> List[socket.socket]:
    """A socketpair configured like a flow of the embedded runtime."""
    pair = list(socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    for s in pair:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, FLOW_SNDBUF)
        s.set_inheritable(True)
    return pair


def stream_pair() -> List[socket.socket]:
    """A SOCK_STREAM socketpair, for asyncio streams (which take no other)."""
    pair = list(socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM))
    for s in pair:
        s.set_inheritable(True)
    return pair


def load(path: str) -> Dict[str, Any]:
    try:
        with open(path) as f:
            result: Dict[str, Any] = json.load(f)
            return result
    except (OSError, ValueError) as e:
        raise BenchError(f"no result in {path}: {e}") from None


@dataclass
class Workdir:
    """Where the ends write their results; removed by the driver."""
    path: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="o7s-bench-"))
    n: int = 0

    def result_file(self) -> str:
        self.n += 1
        return os.path.join(self.path, f"r{self.n}.json")
