"""IPCP types, layer policies and bootstrap configurations.

The names, fields and defaults follow upstream pyOuroboros and Ouroboros'
``ipcp.h`` (0.23). Every field is checked when it is set, so a script that
builds a configuration fails at that line, on any backend, whether or not
the runtime models the IPCP type (the embedded runtime bootstraps local and
broadcast IPCPs only; they need nothing beyond the layer name). This is the
one place where values are validated: the classes cross into the compiled
core as they are, attribute by attribute under the names of the C++ model's
field lists (``cpp/include/o7s/irm.hpp``), and a part left ``None`` gets the
C++ defaults, which equal the ones here (``tests/test_irm_ipcps.py``).

Times are in seconds, sizes in bytes.
"""

from __future__ import annotations

import ipaddress
from enum import IntEnum
from typing import Any, Callable, Generic, Optional, Tuple, Type, TypeVar, Union

# The IPCP types and layer policies are the C++ API's (o7s/irm.hpp).
from ._core import (AddressAuthPolicy, CongestionAvoidPolicy, DirectoryHashAlgo,
                    DirectoryPolicy, IpcpType, LinkStatePolicy, RoutingPolicy)

T = TypeVar("T")
E = TypeVar("E", bound=IntEnum)

#: Longest IPCP, layer and network device name (bytes of UTF-8).
NAME_SIZE: int = 255
#: Longest path of a name's security files (bytes of UTF-8).
NAME_PATH_SIZE: int = NAME_SIZE + 256


# --- checkers: each returns the value to store or raises TypeError/ValueError.

Checker = Callable[[Any, str], T]


def _integer(low: int, high: int) -> Checker[int]:
    def check(value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{what} must be an int, not {type(value).__name__}")
        if not low <= value <= high:
            raise ValueError(f"{what} must be between {low} and {high}, not {value}")
        return int(value)
    return check


def _member(enum: Type[E]) -> Checker[E]:
    def check(value: Any, what: str) -> E:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{what} must be a {enum.__name__}, not {type(value).__name__}")
        try:
            return enum(value)
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not a {enum.__name__} "
                             f"({', '.join(m.name for m in enum)})") from None
    return check


def _text(max_bytes: int) -> Checker[str]:
    def check(value: Any, what: str) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a str, not {type(value).__name__}")
        if "\0" in value:
            raise ValueError(f"{what} cannot contain a NUL character")
        size = len(value.encode("utf-8"))
        if size > max_bytes:
            raise ValueError(f"{what} is {size} bytes long, the limit is {max_bytes}")
        return value
    return check


def _address(version: int) -> Checker[str]:
    def check(value: Any, what: str) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a str, not {type(value).__name__}")
        try:
            parsed: Union[ipaddress.IPv4Address, ipaddress.IPv6Address] = (
                ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an IPv{version} address") from None
        return str(parsed)
    return check


def _part(cls: Type[T]) -> Checker[T]:
    """A nested configuration; None means its defaults."""
    def check(value: Any, what: str) -> T:
        if value is None:
            return cls()
        if not isinstance(value, cls):
            raise TypeError(f"{what} must be a {cls.__name__} or None, "
                            f"not {type(value).__name__}")
        return value
    return check


def _optional_part(cls: Type[T]) -> Checker[Optional[T]]:
    """A nested configuration that may stay None (then defaults apply)."""
    def check(value: Any, what: str) -> Optional[T]:
        return None if value is None else _part(cls)(value, what)
    return check


class _Field(Generic[T]):
    """An attribute checked whenever it is set."""

    def __init__(self, check: Checker[T]) -> None:
        self._check = check
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: Any, objtype: Optional[type] = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        value: T = obj.__dict__[self._name]
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self._name] = self._check(value, f"{type(obj).__name__}.{self._name}")


class _Config:
    """Field-wise repr and equality for the configuration classes."""
    _fields: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable


_U32 = _integer(1, 2**32 - 1)


class LinkStateConfig(_Config):
    """Link-state routing: policy, and the intervals in seconds to
    recalculate the forwarding table (``t_recalc``), to send updates
    (``t_update``), and after which a link times out (``t_timeo``)."""
    _fields = ("pol", "t_recalc", "t_update", "t_timeo")
    pol = _Field(_member(LinkStatePolicy))
    t_recalc = _Field(_U32)
    t_update = _Field(_U32)
    t_timeo = _Field(_U32)

    def __init__(self, pol: LinkStatePolicy = LinkStatePolicy.SIMPLE, t_recalc: int = 4,
                 t_update: int = 15, t_timeo: int = 60) -> None:
        self.pol = pol
        self.t_recalc = t_recalc
        self.t_update = t_update
        self.t_timeo = t_timeo


class RoutingConfig(_Config):
    """Routing of a unicast layer."""
    _fields = ("pol", "ls")
    pol = _Field(_member(RoutingPolicy))
    ls = _Field(_part(LinkStateConfig))

    def __init__(self, pol: RoutingPolicy = RoutingPolicy.LINK_STATE,
                 ls: Optional[LinkStateConfig] = None) -> None:
        self.pol = pol
        self.ls = ls


class DtConfig(_Config):
    """Data transfer of a unicast layer: address and endpoint-id sizes
    (bytes), the largest time-to-live, and routing."""
    _fields = ("addr_size", "eid_size", "max_ttl", "routing")
    addr_size = _Field(_integer(1, 255))
    eid_size = _Field(_integer(1, 255))
    max_ttl = _Field(_integer(1, 255))
    routing = _Field(_part(RoutingConfig))

    def __init__(self, addr_size: int = 4, eid_size: int = 8, max_ttl: int = 60,
                 routing: Optional[RoutingConfig] = None) -> None:
        self.addr_size = addr_size
        self.eid_size = eid_size
        self.max_ttl = max_ttl
        self.routing = routing


class DhtConfig(_Config):
    """The DHT directory: parallel lookups (alpha), replication factor (k),
    and the times (s) after which entries expire, contacts are refreshed
    and entries replicated. Ranges of Ouroboros' dir_dht_config_limits."""
    _fields = ("alpha", "k", "t_expire", "t_refresh", "t_replicate")
    alpha = _Field(_integer(1, 10))
    k = _Field(_integer(1, 20))
    t_expire = _Field(_integer(10, 86400))
    t_refresh = _Field(_integer(3, 3600))
    t_replicate = _Field(_integer(3, 3600))

    def __init__(self, alpha: int = 3, k: int = 8, t_expire: int = 86400,
                 t_refresh: int = 900, t_replicate: int = 900) -> None:
        self.alpha = alpha
        self.k = k
        self.t_expire = t_expire
        self.t_refresh = t_refresh
        self.t_replicate = t_replicate


class DirConfig(_Config):
    """The directory of a unicast layer."""
    _fields = ("pol", "dht")
    pol = _Field(_member(DirectoryPolicy))
    dht = _Field(_part(DhtConfig))

    def __init__(self, pol: DirectoryPolicy = DirectoryPolicy.DHT,
                 dht: Optional[DhtConfig] = None) -> None:
        self.pol = pol
        self.dht = dht


class UnicastConfig(_Config):
    """What a unicast layer is bootstrapped with."""
    _fields = ("dt", "dir", "addr_auth", "cong_avoid")
    dt = _Field(_part(DtConfig))
    dir = _Field(_part(DirConfig))
    addr_auth = _Field(_member(AddressAuthPolicy))
    cong_avoid = _Field(_member(CongestionAvoidPolicy))

    def __init__(self, dt: Optional[DtConfig] = None, dir: Optional[DirConfig] = None,
                 addr_auth: AddressAuthPolicy = AddressAuthPolicy.FLAT_RANDOM,
                 cong_avoid: CongestionAvoidPolicy = CongestionAvoidPolicy.MB_ECN) -> None:
        self.dt = dt
        self.dir = dir
        self.addr_auth = addr_auth
        self.cong_avoid = cong_avoid


class EthConfig(_Config):
    """An Ethernet layer (eth-llc or eth-dix): the network device, and the
    Ethertype (eth-dix only; 0x0600 to 0xFFFE, 0xA000-0xEFFF recommended)."""
    _fields = ("dev", "ethertype")
    dev = _Field(_text(NAME_SIZE))
    ethertype = _Field(_integer(0x0600, 0xFFFE))

    def __init__(self, dev: str = "", ethertype: int = 0xA000) -> None:
        self.dev = dev
        self.ethertype = ethertype


class Udp4Config(_Config):
    """A UDP/IPv4 layer: local address, DNS server (0.0.0.0: none), port."""
    _fields = ("ip_addr", "dns_addr", "port")
    ip_addr = _Field(_address(4))
    dns_addr = _Field(_address(4))
    port = _Field(_integer(1, 65535))

    def __init__(self, ip_addr: str = "0.0.0.0", dns_addr: str = "0.0.0.0",
                 port: int = 3435) -> None:
        self.ip_addr = ip_addr
        self.dns_addr = dns_addr
        self.port = port


class Udp6Config(_Config):
    """A UDP/IPv6 layer: local address, DNS server (::: none), port."""
    _fields = ("ip_addr", "dns_addr", "port")
    ip_addr = _Field(_address(6))
    dns_addr = _Field(_address(6))
    port = _Field(_integer(1, 65535))

    def __init__(self, ip_addr: str = "::", dns_addr: str = "::", port: int = 3435) -> None:
        self.ip_addr = ip_addr
        self.dns_addr = dns_addr
        self.port = port


class IpcpConfig(_Config):
    """What bootstrap_ipcp() needs: the IPCP type, the layer name, the
    directory hash, and the part for the type (``unicast`` for UNICAST,
    ``eth`` for ETH_LLC/ETH_DIX, ``udp4``/``udp6``; None: its defaults).
    LOCAL and BROADCAST layers need nothing more."""
    _fields = ("ipcp_type", "layer_name", "dir_hash_algo", "unicast", "eth", "udp4", "udp6")
    ipcp_type = _Field(_member(IpcpType))
    layer_name = _Field(_text(NAME_SIZE))
    dir_hash_algo = _Field(_member(DirectoryHashAlgo))
    unicast = _Field(_optional_part(UnicastConfig))
    eth = _Field(_optional_part(EthConfig))
    udp4 = _Field(_optional_part(Udp4Config))
    udp6 = _Field(_optional_part(Udp6Config))

    def __init__(self, ipcp_type: IpcpType, layer_name: str = "",
                 dir_hash_algo: DirectoryHashAlgo = DirectoryHashAlgo.SHA3_256,
                 unicast: Optional[UnicastConfig] = None, eth: Optional[EthConfig] = None,
                 udp4: Optional[Udp4Config] = None, udp6: Optional[Udp6Config] = None) -> None:
        self.ipcp_type = ipcp_type
        self.layer_name = layer_name
        self.dir_hash_algo = dir_hash_algo
        self.unicast = unicast
        self.eth = eth
        self.udp4 = udp4
        self.udp6 = udp6


__all__ = [
    "IpcpType", "AddressAuthPolicy", "LinkStatePolicy", "RoutingPolicy",
    "CongestionAvoidPolicy", "DirectoryPolicy", "DirectoryHashAlgo", "LinkStateConfig",
    "RoutingConfig", "DtConfig", "DhtConfig", "DirConfig", "UnicastConfig", "EthConfig",
    "Udp4Config", "Udp6Config", "IpcpConfig", "NAME_SIZE", "NAME_PATH_SIZE",
]
