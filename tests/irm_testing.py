"""Helpers for the IRM tests: script files, and waiting for the IRM to
reach a state."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List, Tuple

from o7s_testing import wait_until  # noqa: F401 (the IRM tests take it from here)
from ouroboros import irm

#: The o7s-irm console script of this environment.
TOOL = Path(sys.executable).parent / "o7s-irm"


def o7s_irm(*args: str) -> Tuple[int, str, str]:
    """Runs o7s-irm; its exit status, stdout and stderr."""
    done = subprocess.run([str(TOOL), *args], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


# spawn(EXEC, script, *args) runs `python script args` as the spawned
# process itself (exec keeps its pid and pipes), so its command line shows
# the script, as when a user starts it.
EXEC = "import os, sys; os.execv(sys.executable, [sys.executable] + sys.argv[1:])"

# A server: prints what it was started with, then answers `count` flows
# (argv[1], default 1) with "<tag> <pid> <args>" and exits.
SERVER = """
import os, sys
from ouroboros.dev import flow_accept
count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
print("started", os.getpid(), os.getcwd(), " ".join(sys.argv[1:]), flush=True)
print("fds", " ".join(sorted(os.listdir("/proc/self/fd"))), flush=True)
print("runtime", os.environ.get("OUROBOROS_RUNTIME_DIR"), flush=True)
for _ in range(count):
    with flow_accept(timeo=30) as f:
        f.write(("%s %d %s" % (os.path.basename(sys.argv[0]), os.getpid(),
                               " ".join(sys.argv[1:]))).encode())
        print("served", flush=True)
"""


def write_script(directory: Path, name: str, body: str = SERVER,
                 executable: bool = True) -> str:
    """A Python script file; executable ones get a #! line for this
    interpreter. Returns its real path."""
    path = directory / name
    text = textwrap.dedent(body)
    if executable:
        text = f"#!{sys.executable}\n" + text
    path.write_text(text)
    path.chmod(0o755 if executable else 0o644)
    return os.path.realpath(path)


def bound_pids(name: str) -> List[int]:
    """The processes bound to ``name`` now."""
    return [p.pid for n in irm.list_bindings() if n.name == name for p in n.processes]


def bindings_of(name: str) -> irm.NameBindings:
    [found] = [n for n in irm.list_bindings() if n.name == name]
    return found


def log_of(runtime_dir: str, program: str) -> str:
    """What an auto-started program wrote (its log in the runtime dir)."""
    try:
        return Path(runtime_dir, f"prog-{os.path.basename(program)}.log").read_text()
    except OSError:
        return ""
