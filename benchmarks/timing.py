"""Timing for the benchmarks. Comparisons are interleaved: every side runs once to warm up, then the sides
take turns for each repeat, so that machine noise (another process, frequency changes) hits them alike;
medians. A roof (the machine's read bandwidth, its best product rate) is one side's median."""

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


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """``run``'s median seconds over ``repeats`` runs in a row, after one warm-up run (one side alone:
    a roof measurement, not a comparison)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
