"""Builds the C++ tests (in the run's one build tree, cpp_tree.py) and runs
them, one pytest case per test binary, each in its own embedded runtime."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import cpp_tree

# These test the C++ suite, which builds flow pairs in one process and checks embedded IPCP ids.
pytestmark = pytest.mark.embedded_only

BINARIES = ["test_flow", "test_flow_batch", "test_event", "test_crypto", "test_wire",
            "test_registry", "test_relay", "test_process_info", "test_irm", "test_deadline",
            "test_state_file", "test_flow_close", "test_read_many_into"]


@pytest.fixture(scope="session")
def cpp_tests() -> Path:
    cpp_tree.build("o7s_tests")
    return cpp_tree.CPP_TESTS


@pytest.mark.timeout(900)
@pytest.mark.parametrize("binary", BINARIES)
def test_cpp(cpp_tests: Path, binary: str) -> None:
    done = subprocess.run([str(cpp_tests / binary)], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "0 failed" in done.stdout, report
