"""The IPC Resource Manager: IPCPs, layers, names and bindings.

A flow reaches a process when the process is bound to a name and the name
is registered in a layer. On a fresh embedded runtime one local IPCP is
already bootstrapped into the layer "local", so :func:`serve` needs no
set-up::

    from ouroboros import irm
    irm.serve("oecho")            # create, register and bind to this process
"""

from __future__ import annotations

import os
from enum import IntEnum
from typing import List, Optional

from ._core import irm as _irm
from .errors import EIPCP, IrmError


class IpcpType(IntEnum):
    """IPCP types (values of Ouroboros' enum ipcp_type)."""
    LOCAL = 0
    UNICAST = 1
    BROADCAST = 2
    ETH_LLC = 3
    ETH_DIX = 4
    UDP4 = 5
    UDP6 = 6


class LoadBalancePolicy(IntEnum):
    """How flows to a name spread over the processes bound to it."""
    ROUND_ROBIN = 0
    SPILL = 1


#: bind_program() option: start the program when a flow arrives for it.
BIND_AUTO = 0x01


class NameInfo:
    """A name and its load-balancing policy."""

    def __init__(self, name: str,
                 pol_lb: LoadBalancePolicy = LoadBalancePolicy.ROUND_ROBIN) -> None:
        self.name = name
        self.pol_lb = LoadBalancePolicy(pol_lb)

    def __repr__(self) -> str:
        return f"NameInfo({self.name!r}, pol_lb={self.pol_lb.name})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NameInfo):
            return NotImplemented
        return (self.name, self.pol_lb) == (other.name, other.pol_lb)


class IpcpConfig:
    """What bootstrap_ipcp() needs: the IPCP type and the layer name."""

    def __init__(self, ipcp_type: IpcpType, layer_name: str = "") -> None:
        self.ipcp_type = IpcpType(ipcp_type)
        self.layer_name = layer_name


class IpcpInfo:
    """An IPCP as list_ipcps() reports it."""

    def __init__(self, pid: int, ipcp_type: IpcpType, name: str, layer: str) -> None:
        self.pid = pid
        self.type = IpcpType(ipcp_type)
        self.name = name
        self.layer = layer

    def __repr__(self) -> str:
        return (f"IpcpInfo(pid={self.pid}, type={self.type.name}, "
                f"name={self.name!r}, layer={self.layer!r})")


def create_ipcp(name: str, ipcp_type: IpcpType) -> int:
    """Creates an IPCP; returns its pid."""
    return int(_irm.create_ipcp(name, int(ipcp_type)))


def destroy_ipcp(pid: int) -> None:
    _irm.destroy_ipcp(pid)


def list_ipcps() -> List[IpcpInfo]:
    return [IpcpInfo(pid, IpcpType(t), name, layer)
            for pid, t, name, layer in _irm.list_ipcps()]


def bootstrap_ipcp(pid: int, conf: IpcpConfig) -> None:
    """Bootstraps IPCP ``pid`` into the layer ``conf.layer_name``."""
    _irm.bootstrap_ipcp(pid, int(conf.ipcp_type), conf.layer_name)


def enroll_ipcp(pid: int, dst: str) -> None:
    _irm.enroll_ipcp(pid, dst)


def connect_ipcp(pid: int, dst: str, component: str) -> None:
    _irm.connect_ipcp(pid, dst, component)


def disconnect_ipcp(pid: int, dst: str, component: str) -> None:
    _irm.disconnect_ipcp(pid, dst, component)


def bind_program(prog: str, name: str, opts: int = 0,
                 argv: Optional[List[str]] = None) -> None:
    _irm.bind_program(prog, name, opts, list(argv or []))


def unbind_program(prog: str, name: str) -> None:
    _irm.unbind_program(prog, name)


def bind_process(pid: int, name: str) -> None:
    """Binds process ``pid`` to ``name`` (creating the name if needed)."""
    _irm.bind_process(pid, name)


def unbind_process(pid: int, name: str) -> None:
    _irm.unbind_process(pid, name)


def create_name(info: NameInfo) -> None:
    _irm.create_name(info.name, int(info.pol_lb))


def destroy_name(name: str) -> None:
    _irm.destroy_name(name)


def list_names() -> List[NameInfo]:
    return [NameInfo(name, LoadBalancePolicy(pol)) for name, pol in _irm.list_names()]


def reg_name(name: str, pid: int) -> None:
    """Registers ``name`` with the IPCP ``pid`` (in that IPCP's layer)."""
    _irm.reg_name(name, pid)


def unreg_name(name: str, pid: int) -> None:
    _irm.unreg_name(name, pid)


def find_ipcp(layer: Optional[str] = None) -> IpcpInfo:
    """The IPCP of ``layer``, or with no layer given the first local one."""
    ipcps = list_ipcps()
    for info in ipcps:
        if layer is None and info.type == IpcpType.LOCAL and info.layer:
            return info
        if layer is not None and info.layer == layer:
            return info
    wanted = f"layer {layer!r}" if layer else "a bootstrapped local layer"
    raise IrmError(EIPCP, f"no IPCP serves {wanted} (IPCPs: {ipcps})")


def serve(name: str, layer: Optional[str] = None, pid: Optional[int] = None) -> None:
    """Makes flows to ``name`` reach this process (or ``pid``): creates the
    name if needed, registers it in ``layer`` (default: the first local
    layer) and binds the process to it. Then ``flow_accept()`` gets them."""
    if name not in {n.name for n in list_names()}:
        try:
            create_name(NameInfo(name))
        except IrmError as e:
            if e.errno != 17:  # EEXIST: another process created it meanwhile
                raise
    reg_name(name, find_ipcp(layer).pid)
    bind_process(os.getpid() if pid is None else pid, name)


__all__ = [
    "IpcpType", "LoadBalancePolicy", "BIND_AUTO", "NameInfo", "IpcpConfig", "IpcpInfo",
    "IrmError", "create_ipcp", "destroy_ipcp", "list_ipcps", "bootstrap_ipcp",
    "enroll_ipcp", "connect_ipcp", "disconnect_ipcp", "bind_program", "unbind_program",
    "bind_process", "unbind_process", "create_name", "destroy_name", "list_names",
    "reg_name", "unreg_name", "find_ipcp", "serve",
]
