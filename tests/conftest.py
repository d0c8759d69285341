"""Shared fixtures: every test gets its own embedded runtime directory, and
every process a test starts is killed at the end of it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

REPO = Path(__file__).resolve().parent.parent


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
    """A Python child process running a snippet, with line-oriented output."""

    def __init__(self, code: str, args: List[str], env: dict) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def expect(self, wanted: str, timeout: float = 10.0) -> str:
        """Waits for a stdout line starting with ``wanted``."""
        import selectors
        assert self.popen.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.popen.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"no line {wanted!r} within {timeout} s; saw {seen}; "
                                     f"stderr: {self.stderr_now()}")
            line = self.popen.stdout.readline()
            if not line:
                raise AssertionError(f"process exited before printing {wanted!r}; saw {seen}; "
                                     f"stderr: {self.stderr_now()}")
            if line.startswith(wanted):
                return line.rstrip("\n")
            seen.append(line)

    def stderr_now(self) -> str:
        if self.popen.poll() is None or self.popen.stderr is None:
            return "(still running)"
        return self.popen.stderr.read()

    def finish(self, timeout: float = 30.0) -> tuple[int, str, str]:
        """Waits for exit; returns (status, stdout, stderr)."""
        out, err = self.popen.communicate(timeout=timeout)
        return self.popen.returncode, out, err

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)


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
            p.popen.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pass
