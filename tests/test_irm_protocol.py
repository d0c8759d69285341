"""The IRM requests on the wire (docs/protocol.md): malformed ones get an
error reply, long listings come in parts."""

from __future__ import annotations

import os
import socket
import struct

import pytest

from o7s_testing import PROTOCOL_VERSION, daemons_of
from ouroboros import irm

# These test the embedded daemon's wire protocol.
pytestmark = pytest.mark.embedded_only

ERROR, OK = 2, 1
FLOW_JOIN, BIND_PROGRAM, UNBIND_PROGRAM, BINDING_LIST = 12, 40, 41, 44


def _record(msg_type: int, body: bytes) -> bytes:
    return struct.pack("<HHHHI", 0x4F37, PROTOCOL_VERSION, msg_type, 0, len(body)) + body


def _s(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<H", len(data)) + data


def _ask(runtime, record: bytes) -> bytes:
    irm.list_ipcps()  # the daemon runs
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(5)
        s.connect(os.path.join(runtime.dir, "irmd.sock"))
        s.send(record)
        return s.recv(65536)


@pytest.mark.parametrize("record", [
    _record(BIND_PROGRAM, _s("n") + _s("/bin/sh")),                        # no options
    _record(BIND_PROGRAM, _s("n") + _s("/bin/sh") + b"\0\0" + struct.pack("<I", 1000)),
    _record(BIND_PROGRAM, _s("n") + _s("/bin/sh") + b"\0\0" + struct.pack("<I", 0)),  # no interp.
    _record(UNBIND_PROGRAM, _s("/bin/sh")),
    _record(BINDING_LIST, b""),                                           # no first row
    _record(BINDING_LIST, struct.pack("<II", 0, 0)),                      # trailing bytes
    _record(FLOW_JOIN, _s("layer") + b"\1"),                              # no QoS
])
def test_malformed_irm_requests_get_an_error(runtime, record: bytes) -> None:
    reply = _ask(runtime, record)
    assert struct.unpack_from("<HHH", reply) == (0x4F37, PROTOCOL_VERSION, ERROR)
    assert "malformed request" in reply[18:].decode(errors="replace")
    assert len(daemons_of(runtime.dir)) == 1
    assert [i.name for i in irm.list_ipcps()] == ["local"]


def test_relative_program_paths_are_refused_by_the_daemon(runtime) -> None:
    body = _s("n") + _s("bin/sh") + b"\0\0" + struct.pack("<I", 0) + _s("")
    reply = _ask(runtime, _record(BIND_PROGRAM, body))
    assert struct.unpack_from("<HHHHIi", reply)[2:6:3] == (ERROR, 22)  # EINVAL
    assert b"not absolute" in reply


def test_a_long_listing_comes_in_parts(runtime) -> None:
    names = [f"{i:04d}-" + "n" * 200 for i in range(400)]  # far more than one record
    for name in names:
        irm.bind_process(os.getpid(), name)
    listed = irm.list_bindings()
    assert [n.name for n in listed] == names
    assert all([p.pid for p in n.processes] == [os.getpid()] for n in listed)
    # Parts carry the registry's generation, so a client can tell a change.
    first = _ask(runtime, _record(BINDING_LIST, struct.pack("<I", 0)))
    gen, total, count = struct.unpack_from("<QII", first, 12)
    assert total == 800 and 0 < count < total
    irm.unbind_process(os.getpid(), names[0])
    later = _ask(runtime, _record(BINDING_LIST, struct.pack("<I", count)))
    assert struct.unpack_from("<Q", later, 12)[0] != gen
