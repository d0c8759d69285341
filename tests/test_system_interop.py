"""Python against the real Ouroboros C tools over a real local layer: a
Python client with the C oecho and oping servers, and the C oping client
with a Python server that speaks oping's wire format."""

from __future__ import annotations

import re
import struct
import subprocess
import time
from typing import Iterator

import pytest

from o7s_system import c_server, ouroboros_tool
from ouroboros.dev import flow_alloc

pytestmark = pytest.mark.system

# oping's message: type and id in network byte order, then the sender's
# CLOCK_MONOTONIC time in host order, which the server sends back as is.
OPING_HEADER = struct.Struct("!II")
ECHO_REQUEST, ECHO_REPLY = 0, 1

OPING_SERVER = """
import os, struct, sys
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.bind_process(os.getpid(), sys.argv[1])
print("ready", flush=True)
with flow_accept(timeo=30) as f:
    f.set_rcv_timeout(10)
    served = 0
    while True:
        try:
            msg = bytearray(f.read())
        except (ConnectionError, TimeoutError):
            break
        kind, = struct.unpack_from("!I", msg)
        if kind != 0:
            continue
        struct.pack_into("!I", msg, 0, 1)
        f.write(msg)
        served += 1
print("served", served, flush=True)
"""


@pytest.fixture
def oecho(system_names) -> Iterator[str]:
    name = system_names("oecho")
    with c_server("oecho", name):
        yield name


@pytest.fixture
def oping(system_names) -> Iterator[str]:
    name = system_names("oping")
    with c_server("oping", name):
        yield name


def test_python_client_with_the_c_oecho_server(oecho: str) -> None:
    with flow_alloc(oecho, timeo=10) as f:
        f.set_rcv_timeout(10)
        msg = b"Client says hi!\0"  # what the C client sends, NUL included
        assert f.write(msg) == len(msg)
        assert f.read() == msg


def test_python_client_with_the_c_oping_server(oping: str) -> None:
    with flow_alloc(oping, timeo=10) as f:
        f.set_rcv_timeout(10)
        for seq in range(50):
            now = time.monotonic_ns()
            msg = OPING_HEADER.pack(ECHO_REQUEST, seq) + struct.pack(
                "=QQ", now // 10**9, now % 10**9) + bytes(40)
            f.write(msg)
            reply = f.read()
            assert len(reply) == len(msg)
            assert OPING_HEADER.unpack_from(reply) == (ECHO_REPLY, seq)
            assert reply[OPING_HEADER.size:] == msg[OPING_HEADER.size:]


def test_c_oping_client_with_a_python_server(spawn, system_names) -> None:
    tool = ouroboros_tool("oping")
    if tool is None:
        pytest.skip("the Ouroboros tool oping is not installed")
    name = system_names("pyoping")
    server = spawn(OPING_SERVER, name)
    server.expect("ready")
    done = subprocess.run([tool, "-n", name, "-c", "20", "-i", "10"], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert re.search(r"20 packets transmitted, 20 received, 0 out-of-order, 0% packet loss",
                     report), report
    assert report.count(" bytes from ") == 20, report
