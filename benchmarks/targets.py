"""The targets of issues 6, 11 and 15, checked against a run's summaries
(the ones against an earlier run, "no worse than today", are in
benchmarks/baseline.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Target:
    """`row` in groups of `workload` (at `sizes`, on `placement`) must have
    its ratio to `versus` (or, without `versus`, its own headline number)
    on the right side of `limit`: at most for latencies, at least for rates."""
    key: str
    text: str
    workload: str
    row: str
    limit: float
    at_most: bool
    versus: Optional[str] = None  # None: the row's baseline
    absolute: bool = False
    sizes: Tuple[int, ...] = ()
    placement: Optional[str] = None


TARGETS = [
    Target("rtt-py", "RTT p50 one core: Python <= 1.25x Python floor", "rtt", "ours-py", 1.25,
           True, placement="one core"),
    Target("rtt-cpp", "RTT p50 one core: C++ <= 1.15x C floor", "rtt", "ours-cpp", 1.15, True,
           placement="one core"),
    Target("rtt-oping", "RTT p50 one core: Python below Ouroboros oping", "rtt", "ours-py", 1.0,
           True, versus="oping", placement="one core"),
    Target("busy-py", "RTT p50 cross core, busy-poll: Python < 5 us", "rtt", "ours-py+busy",
           5000, True, absolute=True, placement="cross core"),
    Target("flood-py", "flood: Python >= 0.9x Python floor at 1500 B and 64 KiB", "flood",
           "ours-py", 0.9, False, sizes=(1500, 65536)),
    Target("flood-batch", "flood 64 B: Python batched >= 2x per-call Python floor", "flood",
           "ours-py+batch", 2.0, False, versus="floor-py", sizes=(64,)),
    Target("alloc-py", "alloc+dealloc from Python >= 5000/s", "alloc", "ours-py", 5000, False,
           absolute=True),
    Target("operf", "flood: o7s-operf >= 0.9x the batched Python flood", "flood", "o7s-operf",
           0.9, False),
    Target("system-py", "system backend: Python RTT <= 1.2x the Ouroboros C library",
           "rtt", "ours-py-system", 1.2, True, versus="ouroboros-c"),
    # Issue 11.
    Target("rtt-aio", "asyncio RTT p50: ours <= 1.2x the same loop over a socketpair",
           "rtt", "ours-aio", 1.2, True),
    # Issue 15: the flows' shared-memory rings.
    Target("rtt15-py", "RTT p50 one core: Python <= 0.8x Python floor", "rtt", "ours-py", 0.8,
           True, placement="one core"),
    Target("rtt15-cpp", "RTT p50 one core: C++ <= 0.8x C floor", "rtt", "ours-cpp", 0.8, True,
           placement="one core"),
    Target("busy15-cpp", "RTT p50 cross core, busy-poll: C++ <= 1 us", "rtt", "ours-cpp+busy",
           1000, True, absolute=True, placement="cross core"),
    Target("busy15-py", "RTT p50 cross core, busy-poll: Python <= 2 us", "rtt", "ours-py+busy",
           2000, True, absolute=True, placement="cross core"),
    Target("batch15-py", "flood 64 B: Python batched >= 5x per-call Python floor", "flood",
           "ours-py+batch", 5.0, False, versus="floor-py", sizes=(64,)),
    Target("batch15-py-into", "flood 64 B: Python batched into one buffer >= 5x per-call "
           "Python floor", "flood", "ours-py+into", 5.0, False, versus="floor-py", sizes=(64,)),
    Target("batch15-cpp", "flood 64 B: C++ batched >= 10x C floor", "flood", "ours-cpp+batch",
           10.0, False, versus="floor-c", sizes=(64,)),
    Target("flood15-py", "flood 1500 B and 64 KiB: Python >= 1.5x Python floor", "flood",
           "ours-py", 1.5, False, sizes=(1500, 65536)),
    Target("flood15-cpp", "flood 1500 B and 64 KiB: C++ >= 1.5x C floor", "flood", "ours-cpp",
           1.5, False, sizes=(1500, 65536)),
]

# Issue 15: every row of ours faster than the real Ouroboros C library where
# it ran (its busy-polling row for ours' busy-polling rows; it has no
# batched row, so batched rows meet its per-call one).
VERSUS_C = [  # (workload, row, the C library's row)
    *[(w, r, "ouroboros-c") for w in ("rtt", "flood", "alloc") for r in ("ours-cpp", "ours-py")],
    *[("rtt", r, "ouroboros-c+busy") for r in ("ours-cpp+busy", "ours-py+busy")],
    *[("flood", r, "ouroboros-c") for r in ("ours-cpp+batch", "ours-py+batch", "ours-py+into")],
]
TARGETS += [Target(f"vs-c-{w}-{r}", f"{w}: {r} faster than the Ouroboros C library", w, r, 1.0,
                   w == "rtt", versus=c, sizes=(64, 1500) if "+b" in r or "+i" in r else ())
            for w, r, c in VERSUS_C]  # batched rows run at Config.batch_sizes only


def _headline(e: Dict[str, Any]) -> Optional[float]:
    for key in ("p50_ns", "sdus_per_s", "flows_per_s"):
        if key in e:
            return float(e[key])
    return None


def _skip_reason(row: str, skipped: Dict[str, str]) -> str:
    """Why `row` (or its implementation) did not run, "" if it was not skipped."""
    return skipped.get(row) or skipped.get(row.split("+")[0], "")


def check(entries: List[Dict[str, Any]], skipped: Dict[str, str]) -> List[Dict[str, Any]]:
    """One verdict per target and group: met True/False, or None (not
    measured, with the reason)."""
    groups: Dict[Any, Dict[str, Dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault((e["workload"], e["size"], e["placement"]), {})[e["row"]] = e
    verdicts = []
    for t in TARGETS:
        found = False
        for (workload, size, placement), rows in groups.items():
            if workload != t.workload or (t.sizes and size not in t.sizes):
                continue
            if t.placement and placement != t.placement:
                continue
            mine = rows.get(t.row)
            if mine is None and not _skip_reason(t.row, skipped):
                continue  # the row is not planned in this group (e.g. batches at 64 KiB)
            found = True
            v: Dict[str, Any] = {"target": t.key, "text": t.text, "workload": workload,
                                 "size": size, "placement": placement, "row": t.row,
                                 "limit": t.limit, "met": None, "absolute": t.absolute}
            other_key = t.versus or (mine or {}).get("baseline")
            other = rows.get(other_key or "") if not t.absolute else None
            a = _headline(mine) if mine else None
            b = _headline(other) if other else None
            if a is None or (not t.absolute and b is None):
                missing = t.row if a is None else other_key
                v["why"] = _skip_reason(missing or "", skipped) or f"{missing} was not measured"
            else:
                got = a if t.absolute else a / (b or 1)
                v["value"] = got
                if t.versus and not t.absolute:
                    v["versus"] = other_key
                v["met"] = got <= t.limit if t.at_most else got >= t.limit
            verdicts.append(v)
        if not found:
            verdicts.append({"target": t.key, "text": t.text, "met": None, "row": t.row,
                             "why": "its workload was not run"})
    return verdicts
