"""The suite: which rows each workload has, run repeatedly and interleaved
so that every row meets the same machine noise as its baselines."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from . import many, memory
from .impls import Ends, Runner
from .procs import BenchError, Placement, placements
from .stats import latency_summary, median, rate_summary

BUSY = "+busy"
BATCH = "+batch"
PACKED = "+packed"
INTO = "+into"  # batched, read with Flow.read_many_into (zero-copy into one buffer)
SOCKET = "-socket"  # an `ours` implementation with the flows' rings off (impls.RINGS_OFF)


@dataclass
class Config:
    """How much to measure. quick() is for the smoke test."""
    repeats: int = 3
    rtt_sizes: List[int] = field(default_factory=lambda: [64, 1500])
    rtt_samples: int = 20000
    flood_sizes: List[int] = field(default_factory=lambda: [64, 1500, 65536])
    flood_counts: Dict[int, int] = field(
        default_factory=lambda: {64: 200000, 1500: 100000, 65536: 20000})
    batch_sizes: List[int] = field(default_factory=lambda: [64, 1500])
    batch: int = 64            # SDUs per batched call
    alloc_count: int = 2000    # flows per run (x10 for the floors: they are quick)
    memory_flows: int = 1000
    many_flows: int = 10000    # flows served by one event loop at once
    many_rounds: int = 10      # round trips each of them makes, all at the same time
    warmup: int = 1000
    busy_ns: int = 1_000_000   # busy-poll budget: 1 ms
    operf_ms: int = 1000       # o7s-operf's flood (-d), at the batched sizes
    workloads: List[str] = field(
        default_factory=lambda: ["rtt", "flood", "alloc", "memory", "many"])
    rows: Optional[List[str]] = None        # row keys to run (None: all)
    placements: Optional[List[str]] = None  # "one core", "cross core" (None: both)

    @staticmethod
    def quick() -> "Config":
        return Config(repeats=1, rtt_samples=300, warmup=50,
                      flood_counts={64: 3000, 1500: 2000, 65536: 300}, alloc_count=50,
                      memory_flows=20, many_flows=100, many_rounds=3, operf_ms=100)


# Row keys: an implementation key plus a variant suffix. Each names the row
# it is compared with (its baseline); floors have none.
BASELINE = {
    "ours-cpp": "floor-c", "ours-py": "floor-py", "ours-py-system": "floor-py",
    "ouroboros-c": "floor-c", "oping": "floor-c",
    "floor-c" + BUSY: "floor-c", "floor-py" + BUSY: "floor-py",
    "ours-cpp" + BUSY: "floor-c" + BUSY, "ours-py" + BUSY: "floor-py" + BUSY,
    "ouroboros-c" + BUSY: "floor-c" + BUSY, "oping" + BUSY: "floor-c" + BUSY,
    "floor-c" + BATCH: "floor-c", "ours-cpp" + BATCH: "floor-c",
    "ours-py" + BATCH: "floor-py", "floor-c" + PACKED: "floor-c",
    # The tool against the library's own batched flood (what it calls).
    "o7s-operf": "ours-py" + BATCH,
    # asyncio: the same loop over a socketpair is the floor.
    "ours-aio": "floor-aio", "ours-aio-system": "floor-aio", "floor-aio-streams": "floor-aio",
    # Issue 15: the ring in plain C against the socketpair it replaces.
    "floor-shm": "floor-c", "floor-shm" + BUSY: "floor-c" + BUSY, "floor-shm" + BATCH: "floor-c",
    "ours-py" + INTO: "floor-py",
}
# The rings-off rows have the baselines of the rows they repeat.
BASELINE.update({k.replace("ours-cpp", "ours-cpp" + SOCKET).replace("ours-py", "ours-py" + SOCKET):
                 v for k, v in list(BASELINE.items())
                 if k.split("+")[0] in ("ours-cpp", "ours-py") and not k.endswith(INTO)})
RINGS_OFF_ROWS = ["ours-cpp" + SOCKET, "ours-py" + SOCKET]
RTT_ROWS = ["floor-c", "floor-py", "floor-shm", "ours-cpp", "ours-py", *RINGS_OFF_ROWS,
            "ours-py-system", "ouroboros-c", "oping",
            "floor-aio", "floor-aio-streams", "ours-aio", "ours-aio-system"]
BUSY_ROWS = ["floor-c", "floor-py", "floor-shm", "ours-cpp", "ours-py", *RINGS_OFF_ROWS,
             "ouroboros-c", "oping"]
FLOOD_ROWS = ["floor-c", "floor-py", "floor-shm", "ours-cpp", "ours-py", *RINGS_OFF_ROWS,
              "ours-py-system", "ouroboros-c"]
BATCH_ROWS = ["floor-c", "floor-shm", "ours-cpp", "ours-py", *RINGS_OFF_ROWS]
INTO_ROWS = ["ours-py"]  # only where Flow.read_many_into exists (Runner.read_many_into)
# Not a flow: one record per batch of SDUs, to show what such a format gains.
PACKED_ROWS = ["floor-c"]
# Tools of the package, measured where the batched rows are.
TOOL_ROWS = ["o7s-operf"]
ALLOC_ROWS = ["floor-c", "floor-py", "floor-shm", "ours-cpp", "ours-py", *RINGS_OFF_ROWS,
              "ours-py-system", "ouroboros-c"]
MEMORY_ROWS = ["floor-c", "floor-py", "floor-shm", "ours-cpp", "ours-py", *RINGS_OFF_ROWS]
MANY_ROWS = ["floor-aio", "ours-aio"]  # the system backend: 4032 flows a process at most


def impl_of(row: str) -> str:
    return row.split("+")[0]


@dataclass
class Group:
    """One workload at one size and placement: its rows' runs."""
    workload: str
    size: int
    placement: Placement
    rows: List[str]
    runs: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    errors: Dict[str, str] = field(default_factory=dict)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Suite:
    def __init__(self, runner: Runner, cfg: Config) -> None:
        self.runner = runner
        self.cfg = cfg
        self.groups = self._plan()
        self.memory: Dict[str, Dict[str, Any]] = {}
        self.many: Dict[str, Dict[str, Any]] = {}

    def _available(self, rows: List[str]) -> List[str]:
        return [r for r in rows if impl_of(r) in self.runner.impls
                and (self.cfg.rows is None or r in self.cfg.rows)
                and (not r.endswith(INTO) or self.runner.read_many_into)]

    def _plan(self) -> List[Group]:
        cfg, groups = self.cfg, []
        wanted = [p for p in placements() if cfg.placements is None or p.name in cfg.placements]
        for where in wanted:
            cross = where.name == "cross core"
            if "rtt" in cfg.workloads:
                for size in cfg.rtt_sizes:
                    rows = RTT_ROWS + ([r + BUSY for r in BUSY_ROWS] if cross else [])
                    groups.append(Group("rtt", size, where, self._available(rows)))
            if "flood" in cfg.workloads:
                for size in cfg.flood_sizes:
                    batched = ([r + BATCH for r in BATCH_ROWS] + [r + INTO for r in INTO_ROWS]
                               + [r + PACKED for r in PACKED_ROWS]
                               + TOOL_ROWS if size in cfg.batch_sizes else [])
                    groups.append(Group("flood", size, where,
                                        self._available(FLOOD_ROWS + batched)))
            if "alloc" in cfg.workloads:
                groups.append(Group("alloc", 0, where, self._available(ALLOC_ROWS)))
        return [g for g in groups if g.rows]

    # ------------------------------------------------------------- running

    def _ends(self, g: Group, row: str) -> Ends:
        cfg = self.cfg
        busy = cfg.busy_ns if row.endswith(BUSY) else 0
        into = row.endswith(INTO)
        batch = cfg.batch if row.endswith(BATCH) or into else 1
        pack = cfg.batch if row.endswith(PACKED) else 1
        if g.workload == "rtt":
            return Ends("ping", "pong", g.size, cfg.rtt_samples, cfg.warmup, busy, batch)
        if g.workload == "flood":
            return Ends("send", "recv", g.size, cfg.flood_counts[g.size], 0, busy, batch, pack,
                        want="server", duration_ms=cfg.operf_ms if row in TOOL_ROWS else 0,
                        into=into)
        floor = impl_of(row).startswith("floor")
        # The floors are quick; the real Ouroboros takes milliseconds a flow.
        count = cfg.alloc_count * (10 if floor else 1)
        if impl_of(row) == "ouroboros-c":
            count = max(10, cfg.alloc_count // 10)
        return Ends("alloc", None if floor else "accept", 0, count,
                    max(1, count // 20), busy, batch)

    def _one(self, g: Group, row: str) -> None:
        impl = self.runner.impls[impl_of(row)]
        ends = self._ends(g, row)
        try:
            result = self.runner.run(impl, ends, g.placement)
            if g.workload == "flood":  # a raw Ouroboros flow may drop SDUs
                result["lost"] = result.get("sent", ends.count) - result["received"]
        except BenchError as e:
            g.errors[row] = str(e)
            log(f"    {row}: FAILED: {str(e)[:300]}")
            return
        g.runs.setdefault(row, []).append(result)

    def run(self) -> None:
        cfg = self.cfg
        for rep in range(cfg.repeats):
            log(f"repeat {rep + 1} of {cfg.repeats}")
            for g in self.groups:
                t0 = time.monotonic()
                for row in g.rows:
                    if row not in g.errors:
                        self._one(g, row)
                size = f" {g.size} B" if g.size else ""
                log(f"  {g.workload}{size}, {g.placement.name}: {time.monotonic() - t0:.1f} s")
        if "memory" in cfg.workloads:
            self._memory()
        if "many" in cfg.workloads:
            self._many()

    def _memory(self) -> None:
        where = placements()[0]
        for row in self._available(MEMORY_ROWS):
            impl = self.runner.impls[row]
            results: List[Dict[str, float]] = []
            for _ in range(self.cfg.repeats):
                try:
                    results.append(memory.measure(self.runner, impl, self.cfg.memory_flows,
                                                  where))
                except BenchError as e:
                    self.memory[row] = {"error": str(e)}
                    log(f"  memory {row}: FAILED: {str(e)[:300]}")
                    break
            else:
                self.memory[row] = {"flows": self.cfg.memory_flows, "runs": results,
                                    **{k: median([r[k] for r in results]) for k in results[0]},
                                    "flow_ring_kib_env": self.runner.ring_kib(impl),
                                    "traffic": memory.TRAFFIC}
        log("  memory per flow: done")

    def _many(self) -> None:
        """Many flows on one event loop: once, cross core where there are two."""
        where = placements()[-1]
        for row in self._available(MANY_ROWS):
            try:
                self.many[row] = many.measure(self.runner, self.runner.impls[row],
                                              self.cfg.many_flows, self.cfg.many_rounds, 64,
                                              where)
                self.many[row]["placement"] = where.name
            except BenchError as e:
                self.many[row] = {"error": str(e)}
                log(f"  many flows {row}: FAILED: {str(e)[:300]}")
        log(f"  {self.cfg.many_flows} flows on one event loop: done")

    # ------------------------------------------------------------- results

    def summaries(self) -> List[Dict[str, Any]]:
        """Per group and row: the statistics the table and targets use."""
        out = []
        for g in self.groups:
            for row in g.rows:
                entry: Dict[str, Any] = {
                    "workload": g.workload, "size": g.size, "placement": g.placement.name,
                    "row": row, "label": label(self.runner, row),
                    "baseline": BASELINE.get(row), "runs": g.runs.get(row, []),
                }
                if row in g.errors:
                    entry["error"] = g.errors[row]
                runs = g.runs.get(row)
                if runs:
                    entry["bad"] = sum(int(r.get("bad", 0)) for r in runs)
                    entry.update(summarise(g.workload, g.size, runs))
                out.append(entry)
        add_ratios(out)
        return out


def summarise(workload: str, size: int, runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    lost = sum(int(r.get("lost", 0)) for r in runs)  # only the real Ouroboros loses SDUs
    if workload == "rtt":
        return dict(latency_summary([r["samples_ns"] for r in runs]), lost=lost)
    if workload == "flood":
        rates = [(r["received"] - 1) / r["elapsed_ns"] * 1e9 for r in runs
                 if r["elapsed_ns"] > 0]
        if not rates:
            return {"lost": lost}
        s = rate_summary(rates)
        return {"sdus_per_s": s["median"], "sdus_per_s_min": s["min"],
                "sdus_per_s_max": s["max"], "gbit_per_s": s["median"] * size * 8 / 1e9,
                "lost": lost}
    rates = [r["count"] / r["elapsed_ns"] * 1e9 for r in runs]
    s = rate_summary(rates)
    return {"flows_per_s": s["median"], "flows_per_s_min": s["min"],
            "flows_per_s_max": s["max"]}


def value(entry: Dict[str, Any]) -> Optional[float]:
    """The headline number of a row: p50 (ns) or a rate (per s)."""
    for key in ("p50_ns", "sdus_per_s", "flows_per_s"):
        if key in entry:
            return float(entry[key])
    return None


def add_ratios(entries: List[Dict[str, Any]]) -> None:
    """ratio = this row's headline / its baseline's, within the same group."""
    by_group: Dict[Any, Dict[str, Dict[str, Any]]] = {}
    for e in entries:
        by_group.setdefault((e["workload"], e["size"], e["placement"]), {})[e["row"]] = e
    for rows in by_group.values():
        for e in rows.values():
            base = rows.get(e["baseline"] or "")
            mine, theirs = value(e), value(base) if base else None
            if mine is not None and theirs:
                e["ratio"] = mine / theirs


def label(runner: Runner, row: str) -> str:
    key = impl_of(row)
    impl = runner.impls.get(key)
    text = impl.label if impl else key
    if row.endswith(BUSY):
        text += ", busy-poll"
    if row.endswith(BATCH):
        text += ", batched"
    if row.endswith(PACKED):
        text += ", SDUs packed in records"
    if row.endswith(INTO):
        text += ", batched into one buffer (read_many_into)"
    return text
