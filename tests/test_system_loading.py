"""Importing and selecting the system backend never kills the process:
without an IRMd, with a dead or hung one, or where libouroboros-dev's
load-time constructor would call exit(), the embedded backend is chosen
(auto) or selecting "system" raises an exception that says why.

Each case runs in a child process; the IRMd's absence is staged in a
private mount namespace (unshare, needs root) so that a running IRMd and
its users are left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Dict, Optional

import pytest

# The work happens in child processes; this one stays on the embedded backend.
pytestmark = pytest.mark.embedded_only

IRMD_DIR = os.path.realpath("/var/run/ouroboros")

REPORT = """
import ouroboros, time
start = time.monotonic()
print("auto:", ouroboros.backend())
print("reason:", ouroboros.system_backend_unavailable_reason())
print("seconds:", round(time.monotonic() - start, 1))
"""

SELECT_SYSTEM = """
import ouroboros
try:
    ouroboros.use_backend("system")
    print("selected:", ouroboros.backend())
except ouroboros.errors.NotSupported as e:
    print("refused:", e)
"""


def child_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("OUROBOROS_BACKEND", None)  # auto
    return env


def run(code: str, setup: Optional[str] = None, stdin: bool = False) -> Dict[str, str]:
    """Runs `code` in a child Python (after shell `setup` in a private mount
    namespace); returns its "key: value" lines. The child must exit 0."""
    if setup is None:
        cmd = [sys.executable] if stdin else [sys.executable, "-c", code]
    else:
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               f'{setup} && exec "$0" -c "$1"', sys.executable, code]
    done = subprocess.run(cmd, input=code if stdin else None, capture_output=True, text=True,
                          timeout=60, env=child_env(), stdin=None if stdin else subprocess.DEVNULL)
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr}"
    return dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)


def unshare_problem() -> Optional[str]:
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                          capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else f"unshare -m is not permitted: {done.stderr.strip()}"


def without_irmd(extra: str = "true") -> str:
    """Shell set-up that hides the IRMd's socket directory, then runs `extra`."""
    if not os.path.isdir(IRMD_DIR):
        return extra  # no Ouroboros here at all
    problem = unshare_problem()
    if problem:
        pytest.skip(problem)
    return f"mount -t tmpfs tmpfs {IRMD_DIR} && {extra}"


@pytest.fixture(scope="module")
def here() -> Dict[str, str]:
    """What a child process here reports, with the IRMd as it is."""
    return run(REPORT)


@pytest.fixture
def plugin_built(here: Dict[str, str]) -> None:
    if "has no system backend" in here["reason"]:
        pytest.skip(here["reason"])


@pytest.fixture
def irmd_answers(here: Dict[str, str]) -> None:
    if here["auto"] != "system":
        pytest.skip(f"the system backend is unavailable here: {here['reason']}")


def test_importing_loads_no_ouroboros_library() -> None:
    maps = run("import ouroboros\nprint('maps:', 'ouroboros-dev' in open('/proc/self/maps').read()"
               " or 'o7s-system' in open('/proc/self/maps').read())")
    assert maps["maps"] == "False"


def test_without_an_irmd(plugin_built) -> None:
    report = run(REPORT, without_irmd())
    assert report["auto"] == "embedded"
    assert "no IRMd is running" in report["reason"]
    assert "no IRMd is running" in run(SELECT_SYSTEM, without_irmd())["refused"]


def test_with_a_dead_irmd(plugin_built) -> None:
    # A socket file nobody listens on: what an IRMd that was killed leaves.
    stale = (f"python3 -c \"import socket; socket.socket(socket.AF_UNIX, "
             f"socket.SOCK_SEQPACKET).bind('{IRMD_DIR}/irm.sock')\"")
    report = run(REPORT, without_irmd(stale))
    assert report["auto"] == "embedded"
    assert "stale socket" in report["reason"]
    assert "stale socket" in run(SELECT_SYSTEM, without_irmd(stale))["refused"]


def test_with_a_hung_irmd(plugin_built) -> None:
    # Listens, never answers: the probe gives up after its short timeout.
    # (The listener lives 20 s, long past the report; the report starts
    # once its socket exists.)
    hung = (f"(python3 -c \"import socket, time; s = socket.socket(socket.AF_UNIX, "
            f"socket.SOCK_SEQPACKET); s.bind('{IRMD_DIR}/irm.sock'); s.listen(8); "
            f"time.sleep(20)\" </dev/null >/dev/null 2>&1 &) && "
            f"until [ -S {IRMD_DIR}/irm.sock ]; do sleep 0.01; done")
    report = run(REPORT, without_irmd(hung))
    assert report["auto"] == "embedded"
    assert "did not answer" in report["reason"]
    assert float(report["seconds"]) < 10


def test_a_script_read_from_stdin(irmd_answers) -> None:
    # libouroboros-dev names a process started as "python"/"python3" by its
    # script, argv[1]; here there is none, and it would exit().
    if os.path.basename(sys.executable) not in ("python", "python2", "python3"):
        pytest.skip(f"the interpreter is called {os.path.basename(sys.executable)}")
    report = run(REPORT, stdin=True)
    assert report["auto"] == "embedded"
    assert "argv[1]" in report["reason"]
    assert "argv[1]" in run(SELECT_SYSTEM, stdin=True)["refused"]


def test_without_the_fuse_mount_directory(irmd_answers) -> None:
    # libouroboros-dev built with FUSE mounts a file system in its
    # directory (/tmp/ouroboros) when it loads, and exits without it.
    problem = unshare_problem()
    if problem:
        pytest.skip(problem)
    report = run(REPORT, "mount -t tmpfs tmpfs /tmp")
    if report["auto"] == "system":
        return  # a library built without FUSE: nothing to refuse
    assert "FUSE" in report["reason"]
