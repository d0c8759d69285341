"""The `pair` fixture: two ends of one flow in this process (import it into
a test module to use it)."""

from __future__ import annotations

import threading
from typing import Iterator, Tuple

import pytest

from ouroboros import irm
from ouroboros.dev import Flow, flow_accept, flow_alloc


@pytest.fixture
def pair() -> Iterator[Tuple[Flow, Flow]]:
    """(allocated, accepted), with 10 s read and write timeouts so that a
    broken test fails instead of hanging; deallocated at the end."""
    irm.serve("pair")
    accepted = {}
    t = threading.Thread(target=lambda: accepted.setdefault("f", flow_accept(timeo=10)))
    t.start()
    a = flow_alloc("pair", timeo=10)
    t.join(timeout=10)
    b = accepted["f"]
    for f in (a, b):
        f.set_rcv_timeout(10)
        f.set_snd_timeout(10)
    yield a, b
    for f in (a, b):
        if not f.closed:
            f.dealloc()
