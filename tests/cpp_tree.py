"""The one CMake build tree of a test run, for every test that needs the C++
library compiled: the C++ tests, the CMake consumers, the C++ examples and
the benchmark program. The library is compiled once per run; each test
builds only the targets it needs, and a later run reuses what is built.

The tree's root is tests/cmake_consumer, which adds the source tree with
add_subdirectory() (what the add_subdirectory consumer test checks) and,
through the O7S_BUILD_* options, the tests, examples and benchmarks; the
find_package() consumer builds against the SDK installed from this tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Set

import pybind11
import pytest

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "build" / "cpp-tree"
SOURCE = Path(__file__).resolve().parent / "cmake_consumer"

#: Where the tree puts what it builds.
CPP_TESTS = TREE / "o7s" / "cpp" / "tests"
EXAMPLES = TREE / "o7s" / "examples" / "cpp"
CPP_BENCH = TREE / "o7s" / "benchmarks" / "o7s_bench"
CONSUMER = TREE / "consumer"

_built: Set[str] = set()


def cmake() -> str:
    # The one beside this Python first (what pip install '.[test]' brings):
    # another on PATH (with-irmd puts /usr/bin first) would regenerate the
    # tree and build it all again.
    beside = Path(sys.executable).with_name("cmake")
    if beside.exists():
        return str(beside)
    path = shutil.which("cmake")
    if path is None:
        pytest.fail("cmake is needed to build the C++ parts (pip install '.[test]' brings it)")
    return path


def generator() -> List[str]:
    return ["-G", "Ninja"] if shutil.which("ninja") else []


def run(cmd: List[str], timeout: float = 900) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def _configure() -> None:
    if "(configured)" in _built:
        return
    cmd = [cmake(), "-S", str(SOURCE), "-B", str(TREE), f"-DO7S_SOURCE_DIR={REPO}",
           "-DCMAKE_BUILD_TYPE=Debug", "-DO7S_BUILD_TESTS=ON", "-DO7S_BUILD_EXAMPLES=ON",
           "-DO7S_BUILD_BENCHMARKS=ON", "-DO7S_BUILD_PYTHON=ON", "-DO7S_INSTALL_SDK=ON",
           f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", f"-DPython_EXECUTABLE={sys.executable}"]
    if not (TREE / "CMakeCache.txt").exists():
        cmd += generator()
    run(cmd)
    _built.add("(configured)")


def build(*targets: str) -> Path:
    """Builds `targets` in the tree (once per run); returns the tree."""
    _configure()
    wanted = [t for t in targets if t not in _built]
    if wanted:
        run([cmake(), "--build", str(TREE), "--target", *wanted, "-j", "2"])
        _built.update(wanted)
    return TREE


def install_sdk(prefix: Path) -> Path:
    """The C++ SDK of this tree installed under `prefix` (afresh)."""
    build("o7s_shared", "o7s-irmd")
    if "OUROBOROS_FOUND:INTERNAL=1" in (TREE / "CMakeCache.txt").read_text():
        build("o7s-system")  # the system backend plugin, where it is built
    shutil.rmtree(prefix, ignore_errors=True)
    run([cmake(), "--install", str(TREE), "--component", "sdk", "--prefix", str(prefix)])
    return prefix
