"""``o7s-ocbr``: a constant bit rate from a client to a server, the ``ocbr``
of Ouroboros 0.23 (same options, output and wire format). The server
reports each flow's packets and bit rate every interval.

>>> from ouroboros.tools import ocbr
>>> sent = ocbr.run("ocbr_server", duration_s=2, rate=800_000)   # doctest: +SKIP
>>> sent.packets, sent.mbps                                     # doctest: +SKIP

The wire format: SDUs of ``size`` bytes; at a constant rate each starts
with its sequence number (a 64-bit word in host byte order); the server
only counts them.
"""

from __future__ import annotations

import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple

from ..dev import Flow, FlowProperties, flow_alloc
from ..errors import OuroborosError
from . import common
from .common import (BILLION, EXIT_FAILURE, EXIT_MINUS_ONE, MILLION, Opt, Output, Stop,
                     Stopped, Tool, ToolExit, Waiter)

BUF_SIZE = 524288              # the largest SDU, in bytes
SEQNO = struct.Struct("=q")    # host byte order, as the C client copies its long
MAX_FLOWS = 10                 # flows a server measures at once
READ_SLICE = 0.1               # the server's read timeout, in s
BATCH = 64
RATE_UNITS = {"k": 1000, "M": MILLION, "G": BILLION}


# ------------------------------------------------------------------ client

@dataclass
class SentStats:
    """What a client sent: SDUs, bytes, over ``ms`` ms."""
    packets: int = 0
    size: int = 0
    ms: int = 0

    @property
    def bytes(self) -> int:
        return self.packets * self.size

    @property
    def mbps(self) -> float:
        """The rate sent, in Mb/s (inf or NaN for a run of 0 ms)."""
        return common.c_fdiv(float(self.packets), self.ms * 1000.0) * self.size * 8.0

    def line(self) -> str:
        return "sent statistics: %9d packets, %12d bytes in %9d ms, %s Mb/s" % (
            self.packets, self.bytes, self.ms, common.c_float("%4.4f", self.mbps))

    def to_json(self) -> Dict[str, Any]:
        return {"sent": {"packets": self.packets, "bytes": self.bytes, "time_ms": self.ms,
                         "mbps": common.json_number(self.mbps)}}


def run(server: str, duration_s: int = 60, size: int = 1000, rate: int = MILLION,
        flood: bool = False, sleep: bool = True, out: Optional[Output] = None,
        stop: Optional[Stop] = None) -> SentStats:
    """Sends SDUs of ``size`` bytes to ``server`` for ``duration_s``
    seconds at ``rate`` b/s, sleeping (or with ``sleep=False`` spinning)
    between them, or as fast as possible with ``flood``. Raises the
    allocation's :class:`~ouroboros.errors.OuroborosError` (after printing
    ocbr's line for it). ``out`` prints as ocbr does; ``stop`` ends the run."""
    if not 0 <= size <= BUF_SIZE or rate <= 0:
        raise ValueError(f"size must be 0 to {BUF_SIZE} B and rate above 0 b/s")
    out = out or Output("ocbr")
    stop = stop or Stop()
    out.event("started", f"Client started, duration {duration_s}, rate {rate} b/s, "
              f"size {size} B.", duration_s=duration_s, rate=rate, size=size)
    stats = SentStats(size=size)
    try:
        with stop:
            f = flow_alloc(server)
    except Stopped:
        return stats
    except OuroborosError:
        out.message("Failed to allocate flow.")
        raise
    gap_ns = int(size * 8.0 * (BILLION / rate))
    buf = bytearray(max(size, SEQNO.size))
    sdu = memoryview(buf)[:size]
    write = Waiter(stop, f, None, send=True)
    start = time.monotonic_ns()
    try:
        with f:
            if flood:
                batch = [sdu] * BATCH
                while not stop.stopped:
                    now = time.monotonic_ns()
                    stats.packets += write(lambda: f.write_many(batch))
                    if common.us_between(start, now) // MILLION >= duration_s:
                        break
                    _status(out, stats, start, now, duration_s)
            else:
                while not stop.stopped:
                    deadline = time.monotonic_ns() + gap_ns
                    SEQNO.pack_into(buf, 0, stats.packets)
                    write(lambda: f.write(sdu))
                    if sleep:
                        if stop.sleep(gap_ns / BILLION):
                            break
                    else:
                        common.spin_until(stop, deadline)
                    stats.packets += 1
                    if common.us_between(start, deadline) // MILLION >= duration_s:
                        break
                    _status(out, stats, start, deadline, duration_s)
    except Stopped:
        pass
    except OuroborosError:
        pass   # ocbr stops quietly when a write fails
    stats.ms = common.ms_between(start, time.monotonic_ns())
    out.line(stats.line())
    return stats


def _status(out: Output, stats: SentStats, start: int, now: int, duration_s: int) -> None:
    if out.status_due():
        secs = (now - start) / BILLION
        out.status(f"{secs:.1f}/{duration_s} s, {stats.packets} packets, "
                   f"{stats.packets * stats.size * 8 / max(secs, 1e-9) / MILLION:.4f} Mb/s")


# ------------------------------------------------------------------ server

@dataclass
class Report:
    """One interval's figures of a flow."""
    packets: int
    bytes: int
    ms: int
    pps: float
    mbps: float

    def line(self, fd: int) -> str:
        """ocbr's report line for flow ``fd``."""
        return "Flow %4d: %9d packets (%12d bytes) in %9d ms => %s pps, %s Mbps" % (
            fd, self.packets, self.bytes, self.ms, common.c_float("%9.4f", self.pps),
            common.c_float("%9.4f", self.mbps))

    def to_json(self) -> Dict[str, Any]:
        return {"packets": self.packets, "bytes": self.bytes, "time_ms": self.ms,
                "pps": common.json_number(self.pps), "mbps": common.json_number(self.mbps)}


@dataclass
class CbrFlow:
    """One flow a server measured: its reports, and whether it ended by
    timing out (the client went quiet)."""
    fd: int
    packets: int = 0
    bytes: int = 0
    reports: List[Report] = field(default_factory=list)
    timed_out: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"fd": self.fd, "packets": self.packets, "bytes": self.bytes,
                "reports": [r.to_json() for r in self.reports], "timed_out": self.timed_out}


def _measure(f: Flow, record: CbrFlow, interval_s: int, timeout_s: int, out: Output,
             stop: Stop) -> None:
    """ocbr's per-flow loop: reports every ``interval_s``, ends after
    ``timeout_s`` without an SDU (or when stopped)."""
    f.set_flags(FlowProperties.ReadWrite | FlowProperties.NoPartialRead)
    f.set_rcv_timeout(READ_SLICE)
    clock = time.monotonic_ns
    iv_start = clock()
    alive = iv_start
    iv_end = iv_start + interval_s * BILLION
    counted = (0, 0)   # packets, bytes at the start of the interval
    ending = False
    while not ending:
        now = clock()
        try:
            sdus = f.read_many(BATCH)
        except TimeoutError:
            sdus = []
        except OuroborosError:
            sdus = []
            time.sleep(READ_SLICE)   # down: wait for the timeout as ocbr does
        if sdus:
            alive = clock()
            record.packets += len(sdus)
            record.bytes += sum(map(len, sdus))
        if common.us_between(alive, now) > timeout_s * MILLION:
            out.event("timeout", f"Test on flow {record.fd} timed out", fd=record.fd)
            record.timed_out = True
            ending = True
        if stop.stopped and not ending:
            return   # as ocbr: a stopped server reports no more
        if ending or common.ms_between(iv_end, now) > 0:
            us = common.us_between(iv_start, now)
            packets, nbytes = record.packets - counted[0], record.bytes - counted[1]
            report = Report(packets, nbytes, common.c_div(us, 1000),
                            common.c_fdiv(float(packets), float(us)) * MILLION,
                            8 * common.c_fdiv(float(nbytes), float(us)))
            record.reports.append(report)
            out.event("report", report.line(record.fd), fd=record.fd, **report.to_json())
            iv_start = iv_end
            counted = (record.packets, record.bytes)
            iv_end = iv_start + interval_s * BILLION


def serve(interval_s: int = 1, timeout_s: int = 1, out: Optional[Output] = None,
          stop: Optional[Stop] = None) -> List[CbrFlow]:
    """Measures every flow allocated to this process's names (up to 10 at
    once), reporting each every ``interval_s`` seconds and ending it after
    ``timeout_s`` seconds without data, until ``stop`` is set (or a signal
    it was installed for arrives); returns the flows' figures."""
    out = out or Output("ocbr")
    stop = stop or Stop()
    records: List[CbrFlow] = []
    room = threading.Condition()
    workers: List[threading.Thread] = []

    def measure(f: Flow, record: CbrFlow) -> None:
        try:
            _measure(f, record, interval_s, timeout_s, out, stop)
        finally:
            f.dealloc()
            with room:
                workers.remove(threading.current_thread())
                room.notify_all()

    out.event("started", f"Server started, interval is {interval_s} s, timeout is "
              f"{timeout_s} s.", interval_s=interval_s, timeout_s=timeout_s)
    try:
        for f in common.accept_flows(out, stop, "Failed to accept flow."):
            out.event("flow", "New flow.", fd=f.fd)
            record = CbrFlow(f.fd)
            records.append(record)
            worker = threading.Thread(target=measure, args=(f, record), daemon=True,
                                      name=f"ocbr-flow-{f.fd}")
            with room:
                workers.append(worker)
            worker.start()
            with room:   # room for the next flow, before accepting it
                if len(workers) >= MAX_FLOWS:
                    out.event("full", "Can't accept any more flows, waiting.")
                while len(workers) >= MAX_FLOWS and not stop.stopped:
                    with stop:
                        room.wait(common.POLL_SLICE)
    except (Stopped, KeyboardInterrupt):
        pass
    finally:
        stop.set()
        for w in list(workers):
            w.join()
        out.flush()
    return records


# ------------------------------------------------------------------ command

USAGE = """\
Usage: o7s-ocbr [OPTION]...
Sends SDUs from a client to a server at a constant bit rate (Ouroboros'
ocbr for pyOuroboros: same options, output and wire format).

  -l, --listen              Run as a server

Server options:
  -i, --interval            Report every this many seconds (default 1)
  -t, --timeout             End a flow quiet this many seconds (default 1)

Client options:
  -n, --server_apn          Name of the server
  -d, --duration            Seconds to send (default 60)
  -f, --flood               Send as fast as possible
  -s, --size                SDU size in bytes (at most %d, default 1000)
  -r, --rate                Rate in b/s (units k, M, G; default 1M)
      --sleep               Sleep between SDUs (the default)
      --spin                Spin between SDUs

""" % BUF_SIZE + common.json_help(28) + """
Differences from ocbr 0.23: numbers must be numbers (ocbr reads "abc" as 0
and ignores what follows a number); the flood sends SDUs in batches of 64
(write_many), with no sequence number, as ocbr's has none.
"""

TOOL = Tool("ocbr", USAGE, [
    Opt(("-l", "--listen"), "listen"), Opt(("-i", "--interval"), "interval", True),
    Opt(("-t", "--timeout"), "timeout", True), Opt(("-n", "--server_apn"), "server", True),
    Opt(("-d", "--duration"), "duration", True), Opt(("-s", "--size"), "size", True),
    Opt(("-r", "--rate"), "rate", True), Opt(("-f", "--flood"), "flood"),
    Opt(("--sleep",), "sleep"), Opt(("--spin",), "sleep", const=False),
], bad_option_status=0)


def rate_bps(text: str, option: str) -> int:
    """A rate with ocbr's units (k, M, G after the number; none: b/s)."""
    value, rest = common.strtol(text)
    if value is None or (rest and rest[0] not in RATE_UNITS):
        raise ToolExit(EXIT_FAILURE, note=f"{option} needs a rate (b/s; units k, M, G), "
                       f"not {text!r}")
    return value * RATE_UNITS[rest[0]] if rest else value


def execute(values: Dict[str, Any], out: Output, stop: Stop) -> Tuple[Dict[str, Any], int]:
    """The command: options as parsed by :func:`common.parse`."""
    big = 2**63 - 1
    if values.get("listen"):
        interval = common.integer(values["interval"], "-i", 0) if "interval" in values else 1
        timeout = common.integer(values["timeout"], "-t", 0) if "timeout" in values else 1
        flows = serve(interval, timeout, out, stop)
        options = {"interval_s": interval, "timeout_s": timeout}
        return common.document("ocbr", "server", options, out, 0,
                               flows=[r.to_json() for r in flows]), 0
    duration = common.integer(values["duration"], "-d", 0) if "duration" in values else 60
    size = common.integer(values["size"], "-s", -big, big) if "size" in values else 1000
    rate = rate_bps(values["rate"], "-r") if "rate" in values else MILLION
    server = values.get("server")
    if server is None:
        raise ToolExit(EXIT_FAILURE, text="No server specified.", usage=True)
    if size > BUF_SIZE:
        raise ToolExit(EXIT_FAILURE, text=f"Maximum size: {BUF_SIZE}.")
    if size < 0:
        raise ToolExit(EXIT_FAILURE, text="Size overflow.")
    if rate <= 0:
        raise ToolExit(EXIT_FAILURE, text="Invalid rate.")
    flood = bool(values.get("flood"))
    sleep = values.get("sleep", True)   # the last of --sleep and --spin
    options = {"server_name": server, "duration_s": duration, "size": size, "rate_bps": rate,
               "flood": flood, "sleep": sleep}
    try:
        stats = run(server, duration, size, rate, flood, sleep, out, stop)
    except OuroborosError as e:   # run() printed ocbr's words for it
        return common.document("ocbr", "client", options, out, EXIT_MINUS_ONE, str(e),
                               **SentStats(size=size).to_json()), EXIT_MINUS_ONE
    return common.document("ocbr", "client", options, out, 0, **stats.to_json()), 0


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Entry point of the ``o7s-ocbr`` console script."""
    raise SystemExit(common.run_command(TOOL, argv, execute))


if __name__ == "__main__":
    main()
