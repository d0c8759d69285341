"""The documentation site (docs/, Sphinx): it builds with warnings as
errors, its snippets run (Sphinx's doctest builder, on the embedded
runtime), and every public name it documents has a docstring."""

from __future__ import annotations

import importlib
import inspect
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from conftest import REPO, Runtime

pytestmark = pytest.mark.embedded_only

DOCS = REPO / "docs"


def sphinx(builder: str, out: Path) -> subprocess.CompletedProcess:
    # -E: read every page afresh; -W --keep-going: every warning, then fail.
    return subprocess.run([sys.executable, "-m", "sphinx", "-E", "-q", "-W", "--keep-going",
                           "-b", builder, str(DOCS), str(out)],
                          capture_output=True, text=True, timeout=300)


def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    done = sphinx("html", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    api = (tmp_path / "api.html").read_text()
    for name in ("ouroboros.dev.flow_alloc", "ouroboros.version_info", "ouroboros.qos.QoSSpec"):
        assert f'id="{name}"' in api, name
    # The tutorial is the README's block that test_tools_tutorial.py runs.
    assert "oping_server" in (tmp_path / "tutorial.html").read_text()


def test_every_snippet_runs(tmp_path: Path, runtime: Runtime) -> None:
    done = sphinx("doctest", tmp_path)
    report = (tmp_path / "output.txt").read_text() if (tmp_path / "output.txt").exists() else ""
    assert done.returncode == 0, done.stdout + done.stderr + report
    assert "0 failures in tests" in report and "0 failures in setup code" in report
    ran = sum(int(n) for n in re.findall(r"^ +(\d+) tests$", report, re.M))
    assert ran >= 20, report


def public_routines_without_docstring() -> List[str]:
    missing = []
    for module_name in runpy.run_path(str(DOCS / "conf.py"))["API_MODULES"]:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue
            own = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
            if not (own or "").strip():
                missing.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if not attr.startswith("_") and (inspect.isroutine(value) or
                                                     isinstance(value, property)):
                        if not (getattr(value, "__doc__", None) or "").strip():
                            missing.append(f"{module_name}.{name}.{attr}")
    return sorted(set(missing))


def test_every_public_name_has_a_docstring() -> None:
    assert public_routines_without_docstring() == []
