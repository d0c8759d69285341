#!/usr/bin/env python3
# An echo server for many clients at once, on asyncio (3-clause BSD).
#
#   python oecho_async.py -l        # server: one event loop serves every flow
#   python oecho_async.py -n 100    # client: 100 flows at once, a line each
#
# It speaks oecho.py's protocol: the client writes a line and reads it back.

import argparse
import asyncio

from ouroboros import irm
from ouroboros.asyncio import Flow, flow_accept, flow_alloc

MESSAGE = "Hello, PyOuroboros!"


async def echo(f: Flow) -> None:
    async with f:
        async for sdu in f:  # until the client deallocates the flow
            print("Message from client is " + sdu.decode(errors="replace"), flush=True)
            await f.write(sdu)


async def server() -> None:
    irm.serve("oecho")
    print("Starting the server.", flush=True)
    clients = set()
    while True:
        f = await flow_accept()
        print("New flow.", flush=True)
        task = asyncio.ensure_future(echo(f))
        clients.add(task)  # keep a reference until it is done
        task.add_done_callback(clients.discard)


async def client(n: int) -> None:
    async def one() -> str:
        async with await flow_alloc("oecho", timeo=10) as f:
            await f.writeline(MESSAGE)
            return await f.readline()

    for line in await asyncio.gather(*(one() for _ in range(n))):
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="An asyncio echo client/server")
    parser.add_argument("-l", "--listen", help="run as a server", action="store_true")
    parser.add_argument("-n", "--clients", type=int, default=1,
                        help="flows the client opens at once (default 1)")
    args = parser.parse_args()
    try:
        asyncio.run(server() if args.listen else client(args.clients))
    except KeyboardInterrupt:
        pass
