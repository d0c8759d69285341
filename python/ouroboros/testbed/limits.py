"""How large an SDU a path across nodes carries (Ouroboros 0.23).

``Flow.max_sdu`` is the local limit (the packet pool's largest block on
0.23: 1,048,260 bytes). Across nodes each lower layer carries packets up
to its own limit, and the layers above add headers; a larger SDU is not
refused at ``write()``, it is dropped on the way (silently). Neither the
library nor the IRMd tells a process the limit of its path: these are the
numbers of the IPCPs' sources, checked by the testbed's tests.

- ``udp4``: 8976 bytes (``ipcpd-udp4`` sends packets of up to 8980 bytes but
  receives into a buffer of 8980 that includes its 4-byte header, so 8977
  to 8980 arrive truncated, an upstream bug, and larger ones are dropped at
  the sender); ``udp6``: 8948.
- ``eth-dix``: the device's MTU (at most 65535) less its 4-byte header:
  1496 on a standard Ethernet (MTU 1500).
- A unicast layer adds its data-transfer header: address size + 3 + EID
  size (15 bytes with the defaults, 4 and 8).
- A flow with ``in_order=1`` has FRCT: 12 bytes more; a flow whose QoS has
  ``ber=0`` gets a 4-byte CRC (0.23 turns CRCs off by default: ``get_qos()``
  reports ``ber=1``). Encrypted names (0.22+) add the cipher's IV and tag.

So a raw flow over one unicast layer carries 8961 bytes over udp4 and 1481
over eth-dix with MTU 1500.
"""

from __future__ import annotations

from typing import Optional

from ..ipcp_config import UnicastConfig
from ..qos import QoSSpec

#: Largest packet intact across ipcpd-udp4 / ipcpd-udp6, in bytes.
UDP4_MAX_PACKET = 8980 - 4
UDP6_MAX_PACKET = 8952 - 4
#: ipcpd-eth-dix's header (endpoint id and length), and its largest MTU.
ETH_DIX_HEADER = 4
ETH_DIX_MAX_MTU = 0xFFFF
#: The FRCT header of a flow with in_order (flags, window, seqno, ackno).
FRCT_HEADER = 12
#: The CRC of a flow with ber=0.
CRC_SIZE = 4


def lower_packet_limit(kind: str, mtu: int = 1500) -> int:
    """The largest packet (bytes) that a lower layer of type ``kind``
    (``"udp4"``, ``"udp6"``, ``"eth-dix"``) carries intact for the layer
    above, over a device with MTU ``mtu`` bytes."""
    if kind == "udp4":
        return UDP4_MAX_PACKET
    if kind == "udp6":
        return UDP6_MAX_PACKET
    if kind == "eth-dix":
        return min(mtu, ETH_DIX_MAX_MTU) - ETH_DIX_HEADER
    raise ValueError(f"no packet limit known for a lower layer of type {kind!r}")


def unicast_header_bytes(config: Optional[UnicastConfig] = None) -> int:
    """The data-transfer header (bytes) of a unicast layer with ``config``
    (None: the defaults): destination address, QoS cube, TTL, ECN, EID."""
    dt = (config or UnicastConfig()).dt
    return int(dt.addr_size) + 3 + int(dt.eid_size)


def frct_bytes(qos: Optional[QoSSpec] = None) -> int:
    """The FRCT header (bytes) of a flow with ``qos`` (None: raw)."""
    return FRCT_HEADER if qos is not None and qos.in_order else 0


def crc_bytes(qos: Optional[QoSSpec] = None) -> int:
    """The CRC (bytes) of a flow whose QoS, as ``get_qos()`` reports it, is
    ``qos`` (None: raw)."""
    return CRC_SIZE if qos is not None and qos.ber == 0 else 0
