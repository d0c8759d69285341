"""python -m benchmarks: runs the suite, prints one table, writes the raw
numbers as JSON and a PNG chart (see docs/performance.md)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import baseline, report, targets
from .build import REPO
from .impls import Runner
from .suite import Config, Suite, label


def parse(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="a short run (1 repeat, few samples): checks that everything works")
    p.add_argument("--repeats", type=int, help="runs of every row (default 3)")
    p.add_argument("--samples", type=int, help="round trips per RTT run (default 20000)")
    p.add_argument("--workloads", help="comma-separated: rtt,flood,alloc,memory,many")
    p.add_argument("--rows", help="comma-separated row keys, e.g. floor-py,ours-py,ours-py+batch")
    p.add_argument("--placements", help="'one core', 'cross core' or both, comma-separated")
    p.add_argument("--no-system", action="store_true",
                   help="skip the real Ouroboros rows even where an IRMd runs")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"),
                   help="directory for results.json and results.png")
    p.add_argument("--build", default=str(REPO / "build" / "bench"),
                   help="build directory for the compiled programs")
    p.add_argument("--baseline", metavar="RESULTS_JSON",
                   help="an earlier run's results.json (the code before the flows' rings) for "
                        "issue 15's allocation and memory targets; without it they compare "
                        "with this run's rings-off rows")
    p.add_argument("--cpp-bench", help="an o7s_bench program built already (the test suite's "
                                       "build tree), instead of building one in --build")
    return p.parse_args(argv)


def config(a: argparse.Namespace) -> Config:
    cfg = Config.quick() if a.quick else Config()
    if a.repeats:
        cfg.repeats = a.repeats
    if a.samples:
        cfg.rtt_samples = a.samples
    if a.workloads:
        cfg.workloads = a.workloads.split(",")
    if a.rows:
        cfg.rows = a.rows.split(",")
    if a.placements:
        cfg.placements = [p.strip() for p in a.placements.split(",")]
    return cfg


def machine() -> Dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(), "cpu": cpu,
            "cpus": sorted(os.sched_getaffinity(0)), "python": sys.version.split()[0],
            "commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain")), "loadavg_start": os.getloadavg()}


def main(argv: Optional[List[str]] = None) -> int:
    a = parse(argv)
    cfg = config(a)
    base = baseline.load(a.baseline)  # before the run: a bad file fails at once
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = machine()
    print("building and looking for the implementations...", file=sys.stderr, flush=True)
    runner = Runner(Path(a.build), want_system=not a.no_system,
                    cpp_bench=Path(a.cpp_bench) if a.cpp_bench else None)
    try:
        suite = Suite(runner, cfg)
        suite.run()
        entries = suite.summaries()
    finally:
        runner.cleanup()
    meta["loadavg_end"] = os.getloadavg()
    verdicts = targets.check(entries, runner.skipped)
    verdicts += baseline.check(entries, suite.memory, base, a.baseline or "")
    labels = {key: label(runner, key) for key in runner.impls}
    print(report.table(entries, verdicts, suite.memory, labels, suite.many))
    print(report.footer(verdicts, runner.skipped))
    result = {"machine": meta, "config": vars(cfg), "skipped": runner.skipped,
              "rows": entries, "memory_per_flow": suite.memory, "many_flows": suite.many,
              "targets": verdicts, "baseline": a.baseline}
    json_path = out / "results.json"
    json_path.write_text(json.dumps(result, indent=1, default=str))
    print(f"raw numbers: {json_path}")
    try:
        from . import chart
        chart.draw(entries, str(out / "results.png"))
        print(f"chart: {out / 'results.png'}")
    except ImportError:
        print("chart: skipped, matplotlib is missing (pip install '.[bench]')")
    failed = any("error" in e for e in entries) or any("error" in m for m in suite.many.values())
    return 1 if failed else 0
