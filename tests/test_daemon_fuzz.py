"""A mutation fuzzer against the embedded daemon's control protocol (issue
13): records of every request, built from docs/protocol.md, mutated and
sent by the tens of thousands; the daemon stays alive and serving, its
descriptors flat, and its state file loadable. ``--fuzz-records N`` makes a
longer run (the default is the fast one of the test command);
``--fuzz-seed`` another sequence."""

from __future__ import annotations

import array
import os
import random
import re
import signal
import socket
import struct
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from o7s_testing import PROTOCOL_VERSION, daemons_of, process_alive, wait_until
from ouroboros import irm

# These test the embedded daemon's wire protocol.
pytestmark = pytest.mark.embedded_only

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
MAGIC = 0x4F37
FLOW_ALLOC, FLOW_ACCEPT, FLOW_CONFIRM = 10, 11, 13  # confirm: the one request without a reply
NAME_LIST, BIND_PROCESS, UNBIND_PROCESS, DAEMON_INFO, DAEMON_STOP = 32, 42, 43, 50, 51
WIDTH = {"u8": 1, "bool (u8)": 1, "u16": 2, "u32": 4, "i32": 4, "u64": 8, "i64": 8}
PER_CONNECTION = 25
CHECK_EVERY = 2000


def _header(msg_type: int, length: int, version: int = PROTOCOL_VERSION) -> bytes:
    return struct.pack("<HHHHI", MAGIC, version, msg_type, 0, length)


def seeds() -> Dict[int, bytes]:
    """A well-formed body for every request of docs/protocol.md: strings
    "fz", numbers 0, lists empty, optionals absent, variants' first
    alternative."""
    out: Dict[int, bytes] = {}
    sections = re.split(r"^### ", DOC.read_text().split("## Replies")[0], flags=re.M)[1:]
    for section in sections:
        title = re.match(r"(\w+) \((\d+)\)", section)
        assert title, section[:40]
        body = b""
        skip = None
        request = section.split("\nReply")[0]  # the reply's table follows
        table = request.split("\n\n| field")[1].split("\n\n")[0] if "| field" in request else ""
        for path, wire in re.findall(r"^\| `([^`]+)` \| ([^|]+?) \|$", table, flags=re.M):
            if skip and path.startswith(skip):
                continue
            skip = None
            if wire == "str":
                body += struct.pack("<H", 2) + b"fz"
            elif wire in WIDTH:
                body += bytes(WIDTH[wire])
            elif wire.startswith("list"):
                body += bytes(4)
                skip = path + "[]"
            elif wire.startswith("optional") or wire.startswith("variant"):
                body += bytes(1)
                skip = path + "."
        out[int(title.group(2))] = body
    return out


def mutate(rnd: random.Random, pool: List[Tuple[int, bytes]]) -> Tuple[int, bytes]:
    """A record: a seed with a few mutations of its body, its header mostly
    right (so the body gets decoded), sometimes broken too."""
    msg_type, body = rnd.choice(pool)
    data = bytearray(body)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(8)
        at = rnd.randrange(len(data) + 1)
        if op == 0 and data:  # flip bits
            data[min(at, len(data) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1 and data:  # an interesting byte
            data[min(at, len(data) - 1)] = rnd.choice((0, 1, 0x7F, 0x80, 0xFF))
        elif op == 2:  # an interesting 16 or 32-bit value (lengths, counts)
            value = rnd.choice((0, 1, 2, 255, 256, 4096, 4097, 0x7FFF, 0xFFFF, 61440,
                                0x7FFFFFFF, 0xFFFFFFFF))
            width = rnd.choice((2, 4))
            data[at:at + width] = value.to_bytes(8, "little")[:width]
        elif op == 3:  # truncate
            del data[at:]
        elif op == 4:  # random bytes
            data[at:at] = rnd.randbytes(rnd.randint(1, 16))
        elif op == 5 and data:  # duplicate a chunk
            end = rnd.randint(at, len(data))
            data[at:at] = data[at:end]
        elif op == 6:  # splice another seed's body
            other = rnd.choice(pool)[1]
            data[at:] = other[rnd.randrange(len(other) + 1):]
        elif op == 7:  # names that are no text, or too long
            data[at:at] = rnd.choice((b"\xff\xfe", b"\xed\xa0\x80", b"\x00", b"n" * 300))
    if rnd.random() < 0.1:
        msg_type = rnd.randrange(70)
    # Never a stop (the one request that ends the daemon on purpose), and no
    # process bindings (a bound process is watched through a descriptor).
    if msg_type == DAEMON_STOP:
        msg_type = DAEMON_INFO
    if msg_type == BIND_PROCESS:
        msg_type = UNBIND_PROCESS
    length = len(data) if rnd.random() < 0.9 else rnd.choice((0, len(data) + 1, 0xFFFFFFFF))
    version = PROTOCOL_VERSION if rnd.random() < 0.97 else rnd.randrange(1 << 16)
    record = _header(msg_type, length, version) + bytes(data)
    if rnd.random() < 0.02:
        record = record[:rnd.randrange(len(record))]  # a broken header
    return msg_type, record


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _serves(runtime) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(10)
        s.connect(os.path.join(runtime.dir, "irmd.sock"))
        s.send(_header(NAME_LIST, 0))
        return struct.unpack_from("<HHH", s.recv(65536))[2] == 1


def test_seeds_cover_every_request() -> None:
    got = seeds()
    assert len(got) == 23 and DAEMON_STOP in got
    assert got[NAME_LIST] == b"" and got[11] == bytes(8)  # flow_accept: i64 timeout


def test_mutated_records_leave_the_daemon_serving(runtime, request) -> None:
    count: int = request.config.getoption("--fuzz-records")
    rnd = random.Random(request.config.getoption("--fuzz-seed"))
    pool = sorted(seeds().items())
    irm.list_ipcps()
    pid = runtime.daemon_pid()
    assert pid is not None
    baseline = _open_fds(pid)
    r, w = os.pipe()
    fds = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r, w]))]
    path = os.path.join(runtime.dir, "irmd.sock")
    answered = hung_up = pending = 0
    s = None
    try:
        for sent in range(1, count + 1):
            if s is None:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.settimeout(5)
                s.connect(path)
            msg_type, record = mutate(rnd, pool)
            try:
                if rnd.random() < 0.05:
                    s.sendmsg([record], fds)
                else:
                    s.send(record)
                if msg_type == FLOW_CONFIRM:
                    continue  # no answer comes, but a hang-up for a broken one
                # One answer per record, or a hang-up; flow requests may wait
                # (for their timeout, which may be mutated to days).
                s.settimeout(0.05 if msg_type in (FLOW_ALLOC, FLOW_ACCEPT) else 5)
                reply = s.recv(65536)
            except (BrokenPipeError, ConnectionResetError):
                reply = b""
            except socket.timeout:
                reply = None  # a request that waits (an accept, an allocation)
            if reply:
                answered += 1
                assert reply[:2] == MAGIC.to_bytes(2, "little"), reply
            else:
                hung_up += reply is not None
                pending += reply is None
                s.close()
                s = None
            if sent % CHECK_EVERY == 0:
                assert process_alive(pid), f"the daemon died after {sent} records"
                assert _serves(runtime), f"the daemon does not serve after {sent} records"
    finally:
        os.close(r)
        os.close(w)
        if s is not None:
            s.close()
    print(f"fuzz: {count} records (seed {request.config.getoption('--fuzz-seed')}): "
          f"{answered} answered, {hung_up} hung up on, {pending} left waiting")
    assert answered > count // 2
    assert daemons_of(runtime.dir) == [pid]
    assert _serves(runtime)
    wait_until(lambda: _open_fds(pid) <= baseline,
               f"the daemon is back to {baseline} descriptors (has {_open_fds(pid)})")
    # Whatever the records made, the state file holds it and loads.
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not process_alive(pid), "the daemon is dead")
    irm.list_ipcps()
    assert "restored the state" in runtime.log() or not os.path.exists(
        os.path.join(runtime.dir, "irmd.state"))
    assert "is unusable" not in runtime.log()
