"""Builds the C++ tests with CMake and runs them, one pytest case per
test binary, each in its own embedded runtime."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# These test the C++ suite, which builds flow pairs in one process and checks embedded IPCP ids.
pytestmark = pytest.mark.embedded_only

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build" / "cpp-tests"
BINARIES = ["test_flow", "test_flow_batch", "test_event", "test_crypto", "test_wire",
            "test_registry", "test_relay", "test_process_info", "test_irm"]


@pytest.fixture(scope="session")
def cpp_tests() -> Path:
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.fail("cmake is needed to build the C++ tests (pip install '.[test]' brings it)")
    configure = [cmake, "-S", str(REPO), "-B", str(BUILD), "-DO7S_BUILD_TESTS=ON",
                 "-DO7S_BUILD_PYTHON=OFF", "-DCMAKE_BUILD_TYPE=Debug"]
    if shutil.which("ninja") and not (BUILD / "CMakeCache.txt").exists():
        configure += ["-G", "Ninja"]
    for cmd in (configure, [cmake, "--build", str(BUILD), "--target", "o7s_tests", "-j", "2"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return BUILD / "cpp" / "tests"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("binary", BINARIES)
def test_cpp(cpp_tests: Path, binary: str) -> None:
    done = subprocess.run([str(cpp_tests / binary)], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "0 failed" in done.stdout, report
