"""o7s-oping across processes on the embedded runtime: its lines against
the recordings of Ouroboros 0.23's oping, the statistics, loss and
reordering, signals, --json, bad options, the live status."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import threading

import pytest

from ouroboros import irm
from ouroboros.tools import oping
from ouroboros.tools.common import Output, Stop
from tools_testing import (TOOL, assert_like, command, document, lines_like, recorded, run,
                           validate_lines)

pytestmark = pytest.mark.embedded_only

NAME = "oping_server"   # the recordings' server name

# A server that answers as oping's does, except for the sequence numbers
# named by argv[1]: "drop:1" never answers 1, "swap:1" answers 1 after 2.
ODD_SERVER = """
import os, struct, sys
from ouroboros import irm
from ouroboros.dev import flow_accept
mode, seq = sys.argv[1].split(":")
irm.serve(sys.argv[2])
print("ready", flush=True)
with flow_accept() as f:
    held = None
    while True:
        try:
            msg = bytearray(f.read())
        except ConnectionError:
            break
        struct.pack_into("!I", msg, 0, 1)
        n = struct.unpack_from("!I", msg, 4)[0]
        if n == int(seq):
            if mode == "swap":
                held = msg
            continue
        f.write(msg)
        if held is not None:
            f.write(held)
            held = None
"""


@pytest.fixture
def server(spawn):
    """o7s-oping --listen, serving NAME."""
    p = spawn(TOOL, "oping", "--listen")
    p.expect("Ouroboros ping server started.")
    irm.serve(NAME, pid=p.pid)
    return p


def ping(*args: str, timeout: float = 60) -> "subprocess.CompletedProcess[str]":
    return run("oping", "-n", NAME, *args, timeout=timeout)


def footer(text: str) -> str:
    """The statistics lines of oping's output."""
    return text[text.index("\n--- ") + 1:]


def stop(p, sig: int = signal.SIGTERM):
    p.kill(sig)
    return p.finish()


def test_client_and_server_print_what_oping_prints(server) -> None:
    done = ping("-c", "5", "-i", "10")
    assert done.returncode == 0 and done.stderr == ""
    assert_like(done.stdout, recorded("oping/client-c5-i100")[0])
    assert "5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss, time: " \
        in done.stdout
    status, out, err = stop(server)
    assert status == 0 and err == ""
    theirs = recorded("oping/server")[0].splitlines()
    # "started", "New flow 64.", then a line per request of the 5-ping client.
    assert_like("\n".join(server.seen + out.splitlines()), "\n".join(theirs[:7]))
    fd = int(re.search(r"New flow (\d+)\.", out).group(1))
    assert out.count(f"Received 64 bytes on fd {fd}.") == 5


@pytest.mark.parametrize("args, recording", [
    (["-c", "3", "-i", "10", "-D"], "client-timeofday"),
    (["-c", "3", "-i", "10", "-Q"], "client-quiet"),
    (["-c", "20", "-f"], "client-flood"),
    (["-c", "2", "-i", "10", "-s", "10"], "client-size10"),
    (["-c", "2", "-i", "10", "-s", "2000"], "client-size2000"),
    (["-c", "1", "-i", "10"], "client-c1"),
    (["-c", "2", "-i", "10", "-q", "foo"], "client-qos-unknown"),
    (["-d", "30", "-i", "10"], "client-duration"),
])
def test_client_options_print_what_oping_prints(server, args, recording) -> None:
    done = ping(*args)
    theirs, status = recorded(f"oping/{recording}")
    assert done.returncode == status and done.stderr == ""
    assert_like(done.stdout, theirs)


def test_flood_busy_and_qos_cubes(server) -> None:
    done = ping("-c", "10", "-F")
    assert done.returncode == 0
    assert done.stdout.startswith(f"Pinging {NAME} with 64 bytes of data (10 packets, "
                                  "busy-poll):\n\n")
    assert len(lines_like(done.stdout, "64 bytes from oping_server: seq=0 time=9.000 µs")) == 10
    for cube in ("raw", "best", "video", "voice", "data"):
        done = ping("-c", "1", "-i", "0", "-q", cube, "-Q")
        assert "1 packets transmitted, 1 received" in done.stdout, cube


def test_statistics_count_every_request_and_reply(server) -> None:
    done = ping("-c", "50", "-i", "0", "-s", "100", "--json")
    assert done.returncode == 0 and done.stderr == ""
    doc = document(done.stdout)
    stats = doc["statistics"]
    assert (stats["transmitted"], stats["received"], stats["out_of_order"],
            stats["loss_percent"]) == (50, 50, 0, 0)
    replies = doc["replies"]
    assert replies["seq"] == list(range(50)) and replies["bytes"] == [100] * 50
    assert [ns // 1000 for ns in replies["rtt_ns"]] == replies["rtt_us"]
    assert stats["rtt"]["min_ms"] == min(replies["rtt_us"]) / 1000
    assert stats["rtt"]["max_ms"] == max(replies["rtt_us"]) / 1000
    assert stats["rtt"]["avg_ms"] == pytest.approx(sum(replies["rtt_us"]) / 50 / 1000)
    server.kill(signal.SIGTERM)
    server.expect("Received 100 bytes on fd")
    status, out, _ = server.finish()
    assert status == 0
    assert len(server.seen) + len(out.splitlines()) == 2 + 50


def test_loss_is_counted_and_rounded_up_as_oping_does(spawn) -> None:
    lossy = spawn(ODD_SERVER, "drop:1", "lossy")
    lossy.expect("ready")
    done = run("oping", "-n", "lossy", "-c", "3", "-i", "10")
    assert done.returncode == 0
    assert "Server timed out.\n" in done.stdout
    # 1 of 3 lost: 33.3 % rounded up, computed in single precision.
    assert "3 packets transmitted, 2 received, 0 out-of-order, 34% packet loss" in done.stdout
    assert len(lines_like(done.stdout, "64 bytes from lossy: seq=0 time=0.133 ms")) == 2


def test_late_replies_are_out_of_order(spawn) -> None:
    swapping = spawn(ODD_SERVER, "swap:1", "swapping")
    swapping.expect("ready")
    done = run("oping", "-n", "swapping", "-c", "4", "-i", "10")
    assert done.returncode == 0
    seqs = re.findall(r"seq=(\d+) time=[0-9.]+ (?:µs|ms)(.*)", done.stdout)
    assert seqs == [("0", ""), ("2", ""), ("1", " [out-of-order]"), ("3", "")]
    assert "4 packets transmitted, 4 received, 1 out-of-order, 0% packet loss" in done.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_prints_the_statistics(server, spawn, sig) -> None:
    client = spawn(TOOL, "oping", "-n", NAME, "-i", "20")
    client.expect("64 bytes from oping_server: seq=1 ")
    client.kill(sig)
    status, out, err = client.finish()
    assert status == 0 and err == ""
    assert_like(footer(out), footer(recorded("oping/client-sigint")[0]))
    sent, got = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    assert got >= 2 and sent - got <= 1   # at most the request in flight


def test_json_lines_give_every_reply_then_the_document(server) -> None:
    done = ping("-c", "3", "-i", "0", "-D", "--json-lines")
    assert done.returncode == 0 and done.stderr == ""
    events = validate_lines("oping", done.stdout)
    assert [e["event"] for e in events] == ["start", "reply", "reply", "reply", "end"]
    assert [e["seq"] for e in events[1:4]] == [0, 1, 2]
    assert all(isinstance(e["time_of_day"], float) for e in events[1:4])
    assert events[-1]["result"]["statistics"]["received"] == 3
    server.kill(signal.SIGTERM)
    status, _, _ = server.finish()
    assert status == 0


def test_the_server_document_lists_its_flows(spawn) -> None:
    p = spawn(TOOL, "oping", "--listen", "--json-lines")
    p.expect('{"event": "started"')
    irm.serve(NAME, pid=p.pid)
    for count in ("2", "3"):
        assert ping("-c", count, "-i", "0", "-Q").returncode == 0
    p.kill(signal.SIGTERM)
    status, out, err = p.finish()
    assert status == 0 and err == ""
    events = validate_lines("oping", "\n".join(p.seen + out.splitlines()))
    assert [e["event"] for e in events].count("request") == 5
    flows = events[-1]["result"]["flows"]
    assert [(f["received"], f["replied"], f["invalid"]) for f in flows] == [(2, 2, 0), (3, 3, 0)]


def test_quiet_and_busy_servers(spawn) -> None:
    quiet = spawn(TOOL, "oping", "--listen", "-Q")
    quiet.expect("Ouroboros ping server started.")
    irm.serve(NAME, pid=quiet.pid)
    assert ping("-c", "3", "-i", "0").returncode == 0
    status, out, _ = stop(quiet)
    assert status == 0 and re.fullmatch(r"New flow \d+\.\n", out)
    busy = spawn(TOOL, "oping", "--listen", "--busy")
    busy.expect("Ouroboros ping server started. [busy-poll]")
    irm.serve("busy_server", pid=busy.pid)
    done = run("oping", "-n", "busy_server", "-c", "5", "-F", "-Q")
    assert "5 packets transmitted, 5 received" in done.stdout
    status, out, _ = busy.finish()   # a busy server ends with its one flow
    assert status == 0 and re.fullmatch(r"New flow \d+ \(busy-poll\)\.\n", out)


def test_a_terminal_gets_a_live_status_line(server) -> None:
    main, tty = pty.openpty()
    try:
        p = subprocess.Popen([command("oping"), "-n", NAME, "-c", "3", "-i", "300", "-Q"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=tty,
                             text=True)
        os.close(tty)
        seen = bytearray()
        reader = threading.Thread(target=_read_all, args=(main, seen), daemon=True)
        reader.start()
        out, _ = p.communicate(timeout=60)
        reader.join(timeout=10)
    finally:
        os.close(main)
    assert p.returncode == 0 and "3 packets transmitted, 3 received" in out
    text = seen.decode()
    assert re.search(r"\roping_server: \d+ sent, \d+ received, \d+% loss\x1b\[K", text), text
    assert text.endswith("\r\x1b[K"), "the status is cleared at the end"


def _read_all(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        into += chunk


def test_the_library_functions_return_the_figures(capsys) -> None:
    stop = Stop()
    served = {}

    def serve() -> None:
        served["stats"] = oping.serve(quiet=True, stop=stop)

    irm.serve("in_process")
    t = threading.Thread(target=serve)
    t.start()
    try:
        stats = oping.run("in_process", count=4, interval_ms=0, size=200)
    finally:
        stop.set()
        t.join(timeout=10)
    assert not t.is_alive()
    assert (stats.transmitted, stats.received, stats.loss_percent) == (4, 4, 0)
    assert list(stats.seqs) == [0, 1, 2, 3] and set(stats.sizes) == {200}
    assert [(f.received, f.replied) for f in served["stats"].flows] == [(4, 4)]
    assert capsys.readouterr() == ("", ""), "the library prints nothing by default"
    out = Output("oping", "silent")
    with pytest.raises(OSError):
        oping.run("no_such_name", count=1, out=out)
    assert out.messages == ["Failed to allocate flow: -1007."]
    assert json.dumps(stats.to_json())
