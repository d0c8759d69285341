"""Quality of Service specifications (Ouroboros ``qosspec_t``).

A :class:`QoSSpec` asks for properties of a flow at allocation time; the
flow's ``get_qos()`` tells what it got. The defaults are those of the C
struct's ``qos_raw``; the presets below are the ones of Ouroboros' qos.h.
"""

from __future__ import annotations

from typing import Any

#: 10**6, as in upstream pyOuroboros (for QoS values in bits/s or ms).
MILLION = 1000 * 1000
#: 10**9, as in upstream pyOuroboros.
BILLION = 1000 * 1000 * 1000
#: The largest value of a 32-bit QoS field (``delay``, ``max_gap``: "no limit").
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1

#: Peer timeout of the presets, in milliseconds.
DEFAULT_PEER_TIMEOUT = 120000

_FIELDS = (
    # name, upper bound, meaning
    ("delay", UINT32_MAX, "maximum delay in ms"),
    ("bandwidth", UINT64_MAX, "bandwidth in bits/s"),
    ("availability", 2**8 - 1, "class of nines"),
    ("loss", UINT32_MAX, "packet loss allowed; 0 asks for retransmission"),
    ("ber", UINT32_MAX, "bit errors per billion bits"),
    ("in_order", 2**8 - 1, "1: deliver in order"),
    ("max_gap", UINT32_MAX, "maximum gap between SDUs in ms"),
    ("timeout", UINT32_MAX, "peer timeout in ms, 0: none"),
    # Not in upstream pyOuroboros (nor in Ouroboros' qosspec_t from 0.22),
    # so last: positional arguments mean the same as there.
    ("cypher_s", 2**16 - 1, "cypher strength in bits, 0: no encryption"),
)


class QoSSpec:
    """What a flow should provide. All fields are integers:

    - ``delay``: maximum delay in ms
    - ``bandwidth``: in bits/s
    - ``availability``: class of nines
    - ``loss``: packet loss allowed (0: lossless, i.e. retransmission)
    - ``ber``: bit errors per billion bits (0: checksummed)
    - ``in_order``: 1 for in-order delivery
    - ``max_gap``: maximum gap in ms
    - ``timeout``: peer timeout in ms (0: none)
    - ``cypher_s``: cypher strength in bits (0: plaintext)

    The fields come in the order of upstream pyOuroboros' ``QoSSpec``, so
    positional arguments mean the same; ``cypher_s``, which upstream no
    longer has, comes last (``QoSSpec(loss=0, cypher_s=256)`` by keyword).

    On the embedded runtime every flow is reliable and in order (a kernel
    socket). ``cypher_s`` > 0 encrypts the flow end to end: an X25519 key
    exchange per flow and AES-GCM, 128-bit keys up to ``cypher_s=128`` and
    256-bit keys up to 256 (more raises ``FlowCryptException``);
    ``get_qos()`` reports the strength the flow got. A peer that shows no
    sign of life for ``timeout`` ms (stopped, hung) takes the flow down:
    reads and writes raise ``FlowPeerException`` and the event API reports
    ``FlowPeer``. Both ends of a flow report the same QoS.
    """

    __slots__ = tuple(name for name, _, _ in _FIELDS) + ("_frozen",)

    delay: int
    bandwidth: int
    availability: int
    loss: int
    ber: int
    in_order: int
    max_gap: int
    timeout: int
    cypher_s: int
    _frozen: bool

    def __init__(self,
                 delay: int = UINT32_MAX,
                 bandwidth: int = 0,
                 availability: int = 0,
                 loss: int = 1,
                 ber: int = 1,
                 in_order: int = 0,
                 max_gap: int = UINT32_MAX,
                 timeout: int = DEFAULT_PEER_TIMEOUT,
                 cypher_s: int = 0) -> None:
        object.__setattr__(self, "_frozen", False)
        values = (delay, bandwidth, availability, loss, ber, in_order, max_gap,
                  timeout, cypher_s)
        for (name, upper, meaning), value in zip(_FIELDS, values):
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            raise AttributeError("the QoS presets cannot be changed; "
                                 "derive a variant with .copy(field=value)")
        for field, upper, meaning in _FIELDS:
            if field == name:
                if isinstance(value, bool):
                    value = int(value)
                if not isinstance(value, int):
                    raise TypeError(f"QoSSpec.{name} ({meaning}) must be an int, "
                                    f"not {type(value).__name__}")
                if not 0 <= value <= upper:
                    raise ValueError(f"QoSSpec.{name} ({meaning}) must be between 0 "
                                     f"and {upper}, not {value}")
                object.__setattr__(self, name, value)
                return
        raise AttributeError(f"QoSSpec has no field {name!r}")

    def _astuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name, _, _ in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QoSSpec):
            return NotImplemented
        return self._astuple() == other._astuple()

    def __hash__(self) -> int:
        return hash(self._astuple())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)}" for name, _, _ in _FIELDS)
        return f"QoSSpec({fields})"

    def __reduce__(self) -> tuple[type, tuple[int, ...]]:
        # Pickles as its fields (a preset unpickles as a plain copy).
        return (QoSSpec, self._astuple())

    def copy(self, **changes: int) -> QoSSpec:
        """A copy with some fields changed: ``qos_data.copy(cypher_s=256)``."""
        values = {name: getattr(self, name) for name, _, _ in _FIELDS}
        values.update(changes)
        return QoSSpec(**values)


def _preset(spec: QoSSpec) -> QoSSpec:
    object.__setattr__(spec, "_frozen", True)
    return spec


# The presets of Ouroboros' qos.h, read-only: copy() derives a variant.
#: No guarantees: SDUs may be lost, corrupted or reordered.
qos_raw = _preset(QoSSpec())
#: As ``qos_raw``, checksummed (``ber=0``).
qos_raw_no_errors = _preset(QoSSpec(ber=0))
#: Checksummed and in order, losses allowed.
qos_best_effort = _preset(QoSSpec(ber=0, in_order=1))
#: Video: at most 100 ms delay and 100 ms gaps, in order, checksummed.
qos_video = _preset(QoSSpec(delay=100, bandwidth=UINT64_MAX, availability=3, ber=0,
                            in_order=1, max_gap=100))
#: Voice: at most 50 ms delay and 50 ms gaps, 100000 bits/s, in order.
qos_voice = _preset(QoSSpec(delay=50, bandwidth=100000, availability=5, ber=0,
                            in_order=1, max_gap=50))
#: Reliable data: no loss (retransmission), in order, checksummed, 1000 ms delay.
qos_data = _preset(QoSSpec(delay=1000, loss=0, ber=0, in_order=1, max_gap=2000))

# The encrypted variants of Ouroboros 0.21 (256-bit cypher). As in its
# qos.h, the encrypted raw spec also asks for no bit errors (ber=0).
#: ``qos_raw`` with ``ber=0``, encrypted (256 bits).
qos_raw_crypt = _preset(qos_raw.copy(ber=0, cypher_s=256))
#: ``qos_best_effort``, encrypted (256 bits).
qos_best_effort_crypt = _preset(qos_best_effort.copy(cypher_s=256))
#: ``qos_video``, encrypted (256 bits).
qos_video_crypt = _preset(qos_video.copy(cypher_s=256))
#: ``qos_voice``, encrypted (256 bits).
qos_voice_crypt = _preset(qos_voice.copy(cypher_s=256))
#: ``qos_data``, encrypted (256 bits).
qos_data_crypt = _preset(qos_data.copy(cypher_s=256))

__all__ = [
    "QoSSpec", "MILLION", "BILLION", "DEFAULT_PEER_TIMEOUT", "UINT32_MAX",
    "qos_raw", "qos_raw_no_errors", "qos_best_effort", "qos_video", "qos_voice",
    "qos_data", "qos_raw_crypt", "qos_best_effort_crypt", "qos_video_crypt",
    "qos_voice_crypt", "qos_data_crypt",
]
