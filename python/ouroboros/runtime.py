"""The embedded runtime's daemon (``o7s-irmd``): see it, stop it.

A program that uses the embedded backend starts the daemon on first use, in
the runtime directory (``$OUROBOROS_RUNTIME_DIR``, else
``$XDG_RUNTIME_DIR/ouroboros-embedded``, else
``/run/user/UID/ouroboros-embedded`` or ``/tmp/ouroboros-embedded-UID``).
It outlives that program, so that the names, bindings and servers of other
programs stay, and exits by itself after ``$OUROBOROS_IDLE_EXIT`` seconds
without use (default 600; ``0``: never): no connected program, no bound
process, no pending flow request, no broadcast member, no program it started.
Its state (IPCPs, names, bindings) is saved in ``irmd.state``, so the next
use starts it again with nothing lost.

:func:`status` and :func:`stop` work whatever backend is active and never
start a daemon. ``o7s-irm runtime status`` and ``o7s-irm runtime stop`` are
the same from the shell.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _core

__all__ = ["DaemonStatus", "status", "stop"]


@dataclass(frozen=True)
class DaemonStatus:
    """What :func:`status` found in the runtime directory."""

    runtime_dir: str
    running: bool
    pid: int  #: 0 when none runs
    #: "" or, for a daemon that runs but cannot say more (another protocol
    #: version, or it does not answer), what is wrong and what to do; the
    #: fields after it are then zero.
    problem: str
    version: str  #: pyOuroboros' version that built the daemon
    protocol: int  #: the control protocol it speaks
    uptime: float  #: seconds since it started
    processes: int  #: processes connected to it or bound to names (not this call)
    ipcps: int
    names: int
    bound_processes: int
    bound_programs: int
    flows: int  #: unicast flows it granted that are still open
    members: int  #: broadcast members (their SDUs go through the daemon)
    pending: int  #: flow requests waiting for their answer
    children: int  #: programs it started for auto-start bindings, still running
    idle_exit: float  #: seconds without use after which it exits; 0: never


def status() -> DaemonStatus:
    """Whether the embedded runtime daemon of this process' runtime
    directory runs, and what it serves. Never starts one."""
    return DaemonStatus(**_core.runtime_daemon_status())


def stop(timeout: float = 10.0) -> bool:
    """Stops the embedded runtime daemon cleanly (the programs it started
    get SIGTERM; its state stays saved for the next one) and waits up to
    ``timeout`` seconds until it has exited. Returns ``False`` when none was
    running; raises :class:`TimeoutError` when it did not exit in time."""
    return bool(_core.stop_runtime_daemon(float(timeout)))
