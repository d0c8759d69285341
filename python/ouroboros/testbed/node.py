"""A testbed node: a Linux network, mount and pid namespace with its own
Ouroboros IRMd, and the processes that run in it.

A node starts as ``unshare`` running :mod:`ouroboros.testbed._init` as the
namespace's pid 1, which mounts the node's private Ouroboros directories
and ``/etc/hosts`` and starts the IRMd. Everything else enters the node
with ``nsenter``: commands (:meth:`Node.popen`, :meth:`Node.run`), Python
callables (:meth:`Node.call`, :meth:`Node.start`) and the node's IRM agent,
a Python process on the system backend that runs the :mod:`ouroboros.irm`
calls made through :attr:`Node.irm`.

The node's pid 1 ends with its ``unshare`` parent, which ends with the
process that made the node (a parent-death signal): when pid 1 ends the
kernel kills every process of the node, and the namespaces, their mounts
and their network devices go with the last of them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import _calls

log = logging.getLogger("ouroboros.testbed")

#: How long a node may take to start (its IRMd and agent), in seconds.
START_TIMEOUT = 20.0


class TestbedError(RuntimeError):
    """The testbed could not do what was asked (a node did not start, a
    command in a node failed, a call timed out); the message says why."""


def md5_hex(name: str) -> str:
    """The name as the UDP layers of Ouroboros look it up in DNS or
    ``/etc/hosts``: the MD5 hash of its UTF-8 bytes, in lower-case hex."""
    return hashlib.md5(name.encode()).hexdigest()


def _children(pid: int) -> List[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def _inner_pid(outer: int) -> Optional[int]:
    """The pid that process ``outer`` has in its own (innermost) pid namespace."""
    try:
        with open(f"/proc/{outer}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except OSError:
        pass
    return None


class NodeProcess:
    """A process in a node: a command (:meth:`Node.popen`) or a Python
    callable (:meth:`Node.start`). Its stdout is collected line by line
    (:meth:`expect`), its stderr as a whole.

    ``pid`` is the process id inside the node (what its IRMd knows, e.g.
    for ``irm.bind_process``); ``outer_pid`` the same process seen from the
    host. Signals go to the process itself, not to ``nsenter``."""

    def __init__(self, node: "Node", popen: "subprocess.Popen[str]",
                 result_fd: Optional[int] = None) -> None:
        self.node = node
        self.popen = popen
        self._result_fd = result_fd
        self._outcome: Optional[Tuple[Any, ...]] = None
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.seen: List[str] = []
        self._stderr: List[str] = []
        self._readers = [threading.Thread(target=self._collect, daemon=True),
                         threading.Thread(target=self._collect_stderr, daemon=True)]
        for t in self._readers:
            t.start()
        self.outer_pid = self._find_outer()
        self.pid = _inner_pid(self.outer_pid) if self.outer_pid else None

    def _find_outer(self) -> Optional[int]:
        # nsenter forks the process that enters the pid namespace.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            kids = _children(self.popen.pid)
            if kids:
                return kids[0]
            if self.popen.poll() is not None:
                return None
            time.sleep(0.002)
        return None

    def _collect(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _collect_stderr(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self._stderr.append(line)

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        """Waits up to ``timeout`` seconds for a line of stdout that starts
        with ``prefix`` and returns it; raises TestbedError (with what the
        process printed) when it does not come."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TestbedError(f"{self.node.name}: no line {prefix!r} within {timeout} s; "
                                   f"saw {self.seen}; stderr: {self.stderr()}") from None
            if line is None:
                self.lines.put(None)
                self.popen.wait(timeout=10)
                for t in self._readers:
                    t.join(timeout=10)
                raise TestbedError(f"{self.node.name}: the process exited "
                                   f"({self.popen.returncode}) before printing {prefix!r}; "
                                   f"saw {self.seen}; stderr: {self.stderr()}"
                                   f"{self._outcome_text()}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def _outcome_text(self) -> str:
        # What a callable that ended returned or raised, for error messages.
        if self._result_fd is None:
            return ""
        try:
            self.result(timeout=1)
            return "; it returned"
        except Exception as e:  # what it raised (or why there is nothing)
            return f"; it raised {type(e).__name__}: {e}"

    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        return "".join(self._stderr)

    def output(self) -> str:
        """Stdout lines not taken by :meth:`expect`, once the process ended."""
        rest = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self.lines.put(None)
                break
            rest.append(line)
        return "\n".join(rest)

    def running(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """Sends ``sig`` to the process (not to nsenter)."""
        target = self.outer_pid if self.outer_pid else self.popen.pid
        if self.popen.poll() is None:
            try:
                os.kill(target, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float = 30.0) -> int:
        """Waits for the process to end (TestbedError after ``timeout`` s);
        returns its exit status (negative: the signal that ended it)."""
        try:
            status = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestbedError(f"{self.node.name}: process {self.pid} ({self.popen.args!r}) "
                               f"still runs after {timeout} s; stderr: {self.stderr()}") from None
        for t in self._readers:
            t.join(timeout=10)
        return status

    def result(self, timeout: float = 60.0) -> Any:
        """The return value of the callable (:meth:`Node.start`), raising
        what it raised; waits up to ``timeout`` seconds."""
        if self._result_fd is None:
            raise TestbedError("result() is for callables started with Node.start()")
        if self._outcome is None:
            if self._result_fd < 0:
                raise TestbedError(f"{self.node.name}: the call left no result")
            ready, _, _ = select.select([self._result_fd], [], [], timeout)
            if not ready:
                raise TestbedError(f"{self.node.name}: the call did not return within "
                                   f"{timeout} s; stdout: {self.seen}; stderr: {self.stderr()}")
            try:
                self._outcome = _calls.receive(self._result_fd)
            except EOFError:
                self.wait(timeout=10)
                raise TestbedError(f"{self.node.name}: the process ended "
                                   f"({self.popen.returncode}) without a result; "
                                   f"stderr: {self.stderr()}") from None
            finally:
                os.close(self._result_fd)
                self._result_fd = -1
        if self._outcome[0] == "ok":
            return self._outcome[1]
        raise _calls.decode_error(self._outcome[1])

    def stop(self, grace: float = 5.0) -> Optional[int]:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit
        status (None if it did not end). Python callables end on SIGTERM
        through ``sys.exit()``, so that libouroboros-dev's exit handler runs."""
        self.signal(signal.SIGTERM)
        try:
            return self.wait(timeout=grace)
        except TestbedError:
            self.signal(signal.SIGKILL)
            try:
                return self.wait(timeout=10)
            except TestbedError:
                return None
        finally:
            self.close()

    def close(self) -> None:
        """Releases the pipes of a process that ended (no-op while it runs)."""
        if self.popen.poll() is None:
            return
        if self._result_fd is not None and self._result_fd >= 0:
            os.close(self._result_fd)
            self._result_fd = -1
        for t in self._readers:  # they read the pipes until the end
            t.join(timeout=10)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None and not stream.closed:
                stream.close()


class _IrmProxy:
    """``node.irm.X(...)`` runs ``ouroboros.irm.X(...)`` in the node's agent."""

    def __init__(self, node: "Node") -> None:
        self._node = node

    def __getattr__(self, name: str) -> Callable[..., Any]:
        from .. import irm
        fn = getattr(irm, name)
        if not callable(fn):
            raise AttributeError(f"ouroboros.irm.{name} is not a function")

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._node._agent_call(fn, args, kwargs)
        call.__name__ = name
        call.__doc__ = fn.__doc__
        return call


class Node:
    """One node of a :class:`~ouroboros.testbed.Network` (made by
    :meth:`Network.add_node`): its own network, mount and pid namespaces,
    IRMd, ``/etc/hosts`` and Ouroboros directories.

    ``node.irm`` has the functions of :mod:`ouroboros.irm`, run in the node
    on the system backend (e.g. ``node.irm.list_ipcps()``)."""

    def __init__(self, name: str, workdir: Path, python_path: Sequence[str]) -> None:
        self.name = name
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.hosts_file = self.dir / "hosts"
        self.irmd_log_file = self.dir / "irmd.log"
        self._hosts: Dict[str, str] = {}  # host name -> address
        self._write_hosts()
        self._env = dict(os.environ, OUROBOROS_BACKEND="system",
                         PYTHONPATH=os.pathsep.join(p for p in python_path if p))
        self._env.pop("OUROBOROS_RUNTIME_DIR", None)
        self._init: Optional["subprocess.Popen[str]"] = None
        self.init_pid = 0          # the node's pid 1, seen from the host
        self.irmd_pid: Optional[int] = None  # the IRMd's pid in the node
        self._agent: Optional[NodeProcess] = None
        self._agent_fds: Tuple[int, int] = (-1, -1)
        self._agent_lock = threading.Lock()
        self._procs: List[NodeProcess] = []
        self.irm = _IrmProxy(self)

    def __repr__(self) -> str:
        return f"Node({self.name!r}, pid={self.init_pid})"

    # --- life

    def _boot(self, irmd: str) -> None:
        """Makes the namespaces, starts the IRMd and the IRM agent."""
        boot = "from ouroboros.testbed import _init; _init.main()"
        argv = ["setpriv", "--pdeathsig", "KILL",
                "unshare", "--net", "--mount", "--pid", "--fork", "--kill-child",
                "--mount-proc", "--propagation", "private",
                sys.executable, "-c", boot, irmd, str(self.hosts_file), str(self.irmd_log_file)]
        self._init = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=self._env)
        line = self._init_reply(START_TIMEOUT)
        if not line.startswith("ready "):
            raise TestbedError(f"node {self.name} did not start: {line}")
        self.irmd_pid = int(line.split()[1])
        kids = _children(self._init.pid)
        if not kids:
            raise TestbedError(f"node {self.name}: unshare has no child")
        self.init_pid = kids[0]
        self._start_agent()

    def _init_reply(self, timeout: float) -> str:
        assert self._init is not None and self._init.stdout is not None
        ready, _, _ = select.select([self._init.stdout], [], [], timeout)
        line = self._init.stdout.readline() if ready else ""
        if not line:
            err = ""
            if self._init.poll() is not None and self._init.stderr is not None:
                err = self._init.stderr.read()
            return f"no answer from the node's init within {timeout} s {err}".strip()
        return line.strip()

    def _init_command(self, command: str, timeout: float = 15.0) -> str:
        assert self._init is not None and self._init.stdin is not None
        self._init.stdin.write(command + "\n")
        self._init.stdin.flush()
        return self._init_reply(timeout)

    def shutdown(self, grace: float = 3.0) -> None:
        """Ends the node: its processes, its agent, its IRMd (SIGTERM, up to
        ``grace`` seconds), then whatever is left (SIGKILL of the whole pid
        namespace). Safe to call more than once."""
        for p in self._procs:
            if p.running():
                p.stop(grace=grace)
            p.close()
        self._procs.clear()
        self._stop_agent()
        if self._init is None:
            return
        try:
            if self._init.poll() is None and self._init.stdin is not None:
                self._init.stdin.write(f"stop {grace}\n")
                self._init.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass
        try:
            self._init.wait(timeout=grace + 5)
        except subprocess.TimeoutExpired:
            self._init.kill()  # unshare's --kill-child takes pid 1 along
            self._init.wait(timeout=10)
        for stream in (self._init.stdout, self._init.stderr):
            if stream is not None:
                stream.close()
        self._init = None

    def alive(self) -> bool:
        """True while the node's pid 1 runs."""
        return self._init is not None and self._init.poll() is None

    # --- the IRMd

    def irmd_log(self) -> str:
        """The IRMd's log (its --stdout output)."""
        try:
            return self.irmd_log_file.read_text(errors="replace")
        except OSError:
            return ""

    def signal_irmd(self, sig: int = signal.SIGKILL) -> None:
        """Sends ``sig`` to the node's IRMd (SIGKILL: it dies at once,
        without ending its IPCPs and processes)."""
        reply = self._init_command(f"signal-irmd {int(sig)}")
        if reply != "ok":
            raise TestbedError(f"node {self.name}: {reply}")

    def restart_irmd(self) -> None:
        """Gives the node a new, empty IRMd: ends the old one if it runs,
        and every process of the node (IPCPs and programs: they cannot
        move to another IRMd), and remounts the node's Ouroboros
        directories."""
        agent, self._agent = self._agent, None
        self._stop_agent()  # closes its pipes; the node's init ends it
        reply = self._init_command("restart-irmd", timeout=30)
        if agent is not None:
            agent.wait(timeout=10)
            agent.close()
        if not reply.startswith("ready "):
            raise TestbedError(f"node {self.name}: {reply}")
        self.irmd_pid = int(reply.split()[1])

    # --- /etc/hosts

    def _write_hosts(self) -> None:
        lines = ["127.0.0.1 localhost"] + [f"{addr} {host}" for host, addr in self._hosts.items()]
        # Rewritten in place: the node sees this file through a bind mount.
        with open(self.hosts_file, "w") as f:
            f.write("\n".join(lines) + "\n")

    def add_host(self, name: str, address: str) -> None:
        """Makes the node's UDP layers find the Ouroboros name ``name`` at
        IP ``address`` (an /etc/hosts line for the MD5 hash of the name)."""
        self._hosts[md5_hex(name)] = address
        self._write_hosts()

    # --- running things in the node

    def _nsenter(self) -> List[str]:
        if not self.alive():
            raise TestbedError(f"node {self.name} is not running")
        return ["nsenter", "-t", str(self.init_pid), "-n", "-m", "-p", "--"]

    def popen(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None,
              pass_fds: Sequence[int] = (), _result_fd: Optional[int] = None,
              _track: bool = True) -> NodeProcess:
        """Starts ``argv`` in the node (stdin is /dev/null); ends with the
        node at the latest."""
        p = subprocess.Popen(self._nsenter() + list(argv), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(self._env, **(env or {})), pass_fds=tuple(pass_fds))
        proc = NodeProcess(self, p, _result_fd)
        if _track:
            for q in self._procs:
                if not q.running():
                    q.close()
            self._procs = [q for q in self._procs if q.running()] + [proc]
        return proc

    def run(self, argv: Sequence[str], timeout: float = 60.0,
            check: bool = True) -> "subprocess.CompletedProcess[str]":
        """Runs ``argv`` in the node and waits (``timeout`` seconds) for it;
        with ``check``, a non-zero exit raises TestbedError with its output."""
        try:
            done = subprocess.run(self._nsenter() + list(argv), stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, env=self._env, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise TestbedError(f"{self.name}: {list(argv)} did not end within {timeout} s; "
                               f"output: {e.output!r}") from None
        if check and done.returncode != 0:
            raise TestbedError(f"{self.name}: {list(argv)} failed ({done.returncode}): "
                               f"{done.stdout}{done.stderr}")
        return done

    def bind_when_announced(self, pid: int, name: str, timeout: float = 10.0) -> None:
        """Binds process ``pid`` of the node (e.g. a C tool started with
        :meth:`popen`, ``oping --listen``) to ``name`` as soon as the IRMd
        knows it: once its libouroboros-dev announced it, which takes a
        moment after the start. Raises the IRMd's refusal after ``timeout``
        seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.irm.bind_process(pid, name)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> NodeProcess:
        """Runs ``fn(*args, **kwargs)`` in a new Python process in the node
        (on the system backend) and returns at once; ``.result()`` waits for
        its return value. ``fn`` and the arguments are pickled: ``fn`` must
        be a module-level function, of an importable module or of the
        running script (whose top-level code then must sit under ``if
        __name__ == "__main__":``, as with multiprocessing)."""
        to_child = os.pipe()
        from_child = os.pipe()
        try:
            proc = self.popen([sys.executable, "-c", _calls.CALL_BOOT,
                               str(to_child[0]), str(from_child[1])],
                              pass_fds=(to_child[0], from_child[1]), _result_fd=from_child[0])
        except BaseException:
            for fd in (*to_child, *from_child):
                os.close(fd)
            raise
        os.close(to_child[0])
        os.close(from_child[1])
        try:
            _calls.send(to_child[1], _calls.main_script(fn))
            _calls.send(to_child[1], (fn, args, kwargs))
        finally:
            os.close(to_child[1])
        return proc

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 60.0,
             **kwargs: Any) -> Any:
        """Runs ``fn(*args, **kwargs)`` in a new Python process in the node
        and returns its result (or raises its exception) within ``timeout``
        seconds."""
        proc = self.start(fn, *args, **kwargs)
        try:
            return proc.result(timeout=timeout)
        finally:
            proc.stop(grace=10)

    # --- the IRM agent

    def _start_agent(self) -> None:
        to_agent = os.pipe()
        from_agent = os.pipe()
        try:
            self._agent = self.popen([sys.executable, "-c", _calls.AGENT_BOOT,
                                      str(to_agent[0]), str(from_agent[1])],
                                     pass_fds=(to_agent[0], from_agent[1]), _track=False)
        finally:
            os.close(to_agent[0])
            os.close(from_agent[1])
        self._agent_fds = (to_agent[1], from_agent[0])
        outcome = self._agent_reply(START_TIMEOUT)
        if outcome[0] != "ok":
            self._stop_agent()
            raise TestbedError(f"node {self.name}: the IRM agent could not use the system "
                               f"backend: {_calls.decode_error(outcome[1])}")

    def _agent_reply(self, timeout: float) -> Tuple[Any, ...]:
        fd = self._agent_fds[1]
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            self._stop_agent()
            raise TestbedError(f"node {self.name}: no answer from the IRM agent within "
                               f"{timeout} s")
        try:
            reply: Tuple[Any, ...] = _calls.receive(fd)
            return reply
        except EOFError:
            err = self._agent.stderr() if self._agent else ""
            self._stop_agent()
            raise TestbedError(f"node {self.name}: the IRM agent ended: {err}") from None

    def _stop_agent(self, grace: float = 5.0) -> None:
        for fd in self._agent_fds:
            if fd >= 0:
                os.close(fd)
        self._agent_fds = (-1, -1)
        if self._agent is not None:
            # Its input closed, it returns; stop() ends it if it is stuck in a call.
            try:
                self._agent.wait(timeout=grace)
                self._agent.close()
            except TestbedError:
                self._agent.stop(grace=grace)
            self._agent = None

    def _agent_call(self, fn: Callable[..., Any], args: Tuple[Any, ...],
                    kwargs: Dict[str, Any], timeout: float = 60.0) -> Any:
        start = time.monotonic()
        try:
            return self._agent_call_timed(fn, args, kwargs, timeout)
        finally:
            log.debug("%s: %s%r took %.3f s", self.name, getattr(fn, "__name__", fn), args,
                      time.monotonic() - start)

    def _agent_call_timed(self, fn: Callable[..., Any], args: Tuple[Any, ...],
                          kwargs: Dict[str, Any], timeout: float) -> Any:
        with self._agent_lock:
            if self._agent is None or not self._agent.running():
                self._stop_agent()
                self._start_agent()
            try:
                _calls.send(self._agent_fds[0], (fn, args, kwargs))
            except (BrokenPipeError, pickle.PicklingError) as e:
                self._stop_agent()
                raise TestbedError(f"node {self.name}: cannot send the call: {e}") from None
            outcome = self._agent_reply(timeout)
        if outcome[0] == "ok":
            return outcome[1]
        raise _calls.decode_error(outcome[1])
