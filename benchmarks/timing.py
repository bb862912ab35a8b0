"""The one timing rule of the benchmarks: imported by the scripts of this folder (also by
nt_reference.py inside the neural-tangents environment, so it needs nothing but JAX)."""

import platform
import time
from pathlib import Path

import jax


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn, repeat: int, budget_s: float = float("inf")):
    """(first call with compile, best of `repeat` later calls, calls timed, last result).

    Every call ends in ``block_until_ready``; no further call once the timed calls add up to
    `budget_s` (a very slow tool is timed once, still without its compile)."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
        if sum(times) >= budget_s:
            break
    return first, min(times), len(times), out
