"""``o7s-oping``: round-trip times between a client and a server, the
``oping`` of Ouroboros 0.23 (same options, output and wire format).

>>> from ouroboros.tools import oping
>>> stats = oping.run("oping_server", count=5, interval_ms=100)   # doctest: +SKIP
>>> stats.received, stats.loss_percent, stats.rtt_avg_ms          # doctest: +SKIP

The wire format: each request is ``size`` bytes (64 to 1500), starting
with its type (0: request, 1: reply) and sequence number as 32-bit words
in network byte order, then the sender's CLOCK_MONOTONIC time as two
64-bit words (seconds, nanoseconds) in host byte order, then zeros. The
server sends each request back with the type set to reply.
"""

from __future__ import annotations

import math
import struct
import threading
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple

from ..dev import Flow, FlowProperties, flow_alloc
from ..event import FEventQueue, FEventType, FlowSet
from ..errors import FlowSizeException, OuroborosError
from ..qos import QoSSpec, qos_best_effort, qos_data, qos_raw, qos_video, qos_voice
from . import common
from .common import (EXIT_FAILURE, INT_MAX, UINT32_MAX, Opt, Output, Stop, Stopped, Tool,
                     ToolExit, Waiter)

BUF_SIZE = 1500               # the largest request; the server reads no more
MIN_SIZE = 64
ECHO_REQUEST, ECHO_REPLY = 0, 1
HEADER = struct.Struct("!II")   # type, sequence number: network byte order
STAMP = struct.Struct("=QQ")    # the sender's time: host byte order
MAX_INTERVAL_MS = 10000
SERVER_IDLE_MS = 10000        # a server drops a flow quiet for this long
QOS_CUBES = {"raw": qos_raw, "best": qos_best_effort, "video": qos_video,
             "voice": qos_voice, "data": qos_data}


def rtt_text(ms: float) -> str:
    """A round-trip time as oping prints it: µs below 0.1 ms."""
    return "%.3f µs" % (ms * 1000) if ms < 0.1 else "%.3f ms" % ms


def reply_text(length: int, server: str, seq: int, ms: float, late: bool = False,
               tod_ns: Optional[int] = None) -> str:
    """oping's line for a reply (``tod_ns``: with -D, the time of day)."""
    prefix = "" if tod_ns is None else "[%s] " % common.time_of_day(tod_ns)
    return "%s%d bytes from %s: seq=%d time=%s%s" % (
        prefix, length, server, seq, rtt_text(ms), " [out-of-order]" if late else "")


# ------------------------------------------------------------------ client

@dataclass
class PingStats:
    """What a client run measured. Times are in ms, as oping prints them:
    each round trip is whole microseconds (oping's resolution), and the
    run's ``time_ms`` too. ``rtt_ns`` has the round trips in nanoseconds,
    ``seqs`` their sequence numbers and ``sizes`` their sizes in bytes, in
    order of arrival."""
    server: str
    size: int
    count: int
    transmitted: int = 0
    received: int = 0
    out_of_order: int = 0
    time_ms: float = 0.0
    rtt_min_ms: float = math.inf
    rtt_avg_ms: float = 0.0
    rtt_max_ms: float = 0.0
    rtt_m2: float = 0.0   # Welford's sum of squared differences from the mean
    seqs: "array[int]" = field(default_factory=lambda: array("L"))
    sizes: "array[int]" = field(default_factory=lambda: array("L"))
    rtt_us: "array[int]" = field(default_factory=lambda: array("q"))
    rtt_ns: "array[int]" = field(default_factory=lambda: array("q"))
    late: List[int] = field(default_factory=list)  # indexes of out-of-order replies
    time_of_day: Optional[List[float]] = None      # with timeofday: seconds since 1970

    @property
    def loss_percent(self) -> int:
        """Lost replies in percent, rounded up, computed in single
        precision as oping does (so 1 of 3 lost is 34)."""
        if self.transmitted == 0:
            return 0
        ratio = common.f32(common.f32(self.received) / common.f32(self.transmitted))
        return math.ceil(common.f32(100 - common.f32(100 * ratio)))

    @property
    def rtt_mdev_ms(self) -> Optional[float]:
        """The standard deviation of the round trips (``None`` below two)."""
        if self.received < 2:
            return None
        return math.sqrt(self.rtt_m2 / (self.received - 1))

    def add(self, seq: int, size: int, rtt_ns: int, rtt_us: int, late: bool,
            tod: Optional[float]) -> float:
        """Counts a reply; returns its round trip in ms."""
        ms = rtt_us / 1000.0
        self.received += 1
        if ms < self.rtt_min_ms:
            self.rtt_min_ms = ms
        if ms > self.rtt_max_ms:
            self.rtt_max_ms = ms
        d = ms - self.rtt_avg_ms
        self.rtt_avg_ms += d / self.received
        self.rtt_m2 += d * (ms - self.rtt_avg_ms)
        if late:
            self.out_of_order += 1
            self.late.append(len(self.seqs))
        self.seqs.append(seq)
        self.sizes.append(size)
        self.rtt_us.append(rtt_us)
        self.rtt_ns.append(rtt_ns)
        if self.time_of_day is not None and tod is not None:
            self.time_of_day.append(tod)
        return ms

    def footer(self) -> List[str]:
        """oping's statistics lines."""
        lines = ["", f"--- {self.server} ping statistics ---",
                 "%d packets transmitted, %d received, %d out-of-order, %d%% packet loss, "
                 "time: %.3f ms" % (self.transmitted, self.received, self.out_of_order,
                                    self.loss_percent, self.time_ms)]
        if self.received > 0:
            a = self.rtt_avg_ms
            f = 1000 if a < 0.1 else 1
            unit = "µs" if a < 0.1 else "ms"
            mdev = self.rtt_mdev_ms
            lines.append("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%s %s" % (
                self.rtt_min_ms * f, a * f, self.rtt_max_ms * f,
                "NaN" if mdev is None else "%.3f" % (mdev * f), unit))
        return lines

    def to_json(self) -> Dict[str, Any]:
        rtt = None
        if self.received > 0:
            rtt = {"min_ms": self.rtt_min_ms, "avg_ms": self.rtt_avg_ms,
                   "max_ms": self.rtt_max_ms, "mdev_ms": self.rtt_mdev_ms}
        late = set(self.late)
        return {
            "statistics": {"transmitted": self.transmitted, "received": self.received,
                           "out_of_order": self.out_of_order,
                           "loss_percent": self.loss_percent, "time_ms": self.time_ms,
                           "rtt": rtt},
            "replies": {"seq": self.seqs.tolist(), "bytes": self.sizes.tolist(),
                        "rtt_us": self.rtt_us.tolist(), "rtt_ns": self.rtt_ns.tolist(),
                        "out_of_order": [i in late for i in range(len(self.seqs))],
                        "time_of_day": self.time_of_day},
        }


def request(seq: int, size: int) -> bytearray:
    """An echo request of ``size`` bytes stamped now."""
    msg = bytearray(size)
    HEADER.pack_into(msg, 0, ECHO_REQUEST, seq)
    STAMP.pack_into(msg, HEADER.size, *divmod(time.monotonic_ns(), common.BILLION))
    return msg


class _Client:
    """One client run: the flow, the statistics and the output."""

    def __init__(self, f: Flow, stats: PingStats, out: Output, stop: Stop, quiet: bool,
                 timeofday: bool) -> None:
        self.f = f
        self.stats = stats
        self.out = out
        self.stop = stop
        self.quiet = quiet
        self.timeofday = timeofday

    def reply(self, msg: bytes, now_ns: int, length: int, late: bool) -> None:
        """Counts and prints one reply (its type already checked)."""
        seq = HEADER.unpack_from(msg)[1]
        sec, nsec = STAMP.unpack_from(msg, HEADER.size)
        sent_ns = sec * common.BILLION + nsec
        rtt_us = common.us_between(sent_ns, now_ns)
        tod_ns = time.time_ns() if self.timeofday else None
        tod = None if tod_ns is None else tod_ns / common.BILLION
        ms = self.stats.add(seq, length, now_ns - sent_ns, rtt_us, late, tod)
        self.show_status()
        if self.quiet:
            return
        text = reply_text(length, self.stats.server, seq, ms, late, tod_ns)
        self.out.event("reply", text, seq=seq, bytes=length, rtt_ms=ms,
                       rtt_ns=now_ns - sent_ns, out_of_order=late, time_of_day=tod)

    def show_status(self) -> None:
        if self.out.status_due():
            s = self.stats
            self.out.status(f"{s.server}: {s.transmitted} sent, {s.received} received, "
                            f"{s.loss_percent}% loss")

    def send(self, seq: int) -> bool:
        try:
            self.f.write(request(seq, self.stats.size))
            return True
        except OuroborosError:
            self.out.message("Failed to send packet.")
            return False

    # oping's default: a writer thread sends every interval, this thread reads.
    def threaded(self, interval_ms: int) -> None:
        stats, stop = self.stats, self.stop
        done = threading.Event()
        writer = threading.Thread(target=self._writer, args=(interval_ms, done),
                                  name="oping-writer", daemon=True)
        read = Waiter(stop, self.f, interval_ms // 1000 + 2)
        expected = 0
        writer.start()
        try:
            while not stop.stopped and stats.received != stats.count:
                try:
                    msg = read(lambda: self.f.read(BUF_SIZE))
                except TimeoutError:
                    self.out.message("Server timed out.")
                    break
                except FlowSizeException:
                    continue
                except OuroborosError:
                    break  # the flow went down: no reply will come
                now = time.monotonic_ns()
                kind, seq = HEADER.unpack_from(msg) if len(msg) >= HEADER.size else (-1, 0)
                if kind != ECHO_REPLY or len(msg) < HEADER.size + STAMP.size:
                    self.out.event("invalid", f"Invalid message on fd {self.f.fd}.",
                                   fd=self.f.fd)
                    continue
                if seq >= stats.count:
                    self.out.event("invalid", "Invalid id.", fd=self.f.fd)
                    continue
                self.reply(msg, now, len(msg), seq < expected)
                expected = max(expected, seq + 1)
        except Stopped:
            pass
        finally:
            done.set()
            writer.join()

    def _writer(self, interval_ms: int, done: threading.Event) -> None:
        # The reader sets done when it ends (count reached, server timed
        # out, stop); the writer then sends no more.
        stats = self.stats
        while not done.is_set() and stats.transmitted < stats.count:
            if done.wait(interval_ms / 1000) or self.stop.stopped:
                break
            seq = stats.transmitted
            stats.transmitted += 1
            if not self.send(seq):
                done.set()

    # -f: one request, one reply, back to back.
    def flood(self, busy: bool) -> None:
        stats, f = self.stats, self.f
        if busy:
            f.set_flags(FlowProperties.ReadWrite | FlowProperties.NoPartialRead
                        | FlowProperties.NonBlocking)
        read = Waiter(self.stop, f, None)
        try:
            while not self.stop.stopped and stats.transmitted < stats.count:
                seq = stats.transmitted
                if not self.send(seq):
                    break
                stats.transmitted += 1
                try:
                    msg = self._busy_read() if busy else read(lambda: f.read(BUF_SIZE))
                except OuroborosError:
                    if not busy:
                        self.out.message("Failed to read packet.")
                    break
                if msg is None:
                    break
                now = time.monotonic_ns()
                if len(msg) < HEADER.size + STAMP.size or HEADER.unpack_from(msg)[0] != ECHO_REPLY:
                    continue
                self.reply(msg, now, stats.size, False)
        except Stopped:
            pass
        self.out.flush()

    def _busy_read(self) -> Optional[bytes]:
        read = self.f.read
        with self.stop:
            while not self.stop.stopped:
                try:
                    return read(BUF_SIZE)
                except BlockingIOError:
                    pass
        return None


def run(server: str, count: int = INT_MAX, interval_ms: int = 1000, size: int = MIN_SIZE,
        qos: Optional[QoSSpec] = None, flood: bool = False, flood_busy: bool = False,
        quiet: bool = False, timeofday: bool = False, duration_ms: int = 0,
        out: Optional[Output] = None, stop: Optional[Stop] = None) -> PingStats:
    """Pings ``server`` ``count`` times, every ``interval_ms`` ms (or back
    to back with ``flood``; ``flood_busy`` busy-polls for the replies), with
    requests of ``size`` bytes (64 to 1500); ``duration_ms`` > 0 sets the
    count from the interval, as oping's ``-d``. Returns the statistics.

    ``out`` prints as oping does (default: nothing); ``stop`` ends the run
    early when set (default: SIGINT etc. only if installed by the caller).
    Raises the allocation's :class:`~ouroboros.errors.OuroborosError`
    (after printing oping's line for it)."""
    out = out or Output("oping")
    stop = stop or Stop()
    if duration_ms > 0:
        count = duration_ms * 10 if interval_ms == 0 else duration_ms // interval_ms
    if interval_ms > MAX_INTERVAL_MS:
        out.message("Ping interval truncated to 10s.")
        interval_ms = MAX_INTERVAL_MS
    if size > BUF_SIZE:
        out.message(f"Packet size truncated to {BUF_SIZE} bytes.")
        size = BUF_SIZE
    if size < MIN_SIZE:
        out.message(f"Packet size set to {MIN_SIZE} bytes.")
        size = MIN_SIZE
    stats = PingStats(server, size, count)
    if timeofday:
        stats.time_of_day = []
    try:
        with stop:
            f = flow_alloc(server, qos or qos_raw)
    except Stopped:
        for line in stats.footer():
            out.line(line)
        return stats
    except OuroborosError as e:
        out.message(f"Failed to allocate flow: {-(e.errno or 0)}.")
        raise
    with f:
        f.set_flags(FlowProperties.ReadWrite | FlowProperties.NoPartialRead)
        client = _Client(f, stats, out, stop, quiet, timeofday)
        tic = time.monotonic_ns()
        if not quiet:
            busy = ", busy-poll" if flood_busy else ""
            out.event("start", f"Pinging {server} with {size} bytes of data ({count} "
                      f"packets{busy}):", server=server, size=size, count=count)
            out.line("")
        if flood or flood_busy:
            client.flood(flood_busy)
        else:
            client.threaded(interval_ms)
        stats.time_ms = common.us_between(tic, time.monotonic_ns()) / 1000.0
        for line in stats.footer():
            out.line(line)
    return stats


# ------------------------------------------------------------------ server

@dataclass
class ServedFlow:
    """One flow a server answered: requests received and their bytes,
    replies sent, invalid messages; ``timed_out`` once dropped for
    silence (10 s)."""
    fd: int
    received: int = 0
    bytes: int = 0
    replied: int = 0
    invalid: int = 0
    timed_out: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"fd": self.fd, "received": self.received, "bytes": self.bytes,
                "replied": self.replied, "invalid": self.invalid, "timed_out": self.timed_out}


@dataclass
class ServerStats:
    """What a server did, flow by flow in order of arrival."""
    flows: List[ServedFlow] = field(default_factory=list)

    def to_json(self) -> Dict[str, Any]:
        return {"flows": [f.to_json() for f in self.flows],
                "received": sum(f.received for f in self.flows),
                "replied": sum(f.replied for f in self.flows)}


class _Server:
    """oping's server: the calling thread accepts flows ("New flow N."), a
    thread waits on a flow set and answers each request, a cleaner thread
    drops the flows quiet for 10 s ("Flow N timed out."), checking once a
    second."""

    def __init__(self, out: Output, stop: Stop, quiet: bool, poll: bool) -> None:
        self.out = out
        self.stop = stop
        self.quiet = quiet
        self.poll = poll
        self.flows: List[ServedFlow] = []
        self.fs = FlowSet()
        self.lock = threading.Lock()   # the flows, their records and times
        self.active: Dict[Flow, ServedFlow] = {}
        self.last_ns: Dict[Flow, int] = {}

    def run(self) -> None:
        """Accepts and serves flows until the run is stopped."""
        workers = [threading.Thread(target=self._serve_loop, name="oping-serve", daemon=True),
                   threading.Thread(target=self._clean_loop, name="oping-clean", daemon=True)]
        for w in workers:
            w.start()
        try:
            for f in common.accept_flows(self.out, self.stop, "Failed to accept flow: {errno} ",
                                         go_on_after_errors=True):
                self.out.event("flow", f"New flow {f.fd}.", fd=f.fd)
                f.set_flags(FlowProperties.NonBlocking | FlowProperties.ReadWrite
                            | FlowProperties.NoPartialRead)
                with self.lock:
                    record = ServedFlow(f.fd)
                    self.flows.append(record)
                    self.active[f] = record
                    self.last_ns[f] = time.monotonic_ns()
                    self.fs.add(f)
        finally:
            self.stop.set()
            for w in workers:
                w.join()
            with self.lock:
                for f in list(self.active):
                    self._drop(f)
                self.fs.destroy()
            self.out.flush()

    def _serve_loop(self) -> None:
        fq = FEventQueue()
        timeo = 0.0 if self.poll else common.POLL_SLICE
        while not self.stop.stopped:
            try:
                self.fs.wait(fq, timeo)
            except TimeoutError:
                continue
            except OuroborosError:
                return   # the set was destroyed
            for f, kind in fq:
                if kind & FEventType.FlowPkt:
                    with self.lock:
                        record = self.active.get(f)
                        if record is not None:
                            self._answer(f, record)
            self.out.flush()
            if self.out.status_due():
                self.out.status(f"{len(self.active)} flows, "
                                f"{sum(r.replied for r in self.flows)} requests answered")

    def _answer(self, f: Flow, record: ServedFlow) -> None:
        """Answers the requests queued on ``f`` (with the lock held)."""
        out = self.out
        while True:
            try:
                msg = bytearray(f.read(BUF_SIZE))
            except FlowSizeException:
                continue   # larger than any request: dropped, as oping does
            except OuroborosError:
                return     # nothing more now (or the flow is down)
            record.received += 1
            record.bytes += len(msg)
            if not self.quiet:
                out.event("request", f"Received {len(msg)} bytes on fd {record.fd}.",
                          flush=False, fd=record.fd, bytes=len(msg))
            if len(msg) < HEADER.size or HEADER.unpack_from(msg)[0] != ECHO_REQUEST:
                record.invalid += 1
                out.event("invalid", f"Invalid message on fd {record.fd}.", fd=record.fd)
                continue
            self.last_ns[f] = time.monotonic_ns()
            struct.pack_into("!I", msg, 0, ECHO_REPLY)
            try:
                f.write(msg)
                record.replied += 1
            except OuroborosError:
                out.event("write_error", f"Error writing to flow (fd {record.fd}).",
                          fd=record.fd)

    def _clean_loop(self) -> None:
        while not self.stop.sleep(1.0):
            now = time.monotonic_ns()
            with self.lock:
                for f, record in list(self.active.items()):
                    if common.ms_between(self.last_ns[f], now) > SERVER_IDLE_MS:
                        self.out.event("timeout", f"Flow {f.fd} timed out.", fd=f.fd)
                        record.timed_out = True
                        self._drop(f)

    def _drop(self, f: Flow) -> None:
        self.fs.remove(f)
        del self.active[f]
        del self.last_ns[f]
        f.dealloc()


def serve(quiet: bool = False, poll: bool = False, busy: bool = False,
          out: Optional[Output] = None, stop: Optional[Stop] = None) -> ServerStats:
    """Answers oping requests on every flow allocated to this process's
    names until ``stop`` is set (or a signal ``stop`` was installed for
    arrives), then returns what it served. ``quiet`` prints no line per
    request, ``poll`` polls the flows without sleeping, ``busy`` serves a
    single flow by busy polling and returns when it ends."""
    out = out or Output("oping")
    stop = stop or Stop()
    if busy:
        return _serve_busy(out, stop)
    server = _Server(out, stop, quiet, poll)
    out.event("started", "Ouroboros ping server started.", busy=False)
    server.run()
    return ServerStats(server.flows)


def _serve_busy(out: Output, stop: Stop) -> ServerStats:
    stats = ServerStats()
    # 0.23 never prints this line with --busy (the thread that would is not
    # started); it does here.
    out.event("started", "Ouroboros ping server started. [busy-poll]", busy=True)
    f = next(common.accept_flows(out, stop, "Failed to accept flow."), None)   # one flow
    if f is None:
        return stats
    record = ServedFlow(f.fd)
    stats.flows.append(record)
    out.event("flow", f"New flow {f.fd} (busy-poll).", fd=f.fd)
    f.set_flags(FlowProperties.NonBlocking | FlowProperties.ReadWrite
                | FlowProperties.NoPartialRead)
    read, write = f.read, f.write
    try:
        with stop:
            while not stop.stopped:
                try:
                    msg = bytearray(read(BUF_SIZE))
                except BlockingIOError:
                    continue
                except OuroborosError:
                    break
                record.received += 1
                record.bytes += len(msg)
                if len(msg) < HEADER.size or HEADER.unpack_from(msg)[0] != ECHO_REQUEST:
                    record.invalid += 1
                    continue
                struct.pack_into("!I", msg, 0, ECHO_REPLY)
                try:
                    write(msg)
                    record.replied += 1
                except OuroborosError:
                    pass
    except (Stopped, KeyboardInterrupt):
        pass
    finally:
        f.dealloc()
    return stats


# ------------------------------------------------------------------ command

USAGE = """\
Usage: o7s-oping [OPTION]...

Measures the round-trip time between a client and a server (Ouroboros'
oping for pyOuroboros: same options, output and wire format).

  -l, --listen            Run as a server
      --poll              Server: poll the flows without sleeping
      --busy              Server: busy-poll a single flow, then exit

  -c, --count             Number of requests (default: no limit)
  -d, --duration          Run this long (ms; units ms, s, m, h, d): sets the count
  -f, --flood             Send the next request as soon as the reply is in
  -F, --flood-busy        Flood, busy-polling for the replies
  -i, --interval          Time between requests (ms, units as -d; default 1000)
  -n, --server-name       Name of the server
  -q, --qos               QoS cube: raw, best, video, voice, data
  -s, --size              Request size in bytes (64 to 1500, default 64)
  -Q, --quiet             Print only the statistics
  -D, --timeofday         Print the time of day before each reply
""" + common.json_help(24) + """
Differences from oping 0.23: --help exits with 0 (oping: 1); numbers must be
numbers (oping reads "abc" as 0); a stop signal ends the run at once (oping
sends one more request first); a client whose flow goes down stops (oping
spins); --busy prints the "server started" line (oping never does).
"""

TOOL = Tool("oping", USAGE, [
    Opt(("-l", "--listen"), "listen"), Opt(("--poll",), "poll"), Opt(("--busy",), "busy"),
    Opt(("-c", "--count"), "count", True), Opt(("-d", "--duration"), "duration", True),
    Opt(("-f", "--flood"), "flood"), Opt(("-F", "--flood-busy"), "flood_busy"),
    Opt(("-i", "--interval"), "interval", True), Opt(("-n", "--server-name"), "server", True),
    Opt(("-q", "--qos"), "qos", True), Opt(("-s", "--size"), "size", True),
    Opt(("-Q", "--quiet"), "quiet"), Opt(("-D", "--timeofday"), "timeofday"),
], bad_option_status=EXIT_FAILURE)


def execute(values: Dict[str, Any], out: Output, stop: Stop) -> Tuple[Dict[str, Any], int]:
    """The command: options as parsed by :func:`common.parse`."""
    quiet = bool(values.get("quiet"))
    options: Dict[str, Any]
    if values.get("listen"):
        options = {"quiet": quiet, "poll": bool(values.get("poll")),
                   "busy": bool(values.get("busy"))}
        served = serve(quiet, options["poll"], options["busy"], out, stop)
        return common.document("oping", "server", options, out, 0, **served.to_json()), 0
    interval = common.duration_ms(values["interval"], "-i") if "interval" in values else 1000
    duration = common.duration_ms(values["duration"], "-d") if "duration" in values else 0
    count = common.integer(values["count"], "-c", 0, UINT32_MAX) if "count" in values else INT_MAX
    size = (common.integer(values["size"], "-s", -INT_MAX - 1) if "size" in values
            else MIN_SIZE)
    cube = values.get("qos", "raw")
    if cube not in QOS_CUBES:
        out.message("Unknown QoS cube, defaulting to raw.")
        cube = "raw"
    server = values.get("server")
    if server is None:
        raise ToolExit(EXIT_FAILURE, text="No server specified.", usage=True)
    options = {"server_name": server, "count": count, "interval_ms": interval,
               "duration_ms": duration, "size": min(max(size, MIN_SIZE), BUF_SIZE), "qos": cube,
               "flood": bool(values.get("flood")), "flood_busy": bool(values.get("flood_busy")),
               "quiet": quiet, "timeofday": bool(values.get("timeofday"))}
    try:
        stats = run(server, count, interval, size, QOS_CUBES[cube], options["flood"],
                    options["flood_busy"], quiet, options["timeofday"], duration, out, stop)
    except OuroborosError as e:   # run() printed oping's words for it
        return common.document("oping", "client", options, out, EXIT_FAILURE, str(e),
                               **PingStats(server, options["size"], count).to_json()), EXIT_FAILURE
    options.update(count=stats.count, size=stats.size,
                   interval_ms=min(interval, MAX_INTERVAL_MS))  # as run() settled them
    return common.document("oping", "client", options, out, 0, **stats.to_json()), 0


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Entry point of the ``o7s-oping`` console script."""
    raise SystemExit(common.run_command(TOOL, argv, execute))


if __name__ == "__main__":
    main()
