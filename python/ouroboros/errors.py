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
import queue as _queue

from . import _core

# Ouroboros' own error numbers (ouroboros/errno.h, 0.22 and later).
#: The flow is not allocated.
ENOTALLOC = 1000
#: Unknown IPCP type, or the wrong type for the operation.
EIPCPTYPE = 1001
#: Failed to communicate with the IRMd (or the embedded runtime's daemon).
EIRMD = 1002
#: Failed to communicate with the IPCP.
EIPCP = 1003
#: The IPCP is in the wrong state (not bootstrapped, or bootstrapped already).
EIPCPSTATE = 1004
#: The flow is down (the peer deallocated it or died, or it is marked down).
EFLOWDOWN = 1005
#: The peer did not respond within the QoS peer timeout (``QoSSpec.timeout``, in ms).
EFLOWPEER = 1006
#: The name is unknown, not registered or not bound.
ENAME = 1007
#: Encryption error (an unsupported cypher, an SDU that failed authentication).
ECRYPT = 1008
#: Authentication error.
EAUTH = 1009



def strerror(errnum: int) -> str:
    """Message for an errno value, including Ouroboros' codes (1000+): the
    C++ API's table (ouroboros::strerror)."""
    return str(_core.strerror(errnum))


class OuroborosError(OSError):
    """Root of all pyOuroboros errors: ``OSError(errno, message)``."""


class FlowException(OuroborosError):
    """A flow operation failed (upstream pyOuroboros name)."""


class FlowAllocatedException(FlowException):
    """The flow is allocated already."""


class FlowNotAllocatedException(FlowException):
    """The flow is not allocated (never was, or was deallocated)."""


class FlowDeallocWarning(FlowNotAllocatedException, Warning):
    """dealloc() of a flow that is not allocated, e.g. a second dealloc()
    (upstream pyOuroboros raises this Warning subclass as an exception)."""


class FlowDownException(FlowException, ConnectionResetError):
    """The flow is down: the peer deallocated it or its process died."""


class FlowPeerException(FlowDownException):
    """The peer stopped responding for longer than the QoS timeout
    (``QoSSpec.timeout``, in milliseconds)."""


class FlowPermissionException(FlowException, PermissionError):
    """The flow's access mode does not allow this operation."""


class FlowTimeoutException(FlowException, TimeoutError):
    """The operation did not complete within its timeout (the call's
    ``timeo`` or the flow's read/write timeout, in seconds)."""


class FlowWouldBlock(FlowException, BlockingIOError):
    """A non-blocking operation could not proceed now."""


class FlowSizeException(FlowException):
    """An SDU does not fit (too large to write, or for the read buffer)."""


class FlowCryptException(FlowException):
    """Encryption failed: an unsupported cypher, a failed key exchange, or
    an SDU that failed authentication (``ECRYPT``, ``EAUTH``)."""


class FlowEventError(FlowException):
    """The event API failed: a FlowSet was destroyed, a wait timed out, or
    no event is left in the queue (upstream pyOuroboros name)."""


class FlowSetTimeout(FlowEventError, FlowTimeoutException):
    """FlowSet.wait() timed out: a FlowEventError as upstream pyOuroboros
    raises, and a TimeoutError."""


class FEventQueueEmpty(FlowEventError, _queue.Empty):
    """FEventQueue.next() found no event left: a FlowEventError as upstream
    pyOuroboros raises, and a queue.Empty as Queue.get_nowait() raises."""


class InvalidArgument(OuroborosError, ValueError):
    """An argument was out of range or malformed."""


class NotSupported(OuroborosError):
    """The active backend does not offer this operation."""


class RuntimeUnavailable(OuroborosError, ConnectionError):
    """The IRMd (or the embedded runtime daemon) cannot be reached."""


class IrmError(OuroborosError):
    """An IRM request (IPCPs, names, bindings) failed. Every IRM error is
    one; its class tells the cause (:class:`AlreadyExists`,
    :class:`NoSuchIpcp`, ...) and, with the upstream pyOuroboros names, the
    operation (:class:`BindError`, :class:`IpcpCreateError`, ...)."""


# --- IRM errors by cause (chosen by errno).

class AlreadyExists(IrmError, FileExistsError):
    """The name, IPCP, layer or binding exists already (EEXIST)."""


class NoSuchIpcp(IrmError):
    """No IPCP with that pid, or no IPCP serves that layer (EIPCP)."""


class IpcpTypeError(IrmError):
    """The IPCP is of another type than the request needs (EIPCPTYPE)."""


class IpcpStateError(IrmError):
    """The IPCP is in the wrong state: not bootstrapped, or bootstrapped
    already (EIPCPSTATE)."""


class NamingError(IrmError):
    """The name is unknown, not registered or not bound (ENAME)."""


class IrmPermissionError(IrmError, PermissionError):
    """Not permitted: another user's process, or a program that cannot be
    executed (EPERM, EACCES)."""


class NoSuchProcess(IrmError, ProcessLookupError):
    """No process with that pid (ESRCH)."""


class ProgramNotFound(IrmError, FileNotFoundError):
    """The program to bind does not exist (ENOENT)."""


class IrmNotSupported(IrmError, NotSupported):
    """The runtime does not offer this (e.g. a unicast IPCP on the embedded
    runtime) (ENOTSUP)."""


class IrmInvalidArgument(IrmError, InvalidArgument):
    """A malformed name, path or option (EINVAL, ENAMETOOLONG, E2BIG)."""


class IrmdUnavailable(IrmError, RuntimeUnavailable):
    """The IRMd (or the embedded runtime daemon) cannot be reached (EIRMD)."""


# --- IRM errors by operation: upstream pyOuroboros' classes. A raised
# error derives from both its cause and its operation class. Upstream's
# ``NameError`` is ``IrmNameError`` here: that name would shadow a builtin.

class IpcpCreateError(IrmError):
    """create_ipcp() failed."""


class IpcpBootstrapError(IrmError):
    """bootstrap_ipcp() failed."""


class IpcpEnrollError(IrmError):
    """enroll_ipcp() failed."""


class IpcpConnectError(IrmError):
    """connect_ipcp() or disconnect_ipcp() failed."""


class IrmNameError(IrmError):
    """create_name(), destroy_name(), reg_name() or unreg_name() failed."""


class BindError(IrmError):
    """A bind or unbind call failed."""


_IRM_CLASSES: dict[int, type[IrmError]] = {
    _errno.EEXIST: AlreadyExists,
    EIPCP: NoSuchIpcp,
    EIPCPTYPE: IpcpTypeError,
    EIPCPSTATE: IpcpStateError,
    ENAME: NamingError,
    _errno.EPERM: IrmPermissionError,
    _errno.EACCES: IrmPermissionError,
    _errno.ESRCH: NoSuchProcess,
    _errno.ENOENT: ProgramNotFound,
    _errno.ENOTSUP: IrmNotSupported,
    _errno.EINVAL: IrmInvalidArgument,
    _errno.ENAMETOOLONG: IrmInvalidArgument,
    _errno.E2BIG: IrmInvalidArgument,
    EIRMD: IrmdUnavailable,
}

_COMBINED: dict[tuple[type[IrmError], type[IrmError]], type[IrmError]] = {}


def with_operation(error: IrmError, operation: type[IrmError]) -> IrmError:
    """``error`` as an instance of a class deriving from both its own class
    and ``operation`` (e.g. :class:`AlreadyExists` and :class:`BindError`).
    The class is made once and kept in this module, so it pickles."""
    cause = type(error)
    if issubclass(cause, operation):
        return error
    cls = _COMBINED.get((cause, operation))
    if cls is None:
        name = f"{operation.__name__}_{cause.__name__}"
        cls = type(name, (cause, operation), {"__module__": __name__, "__doc__": (
            f"{cause.__doc__} Raised by an operation that raises {operation.__name__}.")})
        globals()[name] = cls
        _COMBINED[(cause, operation)] = cls
    combined = cls(error.errno, error.strerror)
    combined.__traceback__ = error.__traceback__
    return combined


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
    _errno.E2BIG: InvalidArgument,  # beyond the runtime protocol's limits (4096 bytes)
    _errno.ENOTSUP: NotSupported,
}


def exception_class(errnum: int, irm: bool = False) -> type[OuroborosError]:
    """The exception class raised for ``errnum`` (by an IRM call when
    ``irm``: then always an :class:`IrmError`)."""
    if irm:
        return _IRM_CLASSES.get(errnum, IrmError)
    if errnum in _COMMON_CLASSES:
        return _COMMON_CLASSES[errnum]
    return _FLOW_CLASSES.get(errnum, FlowException)


def _make(errnum: int, message: str, irm: bool = False) -> OuroborosError:
    """Builds the exception for a failed call (used by the compiled core)."""
    return exception_class(errnum, irm)(errnum, message)


__all__ = [
    "OuroborosError", "FlowException", "FlowAllocatedException",
    "FlowNotAllocatedException", "FlowDeallocWarning", "FlowDownException", "FlowPeerException",
    "FlowPermissionException", "FlowTimeoutException", "FlowWouldBlock",
    "FlowSizeException", "FlowCryptException", "FlowEventError", "FlowSetTimeout",
    "FEventQueueEmpty", "InvalidArgument",
    "NotSupported", "RuntimeUnavailable", "IrmError", "AlreadyExists", "NoSuchIpcp", "IpcpTypeError", "IpcpStateError",
    "NamingError", "IrmPermissionError", "NoSuchProcess", "ProgramNotFound",
    "IrmNotSupported", "IrmInvalidArgument", "IrmdUnavailable",
    "IpcpCreateError", "IpcpBootstrapError", "IpcpEnrollError", "IpcpConnectError",
    "IrmNameError", "BindError", "with_operation", "strerror", "exception_class",
    "ENOTALLOC", "EIPCPTYPE", "EIRMD", "EIPCP", "EIPCPSTATE", "EFLOWDOWN",
    "EFLOWPEER", "ENAME", "ECRYPT", "EAUTH",
]
