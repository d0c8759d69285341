"""Read, write, allocation and accept timeouts (seconds as float, None to
block), as fccntl(3) and flow_alloc(3) describe them."""

from __future__ import annotations

import errno
import math
import time

import pytest

from ouroboros import irm
from ouroboros.dev import FlowTimeoutException, flow_accept, flow_alloc

SLEEPER = """
import signal
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve("sleeper")
print("ready", flush=True)
f = flow_accept(timeo=20)
print("accepted", flush=True)
signal.pause()  # holds the flow, never writes, until stopped
"""


def test_timeouts_never_set_read_as_none(spawn) -> None:
    server = spawn(SLEEPER)
    server.expect("ready")
    with flow_alloc("sleeper", timeo=10) as f:
        assert f.get_rcv_timeout() is None
        assert f.get_snd_timeout() is None


def test_timeouts_round_trip_in_seconds(spawn) -> None:
    server = spawn(SLEEPER)
    server.expect("ready")
    with flow_alloc("sleeper", timeo=10) as f:
        f.set_snd_timeout(0.5)
        f.set_rcv_timeout(1.0)
        assert f.get_snd_timeout() == 0.5
        assert f.get_rcv_timeout() == 1.0
        f.set_rcv_timeout(0.000001)
        assert f.get_rcv_timeout() == pytest.approx(1e-6)
        f.set_rcv_timeout(None)
        assert f.get_rcv_timeout() is None
        assert f.get_snd_timeout() == 0.5
        f.set_snd_timeout(0)
        assert f.get_snd_timeout() == 0.0


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan])
def test_invalid_timeouts_are_refused(spawn, bad: float) -> None:
    server = spawn(SLEEPER)
    server.expect("ready")
    with flow_alloc("sleeper", timeo=10) as f:
        with pytest.raises(ValueError):
            f.set_rcv_timeout(bad)
        with pytest.raises(TypeError):
            f.set_snd_timeout("soon")  # type: ignore[arg-type]
        assert f.get_rcv_timeout() is None


def test_read_timeout_raises_timeout_error(spawn) -> None:
    server = spawn(SLEEPER)
    server.expect("ready")
    with flow_alloc("sleeper", timeo=10) as f:
        f.set_rcv_timeout(0.3)
        start = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            f.read()
        elapsed = time.monotonic() - start
        assert 0.25 < elapsed < 5
        assert isinstance(info.value, FlowTimeoutException)
        assert info.value.errno == errno.ETIMEDOUT
        f.set_rcv_timeout(0)  # zero: do not wait at all
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            f.read(10)
        assert time.monotonic() - start < 5  # it returned: zero is not "block"


def test_write_timeout_raises_when_the_peer_does_not_read(spawn) -> None:
    server = spawn(SLEEPER)
    server.expect("ready")
    with flow_alloc("sleeper", timeo=10) as f:
        server.expect("accepted")
        f.set_snd_timeout(0.3)
        chunk = bytes(64 * 1024)
        start = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            for _ in range(10_000):  # the socket buffer fills up long before
                f.write(chunk)
        assert isinstance(info.value, FlowTimeoutException)
        assert time.monotonic() - start < 10


@pytest.mark.embedded_only
def test_alloc_and_accept_take_timeo(spawn) -> None:
    irm.serve("nobody-accepts")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        flow_alloc("nobody-accepts", timeo=0.2)
    with pytest.raises(TimeoutError):
        flow_alloc("nobody-accepts", timeo=0)  # only if someone accepts right now
    with pytest.raises(TimeoutError):
        flow_accept(timeo=0.2)
    assert time.monotonic() - start < 5
