"""Broadcast layers: flow_join(layer); every SDU a member writes reaches
every other member, in order per sender, through the daemon's relay."""

from __future__ import annotations

import json
from typing import Dict, List

import pytest

from irm_testing import wait_until
from ouroboros import irm
from ouroboros.dev import FlowDownException, FlowTimeoutException, flow_join
from ouroboros.errors import EIPCP, FlowException, NotSupported
from ouroboros.irm import IpcpConfig, IpcpType

# These test the embedded broadcast relay.
pytestmark = pytest.mark.embedded_only

# A member: joins, says so, waits for "go" on stdin, then writes `count`
# SDUs "<tag>:<seq>" while a thread reads everything the others send, and
# prints what it got per sender as JSON.
MEMBER = """
import json, sys, threading
from ouroboros.dev import flow_join
layer, tag, count, members = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
f = flow_join(layer, timeo=10)
print("joined", flush=True)
got = {}
expected = count * (members - 1)

def reader():
    f.set_rcv_timeout(30)
    for _ in range(expected):
        sender, seq = f.read().decode().split(":")
        got.setdefault(sender, []).append(int(seq))

t = threading.Thread(target=reader)
t.start()
sys.stdin.readline()  # "go": every member has joined
for seq in range(count):
    f.write(("%s:%d" % (tag, seq)).encode())
t.join()
print("got", json.dumps(got), flush=True)
f.dealloc()
"""


@pytest.fixture
def layer() -> str:
    pid = irm.create_ipcp("bc", IpcpType.BROADCAST)
    irm.bootstrap_ipcp(pid, IpcpConfig(IpcpType.BROADCAST, "bc-layer"))
    return "bc-layer"


def _read_all(f, count: int) -> List[bytes]:
    f.set_rcv_timeout(10)
    return [f.read() for _ in range(count)]


def _nothing_more(f) -> None:
    f.set_rcv_timeout(0.2)
    with pytest.raises(FlowTimeoutException):
        f.read()


def test_five_member_processes_hear_each_other_in_order(spawn, layer) -> None:
    count, members = 50, 5
    procs = [spawn(MEMBER, layer, f"m{i}", str(count), str(members)) for i in range(members)]
    for p in procs:
        p.expect("joined", timeout=20)
    for p in procs:
        p.send("go")
    for i, p in enumerate(procs):
        got: Dict[str, List[int]] = json.loads(p.expect("got", timeout=60)[4:])
        others = {f"m{j}" for j in range(members) if j != i}
        assert set(got) == others  # everyone else, not itself
        for sender, seqs in got.items():
            assert seqs == list(range(count)), f"m{i} got {sender}'s SDUs out of order or lossy"


def test_members_join_and_leave_at_any_time(layer) -> None:
    a, b = flow_join(layer), flow_join(layer)
    a.write(b"before c")
    assert _read_all(b, 1) == [b"before c"]
    c = flow_join(layer)
    b.write(b"with c")
    assert _read_all(a, 1) == _read_all(c, 1) == [b"with c"]
    _nothing_more(c)  # what was said before it joined does not reach it
    c.dealloc()
    a.write(b"after c")
    assert _read_all(b, 1) == [b"after c"]
    _nothing_more(a)  # its own SDUs never come back
    a.dealloc()
    b.dealloc()


def test_a_member_that_dies_is_dropped_without_disturbing_the_others(spawn, layer,
                                                                     runtime) -> None:
    a, b = flow_join(layer), flow_join(layer)
    victim = spawn("""
        import signal, sys
        from ouroboros.dev import flow_join
        f = flow_join(sys.argv[1])
        f.write(b"hello from the victim")
        print("joined", flush=True)
        signal.pause()  # until killed
    """, layer)
    victim.expect("joined")
    assert _read_all(a, 1) == _read_all(b, 1) == [b"hello from the victim"]
    victim.kill()
    victim.popen.wait(timeout=10)
    for i in range(100):
        a.write(b"%d" % i)
    assert _read_all(b, 100) == [b"%d" % i for i in range(100)]
    wait_until(lambda: f"relay: pid {victim.pid} left" in runtime.log(),
               "the relay drops the dead member")
    a.dealloc()
    b.dealloc()


def test_a_slow_member_misses_sdus_but_holds_nobody_up(layer) -> None:
    # `slow` never reads while a and b exchange far more than its socket and
    # its queue in the daemon can hold. a and b go in lockstep rounds of 100
    # SDUs (less than a member's buffers), so they must lose nothing.
    a, b, slow = flow_join(layer), flow_join(layer), flow_join(layer)
    payload = b"x" * 16000
    rounds, per_round = 8, 100
    for r in range(rounds):
        for i in range(per_round):
            a.write(b"a%04d" % (r * per_round + i) + payload)
            b.write(b"b%04d" % (r * per_round + i) + payload)
        for me, other in ((a, b"b"), (b, b"a")):
            got = [sdu[:5] for sdu in _read_all(me, per_round)]
            assert got == [other + b"%04d" % (r * per_round + i) for i in range(per_round)]
    # The slow member gets some of them, in order per sender, with gaps.
    slow.set_rcv_timeout(1)
    seen: Dict[bytes, List[int]] = {b"a": [], b"b": []}
    try:
        while True:
            sdu = slow.read()
            seen[sdu[:1]].append(int(sdu[1:5]))
    except FlowTimeoutException:
        pass
    total = rounds * per_round
    for seqs in seen.values():
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert 0 < len(seqs) < total
    # Having caught up, it hears new SDUs again.
    a.write(b"fresh")
    assert _read_all(slow, 1) == [b"fresh"]
    for f in (a, b, slow):
        f.dealloc()


def test_queue_lengths_count_what_waits(layer) -> None:
    a, b = flow_join(layer), flow_join(layer)
    for i in range(3):
        a.write(b"%d" % i)
    wait_until(lambda: b.get_rx_queue_len() == 3, "three SDUs wait at b")
    assert a.get_tx_queue_len() == 0  # the relay took them all
    _read_all(b, 2)
    assert b.get_rx_queue_len() == 1
    assert b.get_qos().timeout == 0  # no peer timeout: the relay sends no keepalives
    a.dealloc()
    b.dealloc()


def test_destroying_the_layer_takes_its_flows_down(layer) -> None:
    a, b = flow_join(layer), flow_join(layer)
    irm.destroy_ipcp(irm.find_ipcp(layer).pid)
    for f in (a, b):
        f.set_rcv_timeout(10)
        with pytest.raises(FlowDownException):
            f.read()
        f.dealloc()
    with pytest.raises(FlowException) as e:
        flow_join(layer)
    assert e.value.errno == EIPCP


def test_joining_needs_a_broadcast_layer(layer) -> None:
    with pytest.raises(NotSupported, match="not a broadcast layer"):
        flow_join("local")
    with pytest.raises(FlowException, match="no layer 'nowhere'") as e:
        flow_join("nowhere")
    assert e.value.errno == EIPCP


def test_a_member_in_another_layer_hears_nothing(layer) -> None:
    other = irm.create_ipcp("bc2", IpcpType.BROADCAST)
    irm.bootstrap_ipcp(other, IpcpConfig(IpcpType.BROADCAST, "other-layer"))
    a, b, c = flow_join(layer), flow_join(layer), flow_join("other-layer")
    a.write(b"for this layer")
    assert _read_all(b, 1) == [b"for this layer"]
    _nothing_more(c)
    for f in (a, b, c):
        f.dealloc()
