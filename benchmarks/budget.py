"""Figures against budgets: one JSON line per figure, and ``bench/results/latest.json`` for the run.

Every benchmark reports through ``figure()``. It prints ``{"name", "value", "unit", "budget", "pass"}``
as one line, appends it to the run's results, and returns whether the budget held. The benchmark then
asserts that, so ``make bench`` fails on a missed budget. The results file is rewritten after every
figure, so a run that stops halfway still leaves what it measured.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "latest.json"

_run: dict[str, Any] = {
    "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": sys.platform},
    "figures": [],
}


def figure(
    name: str,
    value: float,
    unit: str,
    budget: float | None,
    better: Literal["lower", "higher"] = "lower",
    **context: Any,
) -> bool:
    """Record one figure; ``budget`` None means measured for the record only (e.g. a reference rate)."""
    passed = None if budget is None else (value <= budget if better == "lower" else value >= budget)
    line = {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "budget": budget,
        "better": better,
        "pass": passed,
        **context,
        # How busy the machine was (1-minute load average, 2 cores here): a figure taken beside other work
        # is pessimistic, and the reader should know it without being told.
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)
    _run["figures"] = [f for f in _run["figures"] if f["name"] != name] + [line]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(_run, ensure_ascii=False, indent=2) + "\n")
    return passed is not False


def percentile(samples: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by the nearest-rank method: a value that was actually measured."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def timings(action: Callable[[], Any], rounds: int, warmup: int = 1) -> list[float]:
    """Wall times in milliseconds of ``rounds`` runs of ``action``, after ``warmup`` runs not counted."""
    for _ in range(warmup):
        action()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000)
    return out


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)
