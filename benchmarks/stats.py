"""Order statistics of the samples."""

from __future__ import annotations

import math
from typing import Dict, List, Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of sorted values, nearest-rank."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    if not s:
        return math.nan
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def latency_summary(runs: List[List[int]]) -> Dict[str, float]:
    """p50/p99 over all runs' samples pooled, and the spread of the runs' p50s."""
    pooled = sorted(x for run in runs for x in run)
    run_p50 = [median(run) for run in runs]
    return {
        "samples": len(pooled),
        "p1_ns": percentile(pooled, 1),
        "p50_ns": percentile(pooled, 50),
        "p99_ns": percentile(pooled, 99),
        "run_p50_min_ns": min(run_p50),
        "run_p50_max_ns": max(run_p50),
    }


def rate_summary(rates: List[float]) -> Dict[str, float]:
    """The median of repeated rates, with their spread."""
    return {"median": median(rates), "min": min(rates), "max": max(rates)}
