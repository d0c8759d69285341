"""C++ programs can use the library through an installed CMake package
(find_package(o7s)) and through add_subdirectory()."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# These test C++ consumers that check they ran on the embedded backend.
pytestmark = pytest.mark.embedded_only

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build" / "cmake-consumer"
CONSUMER = Path(__file__).resolve().parent / "cmake_consumer"


def run(cmd: list[str], timeout: float = 600) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def generator() -> list[str]:
    return ["-G", "Ninja"] if shutil.which("ninja") else []


@pytest.fixture(scope="session")
def cmake() -> str:
    path = shutil.which("cmake")
    if path is None:
        pytest.fail("cmake is needed (pip install '.[test]' brings it)")
    return path


@pytest.fixture(scope="session")
def installed_sdk(cmake: str) -> Path:
    build, prefix = BUILD / "sdk", BUILD / "prefix"
    shutil.rmtree(prefix, ignore_errors=True)
    if not (build / "CMakeCache.txt").exists():
        run([cmake, "-S", str(REPO), "-B", str(build), *generator(), "-DO7S_BUILD_PYTHON=OFF",
             "-DCMAKE_BUILD_TYPE=Release"])
    run([cmake, "--build", str(build), "-j", "2"])
    run([cmake, "--install", str(build), "--prefix", str(prefix)])
    return prefix


def build_consumer(cmake: str, name: str, *options: str) -> Path:
    build = BUILD / name
    shutil.rmtree(build, ignore_errors=True)
    run([cmake, "-S", str(CONSUMER), "-B", str(build), *generator(), *options])
    run([cmake, "--build", str(build), "-j", "2"])
    return build / "consumer"


def run_consumer(binary: Path) -> str:
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.timeout(900)
def test_find_package_consumer(cmake: str, installed_sdk: Path, runtime) -> None:
    binary = build_consumer(cmake, "installed", f"-DCMAKE_PREFIX_PATH={installed_sdk}")
    assert run_consumer(binary).strip() == "ok embedded"
    # The installed library started the installed daemon, found relative to
    # itself (the install is relocatable), not the one in the build tree.
    daemon = os.readlink(f"/proc/{runtime.daemon_pid()}/exe")
    assert daemon == str(installed_sdk / "libexec" / "o7s-irmd")


@pytest.mark.timeout(900)
def test_add_subdirectory_consumer(cmake: str) -> None:
    binary = build_consumer(cmake, "subdirectory", f"-DO7S_SOURCE_DIR={REPO}",
                            "-DO7S_BUILD_PYTHON=OFF")
    assert run_consumer(binary).strip() == "ok embedded"
