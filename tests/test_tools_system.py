"""The tools against the C tools of Ouroboros on the system backend, over
a local layer of a running IRMd: every pair, both ways (Python client, C
server; C client, Python server), for oping, operf, ocbr, oecho and obc.
The C tools' stdout is line-buffered (stdbuf) so that it survives their
ending by a signal."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Iterator, List

import pytest

from o7s_system import bind_when_announced, forget_name, ouroboros_tool, unique_name
from ouroboros import irm
from ouroboros.errors import IrmError
from ouroboros.irm import IpcpConfig, IpcpType
from tools_testing import PROGRAM, assert_like, command, document, lines_like, recorded, run

pytestmark = pytest.mark.system


def c_tool(name: str) -> List[str]:
    """argv of a C tool, its stdout line-buffered."""
    path = ouroboros_tool(name)
    if path is None:
        pytest.skip(f"the Ouroboros tool {name} is not installed")
    stdbuf = shutil.which("stdbuf")
    return [stdbuf, "-oL", path] if stdbuf else [path]


def py_tool(name: str) -> List[str]:
    return [command(name)]


@pytest.fixture
def start(spawn):
    """start(argv, bind=NAME): runs argv (bound to NAME once it has
    announced itself to the IRMd); the spawn fixture ends it."""
    def run_it(argv: List[str], bind: str = ""):
        p = spawn(PROGRAM, *argv)
        if bind:
            bind_when_announced(p.pid, bind)
        return p
    return run_it


def stop(p) -> str:
    """Ends a started command with SIGTERM; returns all it printed."""
    p.stop(grace=10)
    _, out, _ = p.finish()
    return "".join(line + "\n" for line in p.seen) + out


def check_c_run(done: "subprocess.CompletedProcess[str]") -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def c_run(tool: str, *args: str, timeout: float = 60) -> str:
    return check_c_run(subprocess.run([*c_tool(tool), *args], capture_output=True, text=True,
                                      timeout=timeout, stdin=subprocess.DEVNULL))


# ------------------------------------------------------------------ oping

@pytest.mark.parametrize("server", ["c", "python"])
def test_oping_pairs(system_names, start, server: str) -> None:
    name = system_names("oping")
    tools = (c_tool, py_tool) if server == "c" else (py_tool, c_tool)
    srv = start([*tools[0]("oping"), "--listen"], bind=name)
    client = [*tools[1]("oping"), "-n", name]
    out = check_c_run(subprocess.run([*client, "-c", "5", "-i", "10"], capture_output=True,
                                     text=True, timeout=60, stdin=subprocess.DEVNULL))
    assert_like(out, recorded("oping/client-c5-i100")[0].replace("oping_server", name))
    assert "5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss" in out
    flood = [*client, "-c", "100", "-f", "-s", "1500", "-Q"]
    out = check_c_run(subprocess.run(flood, capture_output=True, text=True, timeout=60,
                                     stdin=subprocess.DEVNULL))
    if server == "c" and "Failed to read packet" in out:
        # 0.23's C server now and then stops answering a new flow after its
        # first reply (about 1 run in 4 here, under load; cause not found in
        # oping_server.c yet): one more flood, on a new flow, must pass.
        out = check_c_run(subprocess.run(flood, capture_output=True, text=True, timeout=60,
                                         stdin=subprocess.DEVNULL))
    assert "100 packets transmitted, 100 received, 0 out-of-order, 0% packet loss" in out
    served = stop(srv)
    theirs = recorded("oping/server")[0].splitlines()
    assert_like("\n".join(served.splitlines()[:7]), "\n".join(theirs[:7]))
    assert len(re.findall(r"^Received 1500 bytes on fd \d+\.$", served, re.M)) == 100


# ------------------------------------------------------------------ operf

SEQNO = re.compile(r"Seqno (-?\d+) from fd \d+: \d+\.\d{6}")


def test_operf_python_client_with_the_c_server(system_names, start) -> None:
    name = system_names("operf")
    srv = start([*c_tool("operf"), "--listen"], bind=name)
    done = run("operf", "-n", name, "-d", "300", "-r", "2M", "-s", "1000", "--json")
    sent = document(done.stdout)["statistics"]["transmitted"]
    assert done.returncode == 0 and sent > 20
    srv.expect("Flow ")    # the flow timed out: every SDU was read
    seqnos = [int(m.group(1)) for m in map(SEQNO.fullmatch, srv.seen) if m]
    assert seqnos == list(range(sent)), "the C server reads our host-order sequence numbers"
    stop(srv)
    # A new server (and name): 0.23's can lose the SDUs of a flow that
    # reuses the descriptor of one it dropped for silence.
    name = system_names("operf")
    srv = start([*c_tool("operf"), "--listen"], bind=name)
    srv.expect("Ouroboros perf server started.")
    done = run("operf", "-n", name, "-d", "300", "-r", "2M", "-s", "1000", "-t", "bi")
    assert done.returncode == 0
    m = re.search(r"(\d+) packets transmitted, (\d+) received, (\d+)% packet loss", done.stdout)
    served = stop(srv)
    assert m and int(m.group(1)) == int(m.group(2)) > 20, done.stdout + served
    assert "Doing a bidirectional test." in served


def test_operf_c_client_with_the_python_server(system_names, start) -> None:
    name = system_names("operf")
    srv = start([*py_tool("operf"), "--listen"], bind=name)
    srv.expect("Ouroboros perf server started.")
    # 0.23's client sends the test type, then (its bug) no SDU.
    out = c_run("operf", "-n", name, "-d", "100", "-t", "bi")
    assert_like(out, recorded("operf/client-bi-flood")[0].replace(
        "Flooding operf_server with 100 byte packets for 2 seconds.",
        f"Sending 1500 byte packets for 0 s to {name} at 1.000 Mb/s.").replace(
        "operf_server", name))
    srv.expect("Doing a bidirectional test.")
    c_run("operf", "-n", name, "-d", "100")
    srv.expect("Doing a unidirectional test.")
    srv.expect("Flow ")
    served = stop(srv)
    # As the C server (operf/server): each flow comes, says its test, and
    # goes after a second without data (in an order that varies).
    assert served.startswith("Ouroboros perf server started.\nNew flow ")
    assert len(lines_like(served, "Doing a unidirectional test.")) == 1
    assert len(lines_like(served, "Doing a bidirectional test.")) == 1
    assert len(lines_like(served, "New flow 64.")) == 2
    assert len(lines_like(served, "Flow 64 timed out.")) == 2


# ------------------------------------------------------------------ ocbr

@pytest.mark.parametrize("server", ["c", "python"])
def test_ocbr_pairs(system_names, start, server: str) -> None:
    name = system_names("ocbr")
    tools = (c_tool, py_tool) if server == "c" else (py_tool, c_tool)
    srv = start([*tools[0]("ocbr"), "--listen"], bind=name)
    srv.expect("Server started, interval is 1 s, timeout is 1 s.")
    out = check_c_run(subprocess.run([*tools[1]("ocbr"), "-n", name, "-d", "1", "-r", "400k",
                                      "-s", "500"], capture_output=True, text=True, timeout=60,
                                     stdin=subprocess.DEVNULL))
    assert_like(out, recorded("ocbr/client-r800k")[0].replace("rate 800000", "rate 400000")
                .replace("size 1000", "size 500"))
    sent = int(re.search(r"sent statistics: +(\d+) packets", out).group(1))
    srv.expect("Test on flow ")
    srv.expect("Flow ")
    reports = lines_like("\n".join(srv.seen), recorded("ocbr/server")[0].splitlines()[2])
    assert sum(int(r.split()[2]) for r in reports) == sent > 50
    stop(srv)


# ------------------------------------------------------------------ oecho

@pytest.fixture
def oecho_name(system_layer) -> Iterator[str]:
    """The fixed name the oecho client allocates to, for this test."""
    try:
        irm.create_name(irm.NameInfo("oecho"))
        irm.reg_name("oecho", system_layer.pid)
    except IrmError:
        pass
    yield "oecho"
    forget_name("oecho", system_layer.pid)


@pytest.mark.parametrize("server", ["c", "python"])
def test_oecho_pairs(oecho_name, start, server: str) -> None:
    tools = (c_tool, py_tool) if server == "c" else (py_tool, c_tool)
    srv = start([*tools[0]("oecho"), "--listen"], bind=oecho_name)
    srv.expect("Starting the server.")
    for _ in range(2):
        out = check_c_run(subprocess.run(tools[1]("oecho"), capture_output=True, text=True,
                                         timeout=60, stdin=subprocess.DEVNULL))
        assert out == recorded("oecho/client")[0]
    assert stop(srv) == recorded("oecho/server")[0]


# ------------------------------------------------------------------ obc

@pytest.fixture
def broadcast_layer(system_layer) -> Iterator[str]:
    layer = unique_name("bc")
    pid = irm.create_ipcp(layer, IpcpType.BROADCAST)
    try:
        irm.bootstrap_ipcp(pid, IpcpConfig(IpcpType.BROADCAST, layer))
        yield layer
    finally:
        irm.destroy_ipcp(pid)


def start_reader(start, argv: List[str]):
    """A reader that joined: 0.23 sometimes refuses (or never answers) the
    first joins of a new broadcast layer, so a reader that does not get in
    within 10 s is replaced, up to three times."""
    for attempt in range(3):
        rd = start(argv)
        try:
            rd.expect("New flow.", timeout=10)
            return rd
        except AssertionError:
            if attempt == 2:
                raise
            stop(rd)


# The C reader last: nothing but a signal ends it (0.23 does not wake its
# read when the layer goes), and a process killed inside the library can
# leave the IRMd's packet pool locked for those that come after it.
@pytest.mark.parametrize("reader", ["python", "c"])
def test_obc_pairs(broadcast_layer, start, reader: str) -> None:
    tools = (c_tool, py_tool) if reader == "c" else (py_tool, c_tool)
    rd = start_reader(start, [*tools[0]("obc"), "-l", "-n", broadcast_layer])
    for args in ([], ["-m", "hello there"]):
        out = check_c_run(subprocess.run([*tools[1]("obc"), "-n", broadcast_layer, *args],
                                         capture_output=True, text=True, timeout=60,
                                         stdin=subprocess.DEVNULL))
        assert out == ""
    rd.expect("Message is hello there.")
    assert stop(rd) == recorded("obc/reader")[0]
