"""The embedded runtime daemon: start-up, isolation, robustness."""

from __future__ import annotations

import os
import socket
import stat
import struct

import pytest

from o7s_testing import PROTOCOL_VERSION, daemons_of, process_alive
from ouroboros import irm
from ouroboros.dev import flow_accept, flow_alloc
from ouroboros.errors import RuntimeUnavailable

# These test the embedded runtime daemon itself.
pytestmark = pytest.mark.embedded_only

STARTER = """
import sys
from ouroboros import irm
# Start together: wait for the test's "go".
print("waiting", flush=True)
sys.stdin.readline()
print("ipcps", len(irm.list_ipcps()), flush=True)
"""


def test_library_starts_the_daemon_on_first_use(runtime) -> None:
    assert daemons_of(runtime.dir) == []
    assert [i.layer for i in irm.list_ipcps()] == ["local"]
    assert len(daemons_of(runtime.dir)) == 1
    mode = os.stat(runtime.dir).st_mode
    assert stat.S_IMODE(mode) == 0o700


def test_concurrent_starts_end_with_one_daemon(spawn, runtime) -> None:
    procs = [spawn(STARTER) for _ in range(6)]
    for p in procs:
        p.expect("waiting")  # every interpreter is up
    for p in procs:
        p.send("go")
    for p in procs:
        status, out, err = p.finish(timeout=30)
        assert status == 0, err
        assert out.strip() == "ipcps 1"
    assert len(daemons_of(runtime.dir)) == 1


def test_runtime_directory_must_be_private(runtime, monkeypatch) -> None:
    loose = runtime.dir + "/loose"
    os.mkdir(loose, 0o755)
    os.chmod(loose, 0o755)
    monkeypatch.setenv("OUROBOROS_RUNTIME_DIR", loose)
    with pytest.raises(RuntimeUnavailable, match="accessible to other users"):
        irm.list_ipcps()


def test_no_autostart_gives_a_clear_error(runtime, monkeypatch) -> None:
    monkeypatch.setenv("OUROBOROS_NO_AUTOSTART", "1")
    with pytest.raises(RuntimeUnavailable, match="no runtime daemon is running"):
        irm.list_ipcps()
    assert daemons_of(runtime.dir) == []


def test_flows_survive_the_daemon_and_it_restarts(spawn, runtime) -> None:
    server = spawn("""
        from ouroboros import irm
        from ouroboros.dev import flow_accept
        irm.serve("durable")
        print("ready", flush=True)
        with flow_accept(timeo=20) as f:
            f.set_rcv_timeout(20)
            for _ in range(3):
                f.write(f.read())
        print("done", flush=True)
    """)
    server.expect("ready")
    with flow_alloc("durable", timeo=10) as f:
        f.set_rcv_timeout(10)
        f.write(b"one")
        assert f.read() == b"one"
        old = runtime.daemon_pid()
        runtime.stop_daemon()
        assert old is not None and not process_alive(old)
        f.write(b"two")               # the flow does not need the daemon
        assert f.read() == b"two"
        f.write(b"three")
        assert f.read() == b"three"
    server.expect("done")
    # The next request starts a new daemon (with a fresh registry).
    assert [i.layer for i in irm.list_ipcps()] == ["local"]
    assert runtime.daemon_pid() not in (None, old)


def _raw_connection(runtime) -> socket.socket:
    irm.list_ipcps()  # make sure the daemon runs
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(os.path.join(runtime.dir, "irmd.sock"))
    return s


def _header(msg_type: int, body: bytes, version: int = PROTOCOL_VERSION,
            magic: int = 0x4F37) -> bytes:
    return struct.pack("<HHHHI", magic, version, msg_type, 0, len(body)) + body


@pytest.mark.parametrize("record", [
    b"",                                    # empty record
    b"\x01\x02\x03",                        # shorter than a header
    _header(32, b"")[:-2] + b"\xff\xff",    # length field lies
    _header(32, b"", magic=0xBEEF),         # wrong magic
    _header(32, b"", version=99),           # unknown protocol version
    _header(10, b"\x05\x00ab"),             # string length runs past the end
    _header(10, b"\xff\xff" + b"x" * 100),  # string longer than the limit
    _header(30, b"\x03\x00abc"),            # body ends early
    _header(32, b"trailing"),               # bytes after the body
    _header(999, b""),                      # unknown request type
    _header(1, b""),                        # a reply type sent as a request
    os.urandom(512),                        # noise
])
def test_malformed_records_get_an_error_or_a_close(runtime, record: bytes) -> None:
    with _raw_connection(runtime) as s:
        s.send(record)
        try:
            reply = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            reply = b""
        if reply:
            magic, version, msg_type, _, length = struct.unpack_from("<HHHHI", reply)
            assert (magic, version, msg_type) == (0x4F37, PROTOCOL_VERSION, 2)  # an error
            (errnum,) = struct.unpack_from("<i", reply, 12)
            assert errnum > 0
    # The daemon survived and still serves.
    assert [i.layer for i in irm.list_ipcps()] == ["local"]
    assert len(daemons_of(runtime.dir)) == 1


def test_client_that_vanishes_mid_accept_is_dropped(runtime) -> None:
    # A raw accept request whose connection closes: the daemon must forget it,
    # so a later allocation does not go to a dead requester.
    with _raw_connection(runtime) as s:
        s.send(_header(11, struct.pack("<q", -1)))  # flow_accept without a timeout
    irm.serve("later")
    with pytest.raises(TimeoutError):
        flow_alloc("later", timeo=0.3)


def test_names_reach_only_bound_processes(spawn) -> None:
    irm.serve("mine")
    with pytest.raises(TimeoutError):
        flow_accept(timeo=0.2)  # nobody allocates: no flow appears


def test_a_daemon_of_another_version_is_named_not_trusted(runtime) -> None:
    # An older pyOuroboros's daemon still holds the runtime directory (an
    # upgrade while it ran): the library says so instead of failing vaguely.
    path = os.path.join(runtime.dir, "irmd.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as listener:
        listener.bind(path)
        listener.listen(1)
        with open(os.path.join(runtime.dir, "irmd.pid"), "w") as f:
            f.write("999999\n")

        def old_daemon() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.send(struct.pack("<HHHHI", 0x4F37, PROTOCOL_VERSION - 1, 1, 0, 0))

        import threading
        t = threading.Thread(target=old_daemon)
        t.start()
        try:
            with pytest.raises(RuntimeUnavailable, match="pid 999999.*another version"):
                irm.list_ipcps()
        finally:
            t.join(timeout=10)
            os.unlink(os.path.join(runtime.dir, "irmd.pid"))  # not a daemon to stop
