"""The benchmark suite runs: a short run of `python -m benchmarks` completes
and writes its JSON. No timing is asserted; rows whose tools are missing
are skipped by the suite itself, with the reason."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

import cpp_tree
from benchmarks.impls import parse_oping
from benchmarks.stats import latency_summary, percentile

# These test the benchmark suite's smoke run on the embedded runtime.
pytestmark = pytest.mark.embedded_only

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(900)  # the first run builds the C++ benchmark program
def test_quick_run_completes_and_writes_results(tmp_path: Path) -> None:
    # The C++ program comes from the run's one build tree (cpp_tree.py).
    cpp_tree.build("o7s_benchmarks")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-system", "--out", str(tmp_path),
         "--cpp-bench", str(cpp_tree.CPP_BENCH)],
        cwd=REPO, capture_output=True, text=True, timeout=850)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| workload" in done.stdout and "targets:" in done.stdout
    result = json.loads((tmp_path / "results.json").read_text())
    rows = result["rows"]
    ran = {r["row"] for r in rows}
    assert {"floor-py", "floor-shm", "floor-shm+busy", "floor-shm+batch", "ours-py",
            "ours-py+batch", "ours-py+busy", "ours-py-socket", "o7s-operf", "floor-aio",
            "floor-aio-streams", "ours-aio"} <= ran
    for key, why in result["skipped"].items():
        assert why, f"{key} skipped without a reason"
        assert key not in ran
    for r in rows:
        assert "error" not in r, f"{r['row']} {r['workload']}: {r['error']}"
        assert r.get("bad", 0) == 0, f"{r['row']} got SDUs of the wrong size"
        if r["workload"] == "rtt":
            assert r["samples"] == len(r["runs"]) * result["config"]["rtt_samples"]
            assert 0 < r["p50_ns"] <= r["p99_ns"]
        elif r["workload"] == "flood":
            # o7s-operf floods for a time: all it sent must arrive.
            want = r["runs"][0].get("sent", result["config"]["flood_counts"][str(r["size"])])
            assert r["runs"][0]["received"] == want
            assert r["sdus_per_s"] > 0
        else:
            assert r["flows_per_s"] > 0
    assert {"rtt", "flood", "alloc"} == {r["workload"] for r in rows}
    assert result["memory_per_flow"]["ours-py"]["fds"] > 0
    # A flow's memfd is at least its page; the rings-off row's daemon saw the knob.
    assert result["memory_per_flow"]["ours-py"]["memfd_kib"] >= 4
    assert result["memory_per_flow"]["ours-py-socket"]["flow_ring_kib_env"] == "0"
    for row in ("floor-aio", "ours-aio"):
        many = result["many_flows"][row]
        assert "error" not in many, many
        assert many["flows"] == result["config"]["many_flows"] and many["bad"] == 0
        assert many["round_trips_per_s"] > 0
    assert {v["target"] for v in result["targets"]} >= {"rtt-py", "flood-batch", "alloc-py",
                                                        "rtt-aio"}
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "results.png").stat().st_size > 0


@pytest.mark.timeout(900)
def test_floor_shm_rows_run_with_pads_and_in_socket_sdus(tmp_path: Path) -> None:
    # 16 KiB rings: 1500 B floods wrap (pad records), 64 KiB SDUs do not fit
    # (in-socket records); every SDU must arrive with its size.
    cpp_tree.build("o7s_benchmarks")
    rows = "floor-c,floor-shm,floor-shm+busy,floor-shm+batch"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-system", "--out", str(tmp_path),
         "--rows", rows, "--workloads", "rtt,flood,alloc,memory",
         "--cpp-bench", str(cpp_tree.CPP_BENCH)],
        cwd=REPO, capture_output=True, text=True, timeout=850,
        env=dict(os.environ, OUROBOROS_FLOW_RING_KIB="16"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "results.json").read_text())
    ran = {(r["row"], r["workload"], r["size"]) for r in result["rows"]}
    for size in (64, 1500, 65536):
        assert ("floor-shm", "flood", size) in ran
    assert ("floor-shm+busy", "rtt", 64) in ran and ("floor-shm+batch", "flood", 64) in ran
    for r in result["rows"]:
        assert "error" not in r, f"{r['row']} {r['workload']}: {r['error']}"
        assert r.get("bad", 0) == 0 and not r.get("lost"), r["row"]
    shm = result["memory_per_flow"]["floor-shm"]
    assert shm["memfd_kib"] == 4 + 2 * 16  # its page and two 16 KiB rings
    assert shm["traffic_rss_shmem_kib"] > 0  # the traffic touched the rings' pages


def test_oping_lines_are_parsed_in_nanoseconds() -> None:
    text = ("Pinging x with 64 bytes of data (3 packets):\n\n"
            "64 bytes from x: seq=0 time=50.000 µs\n"
            "64 bytes from x: seq=1 time=0.120 ms\n"
            "1500 bytes from x: seq=2 time=7.000 µs [out-of-order]\n\n"
            "--- x ping statistics ---\n")
    assert parse_oping(text, 64) == ([50000, 120000, 7000], 1)


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7], 99) == 7
    s = latency_summary([[1, 2, 3], [10, 20, 30]])
    assert s["samples"] == 6 and s["p50_ns"] == 3 and s["run_p50_max_ns"] == 20


def test_baseline_targets_use_the_file_or_the_rings_off_rows() -> None:
    from benchmarks import baseline

    def alloc(row: str, rate: float) -> Dict[str, Any]:
        return {"workload": "alloc", "size": 0, "placement": "one core", "row": row,
                "flows_per_s": rate}
    mem = {"anon_kib": 1.0, "slab_kib": 8.0, "shmem_kib": 4.0, "traffic_shmem_kib": 12.0}
    entries = [alloc("ours-py", 900.0), alloc("ours-py-socket", 1000.0)]
    memory = {"ours-py": mem, "ours-py-socket": dict(mem, traffic_shmem_kib=0.0)}
    # Without a file: against this run's rings-off rows.
    got = {v["target"]: v for v in baseline.check(entries, memory, None)}
    assert got["alloc15-ours-py"]["met"] and abs(got["alloc15-ours-py"]["value"] - 0.9) < 1e-9
    assert got["memory15-ours-py"]["value"] == 25.0 / 13.0 and got["memory15-ours-py"]["met"]
    # With a file: against its rows of the same name, which here are faster.
    before = {"rows": [alloc("ours-py", 2000.0)], "memory_per_flow": {"ours-py": mem}}
    got = {v["target"]: v for v in baseline.check(entries, memory, before, "before.json")}
    assert got["alloc15-ours-py"]["met"] is False and got["alloc15-ours-py"]["value"] == 0.45
    assert "before.json" in got["alloc15-ours-py"]["versus"]
    assert got["memory15-ours-py"]["value"] == 1.0
    # A C++ row that did not run gives no verdict; one without a baseline says why.
    got = {v["target"]: v for v in baseline.check([alloc("ours-cpp", 5.0)], {}, before, "b")}
    assert got["alloc15-ours-cpp"]["met"] is None and got["alloc15-ours-cpp"]["why"]
