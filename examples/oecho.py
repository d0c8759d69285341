#!/usr/bin/env python3
# A simple echo client/server over an Ouroboros flow (3-clause BSD).
#
#   python oecho.py -l     # server: binds this process to the name "oecho"
#   python oecho.py        # client: sends one line, prints the echo

import argparse

from ouroboros import irm
from ouroboros.dev import flow_accept, flow_alloc


def client() -> None:
    with flow_alloc("oecho") as f:
        f.writeline("Hello, PyOuroboros!")
        print(f.readline())


def server() -> None:
    irm.serve("oecho")
    print("Starting the server.", flush=True)
    while True:
        with flow_accept() as f:
            print("New flow.", flush=True)
            line = f.readline()
            print("Message from client is " + line, flush=True)
            f.writeline(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A simple echo client/server")
    parser.add_argument("-l", "--listen", help="run as a server", action="store_true")
    args = parser.parse_args()
    try:
        server() if args.listen else client()
    except KeyboardInterrupt:
        pass
