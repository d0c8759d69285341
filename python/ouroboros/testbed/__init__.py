"""Multi-node Ouroboros networks on one Linux host, built from Python.

Each node is a set of Linux namespaces (network, mount, pid) with its own
real Ouroboros IRMd, tmpfs on the IRMd's directories and its own
``/etc/hosts``; links are veth pairs; lower layers (``udp4``, ``eth-dix``)
and unicast layers are made with :mod:`ouroboros.irm` calls that run inside
the nodes on the system backend. A Mininet for Ouroboros, on its real
daemons. Needs root, ``unshare``/``nsenter``/``setpriv`` (util-linux),
``ip`` (iproute2) and an installed Ouroboros with pyOuroboros' system
backend (:func:`unavailable_reason` says what is missing)::

    from ouroboros.testbed import Network

    with Network() as net:                    # everything ends with the block
        a, b, c = net.add_nodes("a", "b", "c")
        net.link(a, b, "udp4")
        net.link(b, c, "eth-dix")
        layer = net.unicast_layer("net", [a, b, c])   # c reaches a through b
        layer.register("echo", a)
        server = a.start(my_echo_server, "echo")     # a module-level function
        print(c.call(my_client, "echo"))             # runs in c, returns here
        print(a.irm.list_ipcps())                    # ouroboros.irm, in node a

Modules: :mod:`~ouroboros.testbed.network` (Network, links, layers),
:mod:`~ouroboros.testbed.node` (a node and its processes),
:mod:`~ouroboros.testbed.limits` (the largest SDU a path carries).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Optional

from .limits import lower_packet_limit
from .network import LINK_TYPES, UDP_LAYER, Link, Network, Retry, RetryPolicy, ShimLayer, \
    UnicastLayer, line
from .node import Node, NodeProcess, TestbedError, md5_hex

_TOOLS = ("unshare", "nsenter", "setpriv", "ip", "mount")


def find_irmd() -> Optional[str]:
    """The path of the installed Ouroboros IRMd, or None."""
    for path in (shutil.which("irmd"), "/usr/sbin/irmd", "/usr/local/sbin/irmd"):
        if path and os.access(path, os.X_OK):
            return path
    return None


def _system_plugin_present() -> bool:
    env = os.environ.get("OUROBOROS_SYSTEM_PLUGIN")
    if env:
        return os.access(env, os.R_OK)
    import ouroboros
    return (Path(ouroboros.__file__).parent / "libo7s-system.so").exists()


def unavailable_reason() -> str:
    """Why networks cannot be built here ("" when they can)."""
    if not sys.platform.startswith("linux"):
        return "it needs Linux namespaces"
    if os.geteuid() != 0:
        return "it needs root (namespaces, veth devices, mounts)"
    missing = [t for t in _TOOLS if shutil.which(t) is None]
    if missing:
        return f"missing tools: {', '.join(missing)} (util-linux, iproute2)"
    if find_irmd() is None:
        return "Ouroboros is not installed (no irmd)"
    if not _system_plugin_present():
        return ("pyOuroboros was built without its system backend (libo7s-system.so; "
                "Ouroboros' development files were not found at build time)")
    return ""


__all__ = [
    "Network", "Node", "NodeProcess", "Link", "ShimLayer", "UnicastLayer", "Retry",
    "RetryPolicy", "TestbedError", "LINK_TYPES", "UDP_LAYER", "line", "md5_hex",
    "lower_packet_limit", "unavailable_reason", "find_irmd",
]
