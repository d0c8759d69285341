"""o7s-ocbr across processes on the embedded runtime: what it prints
against the recordings of Ouroboros 0.23's ocbr, the server's reports
adding up to what the client sent, --json, stopping."""

from __future__ import annotations

import re
import signal

import pytest

from ouroboros import irm
from tools_testing import TOOL, assert_like, document, lines_like, recorded, run, validate_lines

pytestmark = pytest.mark.embedded_only

NAME = "ocbr_server"


def test_the_reports_add_up_to_what_the_client_sent(spawn) -> None:
    server = spawn(TOOL, "ocbr", "--listen")
    server.expect("Server started, interval is 1 s, timeout is 1 s.")
    irm.serve(NAME, pid=server.pid)
    done = run("ocbr", "-n", NAME, "-d", "1", "-r", "800k", "-s", "1000")
    assert done.returncode == 0 and done.stderr == ""
    assert_like(done.stdout, recorded("ocbr/client-r800k")[0])
    sent = int(re.search(r"sent statistics: +(\d+) packets", done.stdout).group(1))
    assert 50 <= sent <= 101
    server.expect("New flow.")
    server.expect("Test on flow ")
    server.expect("Flow ")                  # the report at the end of the flow
    theirs = recorded("ocbr/server")[0].splitlines()
    reports = lines_like("\n".join(server.seen), theirs[2])
    assert sum(int(r.split()[2]) for r in reports) == sent
    assert lines_like("\n".join(server.seen), theirs[5])   # "Test on flow N timed out"
    server.kill(signal.SIGTERM)
    assert server.finish() == (0, "", "")


def test_a_flood_and_the_json_documents(spawn) -> None:
    server = spawn(TOOL, "ocbr", "--listen", "-i", "2", "-t", "1", "--json-lines")
    server.expect('{"event": "started"')
    irm.serve(NAME, pid=server.pid)
    done = run("ocbr", "-n", NAME, "-d", "0", "-f", "-s", "500", "--json")
    assert done.returncode == 0 and done.stderr == ""
    sent = document(done.stdout)["sent"]
    assert sent["packets"] >= 1 and sent["bytes"] == 500 * sent["packets"]
    server.expect('{"event": "timeout"')
    server.kill(signal.SIGTERM)
    status, out, err = server.finish()
    assert status == 0 and err == ""
    events = validate_lines("ocbr", "\n".join(server.seen + out.splitlines()))
    [flow] = events[-1]["result"]["flows"]
    assert (flow["packets"], flow["bytes"], flow["timed_out"]) == \
        (sent["packets"], sent["bytes"], True)
    assert sum(r["packets"] for r in flow["reports"]) == sent["packets"]


def test_a_stop_signal_prints_the_sent_statistics(spawn) -> None:
    server = spawn(TOOL, "ocbr", "--listen")
    server.expect("Server started")
    irm.serve(NAME, pid=server.pid)
    client = spawn(TOOL, "ocbr", "-n", NAME, "-d", "10", "--spin")
    client.expect("Client started, duration 10, rate 1000000 b/s, size 1000 B.")
    server.expect("Flow ")                  # a report: data flows
    client.kill(signal.SIGINT)
    status, out, err = client.finish()
    assert status == 0 and err == ""
    assert_like(out, recorded("ocbr/client-sigint")[0].split("\n", 1)[1])
