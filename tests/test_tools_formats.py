"""The tools' number formats against the recorded output of Ouroboros
0.23's C tools: fed the figures a recording shows, our formatting gives
that recording's lines byte for byte (statistics footers, mdev, the µs/ms
switch, loss rounding, padded columns)."""

from __future__ import annotations

import math
import re
from typing import List, Tuple

import pytest

from ouroboros.tools import common, ocbr, operf
from ouroboros.tools.oping import PingStats, reply_text, rtt_text
from tools_testing import recorded

REPLY = re.compile(r"^(?:\[(\d+)\.(\d{6})\] )?(\d+) bytes from (\S+): seq=(\d+) "
                   r"time=([0-9.]+) (µs|ms)( \[out-of-order\])?$")
SENT = re.compile(r"^(\d+) packets transmitted, (\d+) received, (\d+) out-of-order, .* "
                  r"time: ([0-9.]+) ms$")

# (client-quiet has no reply lines to take the figures from.)
PING_RECORDINGS = ["client-c5-i100", "client-timeofday", "client-flood",
                   "client-size10", "client-size2000", "client-c1", "client-qos-unknown",
                   "client-duration", "client-sigint", "client-sigterm",
                   "client-interval20s-sigint"]


def replies(text: str) -> List[Tuple[str, re.Match]]:
    return [(line, m) for line in text.splitlines() if (m := REPLY.match(line))]


@pytest.mark.parametrize("name", PING_RECORDINGS)
def test_oping_lines_and_footer_from_the_recorded_figures(name: str) -> None:
    text, _ = recorded(f"oping/{name}")
    footer = text[text.index("\n--- ") + 1:].splitlines()
    sent = SENT.match(footer[1])
    assert sent, footer
    server = footer[0].split()[1]
    stats = PingStats(server, 64, 0)
    for line, m in replies(text):
        value, unit = float(m.group(6)), m.group(7)
        us = round(value if unit == "µs" else value * 1000)
        tod = int(m.group(1)) * 10**9 + int(m.group(2)) * 1000 if m.group(1) else None
        ms = stats.add(int(m.group(5)), int(m.group(3)), us * 1000, us, False, None)
        assert reply_text(int(m.group(3)), m.group(4), int(m.group(5)), ms,
                          bool(m.group(8)), tod) == line
    assert stats.received == int(sent.group(2))
    stats.transmitted = int(sent.group(1))
    stats.time_ms = float(sent.group(4))
    assert stats.footer() == [""] + footer


def test_rtt_switches_to_microseconds_below_a_tenth_of_a_millisecond() -> None:
    assert rtt_text(0.099) == "99.000 µs"
    assert rtt_text(0.1) == "0.100 ms"
    assert rtt_text(0.078) == "78.000 µs"
    assert rtt_text(1234.5) == "1234.500 ms"


def test_mdev_is_nan_below_two_replies_and_the_unit_follows_the_average() -> None:
    stats = PingStats("s", 64, 1)
    stats.transmitted = 1
    stats.add(0, 64, 0, 117, False, None)
    assert stats.footer()[-1] == "rtt min/avg/max/mdev = 0.117/0.117/0.117/NaN ms"
    stats = PingStats("s", 64, 2)
    stats.transmitted = 2
    stats.add(0, 64, 0, 50, False, None)
    stats.add(1, 64, 0, 140, False, None)   # average 95 µs: all in µs, even the max
    assert stats.footer()[-1] == "rtt min/avg/max/mdev = 50.000/95.000/140.000/63.640 µs"


# (sent, received, loss %) by oping 0.23's formula, compiled with a C
# compiler: ceil(100 - 100 * (rcvd / (float) sent)), in single precision;
# the last seven differ from the same formula in double precision.
LOSS = [(3, 2, 34), (3, 1, 67), (10, 9, 10), (7, 6, 15), (100, 99, 1), (1000, 999, 1),
        (49, 48, 3), (6, 5, 17), (9, 8, 12), (11, 10, 10), (13, 12, 8), (1, 0, 100),
        (2, 1, 50), (100000, 99999, 1), (33, 32, 4), (99, 98, 2), (17, 3, 83), (0, 0, 0),
        (50, 29, 42), (100, 53, 48), (100, 57, 43), (100, 58, 42), (100, 59, 42),
        (150, 87, 42), (200, 106, 48)]


@pytest.mark.parametrize("sent, received, loss", LOSS)
def test_loss_is_rounded_as_oping_rounds_it(sent: int, received: int, loss: int) -> None:
    stats = PingStats("s", 64, sent)
    stats.transmitted, stats.received = sent, received
    assert stats.loss_percent == loss


def test_operf_footer_from_the_recording() -> None:
    text, status = recorded("operf/client-bi-flood")
    assert status == 0
    footer = text[text.index("\n--- ") + 1:].splitlines()
    m = re.match(r"(\d+) packets transmitted, (\d+) received, \d+% packet loss, "
                 r"time: ([0-9.]+) ms", footer[1])
    assert m
    stats = operf.PerfStats("operf_server", "bi", 100, int(m.group(1)), int(m.group(2)))
    stats.time_us = round(float(m.group(3)) * 1000)
    stats.time_ms = stats.time_us / 1000
    assert stats.footer() == [""] + footer
    stats = operf.PerfStats("s", "bi", 1500, 10, 7)
    stats.time_us, stats.time_ms = 2000, 2.0
    assert stats.footer()[-1] == ("10 packets transmitted, 7 received, 30% packet loss, "
                                  "time: 2.000 ms, bandwidth: 42.000 Mb/s.")
    stats.time_us = 0   # C divides by zero
    assert stats.footer()[-1].endswith("bandwidth: inf Mb/s.")


@pytest.mark.parametrize("name", ["server", "server-i2-t3"])
def test_ocbr_report_lines_from_the_recording(name: str) -> None:
    text, _ = recorded(f"ocbr/{name}")
    lines = [ln for ln in text.splitlines() if ln.startswith("Flow ")]
    assert lines
    for line in lines:
        m = re.match(r"Flow +(\d+): +(\d+) packets \( *(\d+) bytes\) in +(\d+) ms => +([0-9.]+) "
                     r"pps, +([0-9.]+) Mbps$", line)
        assert m, line
        fd, packets, nbytes, ms = (int(g) for g in m.groups()[:4])
        report = ocbr.Report(packets, nbytes, ms, float(m.group(5)), float(m.group(6)))
        assert report.line(fd) == line


@pytest.mark.parametrize("name", ["client-r800k", "client-d3", "client-flood", "client-sigint",
                                  "client-spin"])
def test_ocbr_sent_statistics_from_the_recording(name: str) -> None:
    text, _ = recorded(f"ocbr/{name}")
    size = int(re.search(r"size (\d+) B\.", text).group(1))
    line = text.splitlines()[-1]
    m = re.match(r"sent statistics: +(\d+) packets, +(\d+) bytes in +(\d+) ms", line)
    assert m, line
    sent = ocbr.SentStats(int(m.group(1)), size, int(m.group(3)))
    assert sent.bytes == int(m.group(2))
    assert sent.line() == line


def test_c_numbers() -> None:
    assert common.c_div(-7, 2) == -3 and common.c_div(7, -2) == -3 and common.c_div(7, 2) == 3
    # As the C tools count: whole seconds apart, plus the nanoseconds apart
    # truncated toward zero (so 2 ns across a second boundary make 1 µs).
    assert common.us_between(1_999_999_999, 2_000_000_001) == 1
    assert common.us_between(2_000_000_500, 3_000_000_000) == 1_000_000
    assert common.us_between(2_000_000_000, 2_000_001_999) == 1
    assert common.ms_between(0, 2_500_000_000) == 2500
    assert common.c_float("%9.4f", common.c_fdiv(0.0, 0.0)) == "     -nan"
    assert common.c_float("%4.4f", common.c_fdiv(1.0, 0.0)) == " inf"
    assert math.isinf(common.c_fdiv(-1.0, 0.0)) and common.c_fdiv(-1.0, 0.0) < 0
    assert common.time_of_day(1796163082_637393_123) == "1796163082.637393"
    assert common.c_string(b"Client says hi!\0junk") == b"Client says hi!"
    assert common.strtol(" 12ms") == (12, "ms") and common.strtol("x") == (None, "x")
    assert common.strtol("-3") == (-3, "")
    assert [common.duration_ms(t, "-d") for t in ("5", "5ms", "2s", "1m", "1h", "1d")] == \
        [5, 5, 2000, 60000, 3600000, 86400000]
    with pytest.raises(common.ToolExit) as e:
        common.duration_ms("5x", "-d")
    assert (e.value.status, e.value.text) == (1, "Unknown time unit: x.")
    assert operf.rate_bps("100", "-r") == 100    # b/s, as the usage says (0.23: kb/s)
    assert [operf.rate_bps(t, "-r") for t in ("3k", "2M", "1G")] == [3000, 2 * 10**6, 10**9]
    assert ocbr.rate_bps("800k", "-r") == 800000 and ocbr.rate_bps("1Mb", "-r") == 10**6
