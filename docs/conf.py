"""Sphinx configuration of the pyOuroboros documentation site.

Built by the test suite (tests/test_docs.py) with warnings as errors, and
its ``{doctest}`` snippets run there on the embedded runtime."""

from __future__ import annotations

import importlib
from typing import Any, Dict, List

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

import ouroboros

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

# The public modules in the order of the API reference. A name several of
# them export is documented once: where it is defined, or (for the compiled
# core's types and plain constants) in the first of them that exports it.
API_MODULES = ["ouroboros", "ouroboros.dev", "ouroboros.qos", "ouroboros.event",
               "ouroboros.ipcp_config", "ouroboros.irm", "ouroboros.errors", "ouroboros.cli",
               "ouroboros.asyncio", "ouroboros.anyio", "ouroboros.runtime"]


def home_of(name: str) -> str:
    """The module of API_MODULES whose reference documents ``name``."""
    exporters = [m for m in API_MODULES if name in importlib.import_module(m).__all__]
    defined_in = getattr(getattr(importlib.import_module(exporters[0]), name), "__module__", "")
    return defined_in if defined_in in exporters else exporters[0]


class ApiModule(SphinxDirective):
    """``.. api-module:: ouroboros.dev`` (api.rst): the module's docstring
    and the names of its ``__all__`` documented there (see home_of)."""

    required_arguments = 1

    def run(self) -> List[nodes.Node]:
        module = self.arguments[0]
        names = [n for n in importlib.import_module(module).__all__ if home_of(n) == module]
        # reStructuredText: autodoc writes it, so api.rst is not Markdown.
        text = [f".. automodule:: {module}"]
        if names:  # (no :members: option at all would mean every member)
            text += [f"   :members: {', '.join(names)}", "   :undoc-members:",
                     "   :show-inheritance:"]
        container = nodes.section()
        self.state.nested_parse(StringList(text, self.get_source_info()[0]),
                                self.content_offset, container)
        return list(container.children)


def setup(app: Sphinx) -> Dict[str, Any]:
    app.add_directive("api-module", ApiModule)
    return {"parallel_read_safe": True}
