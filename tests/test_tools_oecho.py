"""o7s-oecho and o7s-obc across processes on the embedded runtime: exactly
what Ouroboros 0.23's oecho and obc print, --json, signals."""

from __future__ import annotations

import signal

import pytest

from ouroboros import irm
from ouroboros.irm import IpcpConfig, IpcpType
from tools_testing import TOOL, document, recorded, run

pytestmark = pytest.mark.embedded_only


def test_oecho_client_and_server_print_what_oecho_prints(spawn) -> None:
    server = spawn(TOOL, "oecho", "--listen")
    server.expect("Starting the server.")
    irm.serve("oecho", pid=server.pid)
    theirs, status = recorded("oecho/client")
    for _ in range(2):
        done = run("oecho")
        assert (done.returncode, done.stdout, done.stderr) == (status, theirs, "")
    done = run("oecho", "--json")
    doc = document(done.stdout)
    assert doc["reply"] == doc["sent"] == {"text": "Client says hi!", "bytes": 16}
    server.kill(signal.SIGTERM)
    status, out, err = server.finish()
    # oecho dies of SIGTERM: the shell sees 143, as for the recording.
    theirs, their_status = recorded("oecho/server")
    assert (status, "\n".join(server.seen) + "\n" + out, err) == \
        (their_status, theirs + "New flow.\nMessage from client is Client says hi!.\n", "")


def test_oecho_server_json_lists_the_messages(spawn) -> None:
    server = spawn(TOOL, "oecho", "--listen", "--json")
    irm.serve("oecho", pid=server.pid)
    assert run("oecho").returncode == 0
    server.kill(signal.SIGINT)
    status, out, _ = server.finish()
    assert status == 130
    assert document(out)["flows"] == [{"text": "Client says hi!", "bytes": 16, "replied": True}]


def test_obc_reader_and_writers_print_what_obc_prints(spawn) -> None:
    irm.bootstrap_ipcp(irm.create_ipcp("bc_ipcp", IpcpType.BROADCAST),
                       IpcpConfig(IpcpType.BROADCAST, "bc_layer"))
    reader = spawn(TOOL, "obc", "-l", "-n", "bc_layer")
    reader.expect("New flow.")
    for args, recording in ((["-n", "bc_layer"], "obc/writer"),
                            (["-n", "bc_layer", "-m", "hello there"], "obc/writer-message")):
        done = run("obc", *args)
        assert (done.returncode, done.stdout, done.stderr) == (recorded(recording)[1],
                                                               recorded(recording)[0], "")
    reader.expect("Message is hello there.")
    reader.kill(signal.SIGTERM)
    status, out, err = reader.finish()
    theirs, their_status = recorded("obc/reader")
    assert (status, "\n".join(reader.seen) + "\n" + out, err) == (their_status, theirs, "")


def test_obc_json(spawn) -> None:
    irm.bootstrap_ipcp(irm.create_ipcp("bc_ipcp", IpcpType.BROADCAST),
                       IpcpConfig(IpcpType.BROADCAST, "bc_layer"))
    reader = spawn(TOOL, "obc", "-l", "-n", "bc_layer", "--json-lines")
    reader.expect('{"event": "flow"')
    done = run("obc", "-n", "bc_layer", "-m", "é\u00e9", "--json")
    assert done.returncode == 0
    assert document(done.stdout)["sent"] == {"text": "éé", "bytes": 5}
    reader.expect('{"event": "received"')
    reader.kill(signal.SIGTERM)
    status, out, _ = reader.finish()
    assert status == 143
    result = document(out.splitlines()[-1][len('{"event": "end", "result": '):-1])
    assert result["received"] == [{"text": "éé", "bytes": 5}]
