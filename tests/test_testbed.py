"""Networks of real Ouroboros daemons on this host (ouroboros.testbed): a
line a --udp4-- b --eth-dix-- c (so traffic between a and c is relayed by
b), Python and C programs at the ends, peers that go away, an IRMd killed,
and tear-down that leaves nothing behind (also after an exception, Ctrl-C
or the death of the process that built the network).

Needs root and an installed Ouroboros; skips with the reason elsewhere.
The networks are shared by the tests of a fixture (module scope); the
tests that break something get networks of their own. With
O7S_TESTBED_KEEP=1 the shared networks keep their working directories (the
IRMd logs of every node) for a look after a failure.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

import testbed_apps as apps
from o7s_system import ouroboros_release
from ouroboros import testbed
from ouroboros import irm
from ouroboros.errors import (AlreadyExists, IpcpConnectError, IpcpEnrollError, IpcpStateError,
                              NamingError, NoSuchIpcp, NotSupported, RuntimeUnavailable)
from ouroboros.qos import QoSSpec, qos_data
from ouroboros.irm import DT_COMP, IpcpConfig, IpcpType, NameInfo
from ouroboros.testbed import Network, Node, RetryPolicy, UnicastLayer
from ouroboros.testbed.limits import unicast_header_bytes

REASON = testbed.unavailable_reason()

pytestmark = [
    pytest.mark.testbed,
    pytest.mark.timeout(600),
    pytest.mark.skipif(bool(REASON), reason=f"the testbed cannot run here: {REASON}"),
]

#: How often a fixture builds its network before it gives up: Ouroboros
#: 0.23.0 fails a network's first flows now and then (see docs/howto/system.md).
BUILDS = 3


@dataclass
class Line:
    net: Network
    layer: UnicastLayer
    a: Node
    b: Node
    c: Node


def _build(make: Callable[[Network], UnicastLayer], probe: Callable[[Network], None]
           ) -> Network:
    """A network made by ``make`` whose first flow (``probe``) worked; a
    failed one is torn down and made again, up to BUILDS times."""
    keep = bool(os.environ.get("O7S_TESTBED_KEEP"))
    for attempt in range(1, BUILDS + 1):
        # One retry of a step (after replacing a lower IPCP that crashed),
        # then a new network: a step that failed twice met an IPCP that
        # 0.23.0 left stuck.
        net = Network(keep=keep, retry=RetryPolicy(attempts=2), grace=0.5)
        if keep:
            print(f"network {net.dir}", file=sys.stderr)
        try:
            make(net)
            probe(net)
            return net
        except (testbed.TestbedError, OSError) as e:
            net.close()
            if attempt == BUILDS:
                raise
            print(f"network build {attempt} failed ({e}); again", file=sys.stderr)
    raise AssertionError("unreachable")


def _make_line(net: Network) -> UnicastLayer:
    a, b, c = net.add_nodes("a", "b", "c")
    net.link(a, b, "udp4")
    net.link(b, c, "eth-dix")
    layer = net.unicast_layer("net", [a, b, c])
    for name in ("echo", "oecho", "pyoping"):
        layer.register(name, a)
    return layer


def _start_echo_servers(net: Network) -> None:
    a, c = net.nodes["a"], net.nodes["c"]
    a.start(apps.echo_server, "echo").expect("ready")
    a.start(apps.echo_server, "oecho").expect("ready")
    a.start(apps.echo_server, "pyoping", True).expect("ready")
    assert c.call(apps.exchange, "echo", 1, timeout=90)["intact"] == 1


@pytest.fixture(scope="module")
def line() -> Iterator[Line]:
    """a --udp4-- b --eth-dix-- c, one unicast layer "net" over them, echo
    servers at a ("echo"; "oecho" for the oecho tool; "pyoping" answering
    as oping's server does)."""
    net = _build(_make_line, _start_echo_servers)
    try:
        layer = net.layers["net"]
        yield Line(net, layer, net.nodes["a"], net.nodes["b"], net.nodes["c"])
    finally:
        net.close()
    assert net.leftovers() == [] or net.keep


def _make_udp_pair(net: Network) -> UnicastLayer:
    a, b = net.add_nodes("a", "b")
    net.link(a, b, "udp4")
    layer = net.unicast_layer("net", [a, b])
    layer.register("echo", a)
    return layer


def _start_echo(net: Network) -> None:
    net.nodes["a"].start(apps.echo_server, "echo").expect("ready")
    assert net.nodes["b"].call(apps.exchange, "echo", 1, timeout=90)["intact"] == 1


@pytest.fixture
def udp_pair() -> Iterator[Network]:
    """a - b over udp4, an echo server at a, for a test that may break it
    (a connection taken down; reliable flows can leave the IPCPs they
    cross stuck on 0.23.0)."""
    net = _build(_make_udp_pair, _start_echo)
    try:
        yield net
    finally:
        net.close()
    assert net.leftovers() == [] or net.keep


def _reliable_flows_broken(proc: testbed.NodeProcess, error: Exception) -> None:
    """xfail for what Ouroboros 0.23.0 does to reliable flows (docs/howto/system.md)."""
    if ouroboros_release() != (0, 23):
        raise error
    status = proc.wait(timeout=30)
    what = ("crashed (SIGSEGV)" if status == -signal.SIGSEGV
            else f"lost an SDU for good ({error})")
    pytest.xfail(f"libouroboros-dev 0.23.0 {what} on a reliable flow (qos_data) across nodes")


# --- building

def test_the_layer_spans_the_line_through_its_lower_layers(line: Line) -> None:
    for node, lower in ((line.a, ["udp4"]), (line.b, ["eth-b-c", "udp4"]),
                        (line.c, ["eth-b-c"])):
        ipcps = node.irm.list_ipcps()
        assert [i.layer for i in ipcps] == ["net"] + lower  # by type: unicast first
        assert ipcps[0].name == f"net.{node.name}"
        assert ipcps[0].pid == line.layer.ipcps[node.name]
    assert [n.name for n in line.layer.members] == ["a", "b", "c"]
    assert line.layer.adjacencies == {frozenset("ab"), frozenset("bc")}
    # a and c share no link: their traffic goes through b.
    assert not [lk for lk in line.net.links if {n.name for n in lk.nodes} == {"a", "c"}]
    assert "to-a" not in line.c.run(["ip", "-o", "link"]).stdout


def test_the_udp_layer_finds_names_in_etc_hosts(line: Line) -> None:
    # b finds a's IPCP at a's end of their link, by the MD5 hash of its name.
    md5 = hashlib.md5(b"net.a").hexdigest()
    a_b = line.net.links[0]
    assert f"{a_b.address(line.a)} {md5}" in line.b.run(["cat", "/etc/hosts"]).stdout
    with open("/etc/hosts") as f:  # the host's own is untouched
        assert md5 not in f.read()


# --- Python flows across nodes

def test_python_flow_to_a_neighbour(line: Line) -> None:
    got = line.b.call(apps.exchange, "echo", 200, 1000, timeout=90)
    assert got["intact"] == 200
    assert got["qos"].in_order == 0 and got["qos"].loss == 1  # raw


def test_python_flow_relayed_through_the_middle_node(line: Line) -> None:
    got = line.c.call(apps.exchange, "echo", 200, 1000, timeout=90)
    assert got["intact"] == 200


def test_flows_from_both_ends_at_once(line: Line) -> None:
    procs = [node.start(apps.exchange, "echo", 100, 64) for node in (line.b, line.c)]
    assert [p.result(timeout=90)["intact"] for p in procs] == [100, 100]


# --- the largest SDU across nodes

def test_largest_sdu_over_udp4(line: Line) -> None:
    # b - a crosses the udp4 link only.
    limit = line.net.links[0].max_packet - unicast_header_bytes(line.layer.config)
    assert limit == 8961
    seen = line.b.call(apps.sizes_across, "echo", [limit, limit + 1, limit + 4, limit + 5,
                                                   limit + 1000, 64], timeout=90)
    assert seen[limit] == limit and seen[64] == 64
    # Beyond the limit nothing arrives whole: 0.23.0 truncates up to 4 bytes
    # more and drops the rest.
    for size in (limit + 1, limit + 4, limit + 5, limit + 1000):
        assert seen[size] != size


def test_largest_sdu_over_eth_dix(line: Line) -> None:
    # c - a crosses the eth-dix link (MTU 1500) and the udp4 one.
    limit = line.layer.max_sdu()
    assert limit == 1500 - 4 - 15
    seen = line.c.call(apps.sizes_across, "echo", [limit, limit + 1, 64], timeout=90)
    assert seen == {limit: limit, limit + 1: -1, 64: 64}


# --- the C tools against Python ends

def _c_tool(node: Node, argv: List[str]) -> str:
    """Runs a C tool in ``node``; a second time when its allocation (20 s,
    no retries of its own) was one of those 0.23.0 loses."""
    done = node.run(argv, timeout=60, check=False)
    if "Failed to allocate flow" in done.stdout:
        done = node.run(argv, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_c_oping_client_against_a_python_server(line: Line) -> None:
    out = _c_tool(line.c, ["oping", "-n", "pyoping", "-c", "20", "-i", "10ms"])
    assert re.search(r"20 packets transmitted, 20 received", out), out


def test_c_oecho_client_against_a_python_server(line: Line) -> None:
    out = _c_tool(line.c, ["oecho"])
    assert "Server replied with Client says hi!" in out


def test_python_client_against_the_c_oping_server(line: Line) -> None:
    line.layer.register("coping", line.a)
    server = line.a.popen(["oping", "--listen"])
    assert server.pid is not None
    try:
        line.a.bind_when_announced(server.pid, "coping")
        assert line.c.call(apps.oping_client, "coping", 20, timeout=90) == 20
    finally:
        server.stop()


def test_the_testbed_benchmark_measures_every_path(line: Line) -> None:
    # python -m benchmarks.testbed builds this same line; here it measures
    # the suite's (a short real run; no timing is asserted).
    from benchmarks import testbed as bench
    rows = bench.measure(line.layer, 20, 64, 1)
    run = {"build_s": 0.0, "teardown_s": 0.0, "retries": [], "rows": rows, "leftovers": [],
           "error": None}
    summary = bench.summarise([run])
    assert set(summary["paths"]) == {"b->a", "b->c", "c->a"}
    for path in summary["paths"].values():
        for impl in ("python", "oping"):
            # Raw flows: Ouroboros may drop an SDU now and then.
            assert path[impl]["received"] >= 18, (impl, path)
            assert path[impl]["p50_ns"] > 0
    assert "c->a" in bench.table(summary, 64)


# --- peers that go away

def test_a_peer_deallocation_is_seen_at_the_peer_timeout(line: Line) -> None:
    line.layer.register("watch1", line.a)
    watcher = line.a.start(apps.watch_peer, "watch1")
    watcher.expect("ready")
    holder = line.c.start(apps.hold, "watch1", 2000, 0.2)
    holder.expect("deallocated", timeout=60)
    # Across nodes the deallocation does not reach the other end: it
    # notices when the peer timeout (2 s here) passes.
    got = watcher.result(timeout=60)
    assert got["error"] == "FlowPeerException"
    holder.stop()


def test_a_peer_that_dies_is_seen_at_the_peer_timeout(line: Line) -> None:
    line.layer.register("watch2", line.a)
    watcher = line.a.start(apps.watch_peer, "watch2")
    watcher.expect("ready")
    holder = line.c.start(apps.hold, "watch2", 2000)
    holder.expect("allocated", timeout=60)
    watcher.expect("accepted")
    holder.signal(signal.SIGKILL)
    assert watcher.result(timeout=60)["error"] == "FlowPeerException"


# --- enroll, connect, disconnect

def test_disconnect_and_connect_again(udp_pair: Network) -> None:
    a, b = udp_pair.nodes["a"], udp_pair.nodes["b"]
    layer = udp_pair.layers["net"]
    layer.disconnect(b, a)
    assert layer.adjacencies == set()
    with pytest.raises(OSError):  # b has no way to a
        b.call(apps.exchange, "echo", 1, timeout=90)
    layer.connect(b, a)
    layer.wait_routes()
    assert b.call(apps.exchange, "echo", 10, timeout=90)["intact"] == 10


def test_irm_refusals_say_why(line: Line) -> None:
    spare = line.c.irm.create_ipcp("spare.c", IpcpType.UNICAST)
    try:
        # Errors raised in the node arrive as the same classes.
        with pytest.raises(NamingError) as e:
            line.c.irm.enroll_ipcp(spare, "no-such-name")
        assert isinstance(e.value, IpcpEnrollError)
        assert "does not know the name 'no-such-name': create it on this node first" in \
            str(e.value)
        with pytest.raises(IpcpStateError, match="not in a layer"):
            line.c.irm.connect_ipcp(spare, DT_COMP, "net.b")
        with pytest.raises(IpcpStateError, match="in layer 'net' already"):
            line.c.irm.enroll_ipcp(line.layer.ipcps["c"], "net.b")
        with pytest.raises(IpcpConnectError, match="could not reach 'nobody'"):
            line.c.irm.create_name(NameInfo("nobody"))
            line.c.irm.connect_ipcp(line.layer.ipcps["c"], DT_COMP, "nobody")
        # A second binding; an IPCP that died.
        line.c.irm.bind_process(line.c.irm.list_ipcps()[0].pid, "twice")
        with pytest.raises(AlreadyExists, match="bound to 'twice' already"):
            line.c.irm.bind_process(line.c.irm.list_ipcps()[0].pid, "twice")
        line.c.run(["kill", "-KILL", str(spare)])
        with pytest.raises(NoSuchIpcp, match="is not running"):
            line.c.irm.reg_name("twice", spare)
    finally:
        line.c.irm.destroy_ipcp(spare)


def test_qos_data_across_nodes(line: Line) -> None:
    # The last test on the line: on 0.23.0 a reliable flow can leave the
    # IPCPs it crosses stuck.
    proc = line.c.start(apps.exchange, "echo", 50, 200, qos_data)
    try:
        got = proc.result(timeout=90)
    except (testbed.TestbedError, OSError) as e:
        _reliable_flows_broken(proc, e)
        raise
    assert got["intact"] == 50
    assert got["qos"].loss == 0 and got["qos"].in_order == 1


def test_closing_a_reliable_flow_whose_peer_died_does_not_wait(udp_pair: Network) -> None:
    a, b = udp_pair.nodes["a"], udp_pair.nodes["b"]
    udp_pair.layers["net"].register("gone", a)
    server = a.start(apps.echo_server, "gone")
    server.expect("ready")
    go = f"/tmp/o7s-testbed-go-{os.getpid()}"
    client = b.start(apps.dealloc_after_peer_death, "gone", go, qos_data)
    try:
        try:
            client.expect("ready", timeout=60)
        except testbed.TestbedError as e:
            _reliable_flows_broken(client, e)
            raise
        server.signal(signal.SIGKILL)
        server.wait()
        open(go, "w").close()
        # The library would wait for acknowledgements until the flow times
        # out (78-96 s here); the backend returns after its 2 s linger.
        assert client.result(timeout=60)["dealloc_s"] < 10
    finally:
        if os.path.exists(go):
            os.unlink(go)


# --- a node's IRMd killed

def test_a_node_whose_irmd_was_killed() -> None:
    with Network(grace=0.5) as net:
        a, b = net.add_nodes("a", "b")
        local = b.irm.create_ipcp("local.b", IpcpType.LOCAL)
        b.irm.bootstrap_ipcp(local, IpcpConfig(IpcpType.LOCAL, "local"))
        b.signal_irmd(signal.SIGKILL)
        # Its IPCP lives on and holds its socket open: calls fail, not hang.
        with pytest.raises(RuntimeUnavailable, match="IRMd"):
            b.irm.list_ipcps()
        with pytest.raises(NotSupported, match="IRMd"):
            b.call(irm.list_names)  # a new process on the system backend
        b.restart_irmd()
        assert b.irm.list_ipcps() == []   # a new IRMd starts empty
        assert a.irm.list_ipcps() == []   # a's is not affected
        b.irm.create_ipcp("local.b", IpcpType.LOCAL)
    assert net.leftovers() == []


def test_the_readme_example_runs() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "testbed_line.py"
    # A second run when the first met one of 0.23.0's failures (the example
    # builds one network, without the fixtures' rebuilds; see BUILDS).
    for attempt in range(2):
        out = subprocess.run([sys.executable, str(example)], capture_output=True, text=True,
                             timeout=300,
                             env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        if out.returncode == 0:
            break
        print(f"the example failed ({out.stderr[-300:]}); again", file=sys.stderr)
    assert out.returncode == 0, out.stderr
    assert re.search(r"c -> a: one round trip in [0-9.]+ ms", out.stdout), out.stdout
    assert "5 packets transmitted, 5 received" in out.stdout
    assert "IPCPs of b: net.b (net), eth-b-c.b (eth-b-c), udp4.b (udp4)" in out.stdout
    assert "largest SDU across net: 1481 bytes" in out.stdout


# --- tear-down

def _namespaces_alive(ids: List[str]) -> List[str]:
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            for kind in ("net", "mnt", "pid"):
                try:
                    if os.readlink(f"/proc/{entry}/ns/{kind}") in ids:
                        alive.append(f"{entry}:{kind}")
                except OSError:
                    pass
    return alive


def test_an_exception_in_the_block_leaves_nothing_behind() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with Network(grace=0.5) as net:
            a, b = net.add_nodes("a", "b")
            net.link(a, b, "eth-dix")
            a.start(apps.echo_server, "never").expect("ready")
            pids = [a.init_pid, b.init_pid]
            raise RuntimeError("boom")
    assert net.leftovers() == []
    assert not [p for p in pids if os.path.exists(f"/proc/{p}")]
    assert not net.dir.exists()


DRIVER = """
import os, sys, time
from ouroboros.testbed import Network
net = Network(grace=0.5)
with net:
    a, b = net.add_nodes("a", "b")
    net.link(a, b, "udp4")
    ids = [os.readlink(f"/proc/{n.init_pid}/ns/{k}") for n in (a, b) for k in ("net", "mnt")]
    print("ready", net.dir, *ids, flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_the_network_goes_when_its_maker_is_interrupted_or_killed(sig: int) -> None:
    driver = subprocess.Popen([sys.executable, "-c", textwrap.dedent(DRIVER)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        assert driver.stdout is not None
        words = driver.stdout.readline().split()
        assert words and words[0] == "ready", driver.stderr.read() if driver.stderr else ""
        workdir, ids = words[1], words[2:]
        assert len(_namespaces_alive(ids)) >= len(ids)
        driver.send_signal(sig)
        driver.wait(timeout=60)
        # With Ctrl-C the network is closed; killed, its nodes die with it
        # (a parent-death signal), leaving only the working directory.
        deadline = time.monotonic() + 30
        while _namespaces_alive(ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _namespaces_alive(ids) == []
        assert os.path.exists(workdir) == (sig == signal.SIGKILL)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for stream in (driver.stdout, driver.stderr):
            if stream is not None:
                stream.close()
        if sig == signal.SIGKILL:
            subprocess.run(["rm", "-rf", "--", words[1]], check=False)
