"""The Ouroboros tutorial's local layer as the documentation site's tutorial
(docs/tutorial.md) has it (o7s-irm and o7s-oping for irm and oping), run
verbatim by bash on the embedded runtime."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tools_testing import BIN

pytestmark = pytest.mark.embedded_only

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"


def tutorial_block() -> str:
    """The tutorial's shell block that starts `o7s-oping --listen &`."""
    blocks = re.findall(r"```shell\n(.*?)```", TUTORIAL.read_text(), re.S)
    [block] = [b for b in blocks if "o7s-oping --listen &" in b]
    return block


def test_the_tutorial_runs_verbatim(runtime) -> None:
    block = tutorial_block()
    assert block.splitlines()[:3] == [
        "o7s-irm ipcp create type local name local_ipcp",
        "o7s-irm ipcp bootstrap type local name local_ipcp layer local_layer",
        "o7s-oping --listen &"]
    # The block as it stands, then the server is stopped (the tutorial
    # leaves it running in another terminal).
    script = "set -e\n" + block + "kill -TERM $!\nwait $!\n"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                          env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("Ouroboros ping server started.\n") or \
        "Pinging oping_server with 64 bytes of data (5 packets):\n" in out
    assert len(re.findall(r"^64 bytes from oping_server: seq=\d time=[0-9.]+ (?:µs|ms)$",
                          out, re.M)) == 5
    assert "5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss" in out
    assert re.search(r"^\| +\d+ \| +local_ipcp \| +local \| +local_layer \|$", out, re.M), out
    assert re.search(r"^\| +oping_server \| .*local_layer", out, re.M), out
    assert out.count("Received 64 bytes on fd ") == 5
