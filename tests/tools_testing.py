"""Helpers for the tests of the tools (o7s-oping, ...): running them, the
recordings of the C tools (tests/data/tools), matching output against a
recording, and the JSON schema."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import jsonschema

from ouroboros.tools.common import json_schema

RECORDED = Path(__file__).resolve().parent / "data" / "tools"
BIN = Path(sys.executable).parent

# spawn(TOOL, "oping", "--listen") runs o7s-oping in a child that the
# conftest's spawn fixture manages (as `python -c`, with these arguments).
TOOL = "import sys; from importlib import import_module; " \
       "import_module('ouroboros.tools.' + sys.argv.pop(1)).main()"
# spawn(PROGRAM, path, *args) runs a program as the spawned process itself
# (exec keeps its pid and pipes).
PROGRAM = "import os, sys; os.execv(sys.argv[1], sys.argv[1:])"


def command(tool: str) -> str:
    """The console script of ``tool`` ("oping": o7s-oping) beside this Python."""
    return str(BIN / f"o7s-{tool}")


def run(tool: str, *args: str, timeout: float = 60,
        env: Optional[Dict[str, str]] = None) -> "subprocess.CompletedProcess[str]":
    """Runs o7s-``tool`` ``args`` to the end (stdin /dev/null)."""
    return subprocess.run([command(tool), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL,
                          env=env if env is not None else dict(os.environ))


def recorded(name: str) -> Tuple[str, int]:
    """A recording of a C tool (e.g. "oping/client-c5-i100"): its stdout
    and its exit status."""
    text = (RECORDED / f"{name}.txt").read_text(encoding="utf-8")
    body, _, status = text.rpartition("rc=")
    return body, int(status.strip())


_NUMBER = re.compile(r" *-?[0-9]+(?:\.([0-9]+))?")
_UNIT = re.compile(r"(µs|ms)")


def template(text: str) -> str:
    """A regular expression from recorded output: every number (with the
    spaces that pad it) stands for any number with as many decimals,
    µs/ms for either unit, and the rest must match exactly."""
    out = []
    pos = 0
    for m in _NUMBER.finditer(text):
        out.append(_UNIT.sub("(?:µs|ms)", re.escape(text[pos:m.start()])))
        pad = " *" if m.group(0).startswith(" ") else ""
        decimals = m.group(1)
        out.append(pad + (r"-?[0-9]+\.[0-9]{%d}" % len(decimals) if decimals else "-?[0-9]+"))
        pos = m.end()
    out.append(_UNIT.sub("(?:µs|ms)", re.escape(text[pos:])))
    return "".join(out)


def assert_like(ours: str, theirs: str) -> None:
    """Our output has the recorded output's lines, in order, with only
    numbers (and µs/ms) differing."""
    ours_lines, their_lines = ours.splitlines(), theirs.splitlines()
    assert len(ours_lines) == len(their_lines), (
        f"{len(ours_lines)} lines where the C tool printed {len(their_lines)}:\n"
        f"ours:\n{ours}\ntheirs:\n{theirs}")
    for mine, recorded_line in zip(ours_lines, their_lines):
        assert re.fullmatch(template(recorded_line), mine), (
            f"line {mine!r} does not match the C tool's {recorded_line!r}")


def lines_like(ours: str, recorded_line: str) -> List[str]:
    """The lines of ``ours`` shaped like ``recorded_line``."""
    pattern = re.compile(template(recorded_line))
    return [line for line in ours.splitlines() if pattern.fullmatch(line)]


_SCHEMA = json_schema()
_VALIDATOR = jsonschema.Draft202012Validator(_SCHEMA)


def validate_document(doc: Any) -> Dict[str, Any]:
    """Checks a --json document against the package's schema; returns it."""
    _VALIDATOR.validate(doc)
    assert isinstance(doc, dict)
    return doc


def validate_lines(tool: str, text: str) -> List[Dict[str, Any]]:
    """Checks every line of --json-lines output against the schema of
    ``tool``'s events; the last must be the end event. Returns the events."""
    events = [json.loads(line) for line in text.splitlines()]
    validator = jsonschema.Draft202012Validator({**_SCHEMA, "$ref": f"#/$defs/{tool}_event"})
    for event in events:
        validator.validate(event)
    assert events and events[-1]["event"] == "end", text
    return events


def document(text: str) -> Dict[str, Any]:
    """The one JSON document a --json run printed, validated."""
    return validate_document(json.loads(text))

