"""The package is typed: stubs for the compiled core match it, and mypy
--strict accepts the package and the examples."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Set

import pytest

import ouroboros
from ouroboros import _core

REPO = Path(__file__).resolve().parent.parent
STUB = REPO / "python" / "ouroboros" / "_core.pyi"


def member_name(node: ast.stmt) -> str:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return ""


def stub_names() -> Dict[str, Set[str]]:
    """Top-level names of the stub, with the members of its classes."""
    names: Dict[str, Set[str]] = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {member_name(n) for n in node.body} - {""}
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = set()
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = set()
    return names


def public(cls: type) -> Set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


def test_the_stub_names_what_the_core_module_has() -> None:
    stub = stub_names()
    assert {n for n in stub if not n.startswith("_")} == public(_core)  # type: ignore[arg-type]
    for name, members in stub.items():
        cls = getattr(_core, name, None)
        if not inspect.isclass(cls):
            continue
        if issubclass(cls, int):  # the enums: the same members (values: test_flags)
            assert set(cls.__members__) == members, name
            continue
        assert public(cls) == {m for m in members if not m.startswith("_")}, name
        for dunder in {m for m in members if m.startswith("__")}:
            assert dunder in vars(cls), f"{name}.{dunder}"
    assert public(_core.irm) == stub["_IrmModule"]  # type: ignore[arg-type]


def test_py_typed_and_stub_are_installed() -> None:
    pkg = Path(ouroboros.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_core.pyi").exists()


def mypy(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental",
                           "--cache-dir=/dev/null", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ, "MYPYPATH": ""})


@pytest.mark.timeout(600)
def test_mypy_strict_accepts_the_package_and_the_examples() -> None:
    done = mypy("--strict", "python/ouroboros", "examples")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.timeout(600)
def test_mypy_sees_the_real_types(tmp_path: Path) -> None:
    # If the stubs were missing or Any, these mistakes would pass.
    bad = tmp_path / "misuse.py"
    bad.write_text(
        "from ouroboros.dev import flow_alloc\n"
        "from ouroboros.event import FEventQueue, FlowSet\n"
        "f = flow_alloc('x')\n"
        "n: str = f.read()\n"
        "f.set_rcv_timeout('soon')\n"
        "fs = FlowSet([f])\n"
        "for g, t in FEventQueue():\n"
        "    g.no_such_method()\n")
    done = mypy("--strict", str(bad), cwd=REPO / "python")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert 'Incompatible types in assignment (expression has type "bytes"' in out
    assert '"set_rcv_timeout" of "Flow" has incompatible type "str"' in out
    assert '"Flow" has no attribute "no_such_method"' in out
