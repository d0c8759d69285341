"""Sphinx configuration of the pyOuroboros documentation site.

Built by the test suite (tests/test_docs.py) with warnings as errors, and
its ``{doctest}`` snippets run there on the embedded runtime."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any, Dict, List

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective

import ouroboros

# benchmarks/ (the repository's root) draws the performance page's chart.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import chart  # noqa: E402

project = "pyOuroboros"
release = version = ouroboros.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.doctest"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
nitpicky = False

# The public modules in the order of the API reference. An object several
# of them export is documented once: where it is defined, or (for the
# compiled core's types and plain constants) in the first of them that
# exports it (home_of).
API_MODULES = ["ouroboros", "ouroboros.dev", "ouroboros.qos", "ouroboros.event",
               "ouroboros.ipcp_config", "ouroboros.irm", "ouroboros.errors", "ouroboros.cli",
               "ouroboros.asyncio", "ouroboros.anyio", "ouroboros.runtime"]


# The classes whose members the reference leaves out of their subclasses:
# Python's and pybind11's (see ApiModule).
INHERITED_STOP = ["object", "pybind11_object", "BaseException", "Exception", "OSError",
                  "Warning", "Empty", "int", "str", "tuple", "dict", "Enum", "Flag",
                  "IntEnum", "IntFlag"]


def home_of(module: str, name: str) -> str:
    """The module of API_MODULES whose reference documents what ``module``
    exports as ``name`` (ouroboros.asyncio.flow_alloc is not
    ouroboros.dev.flow_alloc: each is documented where it is defined)."""
    obj = getattr(importlib.import_module(module), name)
    exporters = [m for m in API_MODULES if name in importlib.import_module(m).__all__
                 and getattr(importlib.import_module(m), name) is obj]
    defined_in = getattr(obj, "__module__", "")
    return defined_in if defined_in in exporters else exporters[0]


def data_doc(module: str, name: str) -> List[str]:
    """The ``#:`` comment of the constant ``module`` exports as ``name``:
    in ``module`` itself or in the ouroboros module it comes from (int and
    str values cannot say where they were defined)."""
    obj = getattr(importlib.import_module(module), name)
    sources = [module] + sorted(m for m, mod in list(sys.modules.items())
                                if m.startswith("ouroboros") and m != module
                                and getattr(mod, name, None) is obj)
    for source in sources:
        try:
            docs = ModuleAnalyzer.for_module(source).find_attr_docs()
        except Exception:  # a compiled module has no source
            continue
        if ("", name) in docs:
            return [line for line in docs[("", name)] if line.strip()]
    return []


class ApiModule(SphinxDirective):
    """``.. api-module:: ouroboros.dev`` (api.rst): the module's docstring
    and the names of its ``__all__`` documented there (see home_of)."""

    required_arguments = 1

    def run(self) -> List[nodes.Node]:
        module = self.arguments[0]
        mod = importlib.import_module(module)
        names = [n for n in mod.__all__ if home_of(module, n) == module]
        # Classes over the compiled core's (dev.Flow over _core.Flow) are
        # documented with the members they inherit from it; the option
        # cannot go on automodule, where it would mean every member.
        over_core = [n for n in names if inspect.isclass(getattr(mod, n)) and any(
            c.__module__.startswith("ouroboros._core") for c in getattr(mod, n).__mro__[1:])]
        data = [n for n in names if not (inspect.isclass(getattr(mod, n)) or
                                         inspect.isroutine(getattr(mod, n)))]
        rest = [n for n in names if n not in over_core and n not in data]
        # reStructuredText: autodoc writes it, so api.rst is not Markdown.
        text = [f".. automodule:: {module}"]
        if rest:  # (no :members: option at all would mean every member)
            text += [f"   :members: {', '.join(rest)}", "   :undoc-members:",
                     "   :show-inheritance:"]
        # Constants are written out here: autodoc documents a module's data
        # only where its own source has the #: comment, which re-exports lack.
        for name in data:
            value = getattr(mod, name)
            shown = repr(value) if isinstance(value, (int, float, str)) else ""
            text += ["", f".. py:data:: {name}", f"   :module: {module}"]
            text += [f"   :value: {shown}"] if shown else []
            text += [""] + [f"   {line}" for line in data_doc(module, name)]
        for name in over_core:
            text += ["", f".. autoclass:: {module}.{name}", "   :members:",
                     "   :undoc-members:", "   :show-inheritance:",
                     f"   :inherited-members: {', '.join(INHERITED_STOP)}"]
        container = nodes.section()
        self.state.nested_parse(StringList(text, self.get_source_info()[0]),
                                self.content_offset, container)
        return list(container.children)


class BenchmarkChart(SphinxDirective):
    """``{benchmark-chart} results.json`` (performance.md): the chart of a
    committed run of ``python -m benchmarks``, drawn from its JSON at build
    time (``benchmarks.chart.svg``), inline in HTML, with what was measured
    where and when under it in every builder."""

    required_arguments = 1

    def run(self) -> List[nodes.Node]:
        rel, path = self.env.relfn2path(self.arguments[0])
        self.env.note_dependency(rel)
        result = json.loads(Path(path).read_text())
        m = result["machine"]
        command = f"python -m benchmarks {result.get('argv', '')}".rstrip()
        caption = (f": {m['date']}, commit {m['commit']}"
                   f"{' with uncommitted changes' if m.get('dirty') else ''}, {m['cpu']}, "
                   f"{len(m['cpus'])} CPUs, Linux {m['kernel']}, Python {m['python']}, "
                   f"load average {m['loadavg_start'][0]:.1f} at the start and "
                   f"{m['loadavg_end'][0]:.1f} at the end; one repeat per row. "
                   f"Red: the floors (raw socketpairs), blue: the rest.")
        svg = chart.svg(result["rows"])
        return [nodes.raw("", f'<div class="benchmark-chart">{svg}</div>', format="html"),
                # The command as a literal, so that "--" stays two hyphens.
                nodes.paragraph("", "", nodes.literal(text=command), nodes.Text(caption))]


def setup(app: Sphinx) -> Dict[str, Any]:
    app.add_directive("api-module", ApiModule)
    app.add_directive("benchmark-chart", BenchmarkChart)
    return {"parallel_read_safe": True}
