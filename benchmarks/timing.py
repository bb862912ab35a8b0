"""The one timing rule of the benchmarks: imported by the scripts of this folder (also by
nt_reference.py inside the neural-tangents environment, so it needs nothing but JAX)."""

import platform
import time
from pathlib import Path

import jax

BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"  # jax.monitoring


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


class CompileClock:
    """Seconds of XLA compilation since the last `reset` (jax.monitoring's backend_compile_duration)."""

    def __init__(self):
        self.seconds = 0.0
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event: str, duration: float, **_) -> None:
        if event == BACKEND_COMPILE_EVENT:
            self.seconds += duration

    def reset(self) -> None:
        self.seconds = 0.0
