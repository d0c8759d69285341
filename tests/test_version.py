"""One version, pyproject.toml's, everywhere it is shown; and the versions of
what the library talks to (python -m ouroboros --version)."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import ouroboros
from conftest import system_unavailable_reason
from o7s_testing import PROTOCOL_VERSION, PYPROJECT_VERSION


def test_the_package_version_is_pyprojects() -> None:
    assert ouroboros.__version__ == PYPROJECT_VERSION
    assert importlib.metadata.version("pyouroboros") == PYPROJECT_VERSION
    assert ouroboros.version_info().version == PYPROJECT_VERSION


def test_o7s_irm_version() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "o7s-irm"), "--version"],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == \
        (0, f"o7s-irm (pyOuroboros {PYPROJECT_VERSION})\n", "")


def test_python_m_ouroboros_version() -> None:
    done = subprocess.run([sys.executable, "-m", "ouroboros", "--version"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"pyOuroboros {PYPROJECT_VERSION}"
    assert lines[1] == f"embedded runtime protocol: {PROTOCOL_VERSION}"
    assert lines[2].startswith("system backend: ")
    assert lines[3].startswith("Ouroboros IRMd: ")
    assert done.stdout == str(ouroboros.version_info()) + "\n"


def test_version_info_matches_the_system_backend() -> None:
    info = ouroboros.version_info()
    assert info.runtime_protocol == PROTOCOL_VERSION
    reason = system_unavailable_reason()
    if "has no system backend" in reason:
        assert info.system_release is None
        assert "sdist" in str(info)  # says how to get it
    else:
        assert info.system_release is not None
        assert re.fullmatch(r"0\.2[1-3]\.\d+", info.system_release)
    if reason == "":  # the system backend works: an IRMd of its release answers
        assert info.irmd_release is not None and info.system_release is not None
        # "0.23" for 0.23.0; "0.21 or 0.22" when its reply does not tell
        assert info.system_release.rsplit(".", 1)[0] in info.irmd_release
        assert info.irmd_problem == ""
    if info.irmd_release is None:
        assert info.irmd_problem and info.irmd_problem in str(info)


def test_version_info_loads_no_ouroboros_library() -> None:
    # It only asks the IRMd's socket: loading libouroboros-dev would
    # register this process with the IRMd (or end it when none answers).
    code = ("import ouroboros\nouroboros.version_info()\nmaps = open('/proc/self/maps').read()\n"
            "print('ouroboros-dev' in maps or 'o7s-system' in maps)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr


def test_python_m_ouroboros_without_arguments_prints_help() -> None:
    done = subprocess.run([sys.executable, "-m", "ouroboros"], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and "--version" in done.stdout, done.stderr

