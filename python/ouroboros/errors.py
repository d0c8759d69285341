"""Exceptions of pyOuroboros.

Every error is an :class:`OuroborosError`, an :class:`OSError` that carries
the errno (``.errno``) and a message (``.strerror``). The classes also
derive from the matching builtin, so ``except TimeoutError`` or
``except ConnectionError`` work as with sockets. The upstream pyOuroboros
class names (``FlowException`` and its family) are kept so that code
written for it still catches what it expects.
"""

from __future__ import annotations

import errno as _errno
import os as _os

# Ouroboros' own error numbers (ouroboros/errno.h, 0.22 and later).
ENOTALLOC = 1000
EIPCPTYPE = 1001
EIRMD = 1002
EIPCP = 1003
EIPCPSTATE = 1004
EFLOWDOWN = 1005
EFLOWPEER = 1006
ENAME = 1007
ECRYPT = 1008
EAUTH = 1009

_MESSAGES = {
    ENOTALLOC: "Flow is not allocated",
    EIPCPTYPE: "Unknown IPCP type",
    EIRMD: "Failed to communicate with the IRMd",
    EIPCP: "Failed to communicate with the IPCP",
    EIPCPSTATE: "Target in wrong state",
    EFLOWDOWN: "Flow is down",
    EFLOWPEER: "Flow is down (peer timed out)",
    ENAME: "Naming error",
    ECRYPT: "Encryption error",
    EAUTH: "Authentication error",
}


def strerror(errnum: int) -> str:
    """Message for an errno value, including Ouroboros' codes (1000+)."""
    return _MESSAGES.get(errnum) or _os.strerror(errnum)


class OuroborosError(OSError):
    """Root of all pyOuroboros errors: ``OSError(errno, message)``."""


class FlowException(OuroborosError):
    """A flow operation failed (upstream pyOuroboros name)."""


class FlowAllocatedException(FlowException):
    """The flow is allocated already."""


class FlowNotAllocatedException(FlowException):
    """The flow is not allocated (never was, or was deallocated)."""


class FlowDownException(FlowException, ConnectionResetError):
    """The flow is down: the peer deallocated it or its process died."""


class FlowPeerException(FlowDownException):
    """The peer stopped responding for longer than the QoS timeout."""


class FlowPermissionException(FlowException, PermissionError):
    """The flow's access mode does not allow this operation."""


class FlowTimeoutException(FlowException, TimeoutError):
    """The operation did not complete within its timeout."""


class FlowWouldBlock(FlowException, BlockingIOError):
    """A non-blocking operation could not proceed now."""


class FlowSizeException(FlowException):
    """An SDU does not fit (too large to write, or for the read buffer)."""


class FlowCryptException(FlowException):
    """Encryption failed: an unsupported cypher, a failed key exchange, or
    an SDU that failed authentication (``ECRYPT``, ``EAUTH``)."""


class FlowEventError(FlowException):
    """An operation on a FlowSet failed, e.g. it was destroyed (upstream
    pyOuroboros name; wait timeouts raise FlowTimeoutException)."""


class InvalidArgument(OuroborosError, ValueError):
    """An argument was out of range or malformed."""


class NotSupported(OuroborosError):
    """The active backend does not offer this operation."""


class RuntimeUnavailable(OuroborosError, ConnectionError):
    """The IRMd (or the embedded runtime daemon) cannot be reached."""


class IrmError(OuroborosError):
    """An IRM request (IPCPs, names, bindings) failed."""


_FLOW_CLASSES: dict[int, type[OuroborosError]] = {
    ENOTALLOC: FlowNotAllocatedException,
    _errno.EISCONN: FlowAllocatedException,
    EFLOWDOWN: FlowDownException,
    EFLOWPEER: FlowPeerException,
    _errno.EPERM: FlowPermissionException,
    _errno.EACCES: FlowPermissionException,
    _errno.ETIMEDOUT: FlowTimeoutException,
    _errno.EAGAIN: FlowWouldBlock,
    _errno.EMSGSIZE: FlowSizeException,
    ECRYPT: FlowCryptException,
    EAUTH: FlowCryptException,
    _errno.EBADF: FlowEventError,
}

_COMMON_CLASSES: dict[int, type[OuroborosError]] = {
    EIRMD: RuntimeUnavailable,
    _errno.EINVAL: InvalidArgument,
    _errno.ENAMETOOLONG: InvalidArgument,
    _errno.ENOTSUP: NotSupported,
}


def exception_class(errnum: int, irm: bool = False) -> type[OuroborosError]:
    """The exception class raised for ``errnum``."""
    if errnum in _COMMON_CLASSES:
        return _COMMON_CLASSES[errnum]
    if irm:
        return IrmError
    return _FLOW_CLASSES.get(errnum, FlowException)


def _make(errnum: int, message: str, irm: bool = False) -> OuroborosError:
    """Builds the exception for a failed call (used by the compiled core)."""
    return exception_class(errnum, irm)(errnum, message)


__all__ = [
    "OuroborosError", "FlowException", "FlowAllocatedException",
    "FlowNotAllocatedException", "FlowDownException", "FlowPeerException",
    "FlowPermissionException", "FlowTimeoutException", "FlowWouldBlock",
    "FlowSizeException", "FlowCryptException", "FlowEventError", "InvalidArgument", "NotSupported", "RuntimeUnavailable",
    "IrmError", "strerror", "exception_class",
    "ENOTALLOC", "EIPCPTYPE", "EIRMD", "EIPCP", "EIPCPSTATE", "EFLOWDOWN",
    "EFLOWPEER", "ENAME", "ECRYPT", "EAUTH",
]
