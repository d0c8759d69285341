"""Networks of testbed nodes: links, lower layers and unicast layers.

A :class:`Network` owns its nodes; :meth:`Network.close` (or the end of its
``with`` block, also after an exception or Ctrl-C) ends them all. Every IRM
step runs in the node it concerns, through :mod:`ouroboros.irm` on the
system backend (``node.irm``), as a program of the user would.

How the layers are made (Ouroboros 0.23):

- A link is a veth pair, one end in each node, with the IPv4 addresses
  ``10.X.Y.1`` and ``10.X.Y.2/24`` (one subnet per link).
- ``udp4`` links share one UDP layer (named ``udp4``): each node has one
  udp4 IPCP, bound to all its addresses, and finds the names of its
  neighbours in its ``/etc/hosts`` (the MD5 hash of the name, see
  :func:`~ouroboros.testbed.node.md5_hex`), which the testbed writes.
  Nodes reach only their neighbours: there is no IP routing between links.
- An ``eth-dix`` link is a layer of its own (``eth-<a>-<b>``), with an
  eth-dix IPCP on the veth device at each end; names are found by
  broadcast on the link.
- A unicast layer: its first node bootstraps the layer; every other node
  enrolls through a neighbour that is already in it, over the link between
  them, and connects its data transfer and management components to it.
  The IPCP of node ``n`` in layer ``L`` is named ``L.n``, is bound to that
  name and to ``L``, and its name is registered in the lower layers of its
  links to other members. A name must exist in an IRMd before a process
  there (an IPCP too) can allocate a flow to it: the testbed creates the
  names it uses, and :meth:`UnicastLayer.register` creates the name on
  every member.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set,
                    Tuple, TypeVar)

from .. import irm
from ..errors import IrmError
from ..qos import QoSSpec
from . import rib
from .limits import crc_bytes, frct_bytes, lower_packet_limit, unicast_header_bytes
from .node import Node, TestbedError

log = logging.getLogger("ouroboros.testbed")

T = TypeVar("T")

#: The lower-layer types a link can carry.
LINK_TYPES = ("udp4", "eth-dix")

#: The name of the network's UDP layer.
UDP_LAYER = "udp4"

_NODE_NAME = re.compile(r"[a-z][a-z0-9-]{0,9}\Z")


@dataclass(frozen=True)
class RetryPolicy:
    """How often the testbed tries a step that Ouroboros sometimes fails
    the first time (enrollment, connecting components): ``attempts`` in
    all, ``delay`` seconds before the second one, doubling up to
    ``max_delay``."""
    attempts: int = 5
    delay: float = 0.5
    max_delay: float = 4.0


@dataclass(frozen=True)
class Retry:
    """One failed attempt that was retried (or was the last one)."""
    node: str
    operation: str
    attempt: int
    error: str


@dataclass
class ShimLayer:
    """A lower layer: the network's UDP layer (one udp4 IPCP per node that
    has a udp4 link) or the eth-dix layer of one link. ``ipcps`` maps node
    names to the pids (in their nodes) of the layer's IPCPs; ``names`` the
    names registered in it at each node."""
    name: str
    kind: str
    ipcps: Dict[str, int] = field(default_factory=dict)
    links: List["Link"] = field(default_factory=list)
    names: Dict[str, List[str]] = field(default_factory=dict)

    def ipcp_name(self, node: Node) -> str:
        """The name of ``node``'s IPCP in this layer: ``<layer>.<node>``."""
        return f"{self.name}.{node.name}"

    def register(self, name: str, node: Node) -> None:
        """Registers ``name`` in this layer at ``node`` (creating it there),
        creates it at the other nodes of the layer and, for the UDP layer,
        tells the neighbours of ``node`` where to find it (``/etc/hosts``)."""
        _create_name(node, name)
        self._reg(node, name)
        for link in self.links:
            if node in link.nodes:
                peer = link.peer(node)
                _create_name(peer, name)
                if self.kind == "udp4":
                    peer.add_host(name, link.address(node))

    def max_sdu(self, qos: Optional[QoSSpec] = None) -> int:
        """The largest SDU a flow directly over this layer carries in one
        piece (bytes), for the QoS ``qos`` (None: raw)."""
        return min(link.max_packet for link in self.links) - crc_bytes(qos)

    def _reg(self, node: Node, name: str) -> None:
        node.irm.reg_name(name, self.ipcps[node.name])
        self.names.setdefault(node.name, []).append(name)

    def _make_ipcp(self, node: Node, link: "Link") -> None:
        """Creates and bootstraps ``node``'s IPCP of this layer."""
        if self.kind == "eth-dix":
            ipcp_type = irm.IpcpType.ETH_DIX
            conf = irm.IpcpConfig(ipcp_type, self.name, eth=irm.EthConfig(link.ifname(node)))
        else:
            ipcp_type = irm.IpcpType.UDP4
            # Bound to every address: it answers over the link a request
            # came in on.
            conf = irm.IpcpConfig(ipcp_type, self.name, udp4=irm.Udp4Config("0.0.0.0"))
        pid = node.irm.create_ipcp(self.ipcp_name(node), ipcp_type)
        node.irm.bootstrap_ipcp(pid, conf)
        self.ipcps[node.name] = pid

    def _revive(self, node: Node, link: "Link") -> bool:
        """Replaces ``node``'s IPCP of this layer if it died (ipcpd-eth-dix
        0.23.0 crashes now and then); returns whether it had to."""
        pid = self.ipcps[node.name]
        if node._agent_call(rib.process_alive, (pid,), {}):
            return False
        log.warning("%s: the %s IPCP %d died; making a new one", node.name, self.kind, pid)
        try:
            node.irm.destroy_ipcp(pid)
        except IrmError:
            pass
        self._make_ipcp(node, link)
        names = self.names.pop(node.name, [])
        for name in names:
            self._reg(node, name)
        return True


@dataclass
class Link:
    """A veth pair between two nodes, and the lower layer over it."""
    index: int
    nodes: "tuple[Node, Node]"
    kind: str
    ifnames: Dict[str, str]
    addresses: Dict[str, str]
    mtu: int
    layer: ShimLayer

    def peer(self, node: Node) -> Node:
        a, b = self.nodes
        return b if node is a else a

    def address(self, node: Node) -> str:
        """The IPv4 address of ``node``'s end of the link."""
        return self.addresses[node.name]

    def ifname(self, node: Node) -> str:
        """The name of ``node``'s end of the link (a network device in the node)."""
        return self.ifnames[node.name]

    @property
    def max_packet(self) -> int:
        """The largest packet (bytes) the link's lower layer carries for the
        layer above it: see :func:`~ouroboros.testbed.limits.lower_packet_limit`."""
        return lower_packet_limit(self.kind, self.mtu)

    def set_up(self, up: bool) -> None:
        """Takes both ends of the link down (``up=False``) or up again."""
        for node in self.nodes:
            node.run(["ip", "link", "set", self.ifname(node), "up" if up else "down"])


class UnicastLayer:
    """A unicast layer over some nodes of the network (made by
    :meth:`Network.unicast_layer`). ``ipcps`` maps node names to the pids of
    the layer's IPCPs in their nodes; ``members`` are in enrollment order."""

    def __init__(self, network: "Network", name: str, config: irm.UnicastConfig) -> None:
        self.network = network
        self.name = name
        self.config = config
        self.members: List[Node] = []
        self.ipcps: Dict[str, int] = {}
        self.adjacencies: Set[FrozenSet[str]] = set()  # connected pairs of node names
        self._wanted: Set[str] = set()  # the nodes it is being built over

    def __repr__(self) -> str:
        return f"UnicastLayer({self.name!r}, members={[n.name for n in self.members]})"

    def ipcp_name(self, node: Node) -> str:
        """The name of ``node``'s IPCP in this layer: ``<layer>.<node>``."""
        return f"{self.name}.{node.name}"

    def links(self) -> List[Link]:
        """The links between members of the layer."""
        names = {n.name for n in self.members}
        return [lk for lk in self.network.links if {n.name for n in lk.nodes} <= names]

    def register(self, name: str, node: Node) -> None:
        """Registers ``name`` in the layer at ``node`` and creates it at
        every member (processes allocate flows only to names their IRMd
        knows). A process at ``node`` that binds itself to ``name``
        (``irm.bind_process``) then accepts the flows to it."""
        for member in self.members:
            _create_name(member, name)
        node.irm.reg_name(name, self.ipcps[node.name])

    def connect(self, node: Node, peer: Node, link: Optional[Link] = None) -> None:
        """Connects the data transfer and management components of
        ``node``'s IPCP to ``peer``'s (neighbours in the layer, over
        ``link``: default, the first between them)."""
        if link is None:
            link = next(lk for lk in self.network.links
                        if {n.name for n in lk.nodes} == {node.name, peer.name})
        pid, dst = self.ipcps[node.name], self.ipcp_name(peer)
        for comp in (irm.DT_COMP, irm.MGMT_COMP):
            self.network.retrying(node, f"connect_ipcp({comp} of {self.ipcp_name(node)} to "
                                        f"{dst})", link, node.irm.connect_ipcp, pid, comp, dst)
        self.adjacencies.add(frozenset((node.name, peer.name)))

    def disconnect(self, node: Node, peer: Node) -> None:
        """Undoes :meth:`connect`."""
        pid, dst = self.ipcps[node.name], self.ipcp_name(peer)
        for comp in (irm.DT_COMP, irm.MGMT_COMP):
            node.irm.disconnect_ipcp(pid, comp, dst)
        self.adjacencies.discard(frozenset((node.name, peer.name)))

    def wait_routes(self, timeout: float = 60.0) -> float:
        """Waits (up to ``timeout`` seconds) until the link-state database
        of every member holds every adjacency of the layer (both directions
        of each connection) and each member has its data-transfer
        neighbours, and then until the IPCPs recalculated their routes
        (they do every ``t_recalc`` seconds). Flows between members work
        from then on; returns the seconds waited."""
        start = time.monotonic()
        deadline = start + timeout
        expected = 2 * len(self.adjacencies)
        degree = {n.name: sum(1 for a in self.adjacencies if n.name in a) for n in self.members}
        while True:
            seen = {n.name: n._agent_call(rib.lsdb, (self.ipcp_name(n),), {})
                    for n in self.members}
            if all(len(links) == expected and len(nbs) == degree[name]
                   for name, (links, nbs, _) in seen.items()):
                break
            for n in self.members:
                if not n._agent_call(rib.process_alive, (self.ipcps[n.name],), {}):
                    raise TestbedError(f"layer {self.name}: the IPCP {self.ipcp_name(n)} "
                                       f"exited (its node's irmd_log() may say why)")
            if time.monotonic() > deadline:
                counts = {name: (len(links), len(nbs)) for name, (links, nbs, _) in seen.items()}
                raise TestbedError(f"layer {self.name}: routing did not converge within "
                                   f"{timeout} s ((adjacencies, neighbours) per node: {counts}; "
                                   f"expected {expected} adjacencies, neighbours {degree})")
            time.sleep(0.1)
        # Routes follow within t_recalc of the last change; the stamps have
        # a resolution of one second.
        newest = max([time.time() - 0.1] + [stamp for _, _, stamp in seen.values()])
        ready = newest + int(self.config.dt.routing.ls.t_recalc) + 1
        while time.time() < ready:
            time.sleep(min(0.1, max(0.0, ready - time.time())))
        return time.monotonic() - start

    def max_sdu(self, qos: Optional[QoSSpec] = None) -> int:
        """The largest SDU (bytes) that a flow with ``qos`` (None: raw)
        carries across every link of the layer; see
        :mod:`ouroboros.testbed.limits`. Larger SDUs are dropped, not
        refused (``Flow.max_sdu`` is the local limit)."""
        lower = min(lk.max_packet for lk in self.links())
        return (lower - unicast_header_bytes(self.config) - frct_bytes(qos)
                - crc_bytes(qos))

    # --- building

    def _add_member(self, node: Node, via: Optional[Link]) -> None:
        net = self.network
        me = self.ipcp_name(node)
        step = "bootstrap" if via is None else "enroll"
        for attempt in range(1, net.retry.attempts + 1):
            pid = node.irm.create_ipcp(me, irm.IpcpType.UNICAST)
            self.ipcps[node.name] = pid
            node.irm.bind_process(pid, me)
            node.irm.bind_process(pid, self.name)
            if via is None:
                node.irm.bootstrap_ipcp(pid, irm.IpcpConfig(irm.IpcpType.UNICAST, self.name,
                                                            unicast=self.config))
            else:
                peer = via.peer(node)
                dst = self.ipcp_name(peer)
                _create_name(node, dst)
                if via.kind == "udp4":
                    node.add_host(dst, via.address(peer))
                    peer.add_host(me, via.address(node))
                net.retrying(node, f"enroll_ipcp({me} through {dst})", via,
                             node.irm.enroll_ipcp, pid, dst)
            problem = node._agent_call(rib.ipcp_problem, (pid,), {})
            if not problem:
                break
            net.retries.append(Retry(node.name, f"{step} {me}", attempt, problem))
            log.warning("%s: after %s of %s: %s; making it again", node.name, step, me, problem)
            try:
                node.irm.destroy_ipcp(pid)
            except IrmError:
                pass
        else:
            raise TestbedError(f"{node.name}: {step} of {me} failed {net.retry.attempts} "
                               f"times: {problem}")
        self.members.append(node)
        # Reachable over every link to another (future) member, for the
        # nodes that enroll through it or connect to it.
        for link in self.network.links:
            if node in link.nodes and link.kind and link.peer(node).name in self._wanted:
                link.layer._reg(node, me)
        if via is not None:
            self.connect(node, via.peer(node), via)


class Network:
    """N nodes on this host, each in its own namespaces with its own IRMd,
    and the links and layers between them. Needs root and an installed
    Ouroboros (:func:`~ouroboros.testbed.unavailable_reason`)::

        with Network() as net:
            a, b = net.add_nodes("a", "b")
            net.link(a, b, "udp4")
            layer = net.unicast_layer("net", [a, b])
            ...

    ``retries`` lists the steps that failed and were tried again (see
    :class:`RetryPolicy`); ``workdir`` holds each node's ``hosts`` and
    ``irmd.log`` (removed at close unless ``keep``)."""

    def __init__(self, workdir: Optional[str] = None, keep: bool = False,
                 retry: RetryPolicy = RetryPolicy(), grace: float = 3.0,
                 irmd: Optional[str] = None) -> None:
        from . import unavailable_reason
        reason = unavailable_reason()
        if reason:
            raise TestbedError(f"the testbed cannot run here: {reason}")
        from . import find_irmd
        self.irmd = irmd or find_irmd() or "irmd"
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="o7s-testbed-"))
        self.keep = keep
        self.retry = retry
        self.grace = grace
        self.nodes: Dict[str, Node] = {}
        self.links: List[Link] = []
        self.layers: Dict[str, Any] = {}
        self.retries: List[Retry] = []
        self._namespaces: List[str] = []  # "net:[inode]" etc. of every node
        self._closed = False

    def __enter__(self) -> "Network":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Network(nodes={list(self.nodes)}, links={len(self.links)})"

    # --- nodes and links

    def add_node(self, name: str) -> Node:
        """Starts a node called ``name`` (lower-case letters, digits and
        '-', at most 10, starting with a letter)."""
        if not _NODE_NAME.match(name):
            raise ValueError(f"node name {name!r}: use 1-10 lower-case letters, digits or '-', "
                             "starting with a letter")
        if name in self.nodes:
            raise ValueError(f"there is a node {name!r} already")
        node = Node(name, self.dir / name, sys.path)
        self.nodes[name] = node  # from now on close() ends it
        node._boot(self.irmd)
        for ns in ("net", "mnt", "pid"):
            self._namespaces.append(os.readlink(f"/proc/{node.init_pid}/ns/{ns}"))
        return node

    def add_nodes(self, *names: str) -> List[Node]:
        """add_node() for each name."""
        return [self.add_node(n) for n in names]

    def link(self, a: Node, b: Node, kind: Optional[str] = "udp4",
             mtu: int = 1500) -> Link:
        """Joins ``a`` and ``b`` with a veth pair (MTU ``mtu`` bytes) and
        puts a lower layer over it: ``"udp4"`` (the network's UDP layer),
        ``"eth-dix"`` (a layer for this link), or None (no IPCP)."""
        if kind is not None and kind not in LINK_TYPES:
            raise ValueError(f"link type {kind!r}: one of {LINK_TYPES} or None")
        index = len(self.links)
        if index >= 65536:
            raise ValueError("too many links")
        count = sum(1 for lk in self.links if {n.name for n in lk.nodes} == {a.name, b.name})
        suffix = str(count) if count else ""
        ifnames = {a.name: f"to-{b.name}{suffix}", b.name: f"to-{a.name}{suffix}"}
        subnet = f"10.{index // 256}.{index % 256}"
        addresses = {a.name: f"{subnet}.1", b.name: f"{subnet}.2"}
        subprocess.run(["ip", "link", "add", "name", ifnames[a.name], "mtu", str(mtu),
                        "netns", str(a.init_pid), "type", "veth", "peer", "name",
                        ifnames[b.name], "mtu", str(mtu), "netns", str(b.init_pid)],
                       check=True, capture_output=True, text=True)
        for node in (a, b):
            node.run(["ip", "addr", "add", f"{addresses[node.name]}/24", "dev",
                      ifnames[node.name]])
            node.run(["ip", "link", "set", ifnames[node.name], "up"])
        layer = self._shim_layer(kind, a, b)
        link = Link(index, (a, b), kind or "", ifnames, addresses, mtu, layer)
        self.links.append(link)
        layer.links.append(link)
        for node in (a, b):
            if kind and node.name not in layer.ipcps:
                layer._make_ipcp(node, link)
        return link

    def _shim_layer(self, kind: Optional[str], a: Node, b: Node) -> ShimLayer:
        if kind == "udp4":
            layer = self.layers.setdefault(UDP_LAYER, ShimLayer(UDP_LAYER, "udp4"))
            assert isinstance(layer, ShimLayer)
            return layer
        name = f"eth-{a.name}-{b.name}" if kind else f"none-{a.name}-{b.name}"
        k = 1
        while name in self.layers:
            k += 1
            name = f"eth-{a.name}-{b.name}-{k}"
        shim = ShimLayer(name, kind or "")
        if kind:
            self.layers[name] = shim
        return shim

    # --- unicast layers

    def unicast_layer(self, name: str, nodes: Optional[Sequence[Node]] = None,
                      config: Optional[irm.UnicastConfig] = None) -> UnicastLayer:
        """Builds the unicast layer ``name`` over ``nodes`` (default: all):
        the first bootstraps it, the others enroll through a neighbour
        already in it (breadth first over the links between them) and
        connect to it. Every member must be reachable over links."""
        if name in self.layers:
            raise ValueError(f"there is a layer {name!r} already")
        members = list(self.nodes.values()) if nodes is None else list(nodes)
        if not members:
            raise ValueError("a layer needs at least one node")
        layer = UnicastLayer(self, name, config or default_unicast_config())
        self.layers[name] = layer
        wanted = layer._wanted = {n.name for n in members}
        layer._add_member(members[0], None)
        todo = deque([members[0]])
        while todo:
            node = todo.popleft()
            for link in self.links:
                if node not in link.nodes or not link.kind:
                    continue
                peer = link.peer(node)
                if peer.name in wanted and peer.name not in layer.ipcps:
                    layer._add_member(peer, link)
                    todo.append(peer)
        missing = wanted - set(layer.ipcps)
        if missing:
            raise TestbedError(f"layer {name}: no link path from {members[0].name} to "
                               f"{sorted(missing)}")
        layer.wait_routes()
        return layer

    def retrying(self, node: Node, what: str, link: Optional[Link], fn: Callable[..., T],
                 *args: Any) -> T:
        """``fn(*args)`` under the retry policy; failed attempts are logged
        and kept in :attr:`retries`. Before another attempt, lower-layer
        IPCPs of ``link`` that died are replaced."""
        delay = self.retry.delay
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return fn(*args)
            except IrmError as e:
                self.retries.append(Retry(node.name, what, attempt, str(e)))
                if attempt == self.retry.attempts:
                    raise
                log.info("%s: %s failed (attempt %d): %s; again in %.1f s",
                         node.name, what, attempt, e, delay)
                if link is not None and link.kind:
                    for end in link.nodes:
                        if link.layer._revive(end, link):
                            self.retries.append(Retry(end.name, f"replace the dead IPCP of "
                                                      f"{link.layer.name}", attempt, ""))
                time.sleep(delay)
                delay = min(delay * 2, self.retry.max_delay)
        raise AssertionError("unreachable")

    # --- the end

    def close(self) -> None:
        """Ends every node (their processes, IRMds and namespaces, and with
        them the links) and removes the working directory unless ``keep``.
        Safe to call more than once; Ctrl-C during it does not stop it."""
        if self._closed:
            return
        self._closed = True
        previous = signal.getsignal(signal.SIGINT)
        in_main = _in_main_thread()
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            # In parallel: each node may wait up to `grace` for its IRMd.
            threads = [threading.Thread(target=self._shutdown, args=(node,))
                       for node in self.nodes.values()]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if not self.keep:
                shutil.rmtree(self.dir, ignore_errors=True)
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)

    def _shutdown(self, node: Node) -> None:
        try:
            node.shutdown(grace=self.grace)
        except Exception as e:  # keep ending the others
            log.warning("%s: ending the node failed: %s", node.name, e)

    def leftovers(self) -> List[str]:
        """What the network left on the host: processes in its nodes'
        namespaces, descriptors that keep a namespace alive, the working
        directory. Empty after :meth:`close` (with ``keep=False``)."""
        found = []
        wanted = set(self._namespaces)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            for ns, target in _links(f"/proc/{entry}/ns", ("net", "mnt", "pid")):
                if target in wanted:
                    found.append(f"process {entry} in a node's namespace {target}")
            for fd, target in _links(f"/proc/{entry}/fd"):
                if target in wanted:
                    found.append(f"descriptor {fd} of process {entry} holds {target}")
        if not self.keep and self.dir.exists():
            found.append(f"the working directory {self.dir}")
        return found


def default_unicast_config() -> irm.UnicastConfig:
    """The testbed's unicast layers: Ouroboros' defaults, except that routes
    are recalculated every second (not 4) and link-state updates go out
    every 2 seconds (not 15: a new member learns the adjacencies that
    existed before it only from those), so that a new or changed network
    is usable sooner."""
    ls = irm.LinkStateConfig(t_recalc=1, t_update=2)
    return irm.UnicastConfig(dt=irm.DtConfig(routing=irm.RoutingConfig(ls=ls)))


def _links(directory: str, names: Optional[Iterable[str]] = None) -> List[Tuple[str, str]]:
    """(name, target) of the symbolic links ``names`` (default: all) in
    ``directory``; those that vanish meanwhile are left out."""
    try:
        entries = list(names) if names is not None else os.listdir(directory)
    except OSError:
        return []
    out = []
    for name in entries:
        try:
            out.append((name, os.readlink(os.path.join(directory, name))))
        except OSError:
            pass
    return out


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _create_name(node: Node, name: str) -> None:
    """Creates ``name`` in the node's IRMd (0.23 succeeds for a name that
    exists; the embedded runtime says AlreadyExists)."""
    try:
        node.irm.create_name(irm.NameInfo(name))
    except FileExistsError:
        pass


def line(names: Iterable[str], kind: str = "udp4", layer: str = "net",
         **network_options: Any) -> "tuple[Network, UnicastLayer]":
    """A network of nodes in a line (``a - b - c ...``) over ``kind`` links
    with one unicast layer over all of them; returns the network (close
    it, or use it in ``with``) and the layer."""
    net = Network(**network_options)
    try:
        nodes = net.add_nodes(*names)
        for a, b in zip(nodes, nodes[1:]):
            net.link(a, b, kind)
        return net, net.unicast_layer(layer, nodes)
    except BaseException:
        net.close()
        raise
