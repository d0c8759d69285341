"""Building the compiled benchmark programs: the C floors and the real
Ouroboros C program with the system compiler, the C++ program with CMake
against the o7s library. Each returns the program's path or raises
Unavailable with the reason its rows are skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


class Unavailable(Exception):
    """A row cannot run on this machine; str() says why."""


def _run(cmd: List[str], what: str, timeout: float = 900) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"{what} failed: {e}") from None
    if done.returncode != 0:
        raise Unavailable(f"{what} failed: {' '.join(cmd)}\n{done.stdout[-2000:]}"
                          f"{done.stderr[-2000:]}")


def _compiler() -> str:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise Unavailable(f"no C compiler ({cc}) on PATH")
    return cc


def _up_to_date(target: Path, sources: List[Path]) -> bool:
    return target.exists() and all(target.stat().st_mtime >= s.stat().st_mtime for s in sources)


def c_floor(build: Path) -> Path:
    """benchmarks/c/floor.c, built with the system compiler."""
    src = [HERE / "c" / "floor.c", HERE / "c" / "bench_common.h"]
    out = build / "floor"
    if not _up_to_date(out, src):
        build.mkdir(parents=True, exist_ok=True)
        _run([_compiler(), "-O2", "-Wall", "-o", str(out), str(src[0])], "building the C floor")
    return out


def c_floor_shm(build: Path) -> Path:
    """benchmarks/c/floor_shm.c (the shared-memory ring in plain C)."""
    src = [HERE / "c" / "floor_shm.c", HERE / "c" / "bench_common.h"]
    out = build / "floor_shm"
    if not _up_to_date(out, src):
        build.mkdir(parents=True, exist_ok=True)
        _run([_compiler(), "-O2", "-Wall", "-o", str(out), str(src[0])],
             "building the shared-memory floor")
    return out


def ouroboros_c(build: Path) -> Path:
    """benchmarks/c/ouroboros_bench.c against the installed libouroboros-dev."""
    if shutil.which("pkg-config") is None:
        raise Unavailable("pkg-config is not installed, so libouroboros-dev cannot be found")
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "ouroboros-dev"],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"pkg-config failed: {e}") from None
    if flags.returncode != 0:
        raise Unavailable("Ouroboros is not installed (pkg-config finds no ouroboros-dev)")
    src = [HERE / "c" / "ouroboros_bench.c", HERE / "c" / "bench_common.h"]
    out = build / "ouroboros_bench"
    if not _up_to_date(out, src):
        build.mkdir(parents=True, exist_ok=True)
        _run([_compiler(), "-O2", "-Wall", "-o", str(out), str(src[0]), *flags.stdout.split()],
             "building the Ouroboros C benchmark")
    return out


def cpp_bench(build: Path) -> Path:
    """benchmarks/cpp/o7s_bench.cpp with CMake (option O7S_BUILD_BENCHMARKS)."""
    cmake = shutil.which("cmake")
    if cmake is None:
        raise Unavailable("cmake is not installed (pip install '.[test]' brings it)")
    configure = [cmake, "-S", str(REPO), "-B", str(build), "-DO7S_BUILD_BENCHMARKS=ON",
                 "-DO7S_BUILD_PYTHON=OFF", "-DO7S_BUILD_TESTS=OFF", "-DO7S_INSTALL_SDK=OFF",
                 "-DCMAKE_BUILD_TYPE=Release"]
    if shutil.which("ninja") and not (build / "CMakeCache.txt").exists():
        configure += ["-G", "Ninja"]
    _run(configure, "configuring the C++ benchmark")
    _run([cmake, "--build", str(build), "--target", "o7s_benchmarks", "-j", "2"],
         "building the C++ benchmark")
    return build / "benchmarks" / "o7s_bench"
