"""The tools' command lines (in this process, through each tool's main()):
every option of the C tools of Ouroboros 0.23 in --help, and bad command
lines failing with the C tool's words and exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import import_module
from typing import List, Optional

import pytest

from tools_testing import command, document, recorded

pytestmark = pytest.mark.embedded_only

# The options of the C tools (their help texts), which ours must have.
C_OPTIONS = {
    "oping": ["-l, --listen", "--poll", "--busy", "-c, --count", "-d, --duration",
              "-f, --flood", "-F, --flood-busy", "-i, --interval", "-n, --server-name",
              "-q, --qos", "-s, --size", "-Q, --quiet", "-D, --timeofday", "--help"],
    "operf": ["-l, --listen", "-t, --test", "-n, --server-name", "-d, --duration",
              "-r, --rate", "-s, --size", "-f, --flood", "--sleep", "--help"],
    "ocbr": ["-l, --listen", "-i, --interval", "-t, --timeout", "-n, --server_apn",
             "-d, --duration", "-f, --flood", "-s, --size", "-r, --rate", "--sleep", "--spin",
             "--help"],
    "oecho": ["-l, --listen", "--help"],
    "obc": ["-n, --name", "-m, --message", "-l, --listen", "--help"],
}


def main(capsys, tool: str, *args: str):
    """Runs ``tool``'s main(args) here: (exit status, stdout, stderr)."""
    module = import_module(f"ouroboros.tools.{tool}")
    with pytest.raises(SystemExit) as done:
        module.main(list(args))
    out, err = capsys.readouterr()
    return done.value.code, out, err


@pytest.mark.parametrize("tool", sorted(C_OPTIONS))
def test_help_has_every_option_of_the_c_tool(capsys, tool: str) -> None:
    status, out, err = main(capsys, tool, "--help")
    usage = import_module(f"ouroboros.tools.{tool}").USAGE
    assert (status, out, err) == (0, usage, "")
    assert out.startswith(f"Usage: o7s-{tool} [OPTION]...")
    for option in C_OPTIONS[tool] + ["--json", "--json-lines"]:
        assert f"  {option} " in out, option
    assert f"Differences from {tool} 0.23" in out


# (tool, arguments, recording of the C tool failing so, or None and the
# status, what we add on stderr). stdout must be the recording's, with our
# help text where the C tool printed its own.
BAD = [
    ("oping", ["--bogus"], "oping/bad-option", "o7s-oping: unknown option '--bogus'\n"),
    ("oping", ["-n", "x", "-c"], "oping/missing-value", "o7s-oping: -c needs a value\n"),
    ("oping", [], "oping/no-server", ""),
    ("oping", ["-n", "x", "-i", "5x"], "oping/bad-time-unit", ""),
    ("oping", ["-n", "nosuchname", "-c", "1"], "oping/client-no-such-name", ""),
    ("oping", ["-n", "x", "-c", "abc"], 1,   # oping reads 0
     "o7s-oping: -c needs a whole number from 0 to 4294967295, not 'abc'\n"),
    ("operf", ["--bogus"], 0, "o7s-operf: unknown option '--bogus'\n"),
    ("operf", [], "operf/no-server", ""),
    ("operf", ["-n", "operf_server", "-d", "1s", "-t", "foo"], "operf/bad-test-type", ""),
    ("operf", ["-n", "operf_server", "-r", "5x"], "operf/bad-rate-unit", ""),
    ("operf", ["-n", "nosuch", "-d", "1"], "operf/client-no-such-name", ""),
    ("operf", ["-n", "x", "-s", "1e3"], 1,
     "o7s-operf: -s needs a whole number from -2147483648 to 2147483647, not '1e3'\n"),
    ("ocbr", ["--bogus"], 0, "o7s-ocbr: unknown option '--bogus'\n"),
    ("ocbr", [], "ocbr/no-server", ""),
    ("ocbr", ["-n", "ocbr_server", "-s", "600000"], "ocbr/size-too-big", ""),
    ("ocbr", ["-n", "ocbr_server", "-r", "0"], "ocbr/bad-rate", ""),
    ("ocbr", ["-n", "nosuch", "-d", "1"], "ocbr/client-no-such-name", ""),
    ("oecho", ["--bogus"], "oecho/bad-option", "o7s-oecho: unknown option '--bogus'\n"),
    ("oecho", [], "oecho/client-no-server", ""),
    ("obc", [], "obc/no-name", ""),
    ("obc", ["--bogus"], 0, "o7s-obc: unknown option '--bogus'\n"),
    ("obc", ["-n", "nosuchlayer"], "obc/no-such-layer", ""),
]


def expected_stdout(tool: str, recording: Optional[str]) -> str:
    if recording is None:
        return ""
    text, _ = recorded(recording)
    usage = import_module(f"ouroboros.tools.{tool}").USAGE
    return text.replace("<usage>\n", usage)


@pytest.mark.parametrize("tool, args, recording, stderr", BAD,
                         ids=[f"{b[0]} {' '.join(b[1])}" for b in BAD])
def test_bad_command_lines_fail_as_the_c_tool_does(capsys, tool: str, args: List[str],
                                                   recording, stderr: str) -> None:
    if isinstance(recording, int):
        status, recording = recording, None
        text = import_module(f"ouroboros.tools.{tool}").USAGE if "unknown" in stderr else ""
    else:
        status = recorded(recording)[1]
        text = expected_stdout(tool, recording)
    assert main(capsys, tool, *args) == (status, text, stderr)
    # With --json, stdout has the document instead (the help goes to stderr).
    status_json, out, _ = main(capsys, tool, "--json", *args)
    assert status_json == status
    doc = document(out)
    assert doc["exit_status"] == status and doc["tool"] == tool
    if status:
        assert doc["error"]


@pytest.mark.parametrize("tool", sorted(C_OPTIONS))
def test_console_scripts_and_modules_run(tool: str) -> None:
    # The console script (never the C tool's name) and python -m.
    assert os.access(command(tool), os.X_OK), f"pip install puts o7s-{tool} beside python"
    assert not os.path.exists(os.path.join(os.path.dirname(command(tool)), tool))
    for argv in ([command(tool)], [sys.executable, "-m", f"ouroboros.tools.{tool}"]):
        done = subprocess.run([*argv, "--bogus"], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == (1 if tool == "oping" else 0)
        assert done.stderr == f"o7s-{tool}: unknown option '--bogus'\n"
