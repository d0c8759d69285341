"""Shared fixtures: every test gets its own embedded runtime directory, and
every process a test starts is killed at the end of it."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

from o7s_testing import process_alive

REPO = Path(__file__).resolve().parent.parent


class Runtime:
    """An isolated embedded runtime: a private directory whose daemon (if a
    test starts one) is stopped at teardown."""

    def __init__(self, path: str) -> None:
        self.dir = path

    def daemon_pid(self) -> Optional[int]:
        try:
            return int(Path(self.dir, "irmd.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop_daemon(self, timeout: float = 5.0) -> None:
        pid = self.daemon_pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process_alive(pid):
                return
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)

    def log(self) -> str:
        try:
            return Path(self.dir, "irmd.log").read_text()
        except OSError:
            return ""


@pytest.fixture(autouse=True)
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    # Short path under /tmp: Unix socket paths are limited to 107 bytes.
    path = tempfile.mkdtemp(prefix="o7s-")
    monkeypatch.setenv("OUROBOROS_RUNTIME_DIR", path)
    monkeypatch.setenv("OUROBOROS_BACKEND", "embedded")
    rt = Runtime(path)
    try:
        yield rt
    finally:
        rt.stop_daemon()
        shutil.rmtree(path, ignore_errors=True)


class Proc:
    """A Python child process running a snippet; a thread collects its
    stdout lines so that waiting for one never blocks without a timeout."""

    def __init__(self, code: str, args: List[str], env: dict) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True)
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.seen: List[str] = []
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # end of output

    @property
    def pid(self) -> int:
        return self.popen.pid

    def expect(self, wanted: str, timeout: float = 10.0) -> str:
        """Waits for a stdout line starting with ``wanted``; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line {wanted!r} within {timeout} s; saw {self.seen}")
            if line is None:
                self.lines.put(None)
                raise AssertionError(f"process exited before printing {wanted!r}; saw "
                                     f"{self.seen}; stderr: {self.stderr()}")
            self.seen.append(line)
            if line.startswith(wanted):
                return line

    def stderr(self) -> str:
        if self.popen.poll() is None or self.popen.stderr is None:
            return "(still running)"
        return self.popen.stderr.read()

    def finish(self, timeout: float = 30.0) -> Tuple[int, str, str]:
        """Waits for exit; returns (status, the stdout not yet expected, stderr)."""
        status = self.popen.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        rest = []
        while True:
            line = self.lines.get()
            if line is None:
                break
            rest.append(line + "\n")
        err = self.popen.stderr.read() if self.popen.stderr else ""
        self.close()
        return status, "".join(rest), err

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def close(self) -> None:
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None and not stream.closed:
                stream.close()


@pytest.fixture
def spawn(runtime: Runtime) -> Iterator:
    """spawn(code, *args) starts ``python -c code`` in this test's runtime."""
    procs: List[Proc] = []

    def start(code: str, *args: str) -> Proc:
        p = Proc(code, list(args), dict(os.environ))
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        try:
            p.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        p._reader.join(timeout=10)
        p.close()
