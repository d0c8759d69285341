"""Helpers and fixtures for the tests on the real Ouroboros (the system
backend). The real IRMd is shared and keeps its state between tests, so
every test uses names of its own and removes them at the end."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import uuid
from typing import Callable, Iterator, List, Optional, Tuple

import pytest

import ouroboros
from o7s_testing import wait_until
from ouroboros import irm
from ouroboros.errors import IrmError

FUSE_DIR = "/tmp/ouroboros"


def unique_name(what: str) -> str:
    """A name no other test (or test run) uses."""
    return f"o7s-test-{what}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def ouroboros_tool(name: str) -> Optional[str]:
    """Path of an Ouroboros program (irmd, oping, ...), or None."""
    sbin = (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}")
    return shutil.which(name) or next((p for p in sbin if os.access(p, os.X_OK)), None)


def ouroboros_release() -> Tuple[int, int]:
    """(major, minor) of the installed IRMd (`irmd --version`)."""
    irmd = ouroboros_tool("irmd")
    if irmd is None:
        return (0, 0)
    out = subprocess.run([irmd, "--version"], capture_output=True, text=True, timeout=10).stdout
    found = re.search(r"(\d+)\.(\d+)\.\d+", out)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def peer_dealloc_seen(backend: str) -> bool:
    """Whether a process learns at once that its peer deallocated a flow:
    on the embedded runtime, and on the real Ouroboros from 0.23 (before,
    the local IPCP tells the other end nothing; only the peer timeout, 120 s
    by default, ends the flow there)."""
    return backend == "embedded" or ouroboros_release() >= (0, 23)


PEER_DEALLOC_UNSEEN = ("Ouroboros before 0.23 does not tell a process that its peer "
                       "deallocated the flow (only the peer timeout does)")


def release_fuse_mount(pid: int) -> None:
    """Removes the FUSE mount that libouroboros-dev leaves behind when the
    process ``pid`` was killed (no-op when there is none)."""
    mount = f"{FUSE_DIR}/proc.{pid}"
    try:
        with open("/proc/self/mountinfo") as f:
            mounted = any(line.split()[4] == mount for line in f)
    except OSError:
        mounted = False
    if mounted:
        subprocess.run(["umount", "-l", mount], capture_output=True, timeout=10)
    try:
        os.rmdir(mount)
    except OSError:
        pass


def stop_process(p: "subprocess.Popen[str]", sig: int = signal.SIGTERM, grace: float = 10) -> None:
    """Ends a process that uses Ouroboros: ``sig`` first (the C tools and
    Python end cleanly on it), SIGKILL after ``grace`` seconds."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
    release_fuse_mount(p.pid)


def bind_when_announced(pid: int, name: str, timeout: float = 10) -> None:
    """Binds ``pid`` to ``name`` as soon as the process has announced itself
    to the IRMd (which it does when libouroboros-dev loads)."""
    def bound() -> bool:
        try:
            irm.bind_process(pid, name)
            return True
        except IrmError:
            return False

    wait_until(bound, f"process {pid} announces itself to the IRMd", timeout)


@contextlib.contextmanager
def c_server(tool: str, name: str) -> Iterator[None]:
    """Runs `tool --listen` bound to `name`; ends it afterwards."""
    path = ouroboros_tool(tool)
    if path is None:
        pytest.skip(f"the Ouroboros tool {tool} is not installed")
    p = subprocess.Popen([path, "--listen"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bind_when_announced(p.pid, name)
        yield
    finally:
        stop_process(p)


def forget_name(name: str, ipcp: int) -> None:
    """Removes a name a test created: registration, then the name (which
    takes its bindings along)."""
    for step in (lambda: irm.unreg_name(name, ipcp), lambda: irm.destroy_name(name)):
        try:
            step()
        except IrmError:
            pass


@pytest.fixture(scope="session")
def system_layer() -> Iterator[irm.IpcpInfo]:
    """A bootstrapped local IPCP of the running IRMd: the first there is, or
    one made for this session (and destroyed after it)."""
    reason = ouroboros.system_backend_unavailable_reason()
    if reason:
        pytest.skip(f"the system backend is unavailable: {reason}")
    ouroboros.use_backend("system")
    made: Optional[int] = None
    try:
        info = irm.find_ipcp()
    except IrmError:
        name = unique_name("layer")
        made = irm.create_ipcp(name, irm.IpcpType.LOCAL)
        irm.bootstrap_ipcp(made, irm.IpcpConfig(irm.IpcpType.LOCAL, name))
        info = irm.find_ipcp(name)
    yield info
    if made is not None:
        ouroboros.use_backend("system")
        irm.destroy_ipcp(made)


@pytest.fixture
def system_names(system_layer: irm.IpcpInfo) -> Iterator[Callable[[str], str]]:
    """names(what) -> a new unique name, created and registered in the
    test layer; all of them are removed after the test."""
    made: List[str] = []

    def make(what: str) -> str:
        name = unique_name(what)
        irm.create_name(irm.NameInfo(name))
        made.append(name)
        irm.reg_name(name, system_layer.pid)
        return name

    yield make
    for name in made:
        forget_name(name, system_layer.pid)
