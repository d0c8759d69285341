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


@pytest.fixture(scope="module")
def doctrees(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pages as read once (reading the API reference is most of a
    build): the HTML build reads them, the doctest build reuses them."""
    return tmp_path_factory.mktemp("doctrees")


def sphinx(builder: str, out: Path, doctrees: Path, fresh: bool) -> subprocess.CompletedProcess:
    # -E: read every page afresh; -W --keep-going: every warning, then fail.
    return subprocess.run([sys.executable, "-m", "sphinx", *(["-E"] if fresh else []), "-q",
                           "-W", "--keep-going", "-d", str(doctrees), "-b", builder,
                           str(DOCS), str(out)],
                          capture_output=True, text=True, timeout=300)


def test_the_site_builds_without_warnings(tmp_path: Path, doctrees: Path) -> None:
    done = sphinx("html", tmp_path, doctrees, fresh=True)
    assert done.returncode == 0, done.stdout + done.stderr
    api = (tmp_path / "api.html").read_text()
    # Every name each module exports is in the reference, where home_of
    # says (asyncio.flow_alloc too, which is not dev.flow_alloc), and the
    # members classes inherit from the compiled core (dev.Flow.read).
    conf = runpy.run_path(str(DOCS / "conf.py"))
    for module_name in conf["API_MODULES"]:
        for name in importlib.import_module(module_name).__all__:
            home = conf["home_of"](module_name, name)
            assert f'id="{home}.{name}"' in api, f"{module_name}.{name}"
    for name in ("ouroboros.asyncio.flow_alloc", "ouroboros.dev.Flow.read",
                 "ouroboros.dev.Flow.set_rcv_timeout", "ouroboros.event.FlowSet.add"):
        assert f'id="{name}"' in api, name
    # The tutorial's block is the one test_tools_tutorial.py runs.
    assert "oping_server" in (tmp_path / "tutorial.html").read_text()
    # Every how-to page is in the site, and the performance page has its chart.
    for page in sorted((DOCS / "howto").glob("*.md")):
        assert (tmp_path / "howto" / f"{page.stem}.html").exists(), page.name
    assert "<svg" in (tmp_path / "performance.html").read_text()


def test_every_snippet_runs(tmp_path: Path, runtime: Runtime, doctrees: Path) -> None:
    # The pages as the HTML build read them, when it ran (or read now).
    done = sphinx("doctest", tmp_path, doctrees, fresh=False)
    report = (tmp_path / "output.txt").read_text() if (tmp_path / "output.txt").exists() else ""
    assert done.returncode == 0, done.stdout + done.stderr + report
    assert "0 failures in tests" in report and "0 failures in setup code" in report
    ran = sum(int(n) for n in re.findall(r"^ +(\d+) tests$", report, re.M))
    assert ran >= 120, report  # 130 examples in 11 pages (2026-12-02)


def members(cls: type) -> List[tuple]:
    """The public members a class's reference shows: its own and those it
    inherits from ouroboros' classes (dev.Flow's from _core.Flow), as
    (name, the value in the class that defines it)."""
    out = []
    for attr in dir(cls):
        if attr.startswith("_"):
            continue
        owner = next((c for c in cls.__mro__ if attr in vars(c)), None)
        if owner is cls or (owner is not None and owner.__module__.startswith("ouroboros")):
            out.append((attr, vars(owner)[attr]))
    return out


def public_names_without_docstring() -> List[str]:
    missing = []
    conf = runpy.run_path(str(DOCS / "conf.py"))
    for module_name in conf["API_MODULES"]:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)):
                # A constant: its #: comment, where the reference shows it.
                home = conf["home_of"](module_name, name)
                if home == module_name and not conf["data_doc"](module_name, name):
                    missing.append(f"{module_name}.{name}")
                continue
            own = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
            if not (own or "").strip():
                missing.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                for attr, value in members(obj):
                    if inspect.isroutine(value) or isinstance(value, property):
                        if not (getattr(value, "__doc__", None) or "").strip():
                            missing.append(f"{module_name}.{name}.{attr}")
    return sorted(set(missing))


def test_every_public_name_has_a_docstring() -> None:
    assert public_names_without_docstring() == []


# --- units: every documented timeout, size or rate says in what it is

#: A docstring that speaks of one of these quantities (left) must name a
#: unit of it (right). Words, not substrings: "sizes" counts, "resize" not.
QUANTITIES = {
    "time": (r"\b(timeouts?|timeo|intervals?|delay|uptime|idle_exit|deadline|"
             r"budget|grace)\b",
             r"\b(seconds?|ms|milliseconds?|µs|microseconds?|ns|nanoseconds?|minutes?|"
             r"hours?|timedelta)\b|\d ?s\b"),
    "size": (r"\b(sizes?|max_sdu|buffer size|ring_bytes)\b",
             r"\b(bytes?|KiB|MiB|GiB|characters?|bits?)\b|\d ?B\b"),
    "rate": (r"\b(rates?|bandwidth|throughput)\b",
             r"(/s\b|\bper second\b|\bb/s\b|\bbits/s\b|\bpps\b|\bGbit/s\b|\bMbps\b)"),
}
#: Parameters and attributes that are such quantities by their name.
QUANTITY_NAMES = {
    "time": re.compile(r"^(timeo|timeout|.*_timeout|t_timeo|t_recalc|t_update|"
                       r"interval.*|.*_ms|.*_ns|uptime|idle_exit|.*grace|.*_poll|budget|"
                       r"seconds)$", re.I),
    "size": re.compile(r"^(size|.*_size|max_sdu|.*_bytes)$", re.I),
    "rate": re.compile(r"^(rate|.*_rate|bandwidth)$", re.I),
}


def _documented() -> List[tuple]:
    """(qualified name, docstring, parameter and attribute names) of every
    routine, class, method, property and commented attribute the API
    reference shows."""
    from sphinx.pycode import ModuleAnalyzer

    out = []

    def routine(qual: str, obj: object) -> None:
        try:
            params = list(inspect.signature(obj).parameters)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            params = []
        out.append((qual, inspect.getdoc(obj) or "", params))

    conf = runpy.run_path(str(DOCS / "conf.py"))
    for module_name in conf["API_MODULES"]:
        module = importlib.import_module(module_name)
        # Each name where the reference documents it (conf.home_of).
        names = [n for n in module.__all__ if conf["home_of"](module_name, n) == module_name]
        try:
            attr_docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        except Exception:  # a compiled module has no source
            attr_docs = {}
        for (scope, attr), lines in attr_docs.items():
            if (scope or attr) in names:  # a public class's field, or a public constant
                qual = ".".join(p for p in (module_name, scope, attr) if p)
                out.append((qual, " ".join(lines), [attr]))
        for name in names:
            obj = getattr(module, name)
            qual = f"{module_name}.{name}"
            if inspect.isroutine(obj):
                routine(qual, obj)
            elif inspect.isclass(obj):
                out.append((qual, obj.__dict__.get("__doc__") or "", []))
                for attr, value in members(obj):
                    if inspect.isroutine(value):
                        routine(f"{qual}.{attr}", getattr(obj, attr))
                    elif isinstance(value, property):
                        out.append((f"{qual}.{attr}", inspect.getdoc(value) or "", [attr]))
    return out


def docstrings_without_units() -> List[str]:
    missing = []
    for qual, doc, names in _documented():
        for quantity, (speaks_of, unit) in QUANTITIES.items():
            named = [n for n in names if QUANTITY_NAMES[quantity].match(n)]
            if (re.search(speaks_of, doc, re.I) or named) and doc.strip() \
                    and not re.search(unit, doc):
                missing.append(f"{qual}: {quantity} without a unit")
    return sorted(set(missing))


def test_every_documented_timeout_size_and_rate_has_its_unit() -> None:
    assert docstrings_without_units() == []


# --- the README: the front page that links to the site

README = REPO / "README.md"


def test_the_readme_links_to_pages_that_exist() -> None:
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README.read_text())
    assert len(links) >= 15, links
    assert [link for link in links if not (REPO / link).exists()] == []
    # Every how-to page is linked from the front page.
    linked = {(REPO / link).resolve() for link in links}
    assert [p.name for p in sorted((DOCS / "howto").glob("*.md"))
            if p.name != "index.md" and p.resolve() not in linked] == []


def test_the_readme_example_is_the_oecho_example() -> None:
    [block] = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    compile(block, "README.md", "exec")
    example = (REPO / "examples" / "oecho.py").read_text()
    # The client as it stands in the example, which test_examples.py runs.
    client = block[block.index("def client() -> None:"):].strip()
    assert client in example, client


def test_the_python_the_site_shows_but_cannot_run_still_matches_the_api() -> None:
    """The blocks that need the real Ouroboros or several machines (not
    doctests): they compile, and what they import exists."""
    blocks = [(page, block) for page in sorted(DOCS.rglob("*.md"))
              for block in re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)]
    assert len(blocks) >= 3, blocks
    for page, block in blocks:
        compile(block, str(page), "exec")
        for module_name, names in re.findall(r"^from (ouroboros[\w.]*) import (.+)$", block,
                                             re.M):
            module = importlib.import_module(module_name)
            for name in (n.strip() for n in names.split(",")):
                assert hasattr(module, name), f"{page.name}: {module_name}.{name}"
