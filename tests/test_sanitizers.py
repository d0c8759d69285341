"""The C++ tests, the daemon and the decoders' fuzz harness under
AddressSanitizer + UndefinedBehaviorSanitizer, and the close / flow_use
race under ThreadSanitizer (issue 13). Each sanitizer has its own build
tree (build/asan, build/tsan; later runs reuse them); a report from the
test binaries or from a daemon they started fails the test.
``--no-sanitizers`` skips them (they take minutes on a 2-core machine)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List

import pytest

import cpp_tree
import test_cpp
from o7s_testing import process_alive, wait_until

# The embedded runtime's C++ tests, built again with sanitizers.
pytestmark = [pytest.mark.embedded_only, pytest.mark.timeout(1800)]

REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
           "WARNING: ThreadSanitizer")
FUZZ_RUNS = 200000


@pytest.fixture(autouse=True)
def _wanted(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--no-sanitizers"):
        pytest.skip("--no-sanitizers")


def _tree(name: str, flags: str, targets: List[str]) -> Path:
    tree = cpp_tree.REPO / "build" / name
    cmd = [cpp_tree.cmake(), "-S", str(cpp_tree.REPO), "-B", str(tree),
           "-DCMAKE_BUILD_TYPE=Debug", "-DO7S_BUILD_TESTS=ON", "-DO7S_BUILD_FUZZERS=ON",
           "-DO7S_BUILD_PYTHON=OFF", f"-DCMAKE_CXX_FLAGS={flags}", f"-DCMAKE_C_FLAGS={flags}"]
    if not (tree / "CMakeCache.txt").exists():
        cmd += cpp_tree.generator()
    cpp_tree.run(cmd)
    cpp_tree.run([cpp_tree.cmake(), "--build", str(tree), "--target", *targets, "-j", "2"],
                 timeout=1500)
    return tree


def _run(cmd: List[str], env: Dict[str, str]) -> str:
    """Runs a sanitized binary in a runtime of its own; returns what it and
    the daemon it started said (the daemon stopped, so that LeakSanitizer
    has spoken too), failing on any sanitizer report."""
    with tempfile.TemporaryDirectory(prefix="o7s-") as d:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                                  env=dict(env, OUROBOROS_RUNTIME_DIR=d))
        finally:
            _stop_daemon(d)
        try:
            log = Path(d, "irmd.log").read_text()
        except OSError:
            log = ""
    said = done.stdout + done.stderr + log
    reports = [r for r in REPORTS if r in said]
    assert not reports, f"{' '.join(cmd)}: {reports}\n{said[-6000:]}"
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}\n{said[-6000:]}"
    return said


def _stop_daemon(runtime_dir: str) -> None:
    try:
        pid = int(Path(runtime_dir, "irmd.pid").read_text())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    wait_until(lambda: not process_alive(pid), "the sanitized daemon stops", timeout=30)


def _sanitized(name: str, flags: str, targets: List[str], options: Dict[str, str]):
    tree = _tree(name, flags, targets)
    tests = tree / "cpp" / "tests"
    env = dict(os.environ, OUROBOROS_IRMD=str(tree / "cpp" / "o7s-irmd"), **options)
    return tree, tests, env


ASAN_FLAGS = "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
ASAN_OPTIONS = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1",
                "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}


def test_cpp_tests_daemon_and_fuzzer_under_asan_and_ubsan() -> None:
    tree, tests, env = _sanitized("asan", ASAN_FLAGS, ["o7s_tests", "fuzz_decoders"],
                                  ASAN_OPTIONS)
    for binary in test_cpp.BINARIES:
        assert "0 failed" in _run([str(tests / binary)], env)
    said = _run([str(tree / "cpp" / "fuzz" / "fuzz_decoders"), "--runs", str(FUZZ_RUNS)], env)
    assert f"{FUZZ_RUNS} inputs" in said


TSAN_FLAGS = "-fsanitize=thread -fno-omit-frame-pointer"


def test_close_and_flow_use_under_tsan() -> None:
    _, tests, env = _sanitized("tsan", TSAN_FLAGS, ["test_flow_close", "test_flow", "o7s-irmd"],
                               {"TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1"})
    for cmd in ([str(tests / "test_flow_close")],
                [str(tests / "test_flow"), "close from another thread wakes a blocked read",
                 "close twice is a no-op, use after close throws", "the destructor deallocates",
                 "flow_ref views a flow without owning it"]):
        assert "0 failed" in _run(cmd, env)
