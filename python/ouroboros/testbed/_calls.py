"""Calls into a node: a function and its arguments go in, its result or its
exception comes out, pickled, over a pair of pipes.

The same framing serves the node's IRM agent (many calls, one process) and
one-off callables (:meth:`Node.call`, :meth:`Node.start`). Both run inside
the node on the system backend: ``python -c BOOT rfd wfd``.

Errors of pyOuroboros travel by class name, errno and message, so that an
IRM error that is both e.g. ``NamingError`` and ``IpcpEnrollError`` (a class
made on demand by :func:`ouroboros.errors.with_operation`) arrives as the
same pair of classes.
"""

from __future__ import annotations

import os
import pickle
import runpy
import signal
import struct
import sys
import traceback
import types
from typing import Any, Callable, Dict, Optional, Tuple

from .. import errors

_HEADER = struct.Struct("!Q")

#: Runs in a node: ``python -c AGENT_BOOT rfd wfd`` serves calls until its
#: input ends; ``python -c CALL_BOOT rfd wfd`` runs one.
AGENT_BOOT = "import sys; from ouroboros.testbed import _calls; _calls.serve(sys.argv[1:])"
CALL_BOOT = "import sys; from ouroboros.testbed import _calls; _calls.run_one(sys.argv[1:])"


class RemoteError(Exception):
    """An exception raised inside a node that could not be sent back as
    itself (it could not be pickled); the message has its traceback."""


def send(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, n: int) -> Optional[bytes]:
    parts = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def receive(fd: int) -> Any:
    """The next object, or raises EOFError when the other end closed."""
    head = _read_exactly(fd, _HEADER.size)
    if head is None:
        raise EOFError("the node's end of the call closed")
    body = _read_exactly(fd, _HEADER.unpack(head)[0])
    if body is None:
        raise EOFError("the node's end of the call closed in a message")
    return pickle.loads(body)


def encode_error(e: BaseException) -> Tuple[Any, ...]:
    """What goes back for an exception raised by a call."""
    if isinstance(e, errors.OuroborosError):
        cls = type(e)
        if cls.__name__ in errors.__all__:
            return ("ouroboros", cls.__name__, None, e.errno, e.strerror)
        # A class of with_operation(): its bases are (cause, operation).
        cause, operation = cls.__bases__[:2]
        return ("ouroboros", cause.__name__, operation.__name__, e.errno, e.strerror)
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    try:
        pickle.loads(pickle.dumps(e))
        return ("pickled", e, text)
    except Exception:
        return ("text", f"{type(e).__name__}: {e}", text)


def decode_error(encoded: Tuple[Any, ...]) -> BaseException:
    """The exception to raise in the caller for what encode_error() sent."""
    if encoded[0] == "ouroboros":
        _, cause, operation, errnum, message = encoded
        e: errors.OuroborosError = getattr(errors, cause)(errnum, message)
        if operation is not None and isinstance(e, errors.IrmError):
            e = errors.with_operation(e, getattr(errors, operation))
        return e
    if encoded[0] == "pickled":
        exc: BaseException = encoded[1]
        return exc
    return RemoteError(f"{encoded[1]}\n(raised in the node)\n{encoded[2]}")


def _exit_on_sigterm() -> None:
    # SIGTERM ends the process through sys.exit(), so that libouroboros-dev's
    # exit handler runs (Python's default action would skip it).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _call(request: Tuple[Callable[..., Any], Tuple[Any, ...], Dict[str, Any]]) -> Any:
    fn, args, kwargs = request
    try:
        return ("ok", fn(*args, **kwargs))
    except BaseException as e:  # noqa: B036 - everything goes back to the caller
        return ("error", encode_error(e))


def _use_system_backend() -> None:
    import ouroboros
    ouroboros.use_backend("system")


def serve(argv: list) -> None:  # type: ignore[type-arg]
    """The node's IRM agent: answers calls until its input closes."""
    rfd, wfd = int(argv[0]), int(argv[1])
    _exit_on_sigterm()
    try:
        _use_system_backend()
        send(wfd, ("ok", None))
    except BaseException as e:  # noqa: B036
        send(wfd, ("error", encode_error(e)))
        return
    while True:
        try:
            request = receive(rfd)
        except EOFError:
            return
        _send_outcome(wfd, _call(request))


def _send_outcome(wfd: int, outcome: Tuple[Any, ...]) -> None:
    try:
        send(wfd, outcome)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        send(wfd, ("error", ("text", f"the result could not be pickled: {e}", "")))


def _load_main(path: str) -> None:
    """Makes the caller's script importable as ``__main__``, as
    multiprocessing does, so that its functions unpickle: the script runs
    as ``__mp_main__`` (its ``if __name__ == "__main__":`` part does not)."""
    module = types.ModuleType("__mp_main__")
    module.__dict__.update(runpy.run_path(path, run_name="__mp_main__"))
    sys.modules["__mp_main__"] = sys.modules["__main__"] = module


def main_script(fn: Callable[..., Any]) -> Optional[str]:
    """The script to load before ``fn`` unpickles in a node: the caller's
    own when ``fn`` is defined in it (None otherwise)."""
    if getattr(fn, "__module__", None) != "__main__":
        return None
    path = getattr(sys.modules["__main__"], "__file__", None)
    return os.path.abspath(path) if path else None


def run_one(argv: list) -> None:  # type: ignore[type-arg]
    """Runs one call and sends back its outcome. The first message names
    the caller's script when the function is defined there."""
    rfd, wfd = int(argv[0]), int(argv[1])
    _exit_on_sigterm()
    script = receive(rfd)
    if script:
        _load_main(script)
    request = receive(rfd)
    os.close(rfd)
    _send_outcome(wfd, _call(request))
    os.close(wfd)
