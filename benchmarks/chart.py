"""The PNG: round-trip time distributions, flood throughput and allocation
rates, one panel per workload and placement (matplotlib, the `bench` extra)."""

from __future__ import annotations

from typing import Any, Dict, List

from .report import size_text


def draw(entries: List[Dict[str, Any]], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    placements = sorted({e["placement"] for e in entries}, key=lambda p: p != "one core")
    rtt_sizes = sorted({e["size"] for e in entries if e["workload"] == "rtt"})
    panels = [("rtt", s) for s in rtt_sizes] + [("flood", 0), ("alloc", 0)]
    panels = [p for p in panels if any(e["workload"] == p[0] for e in entries)]
    if not panels or not placements:
        return
    fig, axes = plt.subplots(len(panels), len(placements), squeeze=False,
                             figsize=(7.5 * len(placements), 3.2 * len(panels) + 1))
    for i, (workload, size) in enumerate(panels):
        for j, where in enumerate(placements):
            ax = axes[i][j]
            mine = [e for e in entries if e["workload"] == workload
                    and e["placement"] == where and (workload != "rtt" or e["size"] == size)]
            if workload == "rtt":
                _latency(ax, mine)
                ax.set_title(f"round trip, {size_text(size)} SDUs, {where}")
            elif workload == "flood":
                _flood(ax, mine)
                ax.set_title(f"one-way flood at the receiver, {where}")
            else:
                _bars(ax, mine, "flows_per_s", "alloc + dealloc per second")
                ax.set_title(f"flow allocation, {where}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _latency(ax: Any, entries: List[Dict[str, Any]]) -> None:
    rows = [e for e in entries if e.get("runs") and "samples_ns" in e["runs"][0]]
    data = [[x / 1000 for r in e["runs"] for x in r["samples_ns"]] for e in rows]
    if not data:
        return
    ax.boxplot(data, vert=False, whis=(1, 99), showfliers=False, widths=0.6)
    ax.set_yticks(range(1, len(rows) + 1), [e["label"] for e in rows], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("µs (box: p25-p75, line: p50, whiskers: p1-p99)")
    ax.invert_yaxis()


def _flood(ax: Any, entries: List[Dict[str, Any]]) -> None:
    sizes = sorted({e["size"] for e in entries})
    labels = sorted({e["label"] for e in entries}, key=lambda l: [e["label"] for e in entries].index(l))
    width = 0.8 / max(1, len(labels))
    for k, lab in enumerate(labels):
        ys = []
        for s in sizes:
            e = next((e for e in entries if e["size"] == s and e["label"] == lab), None)
            ys.append(e.get("gbit_per_s", 0) if e else 0)
        ax.bar([i + k * width for i in range(len(sizes))], ys, width, label=lab)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(sizes))],
                  [size_text(s) for s in sizes])
    ax.set_ylabel("Gbit/s")
    ax.set_yscale("log")
    ax.legend(fontsize=6, ncol=2)


def _bars(ax: Any, entries: List[Dict[str, Any]], key: str, unit: str) -> None:
    rows = [e for e in entries if key in e]
    ax.barh(range(len(rows)), [e[key] for e in rows])
    ax.set_yticks(range(len(rows)), [e["label"] for e in rows], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(unit)
    ax.invert_yaxis()
