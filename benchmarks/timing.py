"""Interleaved timing for the benchmarks: every side runs once to warm up, then the sides take turns for
each repeat, so that machine noise (another process, frequency changes) hits them alike; medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable


def interleaved_medians(sides: dict[Hashable, Callable[[], None]], repeats: int) -> dict[Hashable, float]:
    """Each side's median seconds over ``repeats`` interleaved runs, after one warm-up run each."""
    times: dict[Hashable, list[float]] = {name: [] for name in sides}
    for run in sides.values():
        run()
    for _ in range(repeats):
        for name, run in sides.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(runs) for name, runs in times.items()}
