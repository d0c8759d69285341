"""Shared fixtures: every test gets its own embedded runtime directory, and
every process a test starts is killed at the end of it.

Backends: a test runs on the backend ``--backend`` names (default
``embedded``; ``system`` is the real Ouroboros; ``all`` runs each test on
both). A test marked ``system`` always runs on the system backend and one
marked ``embedded_only`` (it tests the embedded runtime itself) always on
the embedded one, as do the ``testbed`` tests (their nodes run the real
Ouroboros in namespaces of their own). Where the system backend cannot work (no IRMd, not
built), its tests skip with the reason. The ``backend`` fixture tells a
test its backend; child processes inherit it through OUROBOROS_BACKEND."""

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

import ouroboros
from o7s_system import release_fuse_mount, system_layer, system_names  # noqa: F401 (fixtures)
from o7s_testing import process_alive, wait_until

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
        try:
            wait_until(lambda: not process_alive(pid), "the daemon stops", timeout)
        except AssertionError:
            os.kill(pid, signal.SIGKILL)

    def log(self) -> str:
        try:
            return Path(self.dir, "irmd.log").read_text()
        except OSError:
            return ""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend", choices=("embedded", "system", "all"),
        default=os.environ.get("O7S_TEST_BACKEND", "embedded"),
        help="backend for the tests not tied to one: embedded (default), system (the real "
             "Ouroboros, needs an IRMd) or all (each test on both); also $O7S_TEST_BACKEND")
    parser.addoption(
        "--fuzz-records", type=int, default=20000,
        help="mutated control records test_daemon_fuzz sends the daemon (default 20000, the "
             "fast run of the test command; e.g. 1000000 for a long run)")
    parser.addoption("--fuzz-seed", type=int, default=13,
                     help="seed of test_daemon_fuzz's mutations (default 13)")
    parser.addoption("--kill-rounds", type=int, default=25,
                     help="times test_daemon_faults kills the daemon at random moments "
                          "(default 25)")
    parser.addoption("--no-sanitizers", action="store_true",
                     help="skip test_sanitizers (ASan+UBSan and TSan builds of the C++ tests)")
    parser.addoption(
        "--packaging", action="store_true",
        help="also run the slow packaging check (tests marked packaging: builds the sdist "
             "and wheel, installs each in a fresh venv; needs pip install '.[packaging]')")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if config.getoption("packaging"):
        return
    skip = pytest.mark.skip(reason="the packaging check runs with --packaging (.ci/run does)")
    for item in items:
        if item.get_closest_marker("packaging"):
            item.add_marker(skip)


def _backends(config: pytest.Config, node: "pytest.Item | pytest.Function") -> List[str]:
    # Testbed tests drive nodes whose processes use the system backend in
    # namespaces of their own; the test process itself needs no backend.
    if node.get_closest_marker("testbed"):
        return ["embedded"]
    if node.get_closest_marker("system"):
        return ["system"]
    if node.get_closest_marker("embedded_only"):
        return ["embedded"]
    wanted = config.getoption("backend")
    return ["embedded", "system"] if wanted == "all" else [wanted]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = _backends(metafunc.config, metafunc.definition)
        if len(names) > 1:
            metafunc.parametrize("backend", names, indirect=True)


_system_unavailable: List[str] = []  # the reason, once asked ("" when usable)


def system_unavailable_reason() -> str:
    """Why the system backend cannot be used here ("" when it can). Asking
    loads it in this process when it can."""
    if not _system_unavailable:
        _system_unavailable.append(ouroboros.system_backend_unavailable_reason())
    return _system_unavailable[0]


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend this test runs on: "embedded" or "system"."""
    name: str = getattr(request, "param", None) or _backends(request.config, request.node)[0]
    if name == "system" and system_unavailable_reason():
        pytest.skip(f"the system backend is unavailable: {system_unavailable_reason()}")
    return name


@pytest.fixture(autouse=True)
def runtime(monkeypatch: pytest.MonkeyPatch, backend: str) -> Iterator[Runtime]:
    # Short path under /tmp: Unix socket paths are limited to 107 bytes.
    path = tempfile.mkdtemp(prefix="o7s-")
    monkeypatch.setenv("OUROBOROS_RUNTIME_DIR", path)
    monkeypatch.setenv("OUROBOROS_BACKEND", backend)
    ouroboros.use_backend(backend)
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
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
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
                try:  # its stdout closed: let it exit, so that stderr can be shown
                    self.popen.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                raise AssertionError(f"process exited (status {self.popen.returncode}) before "
                                     f"printing {wanted!r}; saw {self.seen}; "
                                     f"stderr: {self.stderr()}")
            self.seen.append(line)
            if line.startswith(wanted):
                return line

    def send(self, line: str) -> None:
        """Writes ``line`` to the process' stdin (for a child that waits for
        the test to say when)."""
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

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

    def stop(self, grace: float) -> None:
        """SIGTERM (see SYSTEM_PROLOGUE), then SIGKILL after ``grace``
        seconds. A process that uses the real Ouroboros must end through
        exit(): killed, it leaves its FUSE mount behind (removed here), and
        killed inside the library, it can leave the IRMd's packet pool locked."""
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()
        release_fuse_mount(self.pid)

    def close(self) -> None:
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None and not stream.closed:
                stream.close()


# On the system backend a child ends on SIGTERM through sys.exit(), so that
# libouroboros-dev's exit handler runs (Python's default dies at once, and
# after an unhandled Ctrl-C it kills itself with SIGINT).
SYSTEM_PROLOGUE = ("import signal as _signal, sys as _sys; "
                   "_signal.signal(_signal.SIGTERM, lambda *_: _sys.exit(143))\n")


@pytest.fixture
def spawn(runtime: Runtime, backend: str) -> Iterator:
    """spawn(code, *args) starts ``python -c code`` in this test's runtime."""
    procs: List[Proc] = []

    def start(code: str, *args: str) -> Proc:
        if backend == "system":
            code = SYSTEM_PROLOGUE + textwrap.dedent(code)
        p = Proc(code, list(args), dict(os.environ))
        procs.append(p)
        return p

    yield start
    for p in procs:
        if backend == "system":
            p.stop(grace=10)
        p.kill()
        try:
            p.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        p._reader.join(timeout=10)
        p.close()
