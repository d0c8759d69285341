#!/usr/bin/env python3
# The echo client/server of oecho.py, with a server that serves many
# clients at once through the event API (3-clause BSD).
#
#   python oecho_set.py -l     # server: binds this process to "oecho"
#   python oecho_set.py        # client: sends one line, prints the echo
#
# One thread accepts flows and adds them to a FlowSet; the main thread waits
# on the set and answers whichever flow has a line for it.

import argparse
import threading

from ouroboros import irm
from ouroboros.event import FEventQueue, FEventType, FlowSet
from ouroboros.dev import Flow, flow_accept, flow_alloc

GONE = FEventType.FlowDown | FEventType.FlowDealloc | FEventType.FlowPeer
_say = threading.Lock()


def say(text: str) -> None:
    # Both threads print; print() writes text and newline separately.
    with _say:
        print(text, flush=True)


def client() -> None:
    with flow_alloc("oecho") as f:
        f.writeline("Hello, PyOuroboros!")
        print(f.readline())


def accept_into(fs: FlowSet) -> None:
    while True:
        f = flow_accept()
        say("New flow.")
        fs.add(f)


def serve_events(fs: FlowSet) -> None:
    fq = FEventQueue()
    while True:
        try:
            fs.wait(fq, timeo=1.0)
        except TimeoutError:
            continue
        for f, t in fq:
            if t == FEventType.FlowPkt:
                line = f.readline()
                say("Message from client is " + line)
                f.writeline(line)
            elif t & GONE:
                close(fs, f)


def close(fs: FlowSet, f: Flow) -> None:
    fs.remove(f)
    f.dealloc()


def server() -> None:
    irm.serve("oecho")
    say("Starting the server.")
    with FlowSet() as fs:
        threading.Thread(target=accept_into, args=(fs,), daemon=True).start()
        serve_events(fs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="An echo client/server on the event API")
    parser.add_argument("-l", "--listen", help="run as a server", action="store_true")
    args = parser.parse_args()
    try:
        server() if args.listen else client()
    except KeyboardInterrupt:
        pass
