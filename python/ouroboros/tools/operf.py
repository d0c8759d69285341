"""``o7s-operf``: throughput between a client and a server, the ``operf``
of Ouroboros 0.23 (same options, output and wire format), with its
client's bugs fixed: it sends (0.23's sends nothing: its send loop's
condition has been inverted since 2025-07-17), and a rate without a unit is
in b/s, as the usage says (0.23 reads it as kb/s).

>>> from ouroboros.tools import operf
>>> stats = operf.run("operf_server", test="bi", duration_ms=2000, flood=True)  # doctest: +SKIP
>>> stats.transmitted, stats.received, stats.bandwidth_mbps                    # doctest: +SKIP

The wire format: the client first sends the test type as one 32-bit word
in host byte order (0: unidirectional, 1: bidirectional), waits a second,
then sends SDUs of ``size`` bytes that start with their sequence number (a
32-bit word in host byte order); the server counts them, and in a
bidirectional test sends each back.

The client floods with :meth:`~ouroboros.dev.Flow.write_many` and the server
reads with :meth:`~ouroboros.dev.Flow.read_many`, 64 SDUs a call.
"""

from __future__ import annotations

import struct
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple

from ..dev import Flow, FlowProperties, flow_alloc
from ..errors import OuroborosError
from . import common
from .common import (BILLION, EXIT_FAILURE, MILLION, UINT32_MAX, Opt, Output, Stop, Stopped,
                     Tool, ToolExit, Waiter)

MAX_SIZE = 1024 * 1024
MIN_SIZE = 64
TESTS = {"uni": 0, "bi": 1}
CONF = struct.Struct("=I")     # the test type, host byte order
SEQNO = struct.Struct("=I")    # an SDU's sequence number, host byte order
BATCH = 64                     # SDUs per write_many/read_many call
SERVER_IDLE_MS = 1000          # a server drops a flow quiet for this long
# The client's pause after the test type, in s: operf's is 1 s, which races
# its server's dropping of flows quiet for 1 s (checked once a second).
CONFIG_WAIT = 0.5
READER_QUIET = 2.0             # a bidirectional client ends after this quiet, in s
RATE_UNITS = {"": 1, "k": 1000, "M": MILLION, "G": BILLION}


# ------------------------------------------------------------------ client

@dataclass
class PerfStats:
    """What a client run did: SDUs sent and (bidirectional test) received
    back, over ``time_ms`` ms (from the start of sending to its end)."""
    server: str
    test: str
    size: int
    transmitted: int = 0
    received: int = 0
    invalid: int = 0
    time_ms: float = 0.0
    time_us: int = 0

    @property
    def loss_percent(self) -> int:
        """Percent not received back, truncated as operf does."""
        if self.transmitted == 0:
            return 0
        return 100 - (100 * self.received) // self.transmitted

    @property
    def bandwidth_mbps(self) -> float:
        """What came back, in Mb/s (inf or NaN for a run of 0 µs)."""
        return common.c_fdiv(float(self.received * self.size * 8), float(self.time_us))

    def footer(self) -> List[str]:
        return ["", f"--- {self.server} perf statistics ---",
                "%d packets transmitted, %d received, %d%% packet loss, time: %.3f ms, "
                "bandwidth: %s Mb/s." % (self.transmitted, self.received, self.loss_percent,
                                         self.time_ms,
                                         common.c_float("%.3f", self.bandwidth_mbps))]

    def to_json(self) -> Dict[str, Any]:
        stats: Dict[str, Any] = {"transmitted": self.transmitted, "time_ms": self.time_ms,
                                 "send_mbps": common.json_number(common.c_fdiv(
                                     float(self.transmitted * self.size * 8),
                                     float(self.time_us)))}
        if self.test == "bi":
            stats.update(received=self.received, invalid=self.invalid,
                         loss_percent=self.loss_percent,
                         bandwidth_mbps=common.json_number(self.bandwidth_mbps))
        return {"statistics": stats}


class _Numbered:
    """``BATCH`` SDUs of ``size`` bytes, each starting with its sequence
    number (32 bits, host byte order), as views of one buffer.

    The SDUs overlap: SDU i starts 4 bytes after SDU i - 1, so that the
    numbers of a batch are one array and the rest of each SDU, padding
    for operf (0.23 sends zeros), holds the next SDUs' numbers. A batch of
    1500-byte SDUs then reads 1.75 KB rather than 96 KB (on one core that
    was a fifth of the flood's rate). A batch that starts at a multiple of
    64 (as floods do) is numbered without a Python int per SDU: its
    numbers differ only in their low 6 bits, so one strided store writes
    the low bytes (one of four patterns) and the three high bytes change
    once every four batches."""

    def __init__(self, size: int) -> None:
        self.buf = bytearray(size + SEQNO.size * (BATCH - 1))
        view = memoryview(self.buf)
        self.sdus = [view[i * SEQNO.size:i * SEQNO.size + size] for i in range(BATCH)]
        # Where the number's byte k (k = 0: the lowest) sits in the array.
        self.at = [0, 1, 2, 3] if sys.byteorder == "little" else [3, 2, 1, 0]
        self.low = [bytes((quarter << 6) | i for i in range(BATCH)) for quarter in range(4)]
        self.high: Optional[int] = None   # the high 24 bits written last

    def number(self, first: int, n: int) -> None:
        """Numbers the first ``n`` SDUs ``first``, ``first + 1``, ..."""
        buf, at, step = self.buf, self.at, SEQNO.size
        first &= UINT32_MAX
        if n != BATCH or first % BATCH:
            for i in range(n):
                SEQNO.pack_into(buf, i * step, (first + i) & UINT32_MAX)
            self.high = None
            return
        end = step * BATCH
        buf[at[0]:end:step] = self.low[(first >> 6) & 3]
        high = first >> 8
        if high != self.high:
            for k in (1, 2, 3):
                buf[at[k]:end:step] = bytes(((high >> (8 * (k - 1))) & 0xFF,)) * BATCH
            self.high = high


class _Client:
    def __init__(self, f: Flow, stats: PerfStats, out: Output, stop: Stop) -> None:
        self.f = f
        self.stats = stats
        self.out = out
        self.stop = stop
        self.failed = False

    def send(self, duration_ms: int, rate: int, flood: bool, sleep: bool) -> None:
        """Sends for ``duration_ms``: flat out, or one SDU per gap at ``rate``."""
        stats, out, f = self.stats, self.out, self.f
        if flood:
            out.event("sending", f"Flooding {stats.server} with {stats.size} byte packets for "
                      f"{duration_ms // 1000} seconds.", flood=True)
        else:
            out.event("sending", "Sending %d byte packets for %d s to %s at %.3f Mb/s." % (
                stats.size, duration_ms // 1000, stats.server, rate / MILLION), flood=False)
        out.line("")
        batch = _Numbered(stats.size)
        write = Waiter(self.stop, f, None, send=True)
        start = time.monotonic_ns()
        end_ns = start + duration_ms * MILLION
        gap_ns = int(stats.size * 8.0 * (BILLION / rate))
        try:
            self._send(flood, sleep, batch, write, start, end_ns, gap_ns, duration_ms)
        except Stopped:
            pass   # as operf: a stop ends the test, which then finishes as usual
        except OuroborosError:
            out.message("Failed to send packet.")
            self.failed = True
            return
        finally:
            stats.time_us = common.us_between(start, time.monotonic_ns())
            stats.time_ms = stats.time_us / 1000.0
        out.event("finished", "Test finished.")

    def _send(self, flood: bool, sleep: bool, batch: "_Numbered", write: Waiter, start: int,
              end_ns: int, gap_ns: int, duration_ms: int) -> None:
        stats, out, f = self.stats, self.out, self.f
        now = start
        while not self.stop.stopped and now < end_ns:
            if flood:
                batch.number(stats.transmitted, BATCH)
                done = 0
                while done < BATCH:
                    written = write(lambda: f.write_many(batch.sdus[done:]))
                    done += written
                    stats.transmitted += written
                now = time.monotonic_ns()
            else:
                now = time.monotonic_ns()
                deadline = now + gap_ns
                batch.number(stats.transmitted, 1)
                write(lambda: f.write(batch.sdus[0]))
                stats.transmitted += 1
                if sleep:
                    if self.stop.sleep(gap_ns / BILLION):
                        break
                else:
                    common.spin_until(self.stop, deadline)
            if out.status_due():
                self._show_status(start, now, duration_ms)

    def _show_status(self, start: int, now: int, duration_ms: int) -> None:
        s = self.stats
        secs = (now - start) / BILLION
        mbps = s.transmitted * s.size * 8 / max(secs, 1e-9) / MILLION
        self.out.status(f"{s.server}: {secs:.1f}/{duration_ms / 1000:g} s, "
                        f"{s.transmitted} sent, {mbps:.3f} Mb/s")

    def receive(self, quiet: threading.Event) -> None:
        """Counts what comes back, until ``READER_QUIET`` s pass without any."""
        stats, f = self.stats, self.f
        read = Waiter(self.stop, f, READER_QUIET)
        size = stats.size
        try:
            while not self.stop.stopped and not quiet.is_set():
                try:
                    sdus = read(lambda: f.read_many(BATCH))
                except OuroborosError:
                    # Quiet for 2 s, or down (the server drops a flow quiet for 1 s).
                    self.out.message("Server timed out.")
                    return
                good = sum(1 for sdu in sdus if len(sdu) == size)
                stats.received += good
                for _ in range(len(sdus) - good):
                    stats.invalid += 1
                    self.out.event("invalid", f"Invalid message on fd {f.fd}.", fd=f.fd)
        except Stopped:
            pass


def run(server: str, test: str = "uni", duration_ms: int = 60000, rate: int = MILLION,
        size: int = 1500, flood: bool = False, sleep: bool = False,
        out: Optional[Output] = None, stop: Optional[Stop] = None) -> PerfStats:
    """Measures throughput to ``server``: sends SDUs of ``size`` bytes (64
    to 1 MiB) for ``duration_ms`` ms at ``rate`` b/s (``flood``: as fast as
    possible; ``sleep``: sleep rather than spin between SDUs); in the
    ``"bi"`` test the server sends them back and the statistics count them.
    Raises the allocation's :class:`~ouroboros.errors.OuroborosError`.
    ``out`` prints as operf does (default: nothing); ``stop`` ends the run."""
    if test not in TESTS:
        raise ValueError(f"test must be 'uni' or 'bi', not {test!r}")
    if rate <= 0:
        raise ValueError(f"rate must be positive (b/s), not {rate}")
    out = out or Output("operf")
    stop = stop or Stop()
    if size > MAX_SIZE:
        out.message(f"Packet size truncated to {MAX_SIZE} bytes.")
        size = MAX_SIZE
    if size < MIN_SIZE:
        out.message(f"Packet size set to {MIN_SIZE} bytes.")
        size = MIN_SIZE
    stats = PerfStats(server, test, size)
    try:
        with stop:
            f = flow_alloc(server)
    except Stopped:
        return stats
    except OuroborosError:
        out.message("Failed to allocate flow.")
        raise
    with f:
        out.event("test", "Doing a bidirectional test." if test == "bi"
                  else "Doing a unidirectional test.", test=test)
        try:
            f.write(CONF.pack(TESTS[test]))
        except OuroborosError:
            out.message("Failed to send configuration.")
            raise
        client = _Client(f, stats, out, stop)
        try:
            if stop.sleep(CONFIG_WAIT):   # the server reads the type meanwhile
                return stats
        except Stopped:
            return stats
        quiet = threading.Event()
        reader = None
        if test == "bi":
            reader = threading.Thread(target=client.receive, args=(quiet,), name="operf-reader",
                                      daemon=True)
            reader.start()
        try:
            client.send(duration_ms, rate, flood, sleep)
        except Stopped:
            pass
        if reader is not None:
            try:
                while reader.is_alive():
                    with stop:
                        reader.join(common.POLL_SLICE)
            except Stopped:
                quiet.set()
                reader.join()
            for line in stats.footer():
                out.line(line)
    return stats


# ------------------------------------------------------------------ server

@dataclass
class PerfFlow:
    """One flow a server measured: SDUs and bytes received, sent back (in
    a bidirectional test), the sequence number of the last SDU read, and
    the CLOCK_MONOTONIC times (ns) of the first and last reads."""
    fd: int
    test: str
    received: int = 0
    bytes: int = 0
    echoed: int = 0
    last_seqno: Optional[int] = None
    first_ns: Optional[int] = None
    last_ns: Optional[int] = None
    timed_out: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"fd": self.fd, "test": self.test, "received": self.received,
                "bytes": self.bytes, "echoed": self.echoed, "last_seqno": self.last_seqno,
                "first_ns": self.first_ns, "last_ns": self.last_ns,
                "timed_out": self.timed_out}


def signed32(x: int) -> int:
    """A 32-bit word printed with %d."""
    return x - (1 << 32) if x >= 1 << 31 else x


def _test_type(f: Flow, out: Output, stop: Stop) -> Optional[str]:
    """Reads a new flow's test type ("uni", "bi"); None (the flow
    deallocated) when the client sent none."""
    try:
        conf = Waiter(stop, f, None)(f.read)
    except OuroborosError:
        out.message("Failed to read config message.")
        f.dealloc()
        return None
    if len(conf) != CONF.size:
        out.message("Invalid config message.")
        f.dealloc()
        return None
    test = "bi" if CONF.unpack(conf)[0] == TESTS["bi"] else "uni"
    out.event("test", "Doing a bidirectional test." if test == "bi"
              else "Doing a unidirectional test.", fd=f.fd, test=test)
    return test


def _measure(f: Flow, record: PerfFlow, out: Output, stop: Stop) -> None:
    """One flow, in a thread of its own: counts what arrives (reading
    batches, blocking), prints each SDU of a unidirectional test, sends
    back those of a bidirectional one, and drops the flow after 1 s without
    data ("Flow N timed out."). When the run stops, it counts what had
    arrived and returns."""
    read = Waiter(stop, f, SERVER_IDLE_MS / 1000)
    write = Waiter(stop, f, None, send=True)
    each = out.mode in ("text", "json-lines")   # lines that need each SDU
    fd, echo = record.fd, record.test == "bi"
    try:
        while not stop.stopped:
            try:
                sdus = read(lambda: f.read_many(BATCH))
            except TimeoutError:
                out.event("timeout", f"Flow {fd} timed out.", fd=fd)
                record.timed_out = True
                return
            except OuroborosError:
                # Down: the flow times out, as operf's does.
                if stop.sleep(SERVER_IDLE_MS / 1000):
                    break
                out.event("timeout", f"Flow {fd} timed out.", fd=fd)
                record.timed_out = True
                return
            _count(record, sdus, out, each)
            if echo:
                _echo(f, record, sdus, out, write)
    except Stopped:
        pass
    finally:
        try:
            if stop.stopped:   # count what had arrived when the stop came
                left = f.get_rx_queue_len()
                while left > 0:
                    sdus = f.read_many(min(BATCH, left))
                    left -= len(sdus)
                    _count(record, sdus, out, each)
        except OuroborosError:
            pass
        f.dealloc()
        out.flush()


def _count(record: PerfFlow, sdus: List[bytes], out: Output, each: bool) -> None:
    now = time.monotonic_ns()
    if record.first_ns is None:
        record.first_ns = now
    record.last_ns = now
    record.received += len(sdus)
    record.bytes += sum(map(len, sdus))
    last = sdus[-1]
    if len(last) >= SEQNO.size:
        record.last_seqno = SEQNO.unpack_from(last)[0]
    if each and record.test == "uni":
        fd, tod = record.fd, common.time_of_day(time.time_ns())
        for sdu in sdus:
            seq = SEQNO.unpack_from(sdu)[0] if len(sdu) >= SEQNO.size else 0
            out.event("packet", f"Seqno {signed32(seq)} from fd {fd}: {tod}",
                      flush=False, fd=fd, seqno=seq, bytes=len(sdu), time=float(tod))
        out.flush()


def _echo(f: Flow, record: PerfFlow, sdus: List[bytes], out: Output, write: Waiter) -> None:
    done = 0
    try:
        while done < len(sdus):
            done += write(lambda: f.write_many(sdus[done:]))
    except OuroborosError:
        out.event("write_error", f"Error writing to flow (fd {record.fd}).", fd=record.fd)
    finally:
        record.echoed += done


def serve(out: Optional[Output] = None, stop: Optional[Stop] = None) -> List[PerfFlow]:
    """Serves operf clients until ``stop`` is set (or a signal it was
    installed for arrives); returns each flow's figures, in order of arrival.

    Each flow gets a thread that reads it in batches (0.23's server waits
    on a flow set instead: on the embedded runtime a socket in a set makes
    every SDU that arrives wake the set, which costs a flood a fifth of its
    rate)."""
    out = out or Output("operf")
    stop = stop or Stop()
    records: List[PerfFlow] = []
    workers: List[threading.Thread] = []
    out.event("started", "Ouroboros perf server started.")
    try:
        for f in common.accept_flows(out, stop, "Failed to accept flow."):
            out.event("flow", f"New flow {f.fd}.", fd=f.fd)
            test = _test_type(f, out, stop)
            if test is None:
                continue
            record = PerfFlow(f.fd, test)
            records.append(record)
            workers.append(threading.Thread(target=_measure, args=(f, record, out, stop),
                                            name=f"operf-flow-{f.fd}", daemon=True))
            workers[-1].start()
    except Stopped:
        pass
    finally:
        stop.set()
        for w in workers:
            w.join()
        out.flush()
    return records


# ------------------------------------------------------------------ command

def rate_bps(text: str, option: str) -> int:
    """A rate with operf's units (k, M, G; none: b/s), in b/s."""
    value, rest = common.strtol(text)
    if value is None:
        raise ToolExit(EXIT_FAILURE, note=f"{option} needs a rate (b/s; units k, M, G), "
                       f"not {text!r}")
    if rest not in RATE_UNITS:
        raise ToolExit(EXIT_FAILURE, text=f"Unknown rate unit: {rest}.")
    bps = value * RATE_UNITS[rest]
    if bps <= 0:
        raise ToolExit(EXIT_FAILURE, note=f"{option} needs a rate above 0, not {text!r}")
    return bps


USAGE = """\
Usage: o7s-operf [OPTION]...
Measures the throughput between a client and a server (Ouroboros' operf
for pyOuroboros: same options, output and wire format).
  -l, --listen              Run as a server
  -t, --test                Test: uni (the server counts) or bi (and sends
                            back); default uni
  -n, --server-name         Name of the server
  -d, --duration            How long to send (ms; units ms, s, m, h, d;
                            default 60s)
  -r, --rate                Rate in b/s (units k, M, G; default 1M)
  -s, --size                SDU size in bytes (64 to 1048576, default 1500)
  -f, --flood               Send as fast as possible
      --sleep               Sleep between SDUs (default: spin)

""" + common.json_help(28) + """
Differences from operf 0.23: the client sends (0.23's sends nothing: its
send loop's condition is inverted); a rate without a unit is in b/s, as
this help says (0.23: kb/s); numbers must be numbers; an invalid test type
message from a client drops that flow only (0.23 stops accepting); the
client pauses 0.5 s after sending the test type (0.23: 1 s, which races
its server's dropping of flows quiet for 1 s).
"""

TOOL = Tool("operf", USAGE, [
    Opt(("-l", "--listen"), "listen"), Opt(("-t", "--test"), "test", True),
    Opt(("-n", "--server-name"), "server", True), Opt(("-d", "--duration"), "duration", True),
    Opt(("-r", "--rate"), "rate", True), Opt(("-s", "--size"), "size", True),
    Opt(("-f", "--flood"), "flood"), Opt(("--sleep",), "sleep"),
], bad_option_status=0)


def execute(values: Dict[str, Any], out: Output, stop: Stop) -> Tuple[Dict[str, Any], int]:
    """The command: options as parsed by :func:`common.parse`."""
    if values.get("listen"):
        flows = serve(out, stop)
        return common.document("operf", "server", {}, out, 0,
                               flows=[r.to_json() for r in flows]), 0
    size = common.integer(values["size"], "-s", -common.INT_MAX - 1) if "size" in values else 1500
    duration = common.duration_ms(values["duration"], "-d") if "duration" in values else 60000
    rate = rate_bps(values["rate"], "-r") if "rate" in values else MILLION
    server = values.get("server")
    if server is None:
        raise ToolExit(EXIT_FAILURE, text="No server specified.")
    test = values.get("test", "uni")
    if test not in TESTS:
        raise ToolExit(EXIT_FAILURE, text="Invalid test type.")
    flood, sleep = bool(values.get("flood")), bool(values.get("sleep"))
    options = {"server_name": server, "test": test, "duration_ms": duration, "rate_bps": rate,
               "size": min(max(size, MIN_SIZE), MAX_SIZE), "flood": flood, "sleep": sleep}
    try:
        stats = run(server, test, duration, rate, size, flood, sleep, out, stop)
    except OuroborosError as e:   # run() printed operf's words for it
        return common.document("operf", "client", options, out, EXIT_FAILURE, str(e),
                               **PerfStats(server, test, options["size"]).to_json()), EXIT_FAILURE
    return common.document("operf", "client", options, out, 0, **stats.to_json()), 0


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Entry point of the ``o7s-operf`` console script."""
    raise SystemExit(common.run_command(TOOL, argv, execute))


if __name__ == "__main__":
    main()
