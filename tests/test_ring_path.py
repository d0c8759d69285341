"""What the shared-memory rings of embedded flows (issue 15) add beyond the
socket path's semantics, which the rest of the suite checks on them: SDUs
packed tightly by read_many_into (a ring tells each SDU's size before it is
copied), SDUs larger than a ring record in order between small ones, and
the ring size the daemon takes from OUROBOROS_FLOW_RING_KIB."""

from __future__ import annotations

import os
from array import array

import pytest

from flow_memory import HELPERS
from flow_pairs import pair  # noqa: F401 - the fixture

pytestmark = pytest.mark.embedded_only

layout: dict = {}
exec(HELPERS, layout)  # noqa: S102 - our own test helpers, shared with snippets


@pytest.fixture
def ring_kib(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    kib = getattr(request, "param", None)
    if kib is None:
        monkeypatch.delenv("OUROBOROS_FLOW_RING_KIB", raising=False)
        return 512
    monkeypatch.setenv("OUROBOROS_FLOW_RING_KIB", str(kib))
    return kib


def _ring_bytes() -> int:
    mem = layout["flow_memory"]()
    return layout["ring_bytes"](mem) if mem else 0


def test_read_many_into_packs_what_fits_from_the_ring(ring_kib, pair) -> None:  # noqa: F811
    a, b = pair
    assert _ring_bytes() == ring_kib << 10
    sdus = [bytes([i]) * (100 + i) for i in range(10)]
    assert a.write_many(sdus) == len(sdus)
    buf = bytearray(4096)  # far less than max_sdu: the seam's default would take one
    ends = array("Q", [0] * 16)
    n = b.read_many_into(buf, ends)
    assert n == 10
    starts = [0] + list(ends[:n - 1])
    assert [bytes(buf[s:e]) for s, e in zip(starts, ends[:n])] == sdus
    # It stops before an SDU that would fill the rest exactly (which would
    # not end it) and leaves that one queued.
    a.write_many([b"x" * 10, b"y" * 22])
    n = b.read_many_into(memoryview(buf)[:32], ends)
    assert n == 1 and ends[0] == 10
    assert b.read() == b"y" * 22


@pytest.mark.parametrize("ring_kib", [16], indirect=True)
def test_large_sdus_keep_their_place_among_small_ones(ring_kib, pair) -> None:  # noqa: F811
    a, b = pair
    assert _ring_bytes() == 16 << 10
    big = os.urandom(100_000)  # through the socket: larger than half the ring
    sdus = [b"first", big, b"middle", big[::-1], b"last"]
    for sdu in sdus:
        a.write(sdu)
    assert [b.read() for _ in sdus] == sdus


@pytest.mark.parametrize("ring_kib", [0], indirect=True)
def test_no_rings_when_the_daemon_is_told_so(ring_kib, pair) -> None:  # noqa: F811
    a, b = pair
    assert _ring_bytes() == 0
    a.write(b"through the socket")
    assert b.read() == b"through the socket"


@pytest.mark.parametrize("ring_kib", [1], indirect=True)
def test_a_ring_size_below_the_minimum_is_raised_to_it(ring_kib, pair) -> None:  # noqa: F811
    assert _ring_bytes() == 16 << 10
