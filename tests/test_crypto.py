"""End-to-end encryption of flows whose QoS has cypher_s > 0.

The accepting process reads what its peer wrote directly, bypassing the
library: the records in the flow's shared-memory ring (flow_memory.py) or,
on a flow without rings, its socket (os.read on fileno()), so these tests
see the very bytes that went between the processes."""

from __future__ import annotations

import os

import pytest

from flow_memory import HELPERS
from o7s_testing import ECHO_SERVER
from ouroboros.dev import FlowCryptException, flow_alloc
from ouroboros.qos import QoSSpec, qos_data_crypt, qos_raw

# These test per-flow encryption of the embedded runtime (0.22+ configures it per name).
pytestmark = pytest.mark.embedded_only

# Prints, for every SDU, the raw record in hex as it sat in the ring (or socket).
RAW_READER = HELPERS + """
import os, sys
from ouroboros import irm
from ouroboros.dev import flow_accept
irm.serve(sys.argv[1])
print("ready", flush=True)
with flow_accept(timeo=20) as f:
    n = int(sys.argv[2])
    mem = flow_memory()
    if mem and ring_bytes(mem):
        records = raw_ring_records(mem, 0, n)  # ring 0: what the allocator wrote
    else:
        records = [os.read(f.fileno(), 2 * 1024 * 1024) for _ in range(n)]
    for r in records:
        print("raw", r.hex(), flush=True)
"""

SECRET = b"attack at dawn, bring the good biscuits " * 4


def raw_records(spawn, name: str, qos: QoSSpec, sdus: list) -> list:
    reader = spawn(RAW_READER, name, str(len(sdus)))
    reader.expect("ready")
    with flow_alloc(name, qos, timeo=10) as f:
        for sdu in sdus:
            f.write(sdu)
        return [bytes.fromhex(reader.expect("raw").split()[1]) for _ in sdus]


def test_plaintext_flows_carry_the_plaintext(spawn) -> None:
    # The control experiment: the raw read does see SDUs as they were sent.
    assert raw_records(spawn, "plain", qos_raw, [SECRET]) == [SECRET]


def test_bytes_on_the_socket_are_not_the_plaintext(spawn) -> None:
    records = raw_records(spawn, "secret", QoSSpec(cypher_s=256), [SECRET, SECRET])
    for record in records:
        assert SECRET not in record
        assert SECRET[:16] not in record
        assert len(record) == len(SECRET) + 24  # sequence number + GCM tag
    # The same plaintext twice gives different ciphertexts (fresh nonces).
    assert records[0][8:] != records[1][8:]


def test_every_flow_has_its_own_keys(spawn) -> None:
    first = raw_records(spawn, "keys1", QoSSpec(cypher_s=256), [SECRET])[0]
    second = raw_records(spawn, "keys2", QoSSpec(cypher_s=256), [SECRET])[0]
    assert first[:8] == second[:8]  # both are message 0 of their flow ...
    assert first[8:] != second[8:]  # ... under different keys




def test_encrypted_flows_round_trip_sdus_of_every_size(spawn) -> None:
    server = spawn(ECHO_SERVER, "crypt-echo")
    server.expect("ready")
    with flow_alloc("crypt-echo", qos_data_crypt, timeo=10) as f:
        assert "cypher_s=256" in server.expect("qos")
        f.set_rcv_timeout(20)
        plain_limit = f.max_sdu
        for size in (1, 15, 16, 17, 4096, 65536, 300_000, plain_limit):
            data = os.urandom(size)
            assert f.write(data) == size
            assert f.read() == data
        f.write(b"0123456789")              # partial reads work as on plain flows
        assert f.read(4) == b"0123"
        assert f.read(6) == b"456789"
        assert f.read(6) == b""
        with pytest.raises(Exception, match="exceeds the maximum"):
            f.write(bytes(plain_limit + 1))


@pytest.fixture
def socket_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flows without rings (the daemon this test starts reads it), so that a
    test can write forged records straight into a flow's socket: a ring's
    writer keeps its tail to itself, so records forged beside it would only
    break the ring (test_ring_faults.py covers that)."""
    monkeypatch.setenv("OUROBOROS_FLOW_RING_KIB", "0")


def test_an_altered_record_fails_authentication_and_the_flow_goes_on(socket_flows,
                                                                     spawn) -> None:
    # The allocator writes one forged record straight into its socket, then
    # a real SDU; the acceptor drops the forgery with an error and reads
    # the real SDU.
    server = spawn("""
        from ouroboros import irm
        from ouroboros.dev import FlowCryptException, flow_accept
        irm.serve("tamper")
        print("ready", flush=True)
        with flow_accept(timeo=20) as f:
            f.set_rcv_timeout(20)
            for _ in range(3):
                try:
                    print("read", f.read(), flush=True)
                except FlowCryptException as e:
                    print("crypt", e.errno, e, flush=True)
    """)
    server.expect("ready")
    with flow_alloc("tamper", QoSSpec(cypher_s=128), timeo=10) as f:
        os.write(f.fileno(), bytes(8) + b"forged ciphertext" + bytes(16))
        os.write(f.fileno(), b"short")
        f.write(b"genuine")
        line = server.expect("crypt")
        assert line.startswith("crypt 1008") and "authentication" in line
        assert server.expect("crypt").startswith("crypt 1008")
        assert server.expect("read") == "read b'genuine'"


def test_a_replayed_record_is_refused(socket_flows, spawn) -> None:
    # The acceptor takes message 0 raw and shows it; the test sends it
    # again, raw, between two real SDUs: authentic, but a replay.
    server = spawn("""
        import os
        from ouroboros import irm
        from ouroboros.dev import FlowCryptException, flow_accept
        irm.serve("replay")
        print("ready", flush=True)
        with flow_accept(timeo=20) as f:
            print("raw", os.read(f.fileno(), 65536).hex(), flush=True)
            f.set_rcv_timeout(20)
            for _ in range(3):
                try:
                    print("read", f.read(), flush=True)
                except FlowCryptException as e:
                    print("crypt", e, flush=True)
    """)
    server.expect("ready")
    with flow_alloc("replay", QoSSpec(cypher_s=256), timeo=10) as f:
        f.write(b"message 0")
        record = bytes.fromhex(server.expect("raw").split()[1])
        f.write(b"message 1")
        os.write(f.fileno(), record)
        f.write(b"message 2")
        assert server.expect("read") == "read b'message 1'"
        assert "replayed" in server.expect("crypt")
        assert server.expect("read") == "read b'message 2'"


def test_broadcast_flows_cannot_be_encrypted() -> None:
    # As Ouroboros 0.21: there is no pair of ends to exchange keys between.
    from ouroboros import irm
    from ouroboros.dev import flow_join
    from ouroboros.errors import NotSupported
    from ouroboros.irm import IpcpConfig, IpcpType
    irm.bootstrap_ipcp(irm.create_ipcp("bc", IpcpType.BROADCAST),
                       IpcpConfig(IpcpType.BROADCAST, "bc-layer"))
    with pytest.raises(NotSupported, match="cannot be encrypted"):
        flow_join("bc-layer", QoSSpec(cypher_s=256))
    with flow_join("bc-layer", QoSSpec()) as f:
        assert f.get_qos().cypher_s == 0
