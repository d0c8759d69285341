"""Issue 15's "no worse than today" targets: allocation rate >= 0.8x and
memory per flow <= 2x of a baseline.

The baseline is, in order of preference:
- an earlier run's results.json given with --baseline FILE, made with the
  code before the rings (e.g. `git stash; python -m benchmarks --workloads
  alloc,memory --out before/`): its ours-cpp and ours-py rows of the same
  workload and placement, its memory_per_flow of the same rows;
- otherwise the same run's rings-off rows (ours-cpp-socket, ours-py-socket:
  the same code with OUROBOROS_FLOW_RING_KIB=0, every SDU through the
  socket, as before the rings), which is today's data path but not today's
  code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from .memory import total_kib

ROWS = ["ours-cpp", "ours-py"]
ALLOC_LIMIT = 0.8
MEMORY_LIMIT = 2.0


def load(path: Optional[str]) -> Optional[Dict[str, Any]]:
    """An earlier run's results.json (None: no file given). Raises
    SystemExit with the reason when the file cannot serve as one."""
    if path is None:
        return None
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"--baseline {path}: not a results.json ({e})") from None
    if not isinstance(doc, dict) or "rows" not in doc:
        raise SystemExit(f"--baseline {path}: no 'rows' (a results.json of python -m benchmarks?)")
    return doc


def check(entries: List[Dict[str, Any]], memory: Dict[str, Dict[str, Any]],
          base: Optional[Dict[str, Any]], base_name: str = "") -> List[Dict[str, Any]]:
    """Verdicts in the form of targets.check()'s, with `versus` naming the
    baseline each was measured against."""
    if base is not None:
        base_entries, base_memory = base["rows"], base.get("memory_per_flow", {})
        commit = base.get("machine", {}).get("commit", "")
        source = f"{base_name}{' (commit ' + commit + ')' if commit else ''}"

        def versus(row: str) -> str:
            return row
    else:
        base_entries, base_memory = entries, memory
        source = "this run's rings-off row"

        def versus(row: str) -> str:
            return row + "-socket"
    verdicts: List[Dict[str, Any]] = []
    for row in ROWS:
        other = versus(row)
        for e in entries:
            if e["workload"] != "alloc" or e["row"] != row:
                continue
            b = next((x for x in base_entries if x["workload"] == "alloc" and x["row"] == other
                      and x["placement"] == e["placement"]), None)
            verdicts.append(_verdict(
                f"alloc15-{row}", f"alloc+dealloc: {row} >= {ALLOC_LIMIT}x today", "alloc",
                e["placement"], row, ALLOC_LIMIT, False, e.get("flows_per_s"),
                b.get("flows_per_s") if b else None, f"{other} in {source}"))
        mine = memory.get(row)
        if mine is None:
            continue
        theirs = base_memory.get(other)
        ok = "error" not in mine and theirs is not None and "error" not in theirs
        verdicts.append(_verdict(
            f"memory15-{row}", f"memory per flow: {row} <= {MEMORY_LIMIT}x today", "memory", "",
            row, MEMORY_LIMIT, True, total_kib(mine) if "error" not in mine else None,
            total_kib(theirs) if ok and theirs else None, f"{other} in {source}"))
    return verdicts


def _verdict(key: str, text: str, workload: str, placement: str, row: str, limit: float,
             at_most: bool, mine: Optional[float], theirs: Optional[float],
             versus: str) -> Dict[str, Any]:
    v: Dict[str, Any] = {"target": key, "text": text, "workload": workload, "size": 0,
                         "placement": placement, "row": row, "limit": limit, "met": None,
                         "versus": versus}
    if mine is None or not theirs:
        v["why"] = f"{'this run' if mine is None else versus} has no figure for it"
        return v
    v["value"] = mine / theirs
    v["met"] = v["value"] <= limit if at_most else v["value"] >= limit
    return v
