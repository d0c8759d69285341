#!/usr/bin/env python3
# The asyncio echo server of oecho_async.py with anyio streams, on asyncio
# or trio (3-clause BSD). Needs pip install 'pyouroboros[anyio]'.
#
#   python oecho_anyio.py -l [--trio]      # server
#   python oecho_anyio.py -n 100 [--trio]  # client: 100 flows at once

import argparse

import anyio

from ouroboros import irm
from ouroboros.anyio import AnyFlowStream, flow_accept, flow_alloc

MESSAGE = b"Hello, PyOuroboros!"


async def echo(stream: AnyFlowStream) -> None:
    async with stream:
        try:
            while True:
                sdu = await stream.receive()
                print("Message from client is " + sdu.decode(errors="replace"), flush=True)
                await stream.send(sdu)
        except anyio.EndOfStream:  # the client deallocated the flow
            pass


async def server() -> None:
    irm.serve("oecho")
    print("Starting the server.", flush=True)
    async with anyio.create_task_group() as clients:
        while True:
            stream = await flow_accept()
            print("New flow.", flush=True)
            clients.start_soon(echo, stream)


async def client(n: int) -> None:
    lines = [""] * n

    async def one(i: int) -> None:
        async with await flow_alloc("oecho", timeo=10) as stream:
            await stream.send(MESSAGE)
            lines[i] = (await stream.receive()).decode()

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    for line in lines:
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="An anyio echo client/server")
    parser.add_argument("-l", "--listen", help="run as a server", action="store_true")
    parser.add_argument("-n", "--clients", type=int, default=1,
                        help="flows the client opens at once (default 1)")
    parser.add_argument("--trio", help="run on trio instead of asyncio", action="store_true")
    args = parser.parse_args()
    try:
        if args.listen:
            anyio.run(server, backend="trio" if args.trio else "asyncio")
        else:
            anyio.run(client, args.clients, backend="trio" if args.trio else "asyncio")
    except KeyboardInterrupt:
        pass
