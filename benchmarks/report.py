"""The one table: every row with its headline number, p99, ratio to its
baseline and the targets it carries."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


def fmt_ns(ns: Optional[float]) -> str:
    return "" if ns is None else f"{ns / 1000:.2f} us"


def fmt_rate(per_s: float) -> str:
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f} M"
    if per_s >= 1e3:
        return f"{per_s / 1e3:.1f} k"
    return f"{per_s:.0f}"


def headline(e: Dict[str, Any]) -> str:
    if "error" in e and "p50_ns" not in e and "sdus_per_s" not in e:
        return "FAILED"
    if "p50_ns" in e:
        return fmt_ns(e["p50_ns"])
    if "sdus_per_s" in e:
        return f"{fmt_rate(e['sdus_per_s'])}SDU/s {e['gbit_per_s']:.2f} Gb/s"
    if "flows_per_s" in e:
        return f"{fmt_rate(e['flows_per_s'])} flows/s"
    return "no SDU arrived" if e.get("lost") else "-"


def spread(e: Dict[str, Any]) -> str:
    """The range of the repeated runs' headline numbers."""
    if "run_p50_min_ns" in e:
        return f"{e['run_p50_min_ns'] / 1000:.2f}-{e['run_p50_max_ns'] / 1000:.2f}"
    for key in ("sdus_per_s", "flows_per_s"):
        if f"{key}_min" in e:
            return f"{fmt_rate(e[key + '_min'])}-{fmt_rate(e[key + '_max'])}"
    return ""


def verdict_text(v: Dict[str, Any]) -> str:
    t = v["text"].split(": ", 1)[-1]
    if v["met"] is None:
        return f"{t}: not measured"
    got = v.get("value")
    if got is None:
        shown = ""
    elif v.get("absolute"):  # the row's own number: a latency (ns) or a rate
        shown = f" ({fmt_ns(got) if v.get('workload') == 'rtt' else fmt_rate(got) + '/s'})"
    else:
        shown = f" ({got:.2f}x{' ' + v['versus'] if v.get('versus') else ''})"
    return f"{t}: {'MET' if v['met'] else 'MISSED'}{shown}"


def memory_text(m: Dict[str, Any]) -> str:
    """A memory row: idle per flow, the flow's committed shared memory, and
    what the hold traffic made resident."""
    if "error" in m:
        return "FAILED"
    text = (f"{m['anon_kib']:.1f} KiB private, {m['fds']:.1f} fds, kernel "
            f"{m.get('slab_kib', 0):.1f} KiB, shared pages {m.get('shmem_kib', 0):.1f} KiB")
    if "memfd_kib" in m:
        text += f"; memfd {m['memfd_kib']:.1f} KiB committed"
    if "traffic_shmem_kib" in m:
        t = m.get("traffic", {})
        text += (f"; after {t.get('sdus', '?')} x {t.get('size', '?')} B: +"
                 f"{m['traffic_shmem_kib']:.1f} KiB shared (+{m['traffic_rss_shmem_kib']:.1f} "
                 f"KiB mapped), +{m['traffic_anon_kib']:.1f} KiB private, "
                 f"+{m['traffic_slab_kib']:.1f} KiB kernel")
    if m.get("flow_ring_kib_env") is not None:
        text += f" (OUROBOROS_FLOW_RING_KIB={m['flow_ring_kib_env']})"
    return text


def size_text(size: int) -> str:
    if size == 0:
        return ""
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def table(entries: List[Dict[str, Any]], verdicts: List[Dict[str, Any]],
          memory: Dict[str, Dict[str, Any]], labels: Dict[str, str],
          many: Dict[str, Dict[str, Any]]) -> str:
    """A Markdown table."""
    head = ["workload", "size", "placement", "row", "p50 / rate", "p99", "runs", "ratio",
            "target"]
    lines: List[List[str]] = []
    for e in entries:
        targets = [verdict_text(v) for v in verdicts
                   if v.get("row") == e["row"] and v.get("workload") == e["workload"]
                   and v.get("size") == e["size"] and v.get("placement") == e["placement"]]
        ratio = f"{e['ratio']:.2f}x {e['baseline']}" if "ratio" in e else ""
        bad = f" ({e['bad']} bad SDUs!)" if e.get("bad") else ""
        if e.get("lost"):
            bad += f" ({e['lost']} SDUs lost)"
        if "error" in e and e.get("runs"):
            bad += " (a later run failed)"
        lines.append([e["workload"], size_text(e["size"]), e["placement"], e["label"],
                      headline(e) + bad, fmt_ns(e.get("p99_ns")), spread(e), ratio,
                      "; ".join(targets)])
    for row, m in memory.items():
        targets = [verdict_text(v) for v in verdicts
                   if v.get("row") == row and v.get("workload") == "memory"]
        lines.append(["memory/flow", "", "", labels.get(row, row), memory_text(m), "", "", "",
                      "; ".join(targets)])
    for row, m in many.items():
        if "error" in m:
            text, where = "FAILED", ""
        else:
            text = (f"{fmt_rate(m['round_trips_per_s'])} round trips/s; opened in "
                    f"{m['open_s']:.1f} s; {m['anon_kib']:.2f} KiB private, {m['fds']:.1f} fds "
                    f"per flow")
            if m.get("bad"):
                text += f" ({m['bad']} bad SDUs!)"
            where = m["placement"]
        flows = f"{m['flows']} flows" if "flows" in m else ""
        if m.get("capped_by"):
            text += f" (fewer flows than asked: {m['capped_by']})"
        lines.append(["many flows", flows, where, labels.get(row, row), text, "", "", "", ""])
    widths = [max(len(h), *(len(r[i]) for r in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in lines]
    return "\n".join(out)


def footer(verdicts: List[Dict[str, Any]], skipped: Dict[str, str]) -> str:
    met = sum(1 for v in verdicts if v["met"] is True)
    missed = sum(1 for v in verdicts if v["met"] is False)
    lines = [f"targets: {met} met, {missed} missed, "
             f"{len(verdicts) - met - missed} not measured"]
    # One line per target and reason, however many groups it applies to.
    unmeasured: Dict[Any, List[str]] = {}
    for v in verdicts:
        if v["met"] is None and "workload" not in v or (v["met"] is None and v.get("why")):
            where = (" ".join(x for x in (size_text(v.get("size", 0)), v.get("placement", ""))
                              if x) if "workload" in v else "")
            unmeasured.setdefault((v["text"], v.get("why", "")), []).append(where)
    for (text, why), wheres in unmeasured.items():
        where = ", ".join(w for w in wheres if w)
        lines.append(f"  not measured: {text}{' (' + where + ')' if where else ''}: {why}")
    for key, why in sorted(skipped.items()):
        lines.append(f"skipped {key}: {why}")
    return "\n".join(lines)
