"""The layout of an embedded flow's shared memory (cpp/src/runtime/flow_page.hpp and
flow_ring.hpp), for tests that look at the bytes between the processes or
scribble over them as a hostile peer would.

HELPERS is Python source that a spawned snippet pastes in front of its own
code (snippets run with ``python -c`` and cannot import this module)."""

from __future__ import annotations

HELPERS = r'''
import ctypes as _ct, struct as _st, time as _tm

PAGE_SIZE = 4096
MAGIC, VERSION = 0x4F37464C, 3
RING_BYTES_AT = 200               # flow_page::ring_bytes
RING_AT = (256, 384)              # flow_page::ring[d]: the SDUs end d writes
TAIL, WRITER_WAITS, HEAD, HEAD_SEQ, ARMED = 0, 8, 64, 72, 76


def flow_memory():
    """(address, size) of this process' one flow memfd mapping, or None."""
    with open("/proc/self/maps") as maps:
        lines = maps.readlines()
    for line in lines:
        if "/memfd:o7s-flow" in line:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            magic, version = _st.unpack("<II", _ct.string_at(lo, 8))
            assert (magic, version) == (MAGIC, VERSION), (hex(magic), version)
            return lo, hi - lo
    return None


def u64(addr):
    return _st.unpack("<Q", _ct.string_at(addr, 8))[0]


def put_u64(addr, value):
    _ct.memmove(addr, _st.pack("<Q", value & (2**64 - 1)), 8)


def ring_bytes(mem):
    return u64(mem[0] + RING_BYTES_AT)


def ring_data(mem, d):
    return mem[0] + PAGE_SIZE + d * ring_bytes(mem)


def raw_ring_records(mem, d, count, timeout=20.0):
    """The first `count` records of ring d as they sit in shared memory
    (without consuming them), waiting for the writer to publish them."""
    base, tail_at, off, out = ring_data(mem, d), mem[0] + RING_AT[d] + TAIL, 0, []
    deadline = _tm.monotonic() + timeout
    while len(out) < count:
        while u64(tail_at) <= off:
            assert _tm.monotonic() < deadline, "the writer published nothing"
            _tm.sleep(0.001)
        length, kind = _st.unpack("<II", _ct.string_at(base + off, 8))
        assert kind == 1, kind  # ring_data: small SDUs only here
        out.append(_ct.string_at(base + off + 8, length))
        off += 8 + (length + 7) // 8 * 8
    return out
'''
