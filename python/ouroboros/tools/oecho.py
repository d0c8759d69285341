"""``o7s-oecho``: one message from a client to the server bound to the
name ``oecho`` and back, the ``oecho`` of Ouroboros 0.23 (same options,
output and wire format: the client sends "Client says hi!" with its
terminating NUL; the server reads at most 256 bytes and sends them back).

>>> from ouroboros.tools import oecho
>>> oecho.run()                     # doctest: +SKIP
b'Client says hi!\\x00'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple

from ..dev import flow_alloc
from ..errors import OuroborosError
from . import common
from .common import EXIT_MINUS_ONE, Opt, Output, Stop, Stopped, Tool, Waiter

NAME = "oecho"                      # the name the client allocates to
MESSAGE = b"Client says hi!\0"
BUF_SIZE = 256                      # what the server reads of a message


def text(data: bytes) -> str:
    """What oecho prints of ``data`` (up to a NUL), as text."""
    return common.c_string(data).decode("utf-8", "surrogateescape")


def json_text(data: bytes) -> Dict[str, Any]:
    return {"text": common.c_string(data).decode("utf-8", "replace"), "bytes": len(data)}


class EchoError(Exception):
    """A step of the client failed: ``text`` is oecho's line for it."""

    def __init__(self, text: str, cause: OuroborosError) -> None:
        super().__init__(f"{text} ({cause})")
        self.text = text
        self.cause = cause


def run(name: str = NAME, message: bytes = MESSAGE, out: Optional[Output] = None,
        stop: Optional[Stop] = None) -> bytes:
    """Sends ``message`` to the server of ``name`` and returns its reply
    (at most 256 bytes). Raises :class:`EchoError` when a step fails."""
    out = out or Output("oecho")
    stop = stop or Stop()
    step = "Failed to allocate flow."
    try:
        with stop:
            f = flow_alloc(name)
        with f:
            step = "Failed to write packet."
            f.write(message)
            step = "Failed to read packet."
            reply = Waiter(stop, f, None)(lambda: f.read(BUF_SIZE))
    except OuroborosError as e:
        out.message(step)
        raise EchoError(step, e) from e
    out.event("reply", f"Server replied with {text(reply)}", **json_text(reply))
    return reply


@dataclass
class Echoed:
    """One message a server echoed (``replied``: sent back)."""
    data: bytes
    replied: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {**json_text(self.data), "replied": self.replied}


def serve(out: Optional[Output] = None, stop: Optional[Stop] = None) -> List[Echoed]:
    """Echoes one message per flow until ``stop`` is set (or a signal it
    was installed for arrives); returns the messages."""
    out = out or Output("oecho")
    stop = stop or Stop()
    echoed: List[Echoed] = []
    out.event("started", "Starting the server.")
    try:
        for f in common.accept_flows(out, stop, "Failed to accept flow."):
            out.event("flow", "New flow.", fd=f.fd)
            with f:
                try:
                    data = Waiter(stop, f, None)(lambda: f.read(BUF_SIZE))
                except OuroborosError:
                    out.message("Failed to read packet.")
                    continue
                record = Echoed(data)
                echoed.append(record)
                out.event("echo", f"Message from client is {text(data)}.", **json_text(data))
                try:
                    f.write(data)
                    record.replied = True
                except OuroborosError:
                    out.message("Failed to write packet.")
    except (Stopped, KeyboardInterrupt):
        pass
    return echoed


USAGE = """\
Usage: o7s-oecho [OPTION]...
Sends a message from a client to the server of the name "oecho" and back
(Ouroboros' oecho for pyOuroboros: same options, output and wire format).

  -l, --listen              Run as the server
""" + common.json_help(28) + """
Differences from oecho 0.23: a server ended by a signal exits (with status
128 + the signal) once it has printed what it has, rather than dying.
"""

TOOL = Tool("oecho", USAGE, [Opt(("-l", "--listen"), "listen")], bad_option_status=0)


def execute(values: Dict[str, Any], out: Output, stop: Stop) -> Tuple[Dict[str, Any], int]:
    """The command: options as parsed by :func:`common.parse`."""
    if values.get("listen"):
        echoed = serve(out, stop)
        # oecho dies of the signal that ends it: say so in the status.
        status = 128 + stop.signo if stop.signo else 0
        return common.document("oecho", "server", {}, out, status,
                               flows=[e.to_json() for e in echoed]), status
    options = {"server_name": NAME}
    try:
        reply = run(out=out, stop=stop)
    except EchoError as e:
        return common.document("oecho", "client", options, out, EXIT_MINUS_ONE, str(e),
                               sent=json_text(MESSAGE), reply=None), EXIT_MINUS_ONE
    except Stopped:
        status = 128 + (stop.signo or 0)
        return common.document("oecho", "client", options, out, status, "stopped",
                               sent=json_text(MESSAGE), reply=None), status
    return common.document("oecho", "client", options, out, 0, sent=json_text(MESSAGE),
                           reply=json_text(reply)), 0


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Entry point of the ``o7s-oecho`` console script."""
    raise SystemExit(common.run_command(TOOL, argv, execute))


if __name__ == "__main__":
    main()
