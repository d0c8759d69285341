"""The C++ examples: a plain C++ echo server, and a C++ program that embeds
Python and hands the flows it accepts to a Python function (built in the
run's one build tree, cpp_tree.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import cpp_tree

# These test C++ examples that serve names on the embedded runtime.
pytestmark = pytest.mark.embedded_only

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "examples" / "cpp"


@pytest.fixture(scope="session")
def examples() -> Path:
    cpp_tree.build("oecho_server", "embed_server")
    return cpp_tree.EXAMPLES


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
def test_cpp_program_hands_accepted_flows_to_python(examples: Path, spawn, monkeypatch) -> None:
    # The embedded interpreter finds its prefix through PATH, which need not
    # lead to this one's (with-irmd puts /usr/bin first): point it at the
    # installed package.
    import ouroboros
    packages = str(Path(ouroboros.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (packages, os.environ.get("PYTHONPATH")) if p))
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
