"""The implementations under test (the rows' programs) and how to run the
two ends of one benchmark with each: over an inherited socketpair (the
floors), the embedded runtime, or the real Ouroboros (system)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from . import build
from .procs import BenchError, Placement, Proc, Workdir, load, seqpacket_pair, stream_pair

WORKER = str(Path(__file__).resolve().parent / "worker.py")
# The daemon's knob for the flows' rings (cpp/src/runtime/flow_ring.hpp): KiB
# per direction, 0 turns them off.
RING_ENV = "OUROBOROS_FLOW_RING_KIB"
RINGS_OFF = {RING_ENV: "0"}
AIO_WORKER = str(Path(__file__).resolve().parent / "aio_worker.py")
SETUP_TIMEOUT = 30.0


@dataclass
class Impl:
    """One program family: key (e.g. "ours-py"), how to start it, and over
    what it talks."""
    key: str
    label: str
    argv: List[str]
    transport: str  # "fd", "fd-stream", "embedded", "system", "oping" or "operf"
    env: Dict[str, str] = field(default_factory=dict)


@dataclass
class Ends:
    """What a benchmark asks of the two ends."""
    client_mode: str
    server_mode: Optional[str]  # None: the client runs alone
    size: int
    count: int
    warmup: int
    busy_ns: int = 0
    batch: int = 1
    pack: int = 1  # SDUs per record: the C floor's --pack
    into: bool = False  # batched reads with Flow.read_many_into (the Python worker's --into)
    want: str = "client"  # whose result file holds the numbers
    duration_ms: int = 0  # o7s-operf floods for a time, not a count


class SystemLayer:
    """A layer of the real Ouroboros in which the suite registers names of its
    own (destroyed again by cleanup())."""

    def __init__(self, layer: str) -> None:
        self.layer = layer
        self.names: List[str] = []

    @staticmethod
    def find() -> "Tuple[Optional[SystemLayer], str]":
        """The first local layer of a running IRMd, or None and why not."""
        if shutil.which("irm") is None:
            return None, "Ouroboros' irm tool is not installed"
        try:
            done = subprocess.run(["irm", "ipcp", "list"], capture_output=True, text=True,
                                  timeout=10)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"irm ipcp list failed: {e}"
        if done.returncode != 0:
            return None, "no IRMd answers (irm ipcp list failed)"
        for line in done.stdout.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 4 and cells[2] == "local":
                return SystemLayer(cells[3]), ""
        return None, ("the IRMd has no local IPCP (irm ipcp bootstrap type local name local "
                      "layer local_layer)")

    def new_name(self, tag: str) -> str:
        name = f"o7s-bench-{os.getpid()}-{tag}"
        irm(["name", "create", name])
        irm(["name", "register", name, "layer", self.layer])
        self.names.append(name)
        return name

    def bind(self, pid: int, name: str) -> None:
        # The IRMd knows a process once its library announced it: retry.
        deadline = time.monotonic() + SETUP_TIMEOUT
        while True:
            try:
                irm(["bind", "process", str(pid), "name", name])
                return
            except BenchError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def cleanup(self) -> None:
        for name in self.names:
            try:
                irm(["name", "destroy", name])
            except BenchError:
                pass
        self.names.clear()


def irm(args: List[str]) -> None:
    try:
        done = subprocess.run(["irm", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"irm {' '.join(args)}: {e}") from None
    if done.returncode != 0:
        raise BenchError(f"irm {' '.join(args)}: {done.stdout.strip()} {done.stderr.strip()}")


class Runner:
    """Finds the implementations, runs benchmarks with them, and cleans up
    (embedded daemons, names in the system layer, result files)."""

    def __init__(self, build_dir: Path, want_system: bool = True,
                 cpp_bench: Optional[Path] = None) -> None:
        self.work = Workdir()
        self.build_dir = build_dir
        self.cpp_bench = cpp_bench  # built already, or None: build it here
        self.impls: Dict[str, Impl] = {}
        self.skipped: Dict[str, str] = {}  # impl key -> why not
        self.runtime_dirs: List[str] = []
        self.system: Optional[SystemLayer] = None
        self.system_names: Dict[str, str] = {}
        self._name_seq = 0
        self.read_many_into = False  # Flow.read_many_into exists (the +into row)
        self._cpp_failure: Optional[build.Unavailable] = None
        self._find(want_system)

    # ------------------------------------------------------------- set-up

    def _runtime_env(self, **extra: str) -> Dict[str, str]:
        """A runtime directory of its own: the first process started with it
        starts that directory's daemon, with this environment (so `extra`,
        e.g. OUROBOROS_FLOW_RING_KIB, reaches the daemon that reads it)."""
        d = tempfile.mkdtemp(prefix="o7s-rt-")
        self.runtime_dirs.append(d)
        return {"OUROBOROS_RUNTIME_DIR": d, "OUROBOROS_BACKEND": "embedded", **extra}

    def _add(self, key: str, label: str, make: Any) -> None:
        try:
            impl = make()
        except build.Unavailable as e:
            self.skipped[key] = str(e)
            return
        impl.key, impl.label = key, label
        self.impls[key] = impl

    def _find(self, want_system: bool) -> None:
        py = sys.executable
        self._add("floor-c", "floor, C",
                  lambda: Impl("", "", [str(build.c_floor(self.build_dir / "c"))], "fd"))
        self._add("floor-shm", "floor, shared-memory ring in C",
                  lambda: Impl("", "", [str(build.c_floor_shm(self.build_dir / "c"))], "fd"))
        self._add("floor-py", "floor, Python", lambda: Impl("", "", [py, WORKER, "floor"], "fd"))
        self._add("ours-cpp", "ours, C++ API, embedded",
                  lambda: Impl("", "", [self._cpp_program()], "embedded", self._runtime_env()))
        # The A/B of issue 15 in the same run: the same programs with the
        # flows' rings turned off (every SDU through the socket, as before).
        self._add("ours-cpp-socket", "ours, C++ API, embedded, rings off",
                  lambda: Impl("", "", [self._cpp_program()], "embedded",
                               self._runtime_env(**RINGS_OFF)))
        self._add("floor-aio", "floor, asyncio sock_recv/sock_sendall",
                  lambda: Impl("", "", [py, AIO_WORKER, "floor"], "fd"))
        self._add("floor-aio-streams", "asyncio streams (a stream socketpair)",
                  lambda: Impl("", "", [py, AIO_WORKER, "streams"], "fd-stream"))
        why_not_py = python_binding_problem()
        if why_not_py:
            self.skipped["ours-py"] = self.skipped["ours-aio"] = why_not_py
        else:
            self.impls["ours-py"] = Impl("ours-py", "ours, Python, embedded",
                                         [py, WORKER, "ours"], "embedded", self._runtime_env())
            self.impls["ours-py-socket"] = Impl("ours-py-socket",
                                                "ours, Python, embedded, rings off",
                                                [py, WORKER, "ours"], "embedded",
                                                self._runtime_env(**RINGS_OFF))
            self.read_many_into = python_has_read_many_into()
            if not self.read_many_into:
                self.skipped["ours-py+into"] = "this pyOuroboros has no Flow.read_many_into"
            self.impls["ours-aio"] = Impl("ours-aio", "ours, asyncio, embedded",
                                          [py, AIO_WORKER, "ours"], "embedded",
                                          self._runtime_env())
        if not why_not_py:
            self.impls["o7s-operf"] = Impl("o7s-operf", "o7s-operf, embedded",
                                           [py, "-m", "ouroboros.tools.operf"], "operf",
                                           self._runtime_env())
        else:
            self.skipped["o7s-operf"] = why_not_py
        system_rows = ("ours-py-system", "ours-aio-system", "ouroboros-c", "oping")
        if not want_system:
            for key in system_rows:
                self.skipped[key] = "not asked for (--no-system)"
            return
        layer, why_not = SystemLayer.find()
        if layer is None:
            for key in system_rows:
                self.skipped[key] = why_not
            return
        self.system = layer
        reason = why_not_py or system_backend_problem()
        if reason:
            self.skipped["ours-py-system"] = self.skipped["ours-aio-system"] = reason
        else:
            self.impls["ours-py-system"] = Impl("ours-py-system", "ours, Python, system",
                                                [py, WORKER, "ours"], "system",
                                                {"OUROBOROS_BACKEND": "system"})
            self.impls["ours-aio-system"] = Impl("ours-aio-system", "ours, asyncio, system",
                                                 [py, AIO_WORKER, "ours"], "system",
                                                 {"OUROBOROS_BACKEND": "system"})
        self._add("ouroboros-c", "Ouroboros C library",
                  lambda: Impl("", "", [str(build.ouroboros_c(self.build_dir / "c"))], "system"))
        if shutil.which("oping") is None:
            self.skipped["oping"] = "Ouroboros' oping is not installed"
        else:
            self.impls["oping"] = Impl("oping", "Ouroboros oping", ["oping"], "oping")

    def _cpp_program(self) -> str:
        """o7s_bench, built once for the C++ rows (a failure too: it raises
        Unavailable again for each row without building again)."""
        if self.cpp_bench is None:
            if self._cpp_failure is not None:
                raise self._cpp_failure
            try:
                self.cpp_bench = build.cpp_bench(self.build_dir)
            except build.Unavailable as e:
                self._cpp_failure = e
                raise
        return str(self.cpp_bench)

    def fresh(self, impl: Impl) -> Impl:
        """`impl` with a runtime directory (so a daemon) of its own, for a
        measurement that earlier runs' flows must not disturb (memory: a
        daemon still releasing deallocated flows' pages)."""
        if impl.transport != "embedded":
            return impl
        extra = {k: v for k, v in impl.env.items()
                 if k not in ("OUROBOROS_RUNTIME_DIR", "OUROBOROS_BACKEND")}
        return Impl(impl.key, impl.label, impl.argv, impl.transport, self._runtime_env(**extra))

    def ring_kib(self, impl: Impl) -> Optional[str]:
        """OUROBOROS_FLOW_RING_KIB as `impl`'s daemon sees it (None: unset,
        the daemon's default)."""
        return impl.env.get(RING_ENV, os.environ.get(RING_ENV))

    def cleanup(self) -> None:
        for d in self.runtime_dirs:
            stop_embedded_daemon(d)
            shutil.rmtree(d, ignore_errors=True)
        if self.system is not None:
            self.system.cleanup()
        shutil.rmtree(self.work.path, ignore_errors=True)

    # -------------------------------------------------------------- running

    def run(self, impl: Impl, ends: Ends, where: Placement) -> Dict[str, Any]:
        """Runs the two ends of one benchmark; returns the wanted result."""
        # Generous, but a lost SDU (a blocked reader) must not stall the suite.
        timeout = 20 + ends.count * {"ping": 2e-4, "alloc": 1e-3}.get(ends.client_mode, 1e-4)
        if impl.transport == "oping":
            return self._run_oping(ends, where)
        if impl.transport == "operf":
            return self._run_operf(impl, ends, where)
        env = dict(os.environ, **impl.env)
        c_out, s_out = self.work.result_file(), self.work.result_file()

        def argv(mode: str, out: str, *extra: str) -> List[str]:
            return [*impl.argv, mode, str(ends.size), str(ends.count), out,
                    "--warmup", str(ends.warmup), "--busy", str(ends.busy_ns),
                    "--batch", str(ends.batch),
                    *(["--pack", str(ends.pack)] if ends.pack > 1 else []),
                    *(["--into"] if ends.into else []), *extra]

        procs: List[Proc] = []
        try:
            if impl.transport in ("fd", "fd-stream"):
                if ends.server_mode is None:
                    procs.append(Proc(argv(ends.client_mode, c_out), where.client, env))
                else:
                    a, b = seqpacket_pair() if impl.transport == "fd" else stream_pair()
                    procs.append(Proc(argv(ends.server_mode, s_out, "--fd", str(b.fileno())),
                                      where.server, env, pass_fds=[b.fileno()]))
                    procs.append(Proc(argv(ends.client_mode, c_out, "--fd", str(a.fileno())),
                                      where.client, env, pass_fds=[a.fileno()]))
                    a.close()
                    b.close()
            else:
                name = self.name_for(impl)
                assert ends.server_mode is not None
                server = Proc(argv(ends.server_mode, s_out, "--serve", name), where.server, env)
                procs.append(server)
                server.expect("ready", SETUP_TIMEOUT)
                if impl.transport == "embedded":
                    pin_embedded_daemon(impl.env["OUROBOROS_RUNTIME_DIR"], where)
                elif impl.key not in ("ours-py-system", "ours-aio-system"):
                    assert self.system is not None
                    self.system.bind(server.pid, name)
                procs.append(Proc(argv(ends.client_mode, c_out, "--alloc", name),
                                  where.client, env))
            deadline = time.monotonic() + timeout
            for p in reversed(procs):  # the client first: it finishes the exchange
                p.check(max(1.0, deadline - time.monotonic()))
        finally:
            for p in procs:
                p.kill()
        return load(c_out if ends.want == "client" else s_out)

    def name_for(self, impl: Impl) -> str:
        """A name for a server of `impl`: fresh in the embedded runtime, one
        per implementation in the system layer."""
        if impl.transport in ("embedded", "operf"):
            self._name_seq += 1
            return f"bench-{impl.key}-{self._name_seq}"
        assert self.system is not None
        if impl.key not in self.system_names:
            self.system_names[impl.key] = self.system.new_name(impl.key)
        return self.system_names[impl.key]

    def _run_oping(self, ends: Ends, where: Placement) -> Dict[str, Any]:
        """oping's own ping-pong (-f: back to back), its RTT lines parsed."""
        if ends.client_mode != "ping":
            raise BenchError("oping only measures round trips")
        assert self.system is not None
        name = self.name_for(self.impls["oping"])
        env = dict(os.environ)
        server = Proc(["oping", "-l", "-Q", *(["--busy"] if ends.busy_ns else [])],
                      where.server, env)
        try:
            self.system.bind(server.pid, name)
            client = Proc(["oping", "-n", name, "-f", *(["-F"] if ends.busy_ns else []),
                           "-c", str(ends.count + ends.warmup), "-s", str(ends.size)],
                          where.client, env)
            client.check(20 + (ends.count + ends.warmup) * 2e-4)
        finally:
            server.kill(signal.SIGTERM)
            server.kill()
        samples, bad = parse_oping(client.stdout(), ends.size)
        if len(samples) != ends.count + ends.warmup:
            raise BenchError(f"oping answered {len(samples)} of {ends.count + ends.warmup} "
                             f"pings: {client.stdout()[-500:]}")
        return {"bad": bad, "samples_ns": samples[ends.warmup:], "resolution_ns": 1000}


    def _run_operf(self, impl: Impl, ends: Ends, where: Placement) -> Dict[str, Any]:
        """o7s-operf's own flood (-f: write_many at the client, read_many at
        the server) for ends.duration_ms; its server's --json document says
        what arrived and when the first and last SDUs were read."""
        if ends.client_mode != "send":
            raise BenchError("o7s-operf only floods")
        env = dict(os.environ, **impl.env)
        name = self.name_for(impl)
        server = Proc([*impl.argv, "--listen", "--json"], where.server, env)
        try:
            bind = subprocess.run(
                [sys.executable, "-c", "import sys; from ouroboros import irm; "
                 "irm.serve(sys.argv[1], pid=int(sys.argv[2]))", name, str(server.pid)],
                env=env, capture_output=True, text=True, timeout=SETUP_TIMEOUT)
            if bind.returncode != 0:
                raise BenchError(f"binding o7s-operf's server: {bind.stderr[-500:]}")
            pin_embedded_daemon(impl.env["OUROBOROS_RUNTIME_DIR"], where)
            client = Proc([*impl.argv, "-n", name, "-f", "-s", str(ends.size),
                           "-d", str(ends.duration_ms), "--json"], where.client, env)
            client.check(20 + ends.duration_ms / 1000)
            server.popen.send_signal(signal.SIGTERM)   # it counts what had arrived
            if server.wait(20) != 0:
                raise BenchError(f"o7s-operf's server failed: {server.stderr()}")
        finally:
            server.kill()
        try:
            sent = json.loads(client.stdout())["statistics"]["transmitted"]
            [flow] = json.loads(server.stdout())["flows"]
        except (ValueError, KeyError) as e:
            raise BenchError(f"o7s-operf printed no figures ({e}): {server.stdout()[-300:]}")
        if not flow["received"] or flow["last_ns"] is None:
            raise BenchError("o7s-operf's server received nothing")
        return {"received": flow["received"], "sent": sent,
                "bad": int(flow["bytes"] != flow["received"] * ends.size),
                "elapsed_ns": flow["last_ns"] - flow["first_ns"]}


ONE_RTT = re.compile(r"^(\d+) bytes from .*: seq=\d+ time=([0-9.]+) (µs|ms)")


def parse_oping(text: str, size: int) -> Tuple[List[int], int]:
    """oping's per-reply lines as nanoseconds (it prints whole microseconds)."""
    samples, bad = [], 0
    for line in text.splitlines():
        m = ONE_RTT.match(line)
        if m:
            scale = 1e3 if m.group(3) == "µs" else 1e6
            samples.append(int(round(float(m.group(2)) * scale)))
            bad += int(m.group(1)) != size
    return samples, bad


def python_binding_problem() -> str:
    """Why `import ouroboros` cannot run the Python rows ("" when it can)."""
    done = subprocess.run([sys.executable, "-c", "import ouroboros._core"],
                          capture_output=True, text=True, timeout=60)
    if done.returncode == 0:
        return ""
    last = (done.stderr.strip().splitlines() or ["(no error text)"])[-1]
    return f"pyOuroboros is not importable by {sys.executable} (pip install . first): {last}"


def python_has_read_many_into() -> bool:
    """Whether this pyOuroboros has Flow.read_many_into (issue 15)."""
    done = subprocess.run(
        [sys.executable, "-c",
         "import ouroboros.dev as d; print(hasattr(d.Flow, 'read_many_into'))"],
        capture_output=True, text=True, timeout=60)
    return done.returncode == 0 and done.stdout.strip() == "True"


def system_backend_problem() -> str:
    """ouroboros.system_backend_unavailable_reason(), from a child process."""
    done = subprocess.run(
        [sys.executable, "-c",
         "import ouroboros; print(ouroboros.system_backend_unavailable_reason())"],
        capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return "cannot ask pyOuroboros about its system backend: " + done.stderr.strip()[-300:]
    reason = done.stdout.strip()
    return f"pyOuroboros' system backend is unavailable: {reason}" if reason else ""


def _daemon_pid(runtime_dir: str) -> Optional[int]:
    try:
        return int(Path(runtime_dir, "irmd.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def pin_embedded_daemon(runtime_dir: str, where: Placement) -> None:
    """The daemon brokers allocations: it runs where the placement says."""
    pid = _daemon_pid(runtime_dir)
    if pid is not None:
        try:
            os.sched_setaffinity(pid, where.daemon)
        except OSError:
            pass


def stop_embedded_daemon(runtime_dir: str) -> None:
    pid = _daemon_pid(runtime_dir)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.02)
