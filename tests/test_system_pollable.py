"""The system backend's flow descriptors (fileno()): an eventfd per flow
that the backend feeds, so selectors and event loops work there."""

from __future__ import annotations

import selectors

import pytest

from aio_testing import AIO_SERVER, aio_name  # noqa: F401 (fixture)
from ouroboros.dev import flow_alloc
from ouroboros.errors import FlowPermissionException
from ouroboros.event import FlowSet

pytestmark = pytest.mark.system


def test_a_flow_descriptor_polls_readable_when_an_sdu_arrives(spawn, aio_name: str) -> None:
    spawn(AIO_SERVER, aio_name, "echo").expect("ready")
    with flow_alloc(aio_name, timeo=10) as f, selectors.DefaultSelector() as sel:
        f.set_rcv_timeout(10)
        fd = f.fileno()
        assert f.fileno() == fd  # one per flow
        sel.register(fd, selectors.EVENT_READ)
        for i in range(20):
            f.write(b"sdu %d" % i)
            assert sel.select(10), "the descriptor did not turn readable"
            assert f.read() == b"sdu %d" % i


def test_a_flow_with_a_descriptor_cannot_be_in_a_flow_set(spawn, aio_name: str) -> None:
    spawn(AIO_SERVER, aio_name, "echo").expect("ready")
    with flow_alloc(aio_name, timeo=10) as f, flow_alloc(aio_name, timeo=10) as g:
        f.fileno()
        with FlowSet() as fs:
            with pytest.raises(FlowPermissionException, match="descriptor"):
                fs.add(f)
            fs.add(g)
            with pytest.raises(FlowPermissionException, match="FlowSet"):
                g.fileno()
            fs.remove(g)
        assert g.fileno() >= 0  # out of the set, it can have one
