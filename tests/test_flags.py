"""Flow flags, FRCT flags and queue lengths with the C library's semantics
(fccntl(3)), between real processes."""

from __future__ import annotations

import errno
import re
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from o7s_system import ouroboros_release
from o7s_testing import wait_until
from ouroboros.dev import (FRCT_LINGER, FRCT_RESCNTL, FRCT_RETRANSMIT, FlowDownException,
                           FlowPermissionException, FlowProperties, FlowSizeException,
                           FlowWouldBlock, FRCTFlags, flow_alloc)
from ouroboros.errors import InvalidArgument
from ouroboros.event import FEventType
from ouroboros.qos import qos_best_effort, qos_data, qos_raw

P = FlowProperties

# A peer that reads commands from the flow: "read" answers with the next
# SDU it reads, "count" with its rx queue length, "flags <n>" sets flags,
# "write <n>" sends n SDUs, "try-write" tries one write and reports.
PEER = """
import sys
from ouroboros import irm
from ouroboros.dev import FlowProperties, flow_accept
irm.serve(sys.argv[1])
print("ready", flush=True)
with flow_accept(timeo=20) as f:
    f.set_rcv_timeout(20)
    print("accepted", f.get_frct_flags() if f.get_qos().in_order else "no-frct", flush=True)
    while True:
        try:
            cmd = f.readline()
        except ConnectionError:
            break
        if cmd == "count":
            print("rxq", f.get_rx_queue_len(), flush=True)
        elif cmd.startswith("flags "):
            f.set_flags(FlowProperties(int(cmd.split()[1])))
            print("flags set", flush=True)
        elif cmd.startswith("write "):
            for i in range(int(cmd.split()[1])):
                f.write(b"sdu %d" % i)
            print("written", flush=True)
        elif cmd in ("try-write", "try-write-when-told"):
            told = cmd.endswith("told")
            if told:
                print("waiting", flush=True)
                sys.stdin.readline()  # the test marks the flow down meanwhile
            try:
                f.write(b"x")
                print("write ok", flush=True)
            except Exception as e:
                print("write", type(e).__name__, e.errno, flush=True)
            if told:
                sys.stdin.readline()  # and brings it up again
        elif cmd == "read":
            try:
                print("got", f.read(), flush=True)
            except Exception as e:
                print("read", type(e).__name__, e.errno, flush=True)
        elif cmd == "stop":
            break
print("done", flush=True)
"""


def _ouroboros_header(name: str) -> str:
    """The text of an installed Ouroboros header, or a skip."""
    try:
        include = subprocess.run(["pkg-config", "--variable=includedir", "ouroboros-dev"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        include = ""
    path = Path(include or "/usr/include", "ouroboros", name)
    if not path.is_file():
        pytest.skip(f"Ouroboros is not installed here (no {path}) to compare the values with")
    return path.read_text()


def _c_values(text: str) -> Dict[str, int]:
    """The integer macros and enumerators of a C header, by name."""
    found: Dict[str, int] = {}
    pattern = r"#define\s+(\w+)\s+(.+?)(?:/\*.*)?$|^\s*(\w+)\s*=\s*(.+?),?\s*$"
    for m in re.finditer(pattern, text, re.M):
        name, expr = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        # C octal (0001000) as Python octal, then the names defined so far.
        expr = re.sub(r"\b0([0-7]+)\b", r"0o\1", expr.strip())
        expr = re.sub(r"\b[A-Z_]\w*\b", lambda n: str(found.get(n.group(0), n.group(0))), expr)
        try:
            found[name] = int(eval(expr, {"__builtins__": {}}))  # noqa: S307 - digits and | << only
        except Exception:  # noqa: BLE001 - not an integer constant
            pass
    return found


def test_flag_values_are_those_of_the_installed_c_headers() -> None:
    fccntl = _c_values(_ouroboros_header("fccntl.h"))
    fqueue = _c_values(_ouroboros_header("fqueue.h"))
    ours = {
        "FLOWFRDONLY": P.ReadOnly, "FLOWFWRONLY": P.WriteOnly, "FLOWFRDWR": P.ReadWrite,
        "FLOWFDOWN": P.Down, "FLOWFRNOBLOCK": P.NonBlockingRead,
        "FLOWFWNOBLOCK": P.NonBlockingWrite, "FLOWFNONBLOCK": P.NonBlocking,
        "FLOWFRNOPART": P.NoPartialRead, "FLOWFWNOPART": P.NoPartialWrite,
        "FRCTFRTX": FRCTFlags.Retransmission, "FRCTFRESCNTL": FRCTFlags.ResourceControl,
        "FRCTFLINGER": FRCTFlags.Linger,
    }
    assert {name: fccntl[name] for name in ours} == {k: int(v) for k, v in ours.items()}
    assert fccntl["FLOWFDEFAULT"] == int(P.ReadWrite | P.NoPartialWrite)
    assert (FRCT_RETRANSMIT, FRCT_RESCNTL, FRCT_LINGER) == (
        FRCTFlags.Retransmission, FRCTFlags.ResourceControl, FRCTFlags.Linger)
    events = {"FLOW_PKT": FEventType.FlowPkt, "FLOW_DOWN": FEventType.FlowDown,
              "FLOW_UP": FEventType.FlowUp, "FLOW_ALLOC": FEventType.FlowAlloc,
              "FLOW_DEALLOC": FEventType.FlowDealloc, "FLOW_PEER": FEventType.FlowPeer}
    assert {name: fqueue[name] for name in events} == {k: int(v) for k, v in events.items()}


def test_default_flags_are_flowfdefault(spawn) -> None:
    server = spawn(PEER, "defaults")
    server.expect("ready")
    with flow_alloc("defaults", timeo=10) as f:
        # FLOWFDEFAULT = FLOWFRDWR | FLOWFWNOPART
        assert f.get_flags() == P.ReadWrite | P.NoPartialWrite
        assert isinstance(f.get_flags(), FlowProperties)


def test_set_flags_replaces_all_flags(spawn) -> None:
    server = spawn(PEER, "replace")
    server.expect("ready")
    with flow_alloc("replace", timeo=10) as f:
        f.set_flags(P.NonBlocking)
        assert f.get_flags() == P.NonBlocking  # the access mode went: read-only
        with pytest.raises(FlowPermissionException) as info:
            f.write(b"refused")
        assert isinstance(info.value, PermissionError)
        assert info.value.errno == errno.EPERM
        with pytest.raises(FlowWouldBlock):
            f.read()  # reading is allowed, and there is nothing to read
        f.set_flags(P.ReadWrite | P.NonBlocking)
        assert f.write(b"count") == 5
        assert server.expect("rxq") == "rxq 0"


def test_nonblocking_read_raises_blocking_io_error(spawn) -> None:
    server = spawn(PEER, "nonblock")
    server.expect("ready")
    with flow_alloc("nonblock", timeo=10) as f:
        f.set_flags(P.ReadWrite | P.NonBlockingRead)
        with pytest.raises(BlockingIOError) as info:
            f.read()
        assert info.value.errno == errno.EAGAIN
        buf = bytearray(8)
        with pytest.raises(BlockingIOError):
            f.read_into(buf)


@pytest.mark.embedded_only
def test_write_only_flow_refuses_reads_and_read_only_refuses_writes(spawn) -> None:
    server = spawn(PEER, "modes")
    server.expect("ready")
    with flow_alloc("modes", timeo=10) as f:
        f.set_flags(P.WriteOnly)
        with pytest.raises(FlowPermissionException, match="write-only"):
            f.read()
        f.writeline("write 1")   # writing works
        server.expect("written")
        f.set_flags(P.ReadOnly)
        with pytest.raises(FlowPermissionException, match="read-only"):
            f.write(b"x")
        f.set_rcv_timeout(10)
        assert f.read() == b"sdu 0"  # reading works


@pytest.mark.embedded_only
def test_invalid_flags_are_refused(spawn) -> None:
    server = spawn(PEER, "invalid")
    server.expect("ready")
    with flow_alloc("invalid", timeo=10) as f:
        with pytest.raises(InvalidArgument):
            f.set_flags(P.WriteOnly | P.ReadWrite)  # FLOWFINVALID
        with pytest.raises(ValueError, match="unknown flow flags"):
            f.set_flags(0o100000)
        assert f.get_flags() == P.ReadWrite | P.NoPartialWrite  # unchanged


def test_no_partial_read_drops_an_sdu_that_does_not_fit(spawn) -> None:
    server = spawn(PEER, "nopart")
    server.expect("ready")
    with flow_alloc("nopart", timeo=10) as f:
        f.set_rcv_timeout(10)
        f.set_flags(P.ReadWrite | P.NoPartialWrite | P.NoPartialRead)
        f.writeline("write 2")
        server.expect("written")
        with pytest.raises(FlowSizeException, match="partial reads are off") as info:
            f.read(3)            # "sdu 0" is 5 bytes
        assert info.value.errno == errno.EMSGSIZE
        assert f.read(5) == b"sdu 1"   # the first SDU was dropped, as in C
        f.writeline("write 1")
        server.expect("written")
        assert f.read(5) == b"sdu 0"   # no 0-byte read after an exact fit
        f.set_flags(f.get_flags() | P.NonBlockingRead)
        with pytest.raises(BlockingIOError):
            f.read(5)


@pytest.mark.embedded_only
def test_partial_writes_send_the_first_max_sdu_bytes(spawn) -> None:
    server = spawn("""
        from ouroboros import irm
        from ouroboros.dev import flow_accept
        irm.serve("partwrite")
        print("ready", flush=True)
        with flow_accept(timeo=20) as f:
            f.set_rcv_timeout(20)
            print("size", len(f.read()), flush=True)
    """)
    server.expect("ready")
    with flow_alloc("partwrite", timeo=10) as f:
        too_big = bytes(f.max_sdu + 100)
        with pytest.raises(FlowSizeException, match="exceeds the maximum"):
            f.write(too_big)  # whole SDUs only by default (FLOWFWNOPART)
        f.set_flags(P.ReadWrite)  # partial writes on
        assert f.write(too_big) == f.max_sdu
        assert server.expect("size") == f"size {f.max_sdu}"


@pytest.mark.embedded_only
def test_down_marks_the_flow_down_at_both_ends_until_cleared(spawn) -> None:
    server = spawn(PEER, "downup")
    server.expect("ready")
    with flow_alloc("downup", timeo=10) as f:
        f.set_rcv_timeout(10)
        f.writeline("write 2")
        server.expect("written")
        f.set_flags(P.ReadWrite | P.Down)
        assert f.get_flags() == P.ReadWrite | P.Down
        with pytest.raises(FlowDownException) as info:
            f.write(b"x")
        assert info.value.errno == 1005  # EFLOWDOWN
        assert f.read() == b"sdu 0"      # what was queued still comes
        assert f.read() == b"sdu 1"
        with pytest.raises(FlowDownException):
            f.read()
        f.set_flags(P.ReadWrite | P.NoPartialWrite)
        f.writeline("flags %d" % int(P.ReadWrite | P.Down))  # now the peer marks it
        server.expect("flags set")
        with pytest.raises(FlowDownException):
            f.write(b"x")
        with pytest.raises(FlowDownException):
            f.read()
        assert f.get_flags() == P.ReadWrite | P.NoPartialWrite  # our flags say nothing


@pytest.mark.embedded_only
def test_peer_writes_fail_while_we_are_down(spawn) -> None:
    server = spawn(PEER, "peerdown")
    server.expect("ready")
    with flow_alloc("peerdown", timeo=10) as f:
        f.writeline("try-write")
        assert server.expect("write") == "write ok"
        f.writeline("try-write-when-told")
        server.expect("waiting")
        f.set_flags(P.ReadWrite | P.Down)
        server.send("write now")
        assert server.expect("write", timeout=10) == "write FlowDownException 1005"
        f.set_flags(P.ReadWrite)
        server.send("read on")
        f.writeline("try-write")
        assert server.expect("write") == "write ok"


def test_rx_and_tx_queue_lengths_are_real(spawn) -> None:
    server = spawn(PEER, "queues")
    server.expect("ready")
    with flow_alloc("queues", timeo=10) as f:
        f.set_rcv_timeout(10)
        assert f.get_rx_queue_len() == 0 and f.get_tx_queue_len() == 0
        f.writeline("write 7")
        server.expect("written")
        # written by the peer, not read here (before 0.23 the local IPCP
        # moves them to this end a little after the peer's writes return)
        wait_until(lambda: f.get_rx_queue_len() == 7, "the peer's 7 SDUs are queued here")
        f.read()
        f.read()
        assert f.get_rx_queue_len() == 5
        f.writeline("count")              # the peer's rx queue is empty
        assert server.expect("rxq") == "rxq 0"
        f.set_flags(P.ReadWrite | P.NoPartialWrite)
        f.writeline("stop")
        server.expect("done")


def test_tx_queue_counts_what_the_peer_did_not_read(spawn, backend) -> None:
    if backend == "system" and ouroboros_release() < (0, 23):
        pytest.skip("before Ouroboros 0.23 the local IPCP moves what a flow writes to the "
                    "peer's queue: the tx queue holds only what it has not moved yet")
    server = spawn("""
        import signal, time
        from ouroboros import irm
        from ouroboros.dev import flow_accept
        irm.serve("txq")
        print("ready", flush=True)
        with flow_accept(timeo=20) as f:
            deadline = time.monotonic() + 10
            while f.get_rx_queue_len() < 4 and time.monotonic() < deadline:
                time.sleep(0.01)
            print("rxq", f.get_rx_queue_len(), flush=True)
            signal.pause()  # holds the flow, reads nothing
    """)
    server.expect("ready")
    with flow_alloc("txq", timeo=10) as f:
        for _ in range(4):
            f.write(b"unread")
        assert f.get_tx_queue_len() == 4
        assert server.expect("rxq") == "rxq 4"
        assert f.get_tx_queue_len() == 4


def test_frct_flags_exist_only_on_flows_with_frct(spawn) -> None:
    server = spawn(PEER, "nofrct")
    server.expect("ready")
    with flow_alloc("nofrct", qos_raw, timeo=10) as f:
        assert server.expect("accepted") == "accepted no-frct"
        with pytest.raises(FlowPermissionException, match="no FRCT") as info:
            f.get_frct_flags()
        assert info.value.errno == errno.EPERM
        with pytest.raises(FlowPermissionException):
            f.set_frct_flags(FRCTFlags.Linger)


@pytest.mark.embedded_only
def test_frct_flags_follow_the_qos_like_ouroboros(spawn) -> None:
    server = spawn(PEER, "frct")
    server.expect("ready")
    # qos_data: in order and lossless: retransmission, linger, resource control.
    with flow_alloc("frct", qos_data, timeo=10) as f:
        want = FRCTFlags.Retransmission | FRCTFlags.ResourceControl | FRCTFlags.Linger
        assert f.get_frct_flags() == want
        assert server.expect("accepted") == f"accepted {int(want)}"
        f.set_frct_flags(FRCTFlags(0))
        assert f.get_frct_flags() == FRCTFlags.Retransmission  # cannot be turned off
        f.set_frct_flags(FRCTFlags.Linger)
        assert f.get_frct_flags() == FRCTFlags.Retransmission | FRCTFlags.Linger
        with pytest.raises(ValueError, match="unknown FRCT flags"):
            f.set_frct_flags(0o40)


def test_frct_without_retransmission_when_loss_is_allowed(spawn) -> None:
    server = spawn(PEER, "lossy")
    server.expect("ready")
    with flow_alloc("lossy", qos_best_effort, timeo=10) as f:
        assert f.get_frct_flags() == FRCTFlags.ResourceControl
        f.set_frct_flags(FRCTFlags.Retransmission)  # ignored, as in C
        assert f.get_frct_flags() == FRCTFlags(0)
