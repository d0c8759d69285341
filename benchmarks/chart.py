"""The charts of a run's results: the PNG (round-trip time distributions,
flood throughput and allocation rates, one panel per workload and
placement; matplotlib, the `bench` extra), and svg(), a plain SVG of the
medians that needs nothing but the JSON (the documentation site draws
docs/performance.md's chart with it at build time)."""

from __future__ import annotations

from html import escape
from typing import Any, Dict, List, Tuple

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


# ---------------------------------------------------------------- the SVG

#: What svg() draws per workload: the summary field, its scale and unit.
SVG_MEASURES = {
    "rtt": ("p50_ns", 1e-3, "µs, median round trip (shorter is better)"),
    "flood": ("sdus_per_s", 1e-3, "thousand SDUs/s at the receiver (longer is better)"),
    "alloc": ("flows_per_s", 1e-3, "thousand alloc + dealloc per second (longer is better)"),
}


def svg(entries: List[Dict[str, Any]], width: int = 720) -> str:
    """A self-contained SVG of horizontal bars: one panel per workload,
    SDU size and placement, one bar per row with its median (results.json's
    "rows", or a copy without the raw samples)."""
    panels: List[Tuple[str, str, List[Tuple[str, float]]]] = []
    seen = []
    for e in entries:
        group = (e["workload"], e["size"], e["placement"])
        if e["workload"] in SVG_MEASURES and group not in seen:
            seen.append(group)
    for workload, size, placement in seen:
        key, scale, unit = SVG_MEASURES[workload]
        bars = [(e["label"], e[key] * scale) for e in entries
                if (e["workload"], e["size"], e["placement"]) == (workload, size, placement)
                and isinstance(e.get(key), (int, float))]
        what = {"rtt": "round trip", "flood": "one-way flood", "alloc": "flow allocation"}
        title = ", ".join(t for t in (what[workload], size_text(size), placement) if t)
        if bars:
            panels.append((title, unit, bars))
    label_w, bar_h, gap, pad = 230, 14, 4, 8
    y = pad
    parts: List[str] = []
    for title, unit, bars in panels:
        parts.append(f'<text x="{pad}" y="{y + 12}" font-weight="bold">{escape(title)}</text>'
                     f'<text x="{width - pad}" y="{y + 12}" text-anchor="end" '
                     f'fill="#555">{escape(unit)}</text>')
        y += 20
        top = max(v for _, v in bars) or 1.0
        for label, v in bars:
            w = max(1.0, (width - label_w - 70) * v / top)
            parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 3}" text-anchor="end">'
                         f'{escape(label)}</text>'
                         f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{"#c44" if label.startswith("floor") else "#47a"}"/>'
                         f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}">'
                         f'{v:.3g}</text>')
            y += bar_h + gap
        y += 2 * gap
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + pad}" '
            f'viewBox="0 0 {width} {y + pad}" font-family="sans-serif" font-size="11">'
            f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>')


def without_samples(result: Dict[str, Any], argv: str) -> Dict[str, Any]:
    """A copy of results.json small enough to commit (docs/benchmark-results.json):
    the summaries svg() draws, without the raw samples ("runs": how many)."""
    rows = [dict(e, runs=len(e.get("runs", []))) for e in result["rows"]]
    keep = ("machine", "config", "skipped", "targets")
    return dict({k: result[k] for k in keep if k in result}, argv=argv, rows=rows)


if __name__ == "__main__":
    # python -m benchmarks.chart RESULTS.json OUT.json [ARGUMENTS OF THE RUN]
    import json
    import sys
    with open(sys.argv[1]) as f:
        small = without_samples(json.load(f), " ".join(sys.argv[3:]))
    with open(sys.argv[2], "w") as f:
        f.write(json.dumps(small, indent=1, default=str) + "\n")
