"""The examples run as the README and the documentation site say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from o7s_testing import process_alive

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_oecho_client_and_server(spawn) -> None:
    server = spawn((EXAMPLES / "oecho.py").read_text(), "-l")
    server.expect("Starting the server.")
    out = subprocess.run([sys.executable, str(EXAMPLES / "oecho.py")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello, PyOuroboros!\n"
    server.expect("New flow.")
    assert server.expect("Message from client is") == \
        "Message from client is Hello, PyOuroboros!"


@pytest.mark.embedded_only
def test_demo_runs_and_says_what_it_leaves_running(runtime) -> None:
    out = subprocess.run([sys.executable, str(EXAMPLES / "demo.py")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "on the embedded backend" in out.stdout
    assert out.stdout.count("[ok]") == 3
    assert "done: 3 flows" in out.stdout
    # Its server is gone; the daemon it started stays, and the last line
    # says so and how to stop it. That command works.
    pid = runtime.daemon_pid()
    assert pid is not None and process_alive(pid)
    last = out.stdout.splitlines()[-1]
    assert last == (f"left running: the runtime daemon o7s-irmd (pid {pid}, {runtime.dir}; "
                    "the demo started it); it exits after 600 s without use, or now with: "
                    "o7s-irm runtime stop")
    command = last.rsplit("now with: ", 1)[1].split()
    tool = Path(sys.executable).parent / command[0]
    done = subprocess.run([str(tool), *command[1:]], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert not process_alive(pid)


def test_oecho_set_serves_several_clients_at_once(spawn) -> None:
    server = spawn((EXAMPLES / "oecho_set.py").read_text(), "-l")
    server.expect("Starting the server.")
    clients = [subprocess.Popen([sys.executable, str(EXAMPLES / "oecho_set.py")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    for c in clients:
        out, err = c.communicate(timeout=30)
        assert c.returncode == 0, err
        assert out == "Hello, PyOuroboros!\n"
    lines = sorted(server.expect("") for _ in range(6))
    assert lines == ["Message from client is Hello, PyOuroboros!"] * 3 + ["New flow."] * 3
    # The oecho.py client talks to it too: the same protocol.
    out = subprocess.run([sys.executable, str(EXAMPLES / "oecho.py")],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "Hello, PyOuroboros!\n", out.stderr


@pytest.mark.parametrize("example, options", [
    ("oecho_async.py", []),
    ("oecho_anyio.py", []),
    ("oecho_anyio.py", ["--trio"]),
])
def test_async_oecho_serves_many_clients_at_once(spawn, backend: str, example: str,
                                                 options: list) -> None:
    if example == "oecho_anyio.py":
        pytest.importorskip("anyio")
        pytest.importorskip("trio")
    # Fewer on the real Ouroboros: 0.23 serialises allocations and can lose one that meets
    # an accept's timeout (docs/howto/system.md, "Known upstream bugs").
    clients = 10 if backend == "system" else 50
    server = spawn((EXAMPLES / example).read_text(), "-l", *options)
    server.expect("Starting the server.")
    out = subprocess.run([sys.executable, str(EXAMPLES / example), "-n", str(clients), *options],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello, PyOuroboros!\n" * clients
    lines = sorted(server.expect("") for _ in range(2 * clients))
    assert lines == (["Message from client is Hello, PyOuroboros!"] * clients
                     + ["New flow."] * clients)
    # The blocking oecho.py client talks to it too: the same protocol.
    out = subprocess.run([sys.executable, str(EXAMPLES / "oecho.py")],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "Hello, PyOuroboros!\n", out.stderr
