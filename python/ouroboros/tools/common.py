"""What the tools share: reading options the way the C tools do, their
number and time formats, the output modes, ending a run on a signal, and
the live status line.

Output, the same for every tool:

- text (the default): stdout carries what the C tool of Ouroboros 0.23
  prints, byte for byte; the lines this package adds (what was wrong with a
  command line) go to stderr, prefixed with the command's name.
- ``--json``: stdout carries one JSON document when the tool ends, with
  every figure the text shows and the raw samples (``schema.json`` beside
  this module is its JSON Schema, :func:`json_schema` loads it).
- ``--json-lines``: one JSON object per line as things happen (``"event"``
  says what), the last one ``{"event": "end", "result": DOCUMENT}`` with the
  ``--json`` document.

A run ends on SIGINT, SIGTERM or SIGHUP, as the C tools' do, and reports
what it has. While it runs, a one-line status shows on stderr when stderr
is a terminal (nothing is added when it is not).
"""

from __future__ import annotations

import json
import math
import re
import signal
import struct
import sys
import threading
import time
from dataclasses import dataclass
from importlib import resources
from types import FrameType
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar

from ..dev import Flow, flow_accept
from ..errors import OuroborosError, RuntimeUnavailable

SCHEMA_VERSION = 1
EXIT_FAILURE = 1          # C's EXIT_FAILURE
EXIT_MINUS_ONE = 255      # a C main() that returns -1
INT_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1
MILLION = 10**6
BILLION = 10**9
# How often loops that cannot be interrupted by a signal look at the stop
# flag (worker threads; library calls made outside the main thread), in s.
POLL_SLICE = 0.1


# ------------------------------------------------------------ command lines

@dataclass(frozen=True)
class Opt:
    """One option: its spellings (matched exactly, as the C tools do), the
    key it sets, and whether the next argument is its value (else the key
    gets ``const``)."""
    names: Tuple[str, ...]
    key: str
    takes_value: bool = False
    const: Any = True


JSON_OPTIONS = (Opt(("--json",), "json"), Opt(("--json-lines",), "json_lines"))


def json_help(column: int) -> str:
    """The help lines of the options every tool has, descriptions at ``column``."""
    rows = [("--json", "Print one JSON document with the figures at the end"),
            ("--json-lines", "Print a JSON object per event, the figures last"),
            ("--help", "Display this help text and exit")]
    return "".join(f"      {name:<{column - 6}}{text}\n" for name, text in rows)


@dataclass(frozen=True)
class Tool:
    """A tool's command line: its C name (``oping``), its help text, its
    options, and the exit status the C tool gives an unknown option."""
    name: str
    usage: str
    options: Sequence[Opt]
    bad_option_status: int


class ToolExit(Exception):
    """Ends a command with ``status``. ``text`` is what the C tool prints
    on stdout at that point (kept in the JSON document's messages),
    ``note`` what this package adds on stderr, and ``usage`` asks for the
    help text after them, as the C tools print it."""

    def __init__(self, status: int, text: Optional[str] = None, note: Optional[str] = None,
                 usage: bool = False) -> None:
        super().__init__(note or text or f"exit status {status}")
        self.status = status
        self.text = text
        self.note = note
        self.usage = usage


class _Help(Exception):
    pass


def _scan(tool: Tool, argv: Sequence[str], strict: bool) -> Dict[str, Any]:
    table = {name: opt for opt in (*tool.options, *JSON_OPTIONS) for name in opt.names}
    values: Dict[str, Any] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        opt = table.get(arg)
        if arg == "--help" and strict:
            raise _Help()
        if opt is None:
            if strict:
                raise ToolExit(tool.bad_option_status, note=f"unknown option {arg!r}",
                               usage=True)
            i += 1
            continue
        if not opt.takes_value:
            values[opt.key] = opt.const
            i += 1
            continue
        if i + 1 >= len(argv):
            if strict:
                raise ToolExit(tool.bad_option_status, note=f"{arg} needs a value", usage=True)
            break
        values[opt.key] = argv[i + 1]
        i += 2
    return values


def parse(tool: Tool, argv: Sequence[str]) -> Dict[str, Any]:
    """The options in ``argv`` as {key: value string, or True for a flag};
    a later option overrides an earlier one, as in the C tools."""
    return _scan(tool, argv, strict=True)


def output_mode(tool: Tool, argv: Sequence[str]) -> str:
    """"text", "json" or "json-lines", as far as ``argv`` can be read."""
    values = _scan(tool, argv, strict=False)
    if values.get("json_lines"):
        return "json-lines"
    return "json" if values.get("json") else "text"


_LONG = re.compile(r"\s*([+-]?[0-9]+)")


def strtol(text: str) -> Tuple[Optional[int], str]:
    """C's ``strtol(text, &rest, 10)``: the number at the start of ``text``
    and what follows it; ``None`` where there is no number."""
    m = _LONG.match(text)
    if m is None:
        return None, text
    return int(m.group(1)), text[m.end():]


def _bad_value(option: str, text: str, what: str) -> ToolExit:
    return ToolExit(EXIT_FAILURE, note=f"{option} needs {what}, not {text!r}")


def integer(text: str, option: str, lo: int = 0, hi: int = INT_MAX) -> int:
    """A whole number from ``lo`` to ``hi`` (where the C tools would read a
    bad number as 0, or wrap, this is an error)."""
    value, rest = strtol(text)
    if value is None or rest or not lo <= value <= hi:
        raise _bad_value(option, text, f"a whole number from {lo} to {hi}")
    return value


TIME_UNITS_MS = {"": 1, "ms": 1, "s": 1000, "m": 60 * 1000, "h": 60 * 60 * 1000,
                 "d": 24 * 60 * 60 * 1000}


def duration_ms(text: str, option: str, hi: int = INT_MAX) -> int:
    """A time with the C tools' units (none or ms, s, m, h, d), in ms."""
    value, rest = strtol(text)
    if value is None:
        raise _bad_value(option, text, "a number with an optional unit (ms, s, m, h, d)")
    if rest not in TIME_UNITS_MS:
        raise ToolExit(EXIT_FAILURE, text=f"Unknown time unit: {rest}.")
    ms = value * TIME_UNITS_MS[rest]
    if not 0 <= ms <= hi:
        raise _bad_value(option, text, f"a time from 0 to {hi} ms")
    return ms


# ------------------------------------------------------------ C's numbers

def f32(x: float) -> float:
    """``x`` rounded to a C ``float`` (single precision)."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def c_div(a: int, b: int) -> int:
    """C's integer division: the quotient truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def c_fdiv(a: float, b: float) -> float:
    """C's double division, where dividing by zero gives inf, or -nan for
    0/0 (the sign x86 gives a NaN it makes)."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return -math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def c_float(fmt: str, x: float) -> str:
    """``fmt % x`` as glibc's printf prints it, NaN's sign included."""
    if math.isnan(x):
        width = re.match(r"%(-?\d*)", fmt)
        text = "-nan" if math.copysign(1.0, x) < 0 else "nan"
        return ("%" + (width.group(1) if width else "") + "s") % text
    return fmt % x


def us_between(t0_ns: int, t1_ns: int) -> int:
    """Microseconds from ``t0_ns`` to ``t1_ns`` as the C tools count them
    (seconds and nanoseconds apart, the nanoseconds truncated)."""
    s0, n0 = divmod(t0_ns, BILLION)
    s1, n1 = divmod(t1_ns, BILLION)
    return (s1 - s0) * MILLION + c_div(n1 - n0, 1000)


def ms_between(t0_ns: int, t1_ns: int) -> int:
    """Milliseconds from ``t0_ns`` to ``t1_ns``, counted as the C tools do."""
    s0, n0 = divmod(t0_ns, BILLION)
    s1, n1 = divmod(t1_ns, BILLION)
    return (s1 - s0) * 1000 + c_div(n1 - n0, MILLION)


def time_of_day(t_ns: int) -> str:
    """A CLOCK_REALTIME time as the C tools print it: ``SECONDS.MICROS``."""
    s, ns = divmod(t_ns, BILLION)
    return "%d.%06d" % (s, ns // 1000)


def c_string(data: bytes) -> bytes:
    """What printf's ``%.*s`` prints of ``data``: up to its first NUL."""
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


def json_number(x: float) -> Optional[float]:
    """``x`` for a JSON document: ``None`` (null) for NaN and infinities."""
    return x if math.isfinite(x) else None


# ------------------------------------------------------------ output

class LiveStatus:
    """A one-line status on a terminal, redrawn at most 4 times a second;
    it does nothing when the stream is not a terminal."""

    PERIOD = 0.25

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.enabled = _isatty(stream)
        self.shown = False
        self._next = 0.0

    def due(self) -> bool:
        """True when a new status would be drawn now."""
        return self.enabled and time.monotonic() >= self._next

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self.shown = True
        self._next = time.monotonic() + self.PERIOD

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


class Output:
    """Where a tool's lines and events go. ``mode``: "text", "json",
    "json-lines", or "silent" (library calls: nothing is printed, the
    messages are still kept). Thread-safe."""

    def __init__(self, tool: str, mode: str = "silent", stdout: Optional[IO[str]] = None,
                 stderr: Optional[IO[str]] = None) -> None:
        if mode not in ("text", "json", "json-lines", "silent"):
            raise ValueError(f"unknown output mode {mode!r}")
        self.tool = tool
        self.mode = mode
        self.text = mode == "text"
        self.lines = mode == "json-lines"
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.messages: List[str] = []
        self._status = LiveStatus(self.stderr) if mode != "silent" else None
        self._stdout_tty = mode == "text" and _isatty(self.stdout)
        self._lock = threading.Lock()

    def line(self, text: str, flush: bool = True) -> None:
        """A line of the C tool's output (text mode only). A loop that
        prints many lines at once passes ``flush=False`` and calls
        :meth:`flush` after them."""
        if not self.text:
            return
        with self._lock:
            if self._stdout_tty and self._status is not None:
                self._status.clear()
            self.stdout.write(text + "\n")
            if flush:
                self.stdout.flush()

    def flush(self) -> None:
        with self._lock:
            if self.mode != "silent":
                self.stdout.flush()

    def message(self, text: str) -> None:
        """A notice the C tool prints (kept in the document's messages)."""
        self.messages.append(text)
        if self.text:
            self.line(text)
        elif self.lines:
            self.event("message", text=text)

    def event(self, name: str, line: Optional[str] = None, /, flush: bool = True,
              **fields: Any) -> None:
        """Something that happened: ``line`` is the C tool's line for it
        (text mode), ``fields`` its JSON line (``--json-lines``); ``flush``
        as for :meth:`line`."""
        if self.text:
            if line is not None:
                self.line(line, flush)
        elif self.lines:
            self._json({"event": name, **fields}, flush)

    def status_due(self) -> bool:
        """True when :meth:`status` would draw (so that callers format the
        status only then)."""
        return self._status is not None and self._status.due()

    def status(self, text: str) -> None:
        if self._status is not None:
            with self._lock:
                self._status.show(text)

    def note(self, text: str) -> None:
        """What this package adds to the C tool's words: on stderr."""
        if self.mode != "silent":
            self.stderr.write(f"o7s-{self.tool}: {text}\n")
            self.stderr.flush()

    def usage(self, text: str) -> None:
        """The help text: on stdout as the C tools print it, on stderr when
        stdout carries JSON."""
        if self.mode == "silent":
            return
        stream = self.stdout if self.text else self.stderr
        stream.write(text)
        stream.flush()

    def finish(self, document: Dict[str, Any]) -> None:
        """Ends the output: the JSON document (or its ``end`` event)."""
        with self._lock:
            if self._status is not None:
                self._status.clear()
        if self.mode == "json":
            self.stdout.write(json.dumps(document, allow_nan=False, ensure_ascii=False) + "\n")
        elif self.lines:
            self._json({"event": "end", "result": document})
        self.flush()

    def _json(self, obj: Dict[str, Any], flush: bool = True) -> None:
        with self._lock:
            self.stdout.write(json.dumps(obj, allow_nan=False, ensure_ascii=False) + "\n")
            if flush:
                self.stdout.flush()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def document(tool: str, role: str, options: Dict[str, Any], out: Output, status: int,
             error: Optional[str] = None, **result: Any) -> Dict[str, Any]:
    """A tool's JSON document: what every tool's has, then its figures."""
    return {"tool": tool, "role": role, "schema_version": SCHEMA_VERSION, "options": options,
            "messages": list(out.messages), "exit_status": status, "error": error, **result}


def json_schema() -> Dict[str, Any]:
    """The JSON Schema of the tools' documents and events (``schema.json``):
    its root validates a ``--json`` document, ``#/$defs/oping_event`` (and
    ``operf_event``, ...) a line of that tool's ``--json-lines``."""
    text = resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
    schema: Dict[str, Any] = json.loads(text)
    return schema


# ------------------------------------------------------------ stopping

class Stopped(BaseException):
    """A stop signal arrived while the main thread was in a blocking call
    inside a ``with stop:`` block (a BaseException, like KeyboardInterrupt,
    so that ``except Exception`` does not swallow it)."""


class Stop:
    """Ends a run, as SIGINT, SIGTERM and SIGHUP end the C tools' runs.

    ``install()`` (main thread only) makes those signals set the flag and,
    while the main thread is inside ``with stop:``, interrupt the blocking
    call there by raising :class:`Stopped`. Library callers may call
    :meth:`set` from any thread instead; the tools then notice it within
    :data:`POLL_SLICE` seconds, or 0.5 s in a waiting ``flow_accept``."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signo: Optional[int] = None
        self._armed = False
        self._saved: Dict[int, Any] = {}

    @property
    def installed(self) -> bool:
        """True when signals interrupt this thread's blocking calls."""
        return bool(self._saved) and threading.current_thread() is threading.main_thread()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signo in self.SIGNALS:
            self._saved[signo] = signal.signal(signo, self._on_signal)

    def restore(self) -> None:
        for signo, handler in self._saved.items():
            signal.signal(signo, handler)
        self._saved.clear()

    def _on_signal(self, signo: int, frame: Optional[FrameType]) -> None:
        self.signo = signo
        self.event.set()
        if self._armed:
            self._armed = False
            raise Stopped(signo)

    def set(self) -> None:
        """Asks the run to end."""
        self.event.set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    def sleep(self, seconds: float) -> bool:
        """Waits ``seconds``; returns True (early) when the run is to end."""
        return self.event.wait(seconds) if seconds > 0 else self.event.is_set()

    def accept_timeout(self) -> Optional[float]:
        """The timeout for a flow_accept() that must notice :meth:`set`."""
        return None if self.installed else 0.5

    def __enter__(self) -> Stop:
        if self.event.is_set():
            raise Stopped(self.signo)
        if threading.current_thread() is threading.main_thread():
            self._armed = True   # (signal handlers run in the main thread only)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if threading.current_thread() is threading.main_thread():
            self._armed = False


def spin_until(stop: Stop, deadline_ns: int) -> None:
    """Busy-waits until CLOCK_MONOTONIC reaches ``deadline_ns`` (as the C
    tools spin between SDUs), or the run is stopped."""
    clock = time.monotonic_ns
    with stop:
        while clock() < deadline_ns and not stop.event.is_set():
            pass


T = TypeVar("T")


class Waiter:
    """Runs one kind of blocking flow call (reads, or writes with
    ``send=True``) with a timeout (seconds, ``None``: none) that a
    :class:`Stop` cuts short. Made in the thread that calls it: in the main
    thread with the signals installed the call blocks and a signal raises
    :class:`Stopped`; elsewhere it waits in slices of :data:`POLL_SLICE`
    and raises :class:`Stopped` once the stop flag is set. It sets the
    flow's receive (or send) timeout."""

    def __init__(self, stop: Stop, flow: Flow, timeout: Optional[float],
                 send: bool = False) -> None:
        self.stop = stop
        self.timeout = timeout
        self.sliced = not stop.installed
        per_call = timeout
        if self.sliced:
            per_call = POLL_SLICE if timeout is None else min(timeout, POLL_SLICE)
        (flow.set_snd_timeout if send else flow.set_rcv_timeout)(per_call)

    def __call__(self, call: Callable[[], T]) -> T:
        if not self.sliced:
            with self.stop:
                return call()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            try:
                return call()
            except TimeoutError:
                if self.stop.stopped:
                    raise Stopped(self.stop.signo) from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise


# ------------------------------------------------------------ servers

def accept_flows(out: Output, stop: Stop, error_text: str,
                 go_on_after_errors: bool = False) -> Iterator[Flow]:
    """The flows allocated to this process's names, as a server's accept
    loop takes them, until the run is stopped. A failed accept prints
    ``error_text`` (with ``{errno}`` filled in) and ends the loop, or with
    ``go_on_after_errors`` (as oping does) only when no runtime is left."""
    try:
        while not stop.stopped:
            try:
                with stop:
                    f = flow_accept(stop.accept_timeout())
            except TimeoutError:
                continue
            except OuroborosError as e:
                out.event("accept_error", error_text.format(errno=-(e.errno or 0)),
                          errno=e.errno)
                if go_on_after_errors and not isinstance(e, RuntimeUnavailable):
                    continue
                return
            yield f
    except (Stopped, KeyboardInterrupt):
        return


# ------------------------------------------------------------ the command

Execute = Callable[[Dict[str, Any], Output, Stop], Tuple[Dict[str, Any], int]]


def run_command(tool: Tool, argv: Optional[Sequence[str]], execute: Execute) -> int:
    """Runs a tool's command line: parses ``argv`` (default: sys.argv),
    prints the help, calls ``execute(options, output, stop)`` with the
    signals installed and prints its document; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        # Messages are bytes: print them as the C tools do, whatever they are.
        reconfigure(errors="surrogateescape")
    out = Output(tool.name, output_mode(tool, args))
    stop = Stop()
    try:
        try:
            values = parse(tool, args)
        except _Help:
            out = Output(tool.name, "text")
            out.usage(tool.usage)
            return 0
        stop.install()
        try:
            doc, status = execute(values, out, stop)
        finally:
            stop.restore()
    except ToolExit as e:
        if e.text is not None:
            out.message(e.text)
        if e.note is not None:
            out.note(e.note)
        if e.usage:
            out.usage(tool.usage)
        doc = {"tool": tool.name, "role": None, "schema_version": SCHEMA_VERSION,
               "messages": list(out.messages), "exit_status": e.status,
               "error": e.note or e.text}
        status = e.status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILURE
    try:
        out.finish(doc)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILURE
    return status


def _silence_stdout() -> None:
    # The reader went away: later flushes (at exit) must not fail again.
    try:
        sys.stdout = open("/dev/null", "w")  # noqa: SIM115 - lives until exit
    except OSError:
        pass
