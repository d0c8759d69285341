"""The ``irm`` command's steps as Python calls (upstream pyOuroboros'
``ouroboros.cli``): IPCPs are named rather than given by pid, names can be
registered by layer, and bootstrapping can create the IPCP.

=========================  =======================================
Python                     irm command
=========================  =======================================
``create_ipcp``            ``irm ipcp create``
``destroy_ipcp``           ``irm ipcp destroy``
``bootstrap_ipcp``         ``irm ipcp bootstrap [autobind]``
``enroll_ipcp``            ``irm ipcp enroll [autobind]``
``connect_ipcp``           ``irm ipcp connect``
``disconnect_ipcp``        ``irm ipcp disconnect``
``list_ipcps``             ``irm ipcp list``
``bind_program``           ``irm bind program``
``bind_process``           ``irm bind process``
``bind_ipcp``              ``irm bind ipcp``
``unbind_program``         ``irm unbind program``
``unbind_process``         ``irm unbind process``
``unbind_ipcp``            ``irm unbind ipcp``
``create_name``            ``irm name create``
``destroy_name``           ``irm name destroy``
``reg_name``               ``irm name register``
``unreg_name``             ``irm name unregister``
``list_names``             ``irm name list``
``autoboot``               ``irm ipcp bootstrap ... autobind``
=========================  =======================================

Unlike upstream, registering with an IPCP or layer that does not exist
raises :class:`IpcpNotFound` instead of doing nothing.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Set

from . import backend
from . import irm as _irm
from .errors import EIPCP, NoSuchIpcp
# Upstream pyOuroboros' cli module offers these names too (see __all__).
from .irm import (DT_COMP, MGMT_COMP, BindError, DtConfig, EthConfig, IpcpConfig, IpcpInfo,
                  IpcpType, IrmError, LinkStateConfig, LinkStatePolicy, LoadBalancePolicy,
                  NameInfo, RoutingConfig, Udp4Config, Udp6Config, UnicastConfig, create_ipcp,
                  destroy_name)
from .qos import QoSSpec


class IpcpNotFound(NoSuchIpcp, ValueError):
    """No IPCP of that name (or in that layer). Also a ValueError, as in
    upstream pyOuroboros."""


def wildcard(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern``, where ``*`` matches anything
    (the irm tool's matching of IPCP and layer names)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _ipcp_named(name: str) -> IpcpInfo:
    for info in _irm.list_ipcps():
        if info.name == name:
            return info
    raise IpcpNotFound(EIPCP, f"no IPCP named {name!r}")


def _pids(ipcps: Iterable[str], layers: Iterable[str]) -> Set[int]:
    """The pids of the IPCPs named in ``ipcps`` or serving ``layers``
    (patterns with ``*``); each pattern must match at least one IPCP."""
    all_ipcps = _irm.list_ipcps()
    pids: Set[int] = set()
    for kind, patterns, attr in (("named", ipcps, "name"), ("in layer", layers, "layer")):
        for pattern in patterns:
            found = {i.pid for i in all_ipcps if getattr(i, attr) and
                     wildcard(pattern, getattr(i, attr))}
            if not found:
                raise IpcpNotFound(EIPCP, f"no IPCP {kind} {pattern!r}")
            pids |= found
    return pids


def _collect(one: Optional[str], many: Optional[List[str]]) -> List[str]:
    return ([] if one is None else [one]) + list(many or [])


def destroy_ipcp(name: str) -> None:
    """Destroys the IPCP named ``name``."""
    _irm.destroy_ipcp(_ipcp_named(name).pid)


def list_ipcps(name: Optional[str] = None, layer: Optional[str] = None,
               ipcp_type: Optional[IpcpType] = None) -> List[IpcpInfo]:
    """The IPCPs, optionally only those with this name, layer and type."""
    return [i for i in _irm.list_ipcps()
            if (name is None or i.name == name) and (layer is None or i.layer == layer)
            and (ipcp_type is None or i.type == ipcp_type)]


def reg_name(name: str, ipcp: Optional[str] = None, ipcps: Optional[List[str]] = None,
             layer: Optional[str] = None, layers: Optional[List[str]] = None) -> None:
    """Registers ``name`` with the IPCPs named ``ipcp``/``ipcps`` and with
    those serving ``layer``/``layers``, creating the name (spill policy,
    like the irm tool) if it does not exist."""
    pids = _pids(_collect(ipcp, ipcps), _collect(layer, layers))
    created = name not in {n.name for n in _irm.list_names()}
    if created:
        _irm.create_name(NameInfo(name, LoadBalancePolicy.SPILL))
    try:
        for pid in sorted(pids):
            _irm.reg_name(name, pid)
    except BaseException:
        if created:  # leave no name behind that nothing could register
            _irm.destroy_name(name)
        raise


def unreg_name(name: str, ipcp: Optional[str] = None, ipcps: Optional[List[str]] = None,
               layer: Optional[str] = None, layers: Optional[List[str]] = None) -> None:
    """Unregisters ``name`` from those IPCPs (see :func:`reg_name`)."""
    for pid in sorted(_pids(_collect(ipcp, ipcps), _collect(layer, layers))):
        _irm.unreg_name(name, pid)


def bind_program(prog: str, name: str, opts: int = 0,
                 argv: Optional[List[str]] = None) -> None:
    """Binds a program (a bare name is looked up in PATH) to ``name``."""
    _irm.bind_program(prog, name, opts, argv)


def unbind_program(prog: str, name: Optional[str] = None) -> None:
    """Unbinds a program from ``name`` (None: every name)."""
    _irm.unbind_program(prog, name)


def bind_process(pid: int, name: str) -> None:
    """Binds a running process to ``name``."""
    _irm.bind_process(pid, name)


def unbind_process(pid: int, name: Optional[str] = None) -> None:
    """Unbinds a process from ``name`` (None: every name)."""
    _irm.unbind_process(pid, name)


def bind_ipcp(ipcp: str, name: str) -> None:
    """Binds the IPCP named ``ipcp`` to ``name``, so other IPCPs can reach
    it (embedded IPCPs are not processes: the runtime refuses this)."""
    _irm.bind_process(_ipcp_named(ipcp).pid, name)


def unbind_ipcp(ipcp: str, name: str) -> None:
    """Undoes :func:`bind_ipcp`."""
    _irm.unbind_process(_ipcp_named(ipcp).pid, name)


def create_name(name: str, pol_lb: Optional[int] = None,
                info: Optional[NameInfo] = None) -> None:
    """Creates a name, with ``pol_lb`` (default round robin) or as ``info``."""
    if info is None:
        info = NameInfo(name, LoadBalancePolicy.ROUND_ROBIN if pol_lb is None
                        else LoadBalancePolicy(pol_lb))
    _irm.create_name(info)


def list_names(name: Optional[str] = None) -> List[NameInfo]:
    """The names, or only ``name``."""
    return [n for n in _irm.list_names() if name is None or n.name == name]


def _autobinds(ipcp_type: IpcpType) -> bool:
    # Autobind lets other IPCPs enroll through a layer's name; the embedded
    # runtime has no enrolment and its IPCPs are not processes to bind.
    return (ipcp_type in (IpcpType.UNICAST, IpcpType.BROADCAST)
            and backend() != "embedded")


def bootstrap_ipcp(name: str, conf: IpcpConfig, autobind: bool = False) -> None:
    """Bootstraps the IPCP named ``name``. With ``autobind`` (unicast and
    broadcast IPCPs on the real Ouroboros) the IPCP is first bound to its
    name and its layer's name, and unbound again if bootstrapping fails."""
    pid = _ipcp_named(name).pid
    binds = autobind and _autobinds(conf.ipcp_type)
    if binds:
        _irm.bind_process(pid, name)
        _irm.bind_process(pid, conf.layer_name)
    try:
        _irm.bootstrap_ipcp(pid, conf)
    except BaseException:
        if binds:
            _irm.unbind_process(pid, name)
            _irm.unbind_process(pid, conf.layer_name)
        raise


def enroll_ipcp(name: str, dst: str, autobind: bool = False) -> None:
    """Enrolls the IPCP named ``name`` through ``dst``; with ``autobind``,
    binds it to its name and its new layer's name afterwards."""
    info = _ipcp_named(name)
    _irm.enroll_ipcp(info.pid, dst)
    if autobind and _autobinds(info.type):
        layer = _ipcp_named(name).layer
        _irm.bind_process(info.pid, name)
        _irm.bind_process(info.pid, layer)


def connect_ipcp(name: str, dst: str, comp: str = "*", qos: Optional[QoSSpec] = None) -> None:
    """Connects the data transfer (``"dt"``) and/or management (``"mgmt"``)
    components (``"*"``: both) of the IPCP named ``name`` to ``dst``."""
    pid = _ipcp_named(name).pid
    if wildcard(comp, "mgmt"):
        _irm.connect_ipcp(pid, MGMT_COMP, dst)
    if wildcard(comp, "dt"):
        _irm.connect_ipcp(pid, DT_COMP, dst, qos)


def disconnect_ipcp(name: str, dst: str, comp: str = "*") -> None:
    """Undoes :func:`connect_ipcp`."""
    pid = _ipcp_named(name).pid
    if wildcard(comp, "mgmt"):
        _irm.disconnect_ipcp(pid, MGMT_COMP, dst)
    if wildcard(comp, "dt"):
        _irm.disconnect_ipcp(pid, DT_COMP, dst)


def autoboot(name: str, ipcp_type: IpcpType, layer: str,
             conf: Optional[IpcpConfig] = None) -> None:
    """Creates the IPCP ``name`` and bootstraps it into ``layer`` with
    autobind (``conf``: its configuration, the layer name is set)."""
    create_ipcp(name, ipcp_type)
    if conf is None:
        conf = IpcpConfig(ipcp_type, layer)
    else:
        conf.layer_name = layer
    bootstrap_ipcp(name, conf, autobind=True)


__all__ = [
    "IpcpNotFound", "wildcard", "create_ipcp", "destroy_ipcp", "list_ipcps", "reg_name",
    "unreg_name", "bind_program", "unbind_program", "bind_process", "unbind_process",
    "bind_ipcp", "unbind_ipcp", "create_name", "destroy_name", "list_names",
    "bootstrap_ipcp", "enroll_ipcp", "connect_ipcp", "disconnect_ipcp", "autoboot",
    # from ouroboros.irm and ouroboros.qos, as in upstream pyOuroboros
    "DT_COMP", "MGMT_COMP", "IpcpType", "IpcpConfig", "IpcpInfo", "NameInfo", "BindError",
    "IrmError", "UnicastConfig", "DtConfig", "RoutingConfig", "LinkStateConfig",
    "LinkStatePolicy", "EthConfig", "Udp4Config", "Udp6Config", "LoadBalancePolicy",
    "QoSSpec",
]
