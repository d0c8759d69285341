"""Helpers for the tests of ouroboros.asyncio and ouroboros.anyio."""

from __future__ import annotations

import os
import uuid
from typing import Callable

import pytest

#: A server for spawn(AIO_SERVER, name, mode): it binds this process to
#: ``name``, prints "ready" once its first accept is under way, then for
#: every flow it accepts prints "flow <n> <first SDU>" and sends every SDU
#: back: until the flow goes down in mode "echo" (then "gone <n> end"),
#: three SDUs in mode "echo3" (then it deallocates the flow: "closed <n>").
#: "gone <n> <exception class>" when a read fails otherwise. One event
#: loop serves every flow at once.
AIO_SERVER = """
import asyncio, os, sys
import ouroboros
from ouroboros import irm
from ouroboros.asyncio import flow_accept

name, mode = sys.argv[1], sys.argv[2]
if ouroboros.backend() == "system":
    irm.bind_process(os.getpid(), name)
else:
    irm.serve(name)

async def serve(n, f):
    try:
        first = await f.read()
        print("flow", n, first.decode(errors="replace"), flush=True)
        await f.write(first)
        echoed = 1
        async for sdu in f:
            await f.write(sdu)
            echoed += 1
            if mode == "echo3" and echoed == 3:
                print("closed", n, flush=True)
                return
        print("gone", n, "end", flush=True)
    except Exception as e:
        print("gone", n, type(e).__name__, flush=True)
    finally:
        await f.aclose()

async def main():
    tasks = set()
    n = 0
    accept = asyncio.ensure_future(flow_accept())
    await asyncio.sleep(0)  # one step: the request is out
    print("ready", flush=True)
    while True:
        f = await accept
        accept = asyncio.ensure_future(flow_accept())
        n += 1
        t = asyncio.ensure_future(serve(n, f))
        tasks.add(t)
        t.add_done_callback(tasks.discard)

try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
"""


@pytest.fixture
def aio_name(backend: str, request: pytest.FixtureRequest) -> str:
    """A name for a server of this test (created and registered in the
    test layer on the system backend)."""
    if backend == "system":
        make: Callable[[str], str] = request.getfixturevalue("system_names")
        return make("aio")
    return f"aio-{uuid.uuid4().hex[:8]}"


#: Idle connections to the runtime daemon that a process keeps for reuse
#: (max_idle in cpp/src/embedded/daemon_link.cpp).
POOLED_CONNECTIONS = 4


def open_descriptors() -> int:
    """How many descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))
