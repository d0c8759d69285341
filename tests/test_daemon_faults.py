"""The embedded daemon against hostile clients and crashes (issue 13):
passed descriptors, descriptor exhaustion, bad names, huge timeouts, its
log, its state file across kill -9, and the default runtime directory."""

from __future__ import annotations

import array
import os
import random
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import List, Optional

import pytest

import ouroboros
from o7s_testing import (ECHO_SERVER, PROTOCOL_VERSION, InThread, daemons_of, process_alive,
                         wait_idle, wait_until)
from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import OuroborosError, RuntimeUnavailable
from ouroboros.irm import IpcpConfig, IpcpType

# These test the embedded daemon itself.
pytestmark = pytest.mark.embedded_only

OK, ERROR, FLOW_GRANTED = 1, 2, 3
FLOW_ACCEPT, IPCP_CREATE, NAME_CREATE, NAME_LIST, BIND_PROCESS = 11, 20, 30, 32, 42
EINVAL = 22
IRMD = Path(ouroboros.__file__).resolve().parent / "bin" / "o7s-irmd"


def _record(msg_type: int, body: bytes = b"") -> bytes:
    return struct.pack("<HHHHI", 0x4F37, PROTOCOL_VERSION, msg_type, 0, len(body)) + body


def _s(data: bytes) -> bytes:
    return struct.pack("<H", len(data)) + data


def _name_create(name: bytes) -> bytes:
    return _record(NAME_CREATE, _s(name) + struct.pack("<i", 0) + _s(b"") * 6)


def _connect(runtime, timeout: float = 5.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    s.connect(os.path.join(runtime.dir, "irmd.sock"))
    return s


def _reply_type(s: socket.socket, record: bytes) -> int:
    s.send(record)
    return struct.unpack_from("<HHH", s.recv(65536))[2]


def _error_of(reply: bytes) -> int:
    msg_type, errno_ = struct.unpack_from("<HHHHIi", reply)[2:6:3]
    assert msg_type == ERROR, reply
    return errno_


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _daemon(runtime) -> int:
    irm.list_ipcps()  # starts it
    pid = runtime.daemon_pid()
    assert pid is not None
    return pid


# --- 1: descriptors that come with a record ----------------------------------

def test_descriptors_passed_with_any_record_are_closed(runtime) -> None:
    pid = _daemon(runtime)
    before = _open_fds(pid)
    r, w = os.pipe()
    fds = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r, w, r, w]))]
    try:
        for _ in range(100):  # zero-length records: the daemon hangs up
            with _connect(runtime) as s:
                s.sendmsg([b""], fds)
                assert s.recv(100) == b""
        with _connect(runtime) as s:  # a valid request, which takes none
            s.sendmsg([_record(NAME_LIST)], fds)
            assert struct.unpack_from("<HHH", s.recv(65536))[2] == OK
        with _connect(runtime) as s:  # a malformed one
            s.sendmsg([b"\x01\x02\x03"], fds)
            s.recv(65536)
    finally:
        os.close(r)
        os.close(w)
    wait_until(lambda: _open_fds(pid) == before,
               f"the daemon is back to {before} descriptors (has {_open_fds(pid)})")
    assert daemons_of(runtime.dir) == [pid]
