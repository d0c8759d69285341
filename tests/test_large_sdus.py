"""SDUs up to the maximum size, whole and in parts."""

from __future__ import annotations

import os

import pytest

from ouroboros.dev import FlowSizeException, flow_alloc

ECHO = """
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve("big")
print("ready", flush=True)
with flow_accept(timeo=20) as f:
    f.set_rcv_timeout(20)
    while True:
        try:
            f.write(f.read())
        except ConnectionError:
            break
"""


def test_whole_sdus_up_to_the_maximum(spawn) -> None:
    server = spawn(ECHO)
    server.expect("ready")
    with flow_alloc("big", timeo=10) as f:
        f.set_rcv_timeout(20)
        limit = f.max_sdu
        assert limit >= 256 * 1024
        for size in (65535, 65536, 65537, 200_000, limit):
            data = os.urandom(size)
            f.write(data)
            assert f.read() == data


def test_too_large_sdu_is_refused_clearly(spawn) -> None:
    server = spawn(ECHO)
    server.expect("ready")
    with flow_alloc("big", timeo=10) as f:
        with pytest.raises(FlowSizeException, match="exceeds the maximum"):
            f.write(bytes(f.max_sdu + 1))


def test_partial_reads_follow_ouroboros(spawn) -> None:
    server = spawn(ECHO)
    server.expect("ready")
    with flow_alloc("big", timeo=10) as f:
        f.set_rcv_timeout(20)
        f.write(b"0123456789")
        assert f.read(4) == b"0123"
        assert f.read(4) == b"4567"
        assert f.read(4) == b"89"        # short read: the SDU ended
        f.write(b"abcd")
        assert f.read(4) == b"abcd"      # exactly filled ...
        assert f.read(4) == b""          # ... so an empty read ends the SDU
        f.write(b"xyz")
        buf = bytearray(8)
        assert f.read_into(buf) == 3 and buf[:3] == b"xyz"
