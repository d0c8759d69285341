"""pyOuroboros: the Python API for the Ouroboros recursive network.

Modules: :mod:`ouroboros.dev` (flows), :mod:`ouroboros.qos` (QoS specs),
:mod:`ouroboros.event` (waiting on many flows), :mod:`ouroboros.irm` (IPCPs,
names, bindings; configurations in :mod:`ouroboros.ipcp_config`),
:mod:`ouroboros.cli` (upstream's name-based helpers, the irm command's
steps), :mod:`ouroboros.errors`. The command-line tools are in
:mod:`ouroboros.tools` (``o7s-irm`` is :mod:`ouroboros.tools.irm`);
:mod:`ouroboros.runtime` sees and stops the embedded runtime's daemon.
:data:`__version__` is pyOuroboros' version; :func:`version_info` adds
those of what it talks to (``python -m ouroboros --version`` prints them).

Two backends offer the same API: ``"system"``, the real Ouroboros where it
is installed and its IRMd runs, and ``"embedded"``, the library's own
single-host runtime, started on first use. ``OUROBOROS_BACKEND`` or
:func:`use_backend` choose; :func:`backend` tells which is active.
"""

from __future__ import annotations

from . import _core
from ._version import VersionInfo, __version__, version_info


def backend() -> str:
    """Name of the active backend: ``"embedded"`` or ``"system"``."""
    return str(_core.backend_name())


def use_backend(name: str) -> None:
    """Selects ``"embedded"``, ``"system"`` or ``"auto"``; raises an
    exception that says why when the backend cannot be used here."""
    _core.select_backend(name)


def system_backend_unavailable_reason() -> str:
    """Why the system backend cannot be used here ("" when it can)."""
    return str(_core.system_backend_unavailable_reason())


__all__ = ["backend", "use_backend", "system_backend_unavailable_reason", "__version__",
           "version_info", "VersionInfo"]
