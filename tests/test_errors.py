"""One exception hierarchy rooted in OSError, with errno and message, the
upstream class names, and the builtin classes Python code expects."""

from __future__ import annotations

import errno

import pytest

from ouroboros import _core, errors
from ouroboros.errors import (EAUTH, ECRYPT, EFLOWDOWN, EFLOWPEER, EIRMD, ENAME, ENOTALLOC,
                              FlowAllocatedException, FlowCryptException, FlowDownException,
                              FlowEventError, FlowException, FlowNotAllocatedException,
                              FlowPeerException, FlowPermissionException, FlowSizeException,
                              FlowTimeoutException, FlowWouldBlock, InvalidArgument, IrmError,
                              NotSupported, OuroborosError, RuntimeUnavailable)

# errno -> (class, builtin it must also be)
MAPPING = {
    ENOTALLOC: (FlowNotAllocatedException, OSError),
    errno.EISCONN: (FlowAllocatedException, OSError),
    EFLOWDOWN: (FlowDownException, ConnectionError),
    EFLOWPEER: (FlowPeerException, ConnectionError),
    errno.EPERM: (FlowPermissionException, PermissionError),
    errno.ETIMEDOUT: (FlowTimeoutException, TimeoutError),
    errno.EAGAIN: (FlowWouldBlock, BlockingIOError),
    errno.EMSGSIZE: (FlowSizeException, OSError),
    ECRYPT: (FlowCryptException, OSError),
    EAUTH: (FlowCryptException, OSError),
    errno.EBADF: (FlowEventError, OSError),
    errno.EINVAL: (InvalidArgument, ValueError),
    errno.ENOTSUP: (NotSupported, OSError),
    EIRMD: (RuntimeUnavailable, ConnectionError),
    ENAME: (FlowException, OSError),
}


@pytest.mark.parametrize("num", sorted(MAPPING))
def test_each_errno_gets_its_class(num: int) -> None:
    cls, builtin = MAPPING[num]
    exc = errors._make(num, "context")
    assert type(exc) is cls
    assert isinstance(exc, builtin) and isinstance(exc, OuroborosError)
    assert isinstance(exc, OSError)
    assert exc.errno == num and exc.strerror == "context"


def test_flow_peer_is_a_kind_of_flow_down() -> None:
    assert issubclass(FlowPeerException, FlowDownException)
    assert issubclass(FlowDownException, ConnectionResetError)


def test_upstream_names_are_flow_exceptions() -> None:
    for cls in (FlowAllocatedException, FlowNotAllocatedException, FlowDownException,
                FlowPermissionException, FlowEventError):
        assert issubclass(cls, FlowException)


def test_irm_errors_get_irm_classes() -> None:
    assert isinstance(errors._make(errno.EEXIST, "x", irm=True), IrmError)
    invalid = errors._make(errno.EINVAL, "x", irm=True)
    assert isinstance(invalid, IrmError) and isinstance(invalid, InvalidArgument)


def test_the_message_table_covers_ouroboros_codes_like_the_c_library() -> None:
    # The comments of include/ouroboros/errno.h (0.23.0).
    assert {n: errors.strerror(n) for n in range(1000, 1010)} == {
        1000: "Flow is not allocated",
        1001: "Unknown IPCP type",
        1002: "Failed to communicate with the IRMd",
        1003: "Failed to communicate with the IPCP",
        1004: "Target in wrong state",
        1005: "Flow is down",
        1006: "Flow is down (peer timed out)",
        1007: "Naming error",
        1008: "Encryption error",
        1009: "Authentication error",
    }
    for n in list(range(1000, 1010)) + [errno.EPERM, errno.ETIMEDOUT]:
        assert _core.strerror(n) == errors.strerror(n)  # C++ and Python agree
    assert errors.strerror(errno.EPERM) == "Operation not permitted"


def test_errors_from_the_core_carry_errno_and_message() -> None:
    from ouroboros.dev import Flow
    with pytest.raises(FlowNotAllocatedException) as info:
        Flow().read()
    assert info.value.errno == ENOTALLOC
    assert "not allocated" in str(info.value)


def test_failing_calls_print_nothing(spawn) -> None:
    child = spawn("""
        from ouroboros import irm
        from ouroboros.dev import Flow, flow_accept, flow_alloc
        from ouroboros.errors import OuroborosError
        for call in (lambda: flow_alloc("nobody", timeo=0.1),
                     lambda: flow_accept(timeo=0.05),
                     lambda: Flow().write(b"x"),
                     lambda: irm.destroy_ipcp(123456789)):
            try:
                call()
            except OuroborosError:
                pass
    """)
    status, out, err = child.finish()
    assert (status, out, err) == (0, "", "")
