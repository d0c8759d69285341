"""A Flow dropped without dealloc() is deallocated first and warned about
after (issue 13, defect 9): under ``-W error`` the warning raises, and it
must neither be lost nor leave the flow to the compiled destructor (which
closes it with the GIL held)."""

from __future__ import annotations

import gc
import sys
import warnings
from typing import List

import pytest

from o7s_testing import InThread
from ouroboros import irm
from ouroboros.dev import Flow, FlowDownException, flow_accept, flow_alloc

pytestmark = pytest.mark.embedded_only


def test_under_w_error_the_flow_is_deallocated_then_the_warning_raised(
        monkeypatch: pytest.MonkeyPatch) -> None:
    irm.serve("unclosed")
    accepted: List[Flow] = []
    accepting = InThread(lambda: accepted.append(flow_accept(timeo=10)))
    a = flow_alloc("unclosed", timeo=10)
    assert accepting.result("no flow accepted") is None
    b = accepted.pop()
    b.set_rcv_timeout(10)
    deallocs: List[bool] = []
    real = Flow.dealloc

    def dealloc(self: Flow) -> None:
        deallocs.append(True)
        real(self)

    monkeypatch.setattr(Flow, "dealloc", dealloc)
    raised: List[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook",
                        lambda u: raised.append(u.exc_value))  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        del a
        gc.collect()
    # dealloc() ran (it releases the GIL), and the warning was raised after.
    assert deallocs == [True]
    assert len(raised) == 1 and isinstance(raised[0], ResourceWarning), raised
    assert "unclosed flow" in str(raised[0])
    with pytest.raises(FlowDownException):
        b.read()
    b.dealloc()
