"""QoS specifications: the C defaults and presets, and what flows get."""

from __future__ import annotations

import pytest

from o7s_testing import ECHO_SERVER
from ouroboros import qos as q
from ouroboros.dev import FlowCryptException, flow_alloc
from ouroboros.qos import QoSSpec

U32 = 2**32 - 1
U64 = 2**64 - 1

# (delay, bandwidth, availability, loss, ber, in_order, max_gap, cypher_s,
# timeout) of the presets in include/ouroboros/qos.h: Ouroboros 0.23.0 for
# the plain ones, 0.21.0 for the encrypted ones (0.23 moved encryption out
# of the QoS); DEFAULT_PEER_TIMEOUT is 120000 ms.
PRESETS = {
    "qos_raw": (U32, 0, 0, 1, 1, 0, U32, 0, 120000),
    "qos_raw_no_errors": (U32, 0, 0, 1, 0, 0, U32, 0, 120000),
    "qos_best_effort": (U32, 0, 0, 1, 0, 1, U32, 0, 120000),
    "qos_video": (100, U64, 3, 1, 0, 1, 100, 0, 120000),
    "qos_voice": (50, 100000, 5, 1, 0, 1, 50, 0, 120000),
    "qos_data": (1000, 0, 0, 0, 0, 1, 2000, 0, 120000),
    "qos_raw_crypt": (U32, 0, 0, 1, 0, 0, U32, 256, 120000),
    "qos_best_effort_crypt": (U32, 0, 0, 1, 0, 1, U32, 256, 120000),
    "qos_video_crypt": (100, U64, 3, 1, 0, 1, 100, 256, 120000),
    "qos_voice_crypt": (50, 100000, 5, 1, 0, 1, 50, 256, 120000),
    "qos_data_crypt": (1000, 0, 0, 0, 0, 1, 2000, 256, 120000),
}

FIELDS = ("delay", "bandwidth", "availability", "loss", "ber", "in_order", "max_gap",
          "cypher_s", "timeout")



def values(spec: QoSSpec) -> tuple:
    return tuple(getattr(spec, name) for name in FIELDS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_have_the_values_of_qos_h(name: str) -> None:
    assert values(getattr(q, name)) == PRESETS[name]


def test_defaults_are_qos_raw() -> None:
    assert QoSSpec() == q.qos_raw
    assert values(QoSSpec()) == PRESETS["qos_raw"]
    assert q.DEFAULT_PEER_TIMEOUT == 120000


def test_equality_hash_repr_and_copy() -> None:
    a = QoSSpec(loss=0, cypher_s=256, timeout=60000)
    b = QoSSpec(timeout=60000, cypher_s=256, loss=0)
    assert a == b and hash(a) == hash(b)
    assert a != q.qos_raw
    assert a != "not a spec"
    assert repr(a) == ("QoSSpec(delay=4294967295, bandwidth=0, availability=0, loss=0, "
                       "ber=1, in_order=0, max_gap=4294967295, timeout=60000, cypher_s=256)")
    assert eval(repr(a), {"QoSSpec": QoSSpec}) == a
    assert q.qos_data.copy(cypher_s=256) == q.qos_data_crypt


def test_bad_fields_are_refused_and_presets_are_read_only() -> None:
    with pytest.raises(ValueError, match="cypher_s"):
        QoSSpec(cypher_s=2**16)
    with pytest.raises(ValueError, match="loss"):
        QoSSpec(loss=-1)
    with pytest.raises(TypeError, match="delay"):
        QoSSpec(delay=1.5)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        q.qos_data.loss = 1
    spec = QoSSpec()
    spec.loss = 0
    assert spec.loss == 0


@pytest.mark.embedded_only
def test_both_ends_report_the_qos_the_flow_got(spawn) -> None:
    server = spawn(ECHO_SERVER, "qos")
    server.expect("ready")
    for spec in (q.qos_video, q.qos_voice, q.qos_data, QoSSpec(delay=7, bandwidth=12345,
                                                                  availability=2, ber=0,
                                                                  max_gap=9, timeout=0)):
        with flow_alloc("qos", spec, timeo=10) as f:
            assert f.get_qos() == spec
            assert server.expect("qos") == f"qos {spec!r}"


def test_a_flow_without_qos_gets_qos_raw(spawn) -> None:
    server = spawn(ECHO_SERVER, "noqos")
    server.expect("ready")
    with flow_alloc("noqos", timeo=10) as f:
        assert f.get_qos() == q.qos_raw
        assert server.expect("qos") == f"qos {q.qos_raw!r}"


@pytest.mark.embedded_only
def test_cypher_strength_is_rounded_up_to_what_is_offered(spawn) -> None:
    server = spawn(ECHO_SERVER, "cypher")
    server.expect("ready")
    for asked, got in ((1, 128), (128, 128), (129, 256), (192, 256), (256, 256)):
        with flow_alloc("cypher", QoSSpec(cypher_s=asked), timeo=10) as f:
            assert f.get_qos().cypher_s == got
            assert server.expect("qos") == f"qos {QoSSpec(cypher_s=got)!r}"
    with pytest.raises(FlowCryptException, match="not supported") as info:
        flow_alloc("cypher", QoSSpec(cypher_s=512), timeo=10)
    assert info.value.errno == 1008  # ECRYPT


@pytest.mark.embedded_only
def test_the_seeds_qos_gives_a_reliable_encrypted_flow_with_a_peer_timeout(spawn) -> None:
    server = spawn(ECHO_SERVER, "seedqos")
    server.expect("ready")
    spec = QoSSpec(loss=0, cypher_s=256, timeout=60000)
    with flow_alloc("seedqos", spec, timeo=10) as f:
        assert f.get_qos() == spec
        assert server.expect("qos") == f"qos {spec!r}"
        f.set_rcv_timeout(20)
        # Reliable and in order: every SDU of a burst comes back, in order.
        for i in range(300):
            f.write(b"%d" % i)
        assert [f.read() for _ in range(300)] == [b"%d" % i for i in range(300)]
