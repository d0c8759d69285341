"""The IPC Resource Manager: IPCPs, layers, names and bindings.

The functions and classes have the names and signatures of upstream
pyOuroboros' ``ouroboros.irm``. A flow reaches a process when the process is
bound to a name and the name is registered in a layer. On a fresh embedded
runtime one local IPCP is already bootstrapped into the layer "local", so
:func:`serve` needs no set-up::

    from ouroboros import irm
    irm.serve("oecho")            # create, register and bind to this process

Errors are :class:`~ouroboros.errors.IrmError` subclasses that tell the
cause (``AlreadyExists``, ``NoSuchIpcp``, ``NamingError``, ...) and the
operation (upstream's ``BindError``, ``IpcpCreateError``, ...), with
``.errno`` and a message that says what is missing.

The embedded runtime models LOCAL and BROADCAST IPCPs; creating another
type, enrolling, connecting or disconnecting raises
:class:`~ouroboros.errors.IrmNotSupported`. Configurations of every type can
still be built and are validated (:mod:`ouroboros.ipcp_config`).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterable, Iterator, List, Optional, Sequence, Type

from ._core import LoadBalancePolicy
from ._core import irm as _irm
from .errors import (EIPCP, AlreadyExists, BindError, IpcpBootstrapError, IpcpConnectError,
                     IpcpCreateError, IpcpEnrollError, IrmError, IrmNameError, NoSuchIpcp,
                     with_operation)
from .ipcp_config import (NAME_PATH_SIZE, AddressAuthPolicy, CongestionAvoidPolicy, DhtConfig,
                          DirConfig, DirectoryHashAlgo, DirectoryPolicy, DtConfig, EthConfig,
                          IpcpConfig, IpcpType, LinkStateConfig, LinkStatePolicy,
                          RoutingConfig, RoutingPolicy, UnicastConfig, Udp4Config, Udp6Config,
                          _Config, _Field, _member, _text)
from .qos import QoSSpec


#: bind_program() option: start the program when a flow arrives for the
#: name and no bound process accepts it.
BIND_AUTO = 0x01

#: The data transfer component of a unicast IPCP (connect_ipcp()).
DT_COMP = "Data Transfer"
#: The management component of a unicast IPCP (connect_ipcp()).
MGMT_COMP = "Management"


class NameSecPaths(_Config):
    """Paths of a name's encryption configuration, key and certificate
    ("": the IRMd's default). The embedded runtime does not use them."""
    _fields = ("enc", "key", "crt")
    enc = _Field(_text(NAME_PATH_SIZE))
    key = _Field(_text(NAME_PATH_SIZE))
    crt = _Field(_text(NAME_PATH_SIZE))

    def __init__(self, enc: str = "", key: str = "", crt: str = "") -> None:
        self.enc = enc
        self.key = key
        self.crt = crt


def _sec_paths(value: object, what: str) -> NameSecPaths:
    if value is None:
        return NameSecPaths()
    if not isinstance(value, NameSecPaths):
        raise TypeError(f"{what} must be a NameSecPaths or None, not {type(value).__name__}")
    return value


class NameInfo(_Config):
    """A name, its load-balancing policy and its security paths (for the
    processes that accept flows for it, and for those that allocate them)."""
    _fields = ("name", "pol_lb", "server_sec", "client_sec")
    name = _Field(_text(255))
    pol_lb = _Field(_member(LoadBalancePolicy))
    server_sec = _Field(_sec_paths)
    client_sec = _Field(_sec_paths)

    def __init__(self, name: str, pol_lb: LoadBalancePolicy = LoadBalancePolicy.ROUND_ROBIN,
                 server_sec: Optional[NameSecPaths] = None,
                 client_sec: Optional[NameSecPaths] = None) -> None:
        self.name = name
        self.pol_lb = pol_lb
        self.server_sec = server_sec
        self.client_sec = client_sec


class IpcpInfo:
    """An IPCP as list_ipcps() reports it (``layer`` is "" until it is
    bootstrapped). On the embedded runtime ``pid`` is an id above any real
    process id."""

    def __init__(self, pid: int, ipcp_type: IpcpType, name: str, layer: str) -> None:
        self.pid = pid
        self.type = IpcpType(ipcp_type)
        self.name = name
        self.layer = layer

    def __repr__(self) -> str:
        return (f"IpcpInfo(pid={self.pid}, type={self.type.name}, "
                f"name={self.name!r}, layer={self.layer!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IpcpInfo):
            return NotImplemented
        return ((self.pid, self.type, self.name, self.layer) ==
                (other.pid, other.type, other.name, other.layer))

    __hash__ = None  # type: ignore[assignment]


class ProcessBinding:
    """A process bound to a name: by bind_process() (``prog`` is None), or
    because it runs the bound program ``prog``."""

    def __init__(self, pid: int, prog: Optional[str] = None) -> None:
        self.pid = pid
        self.prog = prog or None

    def __repr__(self) -> str:
        via = f", prog={self.prog!r}" if self.prog else ""
        return f"ProcessBinding(pid={self.pid}{via})"


class ProgramBinding:
    """A program bound to a name, with its options (BIND_AUTO) and the
    arguments it is started with. ``interpreter`` runs a script that is not
    executable itself (None: the program runs directly)."""

    def __init__(self, prog: str, opts: int = 0, argv: Sequence[str] = (),
                 interpreter: Optional[str] = None) -> None:
        self.prog = prog
        self.opts = opts
        self.argv = list(argv)
        self.interpreter = interpreter or None

    @property
    def auto(self) -> bool:
        """Whether the runtime starts the program on demand."""
        return bool(self.opts & BIND_AUTO)

    def __repr__(self) -> str:
        return f"ProgramBinding({self.prog!r}, opts={self.opts}, argv={self.argv!r})"


class NameBindings:
    """A name with everything that makes flows reach it: the IPCPs it is
    registered with (pids, see list_ipcps() for their layers), and the
    processes and programs bound to it."""

    def __init__(self, info: NameInfo, ipcps: Sequence[int],
                 processes: Sequence[ProcessBinding],
                 programs: Sequence[ProgramBinding]) -> None:
        self.info = info
        self.ipcps = list(ipcps)
        self.processes = list(processes)
        self.programs = list(programs)

    @property
    def name(self) -> str:
        """The name these bindings are for (``info.name``)."""
        return str(self.info.name)

    def __repr__(self) -> str:
        return (f"NameBindings({self.name!r}, ipcps={self.ipcps}, "
                f"processes={self.processes}, programs={self.programs})")


@contextmanager
def _operation(op: Type[IrmError]) -> Iterator[None]:
    """Raises IRM errors as instances of their cause class and of ``op``."""
    try:
        yield
    except IrmError as e:
        raise with_operation(e, op) from None


# --- IPCPs

def create_ipcp(name: str, ipcp_type: IpcpType) -> int:
    """Creates an IPCP named ``name``; returns its pid."""
    with _operation(IpcpCreateError):
        return int(_irm.create_ipcp(name, int(IpcpType(ipcp_type))))


def destroy_ipcp(pid: int) -> None:
    """Destroys the IPCP ``pid``: names registered with it are unregistered,
    and flows joined to its broadcast layer go down."""
    _irm.destroy_ipcp(pid)


def list_ipcps() -> List[IpcpInfo]:
    """Every IPCP: in creation order on the embedded runtime; on the system
    backend in the IRMd's order, by type (as :class:`IpcpType` numbers
    them) and then by pid, which is also the order in which the IRMd asks
    its IPCPs for a name when a flow is allocated."""
    return _irm.list_ipcps()


def bootstrap_ipcp(pid: int, conf: IpcpConfig) -> None:
    """Bootstraps IPCP ``pid`` into the layer ``conf.layer_name``; the
    configuration's type must be the IPCP's."""
    if not isinstance(conf, IpcpConfig):
        raise TypeError(f"bootstrap_ipcp needs an IpcpConfig, not {type(conf).__name__}")
    if not conf.layer_name:
        raise ValueError("IpcpConfig.layer_name must name the layer to bootstrap")
    with _operation(IpcpBootstrapError):
        _irm.bootstrap_ipcp(pid, conf)


def enroll_ipcp(pid: int, dst: str) -> None:
    """Enrolls IPCP ``pid`` in a layer through the member ``dst``."""
    with _operation(IpcpEnrollError):
        _irm.enroll_ipcp(pid, dst)


def connect_ipcp(pid: int, component: str, dst: str, qos: Optional[QoSSpec] = None) -> None:
    """Connects ``component`` (DT_COMP or MGMT_COMP) of IPCP ``pid`` to the
    IPCP ``dst``, with ``qos`` for the data transfer (None: raw)."""
    with _operation(IpcpConnectError):
        _irm.connect_ipcp(pid, dst=dst, component=component, qos=qos)


def disconnect_ipcp(pid: int, component: str, dst: str) -> None:
    """Undoes connect_ipcp()."""
    with _operation(IpcpConnectError):
        _irm.disconnect_ipcp(pid, dst=dst, component=component)


# --- bindings

def bind_program(prog: str, name: str, opts: int = 0,
                 argv: Optional[Sequence[str]] = None) -> None:
    """Binds the program ``prog`` to ``name``: processes that run it accept
    flows for the name. A bare program name is looked up in ``PATH``; a
    relative path is taken from the working directory. With
    ``opts=BIND_AUTO`` a flow allocated to the name while no bound process
    accepts starts the program with ``argv``.

    On the embedded runtime the program is started in "/" with its output
    appended to ``prog-<program>.log`` in the runtime directory. An
    executable script runs through its ``#!`` line; a ``.py`` file that is
    not executable runs with this Python interpreter."""
    if not isinstance(prog, str):
        raise TypeError(f"prog must be a str, not {type(prog).__name__}")
    if argv is not None and (isinstance(argv, (str, bytes)) or not isinstance(argv, Iterable)):
        raise TypeError(f"argv must be a sequence of str, not {type(argv).__name__}")
    args = [] if argv is None else list(argv)
    if not all(isinstance(a, str) for a in args):
        raise TypeError("argv must be a sequence of str, not of "
                        + ", ".join(sorted({type(a).__name__ for a in args})))
    # sys.executable, not its real path: a venv's interpreter is a symlink
    # that only works as one.
    plain_script = ("/" in prog and prog.endswith(".py") and os.path.isfile(prog)
                    and not os.access(prog, os.X_OK))
    with _operation(BindError):
        # opts as given: the binding raises TypeError for what is not an int.
        _irm.bind_program(prog, name, opts, args, sys.executable if plain_script else "")


def unbind_program(prog: str, name: Optional[str] = None) -> None:
    """Unbinds ``prog`` from ``name`` (None: from every name); processes
    bound because they run it are unbound too."""
    with _operation(BindError):
        _irm.unbind_program(prog, name)


def bind_process(pid: int, name: str) -> None:
    """Binds process ``pid`` to ``name`` (creating the name if needed)."""
    with _operation(BindError):
        _irm.bind_process(pid, name)


def unbind_process(pid: int, name: Optional[str] = None) -> None:
    """Unbinds process ``pid`` from ``name`` (None: from every name)."""
    with _operation(BindError):
        _irm.unbind_process(pid, name)


def list_bindings() -> List[NameBindings]:
    """Every name with its registrations and bindings (what ``irm name
    list`` shows). Bindings of processes that exited are gone. Not part of
    upstream pyOuroboros: the system backend may raise IrmNotSupported."""
    return _irm.list_bindings()


# --- names

def create_name(info: NameInfo) -> None:
    """Creates the name ``info.name`` with its load-balancing policy."""
    if not isinstance(info, NameInfo):
        raise TypeError(f"create_name needs a NameInfo, not {type(info).__name__}")
    with _operation(IrmNameError):
        _irm.create_name(info)


def destroy_name(name: str) -> None:
    """Destroys a name with its registrations and bindings."""
    with _operation(IrmNameError):
        _irm.destroy_name(name)


def list_names() -> List[NameInfo]:
    """Every name with its load-balancing policy (and security paths)."""
    return _irm.list_names()


def reg_name(name: str, pid: int) -> None:
    """Registers ``name`` with the IPCP ``pid`` (in that IPCP's layer)."""
    with _operation(IrmNameError):
        _irm.reg_name(name, pid)


def unreg_name(name: str, pid: int) -> None:
    """Unregisters ``name`` from the IPCP ``pid``."""
    with _operation(IrmNameError):
        _irm.unreg_name(name, pid)


# --- helpers (not in upstream pyOuroboros)

def find_ipcp(layer: Optional[str] = None) -> IpcpInfo:
    """The IPCP of ``layer``, or with no layer given the first bootstrapped
    local one. Raises NoSuchIpcp."""
    ipcps = list_ipcps()
    for info in ipcps:
        if layer is None and info.type == IpcpType.LOCAL and info.layer:
            return info
        if layer is not None and info.layer == layer:
            return info
    wanted = f"layer {layer!r}" if layer else "a bootstrapped local layer"
    raise NoSuchIpcp(EIPCP, f"no IPCP serves {wanted} (IPCPs: {ipcps})")


def serve(name: str, layer: Optional[str] = None, pid: Optional[int] = None) -> None:
    """Makes flows to ``name`` reach this process (or ``pid``): creates the
    name if needed, registers it in ``layer`` (default: the first local
    layer) and binds the process to it. Then ``flow_accept()`` gets them."""
    if name not in {n.name for n in list_names()}:
        try:
            create_name(NameInfo(name))
        except AlreadyExists:
            pass  # another process created it meanwhile
    reg_name(name, find_ipcp(layer).pid)
    bind_process(os.getpid() if pid is None else pid, name)


#: Upstream pyOuroboros' name of :class:`IrmNameError`, so that
#: ``except irm.NameError`` works. It stays out of ``__all__``: a star import
#: does not shadow the builtin ``NameError``.
NameError = IrmNameError  # noqa: A001


__all__ = [
    "IpcpType", "AddressAuthPolicy", "LinkStatePolicy", "RoutingPolicy",
    "CongestionAvoidPolicy", "DirectoryPolicy", "DirectoryHashAlgo", "LoadBalancePolicy",
    "BIND_AUTO", "DT_COMP", "MGMT_COMP",
    "LinkStateConfig", "RoutingConfig", "DtConfig", "DhtConfig", "DirConfig",
    "UnicastConfig", "EthConfig", "Udp4Config", "Udp6Config", "IpcpConfig",
    "NameSecPaths", "NameInfo", "IpcpInfo", "ProcessBinding", "ProgramBinding",
    "NameBindings", "IrmError", "IpcpCreateError", "IpcpBootstrapError", "IpcpEnrollError",
    "IpcpConnectError", "IrmNameError", "BindError",
    "create_ipcp", "destroy_ipcp", "list_ipcps", "bootstrap_ipcp", "enroll_ipcp",
    "connect_ipcp", "disconnect_ipcp", "bind_program", "unbind_program", "bind_process",
    "unbind_process", "list_bindings", "create_name", "destroy_name", "list_names",
    "reg_name", "unreg_name", "find_ipcp", "serve",
]
