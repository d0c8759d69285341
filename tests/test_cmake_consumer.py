"""C++ programs can use the library through an installed CMake package
(find_package(o7s)) and through add_subdirectory(). The add_subdirectory
consumer is the run's build tree itself (cpp_tree.py); the find_package one
builds against the SDK installed from that tree."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import cpp_tree
from o7s_testing import PYPROJECT_VERSION

# These test C++ consumers that check they ran on the embedded backend.
pytestmark = pytest.mark.embedded_only


@pytest.fixture(scope="session")
def installed_sdk() -> Path:
    return cpp_tree.install_sdk(cpp_tree.TREE / "sdk-prefix")


def run_consumer(binary: Path) -> str:
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.timeout(900)
def test_find_package_consumer(installed_sdk: Path, runtime) -> None:
    build = cpp_tree.TREE / "installed-consumer"
    shutil.rmtree(build, ignore_errors=True)
    cpp_tree.run([cpp_tree.cmake(), "-S", str(cpp_tree.SOURCE), "-B", str(build),
                  *cpp_tree.generator(), f"-DCMAKE_PREFIX_PATH={installed_sdk}"])
    cpp_tree.run([cpp_tree.cmake(), "--build", str(build), "-j", "2"])
    assert run_consumer(build / "consumer").strip() == "ok embedded"
    # The installed library started the installed daemon, found relative to
    # itself (the install is relocatable), not the one in the build tree.
    daemon = os.readlink(f"/proc/{runtime.daemon_pid()}/exe")
    assert daemon == str(installed_sdk / "libexec" / "o7s-irmd")


@pytest.mark.timeout(900)
def test_add_subdirectory_consumer() -> None:
    cpp_tree.build("consumer")
    assert run_consumer(cpp_tree.CONSUMER).strip() == "ok embedded"


def test_the_package_version_is_pyprojects(installed_sdk: Path) -> None:
    # One source of the version: find_package(o7s X.Y) compares with it.
    [file] = installed_sdk.glob("lib*/cmake/o7s/o7sConfigVersion.cmake")
    assert f'set(PACKAGE_VERSION "{PYPROJECT_VERSION}")' in file.read_text()
