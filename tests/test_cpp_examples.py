"""The C++ examples: a plain C++ echo server, and a C++ program that embeds
Python and hands the flows it accepts to a Python function."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pybind11
import pytest

# These test C++ examples that serve names on the embedded runtime.
pytestmark = pytest.mark.embedded_only

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "examples" / "cpp"
BUILD = REPO / "build" / "examples"


@pytest.fixture(scope="session")
def examples() -> Path:
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.fail("cmake is needed (pip install '.[test]' brings it)")
    configure = [cmake, "-S", str(SOURCE), "-B", str(BUILD),
                 f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
                 f"-DPython_EXECUTABLE={sys.executable}"]
    if shutil.which("ninja") and not (BUILD / "CMakeCache.txt").exists():
        configure += ["-G", "Ninja"]
    for cmd in (configure, [cmake, "--build", str(BUILD), "-j", "2"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return BUILD


def start(spawn, *argv: str):
    """Runs a compiled example under the spawn fixture (killed at teardown).
    An embedded interpreter finds its installation through the first
    python3 in PATH: make that the one running the tests (with-irmd, for
    one, puts /usr/bin first)."""
    return spawn("import os, sys; "
                 "os.environ['PATH'] = os.path.dirname(sys.executable) + os.pathsep + "
                 "os.environ['PATH']; "
                 "os.execv(sys.argv[1], sys.argv[1:])", *argv)


@pytest.mark.timeout(900)
def test_cpp_oecho_server_with_python_client(examples: Path, spawn) -> None:
    server = start(spawn, str(examples / "oecho_server"))
    server.expect("Starting the server.")
    out = subprocess.run([sys.executable, str(REPO / "examples" / "oecho.py")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello, PyOuroboros!\n"
    assert server.expect("Message from client is") == \
        "Message from client is Hello, PyOuroboros!"


@pytest.mark.timeout(900)
def test_cpp_program_hands_accepted_flows_to_python(examples: Path, spawn) -> None:
    server = start(spawn, str(examples / "embed_server"), "upper",
                   str(SOURCE / "handler.py"), "2")
    server.expect("serving upper")
    from ouroboros.dev import flow_alloc
    for text in ("hello", "wörld"):
        with flow_alloc("upper", timeo=10) as f:
            f.set_rcv_timeout(10)
            f.writeline(text)
            assert f.readline() == f"{text.upper()} (from Python on the embedded backend)"
    status, _, err = server.finish(timeout=30)
    assert status == 0, err
