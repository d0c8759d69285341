"""``o7s-obc``: a message to every member of a broadcast layer, the ``obc``
of Ouroboros 0.23 (same options, output and wire format: the message with
its terminating NUL; a reader prints at most 256 bytes of each).

>>> from ouroboros.tools import obc
>>> obc.send("bc_layer", "hello")   # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple, Union

from ..dev import flow_join
from ..errors import OuroborosError
from . import common
from .common import EXIT_FAILURE, EXIT_MINUS_ONE, Opt, Output, Stop, Stopped, Tool, ToolExit
from .oecho import json_text, text

MESSAGE = "Ouroboros multicast rocks!"
BUF_SIZE = 256


class BroadcastError(Exception):
    """A step failed: ``text`` is obc's line for it."""

    def __init__(self, text: str, cause: OuroborosError) -> None:
        super().__init__(f"{text} ({cause})")
        self.text = text
        self.cause = cause


def encode(message: Union[str, bytes]) -> bytes:
    """``message`` as obc sends it: its bytes (a str as the command line
    had them) and a NUL."""
    data = os.fsencode(message) if isinstance(message, str) else bytes(message)
    return data + b"\0"


def send(layer: str, message: Union[str, bytes] = MESSAGE, out: Optional[Output] = None,
         stop: Optional[Stop] = None) -> int:
    """Joins ``layer``, sends ``message`` once and leaves; returns the
    bytes sent. Raises :class:`BroadcastError` when a step fails."""
    out = out or Output("obc")
    stop = stop or Stop()
    data = encode(message)
    step = "Failed to join broadcast."
    try:
        with stop:
            f = flow_join(layer)
        with f:
            step = "Failed to write packet."
            f.write(data)
    except OuroborosError as e:
        out.message(step)
        raise BroadcastError(step, e) from e
    return len(data)


def listen(layer: str, out: Optional[Output] = None, stop: Optional[Stop] = None,
           received: Optional[List[bytes]] = None) -> List[bytes]:
    """Joins ``layer`` and prints every message until the flow fails or
    ``stop`` is set (or a signal it was installed for arrives); returns
    the messages (appended to ``received`` as they come, when given).
    Raises :class:`BroadcastError` when the join fails."""
    out = out or Output("obc")
    stop = stop or Stop()
    messages = received if received is not None else []
    out.event("started", "Starting a reader.")
    try:
        with stop:
            f = flow_join(layer)
    except OuroborosError as e:
        out.message("Failed to join broadcast.")
        raise BroadcastError("Failed to join broadcast.", e) from e
    out.event("flow", "New flow.", fd=f.fd)
    read = common.Waiter(stop, f, None)
    with f:
        try:
            while not stop.stopped:
                try:
                    data = read(lambda: f.read(BUF_SIZE))
                except OuroborosError:
                    out.message("Failed to read.")
                    break
                messages.append(data)
                out.event("received", f"Message is {text(data)}.", **json_text(data))
        except (Stopped, KeyboardInterrupt):
            pass
    return messages


USAGE = """\
Usage: o7s-obc [OPTION]...
Sends a message to every member of a broadcast layer, or prints what they
send (Ouroboros' obc for pyOuroboros: same options, output and wire format).

  -n, --name                Name of the broadcast layer
  -m, --message             The message to send (default "%s")
  -l, --listen              Print the messages that arrive
""" % MESSAGE + common.json_help(28) + """
Differences from obc 0.23: a reader ended by a signal exits (with status
128 + the signal) once it has printed what it has, rather than dying.
"""

TOOL = Tool("obc", USAGE, [
    Opt(("-l", "--listen"), "listen"), Opt(("-n", "--name"), "name", True),
    Opt(("-m", "--message"), "message", True),
], bad_option_status=0)


def execute(values: Dict[str, Any], out: Output, stop: Stop) -> Tuple[Dict[str, Any], int]:
    """The command: options as parsed by :func:`common.parse`."""
    layer = values.get("name")
    if layer is None:
        raise ToolExit(EXIT_FAILURE, text="Please specify a name.\n", usage=True)
    if values.get("listen"):
        got: List[bytes] = []
        status, error = 0, None
        try:
            listen(layer, out, stop, got)
        except BroadcastError as e:
            status, error = EXIT_MINUS_ONE, str(e)
        if stop.signo:
            status = 128 + stop.signo   # obc dies of the signal that ends it
        return common.document("obc", "reader", {"name": layer}, out, status, error,
                               received=[json_text(m) for m in got]), status
    message = values.get("message", MESSAGE)
    options = {"name": layer, "message": message}
    try:
        send(layer, message, out, stop)
    except BroadcastError as e:
        return common.document("obc", "writer", options, out, EXIT_MINUS_ONE, str(e),
                               sent=None), EXIT_MINUS_ONE
    except Stopped:
        status = 128 + (stop.signo or 0)
        return common.document("obc", "writer", options, out, status, "stopped",
                               sent=None), status
    return common.document("obc", "writer", options, out, 0,
                           sent=json_text(encode(message))), 0


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Entry point of the ``o7s-obc`` console script."""
    raise SystemExit(common.run_command(TOOL, argv, execute))


if __name__ == "__main__":
    main()
