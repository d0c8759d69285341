"""o7s-operf across processes on the embedded runtime: what it prints
against the recordings of Ouroboros 0.23's operf, the counts at both
ends, the fixed client (0.23's sends nothing), --json, stopping."""

from __future__ import annotations

import re
import signal
import threading

import pytest

from ouroboros import irm
from ouroboros.tools import operf
from ouroboros.tools.common import Output, Stop
from tools_testing import TOOL, assert_like, document, recorded, run, validate_lines

pytestmark = pytest.mark.embedded_only

NAME = "operf_server"
SEQNO = re.compile(r"Seqno (\d+) from fd (\d+): \d+\.\d{6}")


def start_server(spawn, *args: str):
    p = spawn(TOOL, "operf", "--listen", *args)
    if "--json" not in args:   # (a --json server prints at the end only)
        p.expect('{"event": "started"' if args else "Ouroboros perf server started.")
    irm.serve(NAME, pid=p.pid)
    return p


def test_a_unidirectional_test_sends_and_the_server_prints_each_sdu(spawn) -> None:
    server = start_server(spawn)
    done = run("operf", "-n", NAME, "-d", "300", "-r", "2M")   # 1500 B every 6 ms
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == ("Doing a unidirectional test.\n"
                           "Sending 1500 byte packets for 0 s to operf_server at 2.000 Mb/s.\n"
                           "\nTest finished.\n")
    assert_like(done.stdout, recorded("operf/client-uni-d2")[0])
    server.expect("New flow ")
    server.expect("Doing a unidirectional test.")
    timed_out = server.expect("Flow ")          # the idle flow goes after 1 s
    seqnos = [int(m.group(1)) for m in map(SEQNO.fullmatch, server.seen) if m]
    assert seqnos == list(range(len(seqnos))) and 30 <= len(seqnos) <= 51
    assert re.fullmatch(r"Flow \d+ timed out\.", timed_out)
    server.kill(signal.SIGTERM)
    status, out, err = server.finish()
    assert (status, out, err) == (0, "", "")
    theirs = recorded("operf/server")[0].splitlines()
    assert_like("\n".join(s for s in server.seen if not SEQNO.fullmatch(s)),
                "\n".join(theirs[:3] + [theirs[5]]))


def test_a_bidirectional_flood_counts_what_comes_back(spawn) -> None:
    server = start_server(spawn)
    done = run("operf", "-n", NAME, "-d", "300", "-t", "bi", "-s", "100", "-f")
    assert done.returncode == 0 and done.stderr == ""
    assert_like(done.stdout, recorded("operf/client-bi-flood")[0])
    m = re.search(r"(\d+) packets transmitted, (\d+) received, 0% packet loss", done.stdout)
    assert m and int(m.group(1)) == int(m.group(2)) > 1000
    server.expect("Doing a bidirectional test.")


def test_the_counts_match_at_both_ends(spawn) -> None:
    server = start_server(spawn, "--json")
    done = run("operf", "-n", NAME, "-d", "200", "-f", "-s", "64", "--json")
    assert done.returncode == 0 and done.stderr == ""
    sent = document(done.stdout)["statistics"]["transmitted"]
    assert sent > 1000
    server.kill(signal.SIGTERM)   # it counts what had arrived
    status, out, err = server.finish()
    assert status == 0 and err == ""
    [flow] = document(out)["flows"]
    assert (flow["received"], flow["bytes"], flow["last_seqno"]) == (sent, sent * 64, sent - 1)
    assert flow["first_ns"] < flow["last_ns"]


def test_json_lines_give_each_sdu(spawn) -> None:
    server = start_server(spawn, "--json-lines")
    done = run("operf", "-n", NAME, "-d", "100", "-r", "1M", "-s", "1000", "--json-lines")
    assert done.returncode == 0 and done.stderr == ""
    events = validate_lines("operf", done.stdout)
    assert [e["event"] for e in events] == ["test", "sending", "finished", "end"]
    sent = events[-1]["result"]["statistics"]["transmitted"]
    server.expect('{"event": "timeout"')
    server.kill(signal.SIGTERM)
    status, out, err = server.finish()
    assert status == 0 and err == ""
    events = validate_lines("operf", "\n".join(server.seen + out.splitlines()))
    assert [e["event"] for e in events if e["event"] != "packet"] == \
        ["started", "flow", "test", "timeout", "end"]
    assert [e["seqno"] for e in events if e["event"] == "packet"] == list(range(sent))
    [flow] = events[-1]["result"]["flows"]
    assert (flow["received"], flow["timed_out"]) == (sent, True)


def test_a_stop_signal_ends_the_test(spawn) -> None:
    server = start_server(spawn)
    client = spawn(TOOL, "operf", "-n", NAME, "-d", "60s", "-r", "1M")
    client.expect("Sending 1500 byte packets for 60 s to operf_server at 1.000 Mb/s.")
    server.expect("Seqno 2 from fd ")
    client.kill(signal.SIGINT)
    status, out, err = client.finish()
    assert (status, out, err) == (0, "\nTest finished.\n", "")


class Progress(Output):
    """Silent, but tells when the client has sent (through the status)."""

    def __init__(self) -> None:
        super().__init__("operf", "silent")
        self.sending = threading.Event()

    def status_due(self) -> bool:
        return True

    def status(self, text: str) -> None:
        if not text.split(", ")[1].startswith("0 "):
            self.sending.set()


def test_a_stopped_bidirectional_test_counts_what_came_back(spawn) -> None:
    start_server(spawn)
    stop, out, result = Stop(), Progress(), []
    t = threading.Thread(target=lambda: result.append(
        operf.run(NAME, "bi", duration_ms=60000, rate=10**7, out=out, stop=stop)))
    t.start()
    try:
        assert out.sending.wait(20)
    finally:
        stop.set()
        t.join(timeout=20)
    assert not t.is_alive()
    [stats] = result
    assert stats.transmitted >= stats.received > 0 and stats.time_ms > 0
    assert stats.footer()[1] == "--- operf_server perf statistics ---"
